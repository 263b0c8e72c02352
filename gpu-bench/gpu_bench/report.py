"""The versioned result of a run: schema check, JSON and JSONL files, Markdown summary, compare."""

from __future__ import annotations

import json
import os
import platform
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpu_bench import RESULT_FORMAT
from gpu_bench.records import RequestRecord

LATENCIES = ("ttft", "tpot", "itl", "e2e")
SUMMARY_KEYS = ("mean", "std", "p50", "p90", "p95", "p99")
STATS_NUMBERS = (
    "requests",
    "ok",
    "errors",
    "requests_per_s",
    "output_tokens_per_s",
    "total_tokens_per_s",
)
RUN_TEXTS = ("endpoint", "model", "api", "load_mode", "started")
# (key, column title, scale): seconds become milliseconds, fractions percentages.
METRICS = (
    ("requests_per_s", "req/s", 1.0),
    ("output_tokens_per_s", "output tok/s", 1.0),
    ("ttft.p50", "TTFT p50 (ms)", 1000.0),
    ("ttft.p99", "TTFT p99 (ms)", 1000.0),
    ("tpot.p50", "TPOT p50 (ms)", 1000.0),
    ("tpot.p99", "TPOT p99 (ms)", 1000.0),
    ("e2e.p50", "E2E p50 (s)", 1.0),
    ("e2e.p99", "E2E p99 (s)", 1.0),
    ("error_rate", "errors (%)", 100.0),
    ("goodput", "goodput (req/s)", 1.0),
)
Number = (int, float)


class ResultError(ValueError):
    """A result or records file that cannot be read; the message names the file and the fault."""


def get_machine() -> dict[str, Any]:
    """The client machine: host name, CPU count, Python version."""
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count() or 0,
        "python": platform.python_version(),
    }


def new_run(*, endpoint: str, model: str, api: str, **fields: Any) -> dict[str, Any]:
    """The `run` section, stamped with the start time and machine; other fields pass through."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    run: dict[str, Any] = {"endpoint": endpoint, "model": model, "api": api, "workload": ""}
    run |= {"load_mode": "", "points": [], "command": "", "started": started}
    run["machine"] = get_machine()
    return run | fields


def _check(data: Any, key: str, types: Any, where: str, problems: list[str]) -> Any:
    """data[key] if it has one of `types`; otherwise note the problem and return None."""
    if not isinstance(data, dict) or key not in data:
        problems.append(f"{where}: missing {key!r}")
        return None
    # JSON true/false are Python bools, which are ints too: only a bool field takes one.
    if not isinstance(data[key], types) or isinstance(data[key], bool) is not (types is bool):
        problems.append(f"{where}.{key}: {type(data[key]).__name__} is the wrong type")
        return None
    return data[key]


def _check_stats(stats: dict[str, Any], where: str, problems: list[str]) -> None:
    """Counts, rates and latency summaries of one load point."""
    for key in STATS_NUMBERS:
        _check(stats, key, Number, where, problems)
    for name in LATENCIES:
        summary = stats.get(name, "absent")
        if summary is None:
            continue  # no request produced this latency
        if not isinstance(summary, dict):
            problems.append(f"{where}.{name}: expected an object or null")
            continue
        for key in SUMMARY_KEYS:
            _check(summary, key, Number, f"{where}.{name}", problems)


def _check_points(points: list[Any], problems: list[str]) -> None:
    """Each load point: phase, stats, optional goodput and SLO."""
    for i, point in enumerate(points):
        where = f"points[{i}]"
        _check(point, "phase", str, where, problems)
        stats = _check(point, "stats", dict, where, problems)
        if stats is not None:
            _check_stats(stats, f"{where}.stats", problems)
        if isinstance(point, dict):
            for key in ("goodput", "slo"):
                if not isinstance(point.get(key), dict | None):
                    problems.append(f"{where}.{key}: expected an object or null")


def validate_result(data: Any) -> list[str]:
    """What is wrong with a result, one line per problem; empty when it is valid."""
    if not isinstance(data, dict):
        return [f"result: expected an object, got {type(data).__name__}"]
    problems: list[str] = []
    if data.get("format") != RESULT_FORMAT:
        problems.append(f"format: {data.get('format')!r}, expected {RESULT_FORMAT!r}")
    run = _check(data, "run", dict, "result", problems)
    if run is not None:
        for key in RUN_TEXTS:
            _check(run, key, str, "run", problems)
        _check(run, "points", list, "run", problems)
        _check(run, "command", str | list, "run", problems)
        machine = _check(run, "machine", dict, "run", problems)
        for key, types in (("hostname", str), ("cpu_count", int), ("python", str)):
            if machine is not None:
                _check(machine, key, types, "run.machine", problems)
    points = _check(data, "points", list, "result", problems)
    _check_points(points or [], problems)
    for key in ("server_telemetry", "gpu_telemetry", "roofline"):
        if not isinstance(data.get(key), dict | None):
            problems.append(f"{key}: expected an object or null")
    client = _check(data, "client", dict, "result", problems)
    if client is not None:
        _check(client, "client_bound", bool, "client", problems)
    return problems


def read_result(path: Path) -> dict[str, Any]:
    """A result.json, checked; ResultError names the file and every problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultError(f"{path}: cannot read a result ({exc})") from exc
    problems = validate_result(data)
    if problems:
        raise ResultError(f"{path}: not a {RESULT_FORMAT} result: " + "; ".join(problems))
    return dict(data)


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Check and write a result.json; ResultError lists the problems instead of writing."""
    problems = validate_result(result)
    if problems:
        raise ResultError(f"{path}: refusing to write an invalid result: " + "; ".join(problems))
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def load_records(path: Path) -> list[RequestRecord]:
    """The records of a requests.jsonl; ResultError names the file and line of a bad one."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(RequestRecord.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ResultError(f"{path}:{number}: not a request record ({exc})") from exc
    return records


