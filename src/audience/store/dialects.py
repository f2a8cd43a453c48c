"""SQL written once in DuckDB's dialect, translated for the other engines by sqlglot.

The feature and rule definitions are DuckDB SQL (:mod:`audience.features.behaviour`,
:mod:`audience.rules.compile_sql`, :mod:`audience.store.trait_types`); the Spark engine runs
them through :func:`to_spark`, so that the two engines never hold two copies of a definition.

sqlglot translates the grammar; three DuckDB functions have no Spark namesake and are
rewritten here, each to an expression that returns what DuckDB's returns:

- ``json_type(json, path)``: Spark 4 reads the JSON as a VARIANT and names its type; the
  names are mapped to DuckDB's (``BIGINT``, ``DOUBLE``, ``VARCHAR``, ``BOOLEAN``, ``NULL``,
  ``ARRAY``, ``OBJECT``; NULL when the path is absent or the text is not JSON), so that a
  trait or an event property counts only with its type's JSON shape on both engines;
- ``regexp_full_match(text, pattern)``: an anchored ``RLIKE``;
- ``to_microseconds(n)``: a day-time interval of ``n`` microseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.errors import EngineUnavailableError, InputError

if TYPE_CHECKING:
    from sqlglot import exp

# {v}: the JSON value at the path as a VARIANT; {k}: Spark's name of its type.
_KIND = "schema_of_variant(variant_get(try_parse_json({json}), {path}, 'variant'))"
_JSON_TYPE = """CASE
    WHEN {k} IS NULL THEN NULL
    WHEN {k} = 'VOID' THEN 'NULL'
    WHEN {k} IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT') THEN 'BIGINT'
    WHEN {k} IN ('DOUBLE', 'FLOAT') OR {k} LIKE 'DECIMAL%' THEN 'DOUBLE'
    WHEN {k} = 'STRING' THEN 'VARCHAR'
    WHEN {k} LIKE 'ARRAY%' THEN 'ARRAY'
    WHEN {k} LIKE 'OBJECT%' THEN 'OBJECT'
    ELSE {k} END"""


def _spark_equivalent(node: exp.Expr) -> exp.Expr:
    """``node`` itself, or the Spark expression of a DuckDB function Spark lacks."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect

    def spark(sql: str) -> exp.Expr:
        return sqlglot.parse_one(sql, read="spark")

    if isinstance(node, exp.JSONType):
        # The path as Spark's JSON functions write it ($['a b'] for DuckDB's $."a b").
        path = Dialect.get_or_raise("duckdb").to_json_path(node.expression)
        spark_path = path.sql(dialect="spark") if path is not None else "NULL"
        kind = _KIND.format(json=node.this.sql(dialect="spark"), path=spark_path)
        return spark(f"({_JSON_TYPE.format(k=kind)})")
    if isinstance(node, exp.RegexpFullMatch) and isinstance(node.expression, exp.Literal):
        anchored = exp.Literal.string(f"^(?:{node.expression.name})$")
        return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_microseconds":
        (micros,) = node.expressions
        return spark(
            "make_dt_interval(0, 0, 0, CAST(("
            f"{micros.sql(dialect='spark')}) / 1000000 AS DECIMAL(18, 6)))"
        )
    return node


def to_spark(sql: str) -> str:
    """``sql`` (one DuckDB statement) in Spark SQL.

    Raises
    ------
    InputError
        When a construct has no Spark equivalent sqlglot knows.
    """
    try:
        import sqlglot
        from sqlglot.errors import ErrorLevel, SqlglotError
    except ImportError as exc:
        raise EngineUnavailableError(
            "the spark engine translates SQL with sqlglot, which is not installed; install "
            "it with \"pip install 'audience[spark]'\""
        ) from exc
    try:
        tree = sqlglot.parse_one(sql, read="duckdb").transform(_spark_equivalent)
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"this definition cannot run on Spark: {first}") from exc
