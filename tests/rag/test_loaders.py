"""Loaders: every supported format built in tmp_path, and bad input reported per file or row."""

from __future__ import annotations

import io
import random
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from models.language import detect_language
from rag.loaders import LoadResult, SourceFile, iter_sources, load_path, load_paths

ENGLISH = (
    "To reset your password, open the sign-in page and choose Forgot password. "
    "We send a link to your email address, and the link expires after one hour."
)
GERMAN = (
    "Um Ihr Passwort zurückzusetzen, öffnen Sie die Anmeldeseite und wählen Sie "
    "Passwort vergessen. Wir senden Ihnen einen Link an Ihre E-Mail-Adresse."
)
FRENCH = (
    "Pour réinitialiser votre mot de passe, ouvrez la page de connexion et choisissez "
    "Mot de passe oublié. Nous envoyons un lien à votre adresse électronique."
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def only_document(result: LoadResult):
    assert result.problems == (), [str(problem) for problem in result.problems]
    assert len(result.documents) == 1
    return result.documents[0]


def only_problem(result: LoadResult):
    assert result.documents == ()
    assert len(result.problems) == 1
    return result.problems[0]


def pdf_bytes(*pages: str, title: str = "") -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def encrypted(pdf: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- finding files ---------------------------------------------------------------------------


def test_iter_sources_walks_folders_in_name_order_skipping_hidden_and_unsupported(tmp_path):
    root = tmp_path / "kb"
    for name in ["b.md", "a.txt", "sub/c.html", ".hidden.md", ".git/d.md", "logo.png"]:
        write(root / name, "text")
    named = write(tmp_path / "extra.pdf", b"%PDF")

    sources = list(iter_sources([root, named]))

    assert [source.relative for source in sources] == ["a.txt", "b.md", "sub/c.html", "extra.pdf"]
    assert sources[2] == SourceFile(root / "sub" / "c.html", "sub/c.html")


def test_load_path_doc_id_is_relative_to_the_root_so_reingest_keeps_it(tmp_path):
    path = write(tmp_path / "kb" / "account" / "reset.md", f"# Reset\n\n{ENGLISH}")

    first = only_document(load_path(path, root=tmp_path / "kb"))
    again = only_document(load_paths([tmp_path / "kb"]))

    assert first.doc_id == again.doc_id == "account/reset.md"
    assert first.source == "account/reset.md"


# --- one-document formats --------------------------------------------------------------------


def test_load_markdown_title_from_first_heading_outside_code(tmp_path):
    text = f"```\n# not the title\n```\n\nIntro.\n\n# Reset your password\n\n{ENGLISH}\n"
    document = only_document(load_path(write(tmp_path / "reset.md", text)))

    assert document.title == "Reset your password"
    assert document.format == "markdown"
    assert document.text == text.strip()
    assert document.language == "en"


def test_load_markdown_title_falls_back_to_file_stem(tmp_path):
    document = only_document(load_path(write(tmp_path / "billing-faq.markdown", ENGLISH)))

    assert document.title == "billing-faq"


def test_load_markdown_front_matter_gives_title_and_is_left_out_of_text(tmp_path):
    text = f"---\ntitle: Refund policy\ntags: [billing]\n---\n## Windows\n\n{ENGLISH}\n"
    document = only_document(load_path(write(tmp_path / "refunds.md", text)))

    assert document.title == "Refund policy"
    assert document.text.startswith("## Windows")


def test_load_html_keeps_headings_as_markdown_lines_and_drops_scripts(tmp_path):
    html = (
        "<html><head><title>Reset your password</title><script>track()</script></head><body>"
        "<nav>Home | Help</nav><h1>Reset   your <b>password</b></h1><p>Open the\n  sign-in page."
        "<br>Choose Forgot password.</p><h2>If the link expired</h2><ul><li>Request a new link"
        "</li><li>Check spam</li></ul><!-- internal note --><pre>code\n  indented</pre>"
        "</body></html>"
    )
    document = only_document(load_path(write(tmp_path / "reset.html", html)))

    assert document.title == "Reset your password"
    assert document.format == "html"
    assert document.text == (
        "# Reset your password\n\nOpen the sign-in page.\nChoose Forgot password.\n\n"
        "## If the link expired\n\n- Request a new link\n- Check spam\n\n"
        "```\ncode\n  indented\n```"
    )


def test_load_html_title_from_h1_when_there_is_no_title_tag(tmp_path):
    document = only_document(load_path(write(tmp_path / "a.htm", "<h1>Shipping</h1><p>Soon.</p>")))

    assert document.title == "Shipping"


def test_load_text_with_utf8_bom_and_crlf_newlines(tmp_path):
    path = write(tmp_path / "note.txt", "\ufeffLine one\r\nLine two\r\n".encode())

    document = only_document(load_path(path))

    assert document.text == "Line one\nLine two"
    assert (document.title, document.format) == ("note", "text")


def test_load_text_in_latin1_is_decoded(tmp_path):
    text = "Größe und Gewicht: Café, naïve, déjà vu. Le garçon était très content à Noël."
    document = only_document(load_path(write(tmp_path / "legacy.txt", text.encode("latin-1"))))

    assert document.text == text


def test_load_text_binary_garbage_is_rejected_as_undecodable(tmp_path):
    garbage = random.Random(7).randbytes(4000)

    problem = only_problem(load_path(write(tmp_path / "blob.txt", garbage)))

    assert problem.path == "blob.txt"
    assert problem.reason == "not UTF-8 text and the encoding could not be detected"


def test_load_text_with_nul_bytes_is_rejected_as_binary(tmp_path):
    problem = only_problem(load_path(write(tmp_path / "data.txt", b"abc\x00\x01def" * 50)))

    assert problem.reason == "binary data, not text"


@pytest.mark.parametrize("content", [b"", b"  \n\n\t ", "\ufeff\n".encode()])
def test_load_markdown_empty_is_rejected(tmp_path, content):
    problem = only_problem(load_path(write(tmp_path / "empty.md", content)))

    assert (problem.path, problem.reason) == ("empty.md", "empty")


def test_load_pdf_text_layer_with_pages_and_title(tmp_path):
    path = write(tmp_path / "guide.pdf", pdf_bytes(ENGLISH, "Second page.", title="User guide"))

    document = only_document(load_path(path))

    assert document.title == "User guide"
    assert document.format == "pdf"
    assert "reset your password" in document.text
    assert document.text.endswith("Second page.")
    assert document.language == "en"


def test_load_pdf_encrypted_with_a_user_password_is_rejected(tmp_path):
    path = write(tmp_path / "secret.pdf", encrypted(pdf_bytes(ENGLISH), user_password="s3cret"))

    problem = only_problem(load_path(path))

    assert (problem.path, problem.reason) == ("secret.pdf", "encrypted PDF")


def test_load_pdf_encrypted_with_only_an_owner_password_is_read(tmp_path):
    path = write(tmp_path / "locked.pdf", encrypted(pdf_bytes(ENGLISH), user_password=""))

    assert "reset your password" in only_document(load_path(path)).text


def test_load_pdf_without_text_layer_is_rejected_as_scanned(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 40, style="F")
    path = write(tmp_path / "scan.pdf", bytes(pdf.output()))

    problem = only_problem(load_path(path))

    assert problem.reason == "no text layer (scanned?)"


@pytest.mark.parametrize("suffix", [".pdf", ".docx"])
def test_load_corrupt_binary_document_is_rejected_with_a_short_reason(tmp_path, suffix):
    garbage = random.Random(3).randbytes(3000)

    problem = only_problem(load_path(write(tmp_path / f"broken{suffix}", garbage)))

    assert (
        problem.reason
        == {".pdf": "corrupt PDF (no PDF header)", ".docx": "corrupt DOCX (not a ZIP package)"}[
            suffix
        ]
    )


def test_load_docx_with_a_damaged_package_is_rejected_with_a_short_reason(tmp_path):
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    damaged = buffer.getvalue()[: len(buffer.getvalue()) // 2]

    problem = only_problem(load_path(write(tmp_path / "cut.docx", damaged)))

    assert problem.reason.startswith("corrupt DOCX (")
    assert "Traceback" not in problem.reason
    assert len(problem.reason) < 160


def test_load_pdf_truncated_is_rejected_as_corrupt(tmp_path):
    whole = pdf_bytes(ENGLISH)
    problem = only_problem(load_path(write(tmp_path / "cut.pdf", whole[: len(whole) // 3])))

    assert problem.reason.startswith("corrupt PDF (")
    assert len(problem.reason) < 160


def test_load_docx_headings_become_markdown_and_tables_rows(tmp_path):
    document = docx.Document()
    document.core_properties.title = "Account help"
    document.add_heading("Reset your password", level=1)
    document.add_paragraph(ENGLISH)
    document.add_heading("If the link expired", level=2)
    document.add_paragraph("Request a new link.", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Plan", "Price"
    path = tmp_path / "help.docx"
    document.save(str(path))

    loaded = only_document(load_path(path))

    assert loaded.title == "Account help"
    assert loaded.format == "docx"
    assert loaded.text == (
        f"# Reset your password\n\n{ENGLISH}\n\n## If the link expired\n\n"
        "- Request a new link.\n\nPlan | Price"
    )


def test_load_docx_title_from_first_heading_without_core_title(tmp_path):
    document = docx.Document()
    document.add_heading("Returns", level=1)
    document.add_paragraph("Send it back within 30 days.")
    path = tmp_path / "returns.docx"
    document.save(str(path))

    assert only_document(load_path(path)).title == "Returns"


# --- batches and bad input -------------------------------------------------------------------


def test_load_paths_reports_bad_files_with_path_and_reason_and_loads_the_rest(tmp_path):
    root = tmp_path / "kb"
    write(root / "good.md", f"# Good\n\n{ENGLISH}")
    write(root / "empty.md", "")
    write(root / "broken" / "scan.pdf", b"not a pdf at all")
    write(root / "secret.pdf", encrypted(pdf_bytes(ENGLISH), user_password="pw"))
    write(root / "notes.txt", FRENCH)

    result = load_paths([root, tmp_path / "missing.md"])

    assert [document.doc_id for document in result.documents] == ["good.md", "notes.txt"]
    assert {problem.path: problem.reason for problem in result.problems} == {
        "broken/scan.pdf": "corrupt PDF (no PDF header)",
        "empty.md": "empty",
        "secret.pdf": "encrypted PDF",
        "missing.md": "cannot read (No such file or directory)",
    }
    assert "fix or remove the file" in str(result.problems[0])


def test_load_path_of_an_unsupported_type_named_explicitly_is_reported(tmp_path):
    problem = only_problem(load_path(write(tmp_path / "logo.png", b"\x89PNG")))

    assert problem.reason == "unsupported file type '.png'"


# --- language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [(ENGLISH, "en"), (GERMAN, "de"), (FRENCH, "fr"), ("Hello", ""), ("ok thanks", ""), ("42", "")],
)
def test_detect_language_gives_iso_code_or_nothing_when_too_short(text, language):
    assert detect_language(text) == language


def test_load_documents_carry_their_detected_language(tmp_path):
    write(tmp_path / "kb" / "de.txt", GERMAN)
    write(tmp_path / "kb" / "fr.md", f"# Aide\n\n{FRENCH}")

    result = load_paths([tmp_path / "kb"])

    assert [document.language for document in result.documents] == ["de", "fr"]
