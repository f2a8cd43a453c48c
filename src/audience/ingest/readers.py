"""Expose a file to DuckDB as source relations: its columns plus ``_line``.

CSV and Parquet come as one relation scanned by DuckDB; JSON Lines come in batches of lines
read here, so that their line numbers are exact and memory stays bounded on files of tens of
millions of events. Rows that cannot even be split into columns (a CSV line with the wrong
number of fields, a line that is not a JSON object) are *rejects*, quarantined as they were;
so are the lines of a UTF-8 file that are not UTF-8 (:class:`~audience.ingest.detect.BadLine`).
"""

from __future__ import annotations

import codecs
import csv
import json
import tempfile
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audience.errors import EmptyInputError, InputError
from audience.ingest.detect import MAX_LINE_BYTES, LineScan, SourceFile, whole_lines
from audience.store.sql import ident, sql_literal

JSONL_BATCH_LINES = 500_000
_OBJECT_FIELDS = ("properties", "traits", "context")


@dataclass
class Source:
    """A file opened for reading: its columns (name -> DuckDB type) and how to scan it."""

    file: SourceFile
    columns: dict[str, str]
    rejects: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    """(line, reason, raw text, the parser's own message) of rows that could not be split
    into columns."""


def _path_literal(path: Path) -> str:
    return sql_literal(str(path))


@contextmanager
def utf8_copy(file: SourceFile, workdir: Path) -> Iterator[Path]:
    """The file itself when UTF-8, else a transcoded temporary copy (removed afterwards).

    The copy keeps every line where it was: a line valid as UTF-8 is copied as it is, any
    other is decoded from the file's legacy encoding.
    """
    if file.encoding in (None, "utf-8"):
        yield file.path
        return
    with tempfile.NamedTemporaryFile(
        "wb", dir=workdir, prefix=".import-", suffix=".csv", delete=False
    ) as out:
        if file.utf8_lines:
            for chunk in whole_lines(file.path, 4 * 1024 * 1024):
                out.write(_to_utf8(chunk, file.encoding))
        else:  # no line to keep as it is: the file's decoder, as fast as it gets
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


