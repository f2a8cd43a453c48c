"""Basic cleaning: the identifiers every customer is known by, in the ``identities`` table.

CRM ids, e-mail addresses (trimmed, lower-cased, plausible syntax only) and the anonymous ids
seen beside a user id in events. Never changes or deletes an imported record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

from audience.store.warehouse import scalar, utcnow

PLAUSIBLE_EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"


@dataclass(frozen=True)
class BasicCleanSummary:
    customers: int
    emails_normalised: int
    emails_implausible: int
    anonymous_ids_linked: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def basic_clean(con: duckdb.DuckDBPyConnection) -> BasicCleanSummary:
    now = utcnow()
    con.execute(
        """INSERT INTO identities SELECT 'crm_id', customer_id, customer_id, source, ?
           FROM customers ON CONFLICT DO NOTHING""",
        [now],
    )
    con.execute(
        f"""INSERT INTO identities
            SELECT 'email', lower(trim(email)), customer_id, source, ? FROM customers
            WHERE regexp_matches(lower(trim(email)), '{PLAUSIBLE_EMAIL}')
            ON CONFLICT DO NOTHING""",
        [now],
    )
    con.execute(
        """INSERT INTO identities
           SELECT DISTINCT 'anonymous_id', anonymous_id, user_id, 'events', ? FROM events
           WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL
           ON CONFLICT DO NOTHING""",
        [now],
    )
    return BasicCleanSummary(
        customers=int(scalar(con, "SELECT count(*) FROM customers")),
        emails_normalised=int(
            scalar(con, "SELECT count(*) FROM customers WHERE email <> lower(trim(email))")
        ),
        emails_implausible=int(
            scalar(
                con,
                f"SELECT count(*) FROM customers WHERE email IS NOT NULL AND NOT "
                f"regexp_matches(lower(trim(email)), '{PLAUSIBLE_EMAIL}')",
            )
        ),
        anonymous_ids_linked=int(
            scalar(con, "SELECT count(*) FROM identities WHERE id_type = 'anonymous_id'")
        ),
    )
