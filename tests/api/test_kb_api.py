"""Knowledge-base documents over HTTP: uploaded, searchable within the tenant only, deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]

ARTICLE = b"""# Calibrate the Zorbulax flux widget

Hold the Zorbulax reset pin for ten seconds, then turn the flux dial to the green mark.
The widget blinks twice when the calibration is complete.
"""
QUERY = "How do I calibrate the Zorbulax flux widget?"


def _upload(client: TestClient, auth: Auth, files: list[tuple[str, bytes]], **data: Any) -> Any:
    parts = [("files", (name, content, "application/octet-stream")) for name, content in files]
    return client.post("/v1/kb/documents", files=parts, data=data, headers=auth("kim"))


def _found(client: TestClient, auth: Auth, user: str, doc_id: str) -> bool:
    response = client.get("/v1/kb/search", params={"q": QUERY, "top_k": 5}, headers=auth(user))
    assert response.status_code == 200, response.text
    return doc_id in {passage["doc_id"] for passage in response.json()["passages"]}


def test_upload_is_searchable_for_its_tenant_only(client: TestClient, auth: Auth) -> None:
    response = _upload(client, auth, [("devices/zorbulax.md", ARTICLE)])
    assert response.status_code == 200, response.text
    [report] = response.json()["documents"]
    assert report["doc_id"] == "devices/zorbulax.md"
    assert report["status"] == "added" and report["chunks"] >= 1
    assert _found(client, auth, "kim", "devices/zorbulax.md")
    assert _found(client, auth, "alice", "devices/zorbulax.md")  # an agent of tenant demo
    assert not _found(client, auth, "bob", "devices/zorbulax.md")  # an agent of tenant acme


def test_search_passages_carry_scores_titles_and_sources(client: TestClient, auth: Auth) -> None:
    _upload(client, auth, [("devices/zorbulax-2.md", ARTICLE.replace(b"flux", b"flux 2"))])
    response = client.get("/v1/kb/search", params={"q": QUERY}, headers=auth("kim"))
    best = response.json()["passages"][0]
    assert best["title"].startswith("Calibrate the Zorbulax")
    assert best["source"].startswith("devices/zorbulax")
    assert best["score"] > 0 and "reset pin" in best["text"]


def test_upload_of_same_content_is_unchanged(client: TestClient, auth: Auth) -> None:
    files = [("same/unchanged.md", ARTICLE.replace(b"flux", b"steady"))]
    assert _upload(client, auth, files).json()["summary"]["added"] == 1
    again = _upload(client, auth, files).json()
    assert again["summary"] == {"added": 0, "updated": 0, "unchanged": 1, "failed": 0, "chunks": 0}


def test_delete_removes_document_from_search(client: TestClient, auth: Auth) -> None:
    _upload(client, auth, [("devices/zorbulax-old.md", ARTICLE)])
    assert _found(client, auth, "kim", "devices/zorbulax-old.md")
    gone = client.delete("/v1/kb/documents/devices/zorbulax-old.md", headers=auth("kim"))
    assert gone.status_code == 204
    assert not _found(client, auth, "kim", "devices/zorbulax-old.md")
    again = client.delete("/v1/kb/documents/devices/zorbulax-old.md", headers=auth("kim"))
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"


def test_unreadable_file_fails_alone_while_others_are_ingested(
    client: TestClient, auth: Auth
) -> None:
    files = [("broken.pdf", b"this is not a PDF"), ("fine/notes.txt", b"Plain notes on widgets.")]
    response = _upload(client, auth, files)
    assert response.status_code == 200, response.text
    reports = {r["doc_id"]: r for r in response.json()["documents"]}
    assert reports["broken.pdf"]["status"] == "failed"
    assert "corrupt PDF" in reports["broken.pdf"]["reason"]
    assert reports["fine/notes.txt"]["status"] == "added"


def test_unsupported_file_type_is_415_naming_the_file(client: TestClient, auth: Auth) -> None:
    response = _upload(client, auth, [("guide.md", ARTICLE), ("setup.exe", b"MZ\x90\x00")])
    assert response.status_code == 415
    assert "setup.exe" in response.json()["detail"]


def test_oversize_upload_is_413_with_the_limit(
    client: TestClient, auth: Auth, api_settings: Any
) -> None:
    limit = api_settings.api.max_upload_bytes
    response = _upload(client, auth, [("huge.txt", b"a" * (limit + 1))])
    assert response.status_code == 413
    assert str(limit) in response.json()["detail"]


def test_path_escaping_file_name_is_422(client: TestClient, auth: Auth) -> None:
    response = _upload(client, auth, [("../outside.md", ARTICLE)])
    assert response.status_code == 422
    assert "outside.md" in response.json()["detail"]


def test_agent_cannot_upload_or_delete(client: TestClient, auth: Auth) -> None:
    parts = [("files", ("agent.md", ARTICLE, "text/markdown"))]
    upload = client.post("/v1/kb/documents", files=parts, headers=auth("alice"))
    assert upload.status_code == 403
    delete = client.delete("/v1/kb/documents/agent.md", headers=auth("alice"))
    assert delete.status_code == 403


def test_search_needs_kb_editor_or_agent_role(client: TestClient, auth: Auth) -> None:
    response = client.get("/v1/kb/search", params={"q": QUERY}, headers=auth("mo"))
    assert response.status_code == 403
