"""``audience generate``: realistic French e-commerce data with planted personas and dirt.

Writes ``customers.csv`` (a CRM export: semicolons, French dates, mixed phone formats, city
spellings, planted duplicates), ``orders.csv`` (order lines, decimal commas, Paris local
times), ``events.jsonl`` (Segment Spec events) and ``ground_truth.csv`` (who is who and
what dirt was planted), which the pipeline never reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from audience.errors import InputError
from audience.ingest.demo.activity import (
    DAY,
    EVENT_NAMES,
    EVENT_WINDOW_DAYS,
    ORDER,
    draw_events,
    draw_lifetimes,
    draw_order_lines,
    misspell_categories,
)
from audience.ingest.demo.crm import build_records
from audience.ingest.demo.people import draw_people
from audience.ingest.demo.personas import CATEGORY_VARIANTS, PERSONAS
from audience.ingest.demo.writers import write_customers, write_events, write_orders

DEFAULT_DUPLICATE_RATE = 0.05


@dataclass(frozen=True)
class GeneratedFiles:
    """Paths and row counts of what ``generate`` wrote."""

    customers: Path
    orders: Path
    events: Path
    ground_truth: Path
    n_customers: int
    n_people: int
    n_order_lines: int
    n_events: int
    end: datetime


def generate(
    n_customers: int,
    out: Path,
    *,
    end: date,
    seed: int = 42,
    duplicate_rate: float = DEFAULT_DUPLICATE_RATE,
) -> GeneratedFiles:
    """Write the four demo files into ``out``; the same seed and end date give the same files.

    Parameters
    ----------
    n_customers:
        Records in ``customers.csv``, planted duplicates included.
    end:
        Last day covered by the data; default: today (UTC).
    """
    if n_customers < 50:
        raise InputError(
            f"--customers must be at least 50 to plant every persona, got {n_customers}"
        )
    if not 0 <= duplicate_rate < 0.5:
        raise InputError(f"duplicate rate must be in [0, 0.5), got {duplicate_rate}")
    out.mkdir(parents=True, exist_ok=True)
    end_day = end
    end_ts = datetime(end_day.year, end_day.month, end_day.day, 23, 0)
    end_s = int(end_ts.replace(tzinfo=UTC).timestamp())
    rng = np.random.default_rng(seed)

    n_people = round(n_customers / (1 + duplicate_rate))
    shares = np.array([p.share for p in PERSONAS])
    persona_idx = rng.choice(len(PERSONAS), size=n_people, p=shares / shares.sum())
    age_lo = np.array([p.age_range[0] for p in PERSONAS])[persona_idx]
    age_hi = np.array([p.age_range[1] for p in PERSONAS])[persona_idx]
    names = np.array([p.name for p in PERSONAS])[persona_idx]
    people = draw_people(rng, names, rng.integers(age_lo, age_hi + 1), pd.Timestamp(end_ts)).frame
    people["consent_email_prob"] = np.array([p.consent_email_prob for p in PERSONAS])[persona_idx]
    people["consent_sms_prob"] = np.array([p.consent_sms_prob for p in PERSONAS])[persona_idx]
    life = draw_lifetimes(rng, list(PERSONAS), persona_idx, end_s)
    signup = pd.Series(pd.to_datetime(life.signup, unit="s"))
    records, truth = build_records(rng, people, signup, n_customers - n_people)

    refs = _record_refs(truth, n_people)
    lines = draw_order_lines(rng, list(PERSONAS), persona_idx, life)
    lines["record"] = _assign_records(
        rng, refs, lines["person"].to_numpy(), lines["order_no"].to_numpy()
    )
    lines["category"] = misspell_categories(rng, lines["category"].to_numpy())
    lines["channel"] = np.where(
        persona_idx[lines["person"]] == _persona("mobile_first"), "app", "web"
    )

    events = draw_events(rng, list(PERSONAS), persona_idx, life, end_s)
    events["record"] = refs.primary[events["person"].to_numpy()]
    events = _chronological(pd.concat([events, _order_events(lines, end_s)], ignore_index=True))

    n_lines = len(lines)
    paths = {name: out / f"{name}.csv" for name in ("customers", "orders", "ground_truth")}
    events_path = out / "events.jsonl"
    con = duckdb.connect()
    try:
        write_customers(con, records, paths["customers"], rng.random(len(records)) < 0.3)
        write_orders(con, lines, paths["orders"])
        del lines
        write_events(con, events, events_path, EVENT_NAMES, list(CATEGORY_VARIANTS), seed)
    finally:
        con.close()
    truth.to_csv(paths["ground_truth"], index=False)
    return GeneratedFiles(
        customers=paths["customers"],
        orders=paths["orders"],
        events=events_path,
        ground_truth=paths["ground_truth"],
        n_customers=len(records),
        n_people=n_people,
        n_order_lines=n_lines,
        n_events=len(events),
        end=end_ts,
    )


def _persona(name: str) -> int:
    return next(i for i, p in enumerate(PERSONAS) if p.name == name)


@dataclass(frozen=True)
class _Refs:
    """Row of each person's records in customers.csv (-1: the person has no duplicate)."""

    primary: np.ndarray
    duplicate: np.ndarray


