"""Per-phase statistics, SLO parsing, goodput and the SLO rate search."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from gpu_bench.records import RequestRecord
from gpu_bench.slo import Slo, goodput, meets_slo, parse_slo, search_rate
from gpu_bench.stats import Distribution, summarize


def ok(
    index: int,
    *,
    phase: str = "c=1",
    start: float = 0.0,
    e2e: float = 1.0,
    ttft: float = 0.1,
    itl: tuple[float, ...] = (),
    output: int = 10,
    prompt: int = 5,
) -> RequestRecord:
    """A successful request."""
    return RequestRecord(
        request_id=f"r{index}",
        phase=phase,
        prompt_id=f"p{index}",
        start_s=start,
        status="ok",
        e2e_s=e2e,
        ttft_s=ttft,
        itl_s=itl,
        prompt_tokens=prompt,
        output_tokens=output,
        token_source="usage",
        http_status=200,
    )


def failed(
    index: int, kind: str | None, *, phase: str = "c=1", start: float = 0.0
) -> RequestRecord:
    """A failed request with no timings."""
    return RequestRecord(
        request_id=f"e{index}",
        phase=phase,
        prompt_id=f"p{index}",
        start_s=start,
        status="error",
        error_kind=kind,  # type: ignore[arg-type]
        error="boom",
    )


def five_requests() -> list[RequestRecord]:
    """Five successes with E2E 1..5 s, started 1 s apart, plus two failures and a warmup."""
    records = [
        ok(i, start=float(i), e2e=float(i + 1), ttft=0.1 * (i + 1), itl=(0.01 * (i + 1),) * 2)
        for i in range(5)
    ]
    records += [failed(5, "http_5xx", start=2.0), failed(6, None, start=3.0)]
    records.append(ok(99, phase="warmup", start=-100.0, e2e=500.0))
    return records


def test_distribution_uses_linear_percentiles_and_population_std() -> None:
    dist = Distribution.from_values([1.0, 2.0, 3.0, 4.0, 5.0])
    assert dist is not None
    assert (dist.count, dist.mean, dist.p50) == (5, 3.0, 3.0)
    assert dist.p90 == pytest.approx(4.6)
    assert dist.p95 == pytest.approx(4.8)
    assert dist.p99 == pytest.approx(4.96)
    assert dist.std == pytest.approx(math.sqrt(2.0))


def test_distribution_of_nothing_is_none() -> None:
    assert Distribution.from_values([]) is None


def test_summarize_counts_errors_by_kind_and_ignores_warmup() -> None:
    stats = summarize(five_requests())
    assert list(stats) == ["c=1"]
    phase = stats["c=1"]
    assert (phase.requests, phase.ok, phase.errors) == (7, 5, 2)
    assert phase.error_rate == pytest.approx(2 / 7)
    assert phase.errors_by_kind == {"http_5xx": 1, "other": 1}
    assert phase.error_rate_by_kind == {
        "http_5xx": pytest.approx(1 / 7),
        "other": pytest.approx(1 / 7),
    }


def test_summarize_rates_use_first_start_to_last_end() -> None:
    phase = summarize(five_requests())["c=1"]
    # Starts at 0 s; the last success starts at 4 s and takes 5 s.
    assert phase.duration_s == pytest.approx(9.0)
    assert phase.requests_per_s == pytest.approx(5 / 9)
    assert phase.output_tokens_per_s == pytest.approx(50 / 9)
    assert phase.total_tokens_per_s == pytest.approx(75 / 9)


def test_summarize_latencies_come_from_successes_only() -> None:
    phase = summarize(five_requests())["c=1"]
    assert phase.e2e is not None and phase.ttft is not None
    assert phase.itl is not None and phase.tpot is not None
    assert phase.e2e.p50 == 3.0
    assert phase.e2e.p90 == pytest.approx(4.6)
    assert phase.ttft.mean == pytest.approx(0.3)
    assert phase.itl.count == 10  # every gap of every request, pooled
    assert phase.itl.p50 == pytest.approx(0.03)
    # vLLM's TPOT: (E2E - TTFT) / (output tokens - 1) = 0.9 * (i + 1) / 9.
    assert phase.tpot.p50 == pytest.approx(0.3)


def test_summarize_keeps_phases_in_order_of_appearance() -> None:
    records = [ok(1, phase="c=8"), ok(2, phase="c=1"), ok(3, phase="c=8")]
    stats = summarize(records)
    assert list(stats) == ["c=8", "c=1"]
    assert stats["c=8"].requests == 2


def test_summarize_phase_of_only_failures_has_no_latencies() -> None:
    phase = summarize([failed(1, "timeout")])["c=1"]
    assert (phase.ttft, phase.e2e, phase.duration_s, phase.requests_per_s) == (None, None, 0.0, 0.0)
    assert phase.error_rate == 1.0


def test_phase_stats_to_dict_is_json() -> None:
    data = summarize(five_requests())["c=1"].to_dict()
    again = json.loads(json.dumps(data))
    assert again["e2e"]["p50"] == 3.0
    assert again["errors_by_kind"] == {"http_5xx": 1, "other": 1}


def test_parse_slo_reads_milliseconds_and_seconds() -> None:
    assert parse_slo("ttft=500ms, tpot=50ms,e2e=2s") == Slo(ttft_s=0.5, tpot_s=0.05, e2e_s=2.0)
    assert parse_slo("e2e=1.5s") == Slo(e2e_s=1.5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("ttfb=500ms", "unknown key 'ttfb'"),
        ("ttft=500us", "unit 'us'"),
        ("ttft=500", "needs a unit"),
        ("ttft=fast", "not a number"),
        ("ttft", "not key=value"),
        ("ttft=1s,ttft=2s", "given twice"),
        ("ttft=0ms", "greater than zero"),
    ],
)
def test_parse_slo_rejects_bad_specs_clearly(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_slo(spec)


def test_goodput_counts_requests_meeting_every_bound() -> None:
    records = five_requests()  # e2e 1..5 s, ttft 0.1..0.5 s, two failures
    result = goodput(records, parse_slo("ttft=350ms,e2e=3s"))
    assert (result.requests, result.met) == (7, 3)
    assert result.attainment == pytest.approx(3 / 7)
    assert result.goodput_per_s == pytest.approx(3 / 9)


def test_goodput_never_counts_a_failure() -> None:
    assert not meets_slo(failed(1, "timeout"), Slo())
    assert goodput([failed(1, "timeout")], Slo()).attainment == 0.0


def test_one_token_answer_meets_any_tpot_bound() -> None:
    assert meets_slo(ok(1, output=1, e2e=9.0, ttft=0.1), parse_slo("tpot=1ms"))
    assert not meets_slo(ok(2, output=3, e2e=9.0, ttft=0.1), parse_slo("tpot=1ms"))


def run_synthetic(requests: int = 10):
    """A load point whose latency grows with rate: request i waits rate*(i+1)*5 ms for a token."""

    async def run_at_rate(rate: float) -> list[RequestRecord]:
        return [
            ok(i, phase=f"rate={rate}", start=i / rate, ttft=rate * (i + 1) * 0.005, e2e=1.0)
            for i in range(requests)
        ]

    return run_at_rate


def test_search_rate_converges_on_the_highest_rate_meeting_the_target() -> None:
    # 9 of 10 requests meet ttft <= 500 ms while rate * 9 * 5 ms <= 0.5 s: rate <= 100/9.
    result = asyncio.run(
        search_rate(run_synthetic(), parse_slo("ttft=500ms"), target_attainment=0.9, iterations=8)
    )
    assert result.best_rate is not None
    assert 100 / 9 - 8 / 2**8 <= result.best_rate <= 100 / 9
    assert [p.rate for p in result.points if p.stage == "grow"] == [1, 2, 4, 8, 16]
    assert sum(p.stage == "bisect" for p in result.points) == 8
    assert all(p.passed == (p.rate <= 100 / 9) for p in result.points)
    assert json.loads(json.dumps(result.to_dict()))["best_rate"] == result.best_rate


def test_search_rate_stops_at_high_when_everything_passes() -> None:
    result = asyncio.run(search_rate(run_synthetic(), parse_slo("ttft=1000s"), low=1, high=6))
    assert result.best_rate == 6
    assert [p.rate for p in result.points] == [1, 2, 4, 6]


def test_search_rate_reports_none_when_the_lowest_rate_fails() -> None:
    result = asyncio.run(search_rate(run_synthetic(), parse_slo("ttft=1ms"), low=1))
    assert result.best_rate is None
    assert [(p.rate, p.passed) for p in result.points] == [(1, False)]


def test_search_rate_rejects_an_empty_range() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        asyncio.run(search_rate(run_synthetic(), Slo(), low=8, high=4))
