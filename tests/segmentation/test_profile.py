from __future__ import annotations

import numpy as np
import pandas as pd

from audience.config import DEFAULT_SEGMENT_NAMES, SegmentName
from audience.model.runs import SegmentProfile
from audience.segmentation.profiling import name_segments, profile_segments


def test_profiles_report_mean_median_z_and_lift() -> None:
    raw = pd.DataFrame({"frequency": [1.0, 1.0, 9.0, 9.0], "visits": [5.0, 5.0, 5.0, 6.0]})
    space = (raw - raw.mean()) / raw.std(ddof=0)
    profiles = profile_segments(raw, space.to_numpy(), np.array([0, 0, 1, 1]))
    high = profiles[1].features["frequency"]
    assert high["mean"] == 9.0
    assert high["median"] == 9.0
    assert high["z"] == 1.0
    assert high["lift"] == 1.8
    assert profiles[0].share == 0.5


def _profile_with(
    signature: dict[str, float],
    label: int,
    medians: dict[str, float] | None = None,
    lifts: dict[str, float] | None = None,
) -> SegmentProfile:
    """A profile with the given z-scores; medians and lifts default to ones every default
    name's absolute thresholds accept."""
    raw = pd.DataFrame({f: [0.0] for f in signature})
    profile = profile_segments(raw, np.zeros((1, len(signature))), np.array([0]))[0]
    accepted = {"recency_days": 30.0, "tenure_days": 30.0}
    for feature, z in signature.items():
        profile.features[feature]["z"] = z
        profile.features[feature]["median"] = {**accepted, **(medians or {})}.get(feature, 1.0)
        profile.features[feature]["lift"] = (lifts or {}).get(feature, 1.0 + z)
    profile.label = label
    return profile


def test_names_follow_signatures_one_to_one() -> None:
    base = dict.fromkeys(("avg_basket", "discount_share", "tenure_days", "email_opens"), 0.0)
    champions = _profile_with(
        {**base, "recency_days": -1, "frequency": 1.5, "monetary": 1.4, "visits": 0.2}, 0
    )
    shoppers = _profile_with(
        {**base, "recency_days": 1.5, "frequency": -1.4, "monetary": -1.7, "visits": 0.8}, 1
    )
    also_champions = _profile_with(
        {**base, "recency_days": -0.9, "frequency": 1.2, "monetary": 1.0, "visits": 0}, 2
    )
    profiles = [champions, shoppers, also_champions]
    name_segments(profiles, DEFAULT_SEGMENT_NAMES)
    assert champions.name == "Champions"
    assert shoppers.name == "Window shoppers"
    assert also_champions.name not in ("Champions", "Window shoppers")
    assert len({p.name for p in profiles}) == 3


def test_a_name_needs_every_feature_it_speaks_of() -> None:
    only_frequency = _profile_with({"frequency": 2.0}, 0, medians={"frequency": 9})
    name_segments([only_frequency], DEFAULT_SEGMENT_NAMES)
    assert only_frequency.name == "Frequent buyers"


def test_weak_fit_gets_a_plain_name() -> None:
    odd = _profile_with(
        {"visits": 0.1, "frequency": -0.3, "tenure_days": 2.0}, 0, medians={"frequency": 3}
    )
    name_segments([odd], [SegmentName(name="Loyal", when={"frequency": "high"})])
    assert odd.name == "Long-standing occasional buyers"
    assert odd.description.startswith("No catalogue name fits; stands out by: customers for long")


def test_every_configurable_kpi_has_its_sql() -> None:
    from audience.config import KPI_NAMES
    from audience.segmentation.kpis import KPI_SQL

    assert set(KPI_SQL) == set(KPI_NAMES)


CHAMPION_Z = {"recency_days": -1.2, "frequency": 1.5, "monetary": 1.4}


def test_champions_need_a_recent_median_purchase() -> None:
    recent = _profile_with(CHAMPION_Z, 0, medians={"recency_days": 60})
    lapsed = _profile_with(CHAMPION_Z, 1, medians={"recency_days": 200})
    name_segments([recent], DEFAULT_SEGMENT_NAMES)
    name_segments([lapsed], DEFAULT_SEGMENT_NAMES)
    assert recent.name == "Champions"
    assert lapsed.name != "Champions"


def test_new_customers_need_a_short_tenure() -> None:
    signature = {"tenure_days": -1.5, "recency_days": -1.0}
    new = _profile_with(signature, 0, medians={"tenure_days": 40, "recency_days": 20})
    old = _profile_with(signature, 1, medians={"tenure_days": 500, "recency_days": 20})
    name_segments([new], DEFAULT_SEGMENT_NAMES)
    name_segments([old], DEFAULT_SEGMENT_NAMES)
    assert new.name == "New customers"
    assert old.name == "Later-joining recent buyers"


def test_at_risk_high_spenders_need_to_outspend_the_average() -> None:
    signature = {"recency_days": 1.2, "monetary": 0.6}
    spenders = _profile_with(signature, 0, medians={"recency_days": 400}, lifts={"monetary": 1.8})
    not_really = _profile_with(
        signature, 1, medians={"recency_days": 400}, lifts={"monetary": 0.55}
    )
    name_segments([spenders], DEFAULT_SEGMENT_NAMES)
    name_segments([not_really], DEFAULT_SEGMENT_NAMES)
    assert spenders.name == "At-risk high spenders"
    assert not_really.name == "Lapsed high spenders"


def test_thresholds_come_from_the_names_configuration() -> None:
    strict = SegmentName(name="Loyal", when={"frequency": "high"}, median_at_least={"frequency": 5})
    few = _profile_with({"frequency": 1.0}, 0, medians={"frequency": 3})
    many = _profile_with({"frequency": 1.0}, 1, medians={"frequency": 8})
    name_segments([few], [strict])
    name_segments([many], [strict])
    assert (few.name, many.name) == ("Frequent buyers", "Loyal")


def test_plain_names_read_like_a_marketer_speaks() -> None:
    lapsed_once = _profile_with(
        {"recency_days": 1.6, "frequency": -1.2, "monetary": -0.2},
        0,
        medians={"recency_days": 480, "frequency": 1},
    )
    frequent_low = _profile_with(
        {"frequency": 1.3, "monetary": -1.1, "recency_days": 0.1}, 1, medians={"frequency": 7}
    )
    prospects = _profile_with({"frequency": -2.0, "visits": 1.5}, 2, medians={"frequency": 0})
    name_segments([lapsed_once, frequent_low, prospects], [])
    assert lapsed_once.name == "Lapsed one-time buyers"
    assert frequent_low.name == "Frequent low spenders"
    assert prospects.name == "Never-buying browsers"
    for profile in (lapsed_once, frequent_low, prospects):
        assert "distinctive" not in profile.description
        assert profile.description.startswith("No catalogue name fits; stands out by:")


def test_bags_of_categories_and_channels_read_as_words() -> None:
    from audience.segmentation.plain_names import words_for

    shoes = words_for("bag.category=shoes", "high", 0.6)
    assert (shoes.adjective, shoes.noun) == ("shoes-loving", "shoes buyers")
    assert words_for("bag.channel=web", "low", 0.0).explains == "rarely on web"
    assert words_for("bag.channel=app", "high", 0.9).adjective == "app"
