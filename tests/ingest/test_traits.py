"""Custom traits: every unmapped column of a customer file is kept, typed from its values.

A table of columns as CRM exports write them -> the type decided and the values stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audience.ingest.importer import import_file
from audience.ingest.traits import trait_names
from audience.store.workspace import Workspace
from tests.conftest import write

ROWS = 12

# column -> (cells of the 12 rows, type decided, stored values of the first three rows)
CASES: dict[str, tuple[list[str], str, list[Any]]] = {
    "Points": (
        ["1 234,50", "12,5", "7", "-3,25", "", "0", "2.5", "1234.5", "10", "11", "12", "13"],
        "number",
        [1234.5, 12.5, 7.0],
    ),
    "Client depuis": (
        ["14/03/2025", "2024-01-31", "01/12/2019", *["05/05/2020"] * 9],
        "date",
        ["2025-03-14", "2024-01-31", "2019-12-01"],
    ),
    "Newsletter VIP": (
        ["oui", "non", "OUI", "Non", *["oui", "non"] * 4],
        "boolean",
        [True, False, True],
    ),
    "Loyalty Tier": (["gold", "silver", "bronze"] * 4, "category", ["gold", "silver", "bronze"]),
    "Intérêts": ([f"aime {i}" for i in range(ROWS)], "text", ["aime 0", "aime 1", "aime 2"]),
    # Leading zeros are identifiers, not numbers; few values repeated twice make a category.
    "Code magasin": (["007", "012", "007", "012"] * 3, "category", ["007", "012", "007"]),
    # 0/1 alone is a count, not a yes/no.
    "Enfants": (["0", "1"] * 6, "number", [0.0, 1.0, 0.0]),
    # A date column holding one word is text; an empty column is text with no value.
    "Anniversaire": (
        ["14/03/2025", "bientôt", *[f"0{i}/01/2020" for i in range(1, 10)], ""],
        "text",
        ["14/03/2025", "bientôt", "01/01/2020"],
    ),
    "Vide": ([""] * ROWS, "text", [None, None, None]),
}


def _file(tmp_path: Path) -> Path:
    header = ["id", "email", *CASES]
    lines = [";".join(header)]
    for i in range(ROWS):
        lines.append(
            ";".join([f"C{i}", f"c{i}@x.fr", *(cells[i] for cells, _, _ in CASES.values())])
        )
    return write(tmp_path / "crm.csv", "\n".join(lines) + "\n")


def test_trait_types_are_decided_from_the_values(workspace: Workspace, tmp_path: Path) -> None:
    report = import_file(workspace, "customers", _file(tmp_path))
    names = trait_names(list(CASES))
    assert report.traits == {n: kind for n, (_, kind, _) in zip(names, CASES.values(), strict=True)}
    assert report.to_dict()["traits"] == report.traits
    with workspace.warehouse(read_only=True) as warehouse:
        rows = warehouse.con.execute(
            "SELECT traits FROM customers ORDER BY CAST(substr(customer_id, 2) AS INTEGER)"
        ).fetchall()
        catalog = warehouse.con.execute(
            "SELECT name, type, source_column, n_values, import_id FROM trait_catalog"
        ).fetchall()
    stored = [json.loads(r[0]) for r in rows[:3]]
    for name, (_, _, expected) in zip(names, CASES.values(), strict=True):
        assert [s[name] for s in stored] == expected, name
    by_name = {n: (t, c, v, i) for n, t, c, v, i in catalog}
    assert by_name["loyalty_tier"] == ("category", "Loyalty Tier", ROWS, report.import_id)
    assert by_name["points"][2] == ROWS - 1  # the empty cell is no value
    assert by_name["vide"][:3] == ("text", "Vide", 0)


def test_trait_names_are_normalised_and_unique() -> None:
    assert trait_names(["Loyalty Tier", "loyalty-tier", "Centres d'intérêt", "€"]) == [
        "loyalty_tier",
        "loyalty_tier_2",
        "centres_d_interet",
        "column_4",
    ]


@pytest.mark.parametrize("reimport", [False, True])
def test_a_reimport_of_the_same_file_leaves_typed_traits_unchanged(
    workspace: Workspace, tmp_path: Path, reimport: bool
) -> None:
    path = _file(tmp_path)
    first = import_file(workspace, "customers", path)
    assert first.rows_new == ROWS
    if reimport:
        again = import_file(workspace, "customers", path)
        assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, ROWS)
        assert again.traits == first.traits
