"""infra.local.process.wait_for: the one loop that waits for a first success (a fresh server's
/predict, a /ready, the bench's probe, an Auto Scaling group emptied)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for
from loadtests.comparison import wait_until_ready
from loadtests.signing import NO_AUTH


def answers(*values: str | None) -> Iterator[str | None]:
    yield from values


def test_it_calls_again_until_a_value_and_returns_it() -> None:
    seen, slept = answers(None, None, "ok"), list[float]()
    seconds, value = wait_for(lambda: next(seen), "ok", timeout=60, interval=2.5, sleep=slept.append)
    assert value == "ok" and seconds >= 0
    assert slept == [2.5, 2.5]


def test_it_names_what_it_waited_for_when_time_runs_out() -> None:
    slept: list[float] = []
    with pytest.raises(TimeoutError, match="the first successful /predict: not within 0 s"):
        wait_for(lambda: None, "the first successful /predict", timeout=0, started=0.0, sleep=slept.append)
    assert slept == []


def test_it_stops_at_once_when_the_process_it_waits_on_has_exited(tmp_path: Path) -> None:
    with ManagedProcess([sys.executable, "-c", "pass"], tmp_path / "exited.log") as exited:
        assert exited.process is not None and exited.process.wait(timeout=60) == 0
        with pytest.raises(RuntimeError, match="exited before answering"):
            wait_for(lambda: None, "an answer", timeout=60, alive=exited, sleep=lambda _: None)


def test_ready_wait_gives_up_with_the_last_answer() -> None:
    nobody = f"http://{LOOPBACK}:{free_port()}"
    with pytest.raises(TimeoutError, match=r"/ready ready: not within 0 s \(last answer: None\)"):
        wait_until_ready(nobody, NO_AUTH, timeout=0, sleep=lambda _: None)
