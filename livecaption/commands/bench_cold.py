"""``livecaption bench FILE --cold``: whole processes, timed the way users meet them (issue #15).

Every run is a fresh interpreter, so imports, model loading and the precision start check count:

- ``livecaption transcribe FILE``: launch to exit, and the process's peak RSS;
- ``livecaption listen --replay FILE``: launch to "listening" (ready), launch to the first caption
  on stdout, and the whole live session's peak RSS (the replay plays at real-time pace to its end);
- with ``--compare``, faster-whisper's whole process on the same embedded bundle (load, transcribe
  with word times), the baseline every time is given as a ratio to.

The engines alternate run by run (load drifts on a shared machine; alternating spreads it over
both), and the median of ``--repeat`` runs is kept. Each child's peak RSS is its own (``wait4``),
not the highest of all children. Children run with a scratch data folder: no journal is left.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from livecaption.commands.common import ct2_folder_for, fmt

# faster-whisper's whole process: load the CTranslate2 bundle, transcribe with word times, print.
FASTER_WHISPER = """
import sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type=sys.argv[3])
segments, _ = model.transcribe(sys.argv[2], beam_size=5, word_timestamps=True, language="en")
print("".join(segment.text for segment in segments).strip())
"""


@dataclass
class ColdRun:
    seconds: float  # launch to exit
    peak_rss_mb: float
    ready_s: float | None = None  # listen: launch to "listening"
    first_caption_s: float | None = None  # listen: launch to the first caption on stdout


@dataclass
class ColdRow:
    what: str
    runs: list[ColdRun] = field(default_factory=list)

    def median(self, name: str) -> float | None:
        values = [getattr(run, name) for run in self.runs if getattr(run, name) is not None]
        return statistics.median(values) if values else None


def _child_env(scratch: Path) -> dict:
    return {**os.environ, "LIVECAPTION_DATA_DIR": str(scratch / "data"), "HF_HUB_OFFLINE": "1"}


def _run(command: list[str], env: dict, live: bool = False) -> ColdRun:
    """One whole process: wall time from launch to exit and its own peak RSS; for ``listen``
    (``live``), the moments it said it was listening and showed its first word. Its captions go to
    a terminal (a pseudo-terminal here), as a user's would: on a pipe only whole lines appear."""
    import pty

    marks: dict[str, float] = {}
    start = time.perf_counter()
    terminal, terminal_end = pty.openpty() if live else (None, None)
    child = subprocess.Popen(command, stdout=terminal_end if live else subprocess.DEVNULL, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=env)
    readers = [threading.Thread(target=_watch_lines, args=(child.stderr, b"listening on", "ready", marks, start),
                                daemon=True)]
    if live:
        os.close(terminal_end)
        readers.append(threading.Thread(target=_watch_terminal, args=(terminal, marks, start), daemon=True))
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    for reader in readers:
        reader.join(timeout=5)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command[2:5])} ... exited with {code}")
    return ColdRun(seconds, usage.ru_maxrss / 1024, marks.get("ready") if live else None,
                   marks.get("first_caption") if live else None)


def _watch_lines(stream, marker: bytes, name: str, marks: dict, start: float) -> None:
    for line in iter(stream.readline, b""):
        if name not in marks and marker in line:
            marks[name] = time.perf_counter() - start
    stream.close()


def _watch_terminal(terminal: int, marks: dict, start: float) -> None:
    """The first letter or digit the captions show (the terminal renderer's control codes are not)."""
    while True:
        try:
            data = os.read(terminal, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", data)
        if "first_caption" not in marks and any(chr(c).isalnum() for c in text):
            marks["first_caption"] = time.perf_counter() - start
    os.close(terminal)


def run_cold_bench(args: argparse.Namespace) -> int:
    audio = str(Path(args.file).resolve())  # the children read it themselves (validation refused a pipe)
    precision = args.precision if args.precision != "auto" else "fp32"
    livecaption = [sys.executable, "-m", "livecaption"]
    model = ["--model", args.model, "--device", args.device, "--precision", precision]
    with tempfile.TemporaryDirectory(prefix="livecaption-cold-") as scratch:
        scratch = Path(scratch)
        env = _child_env(scratch)
        engines: list[tuple[ColdRow, list[str], bool]] = [
            (ColdRow(f"livecaption transcribe ({precision})"), [*livecaption, "transcribe", audio, *model], False),
            (ColdRow(f"livecaption listen --replay ({precision})"),
             [*livecaption, "listen", "--replay", audio, *model], True),
        ]
        if args.compare:  # first: the baseline
            folder = ct2_folder_for(args.model, scratch)
            engines[:0] = [(ColdRow(f"faster-whisper ({compute_type})"),
                            [sys.executable, "-c", FASTER_WHISPER, str(folder), audio, compute_type], False)
                           for compute_type in ("int8", "float32")]
        _run([*livecaption, "transcribe", audio, *model], env)  # converts the model once, outside the timing
        print(f"bench --cold: {audio}, {args.model}, {args.repeat} run(s) each, alternating", file=sys.stderr)
        for round_number in range(max(1, args.repeat)):
            for row, command, watch in engines:
                row.runs.append(_run(command, env, watch))
                print(f"  round {round_number + 1}: {row.what}: {row.runs[-1].seconds:.2f} s", file=sys.stderr)
    rows = [row for row, _, _ in engines]
    baseline = rows[0] if args.compare else None
    if args.json:
        print(json.dumps([{"what": r.what, "runs": [asdict(run) for run in r.runs]} for r in rows], indent=2))
    else:
        _print_table(rows, baseline)
    return 0


def _print_table(rows: list[ColdRow], baseline: ColdRow | None) -> None:
    print("| whole process | wall time (median) | vs faster-whisper int8 | peak RSS | ready | first caption |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        seconds = row.median("seconds")
        live = row.median("ready_s") is not None  # a replay at real-time pace: its length is the recording's
        ratio = f"{seconds / baseline.median('seconds'):.2f}x" if baseline and not live else "-"
        print(f"| {row.what} | {seconds:.2f} s | {ratio} | {row.median('peak_rss_mb'):.0f} MB "
              f"| {fmt(row.median('ready_s'))} | {fmt(row.median('first_caption_s'))} |")
