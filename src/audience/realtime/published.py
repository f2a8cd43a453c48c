"""Batch state in a live profile: written by ``audience publish``, the live path on top.

Pure functions, no I/O, like :mod:`audience.realtime.live_profile`.

How the two meet (the rules ``audience publish`` documents):

* **RFM**: the published order count, spend and order dates replace the live ones; the
  orders the live path counted that the warehouse does not hold yet (an ``Order Completed``
  event not loaded yet: :mod:`audience.realtime.live_orders`) are added on top. The
  warehouse counts loaded ``Order Completed`` events as orders, once per order id, as the
  live path does; an order file's lines replace an event's order of the same id.
* **Features** the deployed model reads: the published feature row, with the live
  increments since the publish: orders (frequency, monetary, basket, recency), engagement
  (the published counts decayed to now plus the live counts since the publish, which restart
  from zero when a publish brings features computed anew — they hold the events loaded by
  then —, not when it brings the same features with new scores or memberships), and
  time (recency and tenure grow with the clock). Features the live path cannot compute
  (category shares, context) keep their published value.
* **Traits**: published traits win over live ``identify`` traits older than the warehouse
  data; newer live traits win.
* **Consent**: per purpose, the later decision wins, wherever it was made.
* **Segments**: published memberships are sticky. A rule segment the live evaluator decides
  and a cluster of the deployed model's run are decided live (the model assigns from the
  merged features above, so a person whose behaviour did not change keeps her batch
  cluster); every other published membership (RFM, CLV tiers, churn bands, other runs)
  stays until the next publish.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audience.model.live_records import PersonState, Profile
from audience.realtime.events import iso
from audience.realtime.live_orders import earliest, latest, settle, unpublished
from audience.realtime.live_profile import (
    ProfileRules,
    add_identity,
    features,
    new_profile,
    parse_time,
    repair,
)

_ENGAGEMENT = ("visits", "product_views", "cart_adds", "email_opens", "email_clicks")


@dataclass(frozen=True)
class ClusterNames:
    """The deployed clustering run's segments: label -> (segment id, name)."""

    run_id: str | None = None
    segments: Mapping[int, tuple[str, str]] = field(default_factory=dict)


def publish_into(profile: Profile, state: PersonState, now: datetime, rules: ProfileRules) -> None:
    """Write ``state`` into ``profile`` (in place), keeping what the live path added since."""
    repair(profile)
    live = settle(profile, state["order_ids"])
    batch = state["rfm"]
    profile["rfm"] = {
        "frequency": batch["frequency"] + live["frequency"],
        "monetary": batch["monetary"] + live["monetary"],
        "discount": batch["discount"] + live["discount"],
        "gross": batch["gross"] + live["gross"],
        "first_order_at": earliest(batch["first_order_at"], live["first_order_at"]),
        "last_order_at": latest(batch["last_order_at"], live["last_order_at"]),
    }
    for key in state["keys"]:
        kind, _, value = key.partition(":")
        add_identity(profile, kind, value)
    profile["first_seen"] = earliest(profile["first_seen"], batch["first_order_at"])
    as_of = state["as_of"]
    live_newer = (
        profile["traits_at"] is not None
        and as_of is not None
        and parse_time(profile["traits_at"]) > parse_time(as_of)
    )
    profile["traits"] = (
        {**state["traits"], **profile["traits"]}
        if live_newer
        else {**profile["traits"], **state["traits"]}
    )
    for purpose, consent in state["consents"].items():
        current = profile["consents"].get(purpose)
        if current is None or parse_time(consent["changed_at"]) >= parse_time(
            current["changed_at"]
        ):
            profile["consents"][purpose] = consent
    # New features hold the events loaded when they were computed: live engagement counts
    # restart. The same features published again (after `predict`, an import...) leave the
    # live counts since the previous publish standing: they are not in those features.
    before = profile.get("published")
    if before is None or before["as_of"] != as_of:
        profile["engagement"] = new_profile("")["engagement"]
        profile["engagement"]["as_of"] = iso(now)
    profile["published"] = {
        "hash": state["hash"],
        "customer_id": state["customer_id"],
        "as_of": as_of,
        "at": iso(now),
        "rfm": batch.copy(),
        "features": dict(state["features"]),
        "segments": dict(state["segments"]),
        "scores": dict(state["scores"]),
    }


def merged_features(
    view_: Profile,
    now: datetime,
    rules: ProfileRules,
    live: dict[str, float | None] | None = None,
) -> dict[str, float | None]:
    """The features the deployed model reads: published, with the live increments since.

    ``live``: :func:`features` of ``view_`` at ``now``, when the caller has them already."""
    if live is None:
        live = features(view_, now)
    published = view_.get("published")
    if not published or not published["features"]:
        return live
    merged: dict[str, float | None] = {**live, **published["features"]}
    as_of = published["as_of"]
    elapsed = max(0.0, (now - parse_time(as_of)).total_seconds() / 86400) if as_of else 0.0
    for name in ("recency_days", "tenure_days"):
        value = merged.get(name)
        if value is not None and math.isfinite(value):
            merged[name] = value + elapsed
    orders = unpublished(view_)
    if orders["frequency"]:
        n = (merged.get("frequency") or 0.0) + orders["frequency"]
        spend = (merged.get("monetary") or 0.0) + orders["monetary"]
        merged.update(frequency=n, monetary=spend, avg_basket=spend / n if n else None)
        merged["recency_days"] = live["recency_days"]
        if live["mean_days_between"] is not None:
            merged["mean_days_between"] = live["mean_days_between"]
    decay = math.exp(-rules.decay_per_second * elapsed * 86400)
    for name in _ENGAGEMENT:
        base = merged.get(name)
        if base is not None and math.isfinite(base):
            merged[name] = base * decay + (live.get(name) or 0.0)
    return merged


def sticky_segments(
    profile: Profile,
    inside: dict[str, Any],
    evaluated: frozenset[str] | None,
    clusters: ClusterNames | None,
) -> dict[str, Any]:
    """``inside`` (what the live path decided) plus the published memberships it does not
    decide, each with its published name as the reason."""
    published = profile.get("published")
    if not published:
        return inside
    out = dict(inside)
    for sid, segment in published["segments"].items():
        if sid in out or (evaluated is not None and sid in evaluated):
            continue
        if clusters is not None and clusters.run_id and segment["run_id"] == clusters.run_id:
            continue  # the deployed model decides its own run's segments
        out[sid] = {"published": segment["name"], "run_id": segment["run_id"]}
    return out
