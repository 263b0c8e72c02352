"""Every dashboard query returns data when Prometheus holds the series Airlock, vLLM and DCGM
expose (evaluated by promtool, for vLLM served directly and through Ray Serve LLM)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.packaging.test_monitoring_alert_logic import series
from tests.packaging.test_monitoring_dashboards import iter_targets, load_dashboards
from tests.packaging.tools import find_ops_tool

STEPS = 300  # minutes of samples
# What Grafana puts in place of the dashboard variables when "All" is selected.
VARIABLES = {"$__rate_interval": "5m", "$__range": "1h"} | {
    f"${name}": ".*"
    for name in ("namespace", "tenant", "route", "guard", "engine", "Hostname", "gpu")
}
POD = {"namespace": "airlock", "instance": "api-0"}
Series = list[dict[str, str]]


def counter(name: str, per_minute: int, **labels: str) -> dict[str, str]:
    """A counter growing by `per_minute` every minute."""
    return series(name, f"0+{per_minute}x{STEPS}", **labels)


def gauge(name: str, value: float, **labels: str) -> dict[str, str]:
    """A constant gauge."""
    return series(name, f"{value}x{STEPS}", **labels)


def histogram(name: str, buckets: dict[str, int], **labels: str) -> Series:
    """Cumulative bucket counters growing every minute (le -> count per minute)."""
    return [counter(f"{name}_bucket", n, le=le, **labels) for le, n in buckets.items()]


def airlock_http_and_tickets() -> Series:
    """The API's request metrics and the ticket decisions."""
    http = "airlock_http_request_duration_seconds"
    out: Series = []
    for route in ("/v1/tickets", "/v1/kb/search"):
        labels = {"method": "POST", "route": route, **POD}
        out += histogram(http, {"0.05": 80, "0.5": 95, "+Inf": 100}, status="2xx", **labels)
        out += [counter(f"{http}_count", 99, status="2xx", **labels)]
        out += [counter(f"{http}_count", 1, status="5xx", **labels)]
    out.append(gauge("airlock_http_requests_in_flight", 3, **POD))
    for action, n in (("auto_reply", 6), ("escalate", 3), ("needs_info", 1)):
        for tenant in ("acme", "globex"):
            labels = {"action": action, "intent": "billing", "tenant": tenant}
            out.append(counter("airlock_tickets_decided_total", n, **labels, **POD))
    for reason in ("guardrail", "low_grounding", "nothing_retrieved", "low_passage_score"):
        out.append(counter("airlock_ticket_escalations_total", 1, reason=reason, **POD))
    for guard, stage in (("pii", "input"), ("injection", "input"), ("grounding", "output")):
        labels = {"guard": guard, "stage": stage, "flag": "found"}
        out.append(counter("airlock_guard_flags_total", 1, **labels, **POD))
    return out


def airlock_pipeline_and_queue() -> Series:
    """Stage times, citations, the queue and the engines."""
    out: Series = []
    stages = ("input_guards", "classify", "retrieve", "generate", "output_guards", "total")
    for stage in stages:
        stage_buckets = {"0.1": 5, "1": 9, "+Inf": 10}
        out += histogram("airlock_ticket_stage_duration_seconds", stage_buckets, stage=stage, **POD)
    citations = {"0.0": 2, "1.0": 5, "2.0": 8, "+Inf": 10}
    out += histogram("airlock_ticket_citations", citations, **POD)
    out += [counter("airlock_ticket_citations_sum", 15, **POD)]
    out += [counter("airlock_ticket_citations_count", 10, **POD)]
    scores = {"0.5": 2, "0.8": 6, "+Inf": 8}
    out += histogram("airlock_ticket_top_citation_score", scores, **POD)
    for state, jobs in (("queued", 4), ("leased", 2), ("done", 100), ("dead", 1)):
        out.append(gauge("airlock_queue_jobs", jobs, state=state, **POD))
    out.append(gauge("airlock_queue_oldest_queued_age_seconds", 30, **POD))
    out.append(gauge("airlock_queue_up", 1, **POD))
    out.append(gauge("airlock_queue_expired_leases", 0, **POD))
    for engine in ("vllm", "extractive"):
        out += engine_series(engine)
    failover = {"from_engine": "vllm", "to_engine": "extractive", "reason": "timeout"}
    out.append(counter("airlock_serving_failovers_total", 1, **failover, **POD))
    return out


