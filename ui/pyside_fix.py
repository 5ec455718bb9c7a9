"""Keep None, True and False alive under PySide6 6.12 on Python 3.11.

shiboken6 6.12 returns None from every void method (``setText``, ``processEvents`` …) and True
from every ``Signal.emit`` without taking a reference: on Python 3.12+ these singletons are
immortal and nothing happens, but on 3.11 each call drops a reference. A window that updates
labels and receives engine events several times a second drains them within minutes (True
starts with a few hundred references), and the process dies with "Fatal Python error:
none_dealloc" or a segfault wherever the singleton is touched next, often on the engine thread.

The fix does what 3.12 does: it makes their counts so large no run can drain them. It is applied
only when a probe shows the leak, before any other thread exists (on import of ``ui``).
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 50  # a million leaking calls a second would take 35 years to spend it


def leaks() -> bool:
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    none, true = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(100):
        probe.setObjectName("probe")  # void: returns None
        probe.ping.emit()  # returns True
    return sys.getrefcount(None) < none - 50 or sys.getrefcount(True) < true - 50


def keep_singletons_alive() -> bool:
    """True when the leak was found and the singletons' counts were raised out of its reach."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or not leaks():
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += HEADROOM  # ob_refcnt is the first field
    return True


LEAK_FOUND = keep_singletons_alive()
