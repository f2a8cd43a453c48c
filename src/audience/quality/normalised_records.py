"""Normalise every imported customer record into ``customer_records_clean``.

The imported ``customers`` rows stay as they were; this table holds, per record, each
normalised value and its status, so that every change can be traced and counted.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from audience.config import WorkspaceConfig
from audience.quality.normalise import (
    normalise_city,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_postcode,
)

# Civilité -> gender; anything else stays unknown rather than guessed.
_GENDER = {
    "m": "M",
    "m.": "M",
    "mr": "M",
    "mr.": "M",
    "monsieur": "M",
    "h": "M",
    "homme": "M",
    "male": "M",
    "mme": "F",
    "mme.": "F",
    "madame": "F",
    "mlle": "F",
    "mademoiselle": "F",
    "f": "F",
    "femme": "F",
    "female": "F",
    "ms": "F",
    "mrs": "F",
}


def normalise_records(
    con: duckdb.DuckDBPyConnection, config: WorkspaceConfig, now: datetime
) -> dict[str, pd.DataFrame]:
    """Rebuild ``customer_records_clean``; returns each normaliser's result, for the report."""
    raw = con.sql(
        """SELECT customer_id, source, email, phone, first_name, last_name, birth_date, gender,
                  postcode, city, signup_at, updated_at FROM customers ORDER BY customer_id"""
    ).df()
    quality = config.quality
    results = {
        "email": normalise_email(raw["email"], correct_typos=quality.fix_email_typos),
        "phone": normalise_phone(raw["phone"], region=config.default_region),
        "first_name": normalise_name(raw["first_name"]),
        "last_name": normalise_name(raw["last_name"]),
        "postcode": normalise_postcode(raw["postcode"]),
        "city": normalise_city(
            raw["city"],
            raw["postcode"],
            min_score=quality.city_min_score,
            min_score_in_postcode=quality.city_min_score_in_postcode,
        ),
    }
    names_ok = results["first_name"]["status"].where(
        results["last_name"]["status"].isin(["ok", "changed"]), results["last_name"]["status"]
    )
    clean = pd.DataFrame(
        {
            "record_id": raw["customer_id"],
            "source": raw["source"],
            "email": results["email"]["value"],
            "email_status": results["email"]["status"],
            "phone": results["phone"]["value"],
            "phone_status": results["phone"]["status"],
            "first_name": results["first_name"]["value"],
            "last_name": results["last_name"]["value"],
            "name_status": names_ok,
            "birth_date": raw["birth_date"],
            "gender": raw["gender"].str.strip().str.lower().map(_GENDER),
            "postcode": results["postcode"]["value"],
            "postcode_status": results["postcode"]["status"],
            "city": results["city"]["name"],
            "city_insee": results["city"]["insee"],
            "dep_code": results["city"]["dep_code"],
            "region": results["city"]["region"],
            "city_status": results["city"]["status"],
            "signup_at": raw["signup_at"],
            "updated_at": raw["updated_at"],
        }
    )
    con.execute("DELETE FROM customer_records_clean")
    con.register("_clean_frame", clean)
    con.execute("INSERT INTO customer_records_clean SELECT * FROM _clean_frame")
    con.unregister("_clean_frame")
    return results
