"""Server metrics scraping over real HTTP on loopback, and NVML sampling with or without a GPU."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from typing import Any

import httpx
import pytest
from gpu_bench.telemetry import GpuSampler, ServerScraper, energy_per_output_token, parse_metrics
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.serving.conftest import get_free_port, run_live

CURRENT = """# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{{engine="0",model_name="m"}} {kv}
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{{engine="0",model_name="m"}} {running}
vllm:num_requests_running{{engine="1",model_name="m"}} {running}
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{{engine="0",model_name="m"}} 0.0
# TYPE vllm:num_preemptions counter
vllm:num_preemptions_total{{engine="0",model_name="m"}} {n}.0
# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{{engine="0",model_name="m"}} {queries}.0
# TYPE vllm:prefix_cache_hits counter
vllm:prefix_cache_hits_total{{engine="0",model_name="m"}} {hits}.0
# TYPE vllm:prompt_tokens counter
vllm:prompt_tokens_total{{engine="0",model_name="m"}} {prompt}.0
# TYPE vllm:generation_tokens counter
vllm:generation_tokens_total{{engine="0",model_name="m"}} {generated}.0
"""
OLDER = """# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{{model_name="m"}} {kv}
# TYPE vllm:gpu_prefix_cache_queries counter
vllm:gpu_prefix_cache_queries_total{{model_name="m"}} {queries}.0
# TYPE vllm:gpu_prefix_cache_hits counter
vllm:gpu_prefix_cache_hits_total{{model_name="m"}} {hits}.0
"""
UNRELATED = "# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total {n}.0\n"


def metrics_app(template: str) -> Starlette:
    """A /metrics endpoint whose values grow by a fixed step on every scrape."""
    calls = {"n": 0}

    async def metrics(_: Request) -> PlainTextResponse:
        calls["n"] += 1
        n = calls["n"]
        text = template.format(
            n=n, kv=n / 100, running=n, queries=10 * n, hits=5 * n, prompt=100 * n, generated=7 * n
        )
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def broken(_: Request) -> PlainTextResponse:
        return PlainTextResponse("boom", status_code=500)

    return Starlette(routes=[Route("/metrics", metrics), Route("/broken", broken)])


def has_nvidia_gpu() -> bool:
    """Whether nvidia-smi exists and lists at least one device."""
    if shutil.which("nvidia-smi") is None:
        return False
    listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return listing.returncode == 0 and "GPU " in listing.stdout


def scrape_run(url: str, *, during_s: float = 0.15) -> dict[str, Any]:
    """Scrape `url` around a pretend run of `during_s` seconds."""

    async def main() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as client:
            scraper = ServerScraper(client, url, interval_s=0.02)
            await scraper.start()
            await asyncio.sleep(during_s)
            return await scraper.stop()

    return asyncio.run(main())


def test_parse_metrics_sums_label_sets_by_sample_name() -> None:
    text = CURRENT.format(n=3, kv=0.5, running=2, queries=1, hits=1, prompt=1, generated=1)
    values = parse_metrics(text)
    assert values["vllm:num_requests_running"] == [2.0, 2.0]
    assert values["vllm:num_preemptions_total"] == [3.0]


def test_scraper_reports_gauge_series_and_counter_deltas_when_vllm_metrics_change() -> None:
    with run_live(metrics_app(CURRENT)) as base:
        report = scrape_run(f"{base}/metrics")
    scrapes = report["scrapes"]
    assert report["available"] is True
    assert scrapes >= 2 and report["failed_scrapes"] == 0
    kv = report["gauges"]["kv_cache_usage"]
    assert kv["metric"] == "vllm:kv_cache_usage_perc"
    values = [value for _, value in kv["series"]]
    assert values == [pytest.approx(n / 100) for n in range(1, scrapes + 1)]
    times = [t for t, _ in kv["series"]]
    assert times == sorted(times)
    running = report["gauges"]["requests_running"]["series"]
    assert running[-1][1] == 2 * scrapes  # summed over both engines
    counters = report["counters"]
    assert counters["prompt_tokens"]["delta"] == 100 * (scrapes - 1)
    assert counters["generation_tokens"]["delta"] == 7 * (scrapes - 1)
    assert counters["preemptions"]["before"] == 1 and counters["preemptions"]["after"] == scrapes
    assert report["prefix_cache_hit_rate"] == pytest.approx(0.5)


def test_scraper_reads_older_vllm_names_when_current_ones_are_missing() -> None:
    with run_live(metrics_app(OLDER)) as base:
        report = scrape_run(f"{base}/metrics", during_s=0.05)
    assert report["gauges"]["kv_cache_usage"]["metric"] == "vllm:gpu_cache_usage_perc"
    assert report["counters"]["prefix_cache_hits"]["metric"] == "vllm:gpu_prefix_cache_hits_total"
    assert report["prefix_cache_hit_rate"] == pytest.approx(0.5)
    assert report["counters"]["prompt_tokens"]["status"] == "absent"


def test_scraper_reports_absent_metrics_when_the_server_exposes_other_names() -> None:
    with run_live(metrics_app(UNRELATED)) as base:
        report = scrape_run(f"{base}/metrics", during_s=0.05)
    assert report["available"] is True
    assert report["gauges"]["kv_cache_usage"]["status"] == "absent"
    assert all(counter["status"] == "absent" for counter in report["counters"].values())
    assert report["prefix_cache_hit_rate"] is None


def test_scraper_records_unavailable_with_reason_when_port_is_unreachable() -> None:
    url = f"http://127.0.0.1:{get_free_port()}/metrics"
    report = scrape_run(url, during_s=0.05)
    assert report["available"] is False
    assert url in report["reason"] and "ConnectError" in report["reason"]
    assert report["scrapes"] == 0 and report["failed_scrapes"] >= 2


def test_scraper_records_unavailable_with_status_when_metrics_answer_an_error() -> None:
    with run_live(metrics_app(CURRENT)) as base:
        report = scrape_run(f"{base}/broken", during_s=0.0)
    assert report["available"] is False
    assert "HTTP 500" in report["reason"]


def test_gpu_sampler_availability_matches_the_machine_and_names_why_not() -> None:
    with GpuSampler(interval_s=0.01) as sampler:
        pass
    report = sampler.stop()
    assert report["available"] is has_nvidia_gpu()
    if not report["available"]:  # no GPU here: a value with its reason, not an error
        assert "NVML" in report["reason"] or "pynvml" in report["reason"]
        assert report["gpus"] == [] and report["energy_j"] is None


def test_energy_per_output_token_divides_and_refuses_missing_inputs() -> None:
    assert energy_per_output_token(500.0, 1000) == pytest.approx(0.5)
    assert energy_per_output_token(None, 1000) is None
    assert energy_per_output_token(500.0, 0) is None


@pytest.mark.gpu
@pytest.mark.skipif(
    not has_nvidia_gpu(), reason="needs an NVIDIA GPU (nvidia-smi absent or no device)"
)
def test_gpu_sampler_samples_every_gpu_when_one_is_present() -> None:
    with GpuSampler(interval_s=0.05) as sampler:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            sum(i * i for i in range(10_000))
    report = sampler.report()
    assert report["available"] is True, report["reason"]
    gpu = report["gpus"][0]
    assert gpu["name"] and gpu["memory_total_mib"] > 0
    series = gpu["series"]
    assert len(series["t"]) >= 1
    assert len(series["gpu_util_pct"]) == len(series["t"])
    assert all(0 <= u <= 100 for u in series["gpu_util_pct"] if u is not None)
    if gpu["energy_source"]:
        assert gpu["energy_j"] >= 0