def engine_series(engine: str) -> Series:
    """One engine's drafting and serving metrics."""
    out = [
        counter("airlock_ticket_drafts_total", 2, engine=engine, **POD),
        counter("airlock_ticket_engine_failovers_total", 1, engine=engine, **POD),
        counter("airlock_serving_retries_total", 1, engine=engine, reason="timeout", **POD),
        counter("airlock_serving_breaker_opened_total", 1, engine=engine, **POD),
    ]
    for kind in ("prompt", "completion"):
        out.append(counter("airlock_ticket_llm_tokens_total", 100, engine=engine, kind=kind, **POD))
    for outcome in ("ok", "error"):
        labels = {"engine": engine, "outcome": outcome}
        out.append(counter("airlock_serving_requests_total", 3, **labels, **POD))
    ttft = {"0.1": 3, "1": 9, "+Inf": 10}
    out += histogram("airlock_serving_time_to_first_token_seconds", ttft, engine=engine, **POD)
    return out


def vllm_series(prefix: str, kv_cache: str, inter_token: str) -> Series:
    """A vLLM replica's metrics under one spelling (prefix, renamed metrics)."""
    labels = {"model_name": "llama", "WorkerId": "w1"}
    out = [
        gauge(f"{prefix}num_requests_running", 5, **labels),
        gauge(f"{prefix}num_requests_waiting", 1, **labels),
        gauge(f"{prefix}{kv_cache}", 0.5, **labels),
    ]
    for name in ("num_preemptions", "prompt_tokens", "generation_tokens"):
        out.append(counter(f"{prefix}{name}_total", 10, **labels))
    for name in ("prefix_cache_hits", "prefix_cache_queries"):
        out.append(counter(f"{prefix}{name}_total", 10, **labels))
    latencies = ("time_to_first_token", inter_token, "e2e_request_latency", "request_queue_time")
    for name in latencies:
        out += histogram(f"{prefix}{name}_seconds", {"0.1": 3, "1": 9, "+Inf": 10}, **labels)
    return out


def dcgm_series() -> Series:
    """Two hosts with two GPUs each, as dcgm-exporter labels them."""
    fields = {
        "DCGM_FI_DEV_GPU_UTIL": 80,
        "DCGM_FI_DEV_FB_USED": 70000,
        "DCGM_FI_DEV_FB_FREE": 10000,
        "DCGM_FI_DEV_POWER_USAGE": 500,
        "DCGM_FI_DEV_GPU_TEMP": 70,
        "DCGM_FI_DEV_SM_CLOCK": 1900,
    }
    return [
        gauge(field, value, gpu=gpu, Hostname=host, UUID=f"GPU-{host}-{gpu}", modelName="H200")
        for host in ("gpu1", "gpu2")
        for gpu in ("0", "1")
        for field, value in fields.items()
    ]


def dashboard_queries() -> dict[str, tuple[str, str]]:
    """Recording-rule name -> (panel, query with Grafana's variables filled in)."""
    queries: dict[str, tuple[str, str]] = {}
    for name, board in load_dashboards().items():
        for title, target in iter_targets(board):
            expr = target["expr"]
            for variable, value in sorted(VARIABLES.items(), key=lambda kv: -len(kv[0])):
                expr = expr.replace(variable, value)
            queries[f"dashboard:{len(queries)}"] = (f"{name}: {title} ({target['refId']})", expr)
    return queries


VLLM_SPELLINGS = {
    "ray-serve-llm": ("ray_vllm_", "kv_cache_usage_perc", "inter_token_latency"),
    "vllm-older": ("vllm:", "gpu_cache_usage_perc", "time_per_output_token"),
}


@pytest.mark.parametrize("spelling", sorted(VLLM_SPELLINGS))
def test_every_dashboard_query_returns_data(spelling: str, tmp_path: Path) -> None:
    promtool = find_ops_tool("promtool")
    queries = dashboard_queries()
    recording = [{"record": record, "expr": expr} for record, (_, expr) in queries.items()]
    rules = tmp_path / "dashboards.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": recording}]}))
    inputs = airlock_http_and_tickets() + airlock_pipeline_and_queue() + dcgm_series()
    inputs += vllm_series(*VLLM_SPELLINGS[spelling])
    # absent(x) is empty exactly when the query x returned at least one series.
    checks = [{"expr": f"absent({r})", "eval_time": "240m", "exp_samples": []} for r in queries]
    test = {"interval": "1m", "input_series": inputs, "promql_expr_test": checks}
    tests = tmp_path / "tests.yaml"
    tests.write_text(yaml.safe_dump({"rule_files": [str(rules)], "tests": [test]}))
    result = subprocess.run(
        [str(promtool), "test", "rules", str(tests)], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    empty = [panel for record, (panel, _) in queries.items() if f"absent({record})" in output]
    assert result.returncode == 0, empty or output
