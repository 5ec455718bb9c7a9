"""Meeting capture's core (livecaption/streaming/meeting.py) with a scripted model: both inputs'
words land under their own input, in one journal, and the microphone's echo of the loudspeakers
is dropped while the user's own words are kept. Real capture is in tests/audio/test_meeting_pulse.py.

The two inputs replay on the real clock (the echo check waits on the other input's progress,
which only a shared clock makes meaningful), three times faster than real time: the scripted
model decodes in microseconds, so that is still a machine that keeps up.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from conftest import clip_path
from fake_recognizer import SAMPLE_RATE, ScriptedRecognizer
from livecaption.audio.decode import decode_audio
from livecaption.audio.sources import FileReplaySource
from livecaption.streaming.events import MICROPHONE, SYSTEM, CaptionUpdate, CaptureGap, StreamEnded
from livecaption.streaming.meeting import DecodeTurns, MeetingCapture
from livecaption.transcript.journal import Journal, read_journal
from livecaption.transcript.live import LiveTranscript
from signals import silence
from test_streaming_fake import voiced_words

SPEED = 3.0


def _recordings(mic: np.ndarray, system: np.ndarray, mic_script, system_script):
    """One scripted model over both recordings (it finds a slice by its samples), and the two
    replays of its own (dithered) copies."""
    both = np.concatenate([mic, system]).astype(np.float32)
    offset = len(mic) / SAMPLE_RATE
    script = list(mic_script) + [(w, s + offset, e + offset) for w, s, e in system_script]
    model = ScriptedRecognizer(both, script)
    return model, model.audio[: len(mic)], model.audio[len(mic):]


def _run(model, mic_audio, system_audio, tmp_path, echo=True):
    events = []
    journal = Journal({"model": "scripted", "device": "cpu", "precision": "fp32", "fallback": None, "options": {}},
                      folder=tmp_path)
    replays = {MICROPHONE: FileReplaySource(mic_audio, speed=SPEED), SYSTEM: FileReplaySource(system_audio, speed=SPEED)}
    capture = MeetingCapture(model, replays,
                             on_event=events.append, journal=journal, echo=echo)
    capture.start()
    assert capture.wait(timeout=120)
    journal.close()
    return capture, events, journal


def _words_by_source(events) -> dict:
    out = {MICROPHONE: [], SYSTEM: []}
    for event in events:
        if isinstance(event, CaptionUpdate):
            out[event.source] += [w.text.strip() for w in event.committed]
    return out


def _conversation(user_from: float):
    """The others read jfk (system audio) while the user says "one, two, three" twice from
    ``user_from`` s (microphone), over them: a scripted model that knows both, its two replays,
    and each input's words (m0, m1, ... and s0, s1, ...)."""
    jfk, three = decode_audio(clip_path("jfk.flac")), decode_audio(clip_path("one_two_three.wav"))
    system = np.concatenate([silence(0.5), jfk, silence(1.0)])
    mic = np.concatenate([silence(user_from), three, silence(1.0), three, silence(len(system) / SAMPLE_RATE)])
    mic = mic[: len(system)]
    mic_script = [(f"m{i}", s, e) for i, (_, s, e) in enumerate(voiced_words(mic))]
    system_script = [(f"s{i}", s, e) for i, (_, s, e) in enumerate(voiced_words(system))]
    return (*_recordings(mic, system, mic_script, system_script), mic_script, system_script)


