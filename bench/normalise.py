"""Throughput of the normalisers against the naive baseline, on a generated customers.csv.

The product path normalises distinct values only and reads plain formats with vectorised
string operations, calling the libraries for the rest. The baseline calls the library on
every row (email-validator, phonenumbers, pandas' parser, a rapidfuzz search over all
communes), or for names and postcodes the same per-value rule; it is timed on a random
sample and extrapolated to the full row count, which the output says.

Usage::

    .venv/bin/python bench/normalise.py --customers path/to/customers.csv
    .venv/bin/python bench/normalise.py --rows 1000000   # generates (slow: orders, events)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from rapidfuzz import fuzz, process

from audience.ingest.demo.generate import generate
from audience.ingest.demo.personas import CATEGORY_VARIANTS
from audience.quality.normalise import (
    normalise_category,
    normalise_city,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_postcode,
)
from audience.quality.normalise.city import city_key
from audience.quality.normalise.city_reference import city_reference
from audience.quality.normalise.names import PARTICLES, _clean, _recase

BASELINE_SAMPLE = 20_000


def _email_each(text: str) -> str | None:
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _phone_each(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _name_each(text: str) -> str:
    return _recase(_clean(text), frozenset(PARTICLES))


def _postcode_each(text: str) -> str | None:
    bare = "".join(text.split()).removesuffix(".0")
    padded = "0" + bare if len(bare) == 4 else bare
    return padded if len(padded) == 5 and padded.isdigit() else None


def _city_each(keys: list[str]) -> Callable[[str], object]:
    """Naive city matching: a fuzzy search over every commune for every row."""

    def match(text: str) -> object:
        return process.extractOne(city_key(text), keys, scorer=fuzz.ratio)

    return match


def _categories(n: int) -> pd.Series:
    """Order-line categories as the demo writes them: one line in ten misspelt."""
    rng = np.random.default_rng(0)
    canonical = np.array(list(CATEGORY_VARIANTS), dtype=object)[rng.integers(0, 8, n)]
    variants = [
        CATEGORY_VARIANTS[c][rng.integers(0, len(CATEGORY_VARIANTS[c]))]
        for c in canonical[: n // 10]
    ]
    canonical[: n // 10] = variants
    return pd.Series(rng.permutation(canonical), dtype="str")


def _category_each(taxonomy: dict[str, list[str]]) -> Callable[[str], object]:
    """Naive category matching: a rapidfuzz search over the taxonomy for every row."""
    names = [name for canonical, synonyms in taxonomy.items() for name in (canonical, *synonyms)]
    return lambda text: process.extractOne(text, names, scorer=fuzz.WRatio)


def _load(args: argparse.Namespace) -> pd.DataFrame:
    path: Path | None = args.customers
    if path is None:
        out = args.cache / f"rows-{args.rows}"
        path = out / "customers.csv"
        if not path.exists():
            print(f"generating {args.rows:,} customers into {out} (orders and events too: slow)")
            generate(args.rows, out, seed=3, end=date(2026, 11, 25))
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _baseline(column: pd.Series, each: Callable[[str], object], n: int) -> float:
    """Seconds the per-row call would take on ``n`` rows, from a timed sample."""
    sample = column.sample(min(BASELINE_SAMPLE, len(column)), random_state=0)
    seconds = _timed(lambda: [each(str(v)) for v in sample])
    return seconds * n / len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=Path, help="customers.csv written by generate")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/audience-bench"))
    args = parser.parse_args()
    frame = _load(args)
    n = len(frame)
    print(f"{n:,} customer records; baseline: per-row call timed on {BASELINE_SAMPLE:,} random")
    print("rows and extrapolated to all rows.\n")
    reference_seconds = _timed(city_reference)
    keys = list(city_reference().rows_of_key)
    categories = _categories(n)
    taxonomy: dict[str, list[str]] = {category: [] for category in CATEGORY_VARIANTS} | {
        "Mode": ["Vêtements"]
    }
    cases: list[tuple[str, Callable[[], object], pd.Series, Callable[[str], object]]] = [
        ("email", lambda: normalise_email(frame["email"]), frame["email"], _email_each),
        ("phone", lambda: normalise_phone(frame["telephone"]), frame["telephone"], _phone_each),
        ("first name", lambda: normalise_name(frame["prenom"]), frame["prenom"], _name_each),
        ("last name", lambda: normalise_name(frame["nom"]), frame["nom"], _name_each),
        (
            "postcode",
            lambda: normalise_postcode(frame["code_postal"]),
            frame["code_postal"],
            _postcode_each,
        ),
        (
            "city",
            lambda: normalise_city(frame["ville"], frame["code_postal"]),
            frame["ville"],
            _city_each(keys),
        ),
        (
            "category",
            lambda: normalise_category(categories, taxonomy),
            categories,
            _category_each(taxonomy),
        ),
    ]
    header = f"{'normaliser':<18}{'seconds':>9}{'rows/s':>12}{'baseline s':>12}{'rows/s':>10}"
    print(header + f"{'speed-up':>10}")
    total = 0.0
    for name, run, column, each in cases:
        seconds = _timed(run)
        total += seconds
        naive = _baseline(column, each, n)
        print(
            f"{name:<18}{seconds:>9.2f}{n / seconds:>12,.0f}{naive:>12.1f}{n / naive:>10,.0f}"
            f"{naive / seconds:>9.0f}x"
        )
    print(f"\nall normalisers: {total:.1f} s for {n:,} rows ({n / total:,.0f} rows/s);")
    print("category runs on as many synthetic order-line categories (demo spellings);")
    print(f"communes reference built once in {reference_seconds:.1f} s (not included).")


if __name__ == "__main__":
    main()
