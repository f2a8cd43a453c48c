"""The dashboard's router: authentication, rendering, errors, static files, login, live feed.

Each page handler (:mod:`audience.ui.pages`) gets the viewer and an open read-only warehouse
connection and returns a template with its context; this module turns the outcome into the
answer: the page, a 404 page for a segment or run that does not exist, a 401 login page for a
missing, wrong or expired key, a 503 page when another process holds the warehouse.
The warehouse is opened per request and closed at once: DuckDB lets one process write the
file, and batch commands must keep it between two page loads.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import duckdb
import jinja2
import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from audience.errors import NotFoundError, TransientError, UnauthorizedError
from audience.realtime.feed import EventFeed
from audience.store.workspace import Workspace
from audience.ui.auth import COOKIE, Sessions, Viewer
from audience.ui.cache import PageCache, file_state
from audience.ui.i18n import choose_language, number, translator

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
OPEN_TRIES = 5
"""Tries to open the warehouse while the server's own loader writes it (a short load)."""


@dataclass(frozen=True)
class Page:
    """What a handler returns: a template, its context, and the HTTP status."""

    template: str
    context: dict[str, Any]
    status: int = 200


@dataclass(frozen=True)
class Download:
    filename: str
    body: bytes | Iterator[bytes]
    """The file, or its chunks (streamed as they come)."""
    media_type: str = "text/csv; charset=utf-8"


Handler = Callable[[Request, Viewer, duckdb.DuckDBPyConnection], Page | Download | Response]


def plotly_js() -> Path | None:
    """plotly.min.js as the ``plotly`` package ships it (no CDN: the dashboard works offline);
    None when the optional package is not installed (``pip install 'audience[ui]'``)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def moment(value: object) -> str:
    """A stored (UTC) time to the second, as the pages show times."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    return "–" if value is None else str(value)


def show(value: object, language: str) -> str:
    """A table cell: numbers grouped (integers whole, others to 3 places), times as stored."""
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value).lower()
    if isinstance(value, int):
        return number(value, language)
    if isinstance(value, float):
        return number(value, language, 3)
    return moment(value)


