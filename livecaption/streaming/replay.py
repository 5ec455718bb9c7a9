"""A recording replayed through a fresh pipeline: benches, the soak run and tests drive the live
engine exactly as a microphone would, at real-time pace or on the simulated clock."""

from __future__ import annotations

import numpy as np

from livecaption.audio.sources import FileReplaySource
from livecaption.streaming.clock import RealClock, SimulatedClock
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.pipeline import StreamingPipeline


def stream_file(recognizer, audio: np.ndarray, fast: bool, options: StreamingOptions,
                vad_options: VadOptions = VadOptions(), clock=None, on_event=None,
                audio_tap=None) -> StreamingPipeline:
    """Replay ``audio`` through a fresh pipeline and return it, finished."""
    clock = clock or (SimulatedClock() if fast else RealClock())
    pipeline = StreamingPipeline(recognizer, FileReplaySource(audio, realtime=not fast), options, vad_options,
                                 clock=clock, on_event=on_event, audio_tap=audio_tap)
    pipeline.start()
    pipeline.wait()
    if pipeline.error is not None:
        raise pipeline.error
    return pipeline
