"""The README's "Use from Python" example runs as written (by hand: python -m doctest README.md)."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # generates, imports, cleans and segments a small data set: about 10 s
def test_readme_example_runs() -> None:
    result = doctest.testfile(str(README), module_relative=False, report=True)
    assert result.attempted > 0
    assert result.failed == 0  # doctest reports which example failed in the captured stdout
