from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audience.errors import EmptyInputError, EncodingError, InputError, UnsupportedFormatError
from audience.ingest.detect import inspect
from tests.conftest import write


def test_semicolon_csv_in_windows_encoding(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "id;ville;montant\n1;Orléans;12,50 €\n", "cp1252")
    found = inspect(path)
    assert (found.format, found.encoding, found.delimiter) == ("csv", "cp1252", ";")
    assert found.header == ("id", "ville", "montant")


def test_comma_csv_in_utf8(tmp_path: Path) -> None:
    found = inspect(write(tmp_path / "c.csv", "id,city\n1,Orléans\n"))
    assert (found.encoding, found.delimiter) == ("utf-8", ",")


def test_jsonl_and_parquet_are_recognised_by_content(tmp_path: Path) -> None:
    assert inspect(write(tmp_path / "e.txt", '{"type": "track"}\n')).format == "jsonl"
    pq.write_table(pa.table({"a": [1]}), tmp_path / "t.bin")
    assert inspect(tmp_path / "t.bin").format == "parquet"


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", EmptyInputError, "empty"),
        (b"\n\n  \n", EmptyInputError, "blank"),
        (b"id;name\n", EmptyInputError, "only a header"),
        (b"PK\x03\x04rest-of-zip", UnsupportedFormatError, "export it as CSV"),
        (b"\x00\x01\x02binary", UnsupportedFormatError, "binary"),
        ("id\n1\n".encode("utf-16"), EncodingError, "UTF-16"),
        (b'[{"a": 1}]', UnsupportedFormatError, "JSON array"),
        (b"id;id\n1;2\n", InputError, "appears twice"),
        (b"id;;x\n1;2;3\n", InputError, "no name"),
    ],
)
def test_unusable_files_get_one_clear_error(
    tmp_path: Path, content: bytes, error: type[Exception], message: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        inspect(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        inspect(tmp_path / "absent.csv")


def test_a_header_longer_than_the_sample_is_read_whole(tmp_path: Path) -> None:
    header = [f"a_rather_long_column_name_{i}" for i in range(10_000)]  # 330 KB
    path = write(tmp_path / "wide.csv", ";".join(header) + "\n" + ";".join("x" * 10_000) + "\n")
    assert inspect(path).header == tuple(header)
    header_only = write(tmp_path / "header.csv", ";".join(header) + "\n\n")
    with pytest.raises(EmptyInputError, match="only a header line, no rows"):
        inspect(header_only)
