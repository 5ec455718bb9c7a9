"""The streams the engine worker runs, and what the window asks of them.

A stream is one input through a ``StreamingPipeline`` (a microphone, a system-audio monitor alone,
a recording replayed at real-time pace) or a meeting capture (issue #11): the microphone and the
system audio at once through a ``MeetingCapture``, each line marked with its input (You / Others).
Both kinds answer the same questions here: how long the stream ran (the session clock goes on from
there), which input is down right now, what to say when one input of a meeting is lost for good.

Part of the adapter (with ui/engine.py and ui/engine_names.py, the only ui/ modules that import
the engine): kept apart so the worker stays about starting, stopping and switching streams.
"""

from __future__ import annotations

from livecaption.audio.decode import decode_audio
from livecaption.audio.sources import FileReplaySource, MicrophoneSource
from livecaption.errors import UserError
from livecaption.streaming.events import MICROPHONE, SOURCE_SPEAKERS, SYSTEM
from livecaption.streaming.meeting import INPUT_NAMES, MeetingCapture
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.pipeline import StreamingPipeline

NO_MICROPHONE = "none"  # EngineConfig.input_device: the system audio alone
SPEAKERS_IN_MEETING = ("speaker labels work on one input: in a meeting capture each line is already "
                       "labelled with its input (You / Others)")


def build_sources(config):
    """What to caption: one source, or a meeting's {MICROPHONE: source, SYSTEM: source}."""
    if config.replay_file:
        audio = decode_audio(config.replay_file)[int(config.replay_from * 16_000):]
        source = FileReplaySource(audio, realtime=True, description=config.replay_file)
        source.replay_from = config.replay_from
        return source
    if config.system_audio is None:
        if config.input_device == NO_MICROPHONE:
            raise UserError("nothing to caption: no microphone and no system audio chosen")
        return MicrophoneSource(config.input_device or None)
    from livecaption.audio.pulse import SystemAudioSource

    # The monitor first: a missing audio server is one line before a microphone is looked for.
    system = SystemAudioSource(config.system_audio or None)
    if config.input_device == NO_MICROPHONE:
        return system  # what the computer plays, alone: captioned like a microphone, unlabelled
    return {MICROPHONE: MicrophoneSource(config.input_device or None), SYSTEM: system}


def build_stream(recognizer, config, sources, on_event, journal, offset: float, names: dict[str, str],
                 audio_tap=None):
    """A StreamingPipeline for one source, a MeetingCapture for a meeting's ``sources`` (see
    ``build_sources``). Either journals into ``journal`` and delivers on the session's clock
    (``offset``: the seconds earlier streams of the session ran)."""
    options = StreamingOptions(language=config.language, reconnect_s=config.reconnect_s, task=config.task,
                               vocabulary=config.vocabulary)
    if not isinstance(sources, dict):
        return StreamingPipeline(recognizer, sources, options, VadOptions(), on_event=on_event, journal=journal,
                                 session_offset=offset, audio_tap=audio_tap)
    if audio_tap is not None:
        raise UserError(SPEAKERS_IN_MEETING)  # as `listen` refuses --speakers with --system-audio
    meeting = MeetingCapture(recognizer, sources, options, VadOptions(), on_event=on_event, journal=journal,
                             names={sid: names.get(sid, SOURCE_SPEAKERS[sid]) for sid in sources})
    for pipeline in meeting.pipelines.values():  # each input delivers on the session's clock too
        pipeline.session_offset = offset
    return meeting


def inputs(stream) -> dict:
    """The stream's pipelines by input (None for a single-input stream)."""
    return stream.pipelines if isinstance(stream, MeetingCapture) else {None: stream}


def session_end(stream) -> float:
    """Where the stream is on the session's clock: its start there (which includes the time its
    input took to deliver a first sample) plus what it has run since."""
    return max(pipeline.session_offset + pipeline.clock.now() for pipeline in inputs(stream).values())


def input_label(stream, source: str | None) -> str:
    """"System audio (Monitor of Built-in Audio)", "The microphone (3: pulse)": an input, in a banner."""
    name = {MICROPHONE: "The microphone", SYSTEM: "System audio"}.get(source, "The input")
    return f"{name} ({inputs(stream)[source].source.description})"


def _live(stream) -> dict:
    """The inputs still capturing (a meeting's input lost for good has ended; the others go on)."""
    return {sid: p for sid, p in inputs(stream).items() if p.source_failure is None}


def outage(stream) -> str | None:
    """``"no audio from <device>"`` while an input is lost or being reconnected, else None."""
    down = [text for p in _live(stream).values()
            if (check := getattr(p.source, "outage", None)) is not None and (text := check())]
    return "; ".join(down) or None


def going_on(stream) -> str:
    """In a meeting: the inputs that still deliver audio ("the microphone"), else ""."""
    if not isinstance(stream, MeetingCapture):
        return ""
    names = [INPUT_NAMES[sid] for sid, p in _live(stream).items()
             if not ((check := getattr(p.source, "outage", None)) is not None and check())]
    return " and ".join(names)


def lost_input_message(stream, source: str, error: str) -> str:
    """One input of a meeting ended for good; the banner names it and says the meeting goes on."""
    rest = " and ".join(INPUT_NAMES[sid] for sid in _live(stream) if sid != source)
    own = f"system audio '{inputs(stream)[source].source.description}' "  # how the monitor's errors begin
    error = "it " + error[len(own):] if error.startswith(own) else error  # its name is said once
    return f"{input_label(stream, source)} was lost: {error}; " + (f"{rest} goes on." if rest else "nothing is left.")


def rename(stream, journal, source: str, name: str) -> None:
    """A meeting input's new name, journaled: through the running capture (its lock orders the
    record with the captions), else straight into the session's journal (which has its own lock)."""
    if stream is not None and source in getattr(stream, "names", {}):
        stream.rename(source, name)
    elif journal is not None:
        journal.append_source_names({source: name})


def stream_failure_message(error: str, source_failure: str | None) -> str:
    """The banner for a stream that ended on an error: a lost input device only when capture is
    what failed; an engine failure (a CUDA error, a bug) as what it is."""
    if source_failure is not None and error == source_failure:
        return f"audio input lost: {error}"
    where = "the GPU" if any(word in error for word in ("CUDA", "cuda", "cuBLAS", "CUBLAS", "cuDNN")) else "the engine"
    return f"captioning stopped: {where} failed ({error}); what was said so far is kept"


def failure_message(stream, error: str) -> str:
    """The banner for a stream (of either kind) that ended on ``error``."""
    if isinstance(stream, MeetingCapture) and stream.source_failure is not None:
        return f"audio input lost: {stream.source_failure}"  # every input of the meeting is gone
    return stream_failure_message(error, stream.source_failure)


def replay_position(stream) -> tuple[float, float] | None:
    """For a replayed recording: (seconds into the file, seconds this stream replayed); else None."""
    source = getattr(stream, "source", None)
    if not isinstance(source, FileReplaySource):
        return None
    played = source._pos / source.sample_rate
    return getattr(source, "replay_from", 0.0) + played, played


def description(stream) -> str:
    """What a replayed stream replayed (for "Replay of … finished")."""
    return getattr(getattr(stream, "source", None), "description", "the recording")
