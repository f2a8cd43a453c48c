"""Erase persons from every warehouse table, set-based, in the caller's transaction.

Every table of every migration was read and decided (``TABLES`` below says how each is
searched; tables with no personal data: imports, feature_catalog, segments (aggregates),
prediction_runs, category_map, clean_runs, endpoint_status, activation_cursors,
import_overlaps, the privacy tables themselves). Tables added later are not forgotten: any
base table with a ``customer_id``, ``record_id``, ``profile_id``, ``user_id`` or
``anonymous_id`` column that the list does not name is erased by that column
(:func:`other_tables`).

Ids are matched exactly (temporary tables of her ids, one semi-join per table); raw text
(quarantined lines, event properties, payloads, replaced rows) is searched for every form of
her ids, e-mails and phones on word boundaries, so that erasing ``C12`` leaves ``C123``
alone (:func:`text_clause`). A spelling of an e-mail in a case neither as stored nor
lower-cased (``ADA@x.fr`` for ``Ada@x.fr``) is found only in bulk mode (tokens, lower-cased).

Consents become a tombstone: each person's latest refusals under ``tombstone:<keyed hash>``,
so a refusal is still known if she comes back, though nobody can read who she was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import duckdb
import pandas as pd

from audience.model.identifiers import keyed_hash
from audience.privacy.event_tokens import compacted, erase_events
from audience.privacy.locate import Person
from audience.privacy.receipts import StoreReceipt, timed
from audience.store.sql import ident

REGEX_TERMS = 64
"""Most text forms searched by substring and one regular expression; more are joined as
tokens."""
_WORD = "a-z0-9_@.+\\-"
_TOKEN = f"[{_WORD}]+"
_PHONE = re.compile(r"\+?[0-9]{6,}")

CID = "(SELECT value FROM _forget_cid)"
EID = "(SELECT value FROM _forget_eid)"
NEEDLE = "(SELECT needle FROM _forget_needle)"
INLINE_IDS = 2000
"""Up to this many ids are written into the statements as constants: a vectorised compare
per row beats a semi-join on tables of tens of millions of rows; more go through a join."""

# table -> WHERE clause; {text:expr} is replaced by the raw-text search of expr.
TABLES: dict[str, str] = {
    "order_lines": f"customer_id IN {CID}",
    "customers": f"customer_id IN {CID}",
    "customer_records_clean": f"record_id IN {CID}",
    "identities": f"customer_id IN {CID} OR id_value IN {EID} OR id_value IN {NEEDLE}",
    "profile_members": f"record_id IN {CID} OR profile_id IN {CID}",
    "profiles": f"profile_id IN {CID}",
    "merges": f"profile_id IN {CID} OR record_id IN {CID}",
    "trait_conflicts": f"profile_id IN {CID} OR kept_from IN {CID}",
    "identity_overrides": f"record_id IN {CID}",
    "anonymous_links": f"anonymous_id IN {EID} OR user_id IN {EID}",
    "memberships": f"customer_id IN {CID}",
    "membership_reasons": f"customer_id IN {CID}",
    "features": f"customer_id IN {CID}",
    "predictions": f"customer_id IN {CID}",
    "quarantine": "{text:raw}",
    "deliveries": f"customer_id IN {CID} OR " + "{text:payload::VARCHAR}",
    "dead_letters": "{text:payload::VARCHAR}",
    "import_replaced_rows": "{text:row::VARCHAR}",
}
NO_PERSONAL_DATA = (
    "imports",
    "feature_catalog",
    "segments",
    "segment_runs",  # but density models' exemplars: pipelines.privacy removes hers
    "prediction_runs",
    "category_map",
    "clean_runs",
    "endpoint_status",
    "activation_cursors",
    "import_overlaps",
    "events",  # privacy.event_tokens.erase_events, through the token index
    "privacy_event_tokens",
    "privacy_indexed_imports",
    "trait_catalog",  # examples: scrubbed by forms below
    "consents",  # tombstone below
    "schema_migrations",
    "regulations",
    "regulation_stores",
    "suppressions",
    "audit_log",
)
ID_COLUMNS = ("customer_id", "record_id", "profile_id", "user_id", "anonymous_id")


def load_persons(con: duckdb.DuckDBPyConnection, persons: Mapping[str, Person]) -> list[str]:
    """Temp tables of the persons' ids and text forms; the spellings to search text for."""
    cid = [(p.key, v) for p in persons.values() for v in p.customer_ids]
    eid = [v for p in persons.values() for v in p.event_ids()]
    terms = sorted({t for p in persons.values() for t in p.text_forms()})
    _table(con, "_forget_cid", pd.DataFrame(cid, columns=["person", "value"]).drop_duplicates())
    _table(con, "_forget_eid", pd.DataFrame({"value": sorted(set(eid))}))
    _table(con, "_forget_term", pd.DataFrame({"term": terms}))
    needles = sorted({n for p in persons.values() for n in p.needles()})
    _table(con, "_forget_needle", pd.DataFrame({"needle": needles}))
    return needles


