"""Definitions: every bad input is one clear ExperimentError naming the value and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.errors import ExperimentError, InputError, UnknownExperimentError
from audience.experiments.definitions import (
    definition,
    definitions_from_yaml,
    parse_days,
    parse_percent,
    parse_variants,
)
from audience.experiments.registry import create_experiment, get_experiment
from audience.store.warehouse import Warehouse
from audience.store.workspace import Workspace
from tests.experiments.segment_data import NOW


def test_variants_parse_in_order_with_weights() -> None:
    variants = parse_variants("control:20, a:30,b:50")
    assert [(v.name, v.weight) for v in variants] == [("control", 20), ("a", 30), ("b", 50)]
    assert parse_variants({"c": 50, "t": "50%"})[1].weight == 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("control:50,treatment:40", "sum to 90, not 100"),
        ("control:50,control:50", "given twice"),
        ("control:100", "two variants or more"),
        ("control,treatment", "has no weight"),
        ("control:x,t:50", "not a number"),
        ("control:0,t:100", "more than 0"),
        ("holdout:50,t:50", "not allowed"),
    ],
)
def test_bad_variants(text: str, message: str) -> None:
    with pytest.raises(ExperimentError, match=message):
        parse_variants(text)


def test_windows_and_percents() -> None:
    assert parse_days("14d") == 14 and parse_days("2w") == 14 and parse_days(7) == 7
    assert parse_percent("5%") == 5.0 and parse_percent(10) == 10.0
    for bad in ("0d", "soon", "-3"):
        with pytest.raises(ExperimentError, match="not a duration"):
            parse_days(bad)
    with pytest.raises(ExperimentError, match="outside"):
        parse_percent("100")
    with pytest.raises(ExperimentError, match="traffic 0% is outside"):
        definition("e", "s", "a:50,b:50", traffic=0)
    with pytest.raises(ExperimentError, match="metric is empty"):
        definition("e", "s", "a:50,b:50", metric=" ")


def test_errors_are_input_errors_for_exit_code_2() -> None:
    assert issubclass(ExperimentError, InputError) and ExperimentError.exit_code == 2


def test_yaml_errors_name_the_file_and_experiment(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(
        "- {name: ok, segment: s, variants: 'a:50,b:50'}\n"
        "- {name: bad, segment: s, variants: 'a:60,b:50'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ExperimentError, match=r"e.yaml: experiment 2 \(bad\): .*sum to 110"):
        definitions_from_yaml(path)
    path.write_text("{name: x, segment: s, variants: 'a:50,b:50', colour: red}\n", encoding="utf-8")
    with pytest.raises(ExperimentError, match=r"unknown key.*colour"):
        definitions_from_yaml(path)
    path.write_text("{name: x, variants: 'a:50,b:50'}\n", encoding="utf-8")
    with pytest.raises(ExperimentError, match="missing segment"):
        definitions_from_yaml(path)


def test_empty_or_unknown_segment_and_duplicates(warehouse: Warehouse) -> None:
    con = warehouse.con
    with pytest.raises(ExperimentError, match="segment 'Empty' has no current members"):
        create_experiment(con, definition("e", "Empty", "a:50,b:50"), NOW)
    with pytest.raises(ExperimentError, match="unknown segment 'Nope'"):
        create_experiment(con, definition("e", "Nope", "a:50,b:50"), NOW)
    create_experiment(con, definition("e", "rule:Buyers", "a:50,b:50"), NOW)
    with pytest.raises(ExperimentError, match="experiment 'e' exists"):
        create_experiment(con, definition("e", "Buyers", "a:50,b:50"), NOW)
    with pytest.raises(UnknownExperimentError, match="no experiment named 'f'; known: e"):
        get_experiment(con, "f")


def test_daily_entries_from_the_segment_traffic(workspace: Workspace) -> None:
    from datetime import timedelta

    from audience.pipelines.experiments import daily_entries
    from tests.experiments.segment_data import add_segment

    with pytest.raises(ExperimentError, match="had no one enter in the last 28 days"):
        daily_entries(workspace, "Buyers")  # everyone entered 30 days ago
    with workspace.warehouse() as warehouse:
        add_segment(
            warehouse.con,
            "rule:Buyers",
            "Buyers",
            [f"n{i}" for i in range(56)],
            NOW - timedelta(days=3),
        )
    assert daily_entries(workspace, "Buyers") == 2.0
