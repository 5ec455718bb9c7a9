"""System audio on Linux: the monitor of an output sink, recorded through PulseAudio's client library.

PortAudio's ALSA backend (what sounddevice uses) lists only ``pulse`` and ``default``, never single
monitors, and ``PULSE_SOURCE`` is process-wide, so it cannot serve a microphone stream and a monitor
stream at once. So the audio server is asked directly: pulsectl (ctypes over libpulse) lists sinks
and their monitors, and each ``SystemAudioSource`` records its named monitor through a stream of its
own (pasimple, ctypes over libpulse-simple); the server resamples and downmixes to 16 kHz mono float32.
PipeWire serves the same interface through pipewire-pulse. Both bindings are imported lazily, so this
module imports anywhere and their absence becomes one ``UserError`` line.
"""

from __future__ import annotations

import ctypes
import logging
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import numpy as np

from livecaption.audio.ring import RingBuffer
from livecaption.audio.sources import RECONNECT_INTERVAL_S, STALL_SECONDS, TARGET_RATE
from livecaption.errors import UserError

log = logging.getLogger("livecaption")

WATCH_INTERVAL_S = 2.0  # besides on events: how often the reader checks that its stream still records its monitor
STOP_JOIN_S = 0.5  # how long stop() waits for a read in progress before leaving the reader to finish it
# A stream's first block may wait for a long block an idle sink is rendering (a null sink: 2 s).
FIRST_BLOCK_GRACE_S = 2.0


@dataclass(frozen=True)
class Monitor:
    name: str  # the source name, e.g. alsa_output.pci-0000_00_1f.3.analog-stereo.monitor
    description: str  # "Monitor of Built-in Audio"
    sink: str
    is_default: bool  # the monitor of the server's default sink


def _pulsectl():
    if not sys.platform.startswith("linux"):
        raise UserError("system audio capture is built for Linux only (PulseAudio or PipeWire)")
    try:
        import pulsectl
    except ImportError:
        raise UserError("system audio needs the pulsectl package: pip install pulsectl") from None
    except (OSError, AttributeError) as exc:  # pulsectl loads libpulse as it is imported
        raise UserError(f"system audio needs the PulseAudio client library ({exc}); on Debian: apt install libpulse0") from None
    return pulsectl


def _pasimple():
    try:
        import pasimple
    except ImportError:
        raise UserError("system audio needs the pasimple package: pip install pasimple") from None
    try:
        pasimple.pa_simple.get_libpulse_simple()  # loads the library now, not at the first read
    except pasimple.PaSimpleError as exc:
        raise UserError(f"system audio needs the PulseAudio client library ({exc}); on Debian: apt install libpulse0") from None
    return pasimple


def _connect():
    pulsectl = _pulsectl()
    pulse = pulsectl.Pulse("livecaption", connect=False)
    try:
        # Never autospawn (pulsectl's constructor would): a missing server is reported, not started.
        # No timeout either: pulsectl 24.12 then waits all of it even after connecting at once.
        pulse.connect(autospawn=False)
    except pulsectl.PulseError as exc:
        pulse.close()
        raise UserError(f"system audio needs a PulseAudio or PipeWire server (cannot connect: {exc})") from None
    return pulse


def _pa_reason(exc: Exception) -> str:
    """pasimple reports only libpulse's error number ("... error code: 12"); name it as libpulse does."""
    code = re.search(r"(\d+)\s*$", str(exc))
    try:
        strerror = ctypes.CDLL("libpulse.so.0").pa_strerror
        strerror.restype = ctypes.c_char_p
        return strerror(int(code.group(1))).decode() if code else str(exc)
    except (OSError, AttributeError):
        return str(exc)


