"""Knowledge-base documents: upload (ingested like `airlock kb ingest`), delete, search."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.auth.principal import Principal
from api.deps import KbEditor, State, require_roles
from api.errors import (
    NotFoundError,
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_doc,
)
from api.schemas.kb import DocumentReportOut, IngestResult, IngestSummary, SearchResult
from audit.events import Actor
from rag.ingest import DocumentReport, IngestTarget, KnowledgeBase
from rag.loaders import SUPPORTED_SUFFIXES, LoadResult, load_path
from rag.types import AccessScope

router = APIRouter(prefix="/v1/kb", tags=["knowledge base"])

# One process-wide lock for knowledge-base writes (upload, delete, erasure). Ingestion reads
# the live version of a document, then writes and publishes a new one; two requests touching
# the same document at once could both publish or retire each other's version, and the one
# Milvus Lite client is not made for concurrent writers. Searches do not take it.
KB_WRITE_LOCK = threading.Lock()
MAX_FILES = 100
MAX_NAME_CHARS = 255
SUPPORTED = ", ".join(sorted(SUPPORTED_SUFFIXES))

Searcher = Annotated[Principal, Depends(require_roles("kb-editor", "agent"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(status) for status in (401, 403, 404, 413, 415, 422, 429)
}
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"One or more files ({SUPPORTED}); a file name "
                            "may hold folders (faq/billing.md): it is the document's id.",
                        },
                        "acl": {
                            "type": "string",
                            "description": "Groups allowed to see the documents, G1,G2 "
                            "(default: public within the tenant).",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/documents",
    response_model=IngestResult,
    responses=_ERRORS,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload documents into the tenant's knowledge base",
)
async def upload_documents(*, request: Request, principal: KbEditor, state: State) -> IngestResult:
    """Add new and changed documents (unchanged ones are left alone); a report per document.

    The body is `multipart/form-data` no larger than `api.max_upload_bytes` (413 above). Files
    are parsed with the loaders of `airlock kb ingest`: a file that cannot be read (corrupt,
    empty, encrypted) is reported as failed and the others are ingested; a file type the
    knowledge base does not read refuses the whole upload (415). An upload that outlasts
    `api.request_timeout_s` (504) is still ingested: upload it again to read its reports.
    """
    form = await read_form(request, state.parts.settings.api.max_upload_bytes)
    try:
        files, target = _parse_upload(form, principal.tenant)
    except BaseException:
        await form.close()
        raise
    # One thread owns the files from here: a request timeout does not cut an ingestion short.
    reports = await asyncio.to_thread(
        _ingest_upload, state.parts.knowledge, files, target, principal.get_actor()
    )
    return _result(reports)


@router.delete(
    "/documents/{doc_id:path}",
    status_code=204,
    responses=_ERRORS,
    summary="Delete a document of the tenant's knowledge base",
)
async def delete_document(*, doc_id: str, principal: KbEditor, state: State) -> Response:
    """Remove the document from search at once, then its chunks (404 when the tenant has none)."""
    found = await asyncio.to_thread(
        _delete, state.parts.knowledge, principal.tenant, doc_id, principal.get_actor()
    )
    if not found:
        raise NotFoundError(f"no document {doc_id!r} for tenant {principal.tenant!r}")
    return Response(status_code=204)


@router.get(
    "/search",
    response_model=SearchResult,
    responses=_ERRORS,
    summary="Search the tenant's knowledge base",
)
async def search(
    *,
    principal: Searcher,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=4000, description="The query text.")],
    top_k: Annotated[int, Query(ge=1, le=50, description="Passages to return.")] = 5,
) -> SearchResult:
    """Hybrid search, as the ticket pipeline retrieves: the tenant's public documents only.

    Tokens carry no groups yet, so documents uploaded with an `acl` are not returned here.
    """
    retriever = state.parts.desk.pipeline.parts.retriever
    scope = AccessScope(tenant=principal.tenant)
    passages = await retriever.retrieve(q, top_k=top_k, scope=scope)
    return SearchResult(query_chars=len(q), passages=passages)


async def read_form(request: Request, limit: int) -> FormData:
    """The multipart body, refused with 413 once it is larger than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, f"the upload is {int(declared)} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaTypeError(
            "the upload must be multipart/form-data",
            remedy="send the files as form fields named 'files'",
        )
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), limit), max_files=MAX_FILES, max_fields=20
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise UnprocessableError(
            f"malformed multipart body: {exc.message}",
            remedy=f"send at most {MAX_FILES} files as form fields named 'files'",
        ) from None


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopped with 413 once more than `limit` bytes arrived."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise _too_large(limit, "the upload is larger")
        yield chunk


