"""Latency SLOs: parsing, goodput (requests/s meeting every SLO) and the highest rate that holds."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gpu_bench.records import RequestRecord
from gpu_bench.stats import get_duration_s, group_by_phase

SLO_KEYS = ("ttft", "tpot", "e2e")
_UNITS = {"ms": 1e-3, "s": 1.0}
_BOUND = re.compile(r"^(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<unit>[a-z]*)$")


@dataclass(frozen=True)
class Slo:
    """Upper bounds in seconds; None means that latency is not constrained."""

    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return asdict(self)


def _parse_bound(key: str, text: str, spec: str) -> float:
    """One bound such as "500ms" or "2s", in seconds."""
    match = _BOUND.match(text.strip().lower())
    if match is None:
        raise ValueError(f"SLO {spec!r}: {key}={text!r} is not a number followed by ms or s")
    unit = match["unit"]
    if not unit:
        raise ValueError(f"SLO {spec!r}: {key}={text!r} needs a unit, ms or s")
    if unit not in _UNITS:
        raise ValueError(f"SLO {spec!r}: {key}={text!r} has unit {unit!r}; use ms or s")
    value = float(match["number"]) * _UNITS[unit]
    if value <= 0:
        raise ValueError(f"SLO {spec!r}: {key} must be greater than zero")
    return value


def parse_slo(spec: str) -> Slo:
    """Parse "ttft=500ms,tpot=50ms,e2e=2s"; raise ValueError naming the bad part."""
    bounds: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ValueError(f"SLO {spec!r}: {part.strip()!r} is not key=value")
        if key not in SLO_KEYS:
            raise ValueError(f"SLO {spec!r}: unknown key {key!r}; use {', '.join(SLO_KEYS)}")
        if key in bounds:
            raise ValueError(f"SLO {spec!r}: {key} is given twice")
        bounds[key] = _parse_bound(key, value, spec)
    return Slo(**{f"{key}_s": value for key, value in bounds.items()})


def _within(value: float | None, bound: float | None) -> bool:
    """True when there is no bound, or a known value is at most the bound."""
    return bound is None or (value is not None and value <= bound)


def meets_slo(record: RequestRecord, slo: Slo) -> bool:
    """Whether one request met every bound; a failed request never does."""
    if record.status != "ok":
        return False
    # A one-token answer has no decode phase: its TPOT is 0, as vLLM's goodput counts it.
    tpot = record.tpot_s if (record.output_tokens or 0) >= 2 else 0.0
    return (
        _within(record.ttft_s, slo.ttft_s)
        and _within(tpot, slo.tpot_s)
        and _within(record.e2e_s, slo.e2e_s)
    )


@dataclass(frozen=True)
class Goodput:
    """How many requests met the SLO, as a fraction and as a rate over the run's duration."""

    requests: int
    met: int
    attainment: float
    duration_s: float
    goodput_per_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return asdict(self)


def goodput(records: Iterable[RequestRecord], slo: Slo) -> Goodput:
    """Requests/s meeting every SLO and the fraction that did; warmup records are ignored."""
    kept = [r for rs in group_by_phase(records).values() for r in rs]
    met = sum(1 for r in kept if meets_slo(r, slo))
    duration = get_duration_s(kept)
    return Goodput(
        requests=len(kept),
        met=met,
        attainment=met / len(kept) if kept else 0.0,
        duration_s=duration,
        goodput_per_s=met / duration if duration > 0 else 0.0,
    )


@dataclass(frozen=True)
class ProbePoint:
    """One rate tried by the search and what it achieved."""

    rate: float
    stage: str  # "grow" while doubling, "bisect" while narrowing
    passed: bool
    goodput: Goodput

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return {**asdict(self), "goodput": self.goodput.to_dict()}


@dataclass(frozen=True)
class RateSearch:
    """The highest rate found to meet the SLO (None if even the lowest failed) and every probe."""

    best_rate: float | None
    target_attainment: float
    points: tuple[ProbePoint, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return {
            "best_rate": self.best_rate,
            "target_attainment": self.target_attainment,
            "points": [p.to_dict() for p in self.points],
        }


RunAtRate = Callable[[float], Awaitable[list[RequestRecord]]]
Stage = Literal["grow", "bisect"]


@dataclass
class _Search:
    """The search's state: the bracket between the best passing and the lowest failing rate."""

    run_at_rate: RunAtRate
    slo: Slo
    target: float
    passing: float | None = None
    failing: float | None = None
    points: list[ProbePoint] = field(default_factory=list)

    async def probe(self, rate: float, stage: Stage) -> bool:
        """Run one load point, record it, and narrow the bracket; whether it passed."""
        result = goodput(await self.run_at_rate(rate), self.slo)
        passed = result.requests > 0 and result.attainment >= self.target
        self.points.append(ProbePoint(rate=rate, stage=stage, passed=passed, goodput=result))
        if passed:
            self.passing = rate
        else:
            self.failing = rate
        return passed


async def search_rate(
    run_at_rate: RunAtRate,
    slo: Slo,
    *,
    target_attainment: float = 0.9,
    low: float = 1.0,
    high: float = 1024.0,
    iterations: int = 6,
) -> RateSearch:
    """Highest request rate meeting the SLO at the target: double from low, then bisect."""
    if not 0 < low <= high:
        raise ValueError(f"rate search needs 0 < low <= high, got low={low}, high={high}")
    if not 0 < target_attainment <= 1:
        raise ValueError(f"target attainment must be in (0, 1], got {target_attainment}")
    search = _Search(run_at_rate=run_at_rate, slo=slo, target=target_attainment)
    rate = low
    while await search.probe(rate, "grow") and rate < high:
        rate = min(rate * 2, high)
    for _ in range(iterations):
        if search.passing is None or search.failing is None:
            break
        await search.probe((search.passing + search.failing) / 2, "bisect")
    return RateSearch(
        best_rate=search.passing, target_attainment=target_attainment, points=tuple(search.points)
    )
