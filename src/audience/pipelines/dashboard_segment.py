"""The segment page's data: size over time, consent reach, profile, explanation, members.

Sizes come from the membership history (``valid_from``/``valid_to``): a day's size is every
membership begun by its end minus those ended by then, so the last point is the current size
the warehouse holds. Days are UTC calendar days, as stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from audience.config.activation import PURPOSES
from audience.errors import NotFoundError
from audience.pipelines.dashboard import Table
from audience.pipelines.dashboard_snapshots import reach_basis, stored
from audience.store.spreadsheet import neutralise
from audience.store.warehouse import scalar
from audience.store.workspace import Workspace

MEMBERS_PAGE = 50
"""Members shown per page."""


@dataclass(frozen=True)
class DayCount:
    day: date
    entered: int
    exited: int
    size: int


@dataclass(frozen=True)
class Reach:
    """Current members by their consent to one purpose (sendable: granted)."""

    purpose: str
    granted: int
    refused: int
    unknown: int


@dataclass(frozen=True)
class FeatureContrast:
    """A feature's mean in the segment against the population's (``lift`` = ratio)."""

    feature: str
    mean: float | None
    population: float | None
    lift: float | None
    z: float | None


@dataclass(frozen=True)
class ExplanationRule:
    text: str
    customers: int | None
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class SegmentDetail:
    segment_id: str
    name: str
    description: str
    run_id: str
    method: str
    created_at: datetime
    size: int
    history: list[DayCount]
    reach: list[Reach]
    contrast: list[FeatureContrast]
    rules: list[ExplanationRule]
    condition: str | None
    """A rule segment's condition (its explanation is the rule itself)."""
    fidelity: float | None
    stability: dict[str, float]
    deliveries: Table
    exports: Table
    kpis: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    customer_id: str
    score: float | None
    since: datetime
    email: str | None
    name: str
    city: str | None


@dataclass(frozen=True)
class MemberPage:
    members: list[Member]
    total: int
    page: int
    pages: int
    search: str


def segment_detail(con: duckdb.DuckDBPyConnection, segment_id: str) -> SegmentDetail:
    """Everything the segment page shows, or NotFoundError when no such segment exists."""
    found = con.execute(
        """SELECT s.name, s.description, s.run_id, s.label, s.profile, r.method, r.created_at,
                  r.explanation, r.selection
           FROM segments s JOIN segment_runs r USING (run_id) WHERE s.segment_id = ?""",
        [segment_id],
    ).fetchall()
    if not found:
        raise NotFoundError(f"no segment {segment_id!r}; pick one from the segments page")
    name, description, run_id, label, profile, method, created_at, explanation, selection = found[0]
    stored: dict[str, Any] = json.loads(profile or "{}")
    explained: dict[str, Any] = json.loads(explanation or "{}")
    return SegmentDetail(
        segment_id=segment_id,
        name=name,
        description=description,
        run_id=run_id,
        method=method,
        created_at=created_at,
        size=int(
            scalar(
                con,
                "SELECT count(*) FROM memberships WHERE segment_id = ? AND valid_to IS NULL",
                [segment_id],
            )
        ),
        history=size_history(con, segment_id),
        reach=reach(con, segment_id),
        contrast=_contrast(stored.get("profile") or {}),
        rules=[
            ExplanationRule(
                r.get("text", ""), r.get("customers"), r.get("precision"), r.get("recall")
            )
            for r in (explained.get("rules") or {}).get(str(label), [])
        ],
        condition=stored.get("condition"),
        fidelity=(explained.get("segment_fidelity") or {}).get(str(label)),
        stability=_stability(json.loads(selection or "[]")),
        deliveries=_table(
            con,
            """SELECT destination, event_type, status, count(*) AS messages, max(updated_at) AS last
               FROM deliveries WHERE segment_id = ? GROUP BY ALL ORDER BY destination, status""",
            segment_id,
        ),
        exports=_table(
            con,
            """SELECT destination, format, n_rows, suppressed, created_at FROM exports
               WHERE segment_id = ? ORDER BY created_at DESC LIMIT 20""",
            segment_id,
        ),
        kpis={k: v for k, v in (stored.get("kpis") or {}).items() if isinstance(v, int | float)},
    )


