"""`airlock tickets process` on examples/tickets.jsonl: the seed cases decide as documented."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airlock.cli.main import main
from airlock.settings import AirlockSettings
from tests.conftest import CliResult, env_for
from tests.helpdesk.conftest import REPO, TICKETS

EXPECTED = REPO / "examples" / "tickets_expected.json"


def _read(path: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {row["ticket_id"]: row for row in rows}


@pytest.fixture(scope="module")
def first_run(
    kb_settings: AirlockSettings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """One run of the command over the examples (module-scoped: it loads every model)."""
    out = tmp_path_factory.mktemp("process") / "decisions.jsonl"
    mp = pytest.MonkeyPatch()
    for key, value in env_for(kb_settings).items():
        mp.setenv(key, value)
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            main(["tickets", "process", "--input", str(TICKETS), "--output", str(out), "--json"])
    finally:
        mp.undo()
    return out, json.loads(stdout.getvalue())


def test_seed_cases_get_the_documented_decisions(first_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = first_run
    records = _read(out)
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    wrong = {
        ticket: (records[ticket]["decision"]["action"], records[ticket]["route"]["team"])
        for ticket, want in expected.items()
        if records[ticket]["decision"]["action"] != want["action"]
        or ("team" in want and records[ticket]["route"]["team"] != want["team"])
    }
    assert not wrong


def test_seed_cases_carry_the_reasons_agents_need(first_run: tuple[Path, dict[str, Any]]) -> None:
    records = _read(first_run[0])
    assert records["T-1001"]["citations"] and records["T-1001"]["draft"]
    assert records["T-1005"]["decision"]["severity"] == "critical"
    assert any("asked 4 times" in r for r in records["T-1020"]["decision"]["reasons"])
    assert any("injection" in r for r in records["T-1008"]["decision"]["reasons"])
    assert records["T-1012"]["decision"]["transfer"] is True
    assert "Identifiers mentioned" in records["T-1004"]["summary"]
    # The ticket full of PII reaches the record (and the model) redacted.
    assert "<EMAIL_ADDRESS_1>" in records["T-1007"]["ticket_text"]
    assert "@" not in records["T-1007"]["ticket_text"]


def test_summary_counts_every_ticket_with_latency_percentiles(
    first_run: tuple[Path, dict[str, Any]],
) -> None:
    out, summary = first_run
    lines = out.read_text(encoding="utf-8").splitlines()
    assert summary["rows"] == summary["decided"] == len(lines) >= 30
    assert 0 < summary["auto_reply_rate"] < 1
    assert sum(summary["actions"].values()) == len(lines)
    assert {"input_guards", "retrieve", "total"} <= set(summary["latency_ms"])
    assert summary["latency_ms"]["total"]["p50"] <= summary["latency_ms"]["total"]["p95"]


def test_second_run_returns_the_stored_decisions(
    first_run: tuple[Path, dict[str, Any]],
    kb_settings: AirlockSettings,
    run_cli: Callable[..., CliResult],
    tmp_path: Path,
) -> None:
    again = tmp_path / "again.jsonl"
    result = run_cli(
        "tickets",
        "process",
        "--input",
        str(TICKETS),
        "--output",
        str(again),
        "--json",
        env=env_for(kb_settings),
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["decided"] == 0
    assert summary["already_decided"] == first_run[1]["decided"]
    assert _read(again) == _read(first_run[0])


def test_bad_lines_become_error_rows_and_the_rest_is_decided(
    kb_settings: AirlockSettings, run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    good = {
        "id": "B-1",
        "tenant": "demo",
        "subject": "Reset link",
        "body": "How long is a password reset link valid?",
        "customer": {"id": "b-1"},
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "B-2", "tenant": "demo", "body": "hello there"}),
        json.dumps({"id": "B-3", "tenant": "bad tenant!", "body": "x", "customer": {"id": "c"}}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe\n")
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "tickets",
        "process",
        "--input",
        str(source),
        "--output",
        str(out),
        "--json",
        env=env_for(kb_settings),
    )
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    assert rows[0]["ticket_id"] == "B-1" and rows[0]["decision"]["action"] == "auto_reply"
    assert rows[1] == {"id": None, "line": 2, "error": rows[1]["error"]}
    assert "not JSON" in rows[1]["error"]
    assert rows[2]["id"] == "B-2" and "customer: Field required" in rows[2]["error"]
    assert rows[3]["id"] == "B-3" and "tenant" in rows[3]["error"]
    assert "UTF-8" in rows[4]["error"]
    assert json.loads(result.out)["refused"] == 4