def _oneline(text: str, limit: int = 120) -> str:
    """Text as it can be shown inside a one-line error: control characters escaped, length capped."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def list_monitors() -> list[Monitor]:
    """Every output sink's monitor source, in the server's order."""
    pulsectl = _pulsectl()
    pulse = _connect()
    try:
        default = pulse.server_info().default_sink_name
        descriptions = {s.name: s.description for s in pulse.source_list()}
        return [Monitor(s.monitor_source_name, descriptions.get(s.monitor_source_name, f"Monitor of {s.description}"),
                        s.name, s.name == default) for s in pulse.sink_list()]
    except pulsectl.PulseError as exc:  # the server went away between connecting and answering
        raise UserError(f"cannot list system-audio monitors: {exc}") from None
    finally:
        pulse.close()


def resolve_monitor(spec: str | None, monitors: list[Monitor] | None = None) -> Monitor:
    """A monitor by source name, description, sink name, or unique case-insensitive fragment;
    None or blank = the default sink's monitor. ``monitors`` defaults to the server's list."""
    monitors = list_monitors() if monitors is None else monitors
    if not monitors:
        raise UserError("no system-audio monitor found: the audio server has no output sinks")
    spec = (spec or "").strip()
    if not spec:
        return next((m for m in monitors if m.is_default), monitors[0])
    folded = spec.casefold()
    for match in ([m for m in monitors if m.name == spec], [m for m in monitors if m.description == spec],
                  [m for m in monitors if m.sink == spec],
                  [m for m in monitors if folded in m.name.casefold() or folded in m.description.casefold()]):
        if match:
            break
    if len(match) == 1:
        return match[0]
    reason = "several system-audio monitors match" if match else "no system-audio monitor matches"
    names = "; ".join(f"{_oneline(m.name)} ({_oneline(m.description)})" for m in monitors)
    raise UserError(f"{reason} '{_oneline(spec, 80)}'; monitors are: {names}")


class _StreamWatch:
    """Whether our record stream still records its monitor. When a source vanishes, PulseAudio (since
    14, in its core) and PipeWire's policy move its streams elsewhere, often to the microphone, and
    libpulse-simple cannot ask for PA_STREAM_DONT_MOVE; so the reader asks the server, on every
    source-output event (polled for before each block is written) and every WATCH_INTERVAL_S besides."""

    def __init__(self, stream_name: str, source_name: str):
        self.stream_name, self.source_name = stream_name, source_name
        self.pulse, self.changed, self.check_at, self.where = None, True, 0.0, None

    def moved_to(self) -> str | None:
        """The source our stream now records instead, once it has been moved; else None."""
        if self.where is not None:
            return self.where
        if self.pulse is None and time.monotonic() < self.check_at:
            return None  # the watch lost the server a moment ago: not again on every block
        try:
            if self.pulse is None:
                self.pulse = _connect()
                self.pulse.event_mask_set("source_output")
                self.pulse.event_callback_set(lambda event: setattr(self, "changed", True))
            # Deliver the events already sent, without waiting: libpulse takes two loop turns to deliver
            # one (read, then a deferred dispatch), each call here is one turn of at most 1 µs (pulsectl
            # reads a timeout of 0 as "forever"), and turns, unlike milliseconds, survive a busy CPU.
            for _ in range(3):
                self.pulse.event_listen(timeout=1e-6)
            if not self.changed and time.monotonic() < self.check_at:
                return None
            self.changed, self.check_at = False, time.monotonic() + WATCH_INTERVAL_S
            sources = {s.index: s.name for s in self.pulse.source_list()}
            ours = [o for o in self.pulse.source_output_list() if o.proplist.get("media.name") == self.stream_name]
        except Exception:  # noqa: BLE001 - the server is going away: the stream's next read says so
            self.close()
            self.check_at = time.monotonic() + WATCH_INTERVAL_S
            return None
        if ours and sources.get(ours[0].source) != self.source_name:
            self.where = sources.get(ours[0].source, "another source")
        return self.where

    def close(self) -> None:
        pulse, self.pulse = self.pulse, None
        if pulse is not None:
            pulse.close()


class SystemAudioSource:
    """Records what an output sink plays (its monitor) at 16 kHz mono, from a reader thread.

    The reader owns its stream: only it reads from and frees it. libpulse-simple's read blocks and
    cannot be interrupted, and freeing a stream under a blocked read would crash, so ``stop`` waits
    ``STOP_JOIN_S`` at most; a reader still blocked frees its stream once the read returns. Reads
    are one block and the server sends fragments of that size, so a live reader wakes every block."""

    def __init__(self, monitor: str | None = None, block_ms: int = 20):
        self.monitor = resolve_monitor(monitor)
        self.block_ms = block_ms
        self.sample_rate = TARGET_RATE
        self.description = self.monitor.description
        self._block_bytes = TARGET_RATE * block_ms // 1000 * 4  # float32 mono
        # A name of our own, to find our stream among the server's (_StreamWatch).
        self._stream_name = f"livecaption system audio {uuid.uuid4().hex[:8]}"
        self._stream = None  # opened, not yet handed to a reader
        self._reader: threading.Thread | None = None
        self._halt = threading.Event()  # the current reader's own stop flag
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # stop() against a reconnect starting a new reader
        self._ring: RingBuffer | None = None
        self._error: str | None = None
        self._last_block = 0.0  # monotonic time of the latest block (ahead by the grace before the first)
        self._reconnecting = False

    def _open_stream(self, monitor: Monitor):
        pasimple = _pasimple()
        try:
            return pasimple.PaSimple(pasimple.PA_STREAM_RECORD, pasimple.PA_SAMPLE_FLOAT32LE, 1, TARGET_RATE,
                                     app_name="livecaption", stream_name=self._stream_name,
                                     device_name=monitor.name, fragsize=self._block_bytes)
        except pasimple.PaSimpleError as exc:
            raise UserError(f"cannot record system audio from '{monitor.description}': {_pa_reason(exc)}") from None

    def open(self) -> None:
        if self._stream is None and self._reader is None:
            self._stream = self._open_stream(self.monitor)

    def start(self, ring: RingBuffer) -> None:
        self._ring = ring
        self.open()
        stream, self._stream = self._stream, None
        self._launch(stream)

    def _launch(self, stream) -> None:
        self._error, self._last_block = None, time.monotonic() + FIRST_BLOCK_GRACE_S
        self._halt = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(stream, self._halt), name="system-audio", daemon=True)
        self._reader.start()

    def _read(self, stream, halt: threading.Event) -> None:
        import pasimple

        watch = _StreamWatch(self._stream_name, self.monitor.name)
        try:
            while not halt.is_set():
                moved_to = watch.moved_to()  # before a block is written, so little foreign audio gets in
                if moved_to is not None:
                    self._error = (f"system audio '{self.monitor.description}' went away "
                                   f"(the audio server moved its stream to {moved_to})")
                    return
                try:
                    data = stream.read(self._block_bytes)
                except pasimple.PaSimpleError as exc:  # the stream was killed, or the server went
                    if not halt.is_set():
                        self._error = f"system audio '{self.monitor.description}' stopped delivering audio ({_pa_reason(exc)})"
                    return
                if halt.is_set() or watch.moved_to() is not None:
                    continue  # the loop's top reports the move
                self._last_block = time.monotonic()
                self._ring.write(np.frombuffer(data, dtype=np.float32))
        finally:
            stream.close()
            watch.close()

    def failure(self) -> str | None:
        if self._reader is None or self._stopping.is_set() or self._reconnecting:
            return None
        if self._error is not None:
            return self._error
        if time.monotonic() - self._last_block > STALL_SECONDS:
            return f"system audio '{self.monitor.description}' delivered nothing for {STALL_SECONDS:.0f} s"
        return None

    def outage(self) -> str | None:
        """What a window can show at once while capture is down, lost or being reconnected."""
        down = (self._reconnecting and not self._stopping.is_set()) or self.failure() is not None
        return f"no audio from {self.monitor.description}" if down else None

    def reconnect(self, timeout_s: float) -> bool:
        """After a loss: record the same monitor (by source name) again as soon as it is back, into the
        same ring, until ``timeout_s`` has passed or ``stop`` is called. No other monitor stands in:
        the speakers of another device are not the meeting."""
        self._reconnecting = True
        try:
            self._halt_reader()
            deadline = time.monotonic() + timeout_s
            while not self._stopping.is_set():
                try:
                    monitor = next((m for m in list_monitors() if m.name == self.monitor.name), None)
                    stream = self._open_stream(monitor) if monitor is not None else None
                except UserError:  # the server itself may be restarting
                    stream = None
                if stream is not None:
                    with self._lock:
                        if self._stopping.is_set():
                            stream.close()
                            return False
                        self.monitor, self.description = monitor, monitor.description
                        self._launch(stream)
                    log.warning("system audio resumed on %s", monitor.description)
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.wait(min(RECONNECT_INTERVAL_S, remaining)):
                    break
            return False
        finally:
            self._reconnecting = False

    def _halt_reader(self) -> None:
        self._halt.set()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(STOP_JOIN_S)  # still blocked after this: it frees its stream when the read returns

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            self._halt_reader()
            stream, self._stream = self._stream, None
        if stream is not None:  # opened but never started
            stream.close()
        if self._ring is not None:
            self._ring.close()

    def pump(self, until: float) -> bool:
        return self._reader is not None and not self._stopping.is_set()

    def next_block_time(self) -> float | None:
        return None