def test_both_inputs_are_captioned_under_their_own_label_and_journaled(tmp_path):
    model, mic_audio, system_audio, mic_script, system_script = _conversation(user_from=3.0)
    capture, events, journal = _run(model, mic_audio, system_audio, tmp_path)

    heard = _words_by_source(events)
    assert heard[MICROPHONE] == [w for w, _, _ in mic_script]  # every word once, in order, none echoed away
    assert heard[SYSTEM] == [w for w, _, _ in system_script]
    ends = [e for e in events if isinstance(e, StreamEnded)]
    assert [e.source for e in ends][-1] is None and {e.source for e in ends[:-1]} == {MICROPHONE, SYSTEM}

    # The journal keeps each word's input and the inputs' names: a recovered transcript says who.
    _, recovered = read_journal(journal.path)
    result = recovered.to_transcription()
    by_speaker = {}
    for seg in result.segments:
        by_speaker.setdefault(seg.speaker, []).extend(w.text.strip() for w in seg.words)
        assert seg.source in (MICROPHONE, SYSTEM) and seg.speaker == {MICROPHONE: "You", SYSTEM: "Others"}[seg.source]
    assert sorted(by_speaker["You"]) == sorted(w for w, _, _ in mic_script)
    assert sorted(by_speaker["Others"]) == sorted(w for w, _, _ in system_script)
    starts = [seg.start for seg in result.segments]
    assert starts == sorted(starts)


def test_the_microphones_echo_of_the_loudspeakers_is_dropped_and_the_users_words_kept(tmp_path):
    jfk, three = decode_audio(clip_path("jfk.flac")), decode_audio(clip_path("one_two_three.wav"))
    system = np.concatenate([silence(0.5), jfk, silence(4.0)])
    delay = int(0.05 * SAMPLE_RATE)  # the room: loudspeaker to microphone
    echo = np.concatenate([np.zeros(delay, np.float32), 0.3 * system[:-delay]])
    own_at = len(system) - int(3.5 * SAMPLE_RATE)  # the user speaks after the others, loudspeakers quiet
    mic = echo.copy()
    mic[own_at:own_at + len(three)] += three[: len(mic) - own_at]
    system_script = [(f"s{i}", s, e) for i, (_, s, e) in enumerate(voiced_words(system))]
    # What the microphone hears: the others' words a moment late, then the user's own.
    own = [(f"m{i}", s, e) for i, (_, s, e) in enumerate(voiced_words(mic)) if s >= own_at / SAMPLE_RATE - 0.05]
    mic_script = [(w, s + 0.05, e + 0.05) for w, s, e in system_script] + own
    model, mic_audio, system_audio = _recordings(mic, system, mic_script, system_script)
    capture, events, _ = _run(model, mic_audio, system_audio, tmp_path)

    heard = _words_by_source(events)
    assert heard[SYSTEM] == [w for w, _, _ in system_script]
    assert heard[MICROPHONE] == [w for w, _, _ in own], heard[MICROPHONE]  # each sentence once
    assert capture.echo.dropped_words == len(system_script)


def test_with_a_headset_the_same_words_at_another_time_are_kept(tmp_path):
    # Echo is words at the same moment: the user repeating the others' words later is speech.
    three = decode_audio(clip_path("one_two_three.wav"))
    system = np.concatenate([silence(0.5), three, silence(6.0)])
    mic = np.concatenate([silence(5.0), three, silence(1.5)])[: len(system)]
    system_script = voiced_words(system)
    mic_script = [(w, s + 4.5, e + 4.5) for w, s, e in system_script]  # the same words, 4.5 s later
    model, mic_audio, system_audio = _recordings(mic, system, mic_script, system_script)
    _, events, _ = _run(model, mic_audio, system_audio, tmp_path)
    heard = _words_by_source(events)
    assert heard[MICROPHONE] == heard[SYSTEM] == [w for w, _, _ in system_script]


