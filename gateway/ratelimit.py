"""How many events one `/worker` connection may send per second: a token bucket per connection.

A worker holding valid credentials can still send events as fast as its socket allows; the
excess beyond `rate` per second (after a burst of `burst`) is dropped and counted, so one
connection cannot make the gateway churn its progress buffer or starve `/health`.

The default is set by legitimate use, with room to spare: a worker process holds one job at
a time and reports it at most every 0.1 s (HAUL_PROGRESS_INTERVAL >= 0.1), so about 10 events
a second; the heaviest legitimate sender we know is the throttle load test, one connection
reporting 50 claimed jobs at 20 Hz, 1,000 events a second. Twice that, 2,000 a second with a
burst of 4,000, leaves both untouched and still caps a flooding connection at a tenth of the
about 20,000 events a second one core takes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_EVENTS_PER_SECOND = 2000.0
DEFAULT_BURST = 4000.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class SenderRateCap:
    def __init__(
        self,
        rate: float = DEFAULT_EVENTS_PER_SECOND,
        burst: float = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._buckets: dict[str, _Bucket] = {}
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def admit(self, sender: str) -> bool:
        """Take one token from `sender`'s bucket; False (and counted) when it is empty."""
        now = self._clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = self._buckets[sender] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        if bucket.tokens < 1.0:
            self.dropped += 1
            return False
        bucket.tokens -= 1.0
        return True

    def forget(self, sender: str) -> None:
        self._buckets.pop(sender, None)
