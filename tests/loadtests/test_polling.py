"""loadtests.aws.polling: read CloudWatch again until what a run wrote has arrived, within a budget."""

from __future__ import annotations

from collections.abc import Iterator

from loadtests.aws.polling import read_until


def arrivals(*counts: int) -> Iterator[int]:
    yield from counts


def test_it_reads_again_until_enough_has_arrived() -> None:
    seen, slept = arrivals(0, 3, 8, 9), list[float]()
    assert read_until(lambda: next(seen), lambda n: n >= 8, 60, 5, slept.append) == 8
    assert slept == [5, 5]


def test_it_gives_up_after_wait_seconds_with_what_it_read_last() -> None:
    seen, slept = arrivals(0, 1, 2, 3, 4), list[float]()
    assert read_until(lambda: next(seen), lambda n: n >= 100, 10, 5, slept.append) == 2
    assert slept == [5, 5]


def test_no_wait_reads_once() -> None:
    slept: list[float] = []
    assert read_until(lambda: 0, lambda n: n > 0, 0, 5, slept.append) == 0
    assert slept == []
