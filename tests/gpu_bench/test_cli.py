"""`gpu-bench run | compare | report` end to end against Airlock's CPU OpenAI server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from gpu_bench.cli import cli
from gpu_bench.records import read_records
from gpu_bench.report import read_result

from serving.extractive import ExtractiveEngine
from serving.server import create_server_app
from tests.serving.conftest import run_live


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """Airlock's OpenAI-compatible server over the extractive engine (its root URL)."""
    with run_live(create_server_app(ExtractiveEngine(), "extractive")) as url:
        yield url


def _run(endpoint: str, out: Path, *extra: str) -> object:
    args = ["run", "--endpoint", endpoint, "--model", "extractive", "--out", str(out)]
    return CliRunner().invoke(cli, [*args, *extra], catch_exceptions=False)


def test_concurrency_sweep_writes_json_records_markdown_and_plots(
    endpoint: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = _run(
        endpoint,
        out,
        "--concurrency",
        "1,4",
        "--num-requests",
        "20",
        "--output-len",
        "fixed:32",
        "--slo",
        "ttft=2s,tpot=1s",
        "--gpu",
        "H200",
        "--model-shape",
        "llama-3.1-8b",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    document = read_result(out / "result.json")
    assert [p["phase"] for p in document["points"]] == ["concurrency=1", "concurrency=4"]
    assert all(
        p["stats"]["ok"] == 20 and p["goodput"]["attainment"] == 1.0 for p in document["points"]
    )
    assert document["roofline"]["gpu"] == "H200"
    records = list(read_records(out / "requests.jsonl"))
    assert len(records) == 40 and all(r.ttft_s is not None and r.output_tokens for r in records)
    assert "concurrency=4" in (out / "summary.md").read_text()
    assert (out / "plots" / "throughput_latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_and_report_read_the_run_folders(endpoint: str, tmp_path: Path) -> None:
    for name in ("a", "b"):
        done = _run(endpoint, tmp_path / name, "--rate", "50", "--num-requests", "10")
        assert done.exit_code == 0, done.output  # type: ignore[attr-defined]
    compared = CliRunner().invoke(cli, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert compared.exit_code == 0 and "rate=50" in compared.output
    (tmp_path / "a" / "summary.md").unlink()
    regenerated = CliRunner().invoke(cli, ["report", str(tmp_path / "a")])
    assert regenerated.exit_code == 0 and (tmp_path / "a" / "summary.md").exists()


def test_wrong_model_fails_before_the_run_with_the_models_served(
    endpoint: str, tmp_path: Path
) -> None:
    args = ["run", "--endpoint", endpoint, "--model", "nope", "--concurrency", "1"]
    result = CliRunner().invoke(cli, [*args, "--num-requests", "1", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "does not serve model 'nope'" in str(result.exception) + result.output
    assert not (tmp_path / "result.json").exists()


def test_malformed_dataset_names_file_and_line(endpoint: str, tmp_path: Path) -> None:
    dataset = tmp_path / "prompts.jsonl"
    dataset.write_text(json.dumps({"id": "a", "prompt": "hi"}) + "\n{not json\n")
    args = ["run", "--endpoint", endpoint, "--model", "extractive", "--concurrency", "1"]
    extra = ["--num-requests", "1", "--workload", "jsonl", "--dataset", str(dataset)]
    result = CliRunner().invoke(cli, [*args, *extra, "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    message = str(result.exception) + result.output
    assert "prompts.jsonl:2: not JSON" in message


def test_search_finds_the_highest_rate_meeting_a_loose_slo(endpoint: str, tmp_path: Path) -> None:
    args = ["search", "--endpoint", endpoint, "--model", "extractive", "--slo", "e2e=5s"]
    args += ["--low", "2", "--high", "8", "--num-requests", "8", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "search.json").read_text())
    assert found["best_rate"] == 8  # every probe holds a 5 s end-to-end bound on this server
    assert [p["rate"] for p in found["points"]][:3] == [2, 4, 8]
