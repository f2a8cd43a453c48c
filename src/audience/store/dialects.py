"""SQL written once in DuckDB's dialect, translated for the other engines by sqlglot.

The feature and rule definitions are DuckDB SQL (:mod:`audience.features.behaviour`,
:mod:`audience.rules.compile_sql`); the Spark engine runs them through :func:`to_spark`,
so that the two engines never hold two copies of a definition.
"""

from __future__ import annotations

from audience.errors import EngineUnavailableError, InputError


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
        translated = sqlglot.transpile(
            sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
        )
    except SqlglotError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"this definition cannot run on Spark: {first}") from exc
    return translated[0]
