"""Recognise an input file: format, text encoding, CSV delimiter and header.

Every way a file can be unusable ends here in one clear :class:`InputError`, before anything
is written to the warehouse.

Text encoding, decided line by line (a line ends at ``\\n``), UTF-8 first:

- a file whose every line is valid UTF-8 is UTF-8;
- otherwise, count its lines that hold bytes above 127: those valid as UTF-8 (*u*) and those
  not (*b*). When *u* ≥ *b* the file is UTF-8 and each of its *b* lines is a :class:`BadLine`,
  quarantined at import with its own reason (``bad_encoding``), never guessed: the rest of the
  file loads as UTF-8. A bad header line is an :class:`EncodingError`;
- when *b* > *u* the file is in a legacy 8-bit encoding, Windows-1252 (ISO-8859-1 if it holds
  a byte Windows-1252 leaves undefined), in which every byte is a character: each line valid
  as UTF-8 is still read as UTF-8 (a line appended by a UTF-8 tool), the others in that
  encoding.

Windows-1252 text is almost never valid UTF-8 by chance (an accented letter would have to be
followed by the right punctuation), so the count tells the two apart even in a file where
they mix. JSON Lines must be UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from audience.errors import EmptyInputError, EncodingError, InputError, UnsupportedFormatError

Format = Literal["csv", "parquet", "jsonl"]
_CHUNK = 16 * 1024 * 1024
_SCAN_CHUNK = 4 * 1024 * 1024  # a NumPy scan holds a few arrays of its size
_SAMPLE = 64 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
"""The longest line read (DuckDB's ``max_line_size``)."""
_DELIMITERS = (";", ",", "\t", "|")
_NEAR = 16  # bytes shown either side of a byte that is not UTF-8
# Bytes cp1252 leaves undefined; a file holding them is read as ISO-8859-1 instead.
_CP1252_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


@dataclass(frozen=True)
class BadLine:
    """A line of a UTF-8 file that is not valid UTF-8."""

    line: int
    """Physical line, 1 being the first."""
    column: int
    """Character of the line where the first invalid byte stands, 1 being the first."""
    byte: int
    """That byte."""
    text: str
    """The line as read: valid UTF-8 as such, every other byte written ``\\xNN``."""
    near: str
    """A few characters either side of the byte, written as in :attr:`text`."""
    meant: str
    """The same bytes read as Windows-1252: what the line probably means."""

    @classmethod
    def of(cls, line: int, raw: bytes) -> BadLine:
        raw = raw.removesuffix(b"\r")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A window of bytes around the first bad one, not cutting a UTF-8 character.
            begin, end = max(0, exc.start - _NEAR), min(len(raw), exc.start + _NEAR)
            while begin < exc.start and raw[begin] & 0xC0 == 0x80:
                begin += 1
            while end < len(raw) and raw[end] & 0xC0 == 0x80:
                end += 1
            window = raw[begin:end]
            return cls(
                line=line,
                column=len(raw[: exc.start].decode("utf-8")) + 1,
                byte=raw[exc.start],
                text=raw.decode("utf-8", errors="backslashreplace"),
                near=window.decode("utf-8", errors="backslashreplace"),
                meant=window.decode("cp1252", errors="replace"),
            )
        raise ValueError(f"line {line} is valid UTF-8")

    @property
    def problem(self) -> str:
        """What is wrong and where in the line."""
        return (
            f'byte 0x{self.byte:02X} at column {self.column} is not UTF-8 (near "{self.near}", '
            f'which reads "{self.meant}" in Windows-1252)'
        )

    def reason(self, *, retry_raw: bool = True) -> str:
        """The quarantine reason: what is wrong, where in the line, how to fix it.

        ``retry_raw``: whether ``audience quarantine retry --raw`` can take the line as meant
        (a CSV line can; a JSON line cannot, its file is imported again instead).
        """
        retry = ", or give 'audience quarantine retry' the line as meant with --raw"
        return (
            f"bad_encoding: {self.problem}, unlike the rest of the file, which is UTF-8: save "
            f"the file as UTF-8 and import it again{retry if retry_raw else ''}"
        )


@dataclass(frozen=True)
class SourceFile:
    """What :func:`inspect` learnt about a file."""

    path: Path
    format: Format
    sha256: str
    encoding: str | None = None
    delimiter: str | None = None
    header: tuple[str, ...] = ()
    bad_lines: tuple[BadLine, ...] = ()
    """Lines of a UTF-8 file that are not UTF-8 (see the module's docstring)."""
    lines: int = 0
    """Physical lines of a text file, blank lines at its end left out."""
    utf8_lines: int = 0
    """Lines valid as UTF-8 (holding bytes above 127) in a file in a legacy encoding."""


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
    encoding, sha256, bad_lines, lines, utf8_lines = _encoding_and_hash(path)
    if bad_lines and bad_lines[0].line == 1:
        raise EncodingError(
            f"{path}: line 1 (the header) is not UTF-8 while the rest of the file is: "
            f"{bad_lines[0].problem}; save the file as UTF-8"
        )
    text = _decode(head, encoding).lstrip("\ufeff")
    if not text.strip():
        raise EmptyInputError(f"{path}: the file holds only blank lines")
    if text.lstrip().startswith("["):
        raise UnsupportedFormatError(
            f"{path}: a JSON array; write one JSON object per line (JSON Lines) instead"
        )
    if text.lstrip().startswith("{") or path.suffix.lower() in (".jsonl", ".ndjson"):
        if encoding != "utf-8":
            raise EncodingError(
                f"{path}: JSON Lines must be UTF-8, this file is {encoding}; save it as UTF-8"
            )
        return SourceFile(path, "jsonl", sha256, "utf-8", bad_lines=bad_lines, lines=lines)
    delimiter, header = _sniff_csv(path, text, whole)
    return SourceFile(
        path, "csv", sha256, encoding, delimiter, header, bad_lines, lines, utf8_lines
    )


def _decode(head: bytes, encoding: str) -> str:
    """The file's first bytes as text, each line UTF-8 first (see the module's docstring)."""
    if encoding == "utf-8":
        return head.decode("utf-8", errors="replace")
    lines = []
    for line in head.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode(encoding, errors="replace"))
    return "\n".join(lines)


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


