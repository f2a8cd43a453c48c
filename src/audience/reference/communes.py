"""French communes with department, region and postcodes, shipped with the package.

The data (INSEE Code officiel géographique and populations légales; La Poste base officielle
des codes postaux; Licence Ouverte 2.0 / Etalab) is the compressed CSV
``data/communes.csv.xz`` beside this module; its sources and licence are in
``data/ATTRIBUTION.md``, and :mod:`audience.reference.build_communes` rebuilds it.
"""

from __future__ import annotations

import csv
import io
import lzma
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

import pandas as pd

from audience.errors import ConfigError

DATA_FILE = "communes.csv.xz"
COLUMNS = ("insee", "name", "dep_code", "dep_name", "region", "postcodes", "population")
"""The file's header: postcodes separated by spaces, population empty where unknown."""

_DATA: Traversable = resources.files(__package__ or "audience.reference") / "data" / DATA_FILE


@lru_cache(maxsize=1)
def load_communes() -> pd.DataFrame:
    """Every current commune of France, one row each.

    Columns: ``insee`` (code officiel), ``name`` (with its article), ``dep_code``,
    ``dep_name``, ``region``, ``postcodes`` (tuple of str, Paris/Lyon/Marseille included),
    ``population`` (float, NaN where unknown).
    """
    try:
        rows = csv.reader(io.StringIO(lzma.decompress(_DATA.read_bytes()).decode(), newline=""))
        if tuple(next(rows, ())) != COLUMNS:
            raise ValueError("unexpected columns")
        records = [
            {
                "insee": insee,
                "name": name,
                "dep_code": dep_code,
                "dep_name": dep_name,
                "region": region,
                "postcodes": tuple(postcodes.split()),
                "population": float(population) if population else float("nan"),
            }
            for insee, name, dep_code, dep_name, region, postcodes, population in rows
        ]
    except (OSError, lzma.LZMAError, ValueError) as exc:  # ValueError: bad text, fields, numbers
        raise ConfigError(
            f"the French communes reference {_DATA} is missing or damaged ({exc}); "
            "reinstall audience"
        ) from exc
    return pd.DataFrame.from_records(records)
