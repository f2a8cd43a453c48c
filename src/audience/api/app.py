"""The collector's FastAPI application: routes, error answers, lifespan and OpenAPI.

The dashboard (:mod:`audience.ui`) is mounted under ``/ui``, with the collector's live feed.

Errors are answered from the one exception tree, always as ``{"success": false, "code",
"message"}`` (the body the official Segment and RudderStack clients parse; ``code`` is the
error class's stable :attr:`~audience.errors.AudienceError.code`): a
:class:`RequestRejectedError` by its status, a full buffer by 429 and any other retryable
error by 503, both with ``Retry-After`` (the clients retry on them), so that a refused request
never reached the queue and a 2xx always did. Routing errors of the framework (404, 405) and
bugs (500) answer in the same shape.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException

from audience.api import events, experiments, pixel, privacy, profiles, webhooks
from audience.api.http_io import component_schemas, error_response, json_response
from audience.config.settings import Settings, check_server_secrets
from audience.errors import AudienceError, QueueFullError, RequestRejectedError, UnauthorizedError
from audience.pipelines.experiments import running_allocations
from audience.realtime.events import BATCH_ADAPTER, EVENT_ADAPTER
from audience.realtime.runtime import Collector
from audience.store.workspace import Workspace
from audience.ui import mount_dashboard

log = logging.getLogger(__name__)
VERSION = "1"
RETRY_AFTER_SECONDS = 1
"""What 429 and 503 ask clients to wait: the buffer drains and a broker fails over in about
that long, and the Segment client backs off further on its own when it keeps happening."""
HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


async def _rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestRejectedError)
    headers = (
        {"WWW-Authenticate": 'Basic realm="audience"'}
        if isinstance(exc, UnauthorizedError)
        else None
    )
    return error_response(exc.status, exc.code, str(exc), headers)


async def _failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AudienceError)
    if exc.retryable:
        status = 429 if isinstance(exc, QueueFullError) else 503
        return error_response(status, exc.code, str(exc), {"Retry-After": str(RETRY_AFTER_SECONDS)})
    log.error("request failed: %s", exc)
    return error_response(500, exc.code, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    """The framework's own refusals (no such route, wrong method) in the same shape."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(exc.status_code, code, message, dict(exc.headers or {}) or None)


async def _invalid(request: Request, exc: Exception) -> Response:
    """A parameter FastAPI validates itself (path, query) is wrong: 400 like any bad input."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_response(400, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")


async def _crashed(request: Request, exc: Exception) -> Response:
    """A bug of ours: a 500 in the contract's shape, the details only in the log."""
    log.error("request crashed: %s: %s", type(exc).__name__, exc)
    return error_response(
        500, "internal_error", "the server failed on this request; it is logged, retry later"
    )


async def health(request: Request) -> Response:
    """Whether the server runs, on which queue, and whether what it accepts is consumed.

    ``degraded`` (still 200: events are accepted and kept) says why when the in-process
    consumer is not running or waits for a dependency.
    """
    collector: Collector = request.app.state.collector
    return json_response(collector.health())


class CollectorApp(FastAPI):
    """FastAPI, with the tracking routes answered before its routing and middleware.

    A ``/v1/track`` request spent more time in the framework's layers (routing, dependency
    solving, exception middleware) than in the collector's own work; these routes take no
    parameters and no dependencies, so they are called directly, their errors answered by
    the same handlers as every other route's, in the same shape.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast: dict[str, Callable[[Request], Awaitable[Response]]] = {}
        """Handlers by path, answered before the framework (set by :func:`create_app`)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.fast.get(scope["path"])
            if handler is not None:
                scope["app"] = self
                request = Request(scope, receive)
                try:
                    response = await handler(request)
                except Exception as exc:
                    response = await _answer(request, exc)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


async def _answer(request: Request, exc: Exception) -> Response:
    """What the exception handlers registered in :func:`create_app` answer for ``exc``."""
    if isinstance(exc, RequestRejectedError):
        return await _rejected(request, exc)
    if isinstance(exc, AudienceError):
        return await _failed(request, exc)
    return await _crashed(request, exc)


def create_app(collector: Collector) -> FastAPI:
    """The application serving ``collector``; it starts and stops with the server."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await collector.start()
        # Everything built so far (the app, its schemas, the settings) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it, which
        # it otherwise did every few requests under load (a fifth of the server's time).
        gc.freeze()
        try:
            yield
        finally:
            await collector.stop()

    app = CollectorApp(
        title="Audience collector",
        version=VERSION,
        description="Segment-compatible event collection, inbound webhooks and live profiles.",
        lifespan=lifespan,
    )
    app.state.collector = collector
    app.fast = events.handlers()
    app.add_exception_handler(RequestRejectedError, _rejected)
    app.add_exception_handler(AudienceError, _failed)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _crashed)
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
