"""Keep None alive under PySide6 6.12 on Python 3.11.

shiboken6 6.12 returns None from every void method (``setText``, ``processEvents``, ``emit`` …)
without taking a reference: on Python 3.12+ None is immortal and nothing happens, but on 3.11
each call drops None's reference count by one. A window that updates labels a few times a
second drains it within hours (minutes in a test run), and the process dies with "Fatal Python
error: none_dealloc" or a segfault wherever None is touched next, often on the engine thread.

The fix does what 3.12 does: it makes None's count so large no run can drain it. It is applied
only when a probe shows the leak, before any other thread exists (on import of ``ui``).
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 50  # a million void calls a second would take 35 years to spend it


def none_leaks() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")  # void: returns None
    return sys.getrefcount(None) < before - 50


def keep_none_alive() -> bool:
    """True when the leak was found and None's count was raised out of its reach."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not none_leaks():
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += HEADROOM  # ob_refcnt is None's first field
    return True


LEAK_FOUND = keep_none_alive()
