"""Parquet inputs of the Spark engine: the warehouse's tables, or a lake holding the same.

A directory with one Parquet file (or directory of part files, as Spark writes them) per
table: ``customers``, ``order_lines`` and ``events`` are needed; the tables ``audience
clean`` fills (profiles, identities...) are optional and read as empty when absent, as in a
warehouse before cleaning. The expected columns and types are the warehouse's own, read
from its migrations: one schema for both engines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from audience.errors import InputError
from audience.store.dialects import to_spark
from audience.store.sql import ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

REQUIRED_TABLES = ("customers", "order_lines", "events")
OPTIONAL_TABLES = (
    "profiles",
    "profile_members",
    "identities",
    "anonymous_links",
    "category_map",
    "customer_records_clean",
    # What rules read beside the features: predictions, and the stored segments a rule names.
    "customer_predictions",
    "memberships",
    "segments",
    "segment_runs",
)
# The warehouse's views the Spark engine defines over the lake, from the same SQL.
LAKE_VIEWS = ("person_events",)
LAKE_TABLES = REQUIRED_TABLES + OPTIONAL_TABLES
# The columns of the needed tables the engine reads; a lake may hold more, or lack the others.
READ_COLUMNS = {
    "customers": ("customer_id", "signup_at", "birth_date"),
    "order_lines": (
        "order_id",
        "customer_id",
        "ordered_at",
        "category",
        "amount",
        "discount",
        "channel",
    ),
    "events": (
        "type",
        "event",
        "user_id",
        "anonymous_id",
        "timestamp",
        "properties",
        "context",
    ),
    # A run's method tells rule memberships from stored ones; its models stay behind.
    "segment_runs": ("run_id", "created_at", "method"),
}
# Tables exported narrower than the warehouse holds them (the rest is never read).
_EXPORTED = {"segment_runs": READ_COLUMNS["segment_runs"]}

# Families of types that read the same: a lake written by another tool may store a count as
# int or bigint, an amount as decimal or double, a time with or without a zone.
_FAMILIES = {
    "string": ("string", "varchar", "char"),
    "number": ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal"),
    "time": ("timestamp", "timestamp_ntz"),
    "date": ("date",),
    "boolean": ("boolean",),
    "list": ("array",),
}


@dataclass(frozen=True)
class Column:
    name: str
    spark_type: str  # Spark DDL type: string, timestamp_ntz, decimal(18,2)...


def _spark_type(duckdb_type: str) -> str:
    kind = duckdb_type.upper()
    if kind.endswith("[]"):
        return f"array<{_spark_type(kind[:-2])}>"
    if kind.startswith("DECIMAL"):
        return kind.lower()
    return {
        "VARCHAR": "string",
        "JSON": "string",
        "TIMESTAMP": "timestamp_ntz",
        "DATE": "date",
        "INTEGER": "int",
        "BIGINT": "bigint",
        "DOUBLE": "double",
        "BOOLEAN": "boolean",
    }.get(kind, "string")


@functools.cache  # the migrations are fixed for the process: one in-memory warehouse each
def warehouse_schema() -> dict[str, list[Column]]:
    """Columns of every lake table, as the warehouse's migrations create them."""
    from audience.store.warehouse import Warehouse

    with Warehouse(":memory:") as warehouse:
        warehouse.migrate()
        return {
            table: [
                Column(str(name), _spark_type(str(kind)))
                for name, kind, *_ in warehouse.con.execute(f"DESCRIBE {ident(table)}").fetchall()
            ]
            for table in LAKE_TABLES
        }


def export_warehouse(con: duckdb.DuckDBPyConnection, directory: Path) -> dict[str, int]:
    """Write every lake table of the warehouse as ``directory/<table>.parquet``; row counts.

    JSON columns are written as text: Parquet's JSON annotation is not one Spark reads.
    """
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in LAKE_TABLES:
        columns = con.execute(f"DESCRIBE {ident(table)}").fetchall()
        kept = _EXPORTED.get(table)
        select = ", ".join(
            f"{ident(name)}::VARCHAR AS {ident(name)}" if kind == "JSON" else ident(name)
            for name, kind, *_ in columns
            if kept is None or name in kept
        )
        target = (directory / f"{table}.parquet").as_posix().replace("'", "''")
        con.execute(f"COPY (SELECT {select} FROM {ident(table)}) TO '{target}' (FORMAT parquet)")
        counts[table] = int(con.execute(f"SELECT count(*) FROM {ident(table)}").fetchone()[0])  # type: ignore[index]
    return counts