def over_https(request: Request) -> bool:
    """Whether the browser reached us over https, directly or through a proxy saying so
    (``X-Forwarded-Proto``; trusting it can only make the cookie stricter)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


class Dashboard:
    """The dashboard of one workspace; ``feed`` is the collector's (None: no live feed)."""

    def __init__(self, workspace: Workspace, feed: EventFeed | None = None) -> None:
        self.workspace = workspace
        self.feed = feed
        self.sessions = Sessions(workspace.settings.server)
        self.cache = PageCache()
        self.charts = plotly_js() is not None
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("audience.ui", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )

    # -- authentication -------------------------------------------------------------------

    def viewer(self, request: Request) -> Viewer:
        """Who asks: a Basic/Bearer key, else the login cookie; UnauthorizedError otherwise."""
        authorization = request.headers.get("authorization")
        if authorization:
            return self.sessions.from_header(authorization)
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            raise UnauthorizedError("log in with a read key to see the dashboard")
        return self.sessions.verify(cookie, self.workspace.clock.now())

    # -- rendering ------------------------------------------------------------------------

    def render(self, request: Request, page: Page, viewer: Viewer | None) -> HTMLResponse:
        language = choose_language(request.headers.get("accept-language"))
        t = translator(language)
        template = self.templates.get_template(page.template)
        html = template.render(
            t=t,
            lang=language,
            viewer=viewer,
            form_token="" if viewer is None else self.sessions.form_token(viewer),
            num=lambda v, digits=0: number(v, language, digits),
            when=moment,
            show=lambda v: show(v, language),
            q=lambda v: quote(str(v), safe=""),
            path=request.url.path,
            charts=self.charts,
            **{"nav": "", **page.context},
        )
        headers = {"Content-Language": language, "Cache-Control": "no-store"}
        return HTMLResponse(html, page.status, headers=headers)

    def login_page(self, request: Request, message: str, status: int = 401) -> HTMLResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        page = Page("login.html", {"message": message, "next": target}, status)
        response = self.render(request, page, None)
        if request.headers.get("authorization"):  # a script: say how to authenticate
            response.headers["WWW-Authenticate"] = 'Basic realm="audience"'
        return response

    def _open(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection, waiting briefly while the server's loader writes."""
        for attempt in range(OPEN_TRIES):
            try:
                return self.workspace.warehouse(read_only=True).con
            except (TransientError, duckdb.Error) as exc:
                if attempt == OPEN_TRIES - 1:
                    raise TransientError(
                        f"the warehouse is busy ({exc}); reload in a moment"
                    ) from exc
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    async def serve(
        self, request: Request, handler: Handler, admin: bool = False, cached: bool = False
    ) -> Response:
        """Authenticate, run ``handler`` on a fresh read-only connection, render its outcome.

        ``cached``: the page's record is reused while the warehouse file is unchanged (a page
        that reads only the warehouse, whoever asks).
        """
        if not request.headers.get("authorization") and not request.cookies.get(COOKIE):
            # Nobody has tried to log in yet: the login page, no error to show.
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
        try:
            viewer = self.viewer(request)
        except UnauthorizedError as exc:
            return self.login_page(request, str(exc))
        if admin and not viewer.admin:
            page = Page("error.html", {"title": "403", "message": "an admin key is needed"}, 403)
            return self.render(request, page, viewer)

        def run() -> Page | Download | Response:
            key = (
                file_state(self.workspace.warehouse_path),
                request.url.path,
                request.url.query,
                choose_language(request.headers.get("accept-language")),
            )
            if cached and isinstance(found := self.cache.get(key), Page):
                return found
            con = self._open()
            try:
                outcome = handler(request, viewer, con)
            finally:
                con.close()
            if cached and isinstance(outcome, Page):
                self.cache.put(key, outcome)
            return outcome

        try:
            outcome = await run_in_threadpool(run)
        except NotFoundError as exc:
            outcome = Page("error.html", {"title": "404", "message": str(exc)}, 404)
        except TransientError as exc:
            outcome = Page("error.html", {"title": "503", "message": str(exc)}, 503)
        except UnauthorizedError as exc:
            return self.login_page(request, str(exc))
        if isinstance(outcome, Download):
            headers = {"Content-Disposition": f'attachment; filename="{outcome.filename}"'}
            if isinstance(outcome.body, bytes):
                return Response(outcome.body, media_type=outcome.media_type, headers=headers)
            return StreamingResponse(outcome.body, media_type=outcome.media_type, headers=headers)
        if isinstance(outcome, Page):
            return self.render(request, outcome, viewer)
        return outcome

    # -- login, logout, static, live ----------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        page = Page("login.html", {"message": "", "next": request.query_params.get("next", "")})
        return self.render(request, page, None)

    async def login(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        key = (form.get("key") or [""])[0]
        target = (form.get("next") or ["/ui/"])[0]
        if not target.startswith("/ui") or target.startswith("/ui/login"):
            target = "/ui/"  # never redirect off the dashboard
        try:
            cookie = self.sessions.issue(key, self.workspace.clock.now())
        except UnauthorizedError as exc:
            page = Page("login.html", {"message": str(exc), "next": target}, 401)
            return self.render(request, page, None)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(self.sessions.lifetime.total_seconds()),
            path="/ui",
            httponly=True,
            samesite="strict",
            secure=over_https(request),
        )
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = plotly_js() if name == "plotly.min.js" else None
        if name in {"dashboard.css", "dashboard.js"}:
            path = STATIC / name
        if path is None:
            return Response("not found", 404, media_type="text/plain")
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    async def stream(self, request: Request) -> Response:
        """Server-sent events: each accepted event as it arrives (bounded; see EventFeed)."""
        try:
            self.viewer(request)
        except UnauthorizedError as exc:
            return Response(str(exc), 401, media_type="text/plain")
        if self.feed is None:
            return Response("no live feed: serve with 'audience serve'", 404)
        try:
            subscription = self.feed.subscribe()
        except TransientError as exc:
            return Response(str(exc), 503, media_type="text/plain", headers={"Retry-After": "5"})
        feed = self.feed

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 3000\n\n"
                while not subscription.closed and not await request.is_disconnected():
                    items = await subscription.next(timeout=2.0)
                    if subscription.dropped:
                        yield b"event: dropped\ndata: %d\n\n" % subscription.dropped
                        subscription.dropped = 0
                    for item in items:
                        yield b"data: " + orjson.dumps(item) + b"\n\n"
                    if not items:
                        yield b": keep-alive\n\n"
            except asyncio.CancelledError:
                pass
            finally:
                feed.unsubscribe(subscription)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def dashboard_router(workspace: Workspace, feed: EventFeed | None = None) -> APIRouter:
    """Every dashboard route, to mount under ``/ui``."""
    from audience.ui.pages import register

    dashboard = Dashboard(workspace, feed)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/login", dashboard.login_form, methods=["GET"])
    router.add_api_route("/login", dashboard.login, methods=["POST"])
    router.add_api_route("/logout", dashboard.logout, methods=["GET", "POST"])
    router.add_api_route("/static/{name}", dashboard.static, methods=["GET"])
    router.add_api_route("/live/stream", dashboard.stream, methods=["GET"])
    register(router, dashboard)
    return router


def mount_dashboard(app: FastAPI, workspace: Workspace, feed: EventFeed | None = None) -> None:
    """Serve the dashboard of ``workspace`` under ``/ui`` of ``app``."""
    app.include_router(dashboard_router(workspace, feed), prefix="/ui")

    async def root(request: Request) -> Response:
        return RedirectResponse("/ui/", status_code=307)

    app.add_api_route("/ui", root, methods=["GET"], include_in_schema=False)


def create_dashboard_app(workspace: Workspace) -> FastAPI:
    """``audience ui``: the dashboard alone (no collector, hence no live feed)."""
    app = FastAPI(title="Audience dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    mount_dashboard(app, workspace)
    return app
