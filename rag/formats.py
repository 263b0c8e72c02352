"""One-document file formats to text: decoding, Markdown, HTML, plain text, PDF and DOCX."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import docx
import yaml
from bs4 import BeautifulSoup
from bs4.element import Comment, NavigableString, Tag
from charset_normalizer import from_bytes
from docx.document import Document as DocxDocument
from docx.table import Table
from pypdf import PasswordType, PdfReader

from rag.errors import DocumentError

UNDECODABLE = "not UTF-8 text and the encoding could not be detected"
# charset-normalizer's mess ratio above which a guessed decoding is not trusted.
MAX_CHAOS = 0.1
# Among equally clean guesses for Western text, cp1252 (a superset of latin-1's printable range)
# is the usual truth; the detector otherwise picks Baltic or Central European code pages.
PREFERRED_GUESS = "cp1252"

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_ATX_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)(?:---|\.\.\.)\n", re.DOTALL)
_HEADING_STYLE = re.compile(r"^Heading ([1-6])$")
_DROPPED_HTML = (
    "title",
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "object",
    "nav",
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SECTIONS = ("p", "div", "section", "article", "main", "header", "footer", "aside", "address")
_GROUPS = ("ul", "ol", "dl", "dt", "dd", "table", "tr", "blockquote", "figure", "figcaption")
_BLOCKS = frozenset((*_SECTIONS, *_GROUPS, "hr", "form", "fieldset", "details", "summary"))


@dataclass(frozen=True)
class ParsedText:
    """A document's title ('' when it has none) and its text (markdown headings kept)."""

    title: str
    text: str


def decode_text(data: bytes, label: str) -> str:
    """Decode UTF-8 (BOM or not), a UTF-16/32 BOM, or a confidently detected legacy encoding."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _clean_text(data.decode(codec), label)
            except UnicodeDecodeError:
                raise DocumentError(label, UNDECODABLE) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _guess_decoding(data, label)
    return _clean_text(text, label)


def _guess_decoding(data: bytes, label: str) -> str:
    """Decode with charset-normalizer's guess when it is clean; refuse otherwise."""
    clean = [
        match
        for match in from_bytes(data)
        if match.chaos <= MAX_CHAOS and not match.encoding.startswith(("utf_16", "utf_32"))
    ]
    if not clean:
        raise DocumentError(label, UNDECODABLE)
    chosen = next((m for m in clean if m.encoding == PREFERRED_GUESS), clean[0])
    return str(chosen)