def _to_utf8(chunk: bytes, legacy: str) -> bytes:
    """Lines of ``chunk`` as UTF-8: as they are when valid UTF-8, else read as ``legacy``."""
    scan = LineScan.of(chunk)
    if not len(scan.invalid):
        return chunk
    utf8 = np.setdiff1d(scan.non_ascii, scan.invalid).tolist()
    if not utf8:
        return chunk.decode(legacy).encode("utf-8")
    parts: list[bytes] = []
    done = 0
    for index in utf8:  # the few UTF-8 lines of a legacy file, copied as they are
        start, end = scan.span(index)
        parts += [chunk[done:start].decode(legacy).encode("utf-8"), chunk[start:end]]
        done = end
    parts.append(chunk[done:].decode(legacy).encode("utf-8"))
    return b"".join(parts)


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
                          rejects_scan='_rejects_scan', max_line_size={MAX_LINE_BYTES})"""
    )
    rows = con.execute(
        "SELECT line, list(DISTINCT error_type ORDER BY error_type), "
        "list(DISTINCT error_message ORDER BY error_message), any_value(csv_line) "
        "FROM _rejects GROUP BY line ORDER BY line"
    ).fetchall()
    # DuckDB numbers a rejected record by its line counting a record that spans lines once:
    # the physical lines come from the file's layout when a record spans lines.
    rows_read = int(con.execute("SELECT count(*) FROM _src_rows").fetchall()[0][0])
    layout = _Layout.of(file, path, rows_read + len(rows))
    bad_lines = {bad.line: bad for bad in file.bad_lines}
    rejects = []
    for logical, types, messages, raw in rows:
        first, last = layout.span(int(logical)) if layout else (int(logical), int(logical))
        reasons = []
        parser_message = None
        if "INVALID ENCODING" in types:
            bad = next((bad_lines[n] for n in range(first, last + 1) if n in bad_lines), None)
            reasons.append(bad.reason() if bad else _BAD_ENCODING_RECORD)
            raw = bad.text if bad else raw
        others = [t for t in types if t != "INVALID ENCODING"]
        if others:
            reasons.append(_malformed(others, messages, len(columns), file.delimiter or ","))
            parser_message = "\n".join(m for m in messages if "not utf-8" not in m.lower())
        rejects.append((first, "; ".join(reasons), raw or "", parser_message or None))
    if layout is not None:
        rejected = {int(logical) for logical, *_ in rows}
        lines = pa.table(
            {"_rn": pa.array(np.arange(1, rows_read + 1)), "_line": layout.rows(rejected)}
        )
        con.register("_layout", lines)
        con.execute("CREATE OR REPLACE TEMP TABLE _row_lines AS SELECT * FROM _layout")
        con.unregister("_layout")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _src AS SELECT l._line, r.* EXCLUDE (_rn) "
            "FROM _src_rows r JOIN _row_lines l USING (_rn)"
        )
        return Source(file, columns, rejects)
    # Every record is one line: a row's line counts the header and the rejected lines before it.
    thresholds = [line - 1 - i for i, (line, *_) in enumerate(rejects)]
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


@dataclass(frozen=True)
class _Layout:
    """Where each record of a CSV file starts and ends, in physical lines.

    Record *k* (1 being the header) is what DuckDB calls line *k*: blank lines count as
    records, and a record whose quoted value holds line breaks counts once.
    """

    first: np.ndarray
    last: np.ndarray
    blank: np.ndarray

    @classmethod
    def of(cls, file: SourceFile, path: Path, records: int) -> _Layout | None:
        """The layout of ``path``, None when each of its ``records`` is one line (the usual
        case, known without reading the file again) or when Python's csv module and DuckDB
        do not split the file alike."""
        if file.lines == records + 1:
            return None
        first, last, blank = array("q"), array("q"), array("b")
        try:
            with path.open(encoding="utf-8", errors="replace", newline="") as handle:
                reader = csv.reader(handle, delimiter=file.delimiter or ",", strict=False)
                for record in reader:
                    first.append(last[-1] + 1 if last else 1)
                    last.append(reader.line_num)
                    blank.append(not record)
        except csv.Error:  # a value over the csv module's 128 KB
            return None
        layout = cls(np.array(first), np.array(last), np.array(blank, dtype=bool))
        return layout if int((~layout.blank[1:]).sum()) == records else None

    def span(self, record: int) -> tuple[int, int]:
        """First and last physical lines of ``record``."""
        if not 1 <= record <= len(self.first):
            return record, record
        return int(self.first[record - 1]), int(self.last[record - 1])

    def rows(self, rejected: set[int]) -> np.ndarray:
        """First physical line of each record DuckDB read as a row, in order."""
        keep = ~self.blank
        keep[0] = False  # the header
        known = [r - 1 for r in rejected if 1 <= r <= len(keep)]
        keep[known] = False
        lines: np.ndarray = self.first[keep]
        return lines


_BAD_ENCODING_RECORD = (
    "bad_encoding: the record starting on this line holds bytes that are not UTF-8, unlike the "
    "rest of the file, which is UTF-8: save the file as UTF-8 and import it again"
)


_READ_AS = {
    "UNQUOTED VALUE": "a quote inside a value that is not quoted",
    "UNTERMINATED QUOTE": "a quoted value that never ends",
    "LINE SIZE OVER MAXIMUM": "a line longer than the longest the import reads",
    "CAST ERROR": "a value of the wrong type",
}


def _malformed(types: list[str], messages: list[str], width: int, delimiter: str) -> str:
    """The reason of a line DuckDB could not split into the header's columns, in our words;
    DuckDB's own messages are kept apart (the quarantine's ``parser_message``)."""
    found = [m.rsplit("Found: ", 1)[1] for m in messages if "Found: " in m]
    if found and set(types) <= {"TOO MANY COLUMNS", "MISSING COLUMNS"}:
        return (
            f"malformed_row: {found[0]} fields where the header has {width} (delimiter "
            f"{delimiter!r}): quote a value that holds the delimiter, or fix the line"
        )
    what = ", ".join(_READ_AS.get(t, t.lower()) for t in types)
    return (
        f"malformed_row: the line cannot be split into the header's {width} columns ({what}): "
        "fix the line, or give it corrected with 'audience quarantine retry ID --raw LINE'"
    )


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
    with file.path.open("r", encoding="utf-8", errors="replace") as handle:
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
    con: duckdb.DuckDBPyConnection,
    file: SourceFile,
    keys: dict[str, str],
    batch_lines: int | None,
) -> Iterator[int]:
    """Create the view ``_src`` over successive batches of lines; yields each batch's size.

    ``batch_lines`` of None reads the whole file as one batch.

    Lines that are not JSON objects, or not UTF-8, go to the table ``_bad_lines`` (line,
    reason, text) instead.
    """
    # One parse per line: json_transform reads every key into a struct at once.
    spec = json.dumps({k: ("JSON" if t == "JSON" else "VARCHAR") for k, t in keys.items()})
    extracted = [f"_j[{sql_literal(k)}] AS {ident(k)}" for k in keys]
    if "event" in keys and "name" in keys:  # Segment: track has an event, page/screen a name
        extracted[list(keys).index("event")] = "coalesce(_j['event'], _j['name']) AS event"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _undecodable (_line BIGINT, _reason VARCHAR, _text VARCHAR)"
    )
    if file.bad_lines:
        con.executemany(
            "INSERT INTO _undecodable VALUES (?, ?, ?)",
            [[bad.line, bad.reason(retry_raw=False), bad.text] for bad in file.bad_lines],
        )
    undecodable = "_line IN (SELECT _line FROM _undecodable)" if file.bad_lines else "false"
    first_line = 0
    chunk_bytes = batch_lines * 256 if batch_lines else file.path.stat().st_size + 1
    for lines in _line_chunks(file.path, chunk_bytes):
        numbers = pa.array(np.arange(first_line + 1, first_line + len(lines) + 1))
        first_line += len(lines)
        text = pc.utf8_rtrim(_as_text(lines), characters="\r")
        batch = pa.table({"_line": numbers, "_text": text})
        batch = batch.filter(pc.invert(pc.equal(pc.utf8_trim_whitespace(text), "")))
        con.register("_batch", batch)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _parsed AS
                SELECT _line, _text, {undecodable} AS _undecodable,
                       CASE WHEN ltrim(_text) LIKE '{{%' AND NOT {undecodable}
                            THEN try(json_transform(_text, {sql_literal(spec)})) END AS _j
                FROM _batch"""
        )
        con.unregister("_batch")
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _bad_lines AS
               SELECT _line, 'bad_json: the line is not a JSON object: write one object per '
                             || 'line, {"type": "track", ...}' AS _reason, _text
               FROM _parsed WHERE _j IS NULL AND NOT _undecodable
               UNION ALL
               SELECT _line, _reason, _text FROM _undecodable
               WHERE _line IN (SELECT _line FROM _parsed WHERE _undecodable)"""
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _src AS SELECT _line, _text, {', '.join(extracted)} "
            "FROM _parsed WHERE _j IS NOT NULL"
        )
        yield batch.num_rows


def _line_chunks(path: Path, chunk_bytes: int) -> Iterator[pa.BinaryArray]:
    """The file's lines (without their newline), a chunk of whole lines at a time.

    Lines are cut with NumPy on the raw bytes and handed to Arrow without copying them.
    """
    carry = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            data = carry + chunk
            if not data:
                return
            buffer = np.frombuffer(data, dtype=np.uint8)
            ends = np.flatnonzero(buffer == 10)
            if not chunk:  # the last line may lack its newline
                ends = np.r_[ends, len(data)] if not data.endswith(b"\n") else ends
            if len(ends) == 0:
                carry = data
                continue
            starts = np.r_[0, ends[:-1] + 1]
            yield _slices(data, starts, ends)
            carry = data[ends[-1] + 1 :]
            if not chunk:
                return


def _slices(data: bytes, starts: np.ndarray, ends: np.ndarray) -> pa.BinaryArray:
    """Binary array of data[starts[i]:ends[i]], copying only the bytes kept."""
    keep = np.ones(len(data), dtype=bool)
    keep[ends[ends < len(data)]] = False  # drop the newline bytes
    compact = np.frombuffer(data, dtype=np.uint8)[keep]
    lengths = ends - starts
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(compact)]
    )


def _as_text(lines: pa.BinaryArray) -> pa.Array:
    """Lines as UTF-8 text; a line that is not UTF-8 keeps replacement characters."""
    try:
        return lines.cast(pa.large_string())
    except pa.ArrowInvalid:
        decoded = [raw.decode("utf-8", errors="replace") for raw in lines.to_pylist()]
        return pa.array(decoded, type=pa.large_string())
