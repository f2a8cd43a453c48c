"""Find a person from one identifier, and every identifier she is known by, set-based.

A request names a person by a customer id, an e-mail, a phone or a userId. She may be held
under many ids: CRM records merged into one profile, user ids and anonymous ids of her
events, an e-mail used as userId, a phone written four ways. :func:`locate` resolves every
request of a batch at once (temporary tables and joins, never one query per person, so
10,000 requests cost a few scans) into :class:`Person` records, each with every id and
every textual form to search raw data for.

Resolution: each request's forms are matched against customers (raw e-mail and compacted
phone), the clean records, profiles, identities (any type: an identity whose value is the
e-mail is found too) and events' user ids (through the events' privacy index,
:mod:`audience.privacy.event_tokens`, which the caller brings up to date first); each hit is
lifted to its person (the profile a record or id was resolved into, else the record, else
the bare user id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from audience.model.identifiers import (
    PersonQuery,
    compact_phone,
    email_forms,
    normalise_email,
    phone_e164,
    phone_forms,
    sha256_hex,
)

# Hits of a request's forms: (qid, node) where node is 'p:' profile, 'r:' record, 'u:' user id;
# each branch with the kinds of request it serves (a batch runs only the branches of its
# kinds). A column compared through a function (lower, regexp_replace) is first filtered by
# the forms of its kind ({email}, {phone}: constants for a few requests, which the scan
# applies as it reads, instead of hashing every computed value of a million-row table), and
# before that by cheaper tests ({email_like}: a case-blind search of each form, for trim()
# costs more than the rest of the scan; same_email identities are stored normalised, so the
# exact branch finds them).
_SEED_BRANCHES: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset({"customer"}),
        """SELECT q.qid, 'r:' || c.customer_id AS node FROM _privacy_q q JOIN customers c
               ON q.kind = 'customer' AND c.customer_id = q.form""",
    ),
    (
        frozenset({"customer"}),
        """SELECT q.qid, 'p:' || p.profile_id FROM _privacy_q q JOIN profiles p
               ON q.kind = 'customer' AND p.profile_id = q.form""",
    ),
    (
        frozenset({"email"}),
        """SELECT q.qid, 'r:' || c.customer_id FROM _privacy_q q JOIN (
                   SELECT customer_id, lower(trim(email)) AS v FROM customers
                   WHERE {email_like} AND lower(trim(email)) IN {email}) c
               ON q.kind = 'email' AND c.v = q.form""",
    ),
    (
        frozenset({"phone"}),
        """SELECT q.qid, 'r:' || c.customer_id FROM _privacy_q q JOIN (
                   SELECT customer_id, regexp_replace(phone, '[\\s.()\\-]', '', 'g') AS v
                   FROM customers
                   WHERE regexp_replace(phone, '[\\s.()\\-]', '', 'g') IN {phone}) c
               ON q.kind = 'phone' AND c.v = q.form""",
    ),
    (
        frozenset({"email", "phone"}),
        """SELECT q.qid, 'r:' || r.record_id FROM _privacy_q q JOIN customer_records_clean r
               ON q.kind = 'email' AND r.email = q.form
           UNION SELECT q.qid, 'r:' || r.record_id FROM _privacy_q q
               JOIN customer_records_clean r ON q.kind = 'phone' AND r.phone = q.form""",
    ),
    (
        frozenset({"email", "phone"}),
        """SELECT q.qid, 'p:' || p.profile_id FROM _privacy_q q JOIN profiles p
               ON q.kind = 'email' AND p.email = q.form
           UNION SELECT q.qid, 'p:' || p.profile_id FROM _privacy_q q JOIN profiles p
               ON q.kind = 'phone' AND p.phone = q.form""",
    ),
    (
        frozenset({"customer", "email", "phone", "user_id"}),
        """SELECT q.qid, 'p:' || i.customer_id FROM _privacy_q q JOIN identities i
               ON i.id_value = q.form""",
    ),
    (
        frozenset({"email"}),
        """SELECT q.qid, 'p:' || i.customer_id FROM _privacy_q q JOIN (
                   SELECT customer_id, lower(id_value) AS v FROM identities
                   WHERE id_type <> 'same_email' AND contains(id_value, '@')
                     AND lower(id_value) IN {email}) i
               ON q.kind = 'email' AND i.v = q.form""",
    ),
    (
        frozenset({"customer", "user_id"}),
        """SELECT DISTINCT q.qid, 'u:' || t.token FROM _privacy_q q
               JOIN privacy_event_tokens t
               ON q.kind IN ('user_id', 'customer') AND t.kind = 'user_id' AND t.token = q.form""",
    ),
    (
        frozenset({"email"}),
        """SELECT DISTINCT q.qid, 'u:' || e.user_id FROM _privacy_q q
               JOIN privacy_event_tokens t
               ON q.kind = 'email' AND t.kind = 'user_email' AND t.token = q.form
               JOIN events e ON e.message_id = t.message_id
                   AND e."timestamp" = t."timestamp" """,
    ),
)
INLINE_FORMS = 2000
"""Up to this many forms (or persons, records) are written into the statements as
constants; more are joined."""


def _seeds(rows: Sequence[tuple[int, str, str]]) -> str:
    """The seeds' statement for the kinds of these requests, each kind's forms as constants
    when few, else as a subquery."""
    kinds = {kind for _, kind, _ in rows}
    lists = {}
    for kind in ("email", "phone"):
        forms = sorted({form for _, k, form in rows if k == kind})
        if len(forms) <= INLINE_FORMS:
            lists[kind] = _constants(forms)
            likes = [f"email ILIKE {_constants(['%' + form + '%'])[1:-1]}" for form in forms]
            lists[f"{kind}_like"] = "(" + (" OR ".join(likes) or "false") + ")"
        else:
            lists[kind] = f"(SELECT form FROM _privacy_q WHERE kind = '{kind}')"
            lists[f"{kind}_like"] = "true"
    branches = [sql.format(**lists) for serves, sql in _SEED_BRANCHES if serves & kinds]
    union = "\nUNION ".join(branches) or "SELECT NULL::BIGINT AS qid, NULL AS node WHERE false"
    return f"CREATE OR REPLACE TEMP TABLE _privacy_seed AS SELECT * FROM ({union}) s(qid, node)"


def _constants(values: Sequence[str]) -> str:
    return "(" + (", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL") + ")"


# Each seed lifted to its person: a profile when resolved, else the record or the user id.
_PERSONS = """
CREATE OR REPLACE TEMP TABLE _privacy_person AS
SELECT DISTINCT s.qid,
       CASE left(s.node, 2)
            WHEN 'r:' THEN coalesce(m.profile_id, substr(s.node, 3))
            WHEN 'u:' THEN coalesce(iu.customer_id, substr(s.node, 3))
            ELSE substr(s.node, 3) END AS person
