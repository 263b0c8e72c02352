"""Chunking: heading sections (LlamaIndex MarkdownNodeParser), then SentenceSplitter windows."""

# Sizes are counted in word tokens (`count_tokens`: runs of up to 16 word characters and single
# punctuation marks), a local stand-in for model tokens, so LlamaIndex never loads tiktoken; the
# sentence boundaries are a local regex, so it never loads NLTK's punkt data either. Every chunk's
# text is an exact slice of the document text: `doc.text[chunk.start:chunk.end] == chunk.text`.

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
from llama_index.core.schema import Document

from rag.errors import DocumentError
from rag.types import Chunk, SourceDocument

# Formats whose text carries markdown headings (HTML and DOCX loaders write them).
HEADING_FORMATS = frozenset({"markdown", "html", "docx"})
HEADING_SEPARATOR = " > "

_PATH_SEPARATOR = "\x1f"  # between headings in the parser's metadata; never inside a heading
_TOKEN = re.compile(r"\w{1,16}|[^\w\s]")
_HEADING_LINE = re.compile(r"^(#+)\s(.*)")
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")
# LlamaIndex's default phrase regex drops runs of punctuation ("..."); this one keeps every char.
_PUNCT = r",.;\u3002\uff01\uff1f"  # ideographic full stop, fullwidth ! and ?
_PHRASES = rf"[^{_PUNCT}]*[{_PUNCT}]+|[^{_PUNCT}]+"


@dataclass(frozen=True)
class _Section:
    """A heading section: its offset in the document, its text and its heading path."""

    start: int
    text: str
    heading_path: str


def count_tokens(text: str) -> int:
    """Count word tokens as chunk sizes are measured."""
    return len(_TOKEN.findall(text))


def chunk_document(doc: SourceDocument, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split a document into chunks of at most `chunk_size` tokens with title and heading path."""
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"need 0 <= chunk_overlap < chunk_size, got {chunk_overlap}, {chunk_size}")
    splitter = _splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for section in _sections(doc):
        for start, end in _windows(section, splitter, doc.doc_id):
            text = doc.text[start:end]
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    index=len(chunks),
                    text=text,
                    embed_text=embed_text(doc.title, section.heading_path, text),
                    title=doc.title,
                    heading_path=section.heading_path,
                    start=start,
                    end=end,
                )
            )
    return chunks


def _windows(section: _Section, splitter: SentenceSplitter, doc_id: str) -> list[tuple[int, int]]:
    """Split a section and return each window's (start, end) in the document text."""
    spans: list[tuple[int, int]] = []
    for piece in splitter.split_text(section.text):
        start, end = _locate_window(section.text, piece, spans, splitter.chunk_overlap, doc_id)
        spans.append((start, end))
    return [(section.start + start, section.start + end) for start, end in spans]


def _locate_window(
    text: str, piece: str, spans: list[tuple[int, int]], overlap: int, doc_id: str
) -> tuple[int, int]:
    """Place a window after the previous one, overlapping it by at most `overlap` tokens."""
    # In repeated text the first match after the previous start may be too early: skip matches
    # that would overlap the previous window more than the splitter ever does.
    if not spans:
        return _locate(text, piece, 0, doc_id)
    previous_start, previous_end = spans[-1]
    first = _locate(text, piece, previous_start + 1, doc_id)
    candidate = first
    while candidate[0] < previous_end and count_tokens(text[candidate[0] : previous_end]) > overlap:
        position = text.find(piece, candidate[0] + 1)
        if position < 0:
            return first
        candidate = (position, position + len(piece))
    return candidate


def embed_text(title: str, heading_path: str, text: str) -> str:
    """Return what is embedded: title, heading path (when not just the title), then the text."""
    header = "\n".join(dict.fromkeys(part for part in (title, heading_path) if part))
    return f"{header}\n\n{text}" if header else text


def _sections(doc: SourceDocument) -> list[_Section]:
    """Cut the document at its headings (markdown-like formats) or keep it whole."""
    if doc.format not in HEADING_FORMATS:
        stripped = doc.text.strip()
        return [_Section(doc.text.find(stripped), stripped, "")] if stripped else []
    sections: list[_Section] = []
    cursor = 0
    pending: int | None = None  # start of heading-only sections waiting for their body
    nodes = _markdown_parser().get_nodes_from_documents([Document(text=doc.text)])
    for node in nodes:
        start, end = _locate(doc.text, node.get_content(), cursor, doc.doc_id)
        cursor = end
        path, heading_only = _heading_path(doc.text[start:end], node.metadata["header_path"])
        if heading_only:
            pending = start if pending is None else pending
            continue
        start, pending = (start if pending is None else pending), None
        sections.append(_Section(start, doc.text[start:end], path))
    if pending is not None:
        sections.append(_Section(pending, doc.text[pending:cursor], path))
    return sections


def _heading_path(section: str, parents: str) -> tuple[str, bool]:
    """Return the section's heading path (parents, then its own) and whether it has no body."""
    names = [_heading_name(name) for name in parents.split(_PATH_SEPARATOR) if name]
    first_line, _, body = section.partition("\n")
    own = _HEADING_LINE.match(first_line)
    if own is None:
        return HEADING_SEPARATOR.join(names), False
    names.append(_heading_name(own.group(2)))
    return HEADING_SEPARATOR.join(name for name in names if name), not body.strip()


def _heading_name(raw: str) -> str:
    """A heading's words without closing hashes (`## Billing ##` → `Billing`)."""
    return " ".join(raw.strip().rstrip("#").split())


def _locate(haystack: str, needle: str, cursor: int, doc_id: str) -> tuple[int, int]:
    """Find a parser's output in the text: exactly, else with any whitespace between words."""
    position = haystack.find(needle, cursor)
    if position >= 0:
        return position, position + len(needle)
    pattern = r"\s+".join(re.escape(word) for word in needle.split())
    match = re.compile(pattern).search(haystack, cursor)
    if match is None:
        raise DocumentError(doc_id, "chunking lost track of the text (please report this)")
    return match.span()


def _split_sentences(text: str) -> list[str]:
    """Split after sentence-ending punctuation, keeping every character (no NLTK data)."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _word_tokens(text: str) -> list[str]:
    """Tokenizer handed to LlamaIndex in place of its tiktoken default."""
    return _TOKEN.findall(text)


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    """A sentence splitter with local tokenizer and sentence rules, built once per size."""
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=_word_tokens,
        chunking_tokenizer_fn=_split_sentences,
        secondary_chunking_regex=_PHRASES,
        include_prev_next_rel=False,
    )


@cache
def _markdown_parser() -> MarkdownNodeParser:
    """The heading splitter, built on first use."""
    return MarkdownNodeParser(header_path_separator=_PATH_SEPARATOR, include_prev_next_rel=False)
