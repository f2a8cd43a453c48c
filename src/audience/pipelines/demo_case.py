"""The demo's second half: CLV tiers and churn bands, rule segments, exports.

:mod:`audience.pipelines.demo` has made a segmented workspace; this plays the rest of the
e-commerce case on it. A model that cannot be fitted on the data (Gamma-Gamma, say) does not
end the demo: its error is kept, word for word, for the terminal and the report, and the rule
segments that need its segments are left out with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import duckdb

from audience.config import WorkspaceConfig
from audience.config.activation import FileDestination, WorkflowSpec
from audience.errors import ModelError
from audience.model.activation_plan import ActivationPlan
from audience.model.conditions import InSegment, leaves
from audience.model.progress import Progress
from audience.pipelines.activate import ActivationReport, activate
from audience.predictive.churn import ChurnRun, run_churn
from audience.predictive.clv import ClvOptions, ClvRun, run_clv
from audience.rules.loading import load_activation
from audience.store.workspace import Workspace

Step = Callable[[str], AbstractContextManager[Progress]]

SEGMENTS_FILE = "segments.yaml"
"""The demo's rule segments, package data of :mod:`audience.ingest.demo`."""

DESTINATIONS = [
    FileDestination(name="retention-team", type="csv", purpose="email"),
    FileDestination(name="hubspot", type="hubspot", purpose="email"),
]
WORKFLOWS = [
    WorkflowSpec(segment="High-value at risk", destination="retention-team", channel="email"),
    WorkflowSpec(segment="Lapsed one-time buyers", destination="hubspot", channel="email"),
    WorkflowSpec(segment="Loyal e-mail readers", destination="hubspot", channel="email"),
]
"""File exports only: the demo sends nothing anywhere; every export lands in ``exports/``."""


@dataclass
class CaseStudy:
    clv: ClvRun | None = None
    churn: ChurnRun | None = None
    activation: ActivationReport | None = None
    failures: list[str] = field(default_factory=list)
    """Steps that could not run or were left out, each with its cause."""


def install_case_study(workspace_root: Path, config: WorkspaceConfig) -> None:
    """The demo's rule segments in ``segments/`` and its export workflows in ``config``."""
    target = workspace_root / config.activation.segments_dir / "demo.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    source = resources.files("audience.ingest.demo").joinpath(SEGMENTS_FILE)
    with source.open("rb") as data, target.open("wb") as out:
        shutil.copyfileobj(data, out)
    config.activation.destinations = list(DESTINATIONS)
    config.activation.workflows = list(WORKFLOWS)


def play_predictions(workspace: Workspace, step: Step) -> CaseStudy:
    """CLV scores and tiers, churn scores and bands, as of the clock: before segmentation,
    so that the segments' KPIs (mean CLV, churn-risk share, P(alive)) can be computed."""
    case = CaseStudy()
    config, now = workspace.config, workspace.clock.now()
    with workspace.warehouse() as warehouse:
        try:
            with step("Fitting CLV models, CLV tiers") as progress, warehouse.transaction() as con:
                case.clv = run_clv(
                    con, config, ClvOptions.from_settings(config.predictive), now, progress
                )
        except ModelError as exc:
            case.failures.append(f"CLV not computed: {exc}")
        try:
            with (
                step("Training the churn model, churn bands") as progress,
                warehouse.transaction() as con,
            ):
                case.churn = run_churn(con, config, now=now, progress=progress)
        except ModelError as exc:
            case.failures.append(f"churn not computed: {exc}")
    if case.churn is not None and not case.churn.bands_written:
        case.failures += [f"churn bands not written: {w}" for w in case.churn.warnings]
    return case


def play_activation(workspace: Workspace, step: Step, case: CaseStudy) -> None:
    """The rule segments (over segments, scores and traits) and their exports."""
    plan = load_activation(workspace.root)
    with workspace.warehouse() as warehouse:
        plan, left_out = _without_missing_segments(warehouse.con, plan)
        case.failures += left_out
        with step("Evaluating rule segments and writing exports"):
            case.activation = activate(warehouse, plan, workspace.root, clock=workspace.clock)


def _without_missing_segments(
    con: duckdb.DuckDBPyConnection, plan: ActivationPlan
) -> tuple[ActivationPlan, list[str]]:
    """The plan less the rule segments naming a stored segment the demo could not make."""
    known = {
        str(k)
        for (k,) in con.execute(
            "SELECT segment_id FROM segments UNION SELECT name FROM segments"
        ).fetchall()
    }
    dropped: dict[str, str] = {}
    changed = True
    while changed:  # a rule naming a dropped rule goes too
        changed = False
        for definition in plan.definitions:
            if definition.name in dropped:
                continue
            for _, leaf in leaves(definition.condition):
                if not isinstance(leaf, InSegment):
                    continue
                missing = leaf.ref in dropped if leaf.rule else leaf.ref not in known
                if missing:
                    dropped[definition.name] = leaf.ref
                    changed = True
                    break
    if not dropped:
        return plan, []
    kept = replace(
        plan,
        definitions=tuple(d for d in plan.definitions if d.name not in dropped),
        workflows=tuple(w for w in plan.workflows if w.segment not in dropped),
        groups=tuple(
            g.model_copy(update={"segments": [s for s in g.segments if s not in dropped]})
            for g in plan.groups
            if set(g.segments) - set(dropped)
        ),
    )
    notes = [
        f"rule segment {name!r} left out: it needs segment {ref!r}, which was not made"
        for name, ref in dropped.items()
    ]
    return kept, notes