def _table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    con.register(f"{name}_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame").fetchall()
    finally:
        con.unregister(f"{name}_frame")


def text_clause(
    con: duckdb.DuckDBPyConnection, table: str, expr: str, needles: Sequence[str]
) -> str:
    """A predicate true for the rows of ``table`` whose text ``expr`` holds a form.

    Few forms: exact ``contains`` of each spelling first (fast byte search), then the
    word-boundary check on those rows only. Many: the text is cut into tokens joined with
    the forms (one pass, whatever their number); the rows found are kept by rowid.
    """
    n_terms = number(con, "SELECT count(*) FROM _forget_term")
    if n_terms == 0:
        return "false"
    if n_terms <= REGEX_TERMS:
        terms = [str(t) for (t,) in con.execute("SELECT term FROM _forget_term").fetchall()]
        alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
        pattern = f"(?:^|[^{_WORD}])(?:{alternation})(?:[^{_WORD}]|$)"
        found = " OR ".join(f"contains({expr}, {_quote(n)})" for n in needles) or "false"
        exact = f"(({found}) AND regexp_matches(lower({expr}), {_quote(pattern)}))"
        # A phone written with separators ('06 12 34 56 78'): rows holding the last two
        # digits of one of her numbers are compacted, then searched like the rest.
        tails = sorted({n[-2:] for n in needles if _PHONE.fullmatch(n)})
        if not tails:
            return exact
        near = " OR ".join(f"contains({expr}, {_quote(t)})" for t in tails)
        spaced = f"regexp_matches({compacted(f'lower({expr})')}, {_quote(pattern)})"
        return f"({exact} OR (({near}) AND {spaced}))"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _forget_hits AS
            SELECT DISTINCT x.rid FROM (
                SELECT rowid AS rid, unnest(regexp_extract_all(lower({expr}), '{_TOKEN}')
                                            || regexp_extract_all({compacted(f"lower({expr})")},
                                                                  '{_TOKEN}')) AS tok
                FROM {ident(table)} WHERE {expr} IS NOT NULL) x
            JOIN _forget_term t ON t.term = x.tok"""
    ).fetchall()
    return "rowid IN (SELECT rid FROM _forget_hits)"


def inline_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """:data:`CID`, :data:`EID` and :data:`NEEDLE` as constant lists when short (see
    :data:`INLINE_IDS`)."""
    found = {}
    for subquery, table, column in (
        (CID, "_forget_cid", "value"),
        (EID, "_forget_eid", "value"),
        (NEEDLE, "_forget_needle", "needle"),
    ):
        values = [
            str(v) for (v,) in con.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()
        ]
        if len(values) <= INLINE_IDS:
            found[subquery] = "(" + (", ".join(_quote(v) for v in values) or "NULL") + ")"
        else:
            found[subquery] = subquery
    return found


def _with_text(
    con: duckdb.DuckDBPyConnection, table: str, template: str, needles: Sequence[str]
) -> str:
    """``template`` with each ``{text:expr}`` replaced by :func:`text_clause` of expr."""
    return re.sub(
        r"\{text:([^}]*)\}", lambda m: text_clause(con, table, m.group(1), needles), template
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def erase_tables(
    con: duckdb.DuckDBPyConnection, needles: Sequence[str], tables: Iterable[str] | None = None
) -> list[StoreReceipt]:
    """DELETE from every table of :data:`TABLES` (and :func:`other_tables`) what is hers."""
    ids = inline_ids(con)
    receipts = erase_events(con) if tables is None or "events" in tables else []
    wanted = dict(TABLES)
    wanted.update(other_tables(con))
    for table, template in wanted.items():
        if tables is not None and table not in tables:
            continue
        receipt = StoreReceipt(f"warehouse:{table}")
        with timed(receipt):
            where = _with_text(con, table, template, needles)
            for subquery, constants in ids.items():
                where = where.replace(subquery, constants)
            receipt.found = receipt.deleted = number(
                con, f"DELETE FROM {ident(table)} WHERE {where}"
            )
        receipts.append(receipt)
    receipts.append(_scrub_trait_examples(con))
    return receipts


def other_tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Tables no decision names that have an id column: erased by it (migrations to come)."""
    rows = con.execute(
        """SELECT c.table_name, list(c.column_name ORDER BY c.column_name)
           FROM information_schema.columns c JOIN information_schema.tables t
             ON t.table_name = c.table_name AND t.table_schema = c.table_schema
           WHERE t.table_type = 'BASE TABLE' AND t.table_schema = 'main'
             AND c.column_name IN ('customer_id', 'record_id', 'profile_id', 'user_id',
                                   'anonymous_id')
           GROUP BY c.table_name"""
    ).fetchall()
    found = {}
    for table, columns in rows:
        if table in TABLES or table in NO_PERSONAL_DATA or table.startswith("_"):
            continue
        found[str(table)] = " OR ".join(f"{ident(c)} IN {EID}" for c in columns)
    return found


