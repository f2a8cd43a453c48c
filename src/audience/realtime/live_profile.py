"""The live profile: one JSON-able dict per person, updated one event at a time.

Pure functions, no I/O: the stores run them inside their transaction. The dict, which the
segment evaluator and ``GET /v1/profiles/{id}`` both see, is::

    profile_id     "user_id:42" or "anonymous_id:a-1" (the identity it was first keyed by)
    identities     {"user_id": [...], "anonymous_id": [...]}
    traits         identify traits, newest first (traits_at: time of the newest identify)
    counters       {"<track event name>": n}        event_types {"track": n, "page": n, ...}
    events_total   every event applied              first_seen / last_seen  ISO UTC
    rfm            {frequency, monetary, discount, gross, first_order_at, last_order_at}
                   ('Order Completed' events, once per order id; + recency_days in the view)
    live_orders    {"<order id>": {amount, discount, at}}: the orders counted live that the
                   warehouse did not hold at the last publish (:mod:`.live_orders`)
    engagement     {as_of, score, visits, product_views, cart_adds, email_opens,
                    email_clicks}: counts decayed by the workspace's half-life to as_of
    device         {mobile, total}: events sent from a mobile device, of all
    consents       {"email": {"status": "granted", "changed_at": ISO, "message_id": ...}}
    groups         {"<groupId>": traits}
    segments       {"<segment id>": {"since": ISO, "why": <evaluator trace>}}
    recent         [{event, timestamp, properties}]: the track events rule segments count,
                   as far back as their longest window
    updated_at     when the consumer last wrote it

:func:`view` adds what depends on the clock (recency, decay to *now*) and the features the
deployed clustering model reads, named as the batch features are.

Every update is total: whatever an event holds, it is folded in or ignored, never an
exception that would dead-letter it and every later event of the person. An amount that
is not a number, not finite or beyond ±:data:`~audience.realtime.input_checks.MAX_AMOUNT`
counts as 0 (the collector refuses such numbers already), sums stay finite, and a profile stored
before these rules (a sum that overflowed was stored as null) reads with 0 in its place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audience.model.live_records import Engagement, Event, JsonObject, Profile, RecentEvent
from audience.realtime.events import iso
from audience.realtime.live_orders import (
    ORDER_EVENT,
    count_order,
    earliest,
    latest,
    merge_orders,
    no_orders,
)

MAX_RECENT = 1_000
ENGAGEMENT_EVENTS = {
    "product_views": "Product Viewed",
    "cart_adds": "Product Added",
    "email_opens": "Email Opened",
    "email_clicks": "Email Link Clicked",
}
_DECAYED = ("score", "visits", *ENGAGEMENT_EVENTS)
CONSENT_EVENTS = ("Consent Updated", "Segment Consent Preference Updated")
MOBILE = ("mobile", "ios", "android")


@dataclass(frozen=True)
class ProfileRules:
    """What the workspace decides about live profiles (from ``audience.yaml``)."""

    half_life_days: float = 90.0
    event_names: frozenset[str] = frozenset()
    """Track events the rule segments count: kept in ``recent`` to count them in windows."""
    event_days: float | None = 90.0
    """How far back ``recent`` goes (None: as far as MAX_RECENT allows)."""

    @property
    def decay_per_second(self) -> float:
        return math.log(2) / (self.half_life_days * 86400.0)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def new_profile(profile_id: str) -> Profile:
    """An empty profile, keyed by the identity it is first known by."""
    return {
        "profile_id": profile_id,
        "identities": {"user_id": [], "anonymous_id": []},
        "traits": {},
        "traits_at": None,
        "counters": {},
        "event_types": {},
        "events_total": 0,
        "first_seen": None,
        "last_seen": None,
        "rfm": no_orders(),
        "engagement": _engagement(None, (0.0,) * len(_DECAYED)),
        "device": {"mobile": 0, "total": 0},
        "consents": {},
        "groups": {},
        "segments": {},
        "recent": [],
        "updated_at": None,
        "live_orders": {},
    }


def add_identity(profile: Profile, kind: str, value: str) -> None:
    known = profile["identities"]["user_id" if kind == "user_id" else "anonymous_id"]
    if value not in known:
        known.append(value)


def _stored(value: Any) -> float:
    """A number a stored profile holds: 0 for null (an old overflowed sum) or anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if math.isfinite(value) else 0.0


