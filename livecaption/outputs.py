"""The one way every command writes a file: exclusive, atomic, and never over what it reads.

- Checked before any work (``check_output``): the folder exists and is writable, the name is
  not a folder or a device, it does not exist unless ``force``, and it is not the same file
  (same device and inode, through any path, hard link or symbolic link) as anything the command
  reads; that last refusal holds even with ``force``, because overwriting the input is never
  what anyone meant.
- Written (``write_exclusive``) into a private temporary file in the same folder, fsync'd, then
  put in place in one step: without ``force`` by hard-linking it to the name, which the kernel
  refuses if the name exists, so two writers racing for one name cannot both win (a check
  followed by a rename would leave a gap between the two); with ``force`` by ``os.replace``.
  A crash or a full disk leaves the old file or the whole new one, and no temporary file.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable

from livecaption.errors import OutputError

# Filesystems without hard links (FAT, some network and FUSE mounts) answer link() with these.
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of what ``path`` names after following links; None when nothing is there."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _same_as_input(path: Path, reads: Iterable[str | Path]) -> str | None:
    target = file_identity(path)
    if target is None:
        return None
    for source in reads:
        if source is not None and file_identity(source) == target:
            return str(source)
    return None


def check_output(path: Path, force: bool, reads: Iterable[str | Path] = ()) -> None:
    """Fail before any work if ``path`` cannot be written, would clobber, or is an input."""
    reads = list(reads)
    same = _same_as_input(path, reads)
    if same is not None:
        what = "the input" if str(same) == str(path) else f"the input {same}"
        raise OutputError(f"{path}: is {what}; livecaption never writes over a file it reads, "
                          "not even with --force; choose another output name")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise OutputError(f"{path}: {_first_non_folder(path)} is a file, not a folder") from None
        raise OutputError(f"{path}: cannot use as output ({exc.strerror})") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{path}: is a directory; give a file name")
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{path}: is not a regular file (a device, pipe or socket); livecaption writes "
                              "transcripts to regular files only (leave out -o to print to stdout)")
        if not force:
            raise OutputError(f"{path}: already exists; pass --force to overwrite it")
    elif os.path.islink(path) and not force:
        raise OutputError(f"{path}: already exists (a symbolic link to nothing); pass --force to replace the link")
    parent = _parent(path)
    if not parent.is_dir():
        if parent.exists() or _first_non_folder(path) != parent:
            raise OutputError(f"{path}: {_first_non_folder(path)} is a file, not a folder")
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")


def _first_non_folder(path: Path) -> Path:
    """The first component of ``path`` that exists and is not a folder (for messages)."""
    for ancestor in reversed(path.parents):
        if str(ancestor) not in ("", ".") and ancestor.exists() and not ancestor.is_dir():
            return ancestor
    return _parent(path)


def _fsync_folder(folder: Path) -> None:
    """Make the new name itself durable; a folder that cannot be opened or synced is not fatal."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _claim_exclusively(tmp: str, path: Path) -> None:
    """Put ``tmp`` at ``path`` only if nothing is there; FileExistsError otherwise."""
    try:
        os.link(tmp, path)
        os.unlink(tmp)
        return
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
    # No hard links here: claim the name with O_EXCL (also atomic), then rename over the claim.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(path)
        raise


def write_exclusive(path: str | Path, data: str | bytes, force: bool = False,
                    reads: Iterable[str | Path] = ()) -> None:
    """Write ``data`` to ``path`` atomically; never over an existing file without ``force``,
    never over a file in ``reads`` at all. Files are created 0600 (transcripts are private)."""
    path = Path(path)
    reads = list(reads)
    check_output(path, force, reads)
    parent = _parent(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp", dir=parent)  # created 0600
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            # The name may have been pointed at an input since the first check: look again.
            check_output(path, True, reads)
            os.replace(tmp, path)
        else:
            _claim_exclusively(tmp, path)
    except FileExistsError:
        _remove(tmp)
        raise OutputError(f"{path}: already exists (another program created it while this one was writing); "
                          "pass --force to overwrite it") from None
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(parent)


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
