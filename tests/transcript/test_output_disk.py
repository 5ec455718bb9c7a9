"""Outputs that cannot be written: a read-only folder for a normal user, and a full disk.

CI runs as root, which ignores permissions, so the read-only case runs the real command as the
unprivileged user `nobody`; the full disk is a tiny tmpfs mounted in a private mount namespace
(`unshare`), so nothing outside the test sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, clip_path

ONE_TWO_THREE = str(clip_path("one_two_three.wav"))


def _as_nobody() -> list[str]:
    if os.geteuid() != 0:
        return []  # already unprivileged: permissions apply to us
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root privileges")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def world_readable_dir():
    """A folder `nobody` can reach (pytest's own tmp_path sits under a root-only 0700 folder)."""
    path = Path(tempfile.mkdtemp(prefix="livecaption-ro-"))
    path.chmod(0o755)
    yield path
    for sub in path.iterdir():
        sub.chmod(0o755)
    shutil.rmtree(path)


def test_read_only_output_folder_is_refused_before_any_work_for_a_normal_user(world_readable_dir):
    tmp_path = world_readable_dir
    folder = tmp_path / "read-only"
    folder.mkdir()
    previous = folder / "meeting.txt"
    previous.write_text("yesterday's transcript\n")
    folder.chmod(0o555)
    # `nobody` has its own (empty) home; the caller's cache and data folders (CI points them into
    # a root-only scratch folder) are not its to use.
    env = {key: value for key, value in os.environ.items()
           if key not in ("LIVECAPTION_CACHE_DIR", "LIVECAPTION_DATA_DIR", "XDG_CACHE_HOME", "XDG_DATA_HOME")}
    env.update(HOME=str(tmp_path), HF_HUB_OFFLINE="1")
    for target, why in ((folder / "new.txt", "is not writable"), (previous, "already exists")):
        proc = subprocess.run(
            [*_as_nobody(), sys.executable, "-m", "livecaption", "transcribe", ONE_TWO_THREE, "-o", str(target)],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert why in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["meeting.txt"]
    assert previous.read_text() == "yesterday's transcript\n"


def _in_full_tmpfs(folder, command: str) -> subprocess.CompletedProcess:
    """Run ``command`` with a 64 KiB tmpfs on ``folder``, filled up but for a few bytes."""
    prefix = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    script = (f"mount -t tmpfs -o size=64k tmpfs {folder} && "
              f"printf 'last week\\n' > {folder}/meeting.txt && "
              f"(head -c 1000000 /dev/zero > {folder}/filler 2>/dev/null; true) && {command}; "
              f"rc=$?; ls -a {folder}; cat {folder}/meeting.txt; exit $rc")
    proc = subprocess.run([*prefix, "sh", "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if "mount" in proc.stderr and ("permission denied" in proc.stderr.lower() or "not permitted" in proc.stderr):
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    return proc


def test_full_disk_gives_a_clear_error_and_keeps_the_old_transcript(tmp_path):
    folder = tmp_path / "full"
    folder.mkdir()
    proc = _in_full_tmpfs(folder, f"{sys.executable} -m livecaption transcribe {ONE_TWO_THREE} "
                                  f"-o {folder}/meeting.txt --force --beam-size 1")
    lines = proc.stdout.split()
    assert proc.returncode == 2, proc.stderr
    assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    # The old file is intact and no temporary file is left behind.
    assert lines[-2:] == ["last", "week"]
    assert sorted(n for n in lines[:-2] if n.startswith(".meeting")) == []
