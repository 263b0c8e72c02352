"""The injection-echo output guard: a draft answer that carries injected instructions through."""

from __future__ import annotations

import asyncio
import re
import time

from guardrails.injection.guard import InjectionGuard, describe_score
from guardrails.injection.normalize import fold
from guardrails.types import GuardContext, GuardVerdict

_SENTENCE_END = re.compile("(?<=[.!?\u3002\uff01\uff1f])\\s+|\n+")
_WORD = re.compile(r"\w+")
_LINK = re.compile(r"https?://[^\s<>\"')\]]+|www\.[^\s<>\"')\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_QUOTED = re.compile(r"[\"“”«»']([^\"“”«»'\n]{12,200})[\"“”«»']")
SHINGLE_WORDS = 5


def _shingles(text: str) -> set[tuple[str, ...]]:
    """Runs of `SHINGLE_WORDS` folded words."""
    words = _WORD.findall(fold(text))
    return {tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def _payloads(text: str) -> set[str]:
    """Links, addresses and quoted phrases an injection may ask the answer to repeat."""
    found = {fold(match.group(0)).rstrip(".,;:") for match in _LINK.finditer(text)}
    found |= {fold(match.group(1)).strip() for match in _QUOTED.finditer(text)}
    return {payload for payload in found if len(payload) >= 8}


class InjectionEchoGuard:
    """Flags a draft that scores as an injection or repeats what a flagged source injected.

    A flagged passage that the draft does not repeat is reported (a reason and the
    `indirect_injection` score) but does not block on its own: blocking on passages is the
    injection guard's `indirect_injection` flag when it is run with them.
    """

    name = "injection_echo"

    def __init__(self, guard: InjectionGuard) -> None:
        self.guard = guard

    async def check(self, text: str, *, context: GuardContext) -> GuardVerdict:
        """Check a draft answer against the ticket and the passages it was given."""
        return await asyncio.to_thread(self.verdict, text, context)

    def _instruction_sentences(self, source: str) -> list[str]:
        """The sentences of a flagged source that score as injections on their own."""
        sentences = [part for part in _SENTENCE_END.split(source) if part.strip()]
        results = self.guard.assess_many(sentences)
        threshold = self.guard.threshold
        return [s for s, r in zip(sentences, results, strict=True) if r.score >= threshold]

    def _echo(self, draft: str, source: str, clean_sources: list[str]) -> str | None:
        """What the draft repeats of a flagged source (described, never quoted), if anything."""
        echoed = _shingles(draft)
        for sentence in self._instruction_sentences(source):
            if _shingles(sentence) & echoed:
                return "repeats an injected instruction"
        folded_draft = fold(draft)
        benign = fold(" ".join(clean_sources))
        carried = [p for p in _payloads(source) if p in folded_draft and p not in benign]
        return "carries a link or phrase the injection planted" if carried else None

    def verdict(self, text: str, context: GuardContext) -> GuardVerdict:
        """The synchronous body of `check`."""
        started = time.perf_counter()
        names = ["ticket", *(f"passage {i}" for i in range(len(context.passages)))]
        sources = [context.ticket_text, *context.passages]
        results = self.guard.assess_many([text, *sources])
        threshold = self.guard.threshold
        reasons = describe_score("draft", results[0], threshold)
        flagged = [score.score >= threshold for score in results[1:]]
        clean_sources = [src for src, bad in zip(sources, flagged, strict=True) if not bad]
        echo_found = False
        for name, source, bad in zip(names, sources, flagged, strict=True):
            found = self._echo(text, source, clean_sources) if bad else None
            echo_found = echo_found or found is not None
            if found:
                reasons.append(f"draft {found} from the {name}")
            elif bad:
                reasons.append(f"{name} scores as an injection; the draft does not repeat it")
        score = max(results[0].score, 1.0 if echo_found else 0.0)
        flags = ("injection_echo",) if score >= threshold else ()
        scores = {"injection_echo": round(score, 4), "draft": round(results[0].score, 4)}
        if context.passages:
            scores["indirect_injection"] = round(max(r.score for r in results[2:]), 4)
        return GuardVerdict(
            guard=self.name,
            allowed=not flags,
            flags=flags,
            scores=scores,
            reasons=tuple(reasons),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )
