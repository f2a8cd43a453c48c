"""Survivorship: which value of each trait a profile keeps when its records disagree.

By default the most recent non-empty value wins (latest import, then latest sign-up, then
record id for a stable tie-break); sources listed in ``quality.source_priority`` win before
any other. The sign-up date is the exception: a person signed up when she first did. Every
value that lost is kept in ``trait_conflicts`` beside the winner.

Custom traits (``customers.traits``, the typed columns a customer file had beyond the known
fields) follow the same rule one trait at a time: each name keeps the non-null value of the
best-ranked record that has one, so a person's ``traits`` may gather values from several
records (the loyalty tier of the latest CRM export beside the interests of an older one).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from audience.store.sql import sql_literal

TRAITS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "postcode",
    "city",
    "city_insee",
    "dep_code",
    "region",
)


def build_profiles(
    con: duckdb.DuckDBPyConnection, source_priority: list[str], now: datetime
) -> None:
    """Rebuild ``profiles`` and ``trait_conflicts`` from clean records and their profiles."""
    priority = "[" + ", ".join(sql_literal(s) for s in source_priority) + "]::VARCHAR[]"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ranked_records AS
            SELECT c.*, m.profile_id,
                   {{'p': -coalesce(list_position({priority}, c.source), 1000000),
                     'u': c.updated_at, 's': c.signup_at, 'r': c.record_id}} AS rank_key
            FROM customer_records_clean c JOIN profile_members m USING (record_id)"""
    )
    chosen = ", ".join(
        f"arg_max({t}, rank_key) FILTER (WHERE {t} IS NOT NULL) AS {t}" for t in TRAITS
    )
    con.execute("DELETE FROM profiles")
    con.execute(
        f"""INSERT INTO profiles (profile_id, {", ".join(TRAITS)}, signup_at, n_records,
                                  sources, resolved_at)
            SELECT profile_id, {", ".join(TRAITS[:6])}, postcode, city, city_insee, dep_code,
                   region, signup_at, n_records, sources, ?
            FROM (SELECT profile_id, {chosen}, min(signup_at) AS signup_at,
                         count(*) AS n_records, list_sort(list_distinct(list(source))) AS sources
                  FROM _ranked_records GROUP BY profile_id)""",
        [now],
    )
    _merge_custom_traits(con)
    con.execute("DELETE FROM trait_conflicts")
    for trait in TRAITS:
        con.execute(
            f"""INSERT INTO trait_conflicts
                SELECT profile_id, '{trait}', CAST(arg_max({trait}, rank_key) AS VARCHAR),
                       arg_max(record_id, rank_key),
                       list_sort(list_distinct(list(CAST({trait} AS VARCHAR))
                                 FILTER (WHERE CAST({trait} AS VARCHAR)
                                         <> CAST(kept AS VARCHAR))))
                FROM (SELECT *, arg_max({trait}, rank_key) OVER (PARTITION BY profile_id) AS kept
                      FROM _ranked_records WHERE {trait} IS NOT NULL
                        AND profile_id IN (SELECT profile_id FROM profiles WHERE n_records > 1))
                GROUP BY profile_id HAVING count(DISTINCT {trait}) > 1"""
        )


def _merge_custom_traits(con: duckdb.DuckDBPyConnection) -> None:
    """``profiles.traits``: per trait name, the value of the best-ranked record holding one.

    Profiles whose records carry no custom trait get an empty object.
    """
    con.execute(
        """UPDATE profiles p SET traits = coalesce(m.traits, '{}'::JSON)
           FROM (SELECT r.profile_id, merged.traits
                 FROM (SELECT DISTINCT profile_id FROM _ranked_records) r
                 LEFT JOIN (
                     SELECT profile_id, to_json(map(list(name ORDER BY name),
                                                    list(value ORDER BY name))) AS traits
                     FROM (SELECT profile_id, entry.key AS name,
                                  arg_max(entry.value, rank_key) AS value
                           FROM (SELECT r.profile_id, r.rank_key,
                                        unnest(map_entries(CAST(c.traits AS MAP(VARCHAR, JSON))))
                                        AS entry
                                 FROM _ranked_records r
                                 JOIN customers c ON c.customer_id = r.record_id
                                 WHERE c.traits IS NOT NULL)
                           WHERE entry.value IS NOT NULL
                           GROUP BY ALL)
                     GROUP BY profile_id) merged USING (profile_id)) m
           WHERE p.profile_id = m.profile_id"""
    )
