"""Per-customer purchase summaries, built in the warehouse by SQL.

The CLV models see each customer through (x, t_x, T): repeat transactions in the calibration
period, time of the last one and length of observation, both from her first purchase, plus
her mean repeat spend. Following the literature, all orders of a customer on one day (in the
workspace time zone) are one transaction, their amounts summed.
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


def daily_transactions_sql(timezone: str, drop_nonpositive: bool) -> str:
    """One row per customer and day: the day's total is one transaction."""
    having = "HAVING sum(amount) > 0" if drop_nonpositive else ""
    return (
        f"SELECT customer_id, {local_day('ordered_at', timezone)} AS day, "
        f"sum(amount)::DOUBLE AS amount FROM person_order_lines GROUP BY ALL {having}"
    )


@dataclass
class PurchaseSummary:
    """Customers first seen by the calibration end, as the models and the reports need them."""

    customer_ids: pa.Array
    frequency: NDArray[np.float64]
    recency: FloatArray
    T: FloatArray
    mean_spend: FloatArray
    """Mean value of repeat transactions; NaN without repeat purchases."""
    first_day: NDArray[np.datetime64]
    holdout_frequency: FloatArray | None
    calibration_end: date
    holdout_end: date | None
    last_day: date
    time_unit: str

    @property
    def unit_days(self) -> int:
        return TIME_UNIT_DAYS[self.time_unit]

    @property
    def X(self) -> FloatArray:  # noqa: N802 (scikit-learn's name for the data matrix)
        """(frequency, recency, T) in time units, the transaction models' input."""
        return np.column_stack([self.frequency, self.recency, self.T])

    def __len__(self) -> int:
        return len(self.frequency)


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
    drop_nonpositive: bool = False,
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
    days = daily_transactions_sql(timezone, drop_nonpositive)
    if not drop_nonpositive:
        _refuse_negative(con, days, holdout_end or cal)
    params: dict[str, Any] = {"cal": cal, "hold": holdout_end or cal}
    table = con.sql(
        f"""WITH days AS ({days}),
        firsts AS (SELECT customer_id, min(day) AS first_day FROM days GROUP BY customer_id)
        SELECT d.customer_id, f.first_day,
               (count(*) FILTER (WHERE d.day <= $cal) - 1)::DOUBLE AS x,
               date_diff('day', f.first_day, max(d.day) FILTER (WHERE d.day <= $cal))::DOUBLE
                 AS t_x_days,
               date_diff('day', f.first_day, $cal::DATE)::DOUBLE AS T_days,
               avg(d.amount) FILTER (WHERE d.day <= $cal AND d.day > f.first_day) AS mean_spend,
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
        first_day=column("first_day").to_numpy().astype("datetime64[D]"),
        holdout_frequency=column("holdout_x").to_numpy() if holdout_end else None,
        calibration_end=cal,
        holdout_end=holdout_end,
        last_day=last,
        time_unit=time_unit,
    )


def _refuse_negative(con: duckdb.DuckDBPyConnection, days: str, until: date) -> None:
    """Negative days (returns) are not purchases; zero days are, as in the CDNOW literature."""
    rows = con.execute(
        f"SELECT count(*), min(customer_id), min(day) FROM ({days}) WHERE amount < 0 AND day <= ?",
        [until],
    ).fetchall()
    count, customer, day = rows[0]
    if count:
        raise InputError(
            f"{count} customer-day(s) have a negative total amount (e.g. customer {customer} "
            f"on {day}); returns are not purchases: remove them from the orders file, or set "
            "predictive.drop_nonpositive_amounts: true in audience.yaml to ignore such days"
        )


def daily_repeat_counts(
    con: duckdb.DuckDBPyConnection, summary: PurchaseSummary, timezone: str, drop: bool
) -> tuple[NDArray[np.datetime64], FloatArray]:
    """Repeat transactions per calendar day of the summary's customers, through the hold-out."""
    end = summary.holdout_end or summary.calibration_end
    rows = con.sql(
        f"""WITH days AS ({daily_transactions_sql(timezone, drop)}),
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