FROM _privacy_seed s
LEFT JOIN profile_members m ON left(s.node, 2) = 'r:' AND m.record_id = substr(s.node, 3)
LEFT JOIN identities iu
    ON left(s.node, 2) = 'u:' AND iu.id_type = 'user_id' AND iu.id_value = substr(s.node, 3)
"""

# Every id of each person: (person, kind, value); kinds record, profile, user_id,
# anonymous_id, email, phone. In three steps, so that each step's ids are constants for the
# next ({persons}, {records}, {user_ids}: see INLINE_FORMS).
_RECORDS = """
CREATE OR REPLACE TEMP TABLE _privacy_record AS
SELECT profile_id AS person, record_id AS value FROM profile_members WHERE profile_id IN {persons}
UNION SELECT customer_id, customer_id FROM customers WHERE customer_id IN {persons}
UNION SELECT customer_id, id_value FROM identities
    WHERE customer_id IN {persons} AND id_type = 'record'
"""
_BASE = """
CREATE OR REPLACE TEMP TABLE _privacy_id AS
SELECT person, 'record' AS kind, value FROM _privacy_record
UNION SELECT profile_id, 'profile', profile_id FROM profiles WHERE profile_id IN {persons}
UNION SELECT customer_id, id_type, id_value FROM identities
    WHERE customer_id IN {persons} AND id_type <> 'record'
UNION SELECT DISTINCT person, 'user_id', person FROM _privacy_person
UNION SELECT person, 'user_id', value FROM _privacy_record
UNION SELECT r.person, 'email', c.email FROM _privacy_record r JOIN (
        SELECT customer_id, email FROM customers
        WHERE customer_id IN {records} AND email IS NOT NULL) c ON c.customer_id = r.value
UNION SELECT r.person, 'phone', c.phone FROM _privacy_record r JOIN (
        SELECT customer_id, phone FROM customers
        WHERE customer_id IN {records} AND phone IS NOT NULL) c ON c.customer_id = r.value
UNION SELECT r.person, 'email', k.email FROM _privacy_record r JOIN (
        SELECT record_id, email FROM customer_records_clean
        WHERE record_id IN {records} AND email IS NOT NULL) k ON k.record_id = r.value
UNION SELECT r.person, 'phone', k.phone FROM _privacy_record r JOIN (
        SELECT record_id, phone FROM customer_records_clean
        WHERE record_id IN {records} AND phone IS NOT NULL) k ON k.record_id = r.value
UNION SELECT profile_id, 'email', email FROM profiles
    WHERE profile_id IN {persons} AND email IS NOT NULL
UNION SELECT profile_id, 'phone', phone FROM profiles
    WHERE profile_id IN {persons} AND phone IS NOT NULL
"""
_ANONYMOUS = """
INSERT INTO _privacy_id
SELECT DISTINCT b.person, 'anonymous_id', l.anonymous_id FROM _privacy_id b JOIN (
        SELECT anonymous_id, user_id FROM anonymous_links WHERE user_id IN {user_ids}) l
    ON b.kind = 'user_id' AND l.user_id = b.value
EXCEPT SELECT person, kind, value FROM _privacy_id
"""


def _ids(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``_privacy_id`` from ``_privacy_person``."""
    persons = _listed(con, "SELECT DISTINCT person FROM _privacy_person")
    con.execute(_RECORDS.format(persons=persons)).fetchall()
    records = _listed(con, "SELECT DISTINCT value FROM _privacy_record")
    con.execute(_BASE.format(persons=persons, records=records)).fetchall()
    user_ids = _listed(con, "SELECT DISTINCT value FROM _privacy_id WHERE kind = 'user_id'")
    con.execute(_ANONYMOUS.format(user_ids=user_ids)).fetchall()
    con.execute("DROP TABLE IF EXISTS _privacy_record").fetchall()


