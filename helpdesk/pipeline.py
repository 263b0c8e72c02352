"""The ticket pipeline: guards, classification, retrieval, draft, guards, decision."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from airlock.settings_helpdesk import HelpdeskSettings
from guardrails.pipeline import GuardPipeline, PipelineVerdict
from guardrails.types import GuardContext
from helpdesk.drafting import cite, clean_text, draft_messages
from helpdesk.intents import IntentModel, IntentPrediction
from helpdesk.intents.data import clip_text
from helpdesk.policy import DecisionInput, EscalationPolicy, decide
from helpdesk.queue.rows import format_ts
from helpdesk.queue.subjects import SubjectRecords
from helpdesk.record import DecisionRecord, EngineResult
from helpdesk.recording import RecordParts, build_record, unanalysed_record
from helpdesk.signals import Signals, SignalsPolicy, ticket_signals
from helpdesk.tickets import Customer, Ticket
from rag.retriever import Retriever
from rag.types import AccessScope, Passage
from serving.errors import ServingError
from serving.types import ChatModel, ChatRequest, ChatResult, generate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineParts:
    """Everything the pipeline calls, built once per process (see airlock.services)."""

    guards: GuardPipeline
    intents: IntentModel
    signals: SignalsPolicy
    escalation: EscalationPolicy
    retriever: Retriever
    chat: ChatModel
    settings: HelpdeskSettings
    history: SubjectRecords | None = None  # None: no repeat counting
    model_hashes: Mapping[str, str] = field(default_factory=dict)  # model id -> content hash
    shared_embedding: bool = False  # the intent model and the retriever embed with one model


def embedding_text(text: str) -> str:
    """What the pipeline embeds of a cleaned ticket text (the intent model's clipped text)."""
    return clip_text(text)


@dataclass(frozen=True)
class _Answer:
    """What retrieval, drafting and the output guards produced (nothing when not run)."""

    passages: list[Passage] = field(default_factory=list)
    draft: ChatResult | None = None
    output: PipelineVerdict | None = None


class StageClock:
    """Milliseconds per stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage (added to any earlier time of the same name)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            spent = (time.perf_counter() - began) * 1000
            self.stages[name] = round(self.stages.get(name, 0.0) + spent, 2)

    def finish(self) -> dict[str, float]:
        """The stages and the total."""
        total = round((time.perf_counter() - self.started) * 1000, 2)
        return {**self.stages, "total": total}


class TicketPipeline:
    """Turns one ticket version into its decision record (no storage writes of its own)."""

    def __init__(self, parts: PipelineParts) -> None:
        self.parts = parts

    def warm_up(self) -> None:
        """Run one made-up ticket through every stage: first calls (thread pools, torch kernels,
        lazy models) must not spend a real ticket's guard budget."""
        ticket = Ticket(
            id="warm-up",
            tenant="airlock-warm-up",
            subject="Warm-up",
            body="Hello, how long does delivery take to Berlin? Order 12345, thanks.",
            customer=Customer(id="warm-up"),
        )
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.process(ticket))
        finally:
            loop.close()

    def warm(self, tickets: Sequence[Ticket]) -> None:
        """Embed these tickets in one batch ahead of `process` (a caching embedder keeps them)."""
        texts = [embedding_text(clean_text(t.get_text()).text) for t in tickets]
        self.parts.intents.embedder.embed([text for text in texts if text])

    async def process(self, ticket: Ticket, *, now: datetime | None = None) -> DecisionRecord:
        """Run every stage; tickets that cannot be analysed get a record that says why."""
        now = now or datetime.now(UTC)
        clock = StageClock()
        cleaned = clean_text(ticket.get_text())
        original = len(ticket.get_text())
        limit = self.parts.settings.max_auto_chars
        action, why = "escalate", ""
        if not cleaned.text:
            action, why = "needs_info", "ticket has no subject or body: ask what the customer needs"
        elif cleaned.looks_binary(original):
            why = (
                f"{cleaned.removed} of {original} characters are control or undecodable "
                "characters (binary content?): escalated without automatic analysis"
            )
        elif len(cleaned.text) > limit:
            why = (
                f"ticket has {len(cleaned.text)} characters, more than helpdesk.max_auto_chars "
                f"({limit}): escalated without automatic analysis"
            )
        if why:
            return unanalysed_record(
                ticket,
                self.parts.signals.routing,
                action=action,
                reason=why,
                now=now,
                latency_ms=clock.finish(),
            )
        return await self._analyse(ticket, cleaned.text, clock, now)

    async def _analyse(
        self, ticket: Ticket, text: str, clock: StageClock, now: datetime
    ) -> DecisionRecord:
        parts = self.parts
        context = GuardContext(tenant=ticket.tenant, subject_id=ticket.customer.id)
        with clock.stage("input_guards"):
            # The ticket is embedded once, beside the guards: for its intent and, when the
            # knowledge base uses the same model, as the dense half of retrieval.
            checked, vectors = await asyncio.gather(
                parts.guards.check_input(text, context),
                asyncio.to_thread(parts.intents.embedder.embed, [embedding_text(text)]),
            )
        redacted = checked.redacted if checked.redacted is not None else text
        notes: list[str] = []
        with clock.stage("classify"):
            intent = parts.intents.predict([text], vectors)[0]
            signals = self._signals(ticket, text, intent, checked, now)
        answer = _Answer()
        if checked.allowed:
            answer = await self._answer(
                context,
                redacted,
                vector=vectors[0].tolist() if parts.shared_embedding else None,
                language=signals.language,
                clock=clock,
                notes=notes,
            )
        else:
            notes.append("input guards refused the ticket: no retrieval and no draft")
        passages, draft, output = answer.passages, answer.draft, answer.output
        with clock.stage("decide"):
            decision = decide(
                DecisionInput(
                    tenant=ticket.tenant,
                    text_chars=len(clean_text(ticket.body).text),
                    intent=intent.label,
                    confidence=intent.confidence,
                    sentiment=signals.sentiment,
                    priority=signals.priority,
                    input_verdict=checked,
                    output_verdict=output,
                    best_passage_score=passages[0].score if passages else None,
                    tier=ticket.customer.tier,
                    repeat_count=self._repeats(ticket, intent.label, now),
                    text=redacted,
                    language=signals.language,
                ),
                parts.escalation.for_tenant(ticket.tenant),
            )
        return build_record(
            RecordParts(
                ticket=ticket,
                now=now,
                redacted=redacted,
                intent=intent,
                signals=signals,
                decision=decision,
                input_verdict=checked,
                output_verdict=output,
                draft=draft.text if draft is not None else None,
                citations=cite(draft.text, passages) if draft is not None else (),
                passages=tuple(passages),
                engine=self._engine(draft),
                notes=tuple(notes),
            ),
            clock.finish(),
        )

    async def _answer(
        self,
        context: GuardContext,
        redacted: str,
        *,
        vector: list[float] | None,
        language: str,
        clock: StageClock,
        notes: list[str],
    ) -> _Answer:
        """Retrieval in the tenant's scope, the draft, and the output guards on it."""
        parts = self.parts
        with clock.stage("retrieve"):
            passages = await parts.retriever.retrieve(
                redacted,
                top_k=parts.settings.top_k,
                scope=AccessScope(tenant=context.tenant),
                vector=vector,
            )
        with clock.stage("generate"):
            draft = await self._draft(redacted, passages, language, notes)
        if draft is None:
            return _Answer(passages)
        checked_against = context.model_copy(
            update={
                "ticket_text": redacted,
                "question": redacted,
                "passages": tuple(p.text for p in passages),
            }
        )
        with clock.stage("output_guards"):
            output = await parts.guards.check_output(draft.text, checked_against)
        return _Answer(passages, draft, output)

    def _signals(
        self,
        ticket: Ticket,
        text: str,
        intent: IntentPrediction,
        checked: PipelineVerdict,
        now: datetime,
    ) -> Signals:
        """Sentiment, priority and route in the ticket's language (detected, else preferred)."""
        detected = checked.get("language")
        language = detected.labels.get("language", "") if detected is not None else None
        if not language:
            language = ticket.customer.language or language
        return ticket_signals(
            text,
            language=language,
            intent=intent.label,
            confidence=intent.confidence,
            tier=ticket.customer.tier,
            sla_due_at=ticket.sla_due_at,
            now=now,
            policy=self.parts.signals,
        )

    async def _draft(
        self, redacted: str, passages: list[Passage], language: str, notes: list[str]
    ) -> ChatResult | None:
        """The draft from the engine chain; None (with a note) when no engine could answer."""
        if not passages:
            notes.append("nothing retrieved: no draft")
            return None
        request = ChatRequest(
            messages=draft_messages(redacted, passages, language),
            max_tokens=self.parts.settings.max_draft_tokens,
            temperature=0.0,
        )
        try:
            return await generate(self.parts.chat, request)
        except ServingError as exc:
            log.warning("no engine drafted", extra={"error": type(exc).__name__})
            notes.append(f"no draft: {exc.message}")
            return None

    def _repeats(self, ticket: Ticket, intent: str, now: datetime) -> int:
        """The customer's other tickets with this intent within the policy's window."""
        if self.parts.history is None:
            return 0
        policy = self.parts.escalation.for_tenant(ticket.tenant)
        received = ticket.created_at or now
        since = format_ts(received - timedelta(hours=policy.repeat_window_hours))
        return self.parts.history.count_repeats(
            tenant=ticket.tenant,
            subject_id=ticket.customer.id,
            intent=intent,
            since=since,
            until=format_ts(received),
            exclude_ticket=ticket.id,
        )

    def _engine(self, draft: ChatResult | None) -> EngineResult | None:
        """The engine and model that wrote the draft, with the model's content hash."""
        if draft is None:
            return None
        return EngineResult(
            name=draft.engine,
            model=draft.model,
            model_sha256=self.parts.model_hashes.get(draft.model),
            failovers=draft.failovers,
            prompt_tokens=draft.usage.prompt_tokens,
            completion_tokens=draft.usage.completion_tokens,
        )
