"""``audience import --date-order/--date-format``: the decision per date column is printed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from audience.cli import app

runner = CliRunner()


def test_import_prints_how_each_date_column_was_read(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert runner.invoke(app, ["init", ws]).exit_code == 0
    path = tmp_path / "o.csv"
    path.write_text("client;Date commande;montant\nA;03/02/2024 10:15 AM;5\nA;04/02/2024;5\n")
    result = runner.invoke(
        app,
        ["import", "orders", str(path), "-w", ws, "--date-order", "mdy", "--one-order-per-line"],
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "dates: Date commande — month first (MM/DD/YYYY HH:MM AM/PM), ambiguous values "
        "(03/02/2024 10:15 AM); as --date-order says"
    ) in " ".join(result.stdout.split())


def test_import_date_format_and_bad_options(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    runner.invoke(app, ["init", ws])
    path = tmp_path / "o.csv"
    path.write_text("client;date_commande;montant\nA;14 March 2025;5\n")
    args = ["import", "orders", str(path), "-w", ws, "--one-order-per-line"]
    result = runner.invoke(app, [*args, "--date-format", "%d %B %Y", "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows_new"] == 1
    assert report["date_formats"] == {"date_commande": "format %d %B %Y (--date-format)"}
    result = runner.invoke(app, [*args, "--date-order", "ydm"])
    assert result.exit_code != 0
    assert "--date-order 'ydm': expected one of dmy, mdy, ymd" in result.stderr
