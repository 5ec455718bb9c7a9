"""The validation layer in-process: what it normalises, and what it refuses before any slow work."""

from __future__ import annotations

import json

import pytest

from hostile import SMALL_CONFIG, small_model
from livecaption.asr.whisper.models import declared_languages
from livecaption.cli import build_parser
from livecaption.errors import UserError
from livecaption.validation import check_language_for_model, normalize_language, validate


@pytest.mark.parametrize("given, expected", [("EN", "en"), (" de ", "de"), ("auto", None), ("AUTO", None),
                                             ("", None), (None, None), ("haw", "haw")])
def test_language_codes_are_normalised(given, expected):
    assert normalize_language(given) == expected


@pytest.mark.parametrize("given", ["english", "en-US", "e", "12", "en_gb"])
def test_malformed_language_codes_are_refused(given):
    with pytest.raises(UserError, match="invalid language"):
        normalize_language(given)


def test_listen_and_transcribe_normalise_alike(tmp_path):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    for command in (["transcribe", str(wav)], ["listen", "--replay", str(wav)]):
        args = build_parser().parse_args([*command, "--language", "EN"])
        validate(args)
        assert args.language == "en"


def test_a_folder_model_declares_its_languages_from_its_metadata(tmp_path):
    english = small_model(tmp_path / "en")  # vocab 1000: English-only, like tiny.en's 51864
    assert declared_languages(str(english)) == frozenset()
    with pytest.raises(UserError, match="English-only"):
        check_language_for_model(str(english), "de")
    multi = small_model(tmp_path / "multi", {**SMALL_CONFIG, "vocab_size": 51865})
    (multi / "tokenizer.json").write_text(json.dumps({"model": {}, "added_tokens": [
        {"id": 1, "content": "<|en|>"}, {"id": 2, "content": "<|de|>"}, {"id": 3, "content": "<|notimestamps|>"}]}))
    assert declared_languages(str(multi)) == {"en", "de"}
    check_language_for_model(str(multi), "de")
    with pytest.raises(UserError, match="unknown language 'fr'; this model knows: de, en"):
        check_language_for_model(str(multi), "fr")


def test_a_hub_id_is_not_guessed_at(tmp_path):
    assert declared_languages("someone/some-whisper") is None
    check_language_for_model("someone/some-whisper", "xx")  # checked once the model is loaded instead


def test_nothing_is_read_from_a_pipe_before_the_cheap_checks(tmp_path):
    """A bad number must be refused before the validation reads (and so consumes) a pipe."""
    import os

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block
    args = build_parser().parse_args(["transcribe", str(fifo), "--beam-size", "99"])
    with pytest.raises(UserError, match="--beam-size"):
        validate(args)


@pytest.mark.parametrize("command", ["transcribe", "listen", "bench"])
def test_outputs_are_checked_before_a_pipe_is_read(tmp_path, command):
    import os

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # nobody writes to it: reading it first would block this test
    taken = tmp_path / "taken.txt"
    taken.write_text("keep")
    argv = {"transcribe": ["transcribe", str(fifo), "-o", str(taken)],
            "listen": ["listen", "--replay", str(fifo), "-o", str(taken)],
            "bench": ["bench", str(fifo), "--events", str(taken)]}[command]
    with pytest.raises(UserError, match="already exists"):
        validate(build_parser().parse_args(argv))
    assert taken.read_text() == "keep"


@pytest.mark.parametrize("args, message", [
    (["listen", "--pause-commit-ms", "600"], "--pause-commit-ms (600) must be shorter than --hangover-ms (500)"),
    (["listen", "--pause-commit-ms", "300", "--hangover-ms", "300"], "must be shorter than --hangover-ms"),
    (["bench", "FILE", "--offline", "--model", "base", "--task", "translate"], "--task translate go with the streaming bench"),
    (["bench", "FILE", "--compare", "--prompt", "Dana", "--commit", "pauses"],
     "--prompt, --commit pauses go with the streaming bench"),
])
def test_streaming_settings_that_cannot_work_are_refused_in_one_line(args, message, capsys):
    from conftest import clip_path
    from livecaption.cli import main

    args = [str(clip_path("jfk.flac")) if a == "FILE" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
