"""Measuring what the benchmarks report: percentiles, process memory and CPU, load, tables."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM (KiB), Threads and PPid from /proc/PID/status."""
    wanted = {"VmRSS", "VmHWM", "Threads", "PPid"}
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in wanted:
                values[key] = int(rest.split()[0])
    return values


def descendants(pid: int) -> list[dict[str, Any]]:
    """Live descendant processes of `pid` with their command and peak RSS (MiB)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            status = proc_status(entry.name)
            if "PPid" in status:
                parents[int(entry.name)] = status["PPid"]
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child in sorted(c for c, p in parents.items() if p == current):
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                peak = proc_status(child).get("VmHWM", 0)
                found.append({"pid": child, "cmd": cmd[:200], "peak_rss_mib": mib(peak)})
            frontier.append(child)
    return found


def mib(kib: float) -> float:
    """KiB to MiB, rounded."""
    return round(kib / 1024, 1)


def cpu_seconds() -> float:
    """User plus system CPU time of this process, all threads."""
    times = os.times()
    return times.user + times.system


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for j, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


def machine_info(packages: Sequence[str] = ()) -> dict[str, Any]:
    """CPU model, cores, RAM, kernel, Python, the installed versions of `packages`, and load."""
    cpu, ram_gib = "unknown", None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    versions = {}
    for name in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": ram_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        **versions,
        "load_average_at_start": load_average(),
    }
