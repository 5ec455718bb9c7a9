"""The ``livecaption`` entry point: the window by default, the commands in ``livecaption.commands``.

Every user-facing failure is a ``UserError``: printed as one line on stderr, exit status 2. The
arguments are checked by ``livecaption.validation`` before any command runs. Anything else that
escapes a command is caught last of all in ``main``: one line that points to ``-v`` (which shows
the traceback), exit status 2 when it was about a file the user named, 1 for a fault of ours.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import traceback

from livecaption.commands import build_parser
from livecaption.errors import UserError

log = logging.getLogger("livecaption")


def _run_default_app() -> int:
    from livecaption.commands.app import run_app

    return run_app(build_parser().parse_args(["app"]))


# OSErrors about a path the user gave (a file vanished, permission denied, a full disk) are bad
# input or environment, not a bug: exit 2 like any UserError.
_USER_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC, errno.EROFS,
                errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.ENXIO}


def _last_resort(exc: BaseException, verbose: bool) -> int:
    """One line for an exception nothing else handled; the traceback only with -v."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    hint = "" if verbose else " (run with -v to see where)"
    if isinstance(exc, OSError) and exc.errno in _USER_ERRNOS:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"livecaption: error: {where}{exc.strerror or exc}{hint}", file=sys.stderr)
        return 2
    if isinstance(exc, MemoryError):
        print(f"livecaption: error: out of memory{hint}", file=sys.stderr)
        return 1
    text = " ".join(str(exc).split())[:200]
    print(f"livecaption: error: internal error, {type(exc).__name__}{': ' + text if text else ''}{hint}; "
          "please report it", file=sys.stderr)
    return 1


def _stdout_gone() -> int:
    """The reader of our stdout went away (``| head``): stop quietly, without a second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 1


def main(argv: list[str] | None = None) -> int:
    from livecaption.validation import validate

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="livecaption: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        validate(args)
        if args.command is None:
            return _run_default_app()
        return args.func(args)
    except UserError as exc:
        print(f"livecaption: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("livecaption: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _stdout_gone()
    except Exception as exc:  # the last resort: never a traceback without -v
        return _last_resort(exc, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
