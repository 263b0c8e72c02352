"""An NLP engine for presidio that needs no model download: spaCy's blank English tokenizer.

Presidio only uses it for tokens and "lemmas" (here the lower-cased token), which its context
enhancer compares with each recognizer's context words ("phone", "card", ...). No named entities
come from here: PERSON and STREET_ADDRESS have their own recognizers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, cast

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.language import Language

# spaCy keeps every token string it has seen; a fresh pipeline bounds that memory in a long-running
# worker (ticket text is full of one-off strings: e-mail addresses, numbers, names).
MAX_VOCAB = 200_000
KEEP_WORDS = frozenset({"call", "name", "number", "first", "last", "show"})


class BlankSpacyNlpEngine(NlpEngine):
    """Tokens from `spacy.blank("en")`; lemmas are lower-cased tokens; no entities."""

    engine_name = "airlock_blank_spacy"
    is_available = True

    def __init__(self) -> None:
        self.nlp: Language | None = None
        self.stop_words: frozenset[str] = frozenset()

    def load(self) -> None:
        """Create the blank English pipeline (tokenizer only; nothing is downloaded)."""
        self.nlp = spacy.blank("en")
        # "call" and "name" are spaCy stop words, but they are context words for phones and ids.
        self.stop_words = frozenset(self.nlp.Defaults.stop_words) - KEEP_WORDS

    def is_loaded(self) -> bool:
        """True once `load` ran."""
        return self.nlp is not None

    def _pipeline(self) -> Language:
        if self.nlp is None or len(self.nlp.vocab) > MAX_VOCAB:
            self.load()
        assert self.nlp is not None
        return self.nlp

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """Tokens and lower-cased lemmas of `text`."""
        doc = self._pipeline()(text)
        tokens = [(token.text, token.idx) for token in doc]
        # Token strings, not the Doc: presidio's context search only needs their lengths, and
        # iterating a Doc builds a Token object per step.
        return NlpArtifacts(
            entities=[],
            tokens=cast(Any, [t for t, _ in tokens]),
            tokens_indices=[i for _, i in tokens],
            lemmas=[t.lower() for t, _ in tokens],
            nlp_engine=self,
            language=language,
        )

    def process_batch(
        self,
        texts: Iterable[str],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        **kwargs: Any,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        """`process_text` over each text."""
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        """spaCy's English stop words, less the context words in KEEP_WORDS."""
        return word.lower() in self.stop_words

    def is_punct(self, word: str, language: str) -> bool:
        """True when every character is punctuation."""
        return bool(word) and all(unicodedata.category(ch).startswith("P") for ch in word)

    def get_supported_entities(self) -> list[str]:
        """None: this engine finds no entities."""
        return []

    def get_supported_languages(self) -> list[str]:
        """English only."""
        return ["en"]
