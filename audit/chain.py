"""The hash chain: canonical JSON and SHA-256 over every field of an event but its own hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

GENESIS_HASH = "0" * 64

# Names in schema.EVENT_COLUMNS order, without the trailing `hash`.
HASHED_FIELDS = (
    "seq",
    "ts",
    "actor_subject",
    "actor_client_id",
    "roles",
    "tenant",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "request_id",
    "details",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_fields(values: Sequence[Any]) -> str:
    """SHA-256 (hex) of the canonical JSON object of HASHED_FIELDS -> values (parsed JSON)."""
    payload = canonical_json(dict(zip(HASHED_FIELDS, values, strict=True)))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def hash_stored_row(row: Sequence[Any], seq: int | None = None) -> str:
    """Hash of a stored row (roles/details as JSON text), optionally as if it sat at `seq`."""
    values = list(row[: len(HASHED_FIELDS)])
    values[4] = json.loads(values[4])
    values[11] = json.loads(values[11])
    if seq is not None:
        values[0] = seq
    return hash_fields(values)
