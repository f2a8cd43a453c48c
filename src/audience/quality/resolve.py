"""Identity resolution: one graph over every identifier, resolved into one id per person.

Nodes are customer records, the values of deterministic keys (normalised e-mail, E.164 phone,
or any composite of normalised fields, see :class:`audience.config.DedupeSettings`), Segment
user ids and anonymous ids. Edges say "these belong to the same person":

- a record and each of its key values (``same_email``, ``same_phone``, ...);
- two records whose names are alike and who share a block, by default the same postcode and
  birth date (``fuzzy_name``, with the similarity as score, above a threshold). Names are
  compared without case or accents, in keys and blocks too: 'Élodie Chevalier' and
  'ELODIE CHEVALIEE' differ by one letter, not three;
- a user id and the record of the same CRM id, an anonymous id and the user id it was seen
  with in an event (identify or any other), the previous id of an alias and its user id.

Connected components of the graph (scipy's, not a hand-written union-find) are the people.
A key value shared by more records than ``max_records_per_key`` is a *hub* (a family
address, a shop's phone): it links nothing and is reported. A record detached by
``audience unmerge`` gets key values of its own, so nothing links it until the detachment is
undone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from audience.config import DedupeSettings
from audience.store.spreadsheet import spreadsheet_safe
from audience.store.sql import sql_literal
from audience.store.warehouse import scalar

# Statuses of a normalised value that may identify a person.
USABLE = ("ok", "changed", "typo_corrected")
MAX_BLOCK = 50  # a block bigger than this is a default value, not a neighbourhood
# Text compared as people write it by hand: 'Élodie' and 'ELODIE' are one name. Other fields
# (e-mail, phone, postcode, dates) are already normalised to one spelling each.
_FOLDED = ("first_name", "last_name")


def _folded(column: str) -> str:
    """SQL comparing ``column`` without case or accents (NFKD, combining marks dropped)."""
    name = column.rpartition(".")[2]
    return f"strip_accents(lower({column}))" if name in _FOLDED else column


@dataclass
class Resolution:
    """What identity resolution found."""

    records: int = 0
    profiles: int = 0
    records_merged: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    hubs: list[dict[str, object]] = field(default_factory=list)
    fuzzy_candidates: int = 0


def _key_sql(fields: list[str]) -> str:
    """A composite key's value, NULL unless every field is present and usable."""
    checks = " AND ".join(
        f"{f} IS NOT NULL" + (f" AND {f}_status IN {USABLE}" if f in ("email", "phone") else "")
        for f in fields
    )
    value = " || '|' || ".join(f"CAST({_folded(f)} AS VARCHAR)" for f in fields)
    return f"CASE WHEN {checks} THEN {value} END"


