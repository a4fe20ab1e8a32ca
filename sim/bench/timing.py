"""What the benchmarks share: best-of-N wall time."""
from __future__ import annotations

import time


def best(fn, repeat: int) -> float:
    """The smallest wall time of ``repeat`` calls: the least disturbed by a shared machine."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
