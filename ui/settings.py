"""Settings that persist across runs (input, model, precision, language, font, overlay geometry).

Stored with QSettings in an INI file. A garbage or unreadable file never stops the app: every
value is validated on read and falls back to its default.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

PRECISIONS = ("auto", "fp32", "fp16", "bf16", "int8")
CAPTURES = ("microphone", "system", "both")  # what Input captions: a microphone, the system audio, or both (#11)


@dataclass
class AppSettings:
    input_device: str = ""  # name of the input device (the microphone); "" = the system default
    capture: str = "microphone"  # or "system" (what the computer plays), or "both" (a meeting: You / Others)
    monitor: str = ""  # the system audio's monitor (a PulseAudio source name); "" = the default output's
    model: str = "tiny.en"
    device: str = "auto"
    precision: str = "auto"
    language: str = "auto"
    font_size: int = 20
    show_timestamps: bool = False
    overlay_visible: bool = False
    overlay_font_size: int = 26
    overlay_geometry: str = ""  # "x,y,w,h"
    speaker_labels: bool = False  # label who speaks (needs livecaption[speakers])
    task: str = "transcribe"  # or "translate": captions in English (multilingual models)
    vocabulary: str = ""  # names and terms that prime the decoder

    @staticmethod
    def default_path() -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.AppConfigLocation) or str(Path.home() / ".config")
        return Path(base) / "livecaption" / "settings.ini"

    @classmethod
    def load(cls, path: Path) -> "AppSettings":
        store = QSettings(str(path), QSettings.IniFormat)
        values = {}
        for field in fields(cls):
            raw = store.value(field.name)
            default = getattr(cls, field.name)
            try:
                if raw is None:
                    continue
                if isinstance(default, bool):
                    value = str(raw).lower() in ("true", "1", "yes")
                elif isinstance(default, int):
                    value = int(raw)
                else:
                    value = str(raw)
            except (TypeError, ValueError):
                continue  # garbage: keep the default
            values[field.name] = value
        settings = cls(**values)
        if settings.precision not in PRECISIONS:
            settings.precision = "auto"
        if settings.capture not in CAPTURES:
            settings.capture = "microphone"
        if settings.task not in ("transcribe", "translate"):
            settings.task = "transcribe"
        settings.vocabulary = " ".join(settings.vocabulary.split())[:300]
        settings.font_size = min(72, max(8, settings.font_size))
        settings.overlay_font_size = min(96, max(10, settings.overlay_font_size))
        return settings

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = QSettings(str(path), QSettings.IniFormat)
        for field in fields(self):
            store.setValue(field.name, getattr(self, field.name))
        store.sync()
