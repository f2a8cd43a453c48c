"""What people do: orders over about two years, web/app/e-mail events over the last 90 days.

Everything is drawn as whole arrays (one entry per order line or per event) so that a
million customers and twenty million events take seconds, not hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from audience.ingest.demo.personas import CATEGORY_VARIANTS, Persona

EVENT_WINDOW_DAYS = 90
DAY = 86_400

# Event kinds, in the order of EVENT_NAMES (type, event name).
PAGE, PRODUCT_VIEWED, PRODUCT_ADDED, APP_OPENED, EMAIL_OPENED, EMAIL_CLICKED, ORDER, IDENTIFY = (
    range(8)
)
EVENT_NAMES = [
    ("page", "Page Viewed"),
    ("track", "Product Viewed"),
    ("track", "Product Added"),
    ("track", "Application Opened"),
    ("track", "Email Opened"),
    ("track", "Email Link Clicked"),
    ("track", "Order Completed"),
    ("identify", None),
]


@dataclass(frozen=True)
class Lifetimes:
    """When each person signed up and stopped being active (epoch seconds)."""

    signup: np.ndarray
    active_end: np.ndarray


def draw_lifetimes(
    rng: np.random.Generator, personas: list[Persona], persona_idx: np.ndarray, end: int
) -> Lifetimes:
    tenure_lo = np.array([p.tenure_days[0] for p in personas])[persona_idx]
    tenure_hi = np.array([p.tenure_days[1] for p in personas])[persona_idx]
    inactive_lo = np.array([p.inactive_days[0] for p in personas])[persona_idx]
    inactive_hi = np.array([p.inactive_days[1] for p in personas])[persona_idx]
    tenure = rng.uniform(tenure_lo, tenure_hi) * DAY
    inactive = rng.uniform(inactive_lo, inactive_hi) * DAY
    signup = (end - tenure).astype(np.int64)
    active_end = np.maximum(end - inactive, signup + DAY).astype(np.int64)
    return Lifetimes(signup=signup, active_end=np.minimum(active_end, end))


def draw_order_lines(
    rng: np.random.Generator,
    personas: list[Persona],
    persona_idx: np.ndarray,
    life: Lifetimes,
) -> pd.DataFrame:
    """One row per order line: person, order number, time, category, quantity, prices.

    Each customer gets her own purchase rate, mean spend and basket size, drawn around her
    persona's means (gamma and lognormal heterogeneity, as the CLV models assume), and each
    order's value is gamma-distributed around her own mean: customers of one persona differ
    as real ones do, so the spend model can tell within-customer from between-customer spread.
    """
    n = len(persona_idx)
    habits = draw_habits(rng, personas, persona_idx)
    lo = np.array([p.orders_range[0] for p in personas])[persona_idx]
    hi = np.array([p.orders_range[1] for p in personas])[persona_idx]
    first_buy = life.signup + rng.uniform(0, 0.15, n) * (life.active_end - life.signup)
    window_days = (life.active_end - first_buy) / DAY
    expected = window_days * habits.rate_per_day
    counts = np.where(habits.rate_per_day > 0, rng.poisson(expected), rng.integers(lo, hi + 1))
    counts = np.clip(counts, lo, hi)

    person = np.repeat(np.arange(n), counts)
    when = first_buy[person] + rng.random(len(person)) * (life.active_end - first_buy)[person]
    # Everyone's first order is at the start of their buying life, so tenure and recency
    # stay apart for one-order customers.
    first_of_person = np.r_[0, np.cumsum(counts)[:-1]][counts > 0]
    when[first_of_person] = first_buy[counts > 0]
    n_orders = len(person)

    total = rng.gamma(ORDER_VALUE_SHAPE, habits.mean_spend[person] / ORDER_VALUE_SHAPE)
    discounted = (
        rng.random(n_orders) < np.array([p.discount_prob for p in personas])[persona_idx][person]
    )
    lines_per_order = 1 + rng.poisson(habits.extra_lines[person])
    order_of_line = np.repeat(np.arange(n_orders), lines_per_order)
    n_lines = len(order_of_line)
    share = rng.gamma(2.0, 1.0, n_lines)
    share /= np.bincount(order_of_line, weights=share)[order_of_line]
    quantity = 1 + (rng.random(n_lines) < 0.15).astype(np.int64)
    unit_price = np.maximum(np.round(total[order_of_line] * share / quantity, 2), 0.5)
    amount = np.round(unit_price * quantity, 2)
    discount = np.where(
        discounted[order_of_line], np.round(amount * rng.uniform(0.1, 0.35, n_lines), 2), 0.0
    )
    line_person = person[order_of_line]
    category = _categories(rng, personas, persona_idx[line_person])
    return pd.DataFrame(
        {
            "person": line_person,
            "order_no": order_of_line,
            "line_no": _rank_within(order_of_line),
            "ordered_at": when[order_of_line].astype(np.int64),
            "category": category,
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": amount,
            "discount": discount,
        }
    )


@dataclass(frozen=True)
class Habits:
    """Each customer's own buying habits, drawn around her persona's means."""

    rate_per_day: np.ndarray
    """Orders per day while active; 0 for personas with a fixed small number of orders."""
    mean_spend: np.ndarray
    """Mean order value in euros."""
    extra_lines: np.ndarray
    """Mean number of order lines beyond the first."""


RATE_SHAPE = 3.0
"""Gamma shape of purchase rates around the persona's (CV 0.58), as the NBD models assume."""
SPEND_SIGMA = 0.5
"""Lognormal σ of customers' mean order value around the persona's basket."""
ORDER_VALUE_SHAPE = 3.0
"""Gamma shape of one order's value around the customer's mean (CV 0.58): Gamma-Gamma's p."""
EXTRA_LINES_MEAN = 0.35


