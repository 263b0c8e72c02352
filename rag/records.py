"""Record files, many documents each: Zendesk articles export, FAQ and ticket JSONL, ticket CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping

from models.language import detect_language
from rag.errors import DocumentError
from rag.formats import decode_text, html_to_text
from rag.types import SourceDocument

RecordItem = SourceDocument | DocumentError

FAQ_FIELDS = ("doc_id", "question", "answer")
NOT_A_ROW = (
    "neither a FAQ row (doc_id, question, answer) nor a ticket row (ticket_id or id, resolution)"
)
TITLE_CHARS = 120


class _RowProblem(ValueError):
    """One record is malformed; the caller names the file and the line."""


def parse_zendesk(data: bytes, label: str) -> Iterator[RecordItem]:
    """Zendesk Help Center export: `{"articles": [{id, title, body, html_url, locale}, ...]}`."""
    payload = _json(decode_text(data, label), label)
    articles = payload.get("articles") if isinstance(payload, dict) else None
    if not isinstance(articles, list):
        reason = "not a Zendesk Help Center articles export (no top-level 'articles' list)"
        raise DocumentError(label, reason)
    for position, article in enumerate(articles, start=1):
        try:
            yield _zendesk_article(article)
        except _RowProblem as problem:
            article_id = article.get("id") if isinstance(article, dict) else None
            named = f" (id {article_id})" if isinstance(article_id, str | int) else ""
            yield DocumentError(label, f"article {position}{named}: {problem}")


def _zendesk_article(article: object) -> SourceDocument:
    """Build the document of one exported article."""
    if not isinstance(article, dict):
        raise _RowProblem("not a JSON object")
    article_id = _identifier(article, "id")
    body = article.get("body")
    text = html_to_text(body) if isinstance(body, str) else ""
    if not text:
        raise _RowProblem("empty body")
    locale = article.get("locale")
    language = locale.split("-")[0].lower() if isinstance(locale, str) and locale else ""
    return SourceDocument(
        doc_id=f"zendesk-{article_id}",
        title=_text(article, "title"),
        text=text,
        source=_text(article, "html_url"),
        format="zendesk",
        language=language or detect_language(text),
    )


def parse_jsonl(data: bytes, label: str) -> Iterator[RecordItem]:
    """FAQ or ticket rows, one JSON object per line, each row's kind told by its keys."""
    rows: list[tuple[int, object]] = []
    for number, line in enumerate(decode_text(data, label).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append((number, _RowProblem(f"invalid JSON ({exc.msg})")))
    return _documents_from_rows(rows, label)


def parse_ticket_csv(data: bytes, label: str) -> Iterator[RecordItem]:
    """Ticket (or FAQ) rows of a CSV file with a header line."""
    reader = csv.DictReader(io.StringIO(decode_text(data, label), newline=""))
    header = {name.strip() for name in reader.fieldnames or ()}
    if "resolution" not in header and not set(FAQ_FIELDS) <= header:
        raise DocumentError(label, f"CSV header: {NOT_A_ROW}")
    return _documents_from_rows(_csv_rows(reader, label), label)


def _csv_rows(reader: csv.DictReader[str], label: str) -> Iterator[tuple[int, object]]:
    """Yield (first line number, row) for each CSV record; stop at a malformed one."""
    start = reader.line_num + 1
    try:
        for row in reader:
            yield start, {(key or "").strip(): value for key, value in row.items()}
            start = reader.line_num + 1
    except csv.Error as exc:
        yield start, _RowProblem(f"malformed CSV ({exc}); the rest of the file was not read")


def _documents_from_rows(rows: Iterable[tuple[int, object]], label: str) -> Iterator[RecordItem]:
    """Turn numbered rows into documents or line-numbered problems; refuse duplicate ids."""
    first_line: dict[str, int] = {}
    for number, row in rows:
        try:
            if isinstance(row, _RowProblem):
                raise row
            document = _row_document(row)
            if document.doc_id in first_line:
                seen = first_line[document.doc_id]
                raise _RowProblem(f"duplicate id {document.doc_id!r} (first on line {seen})")
        except _RowProblem as problem:
            yield DocumentError(label, f"line {number}: {problem}")
            continue
        first_line[document.doc_id] = number
        yield document


def _row_document(row: object) -> SourceDocument:
    """Dispatch one row by its keys: `resolution` means a ticket, question/answer a FAQ."""
    if not isinstance(row, dict):
        raise _RowProblem("not a JSON object")
    if "resolution" in row:
        return _ticket_document(row)
    if "question" in row or "answer" in row:
        return _faq_document(row)
    raise _RowProblem(NOT_A_ROW)


def _faq_document(row: Mapping[str, object]) -> SourceDocument:
    """A FAQ entry: the question is the title, question and answer the text."""
    doc_id = _identifier(row, "doc_id")
    question, answer = _required(row, "question"), _required(row, "answer")
    text = f"{question}\n\n{answer}"
    return SourceDocument(
        doc_id=doc_id,
        title=question,
        text=text,
        source=_text(row, "source") or _text(row, "url"),
        format="faq",
        language=_row_language(row, text),
    )


def _ticket_document(row: Mapping[str, object]) -> SourceDocument:
    """A past resolved ticket: question (or subject + description), then its resolution."""
    ticket_id = _identifier(row, "ticket_id" if row.get("ticket_id") not in (None, "") else "id")
    subject = _text(row, "subject")
    question = _text(row, "question") or "\n\n".join(
        part for part in (subject, _text(row, "description")) if part
    )
    if not question:
        raise _RowProblem("missing 'question' (or 'subject' and 'description')")
    text = f"{question}\n\n{_required(row, 'resolution')}"
    return SourceDocument(
        doc_id=f"ticket-{ticket_id}",
        title=subject or " ".join(question.split())[:TITLE_CHARS],
        text=text,
        source=_text(row, "url") or _text(row, "html_url"),
        format="ticket",
        language=_row_language(row, text),
        subject_ids=_subject_ids(row),
    )


def _subject_ids(row: Mapping[str, object]) -> tuple[str, ...]:
    """Data subjects of a ticket: `subject_ids` (list or `;`-separated) and `requester_id`."""
    listed = row.get("subject_ids")
    values = listed if isinstance(listed, list) else str(listed or "").split(";")
    values = [*values, row.get("requester_id")]
    ids = (str(value).strip() for value in values if isinstance(value, str | int))
    return tuple(dict.fromkeys(value for value in ids if value))


def _row_language(row: Mapping[str, object], text: str) -> str:
    """The row's own `language`/`locale` (e.g. `de-ch` → `de`), else detected from the text."""
    declared = _text(row, "language") or _text(row, "locale")
    code = declared.split("-")[0].split("_")[0].lower()
    return code if len(code) == 2 and code.isalpha() else detect_language(text)


def _identifier(row: Mapping[str, object], key: str) -> str:
    """A non-empty string or integer id field, as a string."""
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise _RowProblem(f"missing or invalid {key!r}")
    return str(value).strip()


def _required(row: Mapping[str, object], key: str) -> str:
    """A non-empty text field."""
    value = _text(row, key)
    if not value:
        raise _RowProblem(f"missing or empty {key!r}")
    return value


def _text(row: Mapping[str, object], key: str) -> str:
    """A text field stripped, '' when absent or not a string."""
    value = row.get(key)
    return value.strip() if isinstance(value, str) else ""


def _json(text: str, label: str) -> object:
    """Parse a whole JSON file."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(label, f"invalid JSON (line {exc.lineno}: {exc.msg})") from None
