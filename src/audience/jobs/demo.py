"""The main job, ``audience demo``: generate -> import -> clean -> segment -> report.

It runs on a fresh workspace built from generated data, so it needs nothing but the package.
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
from audience.ingest.importer import ImportReport, import_file
from audience.quality.basic import BasicCleanSummary, basic_clean
from audience.report.html import write_report
from audience.segmentation.run import SegmentRun, run_segmentation
from audience.workspace import CONFIG_FILE, Workspace

DEMO_MARKER = ".audience-demo"
Step = Callable[[str], AbstractContextManager[object]]


@dataclass
class DemoResult:
    workspace: Path
    files: GeneratedFiles
    imports: list[ImportReport]
    cleaning: BasicCleanSummary
    run: SegmentRun
    report: Path
    persona_ari: float


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
    return Workspace.init(out, force=(out / CONFIG_FILE).exists())


def run_demo(
    out: Path, customers: int, step: Step, *, seed: int = 42, end: date | None = None
) -> DemoResult:
    workspace = prepare_demo_workspace(out)
    with step(f"Generating {customers:,} customers"):
        files = generate(customers, out / "data", seed=seed, end=end)
    imports = []
    for kind, path in (("customers", files.customers), ("orders", files.orders),
                       ("events", files.events)):  # fmt: skip
        with step(f"Importing {path.name}"):
            imports.append(import_file(workspace, kind, path))
    with workspace.warehouse() as warehouse:
        with step("Cleaning"), warehouse.transaction() as con:
            cleaning = basic_clean(con)
        with step("Computing features and segmenting"), warehouse.transaction() as con:
            run = run_segmentation(con, workspace.config)
        with step("Writing the report"):
            report = write_report(
                warehouse.con,
                run,
                workspace.reports_dir,
                workspace=workspace.config.name,
                objective=workspace.config.objective,
                kpis=workspace.config.kpis,
                map_sample=workspace.config.report.map_sample,
                seed=workspace.config.segmentation.random_state,
            )
        assigned = warehouse.con.execute(
            "SELECT customer_id, segment_id FROM memberships WHERE run_id = ?", [run.run_id]
        ).df()
    truth = pd.read_csv(files.ground_truth, usecols=["customer_ref", "persona"])
    scored = truth.merge(assigned, left_on="customer_ref", right_on="customer_id")
    ari = float(adjusted_rand_score(scored["persona"], scored["segment_id"]))
    return DemoResult(out, files, imports, cleaning, run, report, ari)
