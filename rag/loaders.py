"""Finding and loading source files: one file gives documents and per-item problems."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.language import detect_language
from rag.errors import DocumentError
from rag.formats import (
    ParsedText,
    parse_docx,
    parse_html,
    parse_markdown,
    parse_pdf,
    parse_text,
)
from rag.records import RecordItem, parse_jsonl, parse_ticket_csv, parse_zendesk
from rag.types import SourceDocument

logger = logging.getLogger(__name__)

DocumentParser = Callable[[bytes, str], ParsedText]
RecordParser = Callable[[bytes, str], Iterable[RecordItem]]

# suffix -> (SourceDocument.format, parser) for files that hold one document each
DOCUMENT_FORMATS: dict[str, tuple[str, DocumentParser]] = {
    ".md": ("markdown", parse_markdown),
    ".markdown": ("markdown", parse_markdown),
    ".html": ("html", parse_html),
    ".htm": ("html", parse_html),
    ".txt": ("text", parse_text),
    ".pdf": ("pdf", parse_pdf),
    ".docx": ("docx", parse_docx),
}
# suffix -> parser for files that hold many records (articles, FAQ entries, tickets)
RECORD_FORMATS: dict[str, RecordParser] = {
    ".json": parse_zendesk,
    ".jsonl": parse_jsonl,
    ".csv": parse_ticket_csv,
}
SUPPORTED_SUFFIXES = frozenset(DOCUMENT_FORMATS) | frozenset(RECORD_FORMATS)


@dataclass(frozen=True)
class SourceFile:
    """A file to load and its id: its '/'-separated path relative to the ingest root."""

    path: Path
    relative: str


@dataclass(frozen=True)
class LoadResult:
    """Documents that loaded and the problems (file or record) that did not."""

    documents: tuple[SourceDocument, ...] = ()
    problems: tuple[DocumentError, ...] = ()

    def __add__(self, other: LoadResult) -> LoadResult:
        """Concatenate two results, keeping order."""
        return LoadResult(self.documents + other.documents, self.problems + other.problems)


def iter_sources(paths: Sequence[Path]) -> Iterator[SourceFile]:
    """Yield files to load: named files as given, folders walked in name order."""
    # Hidden entries and, inside folders, unsupported types are skipped; a named file of an
    # unsupported type is still yielded so that loading reports it.
    for path in paths:
        if path.is_dir():
            yield from _walk(path, path)
        else:
            yield SourceFile(path, path.name)


def _walk(folder: Path, root: Path) -> Iterator[SourceFile]:
    """Walk one folder recursively in name order, without following folder symlinks."""
    try:
        children = sorted(folder.iterdir(), key=lambda child: child.name)
    except OSError:
        yield SourceFile(folder, folder.relative_to(root).as_posix())  # loading reports why
        return
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir() and not child.is_symlink():
            yield from _walk(child, root)
        elif child.suffix.lower() in SUPPORTED_SUFFIXES:
            yield SourceFile(child, child.relative_to(root).as_posix())
        else:
            logger.debug("skipped unsupported file", extra={"path": str(child)})


def load_source(source: SourceFile) -> LoadResult:
    """Load one file; a file that cannot be read becomes a problem, never an exception."""
    suffix = source.path.suffix.lower()
    try:
        data = _read(source, suffix)
        if suffix in RECORD_FORMATS:
            result = _collect(RECORD_FORMATS[suffix](data, source.relative))
        else:
            result = LoadResult(documents=(_document(source, data, suffix),))
    except DocumentError as problem:
        result = LoadResult(problems=(problem,))
    for item in result.problems:
        logger.warning("source not loaded", extra={"path": item.path, "reason": item.reason})
    return result


def load_path(path: Path, *, root: Path | None = None) -> LoadResult:
    """Load one file whose id is its path relative to `root` (default: its own folder)."""
    relative = path.relative_to(root).as_posix() if root is not None else path.name
    return load_source(SourceFile(path, relative))


def load_paths(paths: Sequence[Path]) -> LoadResult:
    """Load every file named or found under the folders, in order."""
    result = LoadResult()
    for source in iter_sources(paths):
        result += load_source(source)
    return result


def _read(source: SourceFile, suffix: str) -> bytes:
    """Read a supported file's bytes; refuse unsupported, unreadable and empty files."""
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(source.relative, f"unsupported file type {suffix or '(none)'!r}")
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise DocumentError(source.relative, f"cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise DocumentError(source.relative, "empty")
    return data


def _document(source: SourceFile, data: bytes, suffix: str) -> SourceDocument:
    """Parse a one-document file into its SourceDocument."""
    format_name, parse = DOCUMENT_FORMATS[suffix]
    parsed = parse(data, source.relative)
    if not parsed.text.strip():
        raise DocumentError(source.relative, "empty")
    return SourceDocument(
        doc_id=source.relative,
        title=parsed.title or source.path.stem,
        text=parsed.text,
        source=source.relative,
        format=format_name,
        language=detect_language(parsed.text),
    )


def _collect(items: Iterable[RecordItem]) -> LoadResult:
    """Split a record file's items into documents and problems."""
    documents: list[SourceDocument] = []
    problems: list[DocumentError] = []
    for item in items:
        if isinstance(item, DocumentError):
            problems.append(item)
        else:
            documents.append(item)
    return LoadResult(tuple(documents), tuple(problems))