def test_turns_alternate_between_two_waiting_inputs():
    turns, order = DecodeTurns(), []
    gate = threading.Barrier(2)

    def decode(name):
        gate.wait()
        for _ in range(5):
            with turns.turn():
                order.append(name)
                time.sleep(0.01)

    threads = [threading.Thread(target=decode, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # First come, first served: neither input runs twice while the other waits.
    assert order.count("a") == order.count("b") == 5
    assert max(len(run) for run in "".join(order).replace("ab", "a b").replace("ba", "b a").split()) <= 2


def test_a_final_decode_goes_before_waiting_partial_ones_but_never_into_a_running_one():
    turns, order = DecodeTurns(), []
    holding, release = threading.Event(), threading.Event()

    def decode(name, priority, hold=False):
        with turns.turn(priority):
            order.append(f"{name} in")
            if hold:
                holding.set()
                release.wait(10)
            order.append(f"{name} out")

    first = threading.Thread(target=decode, args=("busy", DecodeTurns.PARTIAL, True))
    first.start()
    holding.wait(10)
    waiting = [threading.Thread(target=decode, args=("partial", DecodeTurns.PARTIAL))]
    waiting[0].start()
    time.sleep(0.1)  # the partial is queued first ...
    waiting.append(threading.Thread(target=decode, args=("final", DecodeTurns.FINAL)))
    waiting[1].start()
    time.sleep(0.1)
    assert order == ["busy in"] and turns.busy()  # ... the final waits for the running decode ...
    release.set()
    for thread in [first, *waiting]:
        thread.join(10)
    # ... and then goes before the partial that waited longer; one decode at a time throughout.
    assert order == ["busy in", "busy out", "final in", "final out", "partial in", "partial out"]
    assert not turns.busy()


def test_two_inputs_never_decode_at_once(tmp_path):
    # A scripted model that takes a while and counts how many decodes are inside it at once.
    model, mic_audio, system_audio, mic_script, system_script = _conversation(user_from=2.0)
    inside, most = [0], [0]
    real = model.transcribe

    def slow(audio, options):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        inside[0] -= 1
        return real(audio, options)

    model.transcribe = slow
    _, events, _ = _run(model, mic_audio, system_audio, tmp_path)
    assert most[0] == 1
    heard = _words_by_source(events)
    assert heard[MICROPHONE] == [w for w, _, _ in mic_script] and heard[SYSTEM] == [w for w, _, _ in system_script]


def test_a_transcript_names_each_input_and_marks_a_gap_on_that_input_only():
    transcript = LiveTranscript("m", "cpu", "fp32", None, {})
    transcript.name_sources({MICROPHONE: "You", SYSTEM: "Dana"})
    from livecaption.streaming.events import CommittedWord

    def words(texts, start):
        return tuple(CommittedWord(f" {t}", start + i, start + i + 0.5, start + i + 1, 0.9) for i, t in enumerate(texts))

    transcript.add(CaptionUpdate(words(["hello", "there"], 0.0), "", 1.0, source=SYSTEM))
    transcript.add(CaptionUpdate(words(["hi"], 0.5), "", 1.0, utterance_ended=True, source=MICROPHONE))
    gap = CaptureGap(3.0, 5.0, "input device lost", 5.0, source=SYSTEM)
    transcript.add_gap(gap.start, gap.end, gap.reason, gap.source)  # ends the others' open utterance only
    result = transcript.to_transcription()
    spoken = [(seg.speaker, seg.text.strip()) for seg in result.segments]
    assert spoken == [("Dana", "hello there"), ("You", "hi"), (None, "[not captioned 3.0-5.0 s on the system audio: "
                                                                      "input device lost]")]


class _Stream:
    """What the echo check reads of a pipeline: committed words, what it has heard, its offset."""

    def __init__(self, committed=(), heard=(0.0, []), offset=0.0):
        self.committed, self.heard, self.session_offset, self.source = list(committed), heard, offset, None


def _words(texts, start, step=0.4):
    from livecaption.streaming.events import CommittedWord

    return tuple(CommittedWord(f" {t}", start + i * step, start + i * step + 0.3, 0.0, 0.9) for i, t in enumerate(texts))


def test_the_echo_check_waits_only_while_the_system_audio_can_still_answer():
    from livecaption.streaming.meeting import EchoGate

    system = _Stream(heard=(2.0, []))
    gate = EchoGate(_Stream(), system)
    mine = CaptionUpdate(_words(["hello", "there"], 3.0), "", 4.0)
    gap = CaptureGap(5.0, 6.0, "microphone lost", 6.0)
    assert gate([mine, gap], final=False) == []  # the others are not decoded that far: both wait, in order
    gate.system_ended = True  # the system audio's input is gone: nothing will answer, judge now
    assert gate([], final=False) == [mine, gap]
    assert gate.hold_seconds and gate.hold_seconds[0] < 1.0


def test_a_tentative_tail_is_hidden_only_when_it_repeats_what_the_others_say_now():
    from livecaption.streaming.meeting import EchoGate

    long_ago = _words(["i", "think", "we", "should", "ship", "it"], 10.0)
    system = _Stream(committed=long_ago, heard=(300.0, []))
    gate = EchoGate(_Stream(), system)
    mine = CaptionUpdate((), "i think so", 300.0)
    assert gate([mine], final=False) == [mine]  # the others said "I think" minutes ago: not an echo
    system.committed += list(_words(["i", "think", "so"], 299.0))
    assert gate([mine], final=False)[0].tentative == ""  # they say it now: the microphone's copy is hidden


def test_held_captions_reach_the_journal_when_the_worker_fails(tmp_path):
    # A gate that holds every caption until the stream's last delivery (as the echo check may),
    # and a model that fails for good after words were committed: the worker ends with the error,
    # and what it had committed and held is still delivered and journaled, not lost with it.
    from livecaption.errors import UserError
    from livecaption.streaming.pipeline import StreamingPipeline

    jfk = decode_audio(clip_path("jfk.flac"))
    audio = np.concatenate([silence(0.5), jfk]).astype(np.float32)
    model = ScriptedRecognizer(audio, voiced_words(audio))
    real, calls = model.transcribe, []

    def failing_later(audio, options):
        result = real(audio, options)
        calls.append(result.text)
        if sum(bool(text) for text in calls) >= 6:
            raise UserError("a setting this model cannot do")  # no decode will ever succeed
        return result

    model.transcribe = failing_later
    held = []

    def hold_until_final(events, final):
        held.extend(events)
        return list(held) if final else []

    events = []
    journal = Journal({"model": "scripted", "device": "cpu", "precision": "fp32", "fallback": None, "options": {}},
                      folder=tmp_path)
    pipeline = StreamingPipeline(model, FileReplaySource(model.audio, speed=SPEED), on_event=events.append,
                                 journal=journal)
    pipeline.commit_gate = hold_until_final
    pipeline.start()
    pipeline.wait(60)
    journal.close()
    assert isinstance(pipeline.error, UserError)
    committed = [w.text.strip() for w in pipeline.core.log.words]
    delivered = [w.text.strip() for e in events if isinstance(e, CaptionUpdate) for w in e.committed]
    assert committed and delivered == committed
    _, recovered = read_journal(journal.path)
    assert [w.text.strip() for w in recovered.words()] == committed


def test_an_echo_decoded_a_little_differently_is_still_an_echo_and_the_user_after_it_is_kept():
    # Seen on the real server: the others' "Asked not what your country" came back through the
    # microphone as "Ask not! Like your".
    from livecaption.streaming.meeting import EchoGate

    others = _words(["asked", "not", "what", "your", "country"], 1.0)
    gate = EchoGate(_Stream(), _Stream(committed=others, heard=(10.0, [])))
    echo = [CaptionUpdate(_words(["ask", "not!"], 1.05), "", 2.0), CaptionUpdate(_words(["like", "your"], 1.9), "", 3.0)]
    mine = CaptionUpdate(_words(["hello", "everyone"], 3.2), "", 4.0, utterance_ended=True)
    released = gate([*echo, mine], final=False)
    assert [[w.text.strip() for w in u.committed] for u in released] == [[], [], ["hello", "everyone"]]
    assert gate.dropped_words == 4
