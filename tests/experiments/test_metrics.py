"""The sums the warehouse computes are the sums pandas computes from the same rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from audience.errors import ExperimentError
from audience.experiments.assignment import assign_members
from audience.experiments.definitions import definition
from audience.experiments.metrics import GroupStats, metric_stats
from audience.experiments.registry import Experiment, create_experiment
from audience.store.warehouse import Warehouse
from tests.experiments.segment_data import NOW

WINDOW, LOOKBACK = 7, 10


@pytest.fixture
def experiment(warehouse: Warehouse) -> Experiment:
    con = warehouse.con
    exp = create_experiment(
        con,
        definition(
            "m", "Buyers", "control:40,a:30,b:30", window=f"{WINDOW}d", lookback=f"{LOOKBACK}d"
        ),
        NOW,
    )
    assign_members(con, exp, NOW)
    return exp


def _frames(warehouse: Warehouse) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    con = warehouse.con
    exposures = con.execute(
        "SELECT user_id AS customer_id, properties->>'variation_id' AS variant, "
        "\"timestamp\" AS exposed_at FROM events WHERE event = 'Experiment Viewed'"
    ).df()
    orders = con.execute(
        "SELECT customer_id, ordered_at AS t, amount::DOUBLE AS amount FROM order_lines"
    ).df()
    events = con.execute(
        'SELECT user_id AS customer_id, event, "timestamp" AS t FROM events '
        "WHERE event <> 'Experiment Viewed'"
    ).df()
    return exposures, orders, events


def _per_person(exposures: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    joined = exposures.merge(rows, on="customer_id", how="left")
    post = (joined.t >= joined.exposed_at) & (
        joined.t < joined.exposed_at + pd.Timedelta(days=WINDOW)
    )
    pre = (joined.t >= joined.exposed_at - pd.Timedelta(days=LOOKBACK)) & (
        joined.t < joined.exposed_at
    )
    joined["post_n"] = post.astype(float)
    joined["pre_n"] = pre.astype(float)
    joined["post_amount"] = joined.amount.fillna(0).where(post, 0.0)
    joined["pre_amount"] = joined.amount.fillna(0).where(pre, 0.0)
    return joined.groupby(["customer_id", "variant"], as_index=False)[
        ["post_n", "pre_n", "post_amount", "pre_amount"]
    ].sum()


def _expected(
    people: pd.DataFrame, value: str, pre: str, den: str | None = None, pden: str | None = None
) -> pd.DataFrame:
    people = people.assign(v=people[value], p=people[pre])
    people["vv"], people["pp"], people["vp"] = people.v**2, people.p**2, people.v * people.p
    if den is not None and pden is not None:
        people["d"], people["q"] = people[den], people[pden]
        people["dd"], people["vd"] = people.d**2, people.v * people.d
        people["qq"], people["dq"], people["pq"] = (
            people.q**2,
            people.d * people.q,
            people.p * people.q,
        )
        people["vq"], people["dp"] = people.v * people.q, people.d * people.p
    columns = [
        c
        for c in ("v", "vv", "p", "pp", "vp", "d", "dd", "vd", "q", "qq", "dq", "pq", "vq", "dp")
        if c in people
    ]
    return people.groupby("variant").agg(n=("v", "size"), **{c: (c, "sum") for c in columns})


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _check(stats: list[GroupStats], expected: pd.DataFrame, ratio: bool = False) -> None:
    assert len(stats) == 1 and stats[0].group is None
    assert [v.name for v in stats[0].variants] == ["control", "a", "b"]
    for v in stats[0].variants:
        row = expected.loc[v.name]
        assert v.n == row.n
        assert _close(v.sum, row.v) and _close(v.sum_squares, row.vv)
        if ratio:
            pairs = [
                (v.denominator_sum, row.d),
                (v.denominator_sum_squares, row.dd),
                (v.cross_sum, row.vd),
                (v.pre_sum, row.p),
                (v.pre_sum_squares, row.pp),
                (v.pre_cross_sum, row.vp),
                (v.pre_denominator_sum, row.q),
                (v.pre_denominator_sum_squares, row.qq),
                (v.pre_denominator_cross_sum, row.dq),
                (v.pre_ratio_cross_sum, row.pq),
                (v.numerator_pre_denominator_sum, row.vq),
                (v.denominator_pre_numerator_sum, row.dp),
            ]
            assert all(a is not None and _close(a, b) for a, b in pairs), pairs
        else:
            assert v.pre_sum is not None and _close(v.pre_sum, row.p)
            assert v.pre_sum_squares is not None and _close(v.pre_sum_squares, row.pp)
            assert v.pre_cross_sum is not None and _close(v.pre_cross_sum, row.vp)


def test_revenue_orders_conversion_and_ratio_match_pandas(
    warehouse: Warehouse, experiment: Experiment
) -> None:
    exposures, orders, _ = _frames(warehouse)
    people = _per_person(exposures, orders)
    assert people.post_n.sum() > 100 and people.pre_n.sum() > 100  # the data is not trivial
    people["conv"] = (people.post_n > 0).astype(float)
    people["pre_conv"] = (people.pre_n > 0).astype(float)
    con = warehouse.con
    _check(metric_stats(con, experiment, "revenue"), _expected(people, "post_amount", "pre_amount"))
    _check(metric_stats(con, experiment, "orders"), _expected(people, "post_n", "pre_n"))
    conversion = metric_stats(con, experiment, "conversion")
    assert all(v.proportion for v in conversion[0].variants)
    _check(conversion, _expected(people, "conv", "pre_conv"))
    _check(
        metric_stats(con, experiment, "revenue_per_order"),
        _expected(people, "post_amount", "pre_amount", "post_n", "pre_n"),
        ratio=True,
    )


@pytest.mark.parametrize(
    ("metric", "event"), [("open", "Email Opened"), ("click", "Email Link Clicked")]
)
def test_email_metrics_match_pandas(
    warehouse: Warehouse, experiment: Experiment, metric: str, event: str
) -> None:
    exposures, _, events = _frames(warehouse)
    rows = events[events.event == event].drop(columns="event").assign(amount=0.0)
    people = _per_person(exposures, rows)
    people["hit"] = (people.post_n > 0).astype(float)
    people["pre_hit"] = (people.pre_n > 0).astype(float)
    _check(metric_stats(warehouse.con, experiment, metric), _expected(people, "hit", "pre_hit"))


def test_by_segment_and_trait_and_their_intersection_match_pandas(
    warehouse: Warehouse, experiment: Experiment
) -> None:
    con = warehouse.con
    exposures, orders, _ = _frames(warehouse)
    people = _per_person(exposures, orders)
    vip = {
        r[0]
        for r in con.execute(
            "SELECT customer_id FROM memberships WHERE segment_id = 'rule:VIP'"
        ).fetchall()
    }
    gender = dict(con.execute("SELECT customer_id, gender FROM customers").fetchall())
    people["seg"] = people.customer_id.map(lambda c: "VIP" if c in vip else "not VIP")
    people["gender"] = people.customer_id.map(gender)
    by_segment = metric_stats(con, experiment, "revenue", by=["VIP"])
    assert {g.group for g in by_segment} == {"VIP", "not VIP"}
    for group in by_segment:
        part = people[people.seg == group.group]
        expected = _expected(part, "post_amount", "pre_amount")
        for v in group.variants:
            assert v.n == expected.loc[v.name].n
            assert _close(v.sum, expected.loc[v.name].v)
    both = metric_stats(con, experiment, "orders", by=["VIP", "gender"])
    assert len(both) == 6
    for group in both:
        seg, g = group.group.split(" × ")  # type: ignore[union-attr]
        part = people[(people.seg == seg) & (people.gender == g)]
        expected = _expected(part, "post_n", "pre_n")
        for v in group.variants:
            assert v.n == expected.loc[v.name].n
            assert _close(v.sum_squares, expected.loc[v.name].vv)


def test_metric_without_data_is_refused(warehouse: Warehouse, experiment: Experiment) -> None:
    with pytest.raises(ExperimentError, match=r"metric 'Video Played' .* has no data"):
        metric_stats(warehouse.con, experiment, "Video Played")


def test_experiment_without_exposures_is_refused(warehouse: Warehouse) -> None:
    exp = create_experiment(warehouse.con, definition("n", "Buyers", "c:50,t:50"), NOW)
    with pytest.raises(ExperimentError, match="has no exposures yet; run 'audience experiment"):
        metric_stats(warehouse.con, exp, "revenue")


def test_unknown_by_is_refused(warehouse: Warehouse, experiment: Experiment) -> None:
    with pytest.raises(ExperimentError, match="--by 'shoe size' is neither a segment nor"):
        metric_stats(warehouse.con, experiment, "revenue", by=["shoe size"])
