"""The collector's FastAPI application: routes, error answers, lifespan and OpenAPI.

The dashboard (:mod:`audience.ui`) is mounted under ``/ui``, with the collector's live feed.

Errors are answered from the one exception tree: a :class:`RequestRejectedError` by its status and
its one-line message, a retryable error by 503 with ``Retry-After`` (Segment clients retry
on it), so that a refused request never reached the queue and a 2xx always did.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from audience.api import events, experiments, pixel, privacy, profiles, webhooks
from audience.api.http_io import component_schemas, json_response
from audience.config.settings import Settings, check_server_secrets
from audience.errors import AudienceError, RequestRejectedError, UnauthorizedError
from audience.pipelines.experiments import running_allocations
from audience.realtime.events import BATCH_ADAPTER, EVENT_ADAPTER
from audience.realtime.runtime import Collector
from audience.store.workspace import Workspace
from audience.ui import mount_dashboard

log = logging.getLogger(__name__)
VERSION = "1"


async def _rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestRejectedError)
    headers = (
        {"WWW-Authenticate": 'Basic realm="audience"'}
        if isinstance(exc, UnauthorizedError)
        else None
    )
    return json_response({"error": str(exc)}, exc.status, headers)


async def _failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AudienceError)
    if exc.retryable:
        return json_response({"error": str(exc)}, 503, {"Retry-After": "1"})
    log.error("request failed: %s", exc)
    return json_response({"error": str(exc)}, 500)


async def health(request: Request) -> Response:
    """Whether the server runs, on which queue, and whether what it accepts is consumed.

    ``degraded`` (still 200: events are accepted and kept) says why when the in-process
    consumer is not running or waits for a dependency.
    """
    collector: Collector = request.app.state.collector
    return json_response(collector.health())


def create_app(collector: Collector) -> FastAPI:
    """The application serving ``collector``; it starts and stops with the server."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await collector.start()
        try:
            yield
        finally:
            await collector.stop()

    app = FastAPI(
        title="Audience collector",
        version=VERSION,
        description="Segment-compatible event collection, inbound webhooks and live profiles.",
        lifespan=lifespan,
    )
    app.state.collector = collector
    app.add_exception_handler(RequestRejectedError, _rejected)
    app.add_exception_handler(AudienceError, _failed)
    for module in (events, pixel, webhooks, profiles, experiments, privacy):
        app.include_router(module.router())
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        operation_id="health",
        response_class=Response,
        responses={200: {"description": "The server runs."}},
        tags=["service"],
    )
    mount_dashboard(app, collector.workspace, collector.feed)  # /ui: out of the OpenAPI
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(
                component_schemas(EVENT_ADAPTER, BATCH_ADAPTER)
            )
            components["securitySchemes"] = {
                "writeKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "The write key as user name, empty password.",
                },
                "readKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A read key as user name, empty password.",
                },
                "adminKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "An admin key as user name (or a Bearer token).",
                },
            }
            app.openapi_schema = schema
        return app.openapi_schema

    return build


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one per server process): workspace from settings.

    ``audience serve --workers N`` sets ``AUDIENCE_WORKSPACE``, which :class:`Settings` reads.
    """
    workspace = Workspace.open(None, Settings())
    settings = workspace.settings
    check_server_secrets(settings.server)
    collector = Collector(workspace, settings)
    # The assignment endpoint answers from the running experiments, read once at start.
    collector.consumer.engine.experiments = running_allocations(workspace)
    return create_app(collector)
