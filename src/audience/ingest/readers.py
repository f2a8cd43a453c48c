"""Expose a file to DuckDB as source relations: its columns plus ``_line``.

CSV and Parquet come as one relation scanned by DuckDB; JSON Lines come in batches of lines
read here, so that their line numbers are exact and memory stays bounded on files of tens of
millions of events. Rows that cannot even be split into columns (a CSV line with the wrong
number of fields, a line that is not a JSON object) are *rejects*, quarantined as they were.
"""

from __future__ import annotations

import codecs
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import duckdb
import pyarrow as pa

from audience.errors import EmptyInputError, InputError
from audience.ingest.detect import SourceFile
from audience.ingest.parsing import sql_literal
from audience.ingest.staging import ident

JSONL_BATCH_LINES = 500_000
_OBJECT_FIELDS = ("properties", "traits", "context")


@dataclass
class Source:
    """A file opened for reading: its columns (name -> DuckDB type) and how to scan it."""

    file: SourceFile
    columns: dict[str, str]
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, reason, raw text) of rows that could not be split into columns."""


def _path_literal(path: Path) -> str:
    return sql_literal(str(path))


@contextmanager
def utf8_copy(file: SourceFile, workdir: Path) -> Iterator[Path]:
    """The file itself when UTF-8, else a transcoded temporary copy (removed afterwards)."""
    if file.encoding in (None, "utf-8"):
        yield file.path
        return
    with tempfile.NamedTemporaryFile(
        "wb", dir=workdir, prefix=".import-", suffix=".csv", delete=False
    ) as out:
        decoder = codecs.getincrementaldecoder(file.encoding)()
        with file.path.open("rb") as handle:
            while chunk := handle.read(16 * 1024 * 1024):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    path = Path(out.name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def scan_csv(con: duckdb.DuckDBPyConnection, file: SourceFile, path: Path) -> Source:
    """Create the temporary table ``_src`` from a CSV file, every column as text."""
    columns = dict.fromkeys(file.header, "VARCHAR")
    spec = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in columns) + "}"
    for table in ("_rejects", "_rejects_scan"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _src_rows AS
            SELECT row_number() OVER () AS _rn, *
            FROM read_csv({_path_literal(path)}, delim={sql_literal(file.delimiter or ",")},
                          quote='"', escape='"', header=true, auto_detect=false,
                          columns={spec}, store_rejects=true, rejects_table='_rejects',
                          rejects_scan='_rejects_scan', max_line_size=16777216)"""
    )
    rows = con.execute(
        "SELECT line, string_agg(DISTINCT error_type || ': ' || error_message, '; '), "
        "any_value(csv_line) FROM _rejects GROUP BY line ORDER BY line"
    ).fetchall()
    rejects = [(int(line), f"malformed_row: {msg}", raw or "") for line, msg, raw in rows]
    # A physical line number counts the header and every rejected line before the row.
    thresholds = [line - 1 - i for i, (line, _, _) in enumerate(rejects)]
    con.execute("CREATE OR REPLACE TEMP TABLE _thresholds (t BIGINT)")
    if thresholds:
        con.executemany("INSERT INTO _thresholds VALUES (?)", [[t] for t in thresholds])
        line = "_rn + 1 + (SELECT count(*) FROM _thresholds WHERE _rn >= t)"
    else:
        line = "_rn + 1"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _src AS "
        f"SELECT {line} AS _line, * EXCLUDE (_rn) FROM _src_rows"
    )
    return Source(file, columns, rejects)


def scan_parquet(con: duckdb.DuckDBPyConnection, file: SourceFile) -> Source:
    """Create the view ``_src`` over a Parquet file, with its native column types."""
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({_path_literal(file.path)})"
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{file.path}: unreadable Parquet file ({exc})") from exc
    columns = {name: str(dtype) for name, dtype, *_ in described}
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW _src AS
            SELECT file_row_number + 1 AS _line, * EXCLUDE (file_row_number)
            FROM read_parquet({_path_literal(file.path)}, file_row_number=true)"""
    )
    return Source(file, columns)


def jsonl_keys(file: SourceFile, sample_lines: int = 2_000) -> dict[str, str]:
    """Top-level keys seen in the first lines, typed VARCHAR (objects: JSON)."""
    keys: dict[str, str] = {}
    with file.path.open("r", encoding="utf-8") as handle:
        for line in islice(handle, sample_lines):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                for key, value in record.items():
                    if key not in keys:
                        keys[key] = "JSON" if isinstance(value, dict | list) else "VARCHAR"
    if not keys:
        raise EmptyInputError(f"{file.path}: no JSON object in the first {sample_lines} lines")
    for key in _OBJECT_FIELDS:
        if key in keys:
            keys[key] = "JSON"
    return keys


def jsonl_batches(
    con: duckdb.DuckDBPyConnection, file: SourceFile, keys: dict[str, str], batch_lines: int
) -> Iterator[int]:
    """Create the view ``_src`` over successive batches of lines; yields each batch's size.

    Lines that are not JSON objects go to the table ``_bad_lines`` (line, text) instead.
    """
    scalars = [k for k, t in keys.items() if t != "JSON"]
    objects = [k for k, t in keys.items() if t == "JSON"]

    def paths(names: list[str]) -> str:
        return "[" + ", ".join(sql_literal("$." + json.dumps(k)) for k in names) + "]"

    # One parse per line and kind of value: the list forms of json_extract read every path.
    extracted = [f"s[{i + 1}] AS {ident(k)}" for i, k in enumerate(scalars)]
    extracted += [f"o[{i + 1}] AS {ident(k)}" for i, k in enumerate(objects)]
    if "event" in scalars and "name" in scalars:  # Segment: track has event, page/screen name
        extracted[scalars.index("event")] = (
            f"coalesce(s[{scalars.index('event') + 1}], s[{scalars.index('name') + 1}]) AS event"
        )
    lists = []
    if scalars:
        lists.append(f"json_extract_string(_text, {paths(scalars)}) AS s")
    if objects:
        lists.append(f"json_extract(_text, {paths(objects)}) AS o")
    line_no = 0
    with file.path.open("rb") as handle:
        while True:
            raw_lines = handle.readlines(batch_lines * 256)
            if not raw_lines:
                return
            numbers, texts = [], []
            for raw in raw_lines:
                line_no += 1
                text = raw.rstrip(b"\r\n")
                if text.strip():
                    numbers.append(line_no)
                    texts.append(text.decode("utf-8", errors="replace"))
            batch = pa.table({"_line": pa.array(numbers, pa.int64()), "_text": texts})
            con.register("_batch", batch)
            con.execute(
                """CREATE OR REPLACE TEMP TABLE _parsed AS
                   SELECT _line, _text,
                          CASE WHEN json_valid(_text) THEN json_type(_text) = 'OBJECT'
                               ELSE false END AS _ok
                   FROM _batch"""
            )
            con.unregister("_batch")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _bad_lines AS "
                "SELECT _line, _text FROM _parsed WHERE NOT _ok"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW _src AS SELECT _line, _text, {', '.join(extracted)} "
                f"FROM (SELECT _line, _text, {', '.join(lists)} FROM _parsed WHERE _ok)"
            )
            yield len(numbers)