def size_history(con: duckdb.DuckDBPyConnection, segment_id: str) -> list[DayCount]:
    """Entered and exited per UTC day, and the size at the end of each day."""
    rows = con.execute(
        """WITH m AS (SELECT valid_from, valid_to FROM memberships WHERE segment_id = ?),
                e AS (SELECT CAST(valid_from AS DATE) AS day, count(*) AS n FROM m GROUP BY 1),
                x AS (SELECT CAST(valid_to AS DATE) AS day, count(*) AS n FROM m
                      WHERE valid_to IS NOT NULL GROUP BY 1)
           SELECT day, coalesce(e.n, 0), coalesce(x.n, 0) FROM e FULL JOIN x USING (day)
           ORDER BY day""",
        [segment_id],
    ).fetchall()
    size = 0
    history = []
    for day, entered, exited in rows:
        size += int(entered) - int(exited)
        history.append(DayCount(day, int(entered), int(exited), size))
    return history


def reach(con: duckdb.DuckDBPyConnection, segment_id: str) -> list[Reach]:
    """Current members per consent purpose: granted (reachable), refused, never asked.

    Read from the snapshot the last batch run kept while members and consents are unchanged
    (:mod:`.dashboard_snapshots`), else counted now.
    """
    kept = stored(con, f"reach:{segment_id}", lambda: reach_basis(con, segment_id))
    if kept is not None:
        return [Reach(**r) for r in kept]
    return reach_by_segment(con, [segment_id]).get(segment_id, [])


def reach_by_segment(
    con: duckdb.DuckDBPyConnection, segment_ids: list[str]
) -> dict[str, list[Reach]]:
    """:func:`reach` of several segments in one pass over the members and consents."""
    rows = con.execute(
        """WITH m AS (SELECT segment_id, customer_id FROM memberships
                      WHERE list_contains(?, segment_id) AND valid_to IS NULL),
                p AS (SELECT unnest(?::VARCHAR[]) AS purpose)
           SELECT m.segment_id, p.purpose,
                  count(*) FILTER (WHERE cc.status = 'granted'),
                  count(*) FILTER (WHERE cc.status IS NOT NULL AND cc.status <> 'granted'),
                  count(*) FILTER (WHERE cc.status IS NULL)
           FROM m CROSS JOIN p
           LEFT JOIN current_consents cc
             ON cc.customer_id = m.customer_id AND cc.purpose = p.purpose
           GROUP BY m.segment_id, p.purpose""",
        [segment_ids, list(PURPOSES)],
    ).fetchall()
    by_segment: dict[str, dict[str, Reach]] = {}
    for segment_id, purpose, granted, refused, unknown in rows:
        found = Reach(purpose, int(granted), int(refused), int(unknown))
        by_segment.setdefault(segment_id, {})[purpose] = found
    return {
        segment_id: [found[p] for p in PURPOSES if p in found]
        for segment_id, found in by_segment.items()
    }


def _contrast(profile: dict[str, Any]) -> list[FeatureContrast]:
    found = []
    for feature, stats in profile.items():
        if not isinstance(stats, dict):
            continue
        mean, lift = stats.get("mean"), stats.get("lift")
        population = mean / lift if mean is not None and lift else None
        found.append(FeatureContrast(feature, mean, population, lift, stats.get("z")))
    return found


def _stability(selection: list[dict[str, Any]]) -> dict[str, float]:
    """The chosen candidate's stability (agreement of refits) and silhouette, if recorded."""
    chosen = [row for row in selection if isinstance(row, dict) and row.get("chosen")]
    if not chosen:
        return {}
    keys = ("stability", "stability_std", "silhouette", "davies_bouldin")
    return {k: float(chosen[0][k]) for k in keys if isinstance(chosen[0].get(k), int | float)}


def _table(con: duckdb.DuckDBPyConnection, sql: str, segment_id: str) -> Table:
    result = con.execute(sql, [segment_id])
    columns = [d[0] for d in result.description or []]
    return Table(columns, [list(r) for r in result.fetchall()])


def _members_sql(current: str) -> str:
    """Members with their profile's e-mail, name and city; ``current``: their memberships."""
    return f"""SELECT m.customer_id, m.score, m.valid_from, p.email,
                      concat_ws(' ', p.first_name, p.last_name), p.city
               FROM ({current}) m LEFT JOIN profiles p ON p.profile_id = m.customer_id"""


_CURRENT = "SELECT * FROM memberships WHERE segment_id = $segment AND valid_to IS NULL"
_SEARCHED = (
    _members_sql(_CURRENT)
    + """
    WHERE m.customer_id ILIKE $pattern ESCAPE '\\' OR p.email ILIKE $pattern ESCAPE '\\'
       OR concat_ws(' ', p.first_name, p.last_name) ILIKE $pattern ESCAPE '\\'"""
)