def _listed(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """The values ``query`` answers as constants when few, else the query itself."""
    values = [str(v) for (v,) in con.execute(query).fetchall() if v is not None]
    return _constants(sorted(values)) if len(values) <= INLINE_FORMS else f"({query})"


@dataclass
class Person:
    """One person a request matched, with every id and text form she is held under."""

    key: str
    """Her profile id after ``audience clean``, else her record id, else her user id."""
    records: set[str] = field(default_factory=set)
    profiles: set[str] = field(default_factory=set)
    user_ids: set[str] = field(default_factory=set)
    anonymous_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    _needles: set[str] | None = field(default=None, repr=False, compare=False)

    @property
    def customer_ids(self) -> set[str]:
        """Every value a ``customer_id`` column may hold for her."""
        return {self.key} | self.records | self.profiles | self.user_ids

    def event_ids(self) -> set[str]:
        """Values of events' user_id, anonymous_id and previous_id that are hers."""
        return self.user_ids | self.anonymous_ids | self.customer_ids

    def text_forms(self) -> set[str]:
        """Every form to search raw text for (lower-cased): ids, e-mails, phone spellings,
        and the SHA-256 an advertising audience holds them as."""
        return {form.lower() for form in self.needles()}

    def needles(self) -> set[str]:
        """The text forms as spelled and lower-cased, with the SHA-256 of her normalised
        e-mails and phones (computed once: phone parsing is the cost of a large batch)."""
        if self._needles is None:
            self._needles = self._spellings()
        return self._needles

    def _spellings(self) -> set[str]:
        forms = set(self.customer_ids | self.anonymous_ids)
        for email in self.emails:
            forms |= email_forms(email)
        for phone in self.phones:
            forms |= phone_forms(phone)
        forms = {form for form in forms if len(form.strip()) >= 3}
        forms |= {sha256_hex(e) for e in map(normalise_email, self.emails) if e}
        for e164 in filter(None, map(phone_e164, self.phones)):
            forms |= {sha256_hex(e164), sha256_hex(e164[1:])}
        return forms | {form.lower() for form in forms}

    def identifiers(self) -> list[tuple[str, str]]:
        """(kind, value) of every identifier, for the suppression list."""
        pairs = [("customer", v) for v in self.records | self.profiles]
        pairs += [("user_id", v) for v in self.user_ids]
        pairs += [("anonymous_id", v) for v in self.anonymous_ids]
        pairs += [("email", v) for v in self.emails]
        pairs += [("phone", v) for v in self.phones]
        return sorted(set(pairs))


@dataclass
class Located:
    """What a batch of requests resolved to: the persons of each request, by position."""

    persons: dict[str, Person]
    by_request: list[list[str]]
    """Person keys each request matched (empty: nobody; several: ambiguous)."""


def query_forms(query: PersonQuery) -> list[str]:
    """The forms of a request's identifier matched against stored values."""
    if query.kind == "email":
        return sorted(email_forms(query.value) | {normalise_email(query.value) or ""} - {""})
    if query.kind == "phone":
        return sorted(phone_forms(query.value) | {compact_phone(query.value)})
    return [query.value.strip()]


def locate(con: duckdb.DuckDBPyConnection, queries: Sequence[PersonQuery]) -> Located:
    """Resolve every request at once; leaves temp table ``_privacy_id`` (person, kind, value)."""
    rows = [(qid, q.kind, form) for qid, q in enumerate(queries) for form in query_forms(q)]
    frame = pd.DataFrame(rows, columns=["qid", "kind", "form"])
    con.register("_privacy_q_frame", frame)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _privacy_q AS SELECT * FROM _privacy_q_frame"
        ).fetchall()
    finally:
        con.unregister("_privacy_q_frame")
    con.execute(_seeds(rows)).fetchall()
    con.execute(_PERSONS).fetchall()
    _ids(con)
    by_request: list[list[str]] = [[] for _ in queries]
    for qid, person in con.execute(
        "SELECT qid, person FROM _privacy_person ORDER BY qid, person"
    ).fetchall():
        by_request[int(qid)].append(str(person))
    persons: dict[str, Person] = {}
    slots = {
        "record": "records",
        "profile": "profiles",
        "user_id": "user_ids",
        "anonymous_id": "anonymous_ids",
        "email": "emails",
        "phone": "phones",
    }
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for person, kind, value in con.execute(
        "SELECT person, kind, value FROM _privacy_id"
    ).fetchall():
        kind = "email" if "email" in kind else "phone" if "phone" in kind else kind
        if kind in slots and value is not None:
            found[str(person)][slots[kind]].add(str(value))
    for keys in by_request:
        for key in keys:
            if key not in persons:
                ids = found.get(key, {})
                persons[key] = Person(
                    key, **{slot: set(ids.get(slot, set())) for slot in slots.values()}
                )
    return Located(persons, by_request)
