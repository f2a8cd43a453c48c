"""Recognise an input file: format, text encoding, CSV delimiter and header.

Every way a file can be unusable ends here in one clear :class:`InputError`, before anything
is written to the warehouse.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from audience.errors import EmptyInputError, EncodingError, InputError, UnsupportedFormatError

Format = Literal["csv", "parquet", "jsonl"]
_CHUNK = 16 * 1024 * 1024
_SAMPLE = 64 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
"""The longest line read (DuckDB's ``max_line_size``)."""
_DELIMITERS = (";", ",", "\t", "|")
# Bytes cp1252 leaves undefined; a file holding them is read as ISO-8859-1 instead.
_CP1252_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


@dataclass(frozen=True)
class SourceFile:
    """What :func:`inspect` learnt about a file."""

    path: Path
    format: Format
    sha256: str
    encoding: str | None = None
    delimiter: str | None = None
    header: tuple[str, ...] = ()


def inspect(path: Path) -> SourceFile:
    """Recognise ``path`` or raise an :class:`InputError` saying what is wrong with it."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file")
    if path.stat().st_size == 0:
        raise EmptyInputError(f"{path}: the file is empty")
    head, whole = _head(path)
    if head.startswith(b"PAR1"):
        return SourceFile(path, "parquet", _sha256(path))
    if head.startswith(b"PK\x03\x04"):
        raise UnsupportedFormatError(
            f"{path}: looks like a spreadsheet or zip archive; export it as CSV (UTF-8) first"
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise EncodingError(f"{path}: UTF-16 text is not supported; save the file as UTF-8")
    if b"\x00" in head:
        offset = head.index(b"\x00")
        raise UnsupportedFormatError(
            f"{path}: binary content (NUL byte at offset {offset}); expected CSV, Parquet or JSONL"
        )
    encoding, sha256 = _encoding_and_hash(path)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise EmptyInputError(f"{path}: the file holds only blank lines")
    if text.lstrip().startswith("["):
        raise UnsupportedFormatError(
            f"{path}: a JSON array; write one JSON object per line (JSON Lines) instead"
        )
    if text.lstrip().startswith("{") or path.suffix.lower() in (".jsonl", ".ndjson"):
        if encoding != "utf-8":
            raise EncodingError(f"{path}: JSON Lines must be UTF-8, this file is {encoding}")
        return SourceFile(path, "jsonl", sha256, encoding="utf-8")
    delimiter, header = _sniff_csv(path, text, whole)
    return SourceFile(path, "csv", sha256, encoding, delimiter, header)


def _head(path: Path) -> tuple[bytes, bool]:
    """The file's first bytes, whole lines up to the second at least; and whether that is all.

    A header line may be longer than the sample (10,000 column names): it is read whole.
    """
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE)
        while head.count(b"\n") < 2 and len(head) < 2 * MAX_LINE_BYTES:
            more = handle.read(_SAMPLE * 16)
            if not more:
                return head, True
            head += more
        return head, not handle.read(1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _encoding_and_hash(path: Path) -> tuple[str, str]:
    """One pass over the file: its SHA-256 and whether it is valid UTF-8."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    holes = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and not holes:
                holes = any(bytes([b]) in chunk for b in _CP1252_HOLES)
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return "utf-8", digest.hexdigest()
    return ("iso-8859-1" if holes else "cp1252"), digest.hexdigest()


def _sniff_csv(path: Path, sample: str, whole: bool) -> tuple[str, tuple[str, ...]]:
    """The delimiter (most frequent candidate in the header line) and the header."""
    first_line = sample.splitlines()[0] if sample.splitlines() else ""
    # Delimiters outside quotes, counted without the csv module: read with the wrong
    # delimiter, a long header is one field, over the module's limit of 128 KB.
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: (counts[d], -_DELIMITERS.index(d)))
    try:
        cells = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    except csv.Error as exc:
        raise InputError(f"{path}: the header line cannot be read ({exc}); fix it") from exc
    header = tuple(cell.strip() for cell in cells)
    if not any(header):
        raise InputError(f"{path}: the first line is empty; a CSV file needs a header line")
    blank = [i + 1 for i, h in enumerate(header) if not h]
    if blank:
        raise InputError(f"{path}: header column(s) {blank} have no name; name every column")
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise InputError(f"{path}: column '{name}' appears twice in the header; rename one")
        seen.add(name.lower())
    if whole and not any(line.strip() for line in sample.splitlines()[1:]):
        raise EmptyInputError(f"{path}: only a header line, no rows")
    return delimiter, header
