"""Mixed encodings are decoded line by line: UTF-8 first, a line that is not UTF-8 in a UTF-8
file quarantined on its own, never the whole file misdecoded.

Every file here is written byte by byte, so that what it holds is plain.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from audience.errors import EncodingError
from audience.ingest.detect import LineScan, inspect
from audience.ingest.importer import import_file
from audience.ingest.readers import utf8_copy
from audience.store.workspace import Workspace

# A UTF-8 export with one line pasted from a Windows-1252 (Latin-1) source: 'Zoé' and
# 'Besançon' in UTF-8 on lines 2 and 4, in Windows-1252 on line 3.
UTF8_WITH_ONE_LATIN1_LINE = (
    b"id;prenom;ville\n"
    b"C1;Zo\xc3\xa9;Besan\xc3\xa7on\n"
    b"C2;Zo\xe9;Besan\xe7on\n"
    b"C3;L\xc3\xa9a;Orl\xc3\xa9ans\n"
)


def rows(ws: Workspace, sql: str) -> list[tuple[object, ...]]:
    with ws.warehouse(read_only=True) as warehouse:
        return warehouse.con.execute(sql).fetchall()


def write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_a_latin1_line_in_a_utf8_file_is_quarantined_and_the_rest_loads_as_utf8(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write_bytes(tmp_path / "c.csv", UTF8_WITH_ONE_LATIN1_LINE)
    report = import_file(workspace, "customers", path)
    assert report.encoding == "utf-8"
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (3, 2, 1)
    assert report.reconciled
    assert report.quarantine_reasons == {"bad_encoding": 1}
    assert rows(workspace, "SELECT customer_id, first_name, city FROM customers ORDER BY 1") == [
        ("C1", "Zoé", "Besançon"),
        ("C3", "Léa", "Orléans"),
    ]
    [(source, line, reason, raw)] = rows(
        workspace, "SELECT source_file, line, reason, raw FROM quarantine"
    )
    assert (source, line) == (str(path), 3)
    assert reason == (
        'bad_encoding: byte 0xE9 at column 6 is not UTF-8 (near "C2;Zo\\xe9;Besan\\xe7on", '
        'which reads "C2;Zoé;Besançon" in Windows-1252), unlike the rest of the file, which '
        "is UTF-8: save the file as UTF-8 and import it again, or give 'audience quarantine "
        "retry' the line as meant with --raw"
    )
    # The bytes as read: valid UTF-8 as such, the others written \xNN.
    assert raw == "C2;Zo\\xe9;Besan\\xe7on"


def test_a_bad_line_that_is_also_malformed_is_quarantined_once_with_both_reasons(
    workspace: Workspace, tmp_path: Path
) -> None:
    content = UTF8_WITH_ONE_LATIN1_LINE.replace(
        b"C2;Zo\xe9;Besan\xe7on", b"C2;Zo\xe9;Besan\xe7on;x"
    )
    report = import_file(workspace, "customers", write_bytes(tmp_path / "c.csv", content))
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (3, 2, 1)
    assert report.quarantine_reasons == {"bad_encoding": 1}  # one code a row: the first
    [(line, reason)] = rows(workspace, "SELECT line, reason FROM quarantine")
    assert line == 3
    assert reason.startswith("bad_encoding: byte 0xE9 at column 6 is not UTF-8")
    assert reason.endswith(
        "; malformed_row: 4 fields where the header has 3 (delimiter ';'): quote a value that "
        "holds the delimiter, or fix the line"
    )


def test_line_numbers_after_a_bad_line_stay_physical(workspace: Workspace, tmp_path: Path) -> None:
    content = (
        b"id;prenom;dob\n"
        b"C1;Zo\xc3\xa9;01/02/1990\n"
        b"C2;Zo\xe9;01/02/1990\n"
        b"C3;L\xc3\xa9a;01/02/1990\n"
        b"C4;Luc;31/02/1990\n"
    )
    import_file(workspace, "customers", write_bytes(tmp_path / "c.csv", content))
    assert rows(
        workspace, "SELECT line, split_part(reason, ':', 1) FROM quarantine ORDER BY 1"
    ) == [
        (3, "bad_encoding"),
        (5, "bad_date"),
    ]


def test_a_windows_1252_file_is_read_as_such_even_with_a_utf8_line_appended(
    workspace: Workspace, tmp_path: Path
) -> None:
    content = (
        b"id;prenom;ville\n"
        b"C1;Zo\xe9;Besan\xe7on\n"
        b"C2;No\xebl;Orl\xe9ans\n"
        b"C3;L\xc3\xa9a;S\xc3\xa8te\n"  # appended by a UTF-8 tool
    )
    report = import_file(workspace, "customers", write_bytes(tmp_path / "c.csv", content))
    assert report.encoding == "cp1252"
    assert (report.rows_new, report.rows_quarantined) == (3, 0)
    assert rows(workspace, "SELECT first_name, city FROM customers ORDER BY customer_id") == [
        ("Zoé", "Besançon"),
        ("Noël", "Orléans"),
        ("Léa", "Sète"),
    ]


def test_a_utf8_header_on_a_windows_1252_file_names_its_columns(
    workspace: Workspace, tmp_path: Path
) -> None:
    content = b"id;pr\xc3\xa9nom;ville\nC1;Zo\xe9;Besan\xe7on\nC2;No\xebl;S\xe8te\n"
    report = import_file(workspace, "customers", write_bytes(tmp_path / "c.csv", content))
    assert report.encoding == "cp1252"
    assert report.mapping["first_name"] == "prénom"
    assert rows(workspace, "SELECT first_name, city FROM customers ORDER BY customer_id") == [
        ("Zoé", "Besançon"),
        ("Noël", "Sète"),
    ]


@pytest.mark.parametrize(
    ("content", "encoding", "bad"),
    [
        (b"id;v\n1;\xc3\xa9\n2;\xe9\n", "utf-8", [3]),  # as many UTF-8 lines as others: UTF-8
        (b"id;v\n1;\xc3\xa9\n2;\xe9\n3;\xe8\n", "cp1252", []),  # more others: Windows-1252
        (b"id;v\n1;a\n2;\xe9\n", "cp1252", []),  # no line tells: Windows-1252, as before
        (b"id;v\n1;\x81\xe9\n", "iso-8859-1", []),  # a byte Windows-1252 leaves undefined
        (b"id;v\n1;\xc3\xa9\n", "utf-8", []),
    ],
)
def test_the_encoding_is_decided_by_counting_lines(
    tmp_path: Path, content: bytes, encoding: str, bad: list[int]
) -> None:
    found = inspect(write_bytes(tmp_path / "f.csv", content))
    assert found.encoding == encoding
    assert [b.line for b in found.bad_lines] == bad


def test_a_bad_line_says_where_its_first_bad_byte_is(tmp_path: Path) -> None:
    content = b"id;v\r\n1;\xc3\xa9t\xc3\xa9\r\n2;d\xc3\xa9j\xe0 vu\r\n3;\xc3\xa0\r\n"
    [bad] = inspect(write_bytes(tmp_path / "f.csv", content)).bad_lines
    assert (bad.line, bad.column, bad.byte) == (3, 6, 0xE0)  # characters, not bytes
    assert bad.text == "2;déj\\xe0 vu"  # without the \r of the line's end
    assert (bad.near, bad.meant) == ("2;déj\\xe0 vu", "2;dÃ©jà vu")


def test_a_header_that_is_not_utf8_in_a_utf8_file_is_an_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "f.csv", b"id;pr\xe9nom\n1;Zo\xc3\xa9\n2;L\xc3\xa9a\n")
    with pytest.raises(
        EncodingError,
        match=r"line 1 \(the header\) is not UTF-8.*byte 0xE9 at column 6.*save the file as UTF-8",
    ):
        inspect(path)


def test_a_latin1_line_in_json_lines_is_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    lines = [
        b'{"type":"track","event":"Vu","userId":"C1","messageId":"m1",'
        b'"timestamp":"2025-11-25T10:00:00Z","properties":{"ville":"Besan\xc3\xa7on"}}',
        b'{"type":"track","event":"Vu","userId":"C2","messageId":"m2",'
        b'"timestamp":"2025-11-25T10:00:00Z","properties":{"ville":"Besan\xe7on"}}',
        b'{"type":"track","event":"Vu","userId":"C3","messageId":"m3",'
        b'"timestamp":"2025-11-25T10:00:00Z"}',
    ]
    path = write_bytes(tmp_path / "e.jsonl", b"\n".join(lines) + b"\n")
    report = import_file(workspace, "events", path, batch_lines=2)
    assert (report.rows_read, report.rows_new, report.rows_quarantined) == (3, 2, 1)
    assert rows(workspace, "SELECT message_id, properties->>'$.ville' FROM events ORDER BY 1") == [
        ("m1", "Besançon"),
        ("m3", None),
    ]
    [(line, reason, raw)] = rows(workspace, "SELECT line, reason, raw FROM quarantine")
    assert line == 2
    assert reason.startswith("bad_encoding: byte 0xE7 at column ")
    assert reason.endswith("save the file as UTF-8 and import it again")  # no --raw for JSON
    assert raw.endswith('"properties":{"ville":"Besan\\xe7on"}}')


def test_json_lines_mostly_in_windows_1252_are_refused(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "e.jsonl", b'{"v":"\xe9"}\n{"v":"\xe8"}\n{"v":"\xc3\xa9"}\n')
    with pytest.raises(EncodingError, match=r"JSON Lines must be UTF-8.*save it as UTF-8"):
        inspect(path)


# Bytes at the edges of UTF-8's ranges (RFC 3629), and a newline.
EDGES = [0x0A, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0]
EDGES += [0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]


def python_verdict(data: bytes) -> tuple[list[int], list[int]]:
    """(lines with a byte above 127, lines not UTF-8) as Python's strict decoder says."""
    non_ascii, invalid = [], []
    for index, line in enumerate(data.split(b"\n")):
        if any(byte >= 0x80 for byte in line):
            non_ascii.append(index)
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                invalid.append(index)
    return non_ascii, invalid


