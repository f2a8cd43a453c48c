"""Backtests: the rule segments as of a past date, recomputed from the warehouse, agree with
what a live evaluation at that date recorded, and write nothing.

A shop's data arrive in two batches. At D (a FixedClock) the first batch is in, features are
computed and the rule segments evaluated, recording memberships M. Later the second batch
(orders and events after D, and a customer who signed up after D) comes in and a second
evaluation moves people in and out. Then ``members --as-of D`` reads M back from history, and
``evaluate --as-of D --dry-run`` recomputes M from the orders and events up to D alone.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from audience.cli import activation
from audience.config import FeatureSettings
from audience.config.activation import ActivationSettings
from audience.features.behaviour import compute_features
from audience.ingest.importer import import_file
from audience.pipelines.backtest import backtest
from audience.rules.evaluate import evaluate
from audience.rules.history import members
from audience.rules.loading import load_activation, plan_from_settings
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write

D = datetime(2026, 6, 1, 12, 0, 0)
LATER = datetime(2026, 7, 15, 12, 0, 0)

RULES = """
activation:
  segments:
    - name: recent
      when: {field: last_order_at, within_last: 30d}
    - name: big
      when: {field: monetary, gte: 100}
    - name: opener
      when: {performed: Email Opened, within: 30d}
    - name: quiet
      when: {not: {any: [{in_segment: recent}, {in_segment: opener}]}}
