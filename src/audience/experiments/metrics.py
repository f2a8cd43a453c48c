"""Metrics from the warehouse, as sufficient statistics per variant (and per group with --by).

One query per metric: each exposed person's value in the window after her first exposure and
her value in the lookback before it (CUPED's covariate), then sums ``GROUP BY variant[,
group]``. Only those sums leave the warehouse (:class:`~audience.experiments.records.
VariantStats`), so the analysis costs the same for a thousand persons or ten million.

Metrics:

=================== ============ ====================================================
``conversion``      proportion   ordered at least once in the window
``revenue``         mean         revenue of her orders in the window (0 without any)
``orders``          mean         number of orders in the window
``revenue_per_order`` ratio      revenue / orders of the variant (delta method sums)
``open``            proportion   an ``Email Opened`` event in the window
``click``           proportion   an ``Email Link Clicked`` event in the window
any other name      proportion   a track event of that name in the window
=================== ============ ====================================================

``--by`` splits by a segment (in it or not, now) or a trait (its value); two ``--by`` give
their intersections. A dimension keeps its :data:`MAX_GROUPS` most frequent values, the rest
is ``(other)``, as gbstats caps dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from audience.errors import ExperimentError
from audience.experiments.records import VariantStats
from audience.experiments.registry import Experiment, resolve_segment
from audience.model.fields import FIELDS, TRAIT_PREFIX
from audience.store.person_relation import people_sql
from audience.store.sql import ident, literal
from audience.store.warehouse import scalar

ORDER_METRICS = ("conversion", "revenue", "orders", "revenue_per_order")
EMAIL_EVENTS = {"open": "Email Opened", "click": "Email Link Clicked"}
MAX_GROUPS = 20
_CUSTOMER_COLUMNS = {
    "email",
    "phone",
    "first_name",
    "last_name",
    "gender",
    "postcode",
    "city",
    "birth_date",
    "signup_at",
}
OTHER = "(other)"


@dataclass(frozen=True)
class Sources:
    """Relations the metrics read; the benchmark points them at generated tables."""

    exposures: str = "experiment_exposures"
    """(experiment, customer_id, variant, exposed_at), one row per exposed person."""
    orders: str = "person_orders"
    events: str = "person_events"
    group: str | None = None
    """A column of ``exposures`` to split by as well (the benchmark's segment column)."""


WAREHOUSE = Sources()
"""The workspace's own exposures, orders and events."""


@dataclass(frozen=True)
class GroupStats:
    """A metric's sufficient statistics per variant (control first) in one group."""

    metric: str
    group: str | None
    variants: tuple[VariantStats, ...]


def metric_kind(metric: str) -> str:
    if metric == "revenue_per_order":
        return "ratio"
    return "mean" if metric in ("revenue", "orders") else "proportion"


_RATIO_SUMS = {
    "ds": "sum(den)",
    "dss": "sum(den * den)",
    "cs": "sum(value * den)",
    "pds": "sum(pden)",
    "pdss": "sum(pden * pden)",
    "pdcs": "sum(den * pden)",
    "prcs": "sum(pre * pden)",
    "npds": "sum(value * pden)",
    "dpns": "sum(den * pre)",
}


def _ratio_sums(metric: str) -> str:
    """The denominator's sums of a ratio metric; zeros (not computed) for the others."""
    ratio = metric_kind(metric) == "ratio"
    return ", ".join(f"{sql if ratio else '0.0'} AS {name}" for name, sql in _RATIO_SUMS.items())


def _values(
    metric: str, sources: Sources, window: int, lookback: int, labels: Sequence[str]
) -> str:
    """Per exposed person with any row in her lookback or window: value (post), pre
    (lookback), den and pden (a ratio's denominator, post and pre), with her variant and
    group labels.

    Persons without any row count only in ``n`` (their values are 0): leaving them out of the
    join is what keeps ten million exposures fast.
    """
    post = f"o.t >= x.exposed_at AND o.t < x.exposed_at + INTERVAL {window} DAY"
    pre = f"o.t >= x.exposed_at - INTERVAL {lookback} DAY AND o.t < x.exposed_at"
    if metric in ORDER_METRICS:
        rows = f"SELECT customer_id, ordered_at AS t, total AS amount FROM {sources.orders}"
    else:
        event = EMAIL_EVENTS.get(metric, metric)
        rows = f"""SELECT customer_id, "timestamp" AS t, 0.0 AS amount FROM {sources.events}
                   WHERE type = 'track' AND event = {literal(event)}"""
    value = {
        "conversion": "(count(*) FILTER (WHERE {w}) > 0)::DOUBLE",
        "revenue": "coalesce(sum(o.amount) FILTER (WHERE {w}), 0)::DOUBLE",
        "orders": "count(*) FILTER (WHERE {w})::DOUBLE",
        "revenue_per_order": "coalesce(sum(o.amount) FILTER (WHERE {w}), 0)::DOUBLE",
    }.get(metric, "(count(*) FILTER (WHERE {w}) > 0)::DOUBLE")
    # Only a ratio has a denominator: the other metrics skip its counts and sums.
    den = "count(*) FILTER (WHERE {w})::DOUBLE"
    dens = (
        f", {den.format(w=post)} AS den, {den.format(w=pre)} AS pden"
        if metric_kind(metric) == "ratio"
        else ""
    )
    carried = "".join(f"any_value(x.l{k}) AS l{k}, " for k in range(len(labels)))
    return f"""SELECT any_value(x.variant) AS variant, {carried}
                      {value.format(w=post)} AS value, {value.format(w=pre)} AS pre{dens}
               FROM labelled x JOIN ({rows}) o ON o.customer_id = x.customer_id
                 AND o.t >= x.exposed_at - INTERVAL {lookback} DAY
                 AND o.t < x.exposed_at + INTERVAL {window} DAY
               GROUP BY x.customer_id"""


def _dimension(con: duckdb.DuckDBPyConnection, by: str, k: int) -> tuple[str, str]:
    """(join, label expression) of one --by: a segment (in or not) or a trait's value."""
    alias = f"d{k}"
    try:
        segment_id = resolve_segment(con, by)
    except ExperimentError:
        segment_id = None
    if segment_id is not None:
        join = f"""LEFT JOIN (SELECT DISTINCT customer_id, true AS inside FROM memberships
                   WHERE segment_id = {literal(segment_id)} AND valid_to IS NULL) {alias}
                   ON {alias}.customer_id = x.customer_id"""
        label = f"CASE WHEN {alias}.inside THEN {literal(by)} ELSE {literal('not ' + by)} END"
        return join, label
    if by not in FIELDS and not by.startswith(TRAIT_PREFIX):
        raise ExperimentError(
            f"--by {by!r} is neither a segment nor a field; name a segment, a profile field "
            "(gender, region...) or traits.<name>"
        )
    relation = _trait_sql(by) if _is_trait(by) else people_sql(con, [by])
    join = f"LEFT JOIN ({relation}) {alias} ON {alias}.customer_id = x.customer_id"
    return join, f"coalesce({alias}.{ident(by)}::VARCHAR, '(none)')"


def _is_trait(name: str) -> bool:
    return name.startswith(TRAIT_PREFIX) or FIELDS[name].family == "trait"


def _trait_sql(name: str) -> str:
    """A profile trait per person (after clean, else the imported record), without features:
    an experiment may be split by trait before any segmentation computed them."""
    if name.startswith(TRAIT_PREFIX):
        key = literal(name.removeprefix(TRAIT_PREFIX))
        return f"SELECT customer_id, traits->>{key} AS {ident(name)} FROM persons"
    column = ident(name)
    imported = column if name in _CUSTOMER_COLUMNS else "NULL"
    return f"""SELECT profile_id AS customer_id, {column}::VARCHAR AS {column} FROM profiles
               UNION ALL
               SELECT customer_id, {imported}::VARCHAR FROM customers
               WHERE NOT EXISTS (SELECT 1 FROM profiles)"""


def stats_sql(
    con: duckdb.DuckDBPyConnection,
    experiment: Experiment,
    metric: str,
    by: Sequence[str] = (),
    sources: Sources = WAREHOUSE,
) -> str:
    """The query of every sum of ``metric``, per variant and group of an experiment."""
    d = experiment.definition
    variants = ", ".join(literal(v) for v in experiment.variant_names)
    extra = f", {ident(sources.group)}" if sources.group else ""
    exposed = f"""SELECT customer_id, variant, exposed_at{extra} FROM {sources.exposures}
                  WHERE experiment = {literal(experiment.name)} AND variant IN ({variants})"""
    return sums_sql(con, exposed, metric, d.window_days, d.lookback_days, by, sources)


def sums_sql(
    con: duckdb.DuckDBPyConnection,
    exposed: str,
    metric: str,
    window: int,
    lookback: int,
    by: Sequence[str] = (),
    sources: Sources = WAREHOUSE,
) -> str:
    """Sums of ``metric`` per variant and group of ``exposed`` (customer_id, variant,
    exposed_at): experiments and segment holdouts (``audience lift``) share it.

    ``n`` comes from the exposures alone, the other sums from the persons with rows (the
    rest add zeros), and the two meet per (variant, group) at the end.
    """
    joins, labels = [], []
    if sources.group is not None:
        labels.append(f"x.{ident(sources.group)}")  # cast at the end, on 20 rows, not 10M
    for k, dimension in enumerate(by):
        join, label = _dimension(con, dimension, k)
        joins.append(join)
        labels.append(label)
    raw = "".join(f", {label} AS l{k}" for k, label in enumerate(labels))
    keys = "".join(f", l{k}" for k in range(len(labels)))
    tops = "".join(
        f""", top{k} AS (SELECT l{k} FROM counts GROUP BY l{k}
                         ORDER BY sum(n) DESC, l{k} LIMIT {MAX_GROUPS})"""
        for k in range(len(labels))
    )
    capped = [
        f"CASE WHEN c.l{k} IN (SELECT l{k} FROM top{k}) THEN c.l{k}::VARCHAR "
        f"ELSE {literal(OTHER)} END"
        for k in range(len(labels))
    ]
    group = " || ' × ' || ".join(capped) if capped else "NULL::VARCHAR"
    same = "".join(f" AND s.l{k} IS NOT DISTINCT FROM c.l{k}" for k in range(len(labels)))
    return f"""
        WITH x AS ({exposed}),
        labelled AS (
            SELECT x.customer_id, x.variant, x.exposed_at{raw} FROM x {" ".join(joins)}
        ),
        counts AS MATERIALIZED (SELECT variant{keys}, count(*) AS n FROM labelled GROUP BY ALL),
        per_person AS ({_values(metric, sources, window, lookback, labels)}),
        sums AS MATERIALIZED (
            SELECT variant{keys}, sum(value) AS s, sum(value * value) AS ss, sum(pre) AS ps,
                   sum(pre * pre) AS pss, sum(value * pre) AS pcs, {_ratio_sums(metric)}
            FROM per_person GROUP BY ALL
        ){tops}
        SELECT {group} AS grp, c.variant, sum(c.n), coalesce(sum(s.s), 0),
               coalesce(sum(s.ss), 0), coalesce(sum(s.ps), 0), coalesce(sum(s.pss), 0),
               coalesce(sum(s.pcs), 0), coalesce(sum(s.ds), 0), coalesce(sum(s.dss), 0),
               coalesce(sum(s.cs), 0), coalesce(sum(s.pds), 0), coalesce(sum(s.pdss), 0),
               coalesce(sum(s.pdcs), 0), coalesce(sum(s.prcs), 0), coalesce(sum(s.npds), 0),
               coalesce(sum(s.dpns), 0)
        FROM counts c LEFT JOIN sums s ON s.variant = c.variant{same}
        GROUP BY ALL ORDER BY grp NULLS FIRST, c.variant"""


def check_data(
    con: duckdb.DuckDBPyConnection, experiment: Experiment, metric: str, sources: Sources
) -> None:
    """Refuse an experiment nobody was exposed to, or a metric the warehouse has no data for."""
    exposed = scalar(
        con,
        f"SELECT count(*) FROM {sources.exposures} WHERE experiment = ?",
        [experiment.name],
    )
    if not exposed:
        raise ExperimentError(
            f"experiment {experiment.name!r} has no exposures yet; run "
            f"'audience experiment assign {experiment.name}' (or expose persons over HTTP)"
        )
    if metric in ORDER_METRICS:
        found, where = (
            scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {sources.orders} LIMIT 1)"),
            "orders",
        )
    else:
        event = EMAIL_EVENTS.get(metric, metric)
        found = scalar(
            con,
            f"SELECT count(*) FROM (SELECT 1 FROM {sources.events} WHERE type = 'track' "
            "AND event = ? LIMIT 1)",
            [event],
        )
        where = f"track events named {event!r}"
    if not found:
        raise ExperimentError(
            f"metric {metric!r} of experiment {experiment.name!r} has no data: the warehouse "
            f"holds no {where}; import them, or choose conversion, revenue, orders, open or click"
        )


