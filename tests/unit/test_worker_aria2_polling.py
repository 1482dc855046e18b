"""How often the aria2 engine reads a download's status: quickly at first, then each interval."""

from __future__ import annotations

import itertools

from worker.engines.aria2 import FIRST_POLL, poll_delays


def test_the_first_reads_come_quickly_then_every_interval() -> None:
    delays = list(itertools.islice(poll_delays(0.2), 8))
    assert delays[0] == FIRST_POLL < 0.05
    assert delays == sorted(delays)
    assert delays[-3:] == [0.2, 0.2, 0.2]
    assert sum(delays[:4]) < 0.2  # four reads before the old first one


def test_an_interval_shorter_than_the_first_wait_is_kept() -> None:
    assert list(itertools.islice(poll_delays(0.005), 3)) == [0.005, 0.005, 0.005]
