"""The terminal tells: warnings on stderr, plain figures with the currency, tables that fit
80 columns without cutting a number, progress counts, and the population of every step."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from audience.cli import app, figures, terminal
from audience.cli.tables import Col, fitted_table
from audience.ingest.demo.generate import GeneratedFiles
from audience.store.population import scored_population
from audience.store.workspace import Workspace

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal.console, "width", 80)


@pytest.fixture(scope="module")
def no_events_workspace(
    tmp_path_factory: pytest.TempPathFactory, demo_files: GeneratedFiles
) -> str:
    """Customers and orders, no events: every event feature is 0 for everyone, which the
    segmentation warns about (a feature without variance)."""
    ws = str(tmp_path_factory.mktemp("terminal") / "ws")
    assert run("init", ws)[0] == 0
    for kind, path in (("customers", demo_files.customers), ("orders", demo_files.orders)):
        code, _, err = run("import", kind, str(path), "-w", ws, "--json")
        assert code == 0, err
    return ws


def test_figures_are_plain_with_separators_and_currency() -> None:
    assert figures.money(1040.5, "EUR") == "1,040.50 EUR"
    assert figures.money(1_234_567.891, "USD", cents=False) == "1,234,568 USD"
    assert figures.count(12345) == "12,345"
    assert figures.share(0.2049) == "20.5%"
    assert figures.number(2517.4) == "2,517"
    assert figures.number(35.84) == "35.8"
    assert figures.number(0.01734) == "0.0173"
    assert figures.number(-0.834) == "-0.834"
    assert figures.number(3.2e12) == "3,200,000,000,000"
    assert figures.number(None) == figures.number(float("nan")) == "—"
    assert figures.kpi("average_order_value", 55.271, "EUR") == "55.27 EUR"
    assert figures.kpi("conversion_rate", 0.809, "EUR") == "80.9%"
    assert figures.feature("monetary", 2516.234, "GBP") == "2,516.23 GBP"


def render(table: object, width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    console.file.close()
    return text


def test_a_wide_table_drops_columns_rather_than_cut_a_number() -> None:
    values = [[f"{n * 1_234_567:,}" for n in range(1, 13)] for _ in range(3)]
    columns = [Col("name", numeric=False), *(Col(f"period {i}", drop=1) for i in range(11))]
    rows = [["a rather long segment name", *row[:11]] for row in values]
    text = render(fitted_table("wide", columns, rows, width=80), 80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    shown = [c for c in ("period 0", "period 1", "period 2") if c in text.replace("\n│", " ")]
    assert "left out at this width" in text
    assert "period 10" in " ".join(text.split())  # named in the caption
    for cell in rows[0][1:3]:
        assert cell in text
    assert shown  # the first periods stay


def test_headers_wrap_and_numbers_stay_whole_when_narrow() -> None:
    columns = [Col("segment", numeric=False), Col("average order value (EUR)"), Col("share")]
    rows = [["Champions of the year", "1,040.50", "66.4%"], ["New", "12.00", "3.3%"]]
    text = render(fitted_table("t", columns, rows, width=34), 34)
    assert "1,040.50" in text and "66.4%" in text and "…" not in text
    assert "Champions" in text and "(EUR)" in text


def test_step_reports_counts_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with terminal.step("Counting") as progress:
        progress(3, 7)
        progress(7, 7)
    err = capsys.readouterr().err
    assert re.search(r"✓ Counting \(7/7, [\d.]+s\)", err)
    with terminal.step("Quiet", quiet=True) as progress:
        progress(1, 2)
    assert capsys.readouterr().err == ""


def test_warnings_go_to_stderr_once(capsys: pytest.CaptureFixture[str]) -> None:
    terminal.print_warnings(["feature x has no variance", "feature x has no variance", "[b]"])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["warning: feature x has no variance", "warning: [b]"]


def test_clean_segment_state_their_population_and_warn_on_stderr(no_events_workspace: str) -> None:
    ws = no_events_workspace
    code, out, err = run("clean", "-w", ws)
    assert code == 0, err
    assert re.search(r"✓ Cleaning and resolving identities \(4/4, ", err)
    persons = re.search(r"^([\d,]+) persons after cleaning \(([\d,]+) customer records", out, re.M)
    assert persons, out
    code, out, err = run("segment", "-w", ws, "--k", "3")
    assert code == 0, err
    segmented = re.search(r"^([\d,]+) persons segmented \(persons with features", out, re.M)
    assert segmented, out
    # No events: each event feature has no variance, and the run says so on stderr.
    assert re.search(r"^warning: .*variance", err, re.M), err
    assert "warning" not in out
    assert "e+" not in out and "…" not in out
    # The retention KPIs; without a churn run, the table says which command makes it.
    assert "P(alive)" in out
    assert "n/a (run `audience predict churn`): churn-risk share" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    code, out_json, _ = run("segment", "-w", ws, "--k", "3", "--json")
    run_doc = json.loads(out_json)
    assert run_doc["warnings"]
    assert segmented.group(1) == f"{run_doc['n_customers']:,}"


def test_churn_states_whom_it_scored(no_events_workspace: str) -> None:
    code, out, err = run("predict", "churn", "-w", no_events_workspace)
    assert code == 0, err
    line = re.search(
        r"^([\d,]+) scored for churn \(persons \(profiles after 'audience clean'", out, re.M
    )
    assert line, out
    assert "e+" not in out
    assert re.search(r"\d+\.\d%", out)  # band bounds as percentages
    _, doc, _ = run("predict", "churn", "-w", no_events_workspace, "--json")
    assert line.group(1) == f"{json.loads(doc)['n_scored']:,}"
    with Workspace.open(Path(no_events_workspace)).warehouse(read_only=True) as warehouse:
        run_id = warehouse.con.execute(
            "SELECT max(run_id) FROM prediction_runs WHERE kind = 'churn'"
        ).fetchall()[0][0]
        population = scored_population(warehouse.con, run_id)
    assert population.counted == json.loads(doc)["n_scored"]
    assert population.merged_records == 0  # persons are scored, never merged-away records


def test_cohort_revenue_fits_80_columns_with_whole_figures(no_events_workspace: str) -> None:
    code, out, err = run("cohorts", "--metric", "revenue", "-w", no_events_workspace)
    assert code == 0, err
    code, doc, _ = run("cohorts", "--metric", "revenue", "-w", no_events_workspace, "--json")
    data = json.loads(doc)
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "…" not in out and "e+" not in out
    assert "(EUR)" in out
    first = data["cohorts"][0]
    for value in first["values"][:3]:
        if value is not None:
            assert figures.count(value) in out
