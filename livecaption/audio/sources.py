"""Audio sources with one interface: a microphone (sounddevice) and a file replay.

A source writes blocks of float32 mono samples into a ``RingBuffer`` at its own sample rate.
The microphone's PortAudio callback does nothing but copy the block and note overflow flags.
The replay feeds the same blocks at real-time pace from a thread, or, on a simulated clock,
whenever the worker ``pump``s it: then time moves only as fast as the worker does.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from livecaption.audio.ring import RingBuffer
from livecaption.errors import UserError

log = logging.getLogger("livecaption")

TARGET_RATE = 16_000
STALL_SECONDS = 3.0  # a live input that delivers nothing for this long is treated as lost
RECONNECT_INTERVAL_S = 0.5


class AudioSource(Protocol):
    sample_rate: int
    description: str

    def open(self) -> None:
        """Acquire the device; afterwards ``sample_rate`` is final."""
        ...

    def start(self, ring: RingBuffer) -> None: ...

    def stop(self) -> None: ...

    def pump(self, until: float) -> bool:
        """Simulated-clock sources write every block that ends by ``until``; False once exhausted."""
        ...

    def next_block_time(self) -> float | None:
        """When the next block ends on the simulated clock (None for live sources or at the end)."""
        ...

    def failure(self) -> str | None:
        """Why capture has failed (device gone, stream dead), or None while it is healthy."""
        ...


class FileReplaySource:
    """Replays audio in fixed blocks, like a microphone would deliver it."""

    def __init__(self, audio: np.ndarray, block_ms: int = 20, realtime: bool = True, description: str = "replay",
                 sample_rate: int = TARGET_RATE, speed: float = 1.0):
        self.audio = np.asarray(audio, dtype=np.float32)
        self.sample_rate = sample_rate  # a device-like rate; the pipeline resamples as for a microphone
        self.block = sample_rate * block_ms // 1000
        self.realtime = realtime
        self.speed = speed  # realtime replays this many times faster than real time (tests of timing logic)
        self.description = description
        self._pos = 0
        self._ring: RingBuffer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    def open(self) -> None:
        pass

    def start(self, ring: RingBuffer) -> None:
        self._ring = ring
        if self.realtime:
            self._thread = threading.Thread(target=self._play, name="replay", daemon=True)
            self._thread.start()

    def _write_next(self) -> None:
        block = self.audio[self._pos : self._pos + self.block]
        self._pos += len(block)
        self._ring.write(block)

    def _play(self) -> None:
        began = time.perf_counter()
        while self._pos < len(self.audio) and not self._stop.is_set():
            # A block exists once it has been spoken.
            due = began + (self._pos + self.block) / self.sample_rate / self.speed
            delay = due - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                break
            self._write_next()
        self._ring.close()

    def pump(self, until: float) -> bool:
        while self._pos < len(self.audio) and (self._pos + self.block) / self.sample_rate <= until + 1e-9:
            self._write_next()
        if self._pos >= len(self.audio):
            self._ring.close()
            return False
        return True

    def next_block_time(self) -> float | None:
        if self._pos >= len(self.audio):
            return None
        return min(len(self.audio), self._pos + self.block) / self.sample_rate

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def failure(self) -> str | None:
        return None


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    host_api: str
    channels: int
    default_rate: float
    is_default: bool


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # PortAudio missing from the system
        raise UserError(f"audio capture needs the PortAudio library ({exc}); on Debian: apt install libportaudio2") from None
    return sounddevice


def list_input_devices(sd=None, rescan: bool = False) -> list[InputDevice]:
    """Input devices; ``rescan`` re-initialises PortAudio to see hot-plugged ones (only while
    no stream is open: PortAudio cannot rescan under a running stream)."""
    sd = sd or _sounddevice()
    if rescan:
        sd._terminate()
        sd._initialize()
    try:
        default_in = sd.default.device[0]
        apis = sd.query_hostapis()
        devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise UserError(f"cannot list audio devices: {exc}") from None
    return [
        InputDevice(i, d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"], d["default_samplerate"], i == default_in)
        for i, d in enumerate(devices) if d["max_input_channels"] > 0
    ]


def resolve_input_device(spec: str | int | None, sd=None) -> InputDevice:
    """An input device by index, exact name, or unique name fragment; None = the default."""
    devices = list_input_devices(sd)
    if not devices:
        raise UserError("no audio input device found")
    if spec is None or spec == "":
        default = next((d for d in devices if d.is_default), devices[0])
        return default
    if isinstance(spec, int) or str(spec).isdigit():
        match = [d for d in devices if d.index == int(spec)]
    else:
        match = [d for d in devices if d.name == spec] or [d for d in devices if str(spec).lower() in d.name.lower()]
    if len(match) != 1:
        names = ", ".join(f"{d.index}: {d.name}" for d in devices)
        reason = "no input device matches" if not match else "several input devices match"
        raise UserError(f"{reason} '{spec}'; inputs are: {names}")
    return match[0]


class MicrophoneSource:
    """Captures one channel from a sounddevice input at 16 kHz, or at the device's native rate."""

    def __init__(self, device: str | int | None = None, block_ms: int = 20, sd=None):
        self._sd = sd or _sounddevice()
        self.device = resolve_input_device(device, self._sd)
        self.block_ms = block_ms
        self.description = f"{self.device.index}: {self.device.name}"
        self.sample_rate = TARGET_RATE
        self.overflows = 0
        self._stream = None
        self._ring: RingBuffer | None = None
        self._last_block = 0.0  # monotonic time of the latest callback
        self._finished_unexpectedly = False
        self._stopping = False
        self._reconnecting = False  # between a loss and capture running again

    def _callback(self, indata, frames, time_info, status) -> None:
        # Runs on PortAudio's thread: copy and count, nothing else.
        if status.input_overflow:
            self.overflows += 1
        self._last_block = time.monotonic()
        self._ring.write(indata[:, 0])

    def _finished(self) -> None:
        if not self._stopping:  # PortAudio ended the stream on its own: the device went away
            self._finished_unexpectedly = True

    def failure(self) -> str | None:
        if self._stream is None or self._stopping:
            return None
        if self._finished_unexpectedly or not self._stream.active:
            return f"input device '{self.device.name}' stopped delivering audio (disconnected?)"
        if self._last_block and time.monotonic() - self._last_block > STALL_SECONDS:
            return f"no audio from input device '{self.device.name}' for {STALL_SECONDS:.0f} s (disconnected?)"
        return None

    def outage(self) -> str | None:
        """What a window can show right away while capture is down (lost, or being reconnected);
        ``failure`` alone goes quiet during the reconnect, which can take ``reconnect_s``."""
        if self._reconnecting and not self._stopping:
            return f"no audio from {self.device.name}"
        return f"no audio from {self.device.name}" if self.failure() is not None else None

    def _open(self, rate: int, device: InputDevice | None = None):
        return self._sd.InputStream(
            device=(device or self.device).index, channels=1, samplerate=rate, dtype="float32",
            blocksize=int(rate * self.block_ms / 1000), callback=self._callback, finished_callback=self._finished,
        )

    def open(self) -> None:
        """Open the stream at 16 kHz, or at the device's native rate when it refuses 16 kHz."""
        try:
            self._stream = self._open(TARGET_RATE)
            self.sample_rate = TARGET_RATE
        except self._sd.PortAudioError:
            native = int(self.device.default_rate)
            log.info("device %s refuses 16 kHz; capturing at %d Hz and resampling", self.device.name, native)
            try:
                self._stream = self._open(native)
            except self._sd.PortAudioError as exc:
                raise UserError(f"cannot open input device '{self.device.name}': {exc}") from None
            self.sample_rate = native

    def start(self, ring: RingBuffer) -> None:
        self._ring = ring
        if self._stream is None:
            self.open()
        self._last_block = time.monotonic()
        self._stream.start()

    def reconnect(self, timeout_s: float) -> bool:
        """After a loss: reopen the same device, else the default input, until ``timeout_s`` has
        passed or ``stop`` is called. True once capture runs again (into the same ring buffer)."""
        self._close_quietly()
        self._reconnecting = True
        try:
            return self._reconnect(timeout_s)
        finally:
            self._reconnecting = False

    def _reconnect(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._stopping:
            for spec in (self.device.name, None):
                try:
                    list_input_devices(self._sd, rescan=True)  # the device may come back under a new index
                    device = resolve_input_device(spec, self._sd)
                    stream = self._open(self.sample_rate, device)
                    stream.start()
                except (UserError, self._sd.PortAudioError):
                    continue
                self.device, self._stream = device, stream
                self.description = f"{device.index}: {device.name}"
                self._finished_unexpectedly, self._last_block = False, time.monotonic()
                log.warning("capture resumed on %s", self.description)
                return True
            time.sleep(RECONNECT_INTERVAL_S)  # back-off between attempts; the device is gone anyway
        return False

    def _close_quietly(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close(ignore_errors=True)
            except self._sd.PortAudioError:
                pass

    def stop(self) -> None:
        self._stopping = True
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
        if self._ring is not None:
            self._ring.close()

    def pump(self, until: float) -> bool:
        return self._stream is not None

    def next_block_time(self) -> float | None:
        return None
