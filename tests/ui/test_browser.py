"""The dashboard in a real browser: Debian's chromium driven by Playwright, against
``audience serve`` on a workspace built from the demo data (1,500 customers).

Every page loads with no console error and no failed request, and is saved as a screenshot
under tests/ui/screenshots/ (git-ignored: look at them); a segment shows the size the
warehouse holds; its export downloads exactly its members; the live feed shows an event sent
to the collector; the login refuses a wrong key.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

from audience.ingest.importer import import_file
from audience.pipelines.demo import run_demo
from audience.pipelines.segment_run import run_segmentation
from audience.store.workspace import Workspace
from tests import procs
from tests.conftest import DEMO_END, write
from tests.realtime.conftest import free_port, healthy
from tests.ui.helpers import ADMIN_KEY, READ_KEY, basic

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright = pytest.importorskip("playwright.sync_api")

SHOTS = Path(__file__).parent / "screenshots"
WRITE_KEY = "write-key-for-the-browser-tests"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BAD_ORDERS = (
    "id_commande;id_client;date_commande;ref_produit;libelle;categorie;quantite;prix_unitaire;"
    "montant;remise;devise;canal\n"
    "CMDX1;C0000004;le 19 novembre;SKU1;Article;Sport;1;10,00;10,00;0,00;EUR;web\n"
    "CMDX2;C9999999;19/11/2026 10:00;SKU1;Article;Sport;1;10,00;10,00;0,00;EUR;web\n"
)


@dataclass
class Served:
    url: str
    sizes: dict[str, int]
    """Current size of every segment, as the warehouse holds it before the server starts."""
    members: dict[str, set[str]]
    run_id: str
    previous: str
    """A segment of the clustering run the second one replaced (no member left)."""


@dataclass
class Watch:
    """What went wrong while a page loaded: console errors, failed requests, 4xx/5xx answers."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on(
            "console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}")
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on(
            "response", lambda r: r.status >= 400 and self.problems.append(f"{r.status} {r.url}")
        )

    def _failed(self, request: Any) -> None:
        # The live feed's stream is cut when the browser leaves the page: not a failure.
        if request.url.endswith("/ui/live/stream") and "ABORTED" in (request.failure or ""):
            return
        self.problems.append(f"failed: {request.url} {request.failure}")


@contextmanager
def _quiet(description: str) -> Iterator[Any]:
    yield lambda *args, **kwargs: None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("dashboard") / "demo"
    run_demo(root, 1_500, _quiet, seed=11, end=DEMO_END)
    ws = Workspace.open(root)
    bad = write(root.parent / "bad-orders.csv", BAD_ORDERS)
    import_file(ws, "orders", bad, accept_partial=True)  # two rows for the quarantine page
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        # A second clustering run: the runs page draws who moved between the two.
        run = run_segmentation(con, ws.config, k=4, method="kmeans", clock=ws.clock)
    with ws.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(
            "SELECT segment_id, customer_id FROM memberships WHERE valid_to IS NULL"
        ).fetchall()
        previous = warehouse.con.execute(
            "SELECT min(segment_id) FROM segments s JOIN segment_runs r USING (run_id) "
            "WHERE r.method NOT IN ('rules', 'clv_tiers', 'churn_bands') AND r.run_id <> ?",
            [run.run_id],
        ).fetchall()[0][0]
    members: dict[str, set[str]] = {}
    for segment_id, customer_id in rows:
        members.setdefault(segment_id, set()).add(customer_id)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "AUDIENCE_SERVER__WRITE_KEYS": f'["{WRITE_KEY}"]',
        "AUDIENCE_SERVER__READ_KEYS": f'["{READ_KEY}"]',
        "AUDIENCE_SERVER__ADMIN_KEYS": f'["{ADMIN_KEY}"]',
    }
    command = procs.audience("serve", "--port", str(port), "--workspace", str(root))
    log = root.parent / "serve.log"
    with procs.running(
        command,
        log=log,
        env=env,
        ready=lambda proc: procs.wait_for(lambda: healthy(url), proc, 180, what="the server"),
    ):
        sizes = {s: len(m) for s, m in members.items()}
        yield Served(url, sizes, members, run.run_id, previous)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _login(browser: Any, served: Served, key: str, locale: str = "en-GB") -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=locale, accept_downloads=True
    )
    page = context.new_page()
    page.goto(f"{served.url}/ui/")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served.url}/ui/")
    return page