def draw_habits(
    rng: np.random.Generator, personas: list[Persona], persona_idx: np.ndarray
) -> Habits:
    """Purchase rate (gamma), mean spend (lognormal, mean kept) and basket size (gamma)."""
    n = len(persona_idx)
    interval = np.array([p.order_interval_days or 0 for p in personas])[persona_idx]
    rate = np.where(interval > 0, 1 / np.maximum(interval, 1), 0.0)
    rate = rate * rng.gamma(RATE_SHAPE, 1 / RATE_SHAPE, n)
    basket = np.array([p.basket_eur for p in personas])[persona_idx]
    spend = basket * rng.lognormal(-(SPEND_SIGMA**2) / 2, SPEND_SIGMA, n)
    extra = rng.gamma(2.0, EXTRA_LINES_MEAN / 2, n)
    return Habits(rate_per_day=rate, mean_spend=spend, extra_lines=extra)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """1, 2, 3... within each run of equal, sorted group values."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    run_lengths = np.diff(np.r_[starts, len(groups)])
    ranks: np.ndarray = np.arange(len(groups)) - np.repeat(starts, run_lengths) + 1
    return ranks


def _categories(
    rng: np.random.Generator, personas: list[Persona], persona_of_line: np.ndarray
) -> np.ndarray:
    names = list(CATEGORY_VARIANTS)
    out = np.empty(len(persona_of_line), dtype=object)
    for k, persona in enumerate(personas):
        chosen = persona_of_line == k
        weights = np.array([persona.categories.get(c, 0.0) for c in names])
        out[chosen] = np.asarray(names)[
            rng.choice(len(names), int(chosen.sum()), p=weights / weights.sum())
        ]
    return out


def misspell_categories(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    """Write about one line in ten with another spelling of its category."""
    out = categories.copy()
    pick = np.flatnonzero(rng.random(len(out)) < 0.1)
    for i in pick:
        variants = CATEGORY_VARIANTS[out[i]]
        out[i] = variants[rng.integers(0, len(variants))]
    return out


def draw_events(
    rng: np.random.Generator,
    personas: list[Persona],
    persona_idx: np.ndarray,
    life: Lifetimes,
    end: int,
) -> pd.DataFrame:
    """Web, app and e-mail events of the last 90 days, plus one identify per person."""
    n = len(persona_idx)
    start = np.maximum(life.signup, end - EVENT_WINDOW_DAYS * DAY)
    # Dormant people stopped being active; their rare events may still fall anywhere.
    span_days = (end - start) / DAY
    per_month = span_days / 30.0

    def rate(attr: str) -> np.ndarray:
        values: np.ndarray = np.array([getattr(p, attr) for p in personas])[persona_idx]
        return values

    visits = rng.poisson(rate("visits") * per_month)
    views = rng.poisson(visits * rate("product_views_per_visit"))
    adds = rng.binomial(views, rate("cart_add_prob"))
    apps = rng.poisson(rate("app_sessions") * per_month)
    opens = rng.poisson(rate("email_opens") * per_month)
    clicks = rng.binomial(opens, rate("click_prob"))
    counts = np.stack([visits, views, adds, apps, opens, clicks, np.ones(n, np.int64)], axis=1)
    kinds = np.array(
        [PAGE, PRODUCT_VIEWED, PRODUCT_ADDED, APP_OPENED, EMAIL_OPENED, EMAIL_CLICKED, IDENTIFY]
    )
    person = np.repeat(np.repeat(np.arange(n), len(kinds)), counts.ravel())
    kind = np.repeat(np.tile(kinds, n), counts.ravel())
    when = start[person] + rng.random(len(person)) * (end - start)[person]
    mobile = np.where(
        kind == APP_OPENED, True, rng.random(len(person)) < rate("mobile_share")[person]
    )
    mobile[kind >= EMAIL_OPENED] = rng.random(int((kind >= EMAIL_OPENED).sum())) < 0.5
    # About one web event in twelve happens before the visitor logs in: anonymous only.
    anonymous = (kind <= PRODUCT_ADDED) & (rng.random(len(person)) < 0.08)
    return pd.DataFrame(
        {
            "person": person,
            "kind": kind.astype(np.int8),
            "ts": when.astype(np.int64),
            "mobile": mobile,
            "anonymous": anonymous,
            "category": rng.integers(0, len(CATEGORY_VARIANTS), len(person)).astype(np.int8),
        }
    )
