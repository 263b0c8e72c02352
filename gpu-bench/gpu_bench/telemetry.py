"""Telemetry around a run: the server's Prometheus metrics and NVML samples of local GPUs."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

logger = logging.getLogger(__name__)

# Role -> (sample names in order of preference, how label sets combine); older vLLM names last.
GAUGES: dict[str, tuple[tuple[str, ...], str]] = {
    "kv_cache_usage": (("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"), "mean"),
    "requests_running": (("vllm:num_requests_running",), "sum"),
    "requests_waiting": (("vllm:num_requests_waiting",), "sum"),
}
COUNTERS: dict[str, tuple[str, ...]] = {
    "preemptions": ("vllm:num_preemptions_total",),
    "prefix_cache_hits": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "prefix_cache_queries": (
        "vllm:prefix_cache_queries_total",
        "vllm:gpu_prefix_cache_queries_total",
    ),
    "prompt_tokens": ("vllm:prompt_tokens_total",),
    "generation_tokens": ("vllm:generation_tokens_total",),
}


def parse_metrics(text: str) -> dict[str, list[float]]:
    """Sample name -> values over its label sets, from Prometheus text format."""
    values: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, []).append(float(sample.value))
    return values


def _pick(values: dict[str, list[float]], names: tuple[str, ...], how: str) -> tuple[str, float]:
    """The first of `names` present, combined over label sets; ("", nan) when none is."""
    for name in names:
        found = values.get(name)
        if found:
            total = sum(found)
            return name, total / len(found) if how == "mean" else total
    return "", float("nan")


class ServerScraper:
    """Scrapes an endpoint's /metrics before, during (in the background) and after a run."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        metrics_url: str,
        interval_s: float = 1.0,
        *,
        clock_origin: float | None = None,
    ) -> None:
        """Scrape `metrics_url` with `client` every `interval_s`; times relative to the origin."""
        self.client, self.metrics_url, self.interval_s = client, metrics_url, interval_s
        self.origin = time.monotonic() if clock_origin is None else clock_origin
        self.scrapes: list[tuple[float, dict[str, list[float]]]] = []
        self.failures: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def scrape(self) -> bool:
        """One scrape; a failure is recorded with its reason, never raised."""
        t = time.monotonic() - self.origin
        try:
            response = await self.client.get(self.metrics_url)
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            values = parse_metrics(response.text)
        except (httpx.HTTPError, ValueError) as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}".rstrip(": "))
            return False
        self.scrapes.append((t, values))
        return True

    async def _loop(self) -> None:
        """Scrape every interval until told to stop (a scrape in flight is finished)."""
        stopping = self._stopping
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval_s)
                return
            await self.scrape()

    async def start(self) -> None:
        """Scrape once ("before") and start scraping in the background."""
        await self.scrape()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> dict[str, Any]:
        """Stop the background scrapes, scrape once ("after") and return the report.

        A scrape in flight is awaited, not cancelled: cancelled mid-request, the server would
        have counted a scrape the series never shows.
        """
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
        await self.scrape()
        return self.report()

    def report(self) -> dict[str, Any]:
        """JSON-ready report: gauge time series, counter deltas, or why it is unavailable."""
        base: dict[str, Any] = {
            "url": self.metrics_url,
            "scrapes": len(self.scrapes),
            "failed_scrapes": len(self.failures),
            "last_error": self.failures[-1] if self.failures else "",
        }
        if not self.scrapes:
            reason = self.failures[0] if self.failures else "never scraped"
            return {**base, "available": False, "reason": f"{self.metrics_url}: {reason}"}
        counters = {role: self._counter(names) for role, names in COUNTERS.items()}
        return {
            **base,
            "available": True,
            "reason": "",
            "gauges": {role: self._gauge(*spec) for role, spec in GAUGES.items()},
            "counters": counters,
            "prefix_cache_hit_rate": _hit_rate(counters),
        }

    def _gauge(self, names: tuple[str, ...], how: str) -> dict[str, Any]:
        """A gauge's (t, value) series over the scrapes where it was present."""
        series, metric = [], ""
        for t, values in self.scrapes:
            name, value = _pick(values, names, how)
            if name:
                metric = name
                series.append([round(t, 3), value])
        if not series:
            return {"status": "absent", "names": list(names)}
        return {"status": "present", "metric": metric, "series": series}

    def _counter(self, names: tuple[str, ...]) -> dict[str, Any]:
        """A counter's first and last values and their difference (None after a reset)."""
        seen = [_pick(values, names, "sum") for _, values in self.scrapes]
        present = [(name, value) for name, value in seen if name]
        if not present:
            return {"status": "absent", "names": list(names)}
        (metric, before), (_, after) = present[0], present[-1]
        delta = after - before if after >= before else None
        found = {"status": "present", "metric": metric, "before": before, "after": after}
        return {**found, "delta": delta}


def _hit_rate(counters: dict[str, dict[str, Any]]) -> float | None:
    """Prefix-cache hits / queries over the run, when both counters moved."""
    hits, queries = counters["prefix_cache_hits"], counters["prefix_cache_queries"]
    if hits.get("delta") is None or not queries.get("delta"):
        return None
    return float(hits["delta"]) / float(queries["delta"])


