"""Orders on the live path: each ``Order Completed`` counted once per order id, and the
orders the warehouse does not hold yet kept apart, so that publishing never counts one twice.

An order is keyed as the warehouse keys it (:func:`audience.ingest.event_loading.load_events`
derives an order line from each such event): ``properties.order_id``, or ``evt:<messageId>``
for an event without one. The amount is the first of ``total``, ``revenue``, ``value`` the
event holds; a value that is not a finite number within ±:data:`MAX_AMOUNT` counts as 0.

``profile["live_orders"]`` holds the orders counted live that the warehouse did not hold at
the last publish: ``audience publish`` drops the ones it now holds (the state lists the order
ids of the person's loaded ``Order Completed`` events) and adds the rest on top of the
warehouse's sums. At most :data:`MAX_LIVE_ORDERS` are kept (the oldest are assumed loaded):
a store that never publishes does not grow without bound.

Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from audience.model.live_records import LiveOrder, Profile, Rfm
from audience.realtime.input_checks import MAX_AMOUNT

ORDER_EVENT = "Order Completed"
MAX_LIVE_ORDERS = 500
_AMOUNT_KEYS = ("total", "revenue", "value")


def amount(value: Any) -> float:
    """An amount an event gives: 0 unless a finite number (or numeric text) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0.0
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) and abs(number) <= MAX_AMOUNT else 0.0


def add(total: float, value: float) -> float:
    """``total + value``, or ``total`` when the sum would not be finite."""
    summed = total + value
    return summed if math.isfinite(summed) else total


def _both_plain(a: str, b: str) -> bool:
    """Both times in the form the collector writes (``2030-01-02T03:04:05.678Z``), whose
    text order is their time order: compared without parsing, as every event compares two."""
    return (
        len(a) == len(b) == 24
        and a[23] == b[23] == "Z"
        and a[10] == b[10] == "T"
        and a[4] == b[4] == a[7] == b[7] == "-"
    )


def earliest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return b if a is None else a
    if _both_plain(a, b):
        return a if a <= b else b
    return min((a, b), key=datetime.fromisoformat)


def latest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return b if a is None else a
    if _both_plain(a, b):
        return a if a >= b else b
    return max((a, b), key=datetime.fromisoformat)


def order_key(props: Mapping[str, Any], message_id: str) -> str:
    """The order id the warehouse gives this event's order."""
    given = props.get("order_id")
    text = str(given).strip() if given is not None and not isinstance(given, dict | list) else ""
    return text or f"evt:{message_id}"


def order_of(props: Mapping[str, Any], when: str) -> LiveOrder:
    spent = next((props[k] for k in _AMOUNT_KEYS if props.get(k) is not None), None)
    return {"amount": amount(spent), "discount": abs(amount(props.get("discount"))), "at": when}


def _fold(rfm: Rfm, order: LiveOrder, sign: int = 1) -> None:
    rfm["frequency"] += sign
    rfm["monetary"] = add(rfm["monetary"], sign * order["amount"])
    rfm["discount"] = add(rfm["discount"], sign * order["discount"])
    rfm["gross"] = add(rfm["gross"], sign * (order["amount"] + order["discount"]))
    if sign > 0:
        rfm["first_order_at"] = earliest(rfm["first_order_at"], order["at"])
        rfm["last_order_at"] = latest(rfm["last_order_at"], order["at"])


def count_order(profile: Profile, props: Mapping[str, Any], when: str, message_id: str) -> bool:
    """Count an ``Order Completed`` event; False (nothing counted) for an order already kept."""
    pending = profile.setdefault("live_orders", {})
    key = order_key(props, message_id)
    if key in pending:
        return False
    order = order_of(props, when)
    pending[key] = order
    _fold(profile["rfm"], order)
    _bound(pending)
    return True


def _bound(pending: dict[str, LiveOrder]) -> None:
    if len(pending) > MAX_LIVE_ORDERS:
        oldest = sorted(pending, key=lambda k: datetime.fromisoformat(pending[k]["at"]))
        for key in oldest[: len(pending) - MAX_LIVE_ORDERS]:
            del pending[key]


def merge_orders(into: Profile, other: Profile) -> None:
    """Fold ``other``'s orders into ``into``'s sums, an order both counted only once."""
    mine = into.setdefault("live_orders", {})
    theirs = other.get("live_orders", {})
    twice = [theirs[k] for k in theirs if k in mine]
    rfm, other_rfm = into["rfm"], other["rfm"]
    rfm["frequency"] += other_rfm["frequency"]
    for key in ("monetary", "discount", "gross"):
        rfm[key] = add(rfm[key], other_rfm[key])
    rfm["first_order_at"] = earliest(rfm["first_order_at"], other_rfm["first_order_at"])
    rfm["last_order_at"] = latest(rfm["last_order_at"], other_rfm["last_order_at"])
    for order in twice:
        _fold(rfm, order, sign=-1)
    mine.update({k: v for k, v in theirs.items() if k not in mine})
    _bound(mine)


def no_orders() -> Rfm:
    """The sums of no order."""
    return {
        "frequency": 0,
        "monetary": 0.0,
        "discount": 0.0,
        "gross": 0.0,
        "first_order_at": None,
        "last_order_at": None,
    }


def pending_sums(profile: Profile) -> Rfm:
    """The orders counted live that the warehouse did not hold at the last publish."""
    sums = no_orders()
    for order in profile.get("live_orders", {}).values():
        _fold(sums, order)
    return sums


def unpublished(profile: Profile) -> Rfm:
    """The orders counted live beyond the warehouse's, as sums.

    A profile stored before orders were kept by id has no ``live_orders``: its live orders
    are then what its sums hold beyond the last publish's.
    """
    if "live_orders" in profile:
        return pending_sums(profile)
    rfm, published = profile["rfm"], profile.get("published")
    base = published["rfm"] if published else None
    if base is None:
        return {k: v for k, v in rfm.items() if k != "recency_days"}  # type: ignore[return-value]
    n = max(0, rfm["frequency"] - base["frequency"])
    return {
        "frequency": n,
        "monetary": rfm["monetary"] - base["monetary"] if n else 0.0,
        "discount": rfm["discount"] - base["discount"] if n else 0.0,
        "gross": rfm["gross"] - base["gross"] if n else 0.0,
        "first_order_at": rfm["first_order_at"] if n else None,
        "last_order_at": rfm["last_order_at"] if n else None,
    }


def settle(profile: Profile, loaded: list[str]) -> Rfm:
    """Forget the live orders the warehouse now holds (``loaded``); sums of the others."""
    if "live_orders" not in profile:  # stored before orders were kept by id
        live = unpublished(profile)
        profile["live_orders"] = {}
        return live
    pending = profile["live_orders"]
    for key in loaded:
        pending.pop(key, None)
    return pending_sums(profile)
