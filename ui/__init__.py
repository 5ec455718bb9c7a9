"""The PySide6 window. Importing it first guards against a PySide6 6.12 / Python 3.11 refcount
leak of None and True (see ui/pyside_fix.py)."""

from ui import pyside_fix  # noqa: F401  (applied on import, before any thread starts)
