"""Per-customer purchase summaries, built in the warehouse by SQL.

The CLV models see each customer through (x, t_x, T): repeat transactions in the calibration
period, time of the last one and length of observation, both from her first purchase, plus
her mean repeat spend. Following the literature, all orders of a customer on one day (in the
workspace time zone) are one transaction, their amounts summed.

Amounts decide what a day is. A day whose total is zero (a free sample, a fully discounted
order) is a purchase: the frequency models count it, as Fader and Hardie do on CDNOW. It
says nothing about spend, so the spend model leaves it out. A day whose total is negative
is a return, not a purchase, and no model sees it. Both are counted for the run's warnings.

Customers are persons: orders follow their person through the view ``person_order_lines``
(after ``audience clean``, records merged into one profile are one customer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from audience.config.predictive import TIME_UNIT_DAYS
from audience.errors import InputError
from audience.predictive.mle import FloatArray
from audience.store.sql import sql_literal


def local_day(column: str, timezone: str) -> str:
    """SQL for the calendar day of a UTC timestamp column in the workspace time zone."""
    return f"CAST(timezone({sql_literal(timezone)}, timezone('UTC', {column})) AS DATE)"


def daily_transactions_sql(timezone: str) -> str:
    """One row per person and purchase day: the day's total, if not negative, is one purchase."""
    return (
        f"SELECT customer_id, {local_day('ordered_at', timezone)} AS day, "
        "sum(amount)::DOUBLE AS amount FROM person_order_lines GROUP BY ALL "
        "HAVING sum(amount) >= 0"
    )


POPULATION_DEFINITION = (
    "persons (profiles after 'audience clean', else customer ids) with a purchase (a day "
    "whose order total is not negative) on or before {cal}"
)


_REPEAT_SPEND = "d.day <= $cal AND d.day > f.first_day AND d.amount > 0"
"""A repeat purchase in the calibration period that the spend model sees."""


@dataclass(frozen=True)
class AmountNotes:
    """Days that some model leaves out because of their amount, counted for the warnings."""

    return_days: int
    """Customer-days with a negative total: returns, not purchases, seen by no model."""
    return_customers: int
    free_repeat_days: int
    """Repeat purchase days with a zero total: purchases, but out of the spend model."""
    free_customers: int

    def warnings(self) -> list[str]:
        out = []
        if self.free_repeat_days:
            out.append(
                f"{self.free_repeat_days} repeat purchase day(s) of {self.free_customers} "
                "customer(s) have a total of 0 (free or fully discounted orders): they count "
                "as purchases but are left out of the spend model"
            )
        if self.return_days:
            out.append(
                f"{self.return_days} customer-day(s) of {self.return_customers} customer(s) "
                "have a negative total (returns): they are not purchases and no model sees them"
            )
        return out


@dataclass
class PurchaseSummary:
    """Customers first seen by the calibration end, as the models and the reports need them."""

    customer_ids: pa.Array
    frequency: NDArray[np.float64]
    recency: FloatArray
    T: FloatArray
    mean_spend: FloatArray
    """Mean value of repeat transactions with a positive total; NaN without any."""
    spend_frequency: FloatArray
    """Repeat transactions with a positive total: those the spend model's mean is over."""
    spend_cv: FloatArray
    """Coefficient of variation of those transactions' values; NaN with fewer than two."""
    first_day: NDArray[np.datetime64]
    holdout_frequency: FloatArray | None
    calibration_end: date
    holdout_end: date | None
    last_day: date
    time_unit: str
    amounts: AmountNotes

    @property
    def unit_days(self) -> int:
        return TIME_UNIT_DAYS[self.time_unit]

    @property
    def X(self) -> FloatArray:  # noqa: N802 (scikit-learn's name for the data matrix)
        """(frequency, recency, T) in time units, the transaction models' input."""
        return np.column_stack([self.frequency, self.recency, self.T])

    def __len__(self) -> int:
        return len(self.frequency)

    @property
    def population_definition(self) -> str:
        return POPULATION_DEFINITION.format(cal=self.calibration_end)


def data_span(con: duckdb.DuckDBPyConnection, timezone: str) -> tuple[date, date]:
    """First and last order days in the workspace time zone, or an InputError if none."""
    row = con.execute(
        f"SELECT min({local_day('ordered_at', timezone)}), max({local_day('ordered_at', timezone)})"
        " FROM order_lines"
    ).fetchall()[0]
    if row[0] is None:
        raise InputError(
            "no orders in the warehouse; import them first with 'audience import orders FILE'"
        )
    return row[0], row[1]


