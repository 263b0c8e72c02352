"""The summary of a batch or replay: what would have been automated, and why not."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from helpdesk.replay import ReplayRow

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
PERCENTILES = (50, 95, 99)
ROW_KINDS = ("decided", "already_decided", "dead", "refused")


def reason_kind(reason: str) -> str:
    """A reason with its numbers generalised, so equal rules count together."""
    return _NUMBER.sub("N", reason)


class ReplaySummary:
    """Counts, reasons, intents and latency percentiles over the rows of a run."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.intents: Counter[str] = Counter()
        self.teams: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = {}

    def add(self, row: ReplayRow) -> None:
        """Count one output row (latency only of tickets decided in this run)."""
        self.kinds[row.kind] += 1
        if row.kind not in ("decided", "already_decided"):
            return
        record = row.data
        decision = record["decision"]
        self.actions[decision["action"]] += 1
        if decision["action"] != "auto_reply":
            self.reasons.update(reason_kind(r) for r in decision["reasons"])
        self.intents[(record.get("intent") or {}).get("label", "(not analysed)")] += 1
        self.teams[record["route"]["team"]] += 1
        if row.kind == "decided":
            for stage, ms in record.get("latency_ms", {}).items():
                self.latency.setdefault(stage, []).append(float(ms))

    def to_dict(self, seconds: float) -> dict[str, Any]:
        """The summary as JSON values; `seconds` is the run's wall time."""
        decided = sum(self.actions.values())
        return {
            "rows": sum(self.kinds.values()),
            **{kind: self.kinds.get(kind, 0) for kind in ROW_KINDS},
            "auto_reply_rate": round(self.actions["auto_reply"] / decided, 4) if decided else 0.0,
            "actions": dict(self.actions.most_common()),
            "escalation_reasons": dict(self.reasons.most_common()),
            "intents": dict(self.intents.most_common()),
            "teams": dict(self.teams.most_common()),
            "latency_ms": {
                stage: {f"p{p}": round(float(np.percentile(values, p)), 1) for p in PERCENTILES}
                for stage, values in self.latency.items()
            },
            "seconds": round(seconds, 2),
            "tickets_per_s": round(self.kinds["decided"] / seconds, 2) if seconds > 0 else 0.0,
        }
