"""Evaluating the grounding guard on labelled rows (the dev data formats)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from airlock.config import load_settings
from guardrails.errors import GuardInputError
from guardrails.grounding import GroundingGuard, build_grounding_guard, evaluate_grounding
from guardrails.grounding.evaluate import load_rows

PASSAGE = "Refunds are issued within 30 days of delivery. A return fee of €20 applies."


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> GroundingGuard:
    settings = load_settings(
        overrides={"data_dir": str(tmp_path_factory.mktemp("data"))}, environ={}
    )
    return build_grounding_guard(settings)


def test_metrics_count_hits_and_misses_over_string_or_list_contexts(
    guard: GroundingGuard,
) -> None:
    rows = [
        {
            "context": PASSAGE,
            "answer": "Refunds are issued within 30 days.",
            "label_hallucinated": 0,
        },
        {"context": [PASSAGE], "answer": "A return fee of €45 applies.", "label_hallucinated": 1},
        {"context": [PASSAGE, "x"], "question": "Fee?", "answer": "€20", "label_hallucinated": 0},
    ]
    report = evaluate_grounding(guard, rows)
    assert report["rows"] == 3 and report["hallucinated"] == 1 and report["faithful"] == 2
    assert report["tp"] == 1 and report["tn"] == 2
    assert report["balanced_accuracy"] == 1.0 and report["accuracy"] == 1.0
    assert report["threshold"] == guard.threshold


def test_rows_without_a_label_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"context": "c", "answer": "a"}) + "\n", encoding="utf-8")
    with pytest.raises(GuardInputError, match=r"rows.jsonl:1: lacks label_hallucinated"):
        load_rows(path)


@pytest.mark.parametrize("name", ["halueval_qa_dev.jsonl", "summedits_dev.jsonl"])
def test_dev_files_evaluate_with_domains(
    guard: GroundingGuard, name: str, shared_data: Path
) -> None:
    path = shared_data / "grounding" / name
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in itertools.islice(handle, 12)]
    report = evaluate_grounding(guard, rows)
    assert report["rows"] == 12 and 0.0 <= report["balanced_accuracy"] <= 1.0
    assert ("domains" in report) == ("summedits" in name)