def _encoding_and_hash(path: Path) -> tuple[str, str, tuple[BadLine, ...], int, int]:
    """The file's encoding, SHA-256, bad lines and UTF-8 lines (see the module's docstring),
    and its number of lines.

    One pass when the file is UTF-8, as most are; two more (counting, then collecting the
    bad lines) only when it is not.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    holes = False
    newlines = 0
    tail = b""  # the file's end, to leave its blank lines out of the count
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            newlines += chunk.count(b"\n")
            tail = (tail + chunk[-_SAMPLE:])[-_SAMPLE:]
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
    ended = tail.rstrip(b"\r\n")
    lines = newlines - tail[len(ended) :].count(b"\n") + (1 if ended else 0)
    if utf8:
        return "utf-8", digest.hexdigest(), (), lines, 0
    valid = invalid = 0
    for _, scan in _line_scans(path):
        valid += scan.utf8_lines
        invalid += len(scan.invalid)
    if invalid > valid:
        return ("iso-8859-1" if holes else "cp1252"), digest.hexdigest(), (), lines, valid
    bad = tuple(
        BadLine.of(first + index, scan.line(index))
        for first, scan in _line_scans(path)
        for index in scan.invalid.tolist()
    )
    return "utf-8", digest.hexdigest(), bad, lines, 0


def whole_lines(path: Path, size: int = _CHUNK) -> Iterator[bytes]:
    """The file's bytes in chunks of about ``size`` that end at the end of a line."""
    carry = b""
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            yield data[:cut]
            carry = data[cut:]
    if carry:
        yield carry