def _key_edges(con: duckdb.DuckDBPyConnection, settings: DedupeSettings) -> list[dict[str, object]]:
    """Record -> key-value edges into ``_edges``; returns the hubs left out."""
    hubs: list[dict[str, object]] = []
    for fields in settings.keys:
        rule = "same_" + "_".join(fields)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _keys AS
                SELECT record_id,
                       CASE WHEN record_id IN (SELECT record_id FROM _detached)
                            THEN value || '#' || record_id ELSE value END AS value
                FROM (SELECT record_id, {_key_sql(fields)} AS value FROM _records)
                WHERE value IS NOT NULL"""
        )
        hub_rows = con.execute(
            """SELECT value, count(*) FROM _keys GROUP BY value HAVING count(*) > ?
               ORDER BY count(*) DESC""",
            [settings.max_records_per_key],
        ).fetchall()
        hubs += [{"rule": rule, "value": v, "records": int(n)} for v, n in hub_rows]
        con.execute(
            f"""INSERT INTO _edges
                SELECT 'r:' || record_id, 'k:{rule}:' || value, '{rule}', NULL FROM _keys
                WHERE value NOT IN (SELECT value FROM _keys GROUP BY value HAVING count(*) > ?)""",
            [settings.max_records_per_key],
        )
    return hubs


def _fuzzy_edges(con: duckdb.DuckDBPyConnection, settings: DedupeSettings) -> int:
    """Record -> record edges for alike names within a block; returns candidates scored."""
    candidates = 0
    for block in settings.fuzzy_blocks:
        same = " AND ".join(f"{_folded('a.' + f)} = {_folded('b.' + f)}" for f in block)
        keys = ", ".join(_folded(f) for f in block)
        present = " AND ".join(f"{f} IS NOT NULL" for f in block)
        pairs = con.execute(
            f"""WITH r AS (SELECT * FROM _records WHERE {present}
                             AND record_id NOT IN (SELECT record_id FROM _detached)
                             AND first_name IS NOT NULL AND last_name IS NOT NULL),
                     sized AS (SELECT * FROM r
                               QUALIFY count(*) OVER (PARTITION BY {keys}) <= {MAX_BLOCK})
                SELECT a.record_id, b.record_id,
                       strip_accents(lower(a.first_name || ' ' || a.last_name)),
                       strip_accents(lower(b.first_name || ' ' || b.last_name))
                FROM sized a JOIN sized b ON {same} AND a.record_id < b.record_id"""
        ).fetchall()
        if not pairs:
            continue
        frame = pd.DataFrame(pairs, columns=["a", "b", "name_a", "name_b"])
        # token_sort_ratio: 'Dupont Jean' and 'Jean DUPONT' are the same name; accents and case
        # are folded above, so 'Élodie Chevalier' and 'Elodie Chevaliee' differ by one letter.
        frame["score"] = process.cpdist(
            frame["name_a"].tolist(), frame["name_b"].tolist(), scorer=fuzz.token_sort_ratio
        )
        candidates += len(frame)
        kept = frame[frame["score"] >= settings.fuzzy_threshold]
        con.register("_fuzzy", kept[["a", "b", "score"]])
        con.execute(
            "INSERT INTO _edges SELECT 'r:' || a, 'r:' || b, 'fuzzy_name', score FROM _fuzzy"
        )
        con.unregister("_fuzzy")
    return candidates


def _event_edges(con: duckdb.DuckDBPyConnection) -> None:
    """User ids to the record of the same CRM id; anonymous ids to the users seen with them."""
    con.execute(
        """INSERT INTO _edges
           SELECT DISTINCT 'u:' || user_id, 'r:' || user_id, 'crm_user_id', NULL FROM events
           WHERE user_id IN (SELECT record_id FROM _records)"""
    )
    con.execute(
        """INSERT INTO _edges
           SELECT 'a:' || anonymous_id, 'u:' || user_id, 'anonymous_id', NULL
           FROM anonymous_links"""
    )
    # alias: the previous id may have been a user id or an anonymous id.
    con.execute(
        """INSERT INTO _edges
           SELECT DISTINCT prefix || previous_id, 'u:' || user_id, 'alias', NULL
           FROM events, (VALUES ('u:'), ('a:')) p(prefix)
           WHERE type = 'alias' AND user_id IS NOT NULL AND previous_id IS NOT NULL"""
    )
    con.execute(
        """INSERT INTO _edges
           SELECT DISTINCT 'u:' || user_id, 'u:' || user_id, 'self', NULL FROM events
           WHERE user_id IS NOT NULL"""
    )


def _components(con: duckdb.DuckDBPyConnection) -> None:
    """Label every node with its connected component, in table ``_node_component``."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _nodes AS
           SELECT node, (row_number() OVER ()) - 1 AS idx
           FROM (SELECT a AS node FROM _edges UNION SELECT b FROM _edges
                 UNION SELECT 'r:' || record_id FROM _records)"""
    )
    arrays = con.sql(
        """SELECT na.idx AS i, nb.idx AS j FROM _edges e
           JOIN _nodes na ON na.node = e.a JOIN _nodes nb ON nb.node = e.b"""
    ).fetchnumpy()
    n = int(scalar(con, "SELECT count(*) FROM _nodes"))
    i, j = arrays["i"].astype(np.int64), arrays["j"].astype(np.int64)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    con.register("_labels", pd.DataFrame({"idx": np.arange(n), "component": labels}))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _node_component AS
           SELECT n.node, l.component FROM _nodes n JOIN _labels l USING (idx)"""
    )
    con.unregister("_labels")


