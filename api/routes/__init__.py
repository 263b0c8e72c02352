"""The API's routers, in the order they appear in the OpenAPI document."""

from fastapi import APIRouter

from api.routes import (
    analytics,
    audit,
    chat,
    escalations,
    health,
    kb,
    metrics,
    subjects,
    tickets,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    tickets.router,
    escalations.router,
    analytics.router,
    webhooks.router,
    kb.router,
    chat.router,
    audit.router,
    subjects.router,
    health.router,
    metrics.router,
)
