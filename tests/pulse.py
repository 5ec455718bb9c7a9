"""A private PulseAudio server with a null sink, so capture tests record real audio from a real device.

The test plays speech into the null sink with ``paplay``; the sink's monitor is the default
source, which sounddevice (PortAudio -> ALSA -> the pulse plugin) opens as the ``pulse`` device.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

SINK = "livecaption_test"


class PulseServer:
    def __init__(self, runtime_dir: Path):
        self.runtime_dir = runtime_dir
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir), "PULSE_RUNTIME_PATH": str(runtime_dir / "pulse")}
        self.process: subprocess.Popen | None = None
        self.log_path = runtime_dir / "pulseaudio.log"

    def pactl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)

    def start(self) -> "PulseServer":
        for tool in ("pulseaudio", "pactl", "paplay"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is missing: scripts/setup.sh installs pulseaudio and pulseaudio-utils")
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        self.process = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n", "--disable-shm=yes",
             f"--load=module-null-sink sink_name={SINK} rate=16000 channels=1",
             "--load=module-native-protocol-unix", "--log-target=stderr"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"),
        )
        deadline = time.monotonic() + 15
        while self.pactl("info").returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pulseaudio did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        self.pactl("set-default-sink", SINK)
        self.pactl("set-default-source", f"{SINK}.monitor")
        return self

    def play(self, wav: Path) -> subprocess.Popen:
        return subprocess.Popen(["paplay", f"--device={SINK}", str(wav)], env=self.env)

    def unload_sink(self) -> None:
        modules = self.pactl("list", "short", "modules").stdout.splitlines()
        for line in modules:
            if "module-null-sink" in line:
                self.pactl("unload-module", line.split()[0])

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

# jfk played through the audio server and captioned live: what tiny.en reaches there (the file
# itself gives 0-5%; the live path through resampling and a real-time clock a little more).
LIVE_JFK_MAX_WER = 0.20
