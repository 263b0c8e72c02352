"""The calibrated claim-support model: a logistic regression over claim features, in JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.errors import GuardModelError
from guardrails.grounding.features import FEATURE_NAMES

MODEL_FILE = Path(__file__).with_name("model") / "claim_support.json"
# An answer of one claim this short is a factoid ("Ulster County"): it is held to near-verbatim
# support, while prose may paraphrase; the model learns one set of weights for each regime.
FACTOID_WORDS = 6
# Support of a claim whose number, amount, date, URL, email or id is not in the sources.
HARD_FAIL_SUPPORT = 0.05


def expand(values: np.ndarray) -> np.ndarray:
    """Model inputs from claim features: the features and their copies for factoid answers."""
    rows = np.atleast_2d(values)
    factoid = rows[:, [FEATURE_NAMES.index("factoid")]]
    return np.hstack([rows, rows * factoid])


@dataclass(frozen=True)
class ClaimSupportModel:
    """Weights that turn expanded claim features into a probability that the claim is supported."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    info: dict[str, Any]

    def support(self, values: np.ndarray) -> np.ndarray:
        """P(supported) for each row of claim features."""
        inputs = (expand(values) - self.mean) / self.scale
        logits = inputs @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(logits)), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """The model as a JSON-ready mapping."""
        return {
            "format": 1,
            "features": list(FEATURE_NAMES),
            "factoid_words": FACTOID_WORDS,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "info": self.info,
        }


def load_claim_model(path: Path = MODEL_FILE) -> ClaimSupportModel:
    """Read and validate the shipped (or a retrained) claim-support model."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GuardModelError(
            f"grounding model {path} cannot be read ({exc})",
            remedy="reinstall Airlock, or retrain with `python -m guardrails.grounding.train`",
        ) from None
    width = 2 * len(FEATURE_NAMES)
    try:
        if raw["features"] != list(FEATURE_NAMES) or raw["format"] != 1:
            raise ValueError("features differ from this code's")
        model = ClaimSupportModel(
            mean=np.asarray(raw["mean"], dtype=np.float64),
            scale=np.asarray(raw["scale"], dtype=np.float64),
            coef=np.asarray(raw["coef"], dtype=np.float64),
            intercept=float(raw["intercept"]),
            threshold=float(raw["threshold"]),
            info=dict(raw.get("info", {})),
        )
        if not all(len(v) == width for v in (model.mean, model.scale, model.coef)):
            raise ValueError(f"expected {width} weights")
    except (KeyError, TypeError, ValueError) as exc:
        raise GuardModelError(
            f"grounding model {path} is invalid ({exc})",
            remedy="retrain it with `python -m guardrails.grounding.train`",
        ) from None
    return model
