"""CloudWatch holds what a run wrote (log lines, metrics) only a while after the run: read again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def read_until(
    read: Callable[[], T],
    enough: Callable[[T], bool],
    wait_seconds: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``read()`` again every ``interval`` until ``enough`` of what it read, sleeping ``wait_seconds``
    at the most; then what was read last, enough or not."""
    waited = 0.0
    while True:
        value = read()
        if enough(value) or waited >= wait_seconds:
            return value
        sleep(interval)
        waited += interval
