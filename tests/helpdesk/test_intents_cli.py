"""`airlock intents train|predict|eval`: JSON Lines in and out, the shipped model, metrics."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpdesk.conftest import EXAMPLES


def test_predict_labels_tickets_with_the_shipped_model_and_reports_bad_rows(
    tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": "refund", "text": "I returned the boots two weeks ago, where is my money back?"},
        {"id": "human", "text": "Stop the bot. I want to talk to a real person right now."},
        {"id": "empty", "text": ""},
        {"id": "no-text"},
    ]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli(
        "intents", "predict", "--input", str(source), "--output", str(out),
        env={"AIRLOCK__DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.code == 0, result.err
    by_id = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert by_id["refund"]["label"] == "returns_refunds"
    assert by_id["human"]["label"] == "talk_to_human"
    assert by_id["empty"] == {"id": "empty", "label": "oos", "confidence": 0.0}
    assert by_id["no-text"]["error"] == "missing field 'text'"
    assert "3 rows processed, 1 errors" in result.err


def test_train_then_eval_writes_a_model_folder_and_prints_its_metrics(
    tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    keep = {"order_status", "returns_refunds", "legal_threat", "oos"}
    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    for name, path in [("support_intents.jsonl", train), ("support_intents_val.jsonl", val)]:
        lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
        path.write_text(
            "\n".join(line for line in lines if json.loads(line)["label"] in keep) + "\n",
            encoding="utf-8",
        )
    env = {"AIRLOCK__DATA_DIR": str(tmp_path / "data")}
    model = tmp_path / "model"
    trained = run_cli(
        "intents", "train", "--data", str(train), "--val", str(val), "--out", str(model), env=env
    )
    assert trained.code == 0, trained.err
    assert (model / "manifest.json").is_file() and f"wrote {model}" in trained.out
    manifest = json.loads((model / "manifest.json").read_text())
    assert "airlock intents train" in manifest["provenance"]["command"]
    evaluated = run_cli(
        "intents", "eval", "--model", str(model), "--data", str(val), "--json", env=env
    )
    assert evaluated.code == 0, evaluated.err
    metrics = json.loads(evaluated.out)
    assert metrics["rows"] == sum(1 for _ in val.open()) and metrics["accuracy"] >= 0.7


def test_a_damaged_model_folder_is_refused_with_exit_code_2(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "model"
    model.mkdir()
    result = run_cli(
        "intents", "eval", "--model", str(model),
        "--data", str(EXAMPLES / "support_intents_val.jsonl"),
        env={"AIRLOCK__DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert result.code == 2
    assert "manifest" in result.err


def test_the_configured_intent_model_is_the_default(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    configured = tmp_path / "configured-model"
    configured.mkdir()
    result = run_cli(
        "intents", "eval", "--data", str(EXAMPLES / "support_intents_val.jsonl"),
        env={
            "AIRLOCK__DATA_DIR": str(tmp_path / "data"),
            "AIRLOCK__HELPDESK__INTENT_MODEL": str(configured),
        },
    )  # fmt: skip
    assert result.code == 2
    assert "configured-model" in result.err and "manifest" in result.err
