"""Replacing found PII: typed placeholders, masks, salted hashes, or vault placeholders."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from guardrails.errors import GuardInputError
from guardrails.pii.vault import PiiVault
from guardrails.types import Entity

Mode = Literal["placeholder", "mask", "hash", "vault"]
MASK = "****"
# Types compared without separators and case: "+1 555-0100" and "+15550100" are one value.
COMPACT_TYPES = frozenset(
    {"PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "ORDER_ID", "ACCOUNT_ID", "TICKET_ID"}
)
_NON_ALNUM = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")


def normalize_value(entity_type: str, value: str) -> str:
    """The form in which two mentions of one value compare equal."""
    value = unicodedata.normalize("NFKC", value)
    if entity_type in COMPACT_TYPES:
        return _NON_ALNUM.sub("", value).upper()
    return _SPACES.sub(" ", value).strip().casefold()


@dataclass
class PiiSession:
    """The placeholders of one ticket or conversation: a value keeps its placeholder."""

    tenant: str = ""
    subject_id: str = ""
    scope: str = ""
    _placeholders: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def placeholder_for(self, entity_type: str, normalized: str) -> str:
        """`<TYPE_n>`, numbered per type in order of first appearance."""
        key = (entity_type, normalized)
        if key not in self._placeholders:
            self._counts[entity_type] = self._counts.get(entity_type, 0) + 1
            self._placeholders[key] = f"<{entity_type}_{self._counts[entity_type]}>"
        return self._placeholders[key]

    def remember(self, entity_type: str, normalized: str, placeholder: str) -> None:
        """Record a placeholder chosen elsewhere (the vault)."""
        self._placeholders[(entity_type, normalized)] = placeholder

    def known(self, entity_type: str, normalized: str) -> str | None:
        """The placeholder already given to this value, if any."""
        return self._placeholders.get((entity_type, normalized))


class Redactor:
    """Replaces entity spans according to the configured mode."""

    def __init__(self, mode: Mode, hash_key: bytes = b"", vault: PiiVault | None = None) -> None:
        if mode == "vault" and vault is None:
            raise ValueError("vault mode needs a PiiVault")
        if mode == "hash" and not hash_key:
            raise ValueError("hash mode needs a key")
        self.mode = mode
        self.hash_key = hash_key
        self.vault = vault

    def redact(self, text: str, entities: Sequence[Entity], session: PiiSession) -> str:
        """`text` with every entity span replaced (spans must not overlap)."""
        ordered = sorted(entities, key=lambda e: e.start)
        replacements = self._replacements(text, ordered, session)
        parts, cursor = [], 0
        for entity, replacement in zip(ordered, replacements, strict=True):
            if entity.start < cursor:
                raise GuardInputError("entities overlap; pass the analyzer's own result")
            parts += [text[cursor : entity.start], replacement]
            cursor = entity.end
        parts.append(text[cursor:])
        return "".join(parts)

    def _replacements(
        self, text: str, entities: Sequence[Entity], session: PiiSession
    ) -> list[str]:
        values = [(e.type, text[e.start : e.end]) for e in entities]
        if self.mode == "mask":
            return [MASK] * len(values)
        if self.mode == "hash":
            return [self._hashed(t, normalize_value(t, v)) for t, v in values]
        if self.mode == "placeholder":
            return [session.placeholder_for(t, normalize_value(t, v)) for t, v in values]
        return self._vaulted(values, session)

    def _hashed(self, entity_type: str, normalized: str) -> str:
        digest = hmac.new(self.hash_key, f"{entity_type}\0{normalized}".encode(), hashlib.sha256)
        return f"<{entity_type}_{digest.hexdigest()[:12]}>"

    def _vaulted(self, values: list[tuple[str, str]], session: PiiSession) -> list[str]:
        if not session.subject_id:
            raise GuardInputError("vault mode needs the data subject (context.subject_id)")
        assert self.vault is not None
        items = [(t, v, normalize_value(t, v)) for t, v in values]
        missing = [item for item in items if session.known(item[0], item[2]) is None]
        if missing:
            assigned = self.vault.assign(session.tenant, session.subject_id, session.scope, missing)
            for (entity_type, _, normalized), placeholder in zip(missing, assigned, strict=True):
                session.remember(entity_type, normalized, placeholder)
        return [session.known(t, n) or "" for t, _, n in items]
