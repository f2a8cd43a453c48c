"""``audience experiment``: analyse results measured elsewhere, size an experiment.

``experiment_app`` is the sub-app; the commands that need the warehouse (create, assign,
analyze...) are added to it by :mod:`audience.cli` too. :func:`result_json` is the one JSON
shape of an analysis, shared by ``analyze`` and ``analyze-summary``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from audience.cli.terminal import (
    Group,
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
)

if TYPE_CHECKING:
    from audience.experiments.records import AnalysisOptions, AnalysisResult

experiment_app = typer.Typer(
    help="Experiments on segments: analyse results, size a test.",
    no_args_is_help=True,
    cls=Group,
)

EngineOption = Annotated[
    str, typer.Option("--engine", help="frequentist or bayesian (chance to win, expected loss).")
]
SequentialOption = Annotated[
    bool,
    typer.Option(
        "--sequential", help="Confidence sequences: valid however often you look (frequentist)."
    ),
]
TuningOption = Annotated[
    float,
    typer.Option(
        "--tuning", min=1, help="Sequential tuning: the total units where intervals are tightest."
    ),
]
CorrectionOption = Annotated[
    str, typer.Option("--correction", help="holm, bh (Benjamini-Hochberg) or none.")
]
DifferenceOption = Annotated[
    str, typer.Option("--difference", help="relative (lift in %) or absolute (difference).")
]
AlphaOption = Annotated[
    float, typer.Option("--alpha", min=0, max=1, help="1 - confidence level of the intervals.")
]
SrmOption = Annotated[
    float,
    typer.Option("--srm-threshold", min=0, max=1, help="Flag a sample ratio mismatch below it."),
]
PriorMeanOption = Annotated[
    float, typer.Option("--prior-mean", help="Bayesian prior mean of the relative lift.")
]
PriorVarianceOption = Annotated[
    float | None,
    typer.Option(
        "--prior-variance", help="Bayesian prior variance of the relative lift (default: flat)."
    ),
]
WeightsOption = Annotated[
    str | None,
    typer.Option("--weights", help="Intended split, control first, e.g. 50,50 (default equal)."),
]


def register(app: typer.Typer) -> None:
    """Add the ``experiment`` sub-app (with its warehouse commands) and ``audience lift``."""
    from audience.cli import experiment_commands  # it imports this module's options

    experiment_commands.register(experiment_app)
    experiment_commands.register_lift(app)
    app.add_typer(experiment_app, name="experiment")


def analysis_options(
    engine: str,
    difference: str,
    alpha: float,
    sequential: bool,
    tuning: float,
    correction: str,
    srm_threshold: float,
    weights: str | None,
    cuped: bool = False,
    prior_mean: float = 0.0,
    prior_variance: float | None = None,
) -> AnalysisOptions:
    """The engine's options from the command line's, each choice checked.

    A prior variance makes the Bayesian prior proper (normal on the relative lift); without
    one it is flat, as GrowthBook's default.
    """
    from audience.experiments.records import AnalysisOptions

    _choice(engine, ("frequentist", "bayesian"), "--engine")
    _choice(difference, ("relative", "absolute"), "--difference")
    _choice(correction, ("holm", "bh", "none"), "--correction")
    return AnalysisOptions(
        engine=engine,  # type: ignore[arg-type]  # checked just above
        difference=difference,  # type: ignore[arg-type]
        alpha=alpha,
        sequential=sequential,
        sequential_tuning=tuning,
        cuped=cuped,
        correction=correction,  # type: ignore[arg-type]
        srm_threshold=srm_threshold,
        expected_weights=_weights(weights),
        prior_mean=prior_mean,
        prior_variance=1.0 if prior_variance is None else prior_variance,
        prior_proper=prior_variance is not None,
    )


def _choice(value: str, allowed: tuple[str, ...], option: str) -> None:
    from audience.errors import InputError

    if value not in allowed:
        raise InputError(f"{option} '{value}' is not one of {', '.join(allowed)}")


def _weights(text: str | None) -> tuple[float, ...] | None:
    from audience.errors import InputError

    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"--weights '{text}': give numbers separated by commas") from None


def result_json(result: AnalysisResult) -> dict[str, Any]:
    """The JSON document of one analysis (the keys the issue lists, plus ``group``)."""
    return {
        "metric": result.metric,
        "group": result.group,
        "engine": result.engine,
        "difference": result.difference,
        "srm_p_value": result.srm_p_value,
        "srm_flagged": result.srm_flagged,
        "variants": [
            {
                "name": row.name,
                "n": row.n,
                "mean": row.mean,
                "lift": row.lift,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "p_value": row.p_value,
                "adjusted_p_value": row.adjusted_p_value,
                "chance_to_win": row.chance_to_win,
                "expected_loss": row.expected_loss,
            }
            for row in result.variants
        ],
        "notes": list(result.notes),
    }


def _number(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.2%}" if percent else f"{value:.4g}"


def print_result(result: AnalysisResult) -> None:
    """The result as a table, the SRM check and the notes."""
    from audience.cli.tables import Col, fitted_table

    relative = result.difference == "relative"
    bayesian = result.engine == "bayesian"
    columns = [
        Col("variant", numeric=False),
        Col("n"),
        Col("mean"),
        Col("lift"),
        Col(f"interval {'(credible)' if bayesian else '(confidence)'}", numeric=False),
    ]
    columns += (
        [Col("chance to win"), Col("expected loss", drop=1)]
        if bayesian
        else [Col("p-value"), Col("adjusted p", drop=1)]
    )
    rows = []
    for row in result.variants:
        interval = (
            "-"
            if row.ci_low is None
            else f"[{_number(row.ci_low, relative)}, {_number(row.ci_high, relative)}]"
        )
        cells = [row.name, f"{row.n:,}", _number(row.mean), _number(row.lift, relative), interval]
        if bayesian:
            cells += [
                "-" if row.chance_to_win is None else f"{row.chance_to_win:.1%}",
                _number(row.expected_loss, relative),
            ]
        else:
            cells += [_number(row.p_value), _number(row.adjusted_p_value)]
        rows.append(cells)
    title = f"{result.metric}{f' ({result.group})' if result.group else ''}: {result.engine}"
    console.print(fitted_table(title, columns, rows))
    srm = "[bold red]MISMATCH[/]" if result.srm_flagged else "ok"
    console.print(f"sample ratio: p = {result.srm_p_value:.3g} ({srm})", highlight=False)
    for note in result.notes:
        console.print(f"[dim]- {note}[/]", highlight=False)


@experiment_app.command("analyze-summary")
@handle_errors
def analyze_summary(
    file: Annotated[
        Path, typer.Argument(help="CSV: variant,n,sum,sum_squares or variant,n,conversions.")
    ],
    engine: EngineOption = "frequentist",
    sequential: SequentialOption = False,
    tuning: TuningOption = 5000.0,
    correction: CorrectionOption = "holm",
    control: Annotated[
        str | None, typer.Option("--control", help="The control variant (default: first row).")
    ] = None,
    difference: DifferenceOption = "relative",
    alpha: AlphaOption = 0.05,
    srm_threshold: SrmOption = 0.001,
    weights: WeightsOption = None,
    prior_mean: PriorMeanOption = 0.0,
    prior_variance: PriorVarianceOption = None,
    json_: JsonOption = False,
) -> None:
    """Analyse results measured elsewhere (an e-mail or ad tool's export), one row per variant."""
    from audience.experiments.analysis import analyze
    from audience.experiments.summary_file import read_summary

    options = analysis_options(
        engine,
        difference,
        alpha,
        sequential,
        tuning,
        correction,
        srm_threshold,
        weights,
        prior_mean=prior_mean,
        prior_variance=prior_variance,
    )
    summary = read_summary(file, control)
    result = analyze(summary.metric, summary.variants, options)
    if json_:
        print_json(result_json(result))
        return
    print_result(result)


def segment_daily_units(workspace: Path | None, segment: str) -> float:
    """Units per day that enter ``segment`` at its current traffic (for expected days)."""
    from audience.cli.terminal import open_workspace
    from audience.pipelines.experiments import daily_entries

    return daily_entries(open_workspace(workspace), segment)


@experiment_app.command("size")
@handle_errors
def size(
    baseline: Annotated[
        float, typer.Option("--baseline", help="Control's rate (0.10) or mean (with --sd).")
    ],
    mde: Annotated[
        float, typer.Option("--mde", help="Smallest lift worth detecting: 0.01 = one point.")
    ],
    relative: Annotated[
        bool, typer.Option("--relative", help="--mde is relative: 0.1 = +10 % of baseline.")
    ] = False,
    alpha: AlphaOption = 0.05,
    power_: Annotated[
        float, typer.Option("--power", min=0, max=1, help="Chance to detect the --mde.")
    ] = 0.8,
    n: Annotated[
        int | None, typer.Option("--n", min=2, help="Units per arm: print the power instead.")
    ] = None,
    sd: Annotated[
        float | None,
        typer.Option("--sd", help="Standard deviation of a mean metric (default: a rate)."),
    ] = None,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Expected days from its current traffic.")
    ] = None,
    arms: Annotated[int, typer.Option("--arms", min=2, help="Variants, control included.")] = 2,
    workspace: WorkspaceOption = None,
    json_: JsonOption = False,
) -> None:
    """Units per arm to detect a lift, or the power of a given size."""
    from audience.experiments.sizing import power, sample_size

    proportion = sd is None
    if n is not None:
        chance = power(n, baseline, mde, relative, alpha, proportion, sd)
        if json_:
            print_json({"n_per_arm": n, "power": chance, "alpha": alpha})
        else:
            console.print(f"power with {n:,} per arm: {chance:.1%} (alpha {alpha:g})")
        return
    per_arm = sample_size(baseline, mde, relative, alpha, power_, proportion, sd)
    days = None
    if segment is not None:
        days = math.ceil(per_arm * arms / segment_daily_units(workspace, segment))
    if json_:
        print_json(
            {
                "n_per_arm": per_arm,
                "n_total": per_arm * arms,
                "alpha": alpha,
                "power": power_,
                "expected_days": days,
            }
        )
        return
    console.print(
        f"{per_arm:,} units per arm, {per_arm * arms:,} in all ({arms} arms), to detect "
        f"{mde:g}{' relative' if relative else ''} with {power_:.0%} power at alpha {alpha:g}",
        highlight=False,
    )
    if days is not None:
        console.print(f"expected duration: {days} days at the segment's current traffic")