"""
SEGMENTS = ("rule:recent", "rule:big", "rule:opener", "rule:quiet")


def _event(n: int, user: str, event: str, at: str) -> str:
    return json.dumps(
        {"type": "track", "event": event, "userId": user, "messageId": f"m{n}", "timestamp": at}
    )


def _import(ws: Workspace, root: Path, batch: str, files: dict[str, str]) -> None:
    for kind, text in files.items():
        name = f"{batch}-{kind}.{'jsonl' if kind == 'events' else 'csv'}"
        import_file(ws, kind, write(root / name, text))


def _evaluate_live(ws: Workspace, at: datetime) -> dict[str, set[str]]:
    """What `audience segment` then `audience evaluate` do at ``at``: features, then rules."""
    plan = load_activation(ws.root)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        compute_features(con, FeatureSettings(as_of=at.isoformat()), now=at)
        evaluate(con, plan, at)
        return {sid: {m.customer_id for m in members(con, sid)} for sid in SEGMENTS}


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Workspace, dict[str, set[str]], dict[str, set[str]]]:
    """The workspace after both evaluations, with the members recorded at D and at LATER."""
    root = tmp_path / "ws"
    ws = Workspace.init(root)
    (root / "audience.yaml").write_text(
        (root / "audience.yaml").read_text(encoding="utf-8") + RULES, encoding="utf-8"
    )
    ws = Workspace(ws.root, ws.config, ws.settings, FixedClock(D))
    _import(
        ws,
        tmp_path,
        "first",
        {
            "customers": "id;date_inscription\nA;01/01/2026 00:00\nB;01/01/2026 00:00\n"
            "C;01/02/2026 00:00\nE;01/03/2026 00:00\n",
            "orders": "order_id;customer_id;ordered_at;amount\n"
            "O1;A;2026-05-20T10:00:00Z;120\n"
            "O2;B;2026-03-01T10:00:00Z;40\n"
            "O3;C;2026-05-25T10:00:00Z;30\n",
            "events": _event(1, "C", "Email Opened", "2026-05-28T08:00:00Z") + "\n",
        },
    )
    at_d = _evaluate_live(ws, D)
    ws = Workspace(ws.root, ws.config, ws.settings, FixedClock(LATER))
    _import(
        ws,
        tmp_path,
        "second",
        {
            "customers": "id;date_inscription\nG;20/06/2026 00:00\n",
            "orders": "order_id;customer_id;ordered_at;amount\n"
            "O4;B;2026-07-10T10:00:00Z;80\n"
            "O5;G;2026-07-01T10:00:00Z;200\n",
            "events": _event(2, "E", "Email Opened", "2026-07-01T08:00:00Z") + "\n",
        },
    )
    return ws, at_d, _evaluate_live(ws, LATER)


def _snapshot(ws: Workspace) -> dict[str, Any]:
    """Everything a backtest must leave as it was."""
    with ws.warehouse() as warehouse:
        con = warehouse.con
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("segment_runs", "segments", "memberships", "membership_reasons")
        }
        features = con.execute("SELECT * FROM features ORDER BY customer_id").fetchall()
        catalog = con.execute("SELECT * FROM feature_catalog ORDER BY ALL").fetchall()
    return {"counts": counts, "features": features, "catalog": catalog}


def test_members_as_of_and_backtest_agree_with_the_live_evaluation(
    shop: tuple[Workspace, dict[str, set[str]], dict[str, set[str]]],
) -> None:
    ws, at_d, later = shop
    assert at_d == {
        "rule:recent": {"A", "C"},
        "rule:big": {"A"},
        "rule:opener": {"C"},
        "rule:quiet": {"B", "E"},
    }
    # Later runs moved on: A and C lapsed, B and G bought, E opened an e-mail.
    assert later == {
        "rule:recent": {"B", "G"},
        "rule:big": {"A", "B", "G"},
        "rule:opener": {"E"},
        "rule:quiet": {"A", "C"},
    }
    before = _snapshot(ws)
    with ws.warehouse() as warehouse:
        recorded = {
            sid: {m.customer_id for m in members(warehouse.con, sid, D)} for sid in SEGMENTS
        }
        result = backtest(warehouse, load_activation(ws.root), ws.config, D)
    assert recorded == at_d
    assert {s.segment_id: set(s.members) for s in result.segments} == at_d
    # G signed up after D: not a person yet then, as in the live evaluation at D.
    assert result.n_people == 4
    assert _snapshot(ws) == before


def test_a_backtest_of_today_matches_the_latest_evaluation(
    shop: tuple[Workspace, dict[str, set[str]], dict[str, set[str]]],
) -> None:
    ws, _, later = shop
    with ws.warehouse() as warehouse:
        result = backtest(warehouse, load_activation(ws.root), ws.config, LATER)
    assert {s.segment_id: set(s.members) for s in result.segments} == later
    assert result.n_people == 5


runner = CliRunner()
app = typer.Typer()
activation.register(app)


def _cli(ws: Workspace, *args: str) -> Result:
    return runner.invoke(app, [*args, "--workspace", str(ws.root)])


def test_the_command_prints_counts_member_ids_and_a_file(
    shop: tuple[Workspace, dict[str, set[str]], dict[str, set[str]]], tmp_path: Path
) -> None:
    ws, at_d, _ = shop
    before = _snapshot(ws)
    shown = _cli(ws, "evaluate", "--as-of", D.isoformat(), "--dry-run", "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["dry_run"] is True and data["n_people"] == 4
    assert {sid: set(s["members"]) for sid, s in data["segments"].items()} == at_d
    assert data["segments"]["rule:quiet"]["size"] == 2

    out = tmp_path / "backtest.csv"
    table = _cli(ws, "evaluate", "--as-of", D.isoformat(), "--dry-run", "--out", str(out))
    assert table.exit_code == 0, table.stderr
    assert "nothing recorded" in table.stdout and "6 memberships written" in table.stdout
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["segment_id"], set()).add(row["customer_id"])
    assert found == at_d

    # A date alone means the end of that day, as for `members --as-of`.
    day = _cli(ws, "members", "recent", "--as-of", "2026-06-01", "--json")
    assert {m["customer_id"] for m in json.loads(day.stdout)["members"]} == at_d["rule:recent"]
    assert _snapshot(ws) == before


def test_the_past_is_only_ever_a_dry_run(
    shop: tuple[Workspace, dict[str, set[str]], dict[str, set[str]]],
) -> None:
    ws, _, _ = shop
    before = _snapshot(ws)
    recorded = _cli(ws, "evaluate", "--as-of", "2026-06-01")
    assert recorded.exit_code != 0 and "add --dry-run" in recorded.stderr
    both = _cli(ws, "evaluate", "--as-of", "2026-06-01", "--now", "2026-06-01", "--dry-run")
    assert both.exit_code != 0 and "not both" in both.stderr
    past = _cli(ws, "evaluate", "--now", D.isoformat())
    assert past.exit_code != 0 and "--as-of DATE --dry-run" in past.stderr
    # A dry run at a later time reports who would enter and exit, and records nothing.
    dry = _cli(ws, "evaluate", "--now", "2026-09-01T00:00:00", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["segments"]["rule:recent"]["exited"] == 2
    unreadable = _cli(ws, "evaluate", "--as-of", "June 1st", "--dry-run")
    assert unreadable.exit_code != 0 and "not a date" in unreadable.stderr
    assert _snapshot(ws) == before


def test_stored_segments_are_read_as_they_stood_at_the_date(
    shop: tuple[Workspace, dict[str, set[str]], dict[str, set[str]]],
) -> None:
    # A band segment of another method: A was in it around D, B joined after D.
    ws, _, _ = shop
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        con.execute(
            "INSERT INTO segment_runs (run_id, created_at, method, params, features, "
            "preprocessing, metrics, selection, model, n_customers) "
            "VALUES ('bands-1', ?, 'churn', '{}', '[]', '{}', '{}', '[]', '{}', 5)",
            [D - timedelta(days=10)],
        )
        con.execute(
            "INSERT INTO segments (segment_id, run_id, label, name, description, size, profile) "
            "VALUES ('churn:high', 'bands-1', 0, 'High churn risk', '', 1, '{}')"
        )
        con.execute(
            "INSERT INTO memberships (customer_id, segment_id, run_id, score, valid_from, "
            "valid_to) VALUES ('A', 'churn:high', 'bands-1', NULL, ?, ?), "
            "('B', 'churn:high', 'bands-1', NULL, ?, NULL)",
            [D - timedelta(days=10), D + timedelta(days=10), D + timedelta(days=5)],
        )
    settings = {"segments": [{"name": "at_risk", "when": {"in_segment": "High churn risk"}}]}
    plan = plan_from_settings(ActivationSettings.model_validate(settings))
    with ws.warehouse() as warehouse:
        then = backtest(warehouse, plan, ws.config, D)
        now = backtest(warehouse, plan, ws.config, LATER)
    assert then.segments[0].members == ["A"]
    assert now.segments[0].members == ["B"]
