"""Data-subject erasure (GDPR art. 17) for administrators, as `airlock subjects erase`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import Admin, State
from api.errors import problem_doc
from api.parts import ApiParts
from api.routes.kb import KB_WRITE_LOCK
from api.schemas.subjects import ErasureReceiptOut
from audit.events import Actor
from helpdesk.erasure import ErasureReceipt, erase_subject

router = APIRouter(prefix="/v1/subjects", tags=["data subjects"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: problem_doc(status) for status in (400, 401, 403, 429)
}


@router.delete(
    "/{subject_id}",
    response_model=ErasureReceiptOut,
    responses=_ERRORS,
    summary="Erase a data subject's words from the tenant's stores",
)
async def erase(
    *,
    subject_id: Annotated[
        str, Path(min_length=1, max_length=255, description="The customer id tickets carry.")
    ],
    principal: Admin,
    state: State,
) -> ErasureReceiptOut:
    """Erase the subject's ticket texts, decision texts, KB documents and PII vault key.

    Only the token's tenant is touched. Decision records are kept with their text fields
    blanked, and a `subject.erased` audit event records the receipt. Erasing again is safe:
    the receipt then counts nothing removed.
    """
    receipt = await asyncio.to_thread(
        _erase, state.parts, subject_id, principal.get_actor(), principal.tenant
    )
    return ErasureReceiptOut.model_validate(receipt.to_dict())


def _erase(parts: ApiParts, subject_id: str, actor: Actor, tenant: str) -> ErasureReceipt:
    """Erase under the knowledge base's write lock (erasure deletes the subject's documents)."""
    with KB_WRITE_LOCK:
        return erase_subject(
            subject_id,
            engine=parts.engine,
            audit=parts.audit,
            actor=actor,
            kb=parts.knowledge,
            tenant=tenant,
        )
