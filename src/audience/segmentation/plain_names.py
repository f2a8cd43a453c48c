"""Short plain-language names for segments no catalogue name fits.

A segment is named after its two most distinctive features (largest |z|), in words a marketer
would say: "Lapsed one-time buyers", "Frequent low spenders", never "Low monetary, high
recency days". Each (feature, direction) has an adjective and, for some, a head noun;
the name is the adjectives in a fixed natural order followed by one head noun ("buyers" when
nothing gives one). Features without words fall back to "with high <feature>".
"""

from __future__ import annotations

from dataclasses import dataclass

from audience.model.runs import SegmentProfile

NEW_DAYS = 90
"""'Newly arrived' only under this median tenure; later arrivals are 'later-joining'."""


@dataclass(frozen=True)
class Words:
    """How one side of one feature reads: an adjective, and a head noun when it has one."""

    adjective: str
    noun: str | None = None
    explains: str = ""


_WORDS: dict[tuple[str, str], Words] = {
    ("tenure_days", "high"): Words("long-standing", explains="customers for long"),
    ("tenure_days", "low"): Words("newly arrived", explains="arrived recently"),
    ("recency_days", "high"): Words("lapsed", explains="last order long ago"),
    ("recency_days", "low"): Words("recent", explains="ordered recently"),
    ("frequency", "high"): Words("frequent", explains="many orders"),
    ("frequency", "low"): Words("occasional", explains="few orders"),
    ("monetary", "high"): Words("big-spending", "high spenders", "high total spend"),
    ("monetary", "low"): Words("low-spending", "low spenders", "low total spend"),
    ("avg_basket", "high"): Words("big-basket", explains="large baskets"),
    ("avg_basket", "low"): Words("small-basket", explains="small baskets"),
    ("mean_days_between", "high"): Words("slow-returning", explains="long gaps between orders"),
    ("mean_days_between", "low"): Words("fast-returning", explains="short gaps between orders"),
    ("spread_days_between", "high"): Words("irregular", explains="irregular gaps"),
    ("spread_days_between", "low"): Words("regular", explains="regular gaps"),
    ("visits", "high"): Words("browsing", "browsers", "many visits"),
    ("visits", "low"): Words("rarely visiting", explains="few visits"),
    ("product_views", "high"): Words("browsing", "browsers", "many product views"),
    ("cart_adds", "high"): Words("cart-filling", explains="many cart adds"),
    ("email_opens", "high"): Words("e-mail-reading", "newsletter readers", "open e-mails"),
    ("email_opens", "low"): Words("e-mail-silent", explains="rarely open e-mails"),
    ("email_clicks", "high"): Words("e-mail-clicking", explains="click in e-mails"),
    ("email_clicks", "low"): Words("e-mail-silent", explains="rarely click in e-mails"),
    ("mobile_share", "high"): Words("mobile", explains="mostly on mobile"),
    ("mobile_share", "low"): Words("desktop", explains="mostly on desktop"),
    ("app_share", "high"): Words("app", explains="order in the app"),
    ("evening_share", "high"): Words("evening", explains="active in the evening"),
    ("discount_share", "high"): Words("discount-driven", "bargain hunters", "buy on discount"),
    ("discount_share", "low"): Words("full-price", explains="rarely use discounts"),
    ("orders_90d", "high"): Words("active", explains="ordered in the last 90 days"),
    ("orders_90d", "low"): Words("inactive", explains="no recent orders"),
    ("revenue_90d", "high"): Words("active", explains="spent in the last 90 days"),
    ("age", "high"): Words("older", explains="older"),
    ("age", "low"): Words("younger", explains="younger"),
}
_ORDER = [feature for feature, _ in _WORDS]
"""Adjectives read in this order: 'lapsed one-time', not 'one-time lapsed'."""


def words_for(feature: str, direction: str, median: float | None) -> Words:
    """Words for one side of a feature; the segment's median sharpens a few of them."""
    if feature == "frequency" and direction == "low" and median is not None:
        if median < 1:
            return Words("never-buying", "prospects", "no order yet")
        if median <= 1:
            return Words("one-time", explains="a single order")
    if (feature, direction) == ("tenure_days", "low") and (median is None or median > NEW_DAYS):
        return Words("later-joining", explains="joined later than most")
    if feature.startswith("category_") and direction == "high":
        label = feature.removeprefix("category_").replace("_", "-")
        return Words(f"{label}-loving", f"{label} buyers", f"buy {label}")
    if feature.startswith(("bag.category=", "bag.channel=")):  # features/bags.py
        return _bag_words(feature, direction)
    found = _WORDS.get((feature, direction))
    if found is not None:
        return found
    label = feature.replace("_", " ").replace("=", " ")
    return Words("", explains=f"{direction} {label}")


def _bag_words(feature: str, direction: str) -> Words:
    """A share of a person's order lines in a category, or of her activity on a channel."""
    kind, value = feature.removeprefix("bag.").split("=", 1)
    label = value.replace("_", "-")
    if kind == "category":
        if direction == "high":
            return Words(f"{label}-loving", f"{label} buyers", f"buy {label}")
        return Words("", explains=f"rarely buy {label}")
    if direction == "high":
        return Words(label, explains=f"mostly on {label}")
    return Words("", explains=f"rarely on {label}")


def plain_name(profile: SegmentProfile) -> str:
    """'Lapsed one-time buyers': the two features with the largest |z|, in plain words."""
    signature = profile.signature()
    top = sorted(signature, key=lambda f: -abs(signature[f]))[:2]
    parts = [
        (f, words_for(f, "high" if signature[f] > 0 else "low", profile.features[f]["median"]))
        for f in top
    ]
    parts.sort(key=lambda p: _ORDER.index(p[0]) if p[0] in _ORDER else len(_ORDER))
    nouns = [w.noun for _, w in parts if w.noun]
    noun = nouns[-1] if nouns else "customers" if _never_bought(profile) else "buyers"
    adjectives = [w.adjective for _, w in parts if w.adjective and w.noun != noun]
    unnamed = [w.explains for _, w in parts if not w.adjective]
    name = " ".join([*dict.fromkeys(adjectives), noun])
    if unnamed:
        name += " with " + " and ".join(unnamed)
    return name[0].upper() + name[1:]


def plain_description(profile: SegmentProfile) -> str:
    """'Stands out by: last order long ago (median 498); a single order (median 1).'"""
    signature = profile.signature()
    top = sorted(signature, key=lambda f: -abs(signature[f]))[:2]
    bits = []
    for f in top:
        median = profile.features[f]["median"]
        words = words_for(f, "high" if signature[f] > 0 else "low", median)
        shown = "" if median is None else f" (median {f.replace('_', ' ')} {median:.4g})"
        bits.append(f"{words.explains}{shown}")
    return "No catalogue name fits; stands out by: " + "; ".join(bits) + "."


def _never_bought(profile: SegmentProfile) -> bool:
    frequency = profile.features.get("frequency", {}).get("median")
    return frequency is not None and frequency < 1
