"""A private PulseAudio server with a null sink, so capture tests record real audio from a real device.

The test plays speech into the null sink with ``paplay``; the sink's monitor is the default
source, which sounddevice (PortAudio -> ALSA -> the pulse plugin) opens as the ``pulse`` device.
System-audio tests ask for more null sinks (``extra_sinks``: name -> description), each with a
monitor of its own, and unload or load one by name as a device would vanish and come back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

SINK = "livecaption_test"


class PulseServer:
    def __init__(self, runtime_dir: Path, extra_sinks: dict[str, str] | None = None):
        self.runtime_dir = runtime_dir
        self.extra_sinks = dict(extra_sinks or {})  # sink name -> description, loaded after SINK
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
        for name, description in self.extra_sinks.items():
            self.load_sink(name, description)
        self.pactl("set-default-sink", SINK)
        self.pactl("set-default-source", f"{SINK}.monitor")
        return self

    def load_sink(self, name: str, description: str | None = None) -> None:
        """Another null sink (16 kHz mono, like SINK); its monitor is ``<name>.monitor``."""
        args = ["load-module", "module-null-sink", f"sink_name={name}", "rate=16000", "channels=1"]
        if description:  # module arguments take a quoted value; the proplist inside takes another
            args.append(f"sink_properties=\"device.description='{description}'\"")
        proc = self.pactl(*args)
        if proc.returncode != 0:
            raise RuntimeError(f"cannot load null sink {name}: {proc.stderr.strip()}")

    def play(self, wav: Path, sink: str = SINK) -> subprocess.Popen:
        return subprocess.Popen(["paplay", f"--device={sink}", str(wav)], env=self.env)

    def unload_sink(self, name: str | None = None) -> None:
        """Unload the null sink called ``name``, or every null sink when None."""
        modules = self.pactl("list", "short", "modules").stdout.splitlines()
        for line in modules:
            if "module-null-sink" in line and (name is None or f"sink_name={name}" in line.split()):
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


def serving(runtime_dir: Path, extra_sinks: dict[str, str] | None = None):
    """A started server whose runtime folder this process (PortAudio's pulse plugin, libpulse) uses
    until the generator resumes; for module-scoped fixtures: ``yield from serving(...)``."""
    keys = ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.pop("PULSE_SERVER", None)  # it would win over the private server's runtime folder
    server = PulseServer(runtime_dir, extra_sinks=extra_sinks).start()
    os.environ.update({key: server.env[key] for key in keys[:2]})
    try:
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def play_at(server: PulseServer, plays: list):
    """Play (seconds from now, wav, sink) in a thread; join it to wait for the last one to end."""
    import threading

    def run():
        began, procs = time.monotonic(), []
        for at, wav, sink in plays:
            time.sleep(max(0.0, began + at - time.monotonic()))
            procs.append(server.play(wav, sink=sink))
        for proc in procs:
            proc.wait(timeout=60)

    thread = threading.Thread(target=run)
    thread.start()
    return thread

# The loudspeakers of a meeting test: a second null sink, whose monitor is the system audio, while
# SINK's monitor (the default source) stands in for the microphone.
SPEAKERS = "meeting_speakers"


def serving_meeting(tmp_path_factory, name: str):
    """``serving`` with the loudspeakers' sink too; for module-scoped fixtures: ``yield from``."""
    yield from serving(tmp_path_factory.mktemp(name), extra_sinks={SPEAKERS: "Loudspeakers"})