def _too_large(limit: int, what: str) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"{what} than the limit of {limit} bytes (api.max_upload_bytes)",
        remedy="upload the files in several requests, or ask the operator to raise "
        "api.max_upload_bytes",
    )


def _parse_upload(form: FormData, tenant: str) -> tuple[list[tuple[str, UploadFile]], IngestTarget]:
    """The named files and where they go; 422 for a malformed upload, 415 for a file type."""
    try:
        return _uploaded_files(form), IngestTarget(tenant, _groups(form))
    except ValueError as exc:
        raise UnprocessableError(str(exc), remedy="fix the upload and send it again") from None


def _uploaded_files(form: FormData) -> list[tuple[str, UploadFile]]:
    """(document id, file) of each uploaded file; an unsupported type refuses the upload."""
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if not files:
        raise ValueError("the upload holds no files (form fields named 'files')")
    named: list[tuple[str, UploadFile]] = []
    for upload in files:
        name = _document_name(upload.filename or "")
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UnsupportedMediaTypeError(
                f"{name}: unsupported file type {suffix or '(none)'!r}",
                remedy=f"upload {SUPPORTED} files (convert others to one of these first)",
            )
        if name in (n for n, _ in named):
            raise ValueError(f"{name}: uploaded twice in one request")
        named.append((name, upload))
    return named


def _document_name(filename: str) -> str:
    """A file name as a relative path with no '..', hidden or empty parts (the document id)."""
    parts = [part for part in filename.replace("\\", "/").split("/") if part]
    name = "/".join(parts)
    if not parts or len(name) > MAX_NAME_CHARS or any(p.startswith(".") for p in parts):
        raise ValueError(
            f"{filename!r} is not a usable file name (1-{MAX_NAME_CHARS} characters, folders "
            "allowed, no hidden or '..' parts)"
        )
    return name


def _groups(form: FormData) -> tuple[str, ...]:
    values = [value for value in form.getlist("acl") if isinstance(value, str)]
    return tuple(g.strip() for value in values for g in value.split(",") if g.strip())


def _ingest_upload(
    kb: KnowledgeBase,
    files: Sequence[tuple[str, UploadFile]],
    target: IngestTarget,
    actor: Actor,
) -> list[DocumentReport]:
    """Save the uploads in a temporary folder, ingest them, close them (blocking)."""
    try:
        with tempfile.TemporaryDirectory(prefix="airlock-upload-") as folder:
            root = Path(folder)
            for name, upload in files:
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                upload.file.seek(0)
                with path.open("wb") as out:
                    shutil.copyfileobj(upload.file, out)
            return _ingest(kb, root, [name for name, _ in files], target, actor)
    finally:
        for _, upload in files:
            upload.file.close()


def _ingest(
    kb: KnowledgeBase, root: Path, names: Sequence[str], target: IngestTarget, actor: Actor
) -> list[DocumentReport]:
    """Load the saved files as `airlock kb ingest` does, then ingest them under the lock."""
    loaded = LoadResult()
    for name in names:
        loaded += load_path(root / name, root=root)
    failed = [DocumentReport(p.path, p.path, "failed", reason=p.reason) for p in loaded.problems]
    with KB_WRITE_LOCK:
        return failed + kb.ingest(loaded.documents, target, actor)


def _delete(kb: KnowledgeBase, tenant: str, doc_id: str, actor: Actor) -> bool:
    with KB_WRITE_LOCK:
        return kb.delete(tenant, doc_id, actor)


def _result(reports: Sequence[DocumentReport]) -> IngestResult:
    counts = {s: sum(r.status == s for r in reports) for s in ("added", "updated", "unchanged")}
    summary = IngestSummary(
        **counts,
        failed=sum(r.status == "failed" for r in reports),
        chunks=sum(r.chunks for r in reports),
    )
    documents = [DocumentReportOut.model_validate(asdict(r)) for r in reports]
    return IngestResult(summary=summary, documents=documents)
