"""The main job, ``audience demo``: the whole e-commerce case on generated data.

generate -> import -> clean -> segment -> CLV tiers and churn bands -> rule segments ->
exports (:mod:`audience.pipelines.demo_case`) -> one HTML report. It runs on a fresh
workspace built from generated data, so it needs nothing but the package.
Afterwards it scores the segments against the personas planted in the data (the ground truth
file, which no step of the pipeline reads) so a newcomer sees at once whether it works.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from audience.errors import ConfigError
from audience.ingest.demo.generate import GeneratedFiles, generate
from audience.ingest.import_report import ImportReport
from audience.model.progress import Progress
from audience.model.runs import SegmentRun
from audience.pipelines.dashboard_refresh import refresh_page_snapshots
from audience.pipelines.demo_case import (
    CaseStudy,
    install_case_study,
    play_activation,
    play_predictions,
)
from audience.pipelines.imports import import_file
from audience.pipelines.run_report import write_run_report
from audience.pipelines.segment_run import run_segmentation
from audience.quality.clean import CleanReport, clean_workspace
from audience.quality.quality_report import quality_report
from audience.report.quality_html import write_quality_report
from audience.store.population import Population, features_population
from audience.store.workspace import CONFIG_FILE, Workspace

DEMO_MARKER = ".audience-demo"
Step = Callable[[str], AbstractContextManager[Progress]]
"""Runs one step of the demo; what it yields is the step's progress callback."""


@dataclass
class DemoResult:
    workspace: Path
    files: GeneratedFiles
    imports: list[ImportReport]
    cleaning: CleanReport
    run: SegmentRun
    population: Population
    """Whom the run segmented, against the persons after cleaning."""
    report: Path
    quality_report: Path
    persona_ari: float
    case: CaseStudy
    """CLV, churn, rule segments and exports, and the steps that could not run."""


def prepare_demo_workspace(out: Path) -> Workspace:
    """A new workspace in ``out``; a previous demo there is replaced, anything else kept."""
    if out.exists() and any(out.iterdir()):
        if not (out / DEMO_MARKER).exists():
            raise ConfigError(
                f"{out} exists and is not a demo workspace; choose another --out directory"
            )
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).write_text("created by 'audience demo'; safe to delete\n")
    workspace = Workspace.init(out, force=(out / CONFIG_FILE).exists())
    # The demo shows model-based imputation on the birth dates it leaves out, and lets the
    # selection rule choose among every method.
    workspace.config.quality.imputation = {"age": "knn"}
    workspace.config.segmentation.method = "auto"
    install_case_study(out, workspace.config)
    workspace.config.dump(out / CONFIG_FILE)
    return Workspace.open(out)


def run_demo(
    out: Path, customers: int, step: Step, *, seed: int = 42, end: date | None = None
) -> DemoResult:
    """Build the demo workspace in ``out``; if any step fails, remove what was made there."""
    workspace = prepare_demo_workspace(out)
    try:
        return _play(workspace, customers, step, seed, end)
    except BaseException:
        # A half-made workspace would look usable; the marker says everything here is ours.
        shutil.rmtree(out, ignore_errors=True)
        raise


def _play(
    workspace: Workspace, customers: int, step: Step, seed: int, end: date | None
) -> DemoResult:
    out = workspace.root
    with step(f"Generating {customers:,} customers"):
        last_day = end or workspace.clock.now().date()
        files = generate(customers, out / "data", seed=seed, end=last_day)
    imports = []
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("events", files.events),
    ):
        with step(f"Importing {path.name}"):
            imports.append(import_file(workspace, kind, path))
    with workspace.warehouse() as warehouse:
        with (
            step("Cleaning and resolving identities") as progress,
            warehouse.transaction() as con,
        ):
            cleaning = clean_workspace(con, workspace.config, workspace.clock.now(), progress)
        quality = write_quality_report(
            quality_report(
                warehouse.con, workspace.config.quality.freshness_days, workspace.clock.now()
            ),
            workspace.reports_dir,
            workspace.config.name,
        )
    case = play_predictions(workspace, step)
    with workspace.warehouse() as warehouse:
        with (
            step("Computing features and segmenting") as progress,
            warehouse.transaction() as con,
        ):
            run = run_segmentation(con, workspace.config, clock=workspace.clock, progress=progress)
            population = features_population(con)
        # Every imported record carries the segment of the person it was resolved into.
        assigned = warehouse.con.execute(
            """SELECT p.record_id, m.segment_id FROM memberships m
               JOIN profile_members p ON p.profile_id = m.customer_id WHERE m.run_id = ?""",
            [run.run_id],
        ).df()
    play_activation(workspace, step, case)
    with (
        workspace.warehouse() as warehouse,
        step("Keeping the dashboard's records"),
        warehouse.transaction() as con,
    ):
        refresh_page_snapshots(con, workspace.config, workspace.clock.now())
    with workspace.warehouse() as warehouse, step("Writing the report"):
        report = write_run_report(
            warehouse.con,
            run,
            workspace.config,
            workspace.reports_dir,
            workspace.clock,
            failures=case.failures,
        )
    truth = pd.read_csv(files.ground_truth, usecols=["customer_ref", "persona"])
    scored = truth.merge(assigned, left_on="customer_ref", right_on="record_id")
    ari = float(adjusted_rand_score(scored["persona"], scored["segment_id"]))
    return DemoResult(out, files, imports, cleaning, run, population, report, quality, ari, case)
