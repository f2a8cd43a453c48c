"""A small warehouse for experiment tests, built row by row with a fixed seed (the CLI, API and
live tests build it too, through :func:`make_workspace`).

``Buyers`` (rule segment) holds persons p0..p{n-1}; ``VIP`` (a stored segment) a third of
them; persons have orders and e-mail events around a fixed exposure time, a ``gender`` trait,
and treatment persons (after assignment) buy a little more, so lifts are not all zero.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from audience.store.clock import FixedClock
from audience.store.workspace import Workspace

NOW = datetime(2030, 3, 1, 12, 0, 0)
START = NOW - timedelta(days=30)


def add_segment(
    con: object, segment_id: str, name: str, persons: list[str], at: datetime = START
) -> None:
    run_id = f"run-{segment_id}"
    known = con.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM segments WHERE segment_id = ?", [segment_id]
    ).fetchone()[0]
    if known:  # the segment grows: only new members
        con.execute(  # type: ignore[attr-defined]
            "INSERT INTO memberships SELECT unnest(?::VARCHAR[]), ?, ?, NULL, ?, NULL",
            [persons, segment_id, run_id, at],
        )
        return
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO segment_runs (run_id, created_at, method, params, features, preprocessing, "
        "metrics, selection, model, n_customers) VALUES (?, ?, 'rules', '{}', '[]', '{}', '{}', "
        "'[]', '{}', ?)",
        [run_id, at, len(persons)],
    )
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO segments VALUES (?, ?, 0, ?, '', ?, '{}')",
        [segment_id, run_id, name, len(persons)],
    )
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO memberships SELECT unnest(?::VARCHAR[]), ?, ?, NULL, ?, NULL",
        [persons, segment_id, run_id, at],
    )


def build(con: object, n: int = 2000, seed: int = 7) -> list[str]:
    """Persons, segments, customers with a trait, orders and e-mail events (no exposures)."""
    rng = np.random.default_rng(seed)
    persons = [f"p{i}" for i in range(n)]
    genders = rng.choice(["f", "m", "x"], size=n, p=[0.5, 0.45, 0.05])
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO customers (customer_id, source, traits, import_id, updated_at, gender) "
        "SELECT unnest(?::VARCHAR[]), 'crm', '{}', 'i1', ?, unnest(?::VARCHAR[])",
        [persons, START, list(genders)],
    )
    add_segment(con, "rule:Buyers", "Buyers", persons)
    add_segment(con, "rule:VIP", "VIP", persons[: n // 3])
    add_segment(con, "rule:Empty", "Empty", [])
    lines = []
    events = []
    for person in persons:
        for _ in range(rng.poisson(1.2)):
            at = NOW + timedelta(hours=float(rng.uniform(-20 * 24, 20 * 24)))
            amount = round(float(rng.gamma(2.0, 30.0)), 2)
            lines.append((f"o{len(lines)}", person, at, amount))
        for _ in range(rng.poisson(0.8)):
            at = NOW + timedelta(hours=float(rng.uniform(-20 * 24, 20 * 24)))
            event = "Email Opened" if rng.random() < 0.7 else "Email Link Clicked"
            events.append((f"m{len(events)}", event, person, at))
    con.executemany(  # type: ignore[attr-defined]
        "INSERT INTO order_lines (order_id, line_no, customer_id, ordered_at, quantity, amount, "
        "discount, currency, import_id) VALUES (?, 1, ?, ?, 1, ?, 0, 'EUR', 'i2')",
        lines,
    )
    con.executemany(  # type: ignore[attr-defined]
        'INSERT INTO events (message_id, type, event, user_id, "timestamp", properties, '
        "import_id) VALUES (?, 'track', ?, ?, ?, ?, 'i3')",
        [(m, e, p, t, json.dumps({})) for m, e, p, t in events],
    )
    return persons


def make_workspace(root: Path) -> Workspace:
    """A workspace holding :func:`build`'s data, its clock fixed at :data:`NOW`."""
    ws = Workspace.init(root)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        build(con)
    return Workspace.open(ws.root, clock=FixedClock(NOW))
