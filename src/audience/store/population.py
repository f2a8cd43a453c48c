"""Who each step counts, so that a command can say it: persons after cleaning, persons
segmented, persons scored, and why one number differs from the next.

The steps do not all count the same people, for reasons that hold: cleaning counts the persons
the customer files resolve into; the features (and so segmentation) count them plus the ids
known only from orders or events (a customer id no customer file knows, a visitor who signed
in); a prediction run counts whom it scored. These functions count each population and its
difference with the persons after cleaning, in the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from audience.store.warehouse import scalar

_PERSONS = "SELECT count(*) FROM persons"  # the view: profiles, else customer records


@dataclass(frozen=True)
class Population:
    """The ids a step counted, against the persons after cleaning."""

    counted: int
    persons: int
    """Persons after cleaning (profiles; before any cleaning, distinct customer ids)."""
    persons_counted: int
    """How many of the counted ids are such persons."""
    merged_records: int = 0
    """Counted ids that are customer records merged into another person's profile: the same
    person counted twice (a record id is not a person once cleaning merged it)."""

    @property
    def persons_left_out(self) -> int:
        return self.persons - self.persons_counted

    @property
    def others(self) -> int:
        """Counted ids that are neither a person nor a merged record: people known only from
        their orders or events."""
        return self.counted - self.persons_counted - self.merged_records


def persons(con: duckdb.DuckDBPyConnection) -> int:
    """Persons after cleaning: one profile per person (before cleaning, customer ids)."""
    return int(scalar(con, _PERSONS))


def features_population(con: duckdb.DuckDBPyConnection) -> Population:
    """The rows of ``features``: whom segmentation and rule segments count."""
    return _population(con, "SELECT DISTINCT customer_id FROM features")


def scored_population(con: duckdb.DuckDBPyConnection, run_id: str) -> Population:
    """The customers a prediction run scored."""
    return _population(
        con, "SELECT DISTINCT customer_id FROM predictions WHERE run_id = $run", {"run": run_id}
    )


def _population(
    con: duckdb.DuckDBPyConnection, ids_sql: str, params: dict[str, object] | None = None
) -> Population:
    row = con.execute(
        f"""WITH ids AS ({ids_sql}),
                 merged AS (
                    SELECT record_id FROM profile_members WHERE record_id <> profile_id
                    EXCEPT SELECT customer_id FROM persons)
            SELECT (SELECT count(*) FROM ids),
                   (SELECT count(*) FROM persons),
                   (SELECT count(*) FROM ids
                    WHERE customer_id IN (SELECT customer_id FROM persons)),
                   (SELECT count(*) FROM ids
                    WHERE customer_id IN (SELECT record_id FROM merged))
        """,
        params or {},
    ).fetchall()[0]
    return Population(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
