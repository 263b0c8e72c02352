"""One record per request: ids, timings and status, written as JSON Lines for correlation."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "error"]
# Kinds of failure counted apart: HTTP status classes, timeouts, transport, malformed SSE.
ErrorKind = Literal["http_4xx", "http_5xx", "timeout", "connection", "malformed_sse", "other"]
TokenSource = Literal["usage", "tokenizer", "chunks"]


@dataclass(frozen=True)
class RequestRecord:
    """What happened to one request; times in seconds on the run's monotonic clock."""

    request_id: str  # sent as X-Request-ID, so the server's logs can be joined on it
    phase: str  # the load point, e.g. "concurrency=16" or "rate=4"
    prompt_id: str  # the workload item
    start_s: float  # when the request was sent, relative to the run's start
    status: Status
    e2e_s: float | None = None  # send to last byte
    ttft_s: float | None = None  # send to first content token
    itl_s: tuple[float, ...] = ()  # gaps between successive content chunks
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    token_source: TokenSource | None = None
    http_status: int | None = None
    error_kind: ErrorKind | None = None
    error: str = ""  # a short message, never the prompt or the answer
    server_request_id: str = ""  # the id the server answered with, when it sent one
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. a ticket's decision action

    @property
    def tpot_s(self) -> float | None:
        """Time per output token as vLLM defines it: (E2E - TTFT) / (output tokens - 1)."""
        if self.e2e_s is None or self.ttft_s is None or not self.output_tokens:
            return None
        if self.output_tokens < 2:
            return None
        return (self.e2e_s - self.ttft_s) / (self.output_tokens - 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON values (tuples as lists)."""
        data = asdict(self)
        data["itl_s"] = list(self.itl_s)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        """Back from `to_dict` output."""
        return cls(**{**data, "itl_s": tuple(data.get("itl_s") or ())})


def write_records(path: Path, records: Iterable[RequestRecord]) -> int:
    """Append records to a JSON Lines file; how many were written."""
    count = 0
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_dict(), separators=(",", ":")) + "\n")
            count += 1
    return count


def read_records(path: Path) -> Iterator[RequestRecord]:
    """The records of a JSON Lines file written by `write_records`."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield RequestRecord.from_dict(json.loads(line))
