"""Bags of categories and channels: shares per person, commonest values only, events count."""

from __future__ import annotations

import pandas as pd
import pytest

from audience.features.bags import person_bags, with_bags
from audience.store.workspace import Workspace


def _line(order: str, customer: str, category: str | None, channel: str | None) -> list[object]:
    return [order, 0, customer, "2026-01-05 10:00:00", category, 1, 10, 0, "EUR", channel, "t"]


def test_shares_per_person_and_kind(workspace: Workspace) -> None:
    with workspace.warehouse() as warehouse:
        con = warehouse.con
        con.executemany(
            """INSERT INTO order_lines (order_id, line_no, customer_id, ordered_at, category,
                   quantity, amount, discount, currency, channel, import_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                _line("o1", "ann", "Shoes", "web"),
                _line("o2", "ann", "shoes", "app"),
                _line("o3", "ann", "Bags", "app"),
                _line("o4", "bob", "Hats", None),
            ],
        )
        con.execute(
            """INSERT INTO events (message_id, type, event, user_id, timestamp, context, import_id)
               VALUES ('m1', 'track', 'Viewed', 'bob', '2026-01-05', '{"app": {"name": "x"}}', 't')"""
        )
        bags = person_bags(con, max_values=2)
        frame = with_bags(con, ["ann", "bob", "cid"], pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    # Categories by order line, case folded; only the 2 commonest (shoes 2, then bags < hats
    # by name on the tie), each person's shares over her own category lines.
    assert set(bags.columns) == {
        "bag.category=bags",
        "bag.category=shoes",
        "bag.channel=app",
        "bag.channel=web",
    }
    assert bags.loc["ann", "bag.category=shoes"] == pytest.approx(2 / 3)
    assert bags.loc["ann", "bag.channel=app"] == pytest.approx(2 / 3)
    # Bob's hat is not among the commonest; his app event is his one channel item.
    assert bags.loc["bob", "bag.channel=app"] == pytest.approx(1.0)
    assert bags.loc["bob", "bag.category=shoes"] == 0
    assert frame.loc[2, "bag.channel=app"] == 0 and frame["x"].tolist() == [1.0, 2.0, 3.0]


def test_categories_are_read_as_cleaning_mapped_them(workspace: Workspace) -> None:
    with workspace.warehouse() as warehouse:
        con = warehouse.con
        con.executemany(
            """INSERT INTO order_lines (order_id, line_no, customer_id, ordered_at, category,
                   quantity, amount, discount, currency, channel, import_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [_line("o1", "ann", "Beauté", "web"), _line("o2", "ann", "beaute", "web")],
        )
        con.executemany(
            "INSERT INTO category_map (raw, category, status) VALUES (?, ?, 'mapped')",
            [["Beauté", "beauty"], ["beaute", "beauty"]],
        )
        bags = person_bags(con)
    assert [c for c in bags.columns if c.startswith("bag.category")] == ["bag.category=beauty"]
    assert bags.loc["ann", "bag.category=beauty"] == pytest.approx(1.0)
