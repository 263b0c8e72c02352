"""How passages travel inside a prompt, so every engine (and the HTTP server) sees the same."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from serving.types import ChatMessage, ChatRequest, ContextPassage

_PASSAGE = re.compile(
    r'<passage ref="(?P<ref>\d+)" title="(?P<title>[^"]*)" source="(?P<source>[^"]*)">\n'
    r"(?P<text>.*?)\n</passage>",
    re.DOTALL,
)


def render_passages(passages: Sequence[ContextPassage]) -> str:
    """Passages as tagged blocks; text is escaped so a passage cannot close its own tag."""
    return "\n".join(
        f'<passage ref="{p.ref}" title="{html.escape(p.title)}" '
        f'source="{html.escape(p.source)}">\n{html.escape(p.text, quote=False)}\n</passage>'
        for p in passages
    )


def parse_passages(text: str) -> list[ContextPassage]:
    """The passages rendered into `text` by `render_passages`, in order."""
    return [
        ContextPassage(
            ref=int(m["ref"]),
            title=html.unescape(m["title"]),
            source=html.unescape(m["source"]),
            text=html.unescape(m["text"]),
        )
        for m in _PASSAGE.finditer(text)
    ]


def get_request_passages(request: ChatRequest) -> list[ContextPassage]:
    """Passages given with the request, else those rendered into its messages or prompt."""
    if request.passages:
        return list(request.passages)
    found: list[ContextPassage] = []
    for text in [m.content for m in request.messages] + [request.prompt or ""]:
        found.extend(parse_passages(text))
    return found


def strip_passages(text: str) -> str:
    """`text` without its passage blocks (the question part of a combined prompt)."""
    return _PASSAGE.sub("", text).strip()


def build_grounded_messages(
    instructions: str, passages: Sequence[ContextPassage], question: str
) -> tuple[ChatMessage, ...]:
    """System message with instructions and passages; the user's question on its own."""
    system = f"{instructions}\n\n{render_passages(passages)}" if passages else instructions
    return (ChatMessage(role="system", content=system), ChatMessage(role="user", content=question))
