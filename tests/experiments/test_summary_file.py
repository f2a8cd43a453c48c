"""The per-variant CSV of results measured elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from audience.errors import EmptyInputError, InputError
from audience.experiments import VariantStats, read_summary


def _file(tmp_path: Path, text: str, name: str = "email.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_means_with_loose_headers_and_extra_columns(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "\ufeff Variant ,N,SUM, Sum_Squares ,note\ncontrol,1000,520.5,900\nb,1010,560,1000,x\n",
    )
    summary = read_summary(path)
    assert summary.metric == "email"
    assert not summary.proportion
    assert summary.variants == (
        VariantStats("control", 1000, 520.5, 900.0),
        VariantStats("b", 1010, 560.0, 1000.0),
    )


def test_proportions_semicolons_and_another_control(tmp_path: Path) -> None:
    path = _file(tmp_path, "variant;n;conversions\na;1000;100\nb;1000;120\nc;990;90\n")
    summary = read_summary(path, control="b")
    assert summary.proportion
    assert [v.name for v in summary.variants] == ["b", "a", "c"]
    assert summary.variants[0] == VariantStats("b", 1000, 120.0, 120.0, proportion=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("variant,n,sum,sum_squares\na,10,5,4\nb,1,1,1\n", r"row 3: variant 'b': n is 1"),
        ("variant,n,sum,sum_squares\na,10,5,4\nb,10,5,-4\n", r"row 3: .*sum_squares is -4"),
        ("variant,n,sum,sum_squares\na,10,5,1\nb,10,5,4\n", r"row 2: .*too small for sum = 5"),
        ("variant,n,conversions\na,10,5\nb,10,11\n", r"row 3: .*11 conversions out of n = 10"),
        ("variant,n,conversions\na,10,5\nb,ten,1\n", r"row 3 \(variant 'b'\): n 'ten' is not a"),
        ("variant,n,conversions\na,10.5,5\nb,10,1\n", r"row 2 .*not a whole number"),
        ("variant,n,conversions\na,10,5\n", r"1 variant row\(s\)"),
        ("variant,n,conversions\na,10,5\na,10,6\n", r"row 3: variant 'a' already on row 2"),
        ("variant,n,total\na,10,5\nb,10,6\n", r"no column sum, sum_squares"),
        ("variant,n,conversions\na,10\nb,10,6\n", r"row 2: 2 cells"),
        ("variant,n,conversions\n,10,5\nb,10,6\n", r"row 2: the variant has no name"),
        ("variant,n,conversions\na,10,inf\nb,10,6\n", r"row 2 .*not a finite number"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_summary(_file(tmp_path, text))


def test_empty_file_and_unknown_control(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError, match="the file is empty"):
        read_summary(_file(tmp_path, "\n"))
    path = _file(tmp_path, "variant,n,conversions\na,10,5\nb,10,6\n")
    with pytest.raises(InputError, match=r"--control 'z' is not a variant of the file \(a, b\)"):
        read_summary(path, control="z")