def get_metric(point: dict[str, Any], key: str) -> float | None:
    """One metric of a load point by METRICS key (e.g. "ttft.p99"), unscaled; None if unknown."""
    stats = point.get("stats") or {}
    if key == "goodput":
        goodput = point.get("goodput")
        return float(goodput["goodput_per_s"]) if goodput else None
    if key == "error_rate":
        if "error_rate" in stats:
            return float(stats["error_rate"])
        return stats["errors"] / stats["requests"] if stats.get("requests") else None
    name, _, field = key.partition(".")
    value = (stats.get(name) or {}).get(field) if field else stats.get(name)
    return None if value is None else float(value)


def _cell(value: float | None, scale: float = 1.0) -> str:
    """A table cell: a number with sensible digits, or a dash."""
    if value is None:
        return "-"
    scaled = value * scale
    return f"{scaled:,.0f}" if abs(scaled) >= 1000 else f"{scaled:.3g}"


def _points_table(points: list[dict[str, Any]]) -> list[str]:
    """One row per load point."""
    lines = ["| phase | " + " | ".join(title for _, title, _ in METRICS) + " |"]
    lines.append("|---" * (len(METRICS) + 1) + "|")
    for point in points:
        cells = [_cell(get_metric(point, key), scale) for key, _, scale in METRICS]
        goodput = point.get("goodput")
        if goodput:
            cells[-1] += f" ({100 * goodput.get('attainment', 0):.1f}%)"
        lines.append(f"| {point['phase']} | " + " | ".join(cells) + " |")
    return lines


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves of nested objects as ("a.b", value); lists are left out."""
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            items += _flatten(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            items.append((f"{prefix}{key}", value))
    return items


def _server_section(telemetry: dict[str, Any]) -> list[str]:
    """Counter deltas and gauge peaks from the server's /metrics."""
    if not telemetry.get("available"):
        return [f"Server metrics unavailable: {telemetry.get('reason', 'unknown reason')}"]
    lines = ["| metric | value |", "|---|---|"]
    for role, counter in telemetry.get("counters", {}).items():
        absent = counter.get("status") == "absent"
        lines.append(f"| {role} (delta) | {'absent' if absent else _cell(counter.get('delta'))} |")
    for role, gauge in telemetry.get("gauges", {}).items():
        values = [v for _, v in gauge.get("series", [])]
        lines.append(f"| {role} (max) | {_cell(max(values)) if values else 'absent'} |")
    lines.append(f"| prefix cache hit rate | {_cell(telemetry.get('prefix_cache_hit_rate'))} |")
    return lines


