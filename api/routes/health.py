"""Liveness and readiness (no token: probes of orchestrators and load balancers)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import State
from api.parts import ReadinessCheck

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 5.0


class Liveness(BaseModel):
    """The process answers."""

    status: str = "ok"


class Check(BaseModel):
    """One dependency's readiness."""

    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    """Whether every dependency answers; 503 when one does not."""

    status: str = Field(description="ready or not-ready")
    checks: dict[str, Check]


@router.get("/healthz", response_model=Liveness, summary="Liveness")
async def healthz() -> Liveness:
    """The process is up (says nothing about its dependencies)."""
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready."}},
    summary="Readiness: database, Milvus, engines",
)
async def readyz(state: State) -> JSONResponse:
    """Each dependency checked now, within a few seconds."""
    names = list(state.parts.checks)
    results = await asyncio.gather(
        *(_run(state.parts.checks[name]) for name in names), return_exceptions=False
    )
    checks = {
        name: Check(ok=ok, detail=detail) for name, (ok, detail) in zip(names, results, strict=True)
    }
    ready = all(check.ok for check in checks.values())
    body = Readiness(status="ready" if ready else "not-ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _run(check: ReadinessCheck) -> tuple[bool, str]:
    try:
        result = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return False, f"no answer within {CHECK_TIMEOUT_S:g} s"
    except Exception as exc:  # a probe reports any failure, it never fails itself
        return False, f"{type(exc).__name__}: {exc}"
    return result
