"""Structured JSON logging (structlog over stdlib), configured once per entry point."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from airlock.settings import LogSettings

# Keys whose values may carry ticket text, prompts, answers or personal data. Library code must
# not log them; this processor is the net under that rule, not the rule itself.
FORBIDDEN_KEYS = frozenset(
    {
        "text",
        "body",
        "prompt",
        "prompts",
        "answer",
        "completion",
        "content",
        "messages",
        "ticket_text",
        "subject_line",
        "email",
        "phone",
        "name",
        "address",
        "pii",
        "password",
        "token",
        "secret",
        "authorization",
    }
)
REDACTED = "[redacted]"


def _drop_sensitive(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in FORBIDDEN_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(settings: LogSettings, *, stream: Any = None) -> None:
    """Route stdlib and structlog records through one JSON (or console) renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_sensitive,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    # Alembic narrates every migration context at INFO; our own "schema upgraded" line suffices.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # pypdf's warnings about a broken file quote raw bytes of it; our loader reports the file.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    # Milvus Lite and faiss narrate server starts and library loads at INFO; pymilvus logs a
    # traceback for every failed call, which rag.store reports as one typed error instead.
    for chatty in ("milvus_lite", "faiss"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    # The only gRPC server in our processes is Milvus Lite's; it logs a traceback at ERROR for
    # each call it does not implement (pymilvus probes AllocTimestamp), which is harmless.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at emit time (it may be swapped after configuration)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


@contextmanager
def bound_context(**values: str) -> Iterator[str]:
    """Bind a unit of work's ids (request_id, ticket_id...) to every log line inside the block."""
    values.setdefault("request_id", uuid.uuid4().hex)
    with structlog.contextvars.bound_contextvars(**values):
        yield values["request_id"]
