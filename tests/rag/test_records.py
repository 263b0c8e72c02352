"""Record files: Zendesk Help Center exports, FAQ JSONL, ticket JSONL and CSV."""

from __future__ import annotations

import json

from rag.loaders import load_path
from tests.rag.test_loaders import ENGLISH, GERMAN, only_problem, write


def zendesk_export(*articles: dict) -> str:
    return json.dumps({"articles": list(articles), "page": 1, "next_page": None})


def test_load_zendesk_export_gives_one_document_per_article(tmp_path):
    export = zendesk_export(
        {
            "id": 360001,
            "title": "Reset your password",
            "body": f"<p>{ENGLISH}</p><h2>If the link expired</h2><p>Ask again.</p>",
            "html_url": "https://help.example.com/hc/en-us/articles/360001",
            "locale": "en-us",
        },
        {"id": 360002, "title": "Passwort", "body": f"<p>{GERMAN}</p>", "html_url": "u2"},
    )

    result = load_path(write(tmp_path / "zendesk.json", export))

    assert result.problems == ()
    first, second = result.documents
    assert first.doc_id == "zendesk-360001"
    assert first.title == "Reset your password"
    assert first.source == "https://help.example.com/hc/en-us/articles/360001"
    assert first.text.endswith("## If the link expired\n\nAsk again.")
    assert (first.format, first.language) == ("zendesk", "en")
    assert (second.doc_id, second.language) == ("zendesk-360002", "de")


def test_load_zendesk_article_with_empty_body_is_reported_and_others_load(tmp_path):
    export = zendesk_export(
        {"id": 1, "title": "Empty", "body": None},
        {"id": 2, "title": "Fine", "body": f"<p>{ENGLISH}</p>"},
        "not an object",
    )

    result = load_path(write(tmp_path / "zendesk.json", export))

    assert [document.doc_id for document in result.documents] == ["zendesk-2"]
    assert [problem.reason for problem in result.problems] == [
        "article 1 (id 1): empty body",
        "article 3: not a JSON object",
    ]


def test_load_json_that_is_not_a_zendesk_export_is_rejected(tmp_path):
    problem = only_problem(load_path(write(tmp_path / "other.json", '{"items": []}')))

    assert "no top-level 'articles' list" in problem.reason


def test_load_json_malformed_is_rejected_with_line(tmp_path):
    problem = only_problem(load_path(write(tmp_path / "bad.json", '{"articles": [\n{]}')))

    assert problem.reason.startswith("invalid JSON (line 2:")


def test_load_faq_jsonl_reports_malformed_lines_and_keeps_the_others(tmp_path):
    lines = [
        json.dumps({"doc_id": "faq-1", "question": "How do I reset?", "answer": ENGLISH}),
        '{"doc_id": "faq-2", "question": "broken',
        "",
        json.dumps({"doc_id": "faq-3", "question": "Wie?", "answer": GERMAN, "source": "kb"}),
        json.dumps({"doc_id": "faq-4", "question": "No answer"}),
        json.dumps({"title": "neither"}),
        json.dumps({"doc_id": "faq-1", "question": "Again?", "answer": "Yes."}),
    ]

    result = load_path(write(tmp_path / "faq.jsonl", "\n".join(lines)))

    first, second = result.documents
    assert (first.doc_id, first.title, first.format) == ("faq-1", "How do I reset?", "faq")
    assert first.text == f"How do I reset?\n\n{ENGLISH}"
    assert (second.doc_id, second.source, second.language) == ("faq-3", "kb", "de")
    assert [(problem.path, problem.reason) for problem in result.problems] == [
        ("faq.jsonl", "line 2: invalid JSON (Unterminated string starting at)"),
        ("faq.jsonl", "line 5: missing or empty 'answer'"),
        ("faq.jsonl", "line 6: neither a FAQ row (doc_id, question, answer) nor a ticket row "
         "(ticket_id or id, resolution)"),
        ("faq.jsonl", "line 7: duplicate id 'faq-1' (first on line 1)"),
    ]  # fmt: skip


def test_load_tickets_jsonl_accepts_ticket_id_or_id_and_subject_with_description(tmp_path):
    lines = [
        {"ticket_id": 1042, "question": "I was charged twice.", "resolution": "Refunded."},
        {
            "id": "T-7",
            "subject": "Parcel lost",
            "description": "My parcel never arrived.",
            "resolution": "We reshipped it.",
            "requester_id": "cust-9",
            "language": "en-GB",
        },
        {"id": 8, "subject": "No resolution", "resolution": ""},
    ]

    result = load_path(write(tmp_path / "tickets.jsonl", "\n".join(map(json.dumps, lines))))

    first, second = result.documents
    assert (first.doc_id, first.format) == ("ticket-1042", "ticket")
    assert first.text == "I was charged twice.\n\nRefunded."
    assert first.title == "I was charged twice."
    assert second.doc_id == "ticket-T-7"
    assert second.title == "Parcel lost"
    assert second.text == "Parcel lost\n\nMy parcel never arrived.\n\nWe reshipped it."
    assert (second.subject_ids, second.language) == (("cust-9",), "en")
    assert [problem.reason for problem in result.problems] == [
        "line 3: missing or empty 'resolution'"
    ]


def test_load_tickets_csv_with_multiline_fields_and_line_numbers(tmp_path):
    csv_text = (
        "ticket_id,subject,description,resolution\n"
        '501,Card declined,"My card is declined\nat checkout.",Ask the bank to allow it.\n'
        "502,Missing resolution,Something,\n"
        f"503,Reset,{ENGLISH.replace(',', '')},Sent a new link.\n"
    )

    result = load_path(write(tmp_path / "tickets.csv", csv_text))

    assert [document.doc_id for document in result.documents] == ["ticket-501", "ticket-503"]
    assert result.documents[0].text == (
        "Card declined\n\nMy card is declined\nat checkout.\n\nAsk the bank to allow it."
    )
    assert result.documents[1].language == "en"
    assert [problem.reason for problem in result.problems] == [
        "line 4: missing or empty 'resolution'"
    ]


def test_load_csv_without_ticket_or_faq_columns_is_rejected(tmp_path):
    problem = only_problem(load_path(write(tmp_path / "people.csv", "name,email\nAda,a@x\n")))

    assert problem.reason.startswith("CSV header: neither a FAQ row")
