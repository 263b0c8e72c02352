"""Every dashboard and alert query is PromQL and names only metrics that something exposes."""

from __future__ import annotations

import re
from collections.abc import Iterable

import promql_parser
import pytest
from gpu_bench.telemetry import COUNTERS, GAUGES
from prometheus_client import REGISTRY
from prometheus_client.core import Metric
from sqlalchemy import create_engine

import serving.metrics  # noqa: F401 (registers the serving metrics in the default registry)
from api.metrics import ApiMetrics, QueueCollector
from helpdesk.queue.workqueue import WorkQueue
from tests.packaging.test_monitoring_dashboards import (
    iter_targets,
    load_dashboards,
    query_variables,
)
from tests.packaging.test_monitoring_rules import load_rules

# Grafana replaces these before Prometheus sees the query; any valid range stands in for them.
GRAFANA_RANGES = re.compile(r"\$\{?__(?:rate_interval|interval|range)\}?")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*\w+\)$")
# Exposition sample names per metric type (prometheus_client drops `_total` from family names).
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
    "gauge": ("",),
    "info": ("_info",),
}
# vLLM's request-level histograms (vLLM's metrics design document, docs.vllm.ai "Metrics"),
# which gpu-bench does not read; inter_token_latency_seconds replaced
# time_per_output_token_seconds in newer releases, so dashboards ask for both.
VLLM_HISTOGRAMS = (
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:time_per_output_token_seconds",
    "vllm:e2e_request_latency_seconds",
    "vllm:request_queue_time_seconds",
)
# Ray Serve LLM exports vLLM's metrics through Ray: "ray_" prefix, ":" written as "_".
RAY_VLLM_PREFIX = "ray_vllm_"
# NVIDIA dcgm-exporter fields of its default counters (etc/default-counters.csv) we chart.
DCGM_FIELDS = frozenset(
    {
        "DCGM_FI_DEV_GPU_UTIL",  # GPU utilisation, %
        "DCGM_FI_DEV_FB_USED",  # framebuffer used, MiB
        "DCGM_FI_DEV_FB_FREE",  # framebuffer free, MiB
        "DCGM_FI_DEV_POWER_USAGE",  # power draw, W
        "DCGM_FI_DEV_GPU_TEMP",  # GPU temperature, C
        "DCGM_FI_DEV_SM_CLOCK",  # SM clock, MHz
    }
)
PROMETHEUS_OWN = frozenset({"up"})  # Prometheus' scrape health series


def all_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every dashboard target, dashboard variable and alert expression."""
    queries: list[tuple[str, str]] = []
    for name, board in load_dashboards().items():
        for title, target in iter_targets(board):
            queries.append((f"{name}: {title}", GRAFANA_RANGES.sub("5m", target["expr"])))
        for variable in query_variables(board):
            match = LABEL_VALUES.match(variable["definition"])
            assert match, f"{name}: variable {variable['name']} is not label_values(...)"
            queries.append((f"{name}: ${variable['name']}", match["selector"]))
    for rule in load_rules():
        queries.append((f"rule {rule.get('alert') or rule.get('record')}", rule["expr"]))
    return queries


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"select metrics by name, not by matchers only: {expr}"
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def exposition_names(families: Iterable[Metric]) -> set[str]:
    """The sample names the families appear under in the text exposition."""
    return {f.name + suffix for f in families for suffix in SUFFIXES.get(f.type, ("",))}


def airlock_exposed() -> set[str]:
    """Airlock's metric names as the API's and the worker's /metrics expose them."""
    metrics = ApiMetrics()
    queue = QueueCollector(WorkQueue(create_engine("sqlite://")))  # describe() never queries
    families = [*metrics.registry.collect(), *queue.describe(), *REGISTRY.collect()]
    return {name for name in exposition_names(families) if name.startswith("airlock_")}


def vllm_known() -> set[str]:
    """vLLM sample names: those gpu-bench reads plus the histograms' exposition names."""
    names = {name for names, _ in GAUGES.values() for name in names}
    names |= {name for names in COUNTERS.values() for name in names}
    names |= {h + suffix for h in VLLM_HISTOGRAMS for suffix in SUFFIXES["histogram"]}
    return names


QUERIES = all_queries()
USED = {name for _, expr in QUERIES for name in metric_names(expr)}


@pytest.mark.parametrize(("where", "expr"), QUERIES, ids=[w for w, _ in QUERIES])
def test_query_parses_as_promql(where: str, expr: str) -> None:
    assert isinstance(promql_parser.parse(expr), promql_parser.Expr), where


def test_queries_name_only_airlock_vllm_dcgm_or_scrape_metrics() -> None:
    known_prefixes = ("airlock_", "vllm:", RAY_VLLM_PREFIX, "DCGM_FI_")
    stray = {n for n in USED if not n.startswith(known_prefixes) and n not in PROMETHEUS_OWN}
    assert stray == set()


def test_every_airlock_metric_queried_is_exposed() -> None:
    used = {name for name in USED if name.startswith("airlock_")}
    assert sorted(used - airlock_exposed()) == []


def test_every_vllm_metric_queried_is_one_gpu_bench_or_vllm_documents() -> None:
    direct = {name for name in USED if name.startswith("vllm:")}
    via_ray = {"vllm:" + n.removeprefix(RAY_VLLM_PREFIX) for n in USED if n.startswith("ray_")}
    assert sorted((direct | via_ray) - vllm_known()) == []


def test_every_vllm_query_covers_both_vllm_and_ray_serve_llm_names() -> None:
    direct = {name.removeprefix("vllm:") for name in USED if name.startswith("vllm:")}
    via_ray = {n.removeprefix(RAY_VLLM_PREFIX) for n in USED if n.startswith(RAY_VLLM_PREFIX)}
    assert direct == via_ray


def test_every_dcgm_metric_queried_is_in_the_allow_list() -> None:
    used = {name for name in USED if name.startswith("DCGM_")}
    assert sorted(used - DCGM_FIELDS) == []


def test_citation_histogram_has_the_zero_bucket_the_dashboards_count() -> None:
    # "Tickets without citations" reads the le="0.0" bucket (matched as le=~"0|0.0").
    metrics = ApiMetrics()
    metrics.citations.observe(0)
    buckets = [
        s for f in metrics.registry.collect() for s in f.samples if s.name.endswith("_bucket")
    ]
    zero = [s for s in buckets if s.name == "airlock_ticket_citations_bucket" and s.value == 1]
    assert any(re.fullmatch("0|0.0", s.labels["le"]) for s in zero)
