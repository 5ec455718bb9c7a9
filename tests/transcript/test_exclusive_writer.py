"""The exclusive writer under contention: N writers racing for one name, exactly one wins.

``write_text_atomic`` used to check for the file and then rename, and two ``recover -o`` runs
both exited 0 in 6 of 30 tries, one transcript silently replacing the other.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import pytest

from conftest import REPO
from hostile import HEADER, words_record, write_journal
from livecaption.errors import OutputError
from livecaption.outputs import write_exclusive

WRITERS = 8


def _race(path: str, index: int, force: bool, barrier, results) -> None:
    barrier.wait()  # every writer starts at the same instant
    try:
        write_exclusive(path, f"writer {index}\n" * 1000, force=force)
        results.put((index, "ok"))
    except OutputError as exc:
        results.put((index, str(exc)))


def _run_race(path, force: bool) -> list[tuple[int, str]]:
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(WRITERS), context.Queue()
    processes = [context.Process(target=_race, args=(str(path), i, force, barrier, results)) for i in range(WRITERS)]
    for process in processes:
        process.start()
    outcome = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return outcome


@pytest.mark.parametrize("round_", range(5))
def test_parallel_writers_exactly_one_wins(tmp_path, round_):
    path = tmp_path / "out.txt"
    outcome = _run_race(path, force=False)
    winners = [i for i, result in outcome if result == "ok"]
    assert len(winners) == 1, outcome
    losers = [result for _, result in outcome if result != "ok"]
    assert all("already exists" in message for message in losers), losers
    assert path.read_text() == f"writer {winners[0]}\n" * 1000  # whole, and the winner's
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left behind


def test_parallel_writers_with_force_leave_one_whole_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    outcome = _run_race(path, force=True)
    assert all(result == "ok" for _, result in outcome), outcome
    text = path.read_text()
    assert text in {f"writer {i}\n" * 1000 for i in range(WRITERS)}  # one writer's, never a mixture
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_parallel_recover_runs_exactly_one_wins(tmp_path):
    journal = write_journal(tmp_path, "s", [HEADER, words_record("one", "two", "three")])
    for round_ in range(2):
        out = tmp_path / f"out{round_}.txt"
        procs = [subprocess.Popen([sys.executable, "-m", "livecaption", "recover", str(journal), "-o", str(out)],
                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        assert sorted(code for code, _ in results) == [0, 2, 2, 2, 2, 2], results
        for code, err in results:
            assert "Traceback" not in err
            if code == 2:
                assert err.count("\n") == 1 and "already exists" in err, err
        assert out.read_text().split() == ["one", "two", "three"]
