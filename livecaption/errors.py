"""Errors the user can act on.

Anything raised as a ``UserError`` is printed by the CLI as one line on stderr with exit
status 2; anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input or environment, explained in one sentence."""


class AudioError(UserError):
    """An audio file that is missing, empty, corrupt or not audio."""


class ModelError(UserError):
    """A model that cannot be found, converted or loaded."""


class OutputError(UserError):
    """An output path that cannot be written, or would clobber an existing file."""