def metric_stats(
    con: duckdb.DuckDBPyConnection,
    experiment: Experiment,
    metric: str,
    by: Sequence[str] = (),
    sources: Sources = WAREHOUSE,
) -> list[GroupStats]:
    """Sufficient statistics of ``metric`` per variant, overall or per group of ``by``."""
    check_data(con, experiment, metric, sources)
    sql = stats_sql(con, experiment, metric, by, sources)
    return collect(con, sql, metric, experiment.variant_names)


def collect(
    con: duckdb.DuckDBPyConnection, sql: str, metric: str, arms: Sequence[str]
) -> list[GroupStats]:
    """Run a :func:`sums_sql` query; every arm gets a row per group, empty when no one."""
    rows = con.execute(sql).fetchall()
    kind = metric_kind(metric)
    grouped: dict[str | None, dict[str, VariantStats]] = {}
    for grp, variant, n, s, ss, ps, pss, pcs, ds, dss, cs, *ratio_pre in rows:
        # A ratio's CUPED covariate is the pre-period ratio: its denominator sums too.
        extra: list[float | None] = [float(v) for v in ratio_pre] if kind == "ratio" else [None] * 6
        pds, pdss, pdcs, prcs, npds, dpns = extra
        grouped.setdefault(grp, {})[str(variant)] = VariantStats(
            name=str(variant),
            n=int(n),
            sum=float(s),
            sum_squares=float(ss),
            proportion=kind == "proportion",
            denominator_sum=float(ds) if kind == "ratio" else None,
            denominator_sum_squares=float(dss) if kind == "ratio" else None,
            cross_sum=float(cs) if kind == "ratio" else None,
            pre_sum=float(ps),
            pre_sum_squares=float(pss),
            pre_cross_sum=float(pcs),
            pre_denominator_sum=pds,
            pre_denominator_sum_squares=pdss,
            pre_denominator_cross_sum=pdcs,
            pre_ratio_cross_sum=prcs,
            numerator_pre_denominator_sum=npds,
            denominator_pre_numerator_sum=dpns,
        )
    out = []
    for grp, by_variant in grouped.items():
        variants = tuple(
            by_variant.get(v) or VariantStats(v, 0, 0.0, 0.0, kind == "proportion") for v in arms
        )
        out.append(GroupStats(metric, None if grp is None else str(grp), variants))
    return out
