from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from audience.errors import InputError
from audience.ingest.demo.generate import generate
from audience.ingest.demo.personas import PERSONAS


def test_same_seed_same_files(tmp_path: Path) -> None:
    a = generate(400, tmp_path / "a", seed=3, end=date(2026, 1, 31))
    generate(400, tmp_path / "b", seed=3, end=date(2026, 1, 31))
    for name in ("customers.csv", "orders.csv", "events.jsonl", "ground_truth.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = generate(400, tmp_path / "c", seed=4, end=date(2026, 1, 31))
    assert c.customers.read_bytes() != a.customers.read_bytes()


def test_ground_truth_describes_every_record(demo_files) -> None:  # type: ignore[no-untyped-def]
    customers = pd.read_csv(demo_files.customers, sep=";", dtype=str, keep_default_na=False)
    truth = pd.read_csv(demo_files.ground_truth, dtype=str, keep_default_na=False)
    assert len(customers) == len(truth) == demo_files.n_customers
    assert list(customers["id_client"]) == list(truth["customer_ref"])
    assert set(truth["persona"]) == {p.name for p in PERSONAS}
    duplicates = truth[truth["is_duplicate"] == "True"]
    assert 0.03 < len(duplicates) / len(truth) < 0.07
    primaries = truth[truth["is_duplicate"] == "False"]
    assert primaries["person_id"].is_unique
    assert set(duplicates["person_id"]) <= set(primaries["person_id"])


def test_planted_dirt_is_in_the_file_as_the_truth_says(demo_files) -> None:  # type: ignore[no-untyped-def]
    customers = pd.read_csv(demo_files.customers, sep=";", dtype=str, keep_default_na=False)
    truth = pd.read_csv(demo_files.ground_truth, dtype=str, keep_default_na=False)
    both = customers.join(truth)
    missing = both[both["email_dirt"] == "missing"]
    assert (missing["email"] == "").all()
    assert len(missing) > 0
    clean = both[both["email_dirt"] == "clean"]
    assert (clean["email"] == clean["true_email"]).all()
    variants = both[both["city_dirt"].isin(["upper_ascii", "abbreviated", "typo"])]
    assert len(variants) > 0
    assert (variants["ville"] != variants["true_city"]).all()
    formats = set(both.loc[both["birth_date_dirt"] != "missing", "date_naissance"].str[2])
    assert {"/", "-", "."} <= formats  # day-first with several separators, and ISO
    same_email = both[both["duplicate_kind"] == "same_email"]
    assert (same_email["email"].str.strip().str.lower() == same_email["true_email"]).all()


def test_events_follow_the_segment_spec(demo_files) -> None:  # type: ignore[no-untyped-def]
    with demo_files.events.open() as handle:
        events = [json.loads(next(handle)) for _ in range(500)]
    assert {"type", "messageId", "timestamp", "anonymousId", "context"} <= set(events[0])
    assert {e["type"] for e in events} <= {"track", "page", "identify"}
    assert all(e["userId"] or e["anonymousId"] for e in events)
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    assert timestamps[0].endswith("Z")
    assert len({e["messageId"] for e in events}) == len(events)


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least 50"):
        generate(10, tmp_path, end=date(2026, 1, 31))


def test_customers_of_one_persona_have_their_own_habits(demo_files) -> None:  # type: ignore[no-untyped-def]
    # The CLV models assume heterogeneity between customers (gamma purchase rates and
    # spend): customers of a persona must differ in mean order value, number of orders and
    # basket size, while staying around their persona's mean.
    orders = pd.read_csv(
        demo_files.orders, sep=";", decimal=",", usecols=["id_commande", "id_client", "montant"]
    )
    truth = pd.read_csv(demo_files.ground_truth, usecols=["customer_ref", "person_id", "persona"])
    lines = orders.merge(truth, left_on="id_client", right_on="customer_ref")
    per_order = lines.groupby(["person_id", "persona", "id_commande"]).agg(
        value=("montant", "sum"), lines=("montant", "size")
    )
    people = per_order.groupby(["person_id", "persona"]).agg(
        n=("value", "size"), mean=("value", "mean"), cv=("value", "std"), lines=("lines", "mean")
    )
    people["cv"] /= people["mean"]
    loyal = people.xs("loyal_high_spender", level="persona")
    loyal = loyal[loyal["n"] >= 5]
    assert len(loyal) > 100
    spread = loyal["mean"].std() / loyal["mean"].mean()
    assert 0.3 < spread < 0.8  # lognormal σ 0.5 around the persona's basket
    assert 120 < loyal["mean"].mean() < 185  # around the persona's 150 €
    assert 0.35 < loyal["cv"].median() < 0.75  # orders vary around each customer's own mean
    assert loyal["n"].std() / loyal["n"].mean() > 0.4  # purchase rates differ
    assert loyal["lines"].std() > 0.1  # basket sizes differ
    by_persona = people.groupby(level="persona")["mean"].mean()
    assert by_persona["loyal_high_spender"] > 3 * by_persona["bargain_hunter"]