def _get(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...``, None as soon as a level is missing or not an object."""
    for key in keys:
        # A parsed event holds dicts: their exact type is checked first, the ABC (slow) after.
        obj = obj.get(key) if type(obj) is dict or isinstance(obj, Mapping) else None
    return obj


_SUMS = ("monetary", "discount", "gross")


def repair(profile: Profile) -> Profile:
    """``profile`` with every stored sum and count a finite number (in place, and returned).

    Every event repairs its profile: a value that is a finite float already (``x - x`` is 0
    unless x is inf or nan) is told apart inline, without a call."""
    rfm: dict[str, Any] = profile["rfm"]  # type: ignore[assignment]
    for key in _SUMS:
        value = rfm.get(key)
        if type(value) is not float or value - value != 0.0:
            rfm[key] = _stored(value)
    if not isinstance(rfm.get("frequency"), int):
        rfm["frequency"] = int(_stored(rfm.get("frequency")))
    engagement: dict[str, Any] = profile["engagement"]  # type: ignore[assignment]
    for key in _DECAYED:
        value = engagement.get(key)
        if type(value) is not float or value - value != 0.0:
            engagement[key] = _stored(value)
    return profile


def repaired(profile: Profile) -> Profile:
    """A copy of ``profile`` (as deep as :func:`repair` writes) with its numbers repaired."""
    out = profile.copy()
    out["rfm"] = profile["rfm"].copy()
    out["engagement"] = profile["engagement"].copy()
    return repair(out)


def _counts(engagement: Engagement) -> tuple[float, ...]:
    e = engagement
    return (
        e["score"],
        e["visits"],
        e["product_views"],
        e["cart_adds"],
        e["email_opens"],
        e["email_clicks"],
    )


def _engagement(as_of: str | None, counts: tuple[float, ...]) -> Engagement:
    """An engagement record from counts in the order of ``_DECAYED``."""
    score, visits, views, adds, opens, clicks = counts
    return {
        "as_of": as_of,
        "score": score,
        "visits": visits,
        "product_views": views,
        "cart_adds": adds,
        "email_opens": opens,
        "email_clicks": clicks,
    }


def decay_to(engagement: Engagement, when: datetime, rules: ProfileRules) -> Engagement:
    """The decayed counts carried to ``when`` (never backwards: a later as_of is kept)."""
    if engagement["as_of"] is None:
        return {**engagement, "as_of": iso(when)}
    age = (when - parse_time(engagement["as_of"])).total_seconds()
    if age <= 0:
        return engagement.copy()
    factor = math.exp(-rules.decay_per_second * age)
    return _engagement(iso(when), tuple(c * factor for c in _counts(engagement)))


def _engage(profile: Profile, event: Event, at: datetime, rules: ProfileRules) -> None:
    """Add this event's weight (1 when it is the newest, less when it arrives late)."""
    current = profile["engagement"]
    as_of = current["as_of"]
    if as_of is None:
        engagement = decay_to(current, at, rules)
        lateness = max(0.0, (parse_time(engagement["as_of"] or iso(at)) - at).total_seconds())
        weight = math.exp(-rules.decay_per_second * lateness)
    else:  # decay_to inlined: its as_of parsed once, the event's lateness read off its age
        age = (at - parse_time(as_of)).total_seconds()
        if age > 0:
            factor = math.exp(-rules.decay_per_second * age)
            engagement = _engagement(iso(at), tuple(c * factor for c in _counts(current)))
            weight = 1.0
        else:
            engagement = current.copy()
            weight = math.exp(rules.decay_per_second * age)
    engagement["score"] += weight
    name = event.get("event")
    if event["type"] in ("page", "screen") or name == "Application Opened":
        engagement["visits"] += weight
    if name == "Product Viewed":
        engagement["product_views"] += weight
    elif name == "Product Added":
        engagement["cart_adds"] += weight
    elif name == "Email Opened":
        engagement["email_opens"] += weight
    elif name == "Email Link Clicked":
        engagement["email_clicks"] += weight
    profile["engagement"] = engagement


def _consents(profile: Profile, event: Event, when: str) -> None:
    """Consent from Segment's consent context or identify traits ``consent_<purpose>``."""
    found: JsonObject = {}
    prefs = _get(event, "context", "consent", "categoryPreferences")
    if isinstance(prefs, Mapping):
        found.update({str(k).lower(): v for k, v in prefs.items()})
    traits = event.get("traits")
    for key, value in traits.items() if isinstance(traits, Mapping) else ():
        if isinstance(key, str) and key.startswith("consent_"):
            found[key.removeprefix("consent_")] = value
    for purpose, value in found.items():
        granted = value is True or str(value).lower() in ("true", "granted", "yes", "1")
        current = profile["consents"].get(purpose)
        if current and parse_time(current["changed_at"]) > parse_time(when):
            continue  # a later decision already stands
        was_granted = current is not None and current["status"] == "granted"
        status = "granted" if granted else ("withdrawn" if was_granted else "denied")
        profile["consents"][purpose] = {
            "status": status,
            "changed_at": when,
            "message_id": event["messageId"],
        }


def apply_event(profile: Profile, event: Event, rules: ProfileRules) -> None:
    """Fold one normalised event into ``profile`` (in place)."""
    repair(profile)
    when = event["timestamp"]
    at = parse_time(when)
    kind = event["type"]
    if event.get("userId"):
        add_identity(profile, "user_id", event["userId"])
    if event.get("anonymousId"):
        add_identity(profile, "anonymous_id", event["anonymousId"])
    profile["events_total"] += 1
    profile["event_types"][kind] = profile["event_types"].get(kind, 0) + 1
    profile["first_seen"] = earliest(profile["first_seen"], when)
    profile["last_seen"] = latest(profile["last_seen"], when)
    traits = event.get("traits") or _get(event, "context", "traits")
    if kind == "identify" and isinstance(traits, Mapping):
        newer = profile["traits_at"] is None or at >= parse_time(profile["traits_at"])
        for key, value in traits.items():
            if newer or key not in profile["traits"]:
                profile["traits"][key] = value
        profile["traits_at"] = latest(profile["traits_at"], when)
    if kind == "track":
        name = str(event["event"])
        profile["counters"][name] = profile["counters"].get(name, 0) + 1
        if name == ORDER_EVENT:
            count_order(profile, event.get("properties") or {}, when, event["messageId"])
        if name in rules.event_names:
            recent: RecentEvent = {
                "event": name,
                "timestamp": when,
                "properties": event.get("properties") or {},
            }
            profile["recent"].append(recent)
            _trim_recent(profile, rules)
    if kind == "group":
        profile["groups"][str(event["groupId"])] = event.get("traits") or {}
    if kind != "identify":
        _engage(profile, event, at, rules)
        device = _get(event, "context", "device", "type")
        profile["device"]["total"] += 1
        profile["device"]["mobile"] += int(isinstance(device, str) and device in MOBILE)
    _consents(profile, event, when)


def merge(into: Profile, other: Profile, rules: ProfileRules) -> None:
    """Fold ``other`` (a profile found to be the same person) into ``into``, in place."""
    repair(into)
    other = repaired(other)
    for value in other["identities"]["user_id"]:
        add_identity(into, "user_id", value)
    for value in other["identities"]["anonymous_id"]:
        add_identity(into, "anonymous_id", value)
    other_newer = (other["traits_at"] or "") > (into["traits_at"] or "")
    into["traits"] = (
        {**into["traits"], **other["traits"]}
        if other_newer
        else {**other["traits"], **into["traits"]}
    )
    into["traits_at"] = latest(into["traits_at"], other["traits_at"])
    for mine_counts, theirs_counts in (
        (into["counters"], other["counters"]),
        (into["event_types"], other["event_types"]),
    ):
        for key, n in theirs_counts.items():
            mine_counts[key] = mine_counts.get(key, 0) + n
    into["events_total"] += other["events_total"]
    into["first_seen"] = earliest(into["first_seen"], other["first_seen"])
    into["last_seen"] = latest(into["last_seen"], other["last_seen"])
    merge_orders(into, other)
    stamps = [e["as_of"] for e in (into["engagement"], other["engagement"]) if e["as_of"]]
    if stamps:
        newest = max(parse_time(s) for s in stamps)
        a, b = (decay_to(e, newest, rules) for e in (into["engagement"], other["engagement"]))
        summed = tuple(x + y for x, y in zip(_counts(a), _counts(b), strict=True))
        into["engagement"] = _engagement(iso(newest), summed)
    into["device"]["mobile"] += other["device"]["mobile"]
    into["device"]["total"] += other["device"]["total"]
    for purpose, consent in other["consents"].items():
        current = into["consents"].get(purpose)
        if current is None or consent["changed_at"] > current["changed_at"]:
            into["consents"][purpose] = consent
    into["groups"] = {**other["groups"], **into["groups"]}
    into["recent"] = [*into["recent"], *other["recent"]]
    _trim_recent(into, rules)


def _trim_recent(profile: Profile, rules: ProfileRules) -> None:
    """Keep the counted events of the rules' longest window, newest MAX_RECENT at most."""
    recent = sorted(profile["recent"], key=lambda e: parse_time(e["timestamp"]))
    if rules.event_days is not None and recent:
        newest = parse_time(recent[-1]["timestamp"])
        recent = [
            e for e in recent if (newest - parse_time(e["timestamp"])).days <= rules.event_days
        ]
    profile["recent"] = recent[-MAX_RECENT:]


def view(profile: Profile, now: datetime, rules: ProfileRules) -> Profile:
    """The profile as of ``now``: recency, engagement decayed to now, and model features."""
    out = repaired(profile)
    rfm = out["rfm"]
    last = rfm["last_order_at"]
    rfm["recency_days"] = None if last is None else (now - parse_time(last)).total_seconds() / 86400
    out["engagement"] = decay_to(out["engagement"], now, rules)
    out["features"] = features(out, now)
    return out


def features(view_: Profile, now: datetime) -> dict[str, float | None]:
    """The batch features (:mod:`audience.features.behaviour`) one profile can give live."""
    rfm, engagement, device = view_["rfm"], view_["engagement"], view_["device"]
    n, first, last = rfm["frequency"], rfm["first_order_at"], rfm["last_order_at"]
    span = (
        (parse_time(last) - parse_time(first)).total_seconds() / 86400
        if n > 1 and first is not None and last is not None
        else None
    )
    first_seen = view_["first_seen"]
    return {
        "recency_days": rfm.get("recency_days"),
        "frequency": float(n),
        "monetary": rfm["monetary"],
        "avg_basket": rfm["monetary"] / n if n else None,
        "mean_days_between": span / (n - 1) if span is not None else None,
        "discount_share": rfm["discount"] / rfm["gross"] if rfm["gross"] else None,
        "tenure_days": (now - parse_time(first_seen)).total_seconds() / 86400
        if first_seen
        else None,
        "visits": engagement["visits"],
        "product_views": engagement["product_views"],
        "cart_adds": engagement["cart_adds"],
        "email_opens": engagement["email_opens"],
        "email_clicks": engagement["email_clicks"],
        "mobile_share": device["mobile"] / device["total"] if device["total"] else None,
    }
