"""Choosing the out-of-scope cut: the in-scope probability below which a text is `oos`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpdesk.intents.data import OOS_LABEL
from helpdesk.intents.model import in_scope_top

# Without out-of-scope examples the cut rejects this share of in-scope calibration texts.
DEFAULT_REJECTION = 0.01
_GRID = np.round(np.arange(0.0, 1.0, 0.005), 3)


def choose_threshold(
    probs: np.ndarray,
    labels: Sequence[str],
    gold: Sequence[str],
    *,
    rejection: float = DEFAULT_REJECTION,
) -> float:
    """The cut maximising accuracy on the calibration rows (OOS included), or, without OOS
    rows, the cut that rejects the `rejection` share of in-scope rows."""
    best, top = in_scope_top(probs, labels)
    truth = np.array(gold, dtype=object)
    oos = truth == OOS_LABEL
    if not (~oos).any():
        return 0.5
    if not oos.any():
        return round(float(np.quantile(top, rejection, method="lower")), 6)
    wins = _oos_wins(probs, labels, top)
    kept = (np.array([labels[i] for i in best], dtype=object) == truth) & ~wins
    # Every row counts once, so the cut follows the share of off-topic texts in the data.
    scores = [
        int(np.sum(kept[~oos] & (top[~oos] >= cut))) + int(np.sum(wins[oos] | (top[oos] < cut)))
        for cut in _GRID
    ]
    # The middle of the best plateau is the cut least sensitive to sampling.
    winners = np.flatnonzero(np.array(scores) == max(scores))
    return float(_GRID[winners[len(winners) // 2]])


def _oos_wins(probs: np.ndarray, labels: Sequence[str], top: np.ndarray) -> np.ndarray:
    """Rows where the `oos` class itself beats every in-scope label (oos whatever the cut)."""
    if OOS_LABEL not in labels:
        return np.zeros(len(top), dtype=bool)
    return np.asarray(probs[:, list(labels).index(OOS_LABEL)] > top)