def energy_per_output_token(joules: float | None, output_tokens: int) -> float | None:
    """Joules per output token; None without an energy figure or tokens."""
    if joules is None or output_tokens <= 0:
        return None
    return joules / output_tokens


FIELDS = (
    "gpu_util_pct",
    "mem_util_pct",
    "mem_used_mib",
    "power_w",
    "sm_clock_mhz",
    "mem_clock_mhz",
    "temp_c",
)


class GpuSampler:
    """Samples every local NVIDIA GPU through NVML in a thread; unavailable is a value."""

    def __init__(self, interval_s: float = 0.5, *, clock_origin: float | None = None) -> None:
        """Sample every `interval_s`; times relative to `clock_origin` (monotonic)."""
        self.interval_s = interval_s
        self.origin = time.monotonic() if clock_origin is None else clock_origin
        self.available, self.reason = False, "not started"
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._gpus: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Initialise NVML and start sampling; without a GPU or driver, record why."""
        try:
            import pynvml  # type: ignore[import-untyped]

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
        except ImportError as exc:
            self.reason = f"nvidia-ml-py (pynvml) is not installed: {exc}"
            return
        except Exception as exc:  # NVMLError and its many leaves; the library is the edge
            self.reason = f"NVML unavailable ({type(exc).__name__}: {exc})"
            return
        if count == 0:
            self.reason = "NVML found no GPU"
            return
        self._nvml, self.available, self.reason = pynvml, True, ""
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self._gpus = [self._describe(i, handle) for i, handle in enumerate(self._handles)]
        self._thread = threading.Thread(target=self._run, name="gpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """Stop sampling, shut NVML down and return the report."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10 + self.interval_s)
            self._thread = None
            for gpu, handle in zip(self._gpus, self._handles, strict=True):
                self._finish_energy(gpu, handle)
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
        return self.report()

    def __enter__(self) -> GpuSampler:
        """Start on entering a `with` block."""
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop on leaving it."""
        self.stop()

    def report(self) -> dict[str, Any]:
        """JSON-ready report: per-GPU series (columns) and energy, or why it is unavailable."""
        if not self.available:
            return {"available": False, "reason": self.reason, "gpus": [], "energy_j": None}
        energies = [gpu["energy_j"] for gpu in self._gpus]
        total = None if any(e is None for e in energies) else float(sum(energies))
        return {
            "available": True,
            "reason": "",
            "interval_s": self.interval_s,
            "gpus": self._gpus,
            "energy_j": total,
        }

    def _read(self, call: Callable[..., Any], *args: Any) -> Any:
        """One NVML query; None where the device does not support it."""
        try:
            return call(*args)
        except self._nvml.NVMLError:
            return None

    def _describe(self, index: int, handle: Any) -> dict[str, Any]:
        """A GPU's identity, its energy counter at the start and empty series."""
        nvml = self._nvml
        memory = self._read(nvml.nvmlDeviceGetMemoryInfo, handle)
        return {
            "index": index,
            "name": str(self._read(nvml.nvmlDeviceGetName, handle) or ""),
            "memory_total_mib": memory.total / 2**20 if memory else None,
            "energy_start_mj": self._read(nvml.nvmlDeviceGetTotalEnergyConsumption, handle),
            "energy_j": None,
            "energy_source": "",
            "series": {"t": [], **{name: [] for name in FIELDS}},
        }

    def _sample(self, handle: Any) -> dict[str, float | None]:
        """One reading of every field for one GPU."""
        nvml = self._nvml
        util = self._read(nvml.nvmlDeviceGetUtilizationRates, handle)
        memory = self._read(nvml.nvmlDeviceGetMemoryInfo, handle)
        power = self._read(nvml.nvmlDeviceGetPowerUsage, handle)
        clock = nvml.nvmlDeviceGetClockInfo
        return {
            "gpu_util_pct": util.gpu if util else None,
            "mem_util_pct": util.memory if util else None,
            "mem_used_mib": memory.used / 2**20 if memory else None,
            "power_w": power / 1000 if power is not None else None,
            "sm_clock_mhz": self._read(clock, handle, nvml.NVML_CLOCK_SM),
            "mem_clock_mhz": self._read(clock, handle, nvml.NVML_CLOCK_MEM),
            "temp_c": self._read(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU),
        }

    def _run(self) -> None:
        """The sampling thread: read every GPU, then wait for the next tick or the stop."""
        while True:
            t = round(time.monotonic() - self.origin, 3)
            for gpu, handle in zip(self._gpus, self._handles, strict=True):
                reading = self._sample(handle)
                gpu["series"]["t"].append(t)
                for name in FIELDS:
                    gpu["series"][name].append(reading[name])
            if self._stop.wait(self.interval_s):
                return

    def _finish_energy(self, gpu: dict[str, Any], handle: Any) -> None:
        """Energy over the run: the NVML counter's delta, else the integral of power."""
        start = gpu.pop("energy_start_mj")
        end = self._read(self._nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        if start is not None and end is not None:
            gpu["energy_j"], gpu["energy_source"] = (end - start) / 1000, "nvml_total_energy"
            return
        series = gpu["series"]
        points = [(t, p) for t, p in zip(series["t"], series["power_w"], strict=True) if p]
        if len(points) >= 2:
            pairs = itertools.pairwise(points)
            gpu["energy_j"] = sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in pairs)
            gpu["energy_source"] = "power_integral"
