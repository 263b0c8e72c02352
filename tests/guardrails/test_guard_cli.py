"""`airlock guard pii` and `guard eval pii`: JSON Lines in and out, per-row errors, metrics."""

from __future__ import annotations

import json
from pathlib import Path


def test_guard_pii_writes_one_line_per_row_and_reports_bad_rows(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "in.jsonl"
    rows = [
        json.dumps({"id": "t1", "text": "Write to anna.berg@example.com about order 1234."}),
        json.dumps({"id": "t2", "text": ""}),
        json.dumps({"id": "t3"}),
    ]
    source.write_bytes(("\n".join(rows) + "\n").encode() + b'{"id": "t4", "text": "\xff\xfe"}\n')
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "guard", "pii", "--input", str(source), "--output", str(out),
        env={"AIRLOCK__DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_id = {line["id"]: line for line in lines if line["id"]}
    email = by_id["t1"]["entities"][0]
    assert email["type"] == "EMAIL_ADDRESS" and (email["start"], email["end"]) == (9, 30)
    assert (
        "anna.berg" not in by_id["t1"]["redacted"]
        and "<EMAIL_ADDRESS_1>" in by_id["t1"]["redacted"]
    )
    assert by_id["t2"] == {"id": "t2", "entities": [], "redacted": ""}
    assert by_id["t3"]["error"] == "missing field 'text'"
    assert "not valid UTF-8" in lines[-1]["error"] and len(lines) == 4
    assert "2 rows processed, 2 errors" in result.err


def test_guard_eval_pii_prints_the_metrics_of_the_dev_file(
    tmp_path: Path, run_cli, shared_data: Path
) -> None:  # type: ignore[no-untyped-def]
    data = shared_data / "pii" / "presidio_synth_dev.jsonl"
    result = run_cli(
        "guard", "eval", "pii", "--data", str(data), "--json",
        env={"AIRLOCK__DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.code == 0, result.err
    metrics = json.loads(result.out)
    assert metrics["f2"] >= 0.90, metrics