def _clean_text(text: str, label: str) -> str:
    """Normalise newlines; refuse binary data and texts with nothing in them."""
    if "\x00" in text:
        raise DocumentError(label, "binary data, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(label, "empty")
    return text


def parse_text(data: bytes, label: str) -> ParsedText:
    """Plain text: no title of its own."""
    return ParsedText("", decode_text(data, label).strip())


def parse_markdown(data: bytes, label: str) -> ParsedText:
    """Markdown: title from YAML front matter, else the first `# ` heading."""
    text = decode_text(data, label)
    front_title, text = _split_front_matter(text)
    return ParsedText(front_title or _first_h1(text), text.strip())


def _split_front_matter(text: str) -> tuple[str, str]:
    """Return (front-matter title, text without the front matter)."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return "", text
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return "", text  # a horizontal rule, not front matter
    if not isinstance(front, dict):
        return "", text
    title = front.get("title")
    return (str(title).strip() if title else ""), text[match.end() :]


def _first_h1(text: str) -> str:
    """Return the first level-1 ATX heading outside code fences, or ''."""
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := _ATX_H1.match(line)):
            return match.group(1).strip()
    return ""


def parse_html(data: bytes, label: str) -> ParsedText:
    """HTML: text with headings as markdown lines; title from <title>, else the first <h1>."""
    soup = BeautifulSoup(decode_text(data, label), "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = " ".join(title_tag.get_text().split()) if title_tag else ""
    return ParsedText(title, soup_to_text(soup))


def html_to_text(html: str) -> str:
    """Convert an HTML fragment (a Zendesk article body) to text with markdown headings."""
    return soup_to_text(BeautifulSoup(html, "html.parser"))


def soup_to_text(soup: BeautifulSoup) -> str:
    """Flatten parsed HTML: blocks become lines, headings `#` lines, <pre> fenced code."""
    for tag in soup.find_all(["head", *_DROPPED_HTML]):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for string in soup.find_all(string=True):
        if type(string) is NavigableString and string.find_parent("pre") is None:
            string.replace_with(re.sub(r"\s+", " ", string))
    for tag in soup.find_all(True):
        _mark_block(tag)
    return _tidy_lines(soup.get_text())


def _mark_block(tag: Tag) -> None:
    """Replace or surround one element with the line breaks and markers it stands for."""
    if tag.name in _HEADINGS:
        level = int(tag.name[1])
        tag.replace_with(f"\n\n{'#' * level} {' '.join(tag.get_text().split())}\n\n")
    elif tag.name == "pre":
        tag.replace_with(f"\n\n```\n{tag.get_text().strip(chr(10))}\n```\n\n")
    elif tag.name == "br":
        tag.replace_with("\n")
    elif tag.name == "li":
        tag.insert_before("\n- ")
    elif tag.name in ("td", "th"):
        tag.insert_after(" | ")
    elif tag.name in _BLOCKS:
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")


def _tidy_lines(text: str) -> str:
    """Trim and collapse spaces outside code fences; keep at most one blank line in a row."""
    lines: list[str] = []
    fenced = False
    for raw in text.split("\n"):
        line = raw.rstrip() if fenced else " ".join(raw.split()).removesuffix(" |")
        if line.startswith("```"):
            fenced = not fenced
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


def parse_pdf(data: bytes, label: str) -> ParsedText:
    """PDF text layer, pages separated by blank lines; title from the document information."""
    reader = _open_pdf(data, label)
    # pypdf raises many exception types on damaged files: any of them means a corrupt file.
    try:
        pages = [(page.extract_text() or "").replace("\x00", "").strip() for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except Exception as exc:
        raise DocumentError(label, _corrupt("PDF", exc)) from exc
    if not pages:
        raise DocumentError(label, "empty")
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise DocumentError(label, "no text layer (scanned?)")
    return ParsedText(str(title).strip(), _clean_text(text, label))


def _open_pdf(data: bytes, label: str) -> PdfReader:
    """Open a PDF; one encrypted with only an owner password (empty user password) is read."""
    if b"%PDF-" not in data[:1024]:
        raise DocumentError(label, "corrupt PDF (no PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
    except Exception as exc:
        raise DocumentError(label, _corrupt("PDF", exc)) from exc
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:
            opened = False
        if not opened:
            raise DocumentError(label, "encrypted PDF")
    return reader


def parse_docx(data: bytes, label: str) -> ParsedText:
    """DOCX body paragraphs and tables; `Heading N` styles become markdown headings."""
    if not data.startswith(b"PK\x03\x04"):
        raise DocumentError(label, "corrupt DOCX (not a ZIP package)")
    # python-docx raises zip, XML and key errors on damaged files: any of them means corrupt.
    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_docx_lines(document))
        title = document.core_properties.title or ""
    except Exception as exc:
        raise DocumentError(label, _corrupt("DOCX", exc)) from exc
    if not title:
        title = next((line[2:] for line in lines if line.startswith("# ")), "")
    return ParsedText(title.strip(), _clean_text("\n\n".join(lines), label).strip())


def _docx_lines(document: DocxDocument) -> Iterator[str]:
    """Yield one markdown line per non-empty paragraph or table row, in document order."""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            yield from _table_rows(block)
            continue
        text = " ".join(block.text.split())
        style = block.style.name if block.style is not None else ""
        heading = _HEADING_STYLE.match(style or "")
        if not text:
            continue
        if heading or style == "Title":
            yield f"{'#' * (int(heading.group(1)) if heading else 1)} {text}"
        else:
            yield f"- {text}" if (style or "").startswith("List") else text


def _table_rows(table: Table) -> Iterator[str]:
    """Yield a table's rows as ` | `-separated cells (merged cells once)."""
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            yield " | ".join(cells)


def _corrupt(kind: str, exc: Exception) -> str:
    """A short reason for a damaged file: the parser's first message line, no traceback."""
    detail = str(exc).strip().split("\n")[0][:120] or type(exc).__name__
    return f"corrupt {kind} ({detail})"
