"""PNG charts of a run (Agg canvas, no display) and the run folder that holds them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gpu_bench.records import RequestRecord, write_records
from gpu_bench.report import load_records, read_result, write_markdown, write_result


def _figure(columns: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure on the Agg canvas with `columns` side-by-side axes."""
    figure = Figure(figsize=(6.4 * columns, 4.8), layout="tight")
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(1, columns, i + 1) for i in range(columns)]
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    """Write the figure as PNG, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


def _latency(point: dict[str, Any], name: str) -> float | None:
    """A point's p50 of one latency, or None."""
    summary = point["stats"].get(name)
    return None if not summary else float(summary["p50"])


def plot_throughput_latency(result: dict[str, Any], path: Path) -> Path | None:
    """Output tok/s against TPOT p50 (or E2E p50 without TPOT) across the sweep."""
    points = result["points"]
    use_tpot = bool(points) and all(_latency(p, "tpot") is not None for p in points)
    name, label, scale = (
        ("tpot", "TPOT p50 (ms)", 1000.0) if use_tpot else ("e2e", "E2E p50 (s)", 1.0)
    )
    pairs = [(p, _latency(p, name)) for p in points]
    kept = [(p, x * scale) for p, x in pairs if x is not None]
    if not kept:
        return None
    figure, (axes,) = _figure()
    xs = [x for _, x in kept]
    ys = [float(p["stats"]["output_tokens_per_s"]) for p, _ in kept]
    axes.plot(xs, ys, marker="o")
    for (point, _), x, y in zip(kept, xs, ys, strict=True):
        axes.annotate(point["phase"], (x, y), textcoords="offset points", xytext=(4, 4))
    axes.set(xlabel=label, ylabel="output tokens/s", title="Throughput vs latency")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def _cdf(axes: Axes, values: Sequence[float], label: str) -> None:
    """One empirical CDF line."""
    data = np.sort(np.asarray(values, dtype=np.float64))
    axes.step(data, np.arange(1, len(data) + 1) / len(data), where="post", label=label)


def plot_latency_cdfs(records: Sequence[RequestRecord], path: Path) -> Path | None:
    """TTFT and TPOT CDFs (ms), one line per load point, from successful requests."""
    phases: dict[str, list[RequestRecord]] = {}
    for record in records:
        if record.status == "ok":
            phases.setdefault(record.phase, []).append(record)
    if not phases:
        return None
    figure, axes = _figure(columns=2)
    for axis, name in zip(axes, ("ttft_s", "tpot_s"), strict=True):
        for phase, group in phases.items():
            values = [1000 * v for r in group if (v := getattr(r, name)) is not None]
            if values:
                _cdf(axis, values, phase)
        title = name.removesuffix("_s").upper()
        axis.set(xlabel=f"{title} (ms)", ylabel="fraction of requests", title=f"{title} CDF")
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend(fontsize="small")
    return _save(figure, path)


def plot_gpu_utilisation(telemetry: dict[str, Any] | None, path: Path) -> Path | None:
    """GPU and memory utilisation of each GPU over time, when NVML sampled any."""
    gpus = [g for g in (telemetry or {}).get("gpus", []) if g["series"]["t"]]
    if not gpus:
        return None
    figure, (axes,) = _figure()
    for gpu in gpus:
        series = gpu["series"]
        for field, style in (("gpu_util_pct", "-"), ("mem_util_pct", ":")):
            points = [
                (t, v) for t, v in zip(series["t"], series[field], strict=True) if v is not None
            ]
            if points:
                ts, vs = zip(*points, strict=True)
                axes.plot(ts, vs, style, label=f"GPU {gpu['index']} {field.split('_')[0]}")
    axes.set(xlabel="time (s)", ylabel="utilisation (%)", title="GPU utilisation", ylim=(0, 105))
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, path)


def plot_server_gauges(telemetry: dict[str, Any] | None, path: Path) -> Path | None:
    """KV-cache usage (%) and running/waiting requests over time, when the server exposed them."""
    gauges = (telemetry or {}).get("gauges") or {}
    kv = (gauges.get("kv_cache_usage") or {}).get("series")
    if not kv:
        return None
    figure, (axes,) = _figure()
    ts, vs = zip(*kv, strict=True)
    axes.plot(ts, [100 * v for v in vs], color="tab:blue", label="KV cache usage")
    axes.set(xlabel="time (s)", ylabel="KV cache usage (%)", title="Server KV cache and queue")
    queue = axes.twinx()
    for role in ("requests_running", "requests_waiting"):
        series = (gauges.get(role) or {}).get("series")
        if series:
            qt, qv = zip(*series, strict=True)
            queue.plot(qt, qv, "--", label=role.replace("_", " "))
    queue.set_ylabel("requests")
    handles = axes.get_legend_handles_labels()[0] + queue.get_legend_handles_labels()[0]
    axes.legend(handles=handles, fontsize="small")
    return _save(figure, path)


def write_plots(
    result: dict[str, Any], records: Sequence[RequestRecord], folder: Path
) -> list[Path]:
    """Every chart the run has data for, as folder/*.png; the paths written."""
    written = [
        plot_throughput_latency(result, folder / "throughput_latency.png"),
        plot_latency_cdfs(records, folder / "latency_cdf.png"),
        plot_gpu_utilisation(result.get("gpu_telemetry"), folder / "gpu_utilisation.png"),
        plot_server_gauges(result.get("server_telemetry"), folder / "kv_cache.png"),
    ]
    return [path for path in written if path is not None]


def write_run_dir(directory: Path, result: dict[str, Any], records: list[RequestRecord]) -> None:
    """Write result.json, requests.jsonl, summary.md and plots/*.png into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    write_result(directory / "result.json", result)
    (directory / "requests.jsonl").unlink(missing_ok=True)
    write_records(directory / "requests.jsonl", records)
    (directory / "summary.md").write_text(write_markdown(result), encoding="utf-8")
    write_plots(result, records, directory / "plots")


def regenerate(directory: Path) -> list[Path]:
    """Rewrite summary.md and the plots of a run folder from its result.json and requests.jsonl."""
    result = read_result(directory / "result.json")
    jsonl = directory / "requests.jsonl"
    records = load_records(jsonl) if jsonl.exists() else []
    summary = directory / "summary.md"
    summary.write_text(write_markdown(result), encoding="utf-8")
    return [summary, *write_plots(result, records, directory / "plots")]
