"""The alert rules fire on the situations they describe and stay quiet otherwise (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.packaging.test_monitoring_rules import RULES
from tests.packaging.tools import find_ops_tool

HTTP = "airlock_http_request_duration_seconds"
TICKETS = {"method": "POST", "route": "/v1/tickets"}
DECIDED = "airlock_tickets_decided_total"


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    """One synthetic series; 'a+bxN' is a, a+b, ... N more samples, '_' a missing one."""
    text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def fires(minute: int, alert: str, **labels: str) -> dict[str, object]:
    """At `minute`, exactly one `alert` fires with these labels."""
    exp = [{"exp_labels": labels}]
    return {"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": exp}


def quiet(minute: int, alert: str) -> dict[str, object]:
    """At `minute`, `alert` does not fire."""
    return {"eval_time": f"{minute}m", "alertname": alert, "exp_alerts": []}


def scenario(name: str, inputs: list[dict[str, str]], checks: list[dict[str, object]]) -> object:
    """One promtool test group sampled every minute."""
    return {"name": name, "interval": "1m", "input_series": inputs, "alert_rule_test": checks}


W, C = "warning", "critical"
SCENARIOS = [
    scenario(
        "p99 of POST /v1/tickets above 0.5 s (10 % of requests between 0.5 and 1 s)",
        [
            series(f"{HTTP}_bucket", "0+90x40", **TICKETS, status="2xx", le="0.5"),
            series(f"{HTTP}_bucket", "0+100x40", **TICKETS, status="2xx", le="1"),
            series(f"{HTTP}_bucket", "0+100x40", **TICKETS, status="2xx", le="+Inf"),
            series("up", "1x40", job="prod-airlock-api", instance="a:8080"),
        ],
        [
            quiet(3, "AirlockTicketSubmitLatencyHigh"),
            fires(20, "AirlockTicketSubmitLatencyHigh", severity=W),
            quiet(20, "AirlockApiDown"),
        ],
    ),
    scenario(
        "fast submissions are quiet; an API that is down is reported",
        [
            series(f"{HTTP}_bucket", "0+100x40", **TICKETS, status="2xx", le="0.5"),
            series(f"{HTTP}_bucket", "0+100x40", **TICKETS, status="2xx", le="+Inf"),
            series("up", "0x40", job="airlock-api", instance="a:8080"),
        ],
        [
            quiet(20, "AirlockTicketSubmitLatencyHigh"),
            fires(10, "AirlockApiDown", severity=C),
            fires(10, "AirlockApiTargetDown", severity=W, job="airlock-api", instance="a:8080"),
        ],
    ),
    scenario(
        "5 % of ticket submissions fail for over an hour",
        [
            series(f"{HTTP}_count", "0+5x120", **TICKETS, status="5xx"),
            series(f"{HTTP}_count", "0+95x120", **TICKETS, status="2xx"),
        ],
        [fires(70, "AirlockApiErrorBudgetFastBurn", severity=C)],
    ),
    scenario(
        "a failing readiness probe alone burns no error budget",
        [
            series(f"{HTTP}_count", "0+1000x120", method="GET", route="/readyz", status="5xx"),
            series(f"{HTTP}_count", "0+95x120", **TICKETS, status="2xx"),
        ],
        [quiet(70, "AirlockApiErrorBudgetFastBurn"), quiet(119, "AirlockApiErrorBudgetSlowBurn")],
    ),
    scenario(
        "one tenant's escalations jump from 10 % to 60 %; a tiny tenant's 2 of 2 do not count",
        [
            series(DECIDED, "0+1x1440 1441+6x60", action="escalate", intent="x", tenant="acme"),
            series(DECIDED, "0+9x1440 12960+4x60", action="auto_reply", intent="x", tenant="acme"),
            series(DECIDED, "0x1440 0+1x2 2x58", action="escalate", intent="x", tenant="tiny"),
            series(DECIDED, "0x1500", action="auto_reply", intent="x", tenant="tiny"),
        ],
        [
            quiet(1430, "AirlockEscalationRateSpike"),
            fires(1500, "AirlockEscalationRateSpike", severity=W, tenant="acme"),
        ],
    ),
    scenario(
        "failover, queue backlog, unreadable queue, dead jobs, broken audit chain",
        [
            series("airlock_ticket_engine_failovers_total", "0x10 1x20", engine="vllm"),
            series("airlock_queue_oldest_queued_age_seconds", "0+60x30", instance="a"),
            series("airlock_queue_up", "1x10 0x20", instance="a"),
            series("airlock_queue_jobs", "0x40 2x20", state="dead", instance="a"),
            series("airlock_audit_chain_intact", "NaN 1x10 0x20", instance="a"),
            series("airlock_audit_verifications_total", "0x10 1x20", result="broken"),
        ],
        [
            quiet(9, "AirlockEngineFailover"),
            fires(12, "AirlockEngineFailover", severity=W, engine="vllm"),
            fires(9, "AirlockQueueBacklog", severity=W),
            quiet(9, "AirlockQueueBacklogCritical"),
            fires(20, "AirlockQueueBacklogCritical", severity=C),
            fires(20, "AirlockQueueDown", severity=C, instance="a"),
            quiet(35, "AirlockQueueDeadJobs"),
            fires(45, "AirlockQueueDeadJobs", severity=W),
            quiet(5, "AirlockAuditChainBroken"),
            fires(12, "AirlockAuditChainBroken", severity=C),
            fires(12, "AirlockAuditVerificationBroken", severity=C),
        ],
    ),
    scenario(
        "a verification older than 2 h is stale; no verdict yet (NaN) is neither broken nor stale",
        [
            series("airlock_audit_last_verification_timestamp_seconds", "0x200", instance="a"),
            series("airlock_audit_chain_intact", "1x200", instance="a"),
            series("airlock_audit_last_verification_timestamp_seconds", "NaN NaN", instance="b"),
            series("airlock_audit_chain_intact", "NaN NaN", instance="b"),
        ],
        [
            quiet(2, "AirlockAuditVerificationStale"),
            quiet(2, "AirlockAuditChainBroken"),
            quiet(100, "AirlockAuditVerificationStale"),
            fires(150, "AirlockAuditVerificationStale", severity=W),
        ],
    ),
    scenario(
        "vLLM on Ray Serve LLM disappears; a full KV cache; a hot GPU",
        [
            series("ray_vllm_num_requests_running", "1x30 _x30", model_name="m", WorkerId="w1"),
            series("vllm:kv_cache_usage_perc", "0.97x30", model_name="m", instance="v1"),
            series("vllm:kv_cache_usage_perc", "0.2x30", model_name="m", instance="v2"),
            series("DCGM_FI_DEV_GPU_TEMP", "90x30", gpu="0", Hostname="gpu1", UUID="GPU-1"),
            series("DCGM_FI_DEV_GPU_TEMP", "60x30", gpu="1", Hostname="gpu1", UUID="GPU-2"),
        ],
        [
            quiet(20, "AirlockVllmMetricsGone"),
            fires(45, "AirlockVllmMetricsGone", severity=C),
            fires(20, "AirlockVllmKvCacheNearFull", severity=W, model_name="m"),
            fires(20, "AirlockGpuHot", severity=W, gpu="0", Hostname="gpu1"),
        ],
    ),
    scenario(
        "an install without vLLM never reports vLLM gone",
        [series("up", "1x60", job="airlock-api", instance="a")],
        [quiet(60, "AirlockVllmMetricsGone")],
    ),
]


def rules_without_annotations(tmp_path: Path) -> Path:
    """The rule file minus annotations: promtool compares annotations exactly, the logic is
    what these scenarios test (test_monitoring_rules checks the annotations)."""
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """promtool with the arguments; its output is the assertion message on failure."""
    promtool = find_ops_tool("promtool")
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, check=False)


def test_rule_file_passes_promtool_check() -> None:
    result = run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_on_their_situations_and_stay_quiet_otherwise(tmp_path: Path) -> None:
    rules = rules_without_annotations(tmp_path)
    tests = tmp_path / "scenarios.yaml"
    document = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": SCENARIOS,
    }
    tests.write_text(yaml.safe_dump(document))
    result = run_promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr
