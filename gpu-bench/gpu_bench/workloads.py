"""Workloads: synthetic prompts, ShareGPT, our prompt JSON Lines, and Airlock tickets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 128
# The OpenAI rule of thumb for natural English text (0.75 words per token): ShareGPT answers
# have punctuation, numbers and code, so their word counts are scaled up to approximate tokens.
TOKENS_PER_WORD = 4 / 3
ROLES = frozenset({"system", "user", "assistant", "developer"})
HUMAN_TURNS = frozenset({"human", "user"})
GPT_TURNS = frozenset({"gpt", "assistant", "chatgpt", "bard"})
# Short, common lower-case English words: with the leading space that joins them, each is a
# single token in the Llama 2/3, Mistral and GPT BPE vocabularies, so N synthetic words are
# about N prompt tokens (the chat template adds its own few tokens on top).
_WORDS = (
    "the of and to in is was for on that with as by at from his her they this have had are "
    "not but one all were when there can been has more if will would who so no out time some "
    "what about into than them only other new its also after first two like over such year "
    "most where make these through back people may just well way even many down good work "
    "life day part world state long little house water hand place under high last great old "
    "never city small next light line name point right side sound thing turn word"
)
VOCABULARY = tuple(_WORDS.split())


class WorkloadError(ValueError):
    """A workload cannot be read: names the file, the line or JSON index, and the problem."""


@dataclass(frozen=True)
class Prompt:
    """One workload item: chat messages or a completion text, and how many tokens to ask for."""

    prompt_id: str
    messages: list[dict[str, str]] | None = None  # [{"role": ..., "content": ...}] for chat
    text: str | None = None  # a plain prompt for /v1/completions
    max_tokens: int = DEFAULT_MAX_TOKENS
    expected_input_tokens: int | None = None  # what the workload meant to send, approximately

    def __post_init__(self) -> None:
        """Exactly one of messages and text."""
        if (self.messages is None) == (self.text is None):
            raise ValueError(f"prompt {self.prompt_id!r}: give either messages or text")

    def as_messages(self) -> list[dict[str, str]]:
        """Chat messages; a text prompt becomes one user message."""
        if self.messages is not None:
            return self.messages
        return [{"role": "user", "content": self.text or ""}]

    def as_text(self) -> str:
        """A completion prompt; chat messages are joined by blank lines."""
        if self.text is not None:
            return self.text
        return "\n\n".join(m["content"] for m in self.messages or [])


@dataclass(frozen=True)
class Distribution:
    """Token counts to draw: fixed:N, uniform:LOW:HIGH (inclusive) or normal:MEAN:SD."""

    kind: Literal["fixed", "uniform", "normal"]
    a: float
    b: float = 0.0

    def sample(self, rng: np.random.Generator, count: int) -> list[int]:
        """`count` draws, rounded and clamped to at least 1."""
        if self.kind == "fixed":
            values = np.full(count, self.a)
        elif self.kind == "uniform":
            values = rng.integers(int(self.a), int(self.b) + 1, size=count).astype(float)
        else:
            values = rng.normal(self.a, self.b, size=count)
        return [max(1, round(float(v))) for v in values]


def parse_distribution(spec: str) -> Distribution:
    """A distribution from `fixed:128`, `uniform:64:256` or `normal:128:32`."""
    usage = "expected fixed:N, uniform:LOW:HIGH or normal:MEAN:SD"
    kind, *args = spec.strip().split(":")
    try:
        numbers = [float(arg) for arg in args]
    except ValueError:
        raise WorkloadError(f"distribution {spec!r}: numbers required; {usage}") from None
    arity = {"fixed": 1, "uniform": 2, "normal": 2}
    if kind not in arity or len(numbers) != arity[kind]:
        raise WorkloadError(f"distribution {spec!r}: {usage}")
    if kind == "fixed" and numbers[0] < 1:
        raise WorkloadError(f"distribution {spec!r}: N must be at least 1")
    if kind == "uniform" and not 1 <= numbers[0] <= numbers[1]:
        raise WorkloadError(f"distribution {spec!r}: need 1 <= LOW <= HIGH")
    if kind == "normal" and (numbers[0] < 1 or numbers[1] < 0):
        raise WorkloadError(f"distribution {spec!r}: need MEAN >= 1 and SD >= 0")
    return Distribution(kind, *numbers)  # type: ignore[arg-type]  # kind checked above


def synthetic(
    count: int,
    *,
    input_dist: str | Distribution,
    output_dist: str | Distribution,
    seed: int = 0,
) -> list[Prompt]:
    """Random-word prompts whose lengths follow the distributions (one word ~ one token)."""
    if count < 1:
        raise WorkloadError(f"synthetic workload: count must be at least 1, not {count}")
    inputs = _as_distribution(input_dist)
    outputs = _as_distribution(output_dist)
    rng = np.random.default_rng(seed)
    input_tokens = inputs.sample(rng, count)
    output_tokens = outputs.sample(rng, count)
    prompts = []
    for index, (n_in, n_out) in enumerate(zip(input_tokens, output_tokens, strict=True)):
        words = rng.integers(0, len(VOCABULARY), size=n_in)
        text = " ".join(VOCABULARY[int(w)] for w in words)
        prompts.append(
            Prompt(f"synthetic-{index}", text=text, max_tokens=n_out, expected_input_tokens=n_in)
        )
    return prompts


def _as_distribution(value: str | Distribution) -> Distribution:
    """A parsed distribution."""
    return value if isinstance(value, Distribution) else parse_distribution(value)


def _read_text(path: Path) -> str:
    """The file's text, or an error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read: {exc}") from None


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; errors name the line."""
    found = False
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"{path}:{lineno}: not JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise WorkloadError(f"{path}:{lineno}: expected a JSON object")
        found = True
        yield lineno, value
    if not found:
        raise WorkloadError(f"{path}: empty: no JSON objects")


def _positive_int(value: Any, where: str, name: str) -> int:
    """The value when it is an integer of at least 1, else an error at `where`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WorkloadError(f"{where}: {name} must be a positive integer, not {value!r}")
    return value