def resolve_identities(
    con: duckdb.DuckDBPyConnection, settings: DedupeSettings, now: datetime
) -> Resolution:
    """Rebuild ``profile_members``, ``identities`` and ``merges`` from the clean records.

    Reads ``customer_records_clean`` (records to resolve: those not quarantined, listed in
    the temporary table ``_records``), ``events`` and ``identity_overrides``.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _detached AS
           SELECT DISTINCT record_id FROM identity_overrides
           WHERE action = 'detach' AND undone_at IS NULL"""
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _edges (a VARCHAR, b VARCHAR, rule VARCHAR, score DOUBLE)"
    )
    result = Resolution(records=int(scalar(con, "SELECT count(*) FROM _records")))
    result.hubs = _key_edges(con, settings)
    result.fuzzy_candidates = _fuzzy_edges(con, settings)
    _event_edges(con)
    _components(con)
    _write_profiles(con, now)
    result.profiles = int(scalar(con, "SELECT count(DISTINCT profile_id) FROM profile_members"))
    result.records_merged = result.records - result.profiles
    rules = con.execute("SELECT rule, count(*) FROM merges GROUP BY rule").fetchall()
    result.rule_counts = dict(Counter({str(r): int(n) for r, n in rules}))
    return result


def _write_profiles(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    # A person's id is the smallest of her record ids: stable while her records stay.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _component_profile AS
           SELECT component, min(substr(node, 3)) AS profile_id FROM _node_component
           WHERE node LIKE 'r:%' GROUP BY component"""
    )
    con.execute("DELETE FROM profile_members")
    con.execute(
        """INSERT INTO profile_members
           SELECT substr(n.node, 3), p.profile_id FROM _node_component n
           JOIN _component_profile p USING (component) WHERE n.node LIKE 'r:%'"""
    )
    con.execute("DELETE FROM identities")
    con.execute(
        """INSERT INTO identities
           SELECT CASE left(node, 2) WHEN 'r:' THEN 'record' WHEN 'u:' THEN 'user_id'
                       WHEN 'a:' THEN 'anonymous_id' ELSE split_part(node, ':', 2) END,
                  CASE WHEN node LIKE 'k:%' THEN substr(node, length(split_part(node, ':', 2)) + 4)
                       ELSE substr(node, 3) END,
                  p.profile_id,
                  CASE WHEN left(node, 2) IN ('u:', 'a:') THEN 'events' ELSE 'customers' END,
                  ?
           FROM _node_component JOIN _component_profile p USING (component)""",
        [now],
    )
    con.execute("DELETE FROM merges")
    con.execute(
        """INSERT INTO merges
           SELECT m.profile_id, substr(e.a, 3),
                  CASE WHEN e.b LIKE 'k:%' THEN substr(e.b, length(split_part(e.b, ':', 2)) + 4)
                       ELSE substr(e.b, 3) END,
                  e.rule, e.score, ?
           FROM _edges e JOIN profile_members m ON m.record_id = substr(e.a, 3)
           WHERE e.a LIKE 'r:%' AND e.rule <> 'crm_user_id'
             AND (e.rule = 'fuzzy_name' OR e.b IN (SELECT b FROM _edges WHERE a LIKE 'r:%'
                                                   GROUP BY b HAVING count(*) > 1))
             AND m.profile_id IN (SELECT profile_id FROM profile_members
                                  GROUP BY profile_id HAVING count(*) > 1)""",
        [now],
    )


def export_identities(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Write one CSV row per source record (record_id, source, customer_id, status).

    ``customer_id`` is the person the record was resolved into; a record cleaning set aside
    has none and the status ``quarantined``. Text cells a spreadsheet would run as formulas
    are defused (:func:`audience.store.spreadsheet.spreadsheet_safe`). Returns the number of
    records written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    query = """SELECT c.customer_id AS record_id, c.source, m.profile_id AS customer_id,
                      CASE WHEN m.profile_id IS NULL THEN 'quarantined' ELSE 'resolved' END
                          AS status
               FROM customers c LEFT JOIN profile_members m ON m.record_id = c.customer_id"""
    safe = spreadsheet_safe(con, query, order_by=["record_id"])
    con.execute(f"COPY ({safe}) TO {sql_literal(str(path))} (HEADER, DELIMITER ',')")
    return int(scalar(con, "SELECT count(*) FROM customers"))
