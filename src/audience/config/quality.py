"""``quality`` in audience.yaml: normalisation, de-duplication, survivorship, imputation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from audience.config.strict import Strict


class DedupeSettings(Strict):
    """How records are recognised as the same person."""

    keys: list[list[str]] = Field(
        default_factory=lambda: [["email"], ["phone"]],
        description="Deterministic keys: records equal on every field of one key are one "
        "person. Fields: email, phone, first_name, last_name, birth_date, postcode, city_insee.",
    )
    fuzzy_blocks: list[list[str]] = Field(
        default_factory=lambda: [["postcode", "birth_date"]],
        description="Records compared by name only within the same block.",
    )
    fuzzy_threshold: float = Field(
        default=90.0, ge=0, le=100, description="Least name similarity (0-100) to link records."
    )
    max_records_per_key: int = Field(
        default=5, ge=2, description="A key value shared by more records is a hub: ignored."
    )

    @field_validator("keys", "fuzzy_blocks")
    @classmethod
    def _known_fields(cls, value: list[list[str]]) -> list[list[str]]:
        known = {
            "email",
            "phone",
            "first_name",
            "last_name",
            "birth_date",
            "postcode",
            "city_insee",
        }
        for key in value:
            unknown = [f for f in key if f not in known]
            if unknown or not key:
                raise ValueError(f"unknown field(s) {unknown or key}; known: {sorted(known)}")
        return value


DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "Mode": ["vêtements", "vetements", "habillement", "fashion"],
    "Beauté": ["cosmétiques", "beauty", "parfums"],
    "Maison": ["maison & déco", "décoration", "home"],
    "High-Tech": ["hi-tech", "high tech", "électronique", "informatique"],
    "Sport": ["sports", "sport & loisirs"],
    "Épicerie fine": ["épicerie", "gastronomie", "alimentation"],
    "Jouets": ["jouet", "jeux", "toys"],
    "Livres": ["livre", "librairie", "books"],
}


class QualitySettings(Strict):
    """Normalisation, de-duplication, survivorship, imputation and freshness."""

    fix_email_typos: bool = Field(
        default=False,
        description="Replace a likely domain typo (gmial.com) instead of flagging it.",
    )
    city_min_score: float = Field(
        default=85.0, ge=0, le=100, description="Least similarity to accept a fuzzy city match."
    )
    city_min_score_in_postcode: float = Field(
        default=75.0,
        ge=0,
        le=100,
        description="Least similarity among the communes of the record's own postcode.",
    )
    category_min_score: float = Field(
        default=85.0, ge=0, le=100, description="Least similarity to accept a fuzzy category."
    )
    taxonomy: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_TAXONOMY.items()},
        description="Product categories: canonical name -> synonyms; others are fuzzy-matched.",
    )
    dedupe: DedupeSettings = Field(default_factory=DedupeSettings)
    source_priority: list[str] = Field(
        default_factory=list,
        description="Sources whose values win first; then the most recent non-empty value.",
    )
    imputation: dict[str, Literal["knn", "iterative"]] = Field(
        default_factory=dict,
        description="Numeric feature -> imputation method; a '<feature>_imputed' flag is kept.",
    )
    freshness_days: int = Field(
        default=30, ge=1, description="Warn when a source's latest import is older than this."
    )

    @field_validator("imputation")
    @classmethod
    def _never_identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        forbidden = [
            c
            for c in value
            if c.endswith("_id") or c.startswith("consent") or c in ("email", "phone")
        ]
        if forbidden:
            raise ValueError(f"identifiers and consent are never imputed: {forbidden}")
        return value
