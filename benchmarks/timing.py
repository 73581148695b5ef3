"""What every benchmark here shares: the best wall-clock time of a few repeats."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The shortest of ``repeats`` timings of ``work`` (seconds): the least disturbed by the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)