def test_the_vectorised_line_scan_agrees_with_pythons_decoder() -> None:
    samples = [bytes(c) for n in (1, 2, 3) for c in itertools.product(EDGES, repeat=n)]
    rng = random.Random(0)
    alphabet = [bytes([b]) for b in (0x0A, *range(0x20, 0x100))] + [
        c.encode() for c in "éèàçœ€😀\u07ff\u0800\uffff\U00010000\U0010ffff"
    ]
    samples += [
        b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(3_000)
    ]
    # One chunk of lines, as the scan reads a file: a sequence never spans a newline.
    data = b"\n".join(samples)
    scan = LineScan.of(data)
    assert (scan.non_ascii.tolist(), scan.invalid.tolist()) == python_verdict(data)


def test_a_legacy_file_with_utf8_lines_is_copied_line_by_line(tmp_path: Path) -> None:
    lines = [f"C{i};Zoé {i};Besançon" for i in range(5_000)]
    content = b"\n".join(
        line.encode("utf-8" if i % 7 == 0 else "cp1252") for i, line in enumerate(lines)
    )
    found = inspect(write_bytes(tmp_path / "f.csv", b"id;prenom;ville\n" + content))
    assert (found.encoding, found.utf8_lines) == ("cp1252", len(range(0, 5_000, 7)))
    with utf8_copy(found, tmp_path) as copy:
        assert copy.read_text(encoding="utf-8").splitlines()[1:] == lines
