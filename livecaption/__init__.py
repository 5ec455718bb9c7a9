"""livecaption: real-time captions from a microphone with Whisper on transformers.

The engine lives in this package and never imports Qt; the PySide6 front end is ``ui``.
"""

import logging

__version__ = "0.1.0"

# One logger for the whole engine; only the CLI and the app configure handlers.
logger = logging.getLogger("livecaption")
logger.addHandler(logging.NullHandler())
