"""Per-phase summary of request records: counts, errors, throughput and latency percentiles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gpu_bench.records import RequestRecord

WARMUP_PHASE = "warmup"
PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class Distribution:
    """Mean, population std and linearly interpolated percentiles of one latency, in seconds."""

    count: int
    mean: float
    std: float
    p50: float
    p90: float
    p95: float
    p99: float

    @classmethod
    def from_values(cls, values: Sequence[float]) -> Distribution | None:
        """Summarize values; None when there are none."""
        if not values:
            return None
        data = np.asarray(values, dtype=np.float64)
        # numpy's default "linear" method: the same interpolation vLLM's benchmark reports use.
        p50, p90, p95, p99 = (float(v) for v in np.percentile(data, PERCENTILES))
        return cls(
            count=len(data),
            mean=float(data.mean()),
            std=float(data.std()),
            p50=p50,
            p90=p90,
            p95=p95,
            p99=p99,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class PhaseStats:
    """What one load point achieved; rates are over the phase's wall-clock duration."""

    phase: str
    requests: int
    ok: int
    errors: int
    error_rate: float
    errors_by_kind: dict[str, int]
    error_rate_by_kind: dict[str, float]
    duration_s: float
    requests_per_s: float
    output_tokens_per_s: float
    total_tokens_per_s: float
    output_tokens: int
    prompt_tokens: int
    ttft: Distribution | None
    tpot: Distribution | None
    itl: Distribution | None
    e2e: Distribution | None

    def to_dict(self) -> dict[str, Any]:
        """JSON values (a missing distribution is null)."""
        data = asdict(self)
        for name in ("ttft", "tpot", "itl", "e2e"):
            dist: Distribution | None = getattr(self, name)
            data[name] = None if dist is None else dist.to_dict()
        return data


def get_end_s(record: RequestRecord) -> float:
    """When a request finished: start plus end-to-end time, or its start when that is unknown."""
    if record.e2e_s is None:
        return record.start_s
    return record.start_s + record.e2e_s


def get_duration_s(records: Sequence[RequestRecord]) -> float:
    """First start to last end over the records; 0.0 when there are none."""
    if not records:
        return 0.0
    return max(get_end_s(r) for r in records) - min(r.start_s for r in records)


def group_by_phase(records: Iterable[RequestRecord]) -> dict[str, list[RequestRecord]]:
    """Records per phase in order of first appearance, warmup left out."""
    phases: dict[str, list[RequestRecord]] = {}
    for record in records:
        if record.phase != WARMUP_PHASE:
            phases.setdefault(record.phase, []).append(record)
    return phases


def _rate(amount: float, duration_s: float) -> float:
    """Amount per second; 0.0 over an empty duration."""
    return amount / duration_s if duration_s > 0 else 0.0


def _error_counts(records: Sequence[RequestRecord]) -> dict[str, int]:
    """Failed requests per error kind ("other" when a failure carries no kind)."""
    counts: dict[str, int] = {}
    for record in records:
        if record.status != "ok":
            kind = record.error_kind or "other"
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def summarize_phase(phase: str, records: Sequence[RequestRecord]) -> PhaseStats:
    """Statistics of one phase's records (pass them already filtered to that phase)."""
    done = [r for r in records if r.status == "ok"]
    by_kind = _error_counts(records)
    errors = len(records) - len(done)
    duration = get_duration_s(records)
    output = sum(r.output_tokens or 0 for r in done)
    prompt = sum(r.prompt_tokens or 0 for r in done)
    total = len(records)
    return PhaseStats(
        phase=phase,
        requests=total,
        ok=len(done),
        errors=errors,
        error_rate=errors / total if total else 0.0,
        errors_by_kind=by_kind,
        error_rate_by_kind={k: v / total for k, v in by_kind.items()},
        duration_s=duration,
        requests_per_s=_rate(len(done), duration),
        output_tokens_per_s=_rate(output, duration),
        total_tokens_per_s=_rate(output + prompt, duration),
        output_tokens=output,
        prompt_tokens=prompt,
        ttft=Distribution.from_values([r.ttft_s for r in done if r.ttft_s is not None]),
        tpot=Distribution.from_values([r.tpot_s for r in done if r.tpot_s is not None]),
        itl=Distribution.from_values([gap for r in done for gap in r.itl_s]),
        e2e=Distribution.from_values([r.e2e_s for r in done if r.e2e_s is not None]),
    )


def summarize(records: Iterable[RequestRecord]) -> dict[str, PhaseStats]:
    """Statistics per phase, in order of first appearance; warmup records are ignored."""
    return {phase: summarize_phase(phase, rs) for phase, rs in group_by_phase(records).items()}