def _record_refs(truth: pd.DataFrame, n_people: int) -> _Refs:
    primary = np.zeros(n_people, dtype=np.int64)
    duplicate = np.full(n_people, -1, dtype=np.int64)
    is_dup = truth["is_duplicate"].to_numpy()
    person = truth["person_id"].to_numpy()
    rows = np.arange(len(truth))
    primary[person[~is_dup]] = rows[~is_dup]
    duplicate[person[is_dup]] = rows[is_dup]
    return _Refs(primary=primary, duplicate=duplicate)


def _assign_records(
    rng: np.random.Generator, refs: _Refs, person: np.ndarray, order_no: np.ndarray
) -> np.ndarray:
    """Three orders in ten of a duplicated person were placed under the duplicate record."""
    n_orders = int(order_no.max()) + 1 if len(order_no) else 0
    to_duplicate = rng.random(n_orders) < 0.3
    use_dup = to_duplicate[order_no] & (refs.duplicate[person] >= 0)
    records: np.ndarray = np.where(use_dup, refs.duplicate[person], refs.primary[person])
    return records


def _chronological(events: pd.DataFrame) -> pd.DataFrame:
    """Events sorted by time, numbered, with every column the writer expects."""
    order = np.argsort(events["ts"].to_numpy(), kind="stable")
    columns = {c: events[c].to_numpy()[order] for c in events.columns if c != "person"}
    columns["person"] = events["person"].to_numpy()[order]
    for name, dtype in (("order_no", np.int64), ("total", np.float64)):
        if name in columns:
            columns[name] = np.nan_to_num(columns[name].astype(np.float64)).astype(dtype)
        else:
            columns[name] = np.zeros(len(order), dtype=dtype)
    columns["seq"] = np.arange(len(order), dtype=np.int64)
    return pd.DataFrame(columns)


def _order_events(lines: pd.DataFrame, end_s: int) -> pd.DataFrame:
    """An ``Order Completed`` track event for each order of the event window."""
    recent = lines[lines["ordered_at"] >= end_s - EVENT_WINDOW_DAYS * DAY]
    orders = recent.groupby("order_no", sort=False).agg(
        person=("person", "first"),
        ts=("ordered_at", "first"),
        record=("record", "first"),
        total=("amount", "sum"),
    )
    return pd.DataFrame(
        {
            "person": orders["person"].to_numpy(),
            "kind": np.full(len(orders), ORDER, dtype=np.int8),
            "ts": orders["ts"].to_numpy(),
            "mobile": False,
            "anonymous": False,
            "category": np.zeros(len(orders), dtype=np.int8),
            "record": orders["record"].to_numpy(),
            "order_no": orders.index.to_numpy(),
            "total": orders["total"].to_numpy(),
        }
    )
