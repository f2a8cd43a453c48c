"""The behaviours planted in the demo data.

Each persona is a distinct way of buying and engaging. The demo's segmentation is judged on
how well it recovers them, so they differ on the features a marketer would look at
(recency, frequency, basket, discounts, browsing, e-mail, device) and overlap elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    """Behaviour parameters of one persona; rates are per 30 days."""

    name: str
    share: float
    tenure_days: tuple[int, int]
    """Range of days between sign-up and the end of the data."""
    order_interval_days: float | None
    """Mean days between orders while active; None for a fixed small number of orders."""
    orders_range: tuple[int, int]
    """Bounds on the number of orders (applied after drawing from the interval)."""
    inactive_days: tuple[int, int]
    """Range of days of silence before the end of the data (no order, few events)."""
    basket_eur: float
    discount_prob: float
    categories: dict[str, float]
    visits: float
    product_views_per_visit: float
    cart_add_prob: float
    email_opens: float
    click_prob: float
    app_sessions: float
    mobile_share: float
    age_range: tuple[int, int]
    consent_email_prob: float
    consent_sms_prob: float


_FASHION = {"Mode": 0.5, "Beauté": 0.2, "Maison": 0.15, "Sport": 0.15}
_BROAD = {
    "Mode": 0.2,
    "Beauté": 0.12,
    "Maison": 0.15,
    "High-Tech": 0.18,
    "Sport": 0.1,
    "Épicerie fine": 0.1,
    "Jouets": 0.08,
    "Livres": 0.07,
}
_BARGAIN = {"Mode": 0.35, "Beauté": 0.15, "Maison": 0.2, "Jouets": 0.15, "Épicerie fine": 0.15}
_MOBILE = {"High-Tech": 0.35, "Mode": 0.3, "Livres": 0.15, "Sport": 0.2}

PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="loyal_high_spender",
        share=0.12,
        tenure_days=(400, 730),
        order_interval_days=32,
        orders_range=(6, 40),
        inactive_days=(0, 12),
        basket_eur=150.0,
        discount_prob=0.08,
        categories=_BROAD,
        visits=2.0,
        product_views_per_visit=1.2,
        cart_add_prob=0.25,
        email_opens=2.5,
        click_prob=0.4,
        app_sessions=0.6,
        mobile_share=0.3,
        age_range=(35, 65),
        consent_email_prob=0.9,
        consent_sms_prob=0.6,
    ),
    Persona(
        name="bargain_hunter",
        share=0.18,
        tenure_days=(300, 730),
        order_interval_days=42,
        orders_range=(4, 30),
        inactive_days=(0, 30),
        basket_eur=26.0,
        discount_prob=0.85,
        categories=_BARGAIN,
        visits=1.5,
        product_views_per_visit=1.5,
        cart_add_prob=0.3,
        email_opens=3.5,
        click_prob=0.35,
        app_sessions=0.5,
        mobile_share=0.35,
        age_range=(25, 60),
        consent_email_prob=0.95,
        consent_sms_prob=0.7,
    ),
    Persona(
        name="new_customer",
        share=0.14,
        tenure_days=(5, 55),
        order_interval_days=None,
        orders_range=(1, 2),
        inactive_days=(0, 5),
        basket_eur=65.0,
        discount_prob=0.35,
        categories=_FASHION,
        visits=4.0,
        product_views_per_visit=1.5,
        cart_add_prob=0.25,
        email_opens=2.0,
        click_prob=0.3,
        app_sessions=0.8,
        mobile_share=0.45,
        age_range=(20, 45),
        consent_email_prob=0.8,
        consent_sms_prob=0.4,
    ),
    Persona(
        name="dormant",
        share=0.20,
        tenure_days=(450, 730),
        order_interval_days=None,
        orders_range=(1, 4),
        inactive_days=(230, 420),
        basket_eur=55.0,
        discount_prob=0.3,
        categories=_BROAD,
        visits=0.15,
        product_views_per_visit=1.0,
        cart_add_prob=0.05,
        email_opens=0.3,
        click_prob=0.1,
        app_sessions=0.0,
        mobile_share=0.3,
        age_range=(30, 75),
        consent_email_prob=0.7,
        consent_sms_prob=0.3,
    ),
    Persona(
        name="window_shopper",
        share=0.21,
        tenure_days=(60, 730),
        order_interval_days=None,
        orders_range=(0, 0),
        inactive_days=(0, 15),
        basket_eur=40.0,
        discount_prob=0.2,
        categories=_FASHION,
        visits=3.0,
        product_views_per_visit=2.0,
        cart_add_prob=0.35,
        email_opens=1.5,
        click_prob=0.3,
        app_sessions=0.3,
        mobile_share=0.4,
        age_range=(18, 55),
        consent_email_prob=0.75,
        consent_sms_prob=0.35,
    ),
    Persona(
        name="mobile_first",
        share=0.15,
        tenure_days=(150, 730),
        order_interval_days=60,
        orders_range=(2, 20),
        inactive_days=(0, 25),
        basket_eur=48.0,
        discount_prob=0.25,
        categories=_MOBILE,
        visits=0.4,
        product_views_per_visit=2.0,
        cart_add_prob=0.3,
        email_opens=0.6,
        click_prob=0.2,
        app_sessions=4.0,
        mobile_share=0.96,
        age_range=(18, 38),
        consent_email_prob=0.6,
        consent_sms_prob=0.3,
    ),
)

CATEGORY_VARIANTS: dict[str, tuple[str, ...]] = {
    "Mode": ("mode", "MODE", "Mode ", "Vêtements"),
    "Beauté": ("beaute", "Beaute", "BEAUTÉ", "beauté"),
    "Maison": ("maison", "MAISON", "Maison & Déco"),
    "High-Tech": ("high tech", "Hi-Tech", "HIGH-TECH", "hightech"),
    "Sport": ("sport", "SPORTS", "Sport "),
    "Épicerie fine": ("epicerie fine", "Epicerie Fine", "ÉPICERIE FINE"),
    "Jouets": ("jouets", "JOUETS", "Jouet"),
    "Livres": ("livres", "LIVRES", "Livre"),
}
"""Spellings of each category that the demo's orders use for some lines."""
