"""DuckDB SQL translated for Spark: the functions Spark lacks are rewritten, and a run on the
duckdb engine says so in its JSON even when the environment asks for Spark."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.errors import InputError
from audience.store.dialects import to_spark
from audience.store.trait_types import trait_value_sql
from audience.store.workspace import Workspace

pytest.importorskip("sqlglot")


def test_json_type_reads_the_variant_at_spark_path() -> None:
    sql = to_spark(f"SELECT {trait_value_sql('traits', 'loyalty tier', 'number')} FROM t")
    assert "JSON_TYPE" not in sql.upper()
    # DuckDB's $."loyalty tier" is written as Spark's JSON functions read it, in both calls.
    assert "VARIANT_GET(TRY_PARSE_JSON(traits), '$[\\'loyalty tier\\']', 'variant')" in sql
    assert "GET_JSON_OBJECT(traits, '$[\\'loyalty tier\\']')" in sql
    assert "WHEN SCHEMA_OF_VARIANT" in sql and "THEN 'VARCHAR'" in sql


def test_functions_spark_lacks_are_rewritten() -> None:
    sql = to_spark(
        "SELECT regexp_full_match(x, '[0-9]{4}'), as_of - to_microseconds(CAST(d AS BIGINT)) FROM t"
    )
    assert "x RLIKE '^(?:[0-9]{4})$'" in sql
    assert "MAKE_DT_INTERVAL(0, 0, 0, CAST((CAST(d AS BIGINT)) / 1000000 AS DECIMAL(18, 6)))" in sql
    assert "REGEXP_FULL_MATCH" not in sql and "TO_MICROSECONDS" not in sql


def test_untranslatable_sql_is_an_input_error() -> None:
    with pytest.raises(InputError, match="cannot run on Spark"):
        to_spark("SELECT (")


def test_a_duckdb_run_says_its_engine(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace.root / "segments").mkdir(exist_ok=True)
    (workspace.root / "segments" / "s.yaml").write_text(
        "segments:\n  - name: Located\n    when: {field: city, exists: true}\n", encoding="utf-8"
    )
    args = ["evaluate", "--dry-run", "--json", "--workspace", str(workspace.root)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["engine"] == "duckdb"
    assert "note:" not in result.stderr

    monkeypatch.setenv("AUDIENCE_ENGINE", "spark")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["engine"] == "duckdb"
    assert "evaluate runs on the duckdb engine" in result.stderr