def _messages(value: Any, where: str) -> list[dict[str, str]]:
    """Validated chat messages."""
    if not isinstance(value, list) or not value:
        raise WorkloadError(f"{where}: messages must be a non-empty list")
    for index, message in enumerate(value):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str)
        ):
            raise WorkloadError(
                f"{where}: messages[{index}] needs a role ({', '.join(sorted(ROLES))}) "
                "and a string content"
            )
    return [{"role": m["role"], "content": m["content"]} for m in value]


def load_jsonl(path: Path, *, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> list[Prompt]:
    """Our prompts: one {"id", "prompt" or "messages", "max_tokens"?} object per line."""
    prompts: list[Prompt] = []
    seen: dict[str, int] = {}
    for lineno, item in _json_lines(path):
        where = f"{path}:{lineno}"
        prompt_id = str(item.get("id", f"line-{lineno}"))
        if prompt_id in seen:
            raise WorkloadError(f"{where}: id {prompt_id!r} already used on line {seen[prompt_id]}")
        seen[prompt_id] = lineno
        max_tokens = _positive_int(item.get("max_tokens", default_max_tokens), where, "max_tokens")
        if ("prompt" in item) == ("messages" in item):
            raise WorkloadError(f"{where}: give either 'prompt' or 'messages'")
        if "prompt" in item:
            if not isinstance(item["prompt"], str) or not item["prompt"].strip():
                raise WorkloadError(f"{where}: prompt must be a non-empty string")
            prompts.append(Prompt(prompt_id, text=item["prompt"], max_tokens=max_tokens))
        else:
            messages = _messages(item["messages"], where)
            prompts.append(Prompt(prompt_id, messages=messages, max_tokens=max_tokens))
    return prompts


def load_sharegpt(path: Path, *, max_tokens: int | None = None) -> list[Prompt]:
    """ShareGPT conversations: the first human turn; the next gpt turn's length sizes the answer.

    Conversations without a human turn (or, when `max_tokens` is not given, without a gpt
    answer after it) are skipped, as vLLM's benchmark does; a malformed entry is an error.
    """
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise WorkloadError(f"{path}: not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, list):
        raise WorkloadError(f"{path}: expected a JSON list of conversations")
    if not data:
        raise WorkloadError(f"{path}: empty: no conversations")
    prompts = [p for i, e in enumerate(data) if (p := _sharegpt_prompt(path, i, e, max_tokens))]
    if not prompts:
        raise WorkloadError(f"{path}: no conversation has a human turn followed by a gpt turn")
    if len(prompts) < len(data):
        log.info(
            "skipped %d ShareGPT conversations without a usable turn pair", len(data) - len(prompts)
        )
    return prompts


def _sharegpt_prompt(path: Path, index: int, entry: Any, max_tokens: int | None) -> Prompt | None:
    """The prompt of one conversation, or None when it has no usable turn pair."""
    where = f"{path}[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("conversations"), list):
        raise WorkloadError(f"{where}: expected an object with a 'conversations' list")
    turns = entry["conversations"]
    for turn_index, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise WorkloadError(f"{where}.conversations[{turn_index}]: needs 'from' and 'value'")
    human = next((i for i, t in enumerate(turns) if t.get("from") in HUMAN_TURNS), None)
    if human is None or not turns[human]["value"].strip():
        return None
    answer = turns[human + 1] if human + 1 < len(turns) else None
    if max_tokens is None:
        if answer is None or answer.get("from") not in GPT_TURNS:
            return None
        max_tokens = max(1, round(len(answer["value"].split()) * TOKENS_PER_WORD))
    text = turns[human]["value"]
    return Prompt(
        str(entry.get("id", f"sharegpt-{index}")),
        messages=[{"role": "user", "content": text}],
        max_tokens=max_tokens,
        expected_input_tokens=round(len(text.split()) * TOKENS_PER_WORD),
    )


def load_tickets(path: Path) -> list[dict[str, Any]]:
    """Airlock tickets, one JSON object per line (id, subject, body, customer), kept as they are."""
    tickets = []
    for lineno, item in _json_lines(path):
        where = f"{path}:{lineno}"
        if not isinstance(item.get("id"), str | int) or isinstance(item.get("id"), bool):
            raise WorkloadError(f"{where}: a ticket needs an 'id' (string)")
        if not isinstance(item.get("customer"), dict):
            raise WorkloadError(f"{where}: a ticket needs a 'customer' object")
        for name in ("subject", "body"):
            if not isinstance(item.get(name, ""), str):
                raise WorkloadError(f"{where}: {name} must be a string")
        if not (item.get("subject") or item.get("body")):
            raise WorkloadError(f"{where}: a ticket needs a subject or a body")
        tickets.append(item)
    return tickets
