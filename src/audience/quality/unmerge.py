"""``audience unmerge``: take records back out of the person they were resolved into.

Given a record id, that record is detached; given a profile id, every record of the profile
is. A detached record keeps identifier values of its own, so no later cleaning merges it
again, until ``--undo`` lifts the detachment. Profiles are rebuilt at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from audience.config import WorkspaceConfig
from audience.errors import InputError
from audience.quality.clean import rebuild_people
from audience.store.warehouse import scalar


@dataclass(frozen=True)
class UnmergeResult:
    detached: list[str]
    profiles: dict[str, str]
    """Record id -> the profile it belongs to now."""


def unmerge(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    customer_id: str,
    now: datetime,
    *,
    undo: bool = False,
) -> UnmergeResult:
    if not scalar(con, "SELECT count(*) FROM profile_members"):
        raise InputError("no identities are resolved yet; run 'audience clean' first")
    members = [
        r[0]
        for r in con.execute(
            """SELECT record_id FROM profile_members WHERE profile_id = (
                   SELECT profile_id FROM profile_members WHERE record_id = ?
                   UNION SELECT ? WHERE ? IN (SELECT profile_id FROM profile_members))
               ORDER BY record_id""",
            [customer_id, customer_id, customer_id],
        ).fetchall()
    ]
    if not members:
        raise InputError(
            f"no record or profile '{customer_id}'; see 'audience identities --export'"
        )
    is_profile = bool(
        scalar(con, "SELECT count(*) FROM profiles WHERE profile_id = ?", [customer_id])
    )
    targets = members if is_profile else [customer_id]
    if undo:
        con.execute(
            "UPDATE identity_overrides SET undone_at = ? WHERE undone_at IS NULL AND record_id IN "
            f"({', '.join('?' for _ in targets)})",
            [now, *targets],
        )
    else:
        if len(members) < 2:
            raise InputError(
                f"'{customer_id}' is not merged with any other record; nothing to undo"
            )
        con.executemany(
            "INSERT INTO identity_overrides VALUES (?, 'detach', ?, NULL)",
            [[t, now] for t in targets],
        )
    rebuild_people(con, config, now)
    after = dict(
        con.execute(
            f"SELECT record_id, profile_id FROM profile_members WHERE record_id IN "
            f"({', '.join('?' for _ in members)})",
            members,
        ).fetchall()
    )
    return UnmergeResult(detached=[] if undo else targets, profiles=after)
