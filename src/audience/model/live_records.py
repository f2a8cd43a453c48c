"""The live path's records: a Segment Spec event in its queue form, a live profile, a change.

These are TypedDicts because they travel as JSON (queue messages, Redis values, HTTP
bodies): the types say what the JSON holds without converting it at every hop. Free-form
payloads that clients define (properties, traits, context) stay :data:`JsonObject`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypeAlias

from typing_extensions import TypedDict

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object whose keys the client chooses (event properties, traits, context)."""

EventType = Literal["track", "identify", "page", "screen", "group", "alias"]
EVENT_TYPES: tuple[EventType, ...] = ("track", "identify", "page", "screen", "group", "alias")


class Event(TypedDict, total=False):
    """A normalised Segment Spec event, as queued, logged and applied to profiles.

    Ids are strings; times are UTC ISO 8601 strings with 'Z' (``timestamp`` already
    corrected for the client's clock skew). When the corrected time was implausible (before
    the server's floor, or too far after ``receivedAt``), ``timestamp`` is ``receivedAt``
    and ``context.audience.timestamp_rejected`` says why (in ``context``, so that the event
    log and the warehouse keep it); ``originalTimestamp`` and ``sentAt`` keep what the
    client sent. ``context.audience`` is the server's: what a client sends there is dropped.
    """

    type: Required[EventType]
    messageId: Required[str]
    userId: str
    anonymousId: str
    previousId: str
    groupId: str
    event: str
    name: str
    category: str
    properties: JsonObject
    traits: JsonObject
    context: JsonObject
    integrations: JsonObject
    timestamp: Required[str]
    originalTimestamp: str
    sentAt: str
    receivedAt: Required[str]


class Identities(TypedDict):
    user_id: list[str]
    anonymous_id: list[str]


class Rfm(TypedDict):
    """'Order Completed' events summed; ``recency_days`` only in a view (it needs a now)."""

    frequency: int
    monetary: float
    discount: float
    gross: float
    first_order_at: str | None
    last_order_at: str | None
    recency_days: NotRequired[float | None]


class LiveOrder(TypedDict):
    """An order counted live (see :mod:`audience.realtime.live_orders`)."""

    amount: float
    discount: float
    at: str


class Engagement(TypedDict):
    """Counts decayed by the workspace's half-life to ``as_of``."""

    as_of: str | None
    score: float
    visits: float
    product_views: float
    cart_adds: float
    email_opens: float
    email_clicks: float


class Device(TypedDict):
    mobile: int
    total: int


class ConsentState(TypedDict):
    status: str
    changed_at: str
    message_id: str


class Membership(TypedDict):
    since: str
    why: Any
    """The evaluator's trace, or the deployed model's label."""


class RecentEvent(TypedDict):
    event: str
    timestamp: str
    properties: JsonObject


class Profile(TypedDict):
    """One person's live profile (see :mod:`audience.realtime.live_profile`)."""

    profile_id: str
    identities: Identities
    traits: JsonObject
    traits_at: str | None
    counters: dict[str, int]
    event_types: dict[str, int]
    events_total: int
    first_seen: str | None
    last_seen: str | None
    rfm: Rfm
    engagement: Engagement
    device: Device
    consents: dict[str, ConsentState]
    groups: dict[str, JsonObject]
    segments: dict[str, Membership]
    recent: list[RecentEvent]
    updated_at: str | None
    features: NotRequired[dict[str, float | None]]
    """In a view only: the batch features this profile gives, as of the view's now."""
    live_orders: NotRequired[dict[str, LiveOrder]]
    """Orders counted live, by order id, that the warehouse did not hold at the last publish."""
    published: NotRequired[Published]
    """The warehouse state ``audience publish`` wrote last (absent: never published)."""
    scores: NotRequired[dict[str, Any]]
    """In a view only: the published CLV and churn scores."""
    experiments: NotRequired[dict[str, str]]
    """Experiment name -> variant (or ``holdout``), decided when she is first in its segment
    (:mod:`audience.realtime.live_experiments`)."""


class PublishedSegment(TypedDict):
    name: str
    run_id: str | None


class PersonState(TypedDict):
    """One person's warehouse state, as ``audience publish`` writes it into the live store."""

    customer_id: str
    keys: list[str]
    """Identity keys the live path resolves: ``user_id:<id>`` (person, records, user ids),
    ``anonymous_id:<id>``; the first is the profile id of a person new to the live store."""
    as_of: str | None
    """When the warehouse data ends (the features' as_of)."""
    traits: JsonObject
    consents: dict[str, ConsentState]
    rfm: Rfm
    order_ids: list[str]
    """Ids of the person's orders the warehouse holds from ``Order Completed`` events: the
    orders the live path may have counted already."""
    features: dict[str, float | None]
    segments: dict[str, PublishedSegment]
    scores: dict[str, Any]
    hash: str


class Published(TypedDict):
    """What a live profile keeps of the state published into it: the baseline that live
    increments are counted from, and the hash that makes publishing again a no-op."""

    hash: str
    customer_id: str
    as_of: str | None
    at: str
    rfm: Rfm
    features: dict[str, float | None]
    segments: dict[str, PublishedSegment]
    scores: dict[str, Any]


class SegmentChange(TypedDict):
    """A membership change the consumer emits; its id is stable across redeliveries."""

    id: str
    type: Literal["segment.entered", "segment.exited"]
    profile_id: str
    segment_id: str
    why: Any
    at: str
    message_id: str
    received_at: str | None
    consents: NotRequired[dict[str, str]]
    emitted_at: NotRequired[str]
