"""The API's routers, in the order they appear in the OpenAPI document."""

from fastapi import APIRouter

from api.routes import health, tickets

ROUTERS: tuple[APIRouter, ...] = (
    tickets.router,
    health.router,
)
