"""The GUI thread never imports torch or transformers: the window, built with device ``auto``,
leaves the question of what ``auto`` means (which needs torch) to the engine's thread.

Run in a fresh interpreter, where nothing has imported torch yet: an import hook notes which
thread first asks for each heavy module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO

SCRIPT = r"""
import importlib.abc, json, sys, threading

asked = []

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            asked.append((name, threading.current_thread() is threading.main_thread()))
        return None

sys.meta_path.insert(0, Watch())
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.main_window import MainWindow
from ui.settings import AppSettings

from pathlib import Path
settings = AppSettings.load(Path(sys.argv[1]))
settings.device = "auto"
window = MainWindow(settings, Path(sys.argv[1]))
window.show()
main_thread_before_events = sorted({n for n, main in asked if main})
answered = []
window.controller.worker.resolved_device.connect(answered.append)
deadline = __import__("time").monotonic() + 60
while not answered and __import__("time").monotonic() < deadline:
    app.processEvents()
    __import__("time").sleep(0.01)
window.dirty = False
window.close()
window.controller.shutdown()
print(json.dumps({"resolved": answered, "main": sorted({n for n, main in asked if main}),
                  "engine": sorted({n for n, main in asked if not main})[:5], "before_events": main_thread_before_events}))
"""


def test_building_the_window_with_device_auto_imports_torch_only_on_the_engine_thread(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "settings.ini")], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["resolved"] == ["cpu"]  # the engine answered what auto means here...
    assert report["engine"], report  # ...which took torch, imported on the engine's thread
    assert report["main"] == [] and report["before_events"] == [], report
