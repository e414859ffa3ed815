"""Small helpers shared by the benchmark scripts: timing and printing figures."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(name: str, value: float, unit: str, goal: str = "") -> None:
    extra = f"   (goal {goal})" if goal else ""
    print(f"  {name:<58} {value:10.3f} {unit}{extra}", flush=True)


def header(title: str) -> None:
    print(f"\n== {title}", flush=True)
