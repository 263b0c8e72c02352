"""Chunking: heading paths, embedded text, exact offsets, sizes, and no network tokenizers."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from rag.chunking import chunk_document, count_tokens, embed_text
from rag.loaders import load_path
from rag.types import Chunk, SourceDocument

ARTICLE = """# Reset your password

Open the sign-in page and choose Forgot password. We email you a link.

## If the link expired

Links expire after one hour. Request a new link from the sign-in page.

### On the mobile app

Tap Settings, then Account, then Reset password.

## If you get no email

Check your spam folder.
"""

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank today. "


def document(text: str, *, format: str = "markdown", title: str = "Reset your password"):
    return SourceDocument(doc_id="kb/reset.md", title=title, text=text, format=format)


def assert_well_formed(doc: SourceDocument, chunks: list[Chunk]) -> None:
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text.strip() == chunk.text != ""
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == doc.doc_id
        assert chunk.title == doc.title


def test_chunk_markdown_keeps_the_heading_path_of_each_section():
    doc = document(ARTICLE)

    chunks = chunk_document(doc, chunk_size=200, chunk_overlap=20)

    assert [chunk.heading_path for chunk in chunks] == [
        "Reset your password",
        "Reset your password > If the link expired",
        "Reset your password > If the link expired > On the mobile app",
        "Reset your password > If you get no email",
    ]
    assert chunks[1].text.startswith("## If the link expired\n\nLinks expire")
    assert_well_formed(doc, chunks)


def test_chunk_embed_text_prepends_title_and_heading_path():
    chunks = chunk_document(document(ARTICLE), chunk_size=200, chunk_overlap=0)

    assert chunks[1].embed_text == (
        "Reset your password\nReset your password > If the link expired\n\n" + chunks[1].text
    )
    # a heading path equal to the title is not repeated
    assert chunks[0].embed_text == f"Reset your password\n\n{chunks[0].text}"


@pytest.mark.parametrize(
    ("title", "heading_path", "expected"),
    [("", "", "body"), ("T", "", "T\n\nbody"), ("", "A > B", "A > B\n\nbody")],
)
def test_embed_text_skips_empty_parts(title, heading_path, expected):
    assert embed_text(title, heading_path, "body") == expected


def test_chunk_long_section_respects_chunk_size_and_overlaps_neighbours():
    doc = document("# Long\n\n" + SENTENCE * 60, title="Long")

    chunks = chunk_document(doc, chunk_size=50, chunk_overlap=15)

    assert len(chunks) > 5
    assert all(count_tokens(chunk.text) <= 50 for chunk in chunks)
    assert all(later.start < earlier.end for earlier, later in pairwise(chunks))
    assert {chunk.heading_path for chunk in chunks} == {"Long"}
    assert_well_formed(doc, chunks)


def test_chunk_without_overlap_covers_the_text_once_in_order():
    doc = document(SENTENCE * 40, format="text", title="")

    chunks = chunk_document(doc, chunk_size=30, chunk_overlap=0)

    assert all(later.start >= earlier.end for earlier, later in pairwise(chunks))
    assert " ".join(chunk.text for chunk in chunks).split() == doc.text.split()
    assert_well_formed(doc, chunks)


def test_chunk_long_sentence_with_ellipses_keeps_every_character():
    sentence = "Wait... then, after a while; open the app... " * 30
    doc = document(sentence.strip(), format="text")

    chunks = chunk_document(doc, chunk_size=20, chunk_overlap=0)

    assert "".join(chunk.text for chunk in chunks).replace(" ", "") == doc.text.replace(" ", "")
    assert_well_formed(doc, chunks)


def test_chunk_heading_only_section_joins_the_section_below_it():
    doc = document(
        "# Billing\n\n## Invoices\n\nDownload invoices from Settings.\n", title="Billing"
    )

    chunks = chunk_document(doc, chunk_size=100, chunk_overlap=0)

    assert len(chunks) == 1
    assert chunks[0].text.startswith("# Billing\n\n## Invoices")
    assert chunks[0].heading_path == "Billing > Invoices"


def test_chunk_hash_lines_in_code_fences_are_not_headings():
    doc = document("# Setup\n\nRun this:\n\n```\n# comment, not a heading\nmake\n```\n")

    chunks = chunk_document(doc, chunk_size=100, chunk_overlap=0)

    assert [chunk.heading_path for chunk in chunks] == ["Setup"]


def test_chunk_heading_with_tab_and_closing_hashes_still_maps_offsets():
    doc = document("#\tWelcome ##\n\nFirst steps here.\n\n##  Next\n\nMore text.")

    chunks = chunk_document(doc, chunk_size=100, chunk_overlap=0)

    assert [chunk.heading_path for chunk in chunks] == ["Welcome", "Welcome > Next"]
    assert chunks[0].text == "#\tWelcome ##\n\nFirst steps here."
    assert_well_formed(doc, chunks)


def test_chunk_plain_text_and_pdf_ignore_hash_lines():
    for format in ("text", "pdf", "faq", "ticket"):
        doc = document("# 1 item in stock\n\nOrder now.", format=format)

        chunks = chunk_document(doc, chunk_size=100, chunk_overlap=0)

        assert [(chunk.heading_path, chunk.text) for chunk in chunks] == [("", doc.text)]


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_chunk_document_without_text_gives_no_chunks(text):
    assert chunk_document(document(text), chunk_size=50, chunk_overlap=0) == []
    assert chunk_document(document(text, format="text"), chunk_size=50, chunk_overlap=0) == []


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1), (10, 20)])
def test_chunk_document_refuses_impossible_sizes(size, overlap):
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk_document(document(ARTICLE), chunk_size=size, chunk_overlap=overlap)


def test_chunk_offsets_match_for_loaded_html_and_docx_like_text(tmp_path: Path):
    html = (
        "<title>Returns</title><h1>Returns</h1><p>Send items back within 30 days.</p>"
        "<h2>Refund timing</h2><p>" + SENTENCE * 20 + "</p><h2>Exceptions</h2><ul><li>Gift cards"
        "</li><li>Opened software</li></ul>"
    )
    path = tmp_path / "returns.html"
    path.write_text(html, encoding="utf-8")
    doc = load_path(path).documents[0]

    chunks = chunk_document(doc, chunk_size=40, chunk_overlap=10)

    assert {chunk.heading_path for chunk in chunks} == {
        "Returns",
        "Returns > Refund timing",
        "Returns > Exceptions",
    }
    assert chunks[-1].text == "## Exceptions\n\n- Gift cards\n- Opened software"
    assert_well_formed(doc, chunks)


def test_chunk_repeated_sections_get_their_own_offsets():
    doc = document("# A\n\nSame text.\n\n# B\n\nSame text.\n\n# C\n\nSame text.")

    chunks = chunk_document(doc, chunk_size=100, chunk_overlap=0)

    assert [chunk.start for chunk in chunks] == [0, 17, 34]
    assert_well_formed(doc, chunks)


def test_count_tokens_counts_words_and_punctuation_and_splits_very_long_words():
    assert count_tokens("Reset your password, please!") == 6
    assert count_tokens("x" * 40) == 3


def test_chunking_loads_neither_tiktoken_nor_nltk():
    script = (
        "import sys\n"
        "from rag.chunking import chunk_document\n"
        "from rag.types import SourceDocument\n"
        f"doc = SourceDocument(doc_id='d', text={ARTICLE * 20!r}, format='markdown')\n"
        "assert chunk_document(doc, chunk_size=40, chunk_overlap=10)\n"
        f"doc = SourceDocument(doc_id='d', text={(SENTENCE * 50)!r}, format='text')\n"
        "assert chunk_document(doc, chunk_size=40, chunk_overlap=10)\n"
        "print(sorted(m for m in ('tiktoken', 'nltk') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )

    assert result.stdout.strip() == "[]"