def _scrub_trait_examples(con: duckdb.DuckDBPyConnection) -> StoreReceipt:
    """Drop her values from the three example values kept per trait column."""
    receipt = StoreReceipt("warehouse:trait_catalog")
    with timed(receipt):
        terms = [str(t) for (t,) in con.execute("SELECT term FROM _forget_term").fetchall()]
        hit = "list_has_any(list_transform(examples, lambda x: lower(x)), $terms)"
        found = number(con, f"SELECT count(*) FROM trait_catalog WHERE {hit}", {"terms": terms})
        if found:
            con.execute(
                f"""UPDATE trait_catalog SET examples = list_filter(examples,
                        lambda x: NOT list_contains($terms, lower(x)))
                    WHERE {hit}""",
                {"terms": terms},
            ).fetchall()
        receipt.found = receipt.deleted = int(found)
    return receipt


def tombstone_consents(
    con: duckdb.DuckDBPyConnection, persons: Mapping[str, Person], key: bytes
) -> StoreReceipt:
    """Replace each person's consent history by her latest refusals under a keyed hash."""
    receipt = StoreReceipt("warehouse:consents")
    with timed(receipt):
        tombs = pd.DataFrame(
            [(p.key, tombstone_id(key, p.key)) for p in persons.values()],
            columns=["person", "tomb"],
        )
        _table(con, "_forget_tomb", tombs)
        con.execute(
            """INSERT INTO consents (customer_id, purpose, status, changed_at, source)
                SELECT t.tomb, c.purpose, arg_max(c.status, c.changed_at), max(c.changed_at),
                       'tombstone'
                FROM consents c JOIN _forget_cid f ON f.value = c.customer_id
                JOIN _forget_tomb t ON t.person = f.person
                GROUP BY t.tomb, c.purpose
                HAVING arg_max(c.status, c.changed_at) <> 'granted'
                ON CONFLICT DO NOTHING"""
        ).fetchall()
        deleted = number(con, f"DELETE FROM consents WHERE customer_id IN {CID}")
        receipt.found = receipt.deleted = int(deleted)
    return receipt


def number(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> int:
    """The count a statement answers (rows deleted, a count), its result read to the end."""
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def tombstone_id(key: bytes, person: str) -> str:
    return "tombstone:" + keyed_hash(key, "person:" + person)


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name in (
        "_forget_cid",
        "_forget_eid",
        "_forget_term",
        "_forget_needle",
        "_forget_tomb",
        "_forget_hits",
    ):
        con.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