def test_every_page_loads_cleanly_and_is_screenshotted(browser: Any, served: Served) -> None:
    SHOTS.mkdir(exist_ok=True)
    segment = f"{served.run_id}:0"
    previous = quote(served.previous, safe="")
    pages = {
        "overview": "/ui/",
        "segments": "/ui/segments",
        "segment": f"/ui/segment?id={segment}",
        "replaced-segment": f"/ui/segment?id={previous}",
        "rule-segment": "/ui/segment?id=rule%3ALoyal%20e-mail%20readers",
        "map": "/ui/map",
        "predictions": "/ui/predictions",
        "cohorts": "/ui/cohorts",
        "cohorts-revenue": "/ui/cohorts?metric=revenue",
        "experiments": "/ui/experiments",
        "runs": "/ui/runs",
        "quality": "/ui/quality",
        "live": "/ui/live",
        "not-found": "/ui/segment?id=run-x%3A0",
    }
    for locale, key in (("en-GB", ADMIN_KEY), ("fr-FR", READ_KEY)):
        page = _login(browser, served, key, locale)
        for name, path in pages.items():
            watch = Watch()
            watch.attach(page)
            page.goto(served.url + path)
            if name == "live":
                page.wait_for_selector("#live-status[data-state=open]")
            else:
                page.wait_for_load_state("networkidle")
            problems = watch.problems
            if name == "not-found":  # a 404 page, which the browser logs itself; nothing else
                assert f"404 {served.url}{path}" in problems
                problems = [p for p in problems if "404" not in p]
                assert page.locator("h1").inner_text().startswith("404")
            assert problems == [], (name, locale, problems)
            charts = page.locator("div.chart")
            for i in range(charts.count()):  # Plotly drew every chart
                assert charts.nth(i).locator("svg.main-svg").count() > 0, (name, i)
            if name == "runs":  # who moved from the replaced run into the latest one
                assert page.locator("#chart-transition svg.main-svg").count() > 0
            if name == "replaced-segment":  # its members all left when the new run came
                assert page.locator("#segment-size").get_attribute("data-size") == "0"
            page.screenshot(path=SHOTS / f"{name}-{locale[:2]}.png", full_page=True)
        page.context.close()


def test_segment_detail_shows_the_size_the_warehouse_holds(browser: Any, served: Served) -> None:
    page = _login(browser, served, READ_KEY)
    page.goto(f"{served.url}/ui/segments")
    links = page.locator("#segments a")
    assert links.count() == len(served.sizes)
    for i in range(links.count()):
        link = links.nth(i)
        segment_id = link.get_attribute("href").split("id=", 1)[1]
        link.click()
        shown = page.locator("#segment-size")
        assert int(shown.get_attribute("data-size")) == served.sizes[unquote(segment_id)]
        page.go_back()
    # Search finds one member of the segment among its pages.
    segment = f"{served.run_id}:1"
    member = sorted(served.members[segment])[-1]
    page.goto(f"{served.url}/ui/segment?id={segment}")
    page.fill("input[name=search]", member)
    page.press("input[name=search]", "Enter")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#member-table tbody tr")
    assert rows.count() == 1 and member in rows.first.inner_text()
    page.context.close()


def test_the_export_downloads_exactly_its_members(browser: Any, served: Served) -> None:
    page = _login(browser, served, READ_KEY)
    segment = "rule:Loyal e-mail readers"
    page.goto(f"{served.url}/ui/segment?id=rule%3ALoyal%20e-mail%20readers")
    with page.expect_download() as info:
        page.click("#export")
    path = info.value.path()
    with open(path, newline="", encoding="utf-8") as handle:
        ids = [row["customer_id"] for row in csv.DictReader(handle)]
    assert len(ids) == len(set(ids)) and set(ids) == served.members[segment]
    page.context.close()


def test_the_live_feed_shows_an_event_sent_to_the_collector(browser: Any, served: Served) -> None:
    page = _login(browser, served, READ_KEY)
    page.goto(f"{served.url}/ui/live")
    page.wait_for_selector("#live-status[data-state=open]")
    user = f"browser-{uuid.uuid4().hex[:8]}"
    answer = httpx.post(
        f"{served.url}/v1/track",
        json={"userId": user, "event": "Dashboard Tested", "messageId": uuid.uuid4().hex},
        headers=basic(WRITE_KEY),
    )
    assert answer.status_code == 200
    row = page.locator("#live-feed tbody tr", has_text=user)
    row.wait_for(timeout=10_000)
    assert "Dashboard Tested" in row.inner_text()
    page.screenshot(path=SHOTS / "live-with-event-en.png", full_page=True)
    page.context.close()


def test_the_login_refuses_a_wrong_key(browser: Any, served: Served) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served.url}/ui/segments")
    assert page.url.startswith(f"{served.url}/ui/login")
    page.fill("input[name=key]", "not-a-key-of-this-server")
    with page.expect_response(lambda r: r.url.endswith("/ui/login")) as info:
        page.click("button[type=submit]")
    assert info.value.status == 401
    assert page.locator(".error").inner_text().startswith("wrong key")
    assert context.cookies() == []
    # A write key opens nothing either: it ships inside web pages.
    page.fill("input[name=key]", WRITE_KEY)
    page.click("button[type=submit]")
    assert page.locator(".error").count() == 1
    page.goto(f"{served.url}/ui/runs")
    assert page.url.startswith(f"{served.url}/ui/login")
    context.close()
