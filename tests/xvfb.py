"""A private Xvfb screen for tests that open the real window with Qt's xcb platform (not offscreen),
and xdotool to act on it as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path


class XvfbScreen:
    def __init__(self, size: str = "1280x800x24"):
        self.size = size
        self.process: subprocess.Popen | None = None
        self.display = ""

    def start(self) -> "XvfbScreen":
        for tool in ("Xvfb", "xdotool"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: scripts/setup.sh --tests installs xvfb and xdotool")
        read_end, write_end = os.pipe()
        # -displayfd: Xvfb picks a free display number and writes it when it is ready for clients.
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", self.size, "-nolisten", "tcp"],
            pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_end)
        with os.fdopen(read_end) as ready:
            number = ready.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        return self

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def xdotool(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def wait_for_window(self, title_regex: str, timeout: float = 60, alive=lambda: True) -> str:
        """The id of the first visible window whose title matches, once it is mapped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            found = self.xdotool("search", "--onlyvisible", "--name", title_regex).stdout.split()
            if found:
                return found[0]
            time.sleep(0.2)
        raise AssertionError(f"no window titled {title_regex!r} appeared on {self.display}")

    def press(self, window: str, *keys: str) -> None:
        # No window manager here: focus the window directly, then type through XTEST like a keyboard.
        self.xdotool("windowfocus", "--sync", window)
        self.xdotool("key", "--clearmodifiers", *keys)

    def screenshot(self, path: Path) -> Path | None:
        if shutil.which("import") is None:
            return None
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, capture_output=True, timeout=30)
        return path if path.exists() else None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def journal_words(data_dir: Path) -> tuple[list[Path], str]:
    """What the real app committed: its session journals under ``data_dir`` and their words (the
    app writes each caption there, fsync'd, before its window shows it)."""
    journals = sorted((data_dir / "sessions").glob("*.jsonl")) if (data_dir / "sessions").is_dir() else []
    words = []
    for path in journals:
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            if isinstance(record, dict) and record.get("type") == "words":
                words += [w["text"] for w in record["words"]]
    return journals, "".join(words).strip()
