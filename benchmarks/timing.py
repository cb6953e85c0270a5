"""Repetitions, interleaving and percentiles.

The machine is small and shared, so a library call and its baseline are never
timed in separate blocks: :func:`interleaved` alternates them call by call (and
swaps which goes first every round), so a burst of load from elsewhere hits both.
Ratios are taken between medians; p95 is reported beside them.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Stats", "interleaved", "stats", "timed"]


@dataclass(frozen=True)
class Stats:
    """Seconds per call: count, median, 95th percentile, mean, fastest."""

    n: int
    p50: float
    p95: float
    mean: float
    min: float

    def as_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 9) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }

    @property
    def per_second(self) -> float:
        return 1.0 / self.mean if self.mean > 0 else float("inf")


def stats(samples: list[float]) -> Stats:
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    p95_index = min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))
    return Stats(
        n=len(ordered),
        p50=statistics.median(ordered),
        p95=ordered[p95_index],
        mean=statistics.fmean(ordered),
        min=ordered[0],
    )


def timed(call: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result


def interleaved(
    calls: Mapping[str, Callable[[int], object]], *, repeat: int, warmup: int = 3
) -> dict[str, Stats]:
    """Time each call ``repeat`` times, alternating between them every round.

    Each call receives the round number (warm-up rounds are negative), so calls
    that change data (publish, approve) can use a fresh argument each time.
    Besides wall time (``name``), this process's CPU time per call is kept under
    ``name + "_cpu"``: on a busy machine it shows the client-side cost without the
    time spent waiting for a core (on SQLite the whole cost is client-side).
    """
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(-warmup, 0):
        for name in names:
            calls[name](round_number)
    gc.collect()
    for round_number in range(repeat):
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            call = calls[name]
            began, began_cpu = time.perf_counter(), time.process_time()
            call(round_number)
            samples[name].append(time.perf_counter() - began)
            cpu[name].append(time.process_time() - began_cpu)
    result = {name: stats(values) for name, values in samples.items()}
    result.update({f"{name}_cpu": stats(values) for name, values in cpu.items()})
    return result
