"""The run result: schema check, files, Markdown summary, plots, comparison and regeneration."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from gpu_bench import RESULT_FORMAT
from gpu_bench.plots import regenerate, write_plots, write_run_dir
from gpu_bench.records import RequestRecord, write_records
from gpu_bench.report import (
    ResultError,
    compare,
    compare_points,
    load_records,
    new_run,
    read_result,
    validate_result,
    write_markdown,
    write_result,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def summary(p50: float) -> dict[str, float]:
    """A latency summary in seconds around a median."""
    return dict(mean=p50, std=p50 / 10, p50=p50, p90=p50 * 1.5, p95=p50 * 1.8, p99=p50 * 2)


def stats(*, rate: float, tokens_per_s: float, ttft: float, tpot: float) -> dict[str, Any]:
    """Stats shaped like gpu_bench.stats.PhaseStats.to_dict()."""
    return {
        "requests": 20,
        "ok": 19,
        "errors": 1,
        "error_kinds": {"http_5xx": 1},
        "requests_per_s": rate,
        "output_tokens_per_s": tokens_per_s,
        "total_tokens_per_s": tokens_per_s * 3,
        "output_tokens": 2000,
        "ttft": summary(ttft),
        "tpot": summary(tpot),
        "itl": summary(tpot),
        "e2e": summary(ttft + 100 * tpot),
    }


def make_result() -> dict[str, Any]:
    """A two-point sweep with server and GPU telemetry and a roofline."""
    run = new_run(endpoint="http://127.0.0.1:8000/v1", model="llama-3.1-8b", api="chat")
    run |= {"workload": "synthetic:512:128", "load_mode": "concurrency", "points": [1, 16]}
    run["command"] = ["gpu-bench", "run", "--concurrency", "1,16"]
    goodput = {"requests": 20, "met": 19, "attainment": 0.95, "duration_s": 10.0}
    gpu_series = {"t": [0.0, 1.0, 2.0], "gpu_util_pct": [10, 90, 95], "mem_util_pct": [5, 40, 50]}
    gpu_series |= {"mem_used_mib": [1000.0, 70000.0, 71000.0], "power_w": [100.0, 600.0, 650.0]}
    return {
        "format": RESULT_FORMAT,
        "run": run,
        "points": [
            {
                "phase": "concurrency=1",
                "stats": stats(rate=2.0, tokens_per_s=250.0, ttft=0.1234, tpot=0.008),
                "goodput": goodput | {"goodput_per_s": 1.9},
                "slo": {"ttft_s": 0.5, "tpot_s": 0.05, "e2e_s": None},
            },
            {
                "phase": "concurrency=16",
                "stats": stats(rate=10.0, tokens_per_s=1200.0, ttft=0.4, tpot=0.02),
                "goodput": None,
                "slo": None,
            },
        ],
        "server_telemetry": {
            "available": True,
            "gauges": {"kv_cache_usage": {"status": "present", "series": [[0.0, 0.1], [1.0, 0.6]]}},
            "counters": {
                "preemptions": {"status": "present", "delta": 7.0},
                "prompt_tokens": {"status": "absent", "names": ["vllm:prompt_tokens_total"]},
            },
            "prefix_cache_hit_rate": 0.25,
        },
        "gpu_telemetry": {
            "available": True,
            "gpus": [{"index": 0, "name": "NVIDIA H100", "series": gpu_series, "energy_j": 800}],
            "energy_j": 800.0,
        },
        "roofline": {"gpu": "h100-sxm", "ceiling": {"decode_tokens_per_s": 4200.0}},
        "client": {"cpu_percent": 12.5, "client_bound": False},
    }


def make_records() -> list[RequestRecord]:
    """Successful and failed requests over both load points."""
    records = []
    for phase, base in (("concurrency=1", 0.1), ("concurrency=16", 0.4)):
        for i in range(12):
            ttft = base + i / 100
            records.append(
                RequestRecord(
                    request_id=f"{phase}-{i}",
                    phase=phase,
                    prompt_id=f"p{i}",
                    start_s=i / 2,
                    status="ok",
                    e2e_s=ttft + 1.0 + i / 50,
                    ttft_s=ttft,
                    itl_s=(0.01, 0.012),
                    output_tokens=100,
                )
            )
        records.append(
            RequestRecord(f"{phase}-x", phase, "px", 7.0, "error", error_kind="http_5xx")
        )
    return records


def test_result_round_trips_through_json_when_valid(tmp_path: Path) -> None:
    result = make_result()
    assert validate_result(result) == []
    write_result(tmp_path / "result.json", result)
    assert read_result(tmp_path / "result.json") == result
    assert result["run"]["machine"]["cpu_count"] > 0


def test_validate_result_names_each_problem_when_fields_are_wrong() -> None:
    result = copy.deepcopy(make_result())
    result["format"] = "gpu-bench-result/0"
    del result["run"]["model"]
    del result["points"][0]["stats"]["ttft"]["p99"]
    result["points"][1]["stats"]["requests"] = "twenty"
    result["points"][1]["goodput"] = 3
    result["client"]["client_bound"] = 1
    problems = validate_result(result)
    assert "format: 'gpu-bench-result/0', expected 'gpu-bench-result/1'" in problems
    assert "run: missing 'model'" in problems
    assert "points[0].stats.ttft: missing 'p99'" in problems
    assert "points[1].stats.requests: str is the wrong type" in problems
    assert "points[1].goodput: expected an object or null" in problems
    assert "client.client_bound: int is the wrong type" in problems
    assert len(problems) == 6


def test_validate_result_accepts_null_latencies_when_no_request_produced_them() -> None:
    result = make_result()
    result["points"][1]["stats"]["tpot"] = None
    assert validate_result(result) == []


def test_write_result_refuses_an_invalid_result(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="missing 'points'"):
        write_result(tmp_path / "result.json", {"format": RESULT_FORMAT, "run": {}})
    assert not (tmp_path / "result.json").exists()


def test_read_result_names_the_file_when_json_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ResultError, match=r"result\.json: cannot read a result"):
        read_result(path)


def test_load_records_names_file_and_line_when_a_line_is_bad(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    write_records(path, make_records()[:2])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"request_id": "r", "surprise": 1}\n')
    with pytest.raises(ResultError, match=r"requests\.jsonl:3: not a request record"):
        load_records(path)


def test_markdown_shows_each_load_point_numbers_and_telemetry() -> None:
    text = write_markdown(make_result())
    row_1 = next(line for line in text.splitlines() if line.startswith("| concurrency=1 |"))
    # req/s, tok/s, TTFT p50/p99 ms, TPOT p50/p99 ms, E2E p50/p99 s, errors %, goodput
    cells = "| 2 | 250 | 123 | 247 | 8 | 16 | 0.923 | 1.85 | 5 | 1.9 (95.0%) |"
    assert row_1 == f"| concurrency=1 {cells}"
    assert "| concurrency=16 | 10 | 1,200 | 400 | 800 | 20 | 40 | 2.4 | 4.8 | 5 | - |" in text
    assert "| preemptions (delta) | 7 |" in text
    assert "| prompt_tokens (delta) | absent |" in text
    assert "| kv_cache_usage (max) | 0.6 |" in text
    assert "| 0 NVIDIA H100 | 65 | 71,000 | 450 | 800 |" in text
    assert "Energy per output token: 0.2 J" in text  # 800 J / 4000 tokens
    assert "| ceiling.decode_tokens_per_s | 4200.0 |" in text


def test_markdown_explains_unavailable_telemetry_and_skips_missing_sections() -> None:
    result = make_result()
    result["server_telemetry"] = {"available": False, "reason": "http://h/metrics: ConnectError"}
    result["gpu_telemetry"] = {"available": False, "reason": "NVML unavailable (no driver)"}
    result["roofline"] = None
    result["client"] = {"cpu_percent": 97.0, "client_bound": True}
    text = write_markdown(result)
    assert "Server metrics unavailable: http://h/metrics: ConnectError" in text
    assert "GPU telemetry unavailable: NVML unavailable (no driver)" in text
    assert "## Roofline" not in text
    assert "**Client-bound**" in text


def test_write_plots_makes_valid_pngs_when_data_is_present(tmp_path: Path) -> None:
    paths = write_plots(make_result(), make_records(), tmp_path / "plots")
    names = sorted(path.name for path in paths)
    expected = ["gpu_utilisation.png", "kv_cache.png", "latency_cdf.png", "throughput_latency.png"]
    assert names == expected
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_write_plots_skips_charts_without_data(tmp_path: Path) -> None:
    result = make_result() | {"server_telemetry": None, "gpu_telemetry": {"available": False}}
    paths = write_plots(result, [], tmp_path / "plots")
    assert [path.name for path in paths] == ["throughput_latency.png"]


def test_compare_computes_absolute_and_percent_deltas_by_phase() -> None:
    base, other = make_result(), make_result()
    other["points"][0]["stats"]["requests_per_s"] = 2.5
    other["points"][0]["stats"]["ttft"]["p50"] = 0.1
    other["points"][1]["phase"] = "concurrency=32"
    rows = {(phase, key): row for phase, key, *row in compare_points(base, other)}
    assert rows[("concurrency=1", "requests_per_s")] == [2.0, 2.5, 0.5, pytest.approx(25.0)]
    a, b, delta, percent = rows[("concurrency=1", "ttft.p50")]
    assert (a, b) == (0.1234, 0.1)
    assert delta == pytest.approx(-0.0234) and percent == pytest.approx(-18.96, abs=0.01)
    assert rows[("concurrency=1", "goodput")][2:] == [0.0, 0.0]
    assert not any(phase == "concurrency=16" for phase, _ in rows)
    text = compare([base, other])
    assert "| concurrency=1 | req/s | 2 | 2.5 | 0.5 | +25.0% |" in text
    assert "| concurrency=1 | TTFT p50 (ms) | 123 | 100 | -23.4 | -19.0% |" in text
    assert "Phases in only one run: concurrency=16, concurrency=32" in text


def test_compare_refuses_fewer_than_two_results() -> None:
    with pytest.raises(ResultError, match="at least two"):
        compare([make_result()])


def test_regenerate_rewrites_summary_and_plots_from_a_run_folder(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    write_run_dir(folder, make_result(), make_records())
    assert json.loads((folder / "result.json").read_text())["format"] == RESULT_FORMAT
    assert len(load_records(folder / "requests.jsonl")) == 26
    (folder / "summary.md").unlink()
    for png in (folder / "plots").glob("*.png"):
        png.unlink()
    written = regenerate(folder)
    assert (folder / "summary.md").read_text().startswith("# gpu-bench: llama-3.1-8b")
    assert {p.name for p in written} >= {"summary.md", "latency_cdf.png", "throughput_latency.png"}
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in (folder / "plots").glob("*.png"))


def test_regenerate_names_the_file_when_the_result_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ResultError, match=r"result\.json: not a gpu-bench-result/1 result"):
        regenerate(tmp_path)


def test_result_accepts_stats_and_goodput_from_the_real_modules() -> None:
    from gpu_bench.slo import Slo, goodput
    from gpu_bench.stats import summarize

    records = make_records()
    result = make_result()
    slo = Slo(ttft_s=0.2)
    result["points"] = [
        {"phase": phase, "stats": s.to_dict(), "goodput": None, "slo": slo.to_dict()}
        for phase, s in summarize(records).items()
    ]
    result["points"][0]["goodput"] = goodput(records, slo).to_dict()
    assert validate_result(result) == []
    assert "| concurrency=1 |" in write_markdown(result)
