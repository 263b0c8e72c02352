"""Labelled files and evaluation: strict reading, file:line errors, JSON metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.errors import HelpdeskError, IntentDataError
from helpdesk.intents import IntentModel, evaluate_intents, read_labelled, train_intent_model
from helpdesk.intents.evaluate import main as evaluate_main
from models.embedder import Embedder


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_labelled_names_file_and_line_for_invalid_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", ['{"text": "hi", "label": "other"}', "{not json"])
    with pytest.raises(IntentDataError, match=r"bad\.jsonl:2: .*not JSON") as caught:
        read_labelled(path)
    assert isinstance(caught.value, HelpdeskError)
    assert "text" in caught.value.remedy


def test_read_labelled_names_file_and_line_for_missing_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.jsonl", ['{"text": "a", "label": "x"}', "", '{"label": "y"}'])
    with pytest.raises(IntentDataError, match=r"rows\.jsonl:3: missing field 'text'"):
        read_labelled(path)


def test_read_labelled_names_file_and_line_for_non_string_label(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.jsonl", ['{"text": "a", "label": 7}'])
    with pytest.raises(IntentDataError, match=r"rows\.jsonl:1: field 'label' is int"):
        read_labelled(path)


def test_read_labelled_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IntentDataError, match=r"absent\.jsonl"):
        read_labelled(tmp_path / "absent.jsonl")


def test_evaluate_reports_oos_metrics_when_oos_rows_present(
    support_model: IntentModel, support_val_rows: list[dict[str, str]]
) -> None:
    metrics = evaluate_intents(support_model, support_val_rows)
    json.dumps(metrics)
    assert metrics["rows"] == len(support_val_rows)
    assert metrics["in_scope_accuracy"] >= 0.7
    assert metrics["oos_recall"] is not None and metrics["oos_precision"] is not None
    assert metrics["per_label"]["legal_threat"]["gold"] == 6


def test_evaluate_omits_oos_metrics_without_oos_rows(support_model: IntentModel) -> None:
    metrics = evaluate_intents(support_model, [{"text": "I will sue you", "label": "legal_threat"}])
    assert "oos_recall" not in metrics
    assert metrics["accuracy"] == 1.0


def test_evaluate_entry_point_prints_metrics_of_the_shipped_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRLOCK__DATA_DIR", str(tmp_path / "data"))
    data = _write(tmp_path / "eval.jsonl", ['{"text": "I will sue you", "label": "legal_threat"}'])
    evaluate_main(["--data", str(data)])
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0


def test_training_on_clinc_slice_detects_out_of_scope(
    shared_data: Path, embedder: Embedder
) -> None:
    train = read_labelled(shared_data / "intents" / "clinc150_train.jsonl")
    val = read_labelled(shared_data / "intents" / "clinc150_val.jsonl")
    keep = {"translate", "transfer", "weather", "oos"}
    model = train_intent_model(
        [r for r in train if r["label"] in keep][::3],
        [r for r in val if r["label"] in keep],
        embedder,
    )
    metrics = model.info["calibration"]["metrics"]
    assert metrics["in_scope_accuracy"] >= 0.9
    assert metrics["oos_recall"] >= 0.5