@functools.cache
def view_query(name: str) -> str:
    """The SELECT of the warehouse's view ``name``, in DuckDB's dialect, as its migration
    defines it: the Spark engine transpiles this one definition."""
    from audience.store.warehouse import Warehouse

    with Warehouse(":memory:") as warehouse:
        warehouse.migrate()
        found = warehouse.con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = ?", [name]
        ).fetchone()
    if found is None:
        raise ValueError(f"the warehouse has no view {name}")
    create = str(found[0]).rstrip().rstrip(";")
    return create[create.index(" AS ") + len(" AS ") :]


def _family(spark_type: str) -> str:
    base = spark_type.split("(", 1)[0].split("<", 1)[0].lower()
    return next((f for f, names in _FAMILIES.items() if base in names), base)


def schema_differences(table: str, found: dict[str, str], expected: list[Column]) -> list[str]:
    """Each column of ``expected`` missing from ``found`` (name -> Spark type) or typed
    otherwise, as "column (expected TYPE, found TYPE)"."""
    wrong = []
    for column in expected:
        actual = found.get(column.name.lower())
        if actual is None:
            wrong.append(f"{column.name} (missing, expected {column.spark_type})")
        elif _family(actual) != _family(column.spark_type):
            wrong.append(f"{column.name} (expected {column.spark_type}, found {actual})")
    return wrong


Location = Path | str
"""A local directory, or a URL of a file system Spark reads (``s3a://``, ``abfss://``,
``gs://``, ``hdfs://``, ``dbfs:/``, ``file://``): the cluster's libraries and credentials
open it, Audience never does."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")  # a scheme of 2+ letters: C:/ is a path


def location_of(text: str) -> Location:
    """``text`` as a :data:`Location`: a URL stays text, anything else is a local path."""
    return text if _URL.match(text) else Path(text)


def child(location: Location, name: str) -> Location:
    """``location/name``, for a path or a URL."""
    return location / name if isinstance(location, Path) else f"{location.rstrip('/')}/{name}"


def _read_table(spark: SparkSession, lake: Location, table: str) -> tuple[str, DataFrame] | None:
    """Where ``table`` is in the lake (``<table>.parquet`` or a ``<table>/`` directory of
    parts) and its frame; None when it is in neither."""
    if isinstance(lake, Path):
        for candidate in (lake / f"{table}.parquet", lake / table):
            if candidate.exists():
                return str(candidate), spark.read.parquet(str(candidate))
        return None
    from pyspark.errors import AnalysisException

    for url in (str(child(lake, f"{table}.parquet")), str(child(lake, table))):
        try:
            return url, spark.read.parquet(url)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" not in str(exc):
                raise
    return None


def register_lake(spark: SparkSession, directory: Location) -> list[str]:
    """Register each lake table of ``directory`` as a Spark temporary view; those found.

    Raises
    ------
    InputError
        A required table is missing, or a table's columns differ from the warehouse's
        (every differing column is named).
    """
    if isinstance(directory, Path) and not directory.is_dir():
        raise InputError(f"no Parquet lake at {directory}: the directory does not exist")
    schema = warehouse_schema()
    found_tables = []
    for table in LAKE_TABLES:
        read_table = _read_table(spark, directory, table)
        if read_table is None:
            if table in REQUIRED_TABLES:
                raise InputError(
                    f"the lake {directory} has no {table}.parquet (nor a {table}/ directory); "
                    f"the spark engine needs {', '.join(REQUIRED_TABLES)}"
                )
            ddl = ", ".join(f"`{c.name}` {c.spark_type}" for c in schema[table])
            spark.createDataFrame([], ddl).createOrReplaceTempView(table)
            continue
        location, frame = read_table
        found = {f.name.lower(): f.dataType.simpleString() for f in frame.schema.fields}
        read = READ_COLUMNS.get(table)
        expected = [c for c in schema[table] if read is None or c.name in read]
        wrong = schema_differences(table, found, expected)
        if wrong:
            raise InputError(
                f"{location} does not have the columns of {table}: {'; '.join(wrong)}; write "
                f"it with the warehouse's columns (audience's import does)"
            )
        frame.createOrReplaceTempView(table)
        found_tables.append(table)
    for view in LAKE_VIEWS:
        spark.sql(to_spark(view_query(view))).createOrReplaceTempView(view)
    return found_tables