def _gpu_section(telemetry: dict[str, Any], output_tokens: int) -> list[str]:
    """Per-GPU utilisation, memory, power and the run's energy."""
    if not telemetry.get("available"):
        return [f"GPU telemetry unavailable: {telemetry.get('reason', 'unknown reason')}"]
    lines = ["| GPU | util mean (%) | mem used max (MiB) | power mean (W) | energy (J) |"]
    lines.append("|---|---|---|---|---|")
    for gpu in telemetry.get("gpus", []):
        series = gpu["series"]
        util = [v for v in series["gpu_util_pct"] if v is not None]
        mem = [v for v in series["mem_used_mib"] if v is not None]
        power = [v for v in series["power_w"] if v is not None]
        mean_util = sum(util) / len(util) if util else None
        mean_power = sum(power) / len(power) if power else None
        row = [_cell(mean_util), _cell(max(mem) if mem else None), _cell(mean_power)]
        lines.append(f"| {gpu['index']} {gpu['name']} | " + " | ".join(row) + " |")
        lines[-1] += f" {_cell(gpu.get('energy_j'))} |"
    energy = telemetry.get("energy_j")
    if energy is not None and output_tokens > 0:
        lines.append(f"\nEnergy per output token: {energy / output_tokens:.3g} J")
    return lines


def write_markdown(result: dict[str, Any]) -> str:
    """A human summary of a result: run header, load-point table, telemetry, roofline."""
    run, points = result["run"], result["points"]
    lines = [f"# gpu-bench: {run['model']} at {run['endpoint']}", ""]
    lines.append(f"Started {run['started']}, API {run['api']}, load {run['load_mode']}, ")
    lines[-1] += f"workload {json.dumps(run.get('workload'))}, host {run['machine']['hostname']}."
    client = result.get("client") or {}
    if client.get("client_bound"):
        lines.append(f"\n**Client-bound**: client CPU at {client.get('cpu_percent')}%.")
    lines += ["", "## Load points", "", *_points_table(points)]
    per_hour = [
        (p["phase"], p["tickets_per_hour_at_slo"]) for p in points if "tickets_per_hour_at_slo" in p
    ]
    if per_hour:
        lines += ["", "Tickets per hour meeting the SLO (Airlock end to end):", ""]
        lines += [f"- {phase}: **{value:,.0f}** tickets/hour" for phase, value in per_hour]
    if result.get("server_telemetry"):
        lines += ["", "## Server metrics", "", *_server_section(result["server_telemetry"])]
    if result.get("gpu_telemetry"):
        tokens = sum(int(p["stats"].get("output_tokens") or 0) for p in points)
        lines += ["", "## GPU telemetry", "", *_gpu_section(result["gpu_telemetry"], tokens)]
    if result.get("roofline"):
        rows = [f"| {k} | {v} |" for k, v in _flatten(result["roofline"])]
        lines += ["", "## Roofline", "", "| quantity | value |", "|---|---|", *rows]
    return "\n".join(lines) + "\n"


def compare_points(
    base: dict[str, Any], other: dict[str, Any]
) -> list[tuple[str, str, float | None, float | None, float | None, float | None]]:
    """Per matching phase and metric: (phase, key, base, other, delta, delta %) unscaled."""
    others = {p["phase"]: p for p in other["points"]}
    rows = []
    for point in base["points"]:
        match = others.get(point["phase"])
        for key, _, _ in METRICS if match else ():
            a, b = get_metric(point, key), get_metric(match or {}, key)
            delta = None if a is None or b is None else b - a
            percent = None if delta is None or not a else 100 * delta / a
            rows.append((point["phase"], key, a, b, delta, percent))
    return rows


def compare(results: list[dict[str, Any]]) -> str:
    """Markdown deltas of every later run against the first, by matching phase."""
    if len(results) < 2:
        raise ResultError("compare needs at least two results")
    base, titles = results[0], {key: (title, scale) for key, title, scale in METRICS}
    lines = [f"# gpu-bench compare (baseline: {base['run']['started']})"]
    for i, other in enumerate(results[1:], start=1):
        lines += ["", f"## Run {i}: {other['run']['model']} at {other['run']['started']}", ""]
        lines += ["| phase | metric | baseline | this run | delta | delta % |", "|---" * 6 + "|"]
        for phase, key, a, b, delta, percent in compare_points(base, other):
            title, scale = titles[key]
            pct = "-" if percent is None else f"{percent:+.1f}%"
            cells = [_cell(a, scale), _cell(b, scale), _cell(delta, scale), pct]
            lines.append(f"| {phase} | {title} | " + " | ".join(cells) + " |")
        missing = {p["phase"] for p in base["points"]} ^ {p["phase"] for p in other["points"]}
        if missing:
            lines.append(f"\nPhases in only one run: {', '.join(sorted(missing))}")
    return "\n".join(lines) + "\n"