def customer_summary(
    con: duckdb.DuckDBPyConnection,
    timezone: str,
    time_unit: str,
    calibration_end: date | None = None,
    holdout_end: date | None = None,
) -> PurchaseSummary:
    """Summaries of every customer whose first purchase is on or before the calibration end."""
    first, last = data_span(con, timezone)
    cal = calibration_end or last
    if cal < first:
        raise InputError(
            f"calibration end {cal} is before the first order ({first}); "
            f"choose --calibration-end on or after {first}"
        )
    if holdout_end is not None and holdout_end <= cal:
        raise InputError(
            f"hold-out end {holdout_end} must come after the calibration end {cal}; "
            f"choose --holdout-end after {cal}"
        )
    days = daily_transactions_sql(timezone)
    params: dict[str, Any] = {"cal": cal, "hold": holdout_end or cal}
    table = con.sql(
        f"""WITH days AS ({days}),
        firsts AS (SELECT customer_id, min(day) AS first_day FROM days GROUP BY customer_id)
        SELECT d.customer_id, f.first_day,
               (count(*) FILTER (WHERE d.day <= $cal) - 1)::DOUBLE AS x,
               date_diff('day', f.first_day, max(d.day) FILTER (WHERE d.day <= $cal))::DOUBLE
                 AS t_x_days,
               date_diff('day', f.first_day, $cal::DATE)::DOUBLE AS T_days,
               avg(d.amount) FILTER (WHERE {_REPEAT_SPEND}) AS mean_spend,
               count(*) FILTER (WHERE {_REPEAT_SPEND})::DOUBLE AS spend_x,
               (stddev_samp(d.amount) FILTER (WHERE {_REPEAT_SPEND})
                 / avg(d.amount) FILTER (WHERE {_REPEAT_SPEND}))::DOUBLE AS spend_cv,
               count(*) FILTER (WHERE d.day > $cal AND d.day <= $hold)::DOUBLE AS holdout_x
        FROM days d JOIN firsts f USING (customer_id)
        WHERE f.first_day <= $cal
        GROUP BY d.customer_id, f.first_day ORDER BY d.customer_id""",
        params=params,
    ).to_arrow_table()
    unit = TIME_UNIT_DAYS[time_unit]
    column = table.column
    return PurchaseSummary(
        customer_ids=column("customer_id").combine_chunks(),
        frequency=column("x").to_numpy(),
        recency=column("t_x_days").to_numpy() / unit,
        T=column("T_days").to_numpy() / unit,
        mean_spend=column("mean_spend").to_numpy(zero_copy_only=False).astype(np.float64),
        spend_frequency=column("spend_x").to_numpy(),
        spend_cv=column("spend_cv").to_numpy(zero_copy_only=False).astype(np.float64),
        first_day=column("first_day").to_numpy().astype("datetime64[D]"),
        holdout_frequency=column("holdout_x").to_numpy() if holdout_end else None,
        calibration_end=cal,
        holdout_end=holdout_end,
        last_day=last,
        time_unit=time_unit,
        amounts=_amount_notes(con, timezone, cal),
    )


def _amount_notes(con: duckdb.DuckDBPyConnection, timezone: str, cal: date) -> AmountNotes:
    """Returns (negative days) and free repeat purchases (zero days) up to the calibration end."""
    day = local_day("ordered_at", timezone)
    row = con.execute(
        f"""WITH all_days AS (
                SELECT customer_id, {day} AS day, sum(amount) AS amount
                FROM person_order_lines GROUP BY ALL
            ), ranked AS (
                SELECT *, min(day) FILTER (WHERE amount >= 0)
                            OVER (PARTITION BY customer_id) AS first_day
                FROM all_days WHERE day <= ?
            )
            SELECT count(*) FILTER (WHERE amount < 0),
                   count(DISTINCT customer_id) FILTER (WHERE amount < 0),
                   count(*) FILTER (WHERE amount = 0 AND day > first_day),
                   count(DISTINCT customer_id) FILTER (WHERE amount = 0 AND day > first_day)
            FROM ranked""",
        [cal],
    ).fetchall()[0]
    return AmountNotes(*(int(v) for v in row))


def daily_repeat_counts(
    con: duckdb.DuckDBPyConnection, summary: PurchaseSummary, timezone: str
) -> tuple[NDArray[np.datetime64], FloatArray]:
    """Repeat transactions per calendar day of the summary's customers, through the hold-out."""
    end = summary.holdout_end or summary.calibration_end
    rows = con.sql(
        f"""WITH days AS ({daily_transactions_sql(timezone)}),
        ranked AS (SELECT day, min(day) OVER (PARTITION BY customer_id) AS first_day FROM days)
        SELECT day, count(*)::DOUBLE AS n FROM ranked
        WHERE day > first_day AND first_day <= $cal AND day <= $end
        GROUP BY day ORDER BY day""",
        params={"cal": summary.calibration_end, "end": end},
    ).to_arrow_table()
    return rows.column("day").to_numpy().astype("datetime64[D]"), rows.column("n").to_numpy()


def parse_day(text: str | None, option: str) -> date | None:
    """An ISO day from the command line, or an InputError naming the option."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{option} '{text}' is not a date; write it as YYYY-MM-DD") from exc