@dataclass(frozen=True)
class LineScan:
    """The lines of a chunk of whole lines: which hold bytes above 127, which are not UTF-8.

    Found with NumPy, so that a line costs nothing in Python: a file of millions of lines
    in Windows-1252 is read at the speed of the whole-file decoders.
    """

    data: bytes
    newlines: np.ndarray
    non_ascii: np.ndarray
    """Indices (from 0) of the lines holding a byte above 127."""
    invalid: np.ndarray
    """Indices of the lines that are not valid UTF-8 (a subset of ``non_ascii``)."""

    @classmethod
    def of(cls, data: bytes) -> LineScan:
        buffer = np.frombuffer(data, dtype=np.uint8)
        high = np.flatnonzero(buffer >= 0x80)
        newlines = np.flatnonzero(buffer == 0x0A)
        if not len(high):
            return cls(data, newlines, high, high)
        return cls(
            data,
            newlines,
            _lines_of(newlines, high),
            _lines_of(newlines, _broken_utf8(buffer, high)),
        )

    @property
    def utf8_lines(self) -> int:
        """Lines holding a byte above 127 that are valid UTF-8."""
        return len(self.non_ascii) - len(self.invalid)

    def span(self, index: int) -> tuple[int, int]:
        """Start and end of line ``index`` (without its newline) in :attr:`data`."""
        start = int(self.newlines[index - 1]) + 1 if index else 0
        end = int(self.newlines[index]) if index < len(self.newlines) else len(self.data)
        return start, end

    def line(self, index: int) -> bytes:
        start, end = self.span(index)
        return self.data[start:end]


def _broken_utf8(b: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Positions in ``b`` where UTF-8 breaks (RFC 3629, as Python's strict decoder reads it).

    ``high`` are the positions of the bytes above 127, the only ones that can break it: a
    byte no UTF-8 text holds, a lead byte not followed by its continuation bytes (or by a
    second byte out of its range: overlong forms, surrogates, beyond U+10FFFF), or a
    continuation byte no lead byte claims. Computed on those bytes and their neighbours only.
    """
    size = len(b)

    def at(offset: int) -> np.ndarray:
        """The byte ``offset`` after each high byte, 0 beyond ``b``."""
        where = high + offset
        inside = (where >= 0) & (where < size)
        values: np.ndarray = np.where(inside, b[np.clip(where, 0, size - 1)], 0)
        return values

    def cont(v: np.ndarray) -> np.ndarray:
        flags: np.ndarray = (v & 0xC0) == 0x80
        return flags

    def need(v: np.ndarray) -> np.ndarray:
        count: np.ndarray = (
            ((v & 0xE0) == 0xC0) * 1 + ((v & 0xF0) == 0xE0) * 2 + ((v & 0xF8) == 0xF0) * 3
        )
        return count

    v, n1, n2, n3 = at(0), at(1), at(2), at(3)
    run = cont(n1) * 1 + (cont(n1) & cont(n2)) + (cont(n1) & cont(n2) & cont(n3))
    p1, p2, p3 = at(-1), at(-2), at(-3)
    claimed = (
        (need(p1) >= 1) | (cont(p1) & (need(p2) >= 2)) | (cont(p1) & cont(p2) & (need(p3) >= 3))
    )
    broken = (cont(v) & ~claimed) | (need(v) > run)
    broken |= (v == 0xC0) | (v == 0xC1) | (v >= 0xF5)
    broken |= ((v == 0xE0) & (n1 < 0xA0)) | ((v == 0xED) & (n1 >= 0xA0))
    broken |= ((v == 0xF0) & (n1 < 0x90)) | ((v == 0xF4) & (n1 >= 0x90))
    positions: np.ndarray = high[broken]
    return positions


def _lines_of(newlines: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Indices of the lines holding ``positions`` (sorted), each once."""
    lines = np.searchsorted(newlines, positions)
    once: np.ndarray = lines[np.r_[True, lines[1:] != lines[:-1]]] if len(lines) else lines
    return once


def _line_scans(path: Path) -> Iterator[tuple[int, LineScan]]:
    """(physical line of its first line, scan) of each chunk of the file."""
    first = 1
    for chunk in whole_lines(path, _SCAN_CHUNK):
        yield first, LineScan.of(chunk)
        first += chunk.count(b"\n")


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
