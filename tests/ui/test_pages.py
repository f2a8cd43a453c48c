"""The dashboard served in-process: what each page says with no data, bad input, keys and
sessions, the two languages, admin actions, and tables other features add later."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from audience.ingest.importer import import_file
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from audience.ui.app import Dashboard
from audience.ui.auth import COOKIE
from tests.conftest import write
from tests.ui.helpers import ADMIN_KEY, NOW, READ_KEY, Client, basic, keyed

PAGES = [
    "/ui/",
    "/ui/segments",
    "/ui/map",
    "/ui/predictions",
    "/ui/cohorts",
    "/ui/experiments",
    "/ui/runs",
    "/ui/quality",
    "/ui/live",
]

# C2's birth date is off the calendar: it waits in the quarantine.
CUSTOMERS = "id_client;prenom;nom;date_naissance\nC1;Anne;Roux;25/11/1980\nC2;Zoe;Roux;31/02/1990\n"


@pytest.fixture
def empty(tmp_path: Path) -> Workspace:
    Workspace.init(tmp_path / "ws")
    return keyed(tmp_path / "ws")


def test_every_page_of_an_empty_workspace_says_what_to_run(empty: Workspace) -> None:
    client = Client(empty)
    expected = {
        "/ui/": "audience demo",
        "/ui/segments": "audience segment",
        "/ui/map": "audience segment",
        "/ui/predictions": "audience predict clv",
        "/ui/cohorts": "audience import orders",
        "/ui/experiments": "audience experiment create",
        "/ui/runs": "audience drift",
        "/ui/quality": "Nothing in quarantine",
        "/ui/live": "audience serve",  # no collector behind 'audience ui'
    }
    for path in PAGES:
        answer = client.get(path, headers=basic(READ_KEY))
        assert answer.status_code == 200, path
        assert expected[path] in answer.text, path


def test_unknown_segment_run_or_metric_is_a_404_page(empty: Workspace) -> None:
    client = Client(empty)
    for path in [
        "/ui/segment?id=run-x:0",
        "/ui/segment",
        "/ui/map?run=nope",
        "/ui/segment/export.csv?id=rule:nope",
    ]:
        answer = client.get(path, headers=basic(READ_KEY))
        assert answer.status_code == 404, path
        assert "404" in answer.text and "Traceback" not in answer.text


def test_without_credentials_the_browser_is_sent_to_the_login_page(empty: Workspace) -> None:
    answer = Client(empty).get("/ui/segments")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Fsegments"


def test_a_wrong_key_gets_401_and_the_login_page(empty: Workspace) -> None:
    client = Client(empty)
    for headers in (basic("not-a-key-of-this-server"), {"Authorization": "Bearer nope"}):
        answer = client.get("/ui/", headers=headers)
        assert answer.status_code == 401
        assert 'name="key"' in answer.text and "wrong key" in answer.text
        assert answer.headers["www-authenticate"].startswith("Basic")
    # A write key is no read key: it ships inside web pages.
    assert client.get("/ui/", headers=basic("dev-write-key")).status_code == 401
    assert client.get("/ui/", headers={"Authorization": f"Bearer {READ_KEY}"}).status_code == 200


def test_login_sets_a_cookie_that_expires(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws")
    clock = FixedClock(NOW)
    client = Client(keyed(tmp_path / "ws", clock))
    refused = client.post("/ui/login", data={"key": "wrong", "next": "/ui/runs"})
    assert refused.status_code == 401 and "wrong key" in refused.text
    answer = client.post("/ui/login", data={"key": READ_KEY, "next": "/ui/runs"})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/runs"
    client.cookies[COOKIE] = answer.cookies[COOKIE]
    assert client.get("/ui/runs").status_code == 200
    clock.advance(hours=13)  # sessions last 12 hours by default
    expired = client.get("/ui/runs")
    assert expired.status_code == 401 and "session expired" in expired.text


def test_a_tampered_cookie_or_an_open_redirect_is_refused(empty: Workspace) -> None:
    client = Client(empty)
    answer = client.post("/ui/login", data={"key": READ_KEY, "next": "https://evil.example/"})
    assert answer.headers["location"] == "/ui/"
    cookie = answer.cookies[COOKIE]
    payload, _, signature = cookie.partition(".")
    forged = payload.replace(payload[:4], "YWRt") + "." + signature  # "adm..." in base64
    client.cookies[COOKIE] = forged
    assert client.get("/ui/").status_code == 401


def test_labels_follow_the_browser_language(empty: Workspace) -> None:
    client = Client(empty)
    french = client.get("/ui/", headers={**basic(READ_KEY), "Accept-Language": "fr-CA,fr;q=0.9"})
    assert '<html lang="fr">' in french.text and "Personnes" in french.text
    english = client.get("/ui/", headers={**basic(READ_KEY), "Accept-Language": "de,en;q=0.5"})
    assert '<html lang="en">' in english.text and "Persons" in english.text


def _quarantined(tmp_path: Path) -> Workspace:
    Workspace.init(tmp_path / "ws")
    ws = keyed(tmp_path / "ws")
    path = write(tmp_path / "clients.csv", CUSTOMERS)
    import_file(ws, "customers", path, accept_partial=True)
    return ws


def test_admins_discard_quarantined_rows_and_readers_cannot(tmp_path: Path) -> None:
    ws = _quarantined(tmp_path)
    client = Client(ws)
    page = client.get("/ui/quality", headers=basic(READ_KEY))
    row = re.search(r"<td>([0-9a-f]{12}:\d+)</td>", page.text)
    assert row is not None and "Discard" not in page.text  # a reader sees no action
    form = {"row": row.group(1), "action": "discard"}
    assert client.post("/ui/quality/action", data=form, headers=basic(READ_KEY)).status_code == 403
    done = client.post("/ui/quality/action", data=form, headers=basic(ADMIN_KEY))
    assert done.status_code == 303 and done.headers["location"] == "/ui/quality?done=discarded"
    with ws.warehouse(read_only=True) as warehouse:
        found = warehouse.con.execute("SELECT status, discarded_by FROM quarantine").fetchall()
    assert found == [("discarded", "dashboard:admin")]


def test_a_cookie_session_must_post_the_form_token(tmp_path: Path) -> None:
    ws = _quarantined(tmp_path)
    client = Client(ws)
    login = client.post("/ui/login", data={"key": ADMIN_KEY})
    client.cookies[COOKIE] = login.cookies[COOKIE]
    page = client.get("/ui/quality").text
    row = re.search(r'name="row" value="([^"]+)"', page)
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert row is not None and token is not None
    forged = client.post("/ui/quality/action", data={"row": row.group(1), "action": "discard"})
    assert forged.status_code == 401  # another site cannot post it for a logged-in admin
    done = client.post(
        "/ui/quality/action",
        data={"row": row.group(1), "action": "discard", "token": token.group(1)},
    )
    assert done.status_code == 303


def test_experiments_and_drift_pages_show_what_the_warehouse_holds(empty: Workspace) -> None:
    with empty.warehouse() as warehouse:
        warehouse.con.execute(
            """INSERT INTO experiments VALUES ('subject-line', 'rule:vip', 'vip',
                 '[{"name": "control", "weight": 50}, {"name": "treatment", "weight": 50}]',
                 0, 'conversion', '[]', 14, 14, 's', 'default', 0, 1, 'running',
                 '2026-11-20', NULL)"""
        )
        warehouse.con.execute(
            "INSERT INTO drift_checks VALUES ('d1', 'run-1', '2026-11-25', true, 0.4, ?)",
            [json.dumps({"features": []})],
        )
    client = Client(empty)
    experiments = client.get("/ui/experiments", headers=basic(READ_KEY)).text
    assert "subject-line" in experiments and "running" in experiments
    assert "Results" in experiments  # the analysis section, empty until someone is exposed
    overview = client.get("/ui/", headers=basic(READ_KEY)).text
    assert "run-1" in overview and "true" in overview and "0.400" in overview


def test_plotly_is_served_from_the_package_not_a_cdn(empty: Workspace) -> None:
    client = Client(empty)
    answer = client.get("/ui/static/plotly.min.js")
    assert answer.status_code == 200 and b"plotly" in answer.content[:2000].lower()
    page = client.get("/ui/", headers=basic(READ_KEY)).text
    assert "http://" not in page.replace("http://test", "") and "https://" not in page
    assert client.get("/ui/static/../app.py").status_code == 404


def test_without_plotly_pages_say_how_to_get_charts(
    empty: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("audience.ui.app.plotly_js", lambda: None)
    client = Client(empty)
    page = client.get("/ui/", headers=basic(READ_KEY)).text
    assert "pip install &#39;audience[ui]&#39;" in page and "plotly.min.js" not in page
    assert client.get("/ui/static/plotly.min.js").status_code == 404


def test_a_page_is_read_once_per_change_of_the_warehouse(
    empty: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(empty)
    dashboard = client.app  # the page cache lives in the router's Dashboard
    assert ">0</b>" in client.get("/ui/", headers=basic(READ_KEY)).text
    opened: list[int] = []
    original = Dashboard._open
    monkeypatch.setattr(Dashboard, "_open", lambda self: opened.append(1) or original(self))
    assert ">0</b>" in client.get("/ui/", headers=basic(READ_KEY)).text
    assert opened == []  # unchanged warehouse: the record kept in memory
    with empty.warehouse() as warehouse:
        warehouse.con.execute(
            "INSERT INTO customers (customer_id, source, import_id, updated_at) "
            "VALUES ('C1', 'crm', 'imp-1', '2026-11-20')"
        )
    assert '"n-customers">1</b>' in client.get("/ui/", headers=basic(READ_KEY)).text
    assert opened == [1]
    assert dashboard is not None


def test_admin_keys_and_the_session_secret_follow_the_key_policy() -> None:
    from audience.config.settings import ServerSettings, check_server_secrets
    from audience.errors import ConfigError

    strong = {"write_keys": ["w" * 20], "read_keys": ["r" * 20], "environment": "prod"}
    check_server_secrets(ServerSettings(**strong, admin_keys=["a" * 20]))
    with pytest.raises(ConfigError, match="admin_keys holds a key shorter"):
        check_server_secrets(ServerSettings(**strong, admin_keys=["short"]))
    with pytest.raises(ConfigError, match="both a write key and an admin key"):
        check_server_secrets(ServerSettings(**strong, admin_keys=["w" * 20]))
    with pytest.raises(ConfigError, match="session_secret is shorter"):
        check_server_secrets(ServerSettings(**strong, session_secret="tiny"))
    with pytest.raises(ConfigError, match="admin_keys holds a blank key"):
        check_server_secrets(ServerSettings(admin_keys=[" "]))


def test_the_export_is_streamed_with_the_members_it_holds(tmp_path: Path) -> None:
    from audience.pipelines.dashboard_segment import export_members
    from tests.pipelines.test_dashboard import _history

    Workspace.init(tmp_path / "ws")
    ws = keyed(tmp_path / "ws")
    with ws.warehouse() as warehouse:
        _history(warehouse.con)
        expected = export_members(warehouse.con, "rule:vip")
    answer = Client(ws).get("/ui/segment/export.csv?id=rule:vip", headers=basic(READ_KEY))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="rule-vip.csv"'
    assert answer.content == expected and b"'=D" in expected


def test_the_session_cookie_is_secure_over_https_or_behind_a_proxy_saying_so(
    empty: Workspace,
) -> None:
    client = Client(empty)

    def cookie(url: str = "/ui/login", **kwargs: object) -> str:
        answer = client.post(url, data={"key": READ_KEY, "next": "/ui/"}, **kwargs)
        assert answer.status_code == 303
        return answer.headers["set-cookie"].lower()

    assert "secure" not in cookie()  # plain http (a laptop): the browser would drop it
    assert "; secure" in cookie(headers={"X-Forwarded-Proto": "https"})
    assert "; secure" in cookie(url="https://test/ui/login")
