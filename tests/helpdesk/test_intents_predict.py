"""Training and prediction: labels recovered, off-topic texts out of scope, bounded inputs."""

from __future__ import annotations

import numpy as np
import pytest

from helpdesk.errors import IntentDataError
from helpdesk.intents import MAX_TEXT_CHARS, OOS_LABEL, IntentModel, train_intent_model
from helpdesk.intents.data import clip_text
from models.embedder import Embedder


def test_predict_recovers_labels_on_shipped_examples(
    support_model: IntentModel, support_rows: list[dict[str, str]]
) -> None:
    predictions = support_model.predict([row["text"] for row in support_rows])
    correct = sum(p.label == row["label"] for p, row in zip(predictions, support_rows, strict=True))
    assert correct / len(support_rows) >= 0.9


def test_predict_returns_oos_for_off_topic_texts(support_model: IntentModel) -> None:
    off_topic = [
        "What is the boiling point of water on a mountain?",
        "Compose a limerick about a giraffe",
        "Who won the Tour de France in 1998?",
        "How many moons does Jupiter have?",
    ]
    labels = [p.label for p in support_model.predict(off_topic)]
    assert labels.count(OOS_LABEL) >= 3, labels


def test_predict_returns_confidences_in_unit_interval_for_a_batch(
    support_model: IntentModel, support_val_rows: list[dict[str, str]]
) -> None:
    predictions = support_model.predict([row["text"] for row in support_val_rows])
    assert len(predictions) == len(support_val_rows)
    assert all(0.0 <= p.confidence <= 1.0 for p in predictions)
    assert {p.label for p in predictions} <= {*support_model.labels, OOS_LABEL}


def test_predict_returns_oos_with_zero_confidence_for_empty_text(
    support_model: IntentModel,
) -> None:
    empty, blank, real = support_model.predict(["", "   \n", "I forgot my password"])
    assert (empty.label, empty.confidence) == (OOS_LABEL, 0.0)
    assert (blank.label, blank.confidence) == (OOS_LABEL, 0.0)
    assert real.label == "account_password"


def test_predict_reads_a_bounded_prefix_of_a_megabyte_text(support_model: IntentModel) -> None:
    huge = "I forgot my password and cannot log in. " + "x" * 1_000_000
    assert len(clip_text(huge)) == MAX_TEXT_CHARS
    (prediction,) = support_model.predict([huge])
    assert 0.0 <= prediction.confidence <= 1.0


def test_predict_returns_empty_list_for_no_texts(support_model: IntentModel) -> None:
    assert support_model.predict([]) == []


def test_train_refuses_fewer_than_two_labels(embedder: Embedder) -> None:
    rows = [{"text": f"where is my order {i}", "label": "order_status"} for i in range(5)]
    rows.append({"text": "tell me a joke", "label": OOS_LABEL})
    with pytest.raises(IntentDataError, match="at least 2"):
        train_intent_model(rows, None, embedder)


def test_train_refuses_rows_without_label_naming_the_row(embedder: Embedder) -> None:
    rows = [{"text": "where is my order", "label": "order_status"}, {"text": "hello"}]
    with pytest.raises(IntentDataError, match="training row 2: missing field 'label'"):
        train_intent_model(rows, None, embedder)


def test_train_calibrates_on_validation_rows_when_given(
    support_rows: list[dict[str, str]],
    support_val_rows: list[dict[str, str]],
    embedder: Embedder,
) -> None:
    model = train_intent_model(support_rows[::3], support_val_rows, embedder)
    calibration = model.info["calibration"]
    assert calibration["source"] == "validation"
    assert calibration["metrics"]["rows"] == len(support_val_rows)
    assert 0.0 <= model.oos_threshold < 1.0


def test_fast_lexical_weights_equal_scikit_learn_transform(
    support_model: IntentModel, support_val_rows: list[dict[str, str]]
) -> None:
    featurizer = support_model.featurizer
    texts = [row["text"] for row in support_val_rows] + ["", "?!", "ÜBER straße façade"]
    expected = featurizer.transform(texts).toarray()
    for text, row in zip(texts, expected, strict=True):
        columns, values = featurizer.weights(text)
        dense = np.zeros(featurizer.size)
        dense[columns] = values
        np.testing.assert_allclose(dense, row, rtol=1e-5, atol=1e-6)
