"""Ring buffer: wrap-around, a real concurrent writer/reader, and explicit overflow accounting."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from livecaption.audio.ring import RingBuffer


def ramp(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32)


def test_wrap_around_keeps_order_and_indexes():
    ring = RingBuffer(capacity_seconds=1.0, sample_rate=10)  # 10 samples
    ring.write(ramp(0, 7))
    assert ring.read(5).samples.tolist() == list(range(5))
    ring.write(ramp(7, 6))  # wraps past the end of storage
    chunk = ring.read()
    assert chunk.start_index == 5 and chunk.samples.tolist() == list(range(5, 13)) and chunk.dropped_before == 0


def test_overflow_drops_oldest_and_counts_it():
    ring = RingBuffer(capacity_seconds=1.0, sample_rate=10)
    ring.write(ramp(0, 8))
    assert ring.write(ramp(8, 6)) == 4  # 14 unread > 10: the 4 oldest go
    chunk = ring.read()
    assert chunk.start_index == 4 and chunk.samples.tolist() == list(range(4, 14))
    assert chunk.dropped_before == 4 and ring.dropped_seconds == pytest.approx(0.4)
    ring.write(ramp(14, 3))
    assert ring.read().dropped_before == 0  # reported once, with the chunk after the gap


def test_write_larger_than_capacity_keeps_newest():
    ring = RingBuffer(capacity_seconds=1.0, sample_rate=10)
    assert ring.write(ramp(0, 25)) == 15
    chunk = ring.read()
    assert chunk.start_index == 15 and chunk.samples.tolist() == list(range(15, 25))


def test_memory_is_fixed():
    ring = RingBuffer(capacity_seconds=2.0, sample_rate=16_000)
    storage = ring._data
    for i in range(200):
        ring.write(ramp(i * 1000, 1000))
    assert ring._data is storage and storage.nbytes == 2 * 16_000 * 4


def test_concurrent_writer_and_reader_lose_nothing_when_reader_keeps_up():
    ring = RingBuffer(capacity_seconds=1.0, sample_rate=16_000)
    total, block = 16_000 * 20, 160  # 20 s through a 1 s ring: it wraps 20 times
    received: list[np.ndarray] = []
    errors: list[BaseException] = []

    def writer():
        for start in range(0, total, block):
            while ring.available > ring.capacity // 2:  # a real-time source never runs ahead unboundedly
                time.sleep(0.0005)
            ring.write(ramp(start, block))
        ring.close()

    def reader():
        try:
            while True:
                ring.wait(1600, timeout=1.0)
                chunk = ring.read()
                if len(chunk.samples) == 0 and ring.closed:
                    return
                assert chunk.dropped_before == 0
                received.append(chunk.samples)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    data = np.concatenate(received)
    assert len(data) == total and np.array_equal(data, ramp(0, total))


def test_slow_reader_sees_every_gap_accounted():
    ring = RingBuffer(capacity_seconds=0.1, sample_rate=1000)  # 100 samples
    seen, dropped = 0, 0
    for start in range(0, 5000, 50):
        ring.write(ramp(start, 50))
        if start % 400 == 0:  # reads far less often than writes arrive
            chunk = ring.read()
            dropped += chunk.dropped_before
            seen += len(chunk.samples)
            assert chunk.samples[0] == chunk.start_index  # the index tells exactly where the audio is
    chunk = ring.read()
    seen, dropped = seen + len(chunk.samples), dropped + chunk.dropped_before
    assert seen + dropped == 5000 and ring.dropped_seconds == pytest.approx(dropped / 1000)


def test_wait_wakes_on_close():
    ring = RingBuffer(capacity_seconds=1.0, sample_rate=10)
    threading.Timer(0.05, ring.close).start()
    assert ring.wait(5, timeout=5) is True and ring.closed