def members(
    con: duckdb.DuckDBPyConnection, segment_id: str, search: str = "", page: int = 1
) -> MemberPage:
    """One page of current members, optionally those whose id, e-mail or name contains text.

    Without a search, the page is cut from the memberships first and only its rows meet the
    profiles, so that a page of a segment of a million costs what a page of a hundred does.
    """
    search = search.strip()[:100]
    if search:
        return _searched(con, segment_id, search, page)
    counted = f"SELECT count(*) FROM ({_CURRENT})"
    total = int(con.execute(counted, {"segment": segment_id}).fetchall()[0][0])
    pages = max(1, -(-total // MEMBERS_PAGE))
    page = min(max(1, page), pages)
    rows = _window(con, segment_id, (page - 1) * MEMBERS_PAGE)
    return MemberPage(
        [Member(r[0], r[1], r[2], r[3], r[4] or "", r[5]) for r in rows], total, page, pages, search
    )


def _searched(
    con: duckdb.DuckDBPyConnection, segment_id: str, search: str, page: int
) -> MemberPage:
    """The members matching ``search``: their count and the page in one pass over members and
    profiles (each pass costs about 170 ms at a million); a page past the end asks again."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params = {"segment": segment_id, "pattern": f"%{escaped}%"}
    page = max(1, page)
    for _ in range(2):
        rows = con.execute(
            f"""SELECT *, count(*) OVER () FROM ({_SEARCHED})
                ORDER BY 1 LIMIT {MEMBERS_PAGE} OFFSET {(page - 1) * MEMBERS_PAGE}""",
            params,
        ).fetchall()
        if rows or page == 1:
            break
        counted = f"SELECT count(*) FROM ({_SEARCHED})"
        total = int(con.execute(counted, params).fetchall()[0][0])
        page = max(1, -(-total // MEMBERS_PAGE))  # past the end: the last page
    total = int(rows[0][-1]) if rows else 0
    pages = max(1, -(-total // MEMBERS_PAGE))
    return MemberPage(
        [Member(r[0], r[1], r[2], r[3], r[4] or "", r[5]) for r in rows], total, page, pages, search
    )


def _window(con: duckdb.DuckDBPyConnection, segment_id: str, offset: int) -> list[tuple[Any, ...]]:
    """One page of members, then their profiles looked up by id: a join would read every
    profile's columns (80 ms at a million on a fresh connection, against 10 for the lookup)."""
    window = con.execute(
        f"""SELECT customer_id, score, valid_from FROM memberships
            WHERE segment_id = ? AND valid_to IS NULL
            ORDER BY customer_id LIMIT {MEMBERS_PAGE} OFFSET {offset}""",
        [segment_id],
    ).fetchall()
    ids = [str(r[0]) for r in window]
    found = {
        r[0]: r[1:]
        for r in con.execute(
            """SELECT profile_id, email, concat_ws(' ', first_name, last_name), city
               FROM profiles WHERE profile_id = ANY(?::VARCHAR[])""",
            [ids],
        ).fetchall()
    }
    return [(*r, *found.get(r[0], (None, "", None))) for r in window]


def export_members(con: duckdb.DuckDBPyConnection, segment_id: str) -> bytes:
    """The current members as CSV (id, score, since, e-mail, name), spreadsheet-safe."""
    require_segment(con, segment_id)
    return b"".join(_csv_chunks(con, segment_id))


def require_segment(con: duckdb.DuckDBPyConnection, segment_id: str) -> None:
    """NotFoundError unless the segment exists (before a download starts, not halfway)."""
    if not scalar(con, "SELECT count(*) FROM segments WHERE segment_id = ?", [segment_id]):
        raise NotFoundError(f"no segment {segment_id!r}; pick one from the segments page")


def stream_members(workspace: Workspace, segment_id: str) -> Iterator[bytes]:
    """:func:`export_members` as chunks of 10,000 rows, on a read-only connection of its own
    held while the download lasts, so a segment of a million never sits whole in memory."""
    with workspace.warehouse(read_only=True) as warehouse:
        require_segment(warehouse.con, segment_id)
        yield from _csv_chunks(warehouse.con, segment_id)


def _csv_chunks(con: duckdb.DuckDBPyConnection, segment_id: str) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["customer_id", "score", "member_since", "email", "name"])
    result = con.execute(_members_sql(_CURRENT) + " ORDER BY 1", {"segment": segment_id})
    while chunk := result.fetchmany(10_000):
        for customer_id, score, since, email, name, _ in chunk:
            writer.writerow(
                [
                    neutralise(customer_id),
                    "" if score is None else score,
                    since.isoformat(),
                    neutralise(email or ""),
                    neutralise(name or ""),
                ]
            )
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()
    if out.tell():  # the header of an empty segment
        yield out.getvalue().encode("utf-8")
