"""``audience predict clv``: summaries -> transaction and spend models -> scores -> warehouse.

A run fits BG/NBD or Pareto/NBD on (x, t_x, T) and Gamma-Gamma on the repeat buyers' mean
spend, scores every customer (probability alive, expected purchases and spend over the
horizon, discounted CLV with its interval, next purchase date), stores the scores and puts
the customers into CLV tiers. With a hold-out end it validates instead: the model is judged
on purchases it did not see, and nothing is scored, since scores as of a past date would
replace current ones.

Customers are persons (see :mod:`audience.predictive.purchases`); the run states its
population and how it is defined. Free repeat purchases count for the transaction model and
are left out of the spend model, with a warning; returns are left out of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from audience.config import WorkspaceConfig
from audience.config.predictive import TIME_UNIT_DAYS, PredictiveSettings, parse_duration
from audience.errors import InputError, ModelError
from audience.model.progress import Progress, no_progress
from audience.predictive.bands import store_bands
from audience.predictive.bgnbd import BetaGeoModel
from audience.predictive.gamma_gamma import GammaGammaModel, independence_check
from audience.predictive.mle import FloatArray
from audience.predictive.pnbd import ParetoNBDModel
from audience.predictive.purchases import PurchaseSummary, customer_summary, daily_repeat_counts
from audience.predictive.scoring import Horizon, score_customers, summarise
from audience.predictive.store import (
    PREDICTION_COLUMNS,
    new_run_id,
    save_predictions,
    save_run,
)
from audience.predictive.validation import holdout_metrics, tracking

DEPRECATED_DROP = (
    "predictive.drop_nonpositive_amounts is deprecated and has no effect: free purchases now "
    "count as purchases and are left out of the spend model only, returns are left out of "
    "both; remove the setting from audience.yaml"
)


@dataclass(frozen=True)
class ClvOptions:
    """Everything a CLV run depends on; the CLI fills it from options over settings."""

    model: str = "bgnbd"
    time_unit: str = "week"
    calibration_end: date | None = None
    holdout_end: date | None = None
    horizon_days: float = 364.0
    discount_rate: float = 0.10
    interval_level: float = 0.90
    bootstrap: int = 0
    random_state: int = 42

    @classmethod
    def from_settings(cls, settings: PredictiveSettings, **overrides: Any) -> ClvOptions:
        base = cls(
            model=settings.model,
            time_unit=settings.time_unit,
            horizon_days=parse_duration(settings.clv_horizon),
            discount_rate=settings.discount_rate,
            interval_level=settings.interval_level,
            bootstrap=settings.bootstrap,
            random_state=settings.random_state,
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def horizon_to_days(text: str, time_unit: str) -> float:
    """``--horizon``: a number of time units (``52``) or a duration (``52w``, ``1y``)."""
    try:
        units = float(text)
    except ValueError:
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise InputError(f"--horizon {exc}, or a number of {time_unit}s") from exc
    if units <= 0:
        raise InputError(f"--horizon must be positive, got {text}")
    return units * TIME_UNIT_DAYS[time_unit]


@dataclass
class ClvRun:
    """A CLV run as stored and as printed with ``--json``."""

    run_id: str
    options: ClvOptions
    n_customers: int
    population_definition: str
    transaction_model: dict[str, Any]
    spend_model: dict[str, Any]
    independence: dict[str, Any]
    outputs: dict[str, dict[str, float]]
    scored: bool
    validation: dict[str, Any] | None = None
    tracking: dict[str, Any] | None = None
    tiers: dict[str, Any] | None = None
    next_purchase: dict[str, int] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def population(self) -> int:
        return self.n_customers

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "run_id": self.run_id,
            "kind": "clv",
            "scored": self.scored,
            "options": {
                **o.__dict__,
                "horizon_units": o.horizon_days / TIME_UNIT_DAYS[o.time_unit],
            },
            "n_customers": self.n_customers,
            "population": self.population,
            "population_definition": self.population_definition,
            "transaction_model": self.transaction_model,
            "spend_model": self.spend_model,
            "independence_check": self.independence,
            "outputs": self.outputs,
            "validation": self.validation,
            "tracking": self.tracking,
            "tiers": self.tiers,
            "next_purchase": self.next_purchase,
            "warnings": self.warnings,
        }


def fit_transaction_model(summary: PurchaseSummary, options: ClvOptions) -> Any:
    """BG/NBD or Pareto/NBD fitted on the calibration summaries."""
    kind = BetaGeoModel if options.model == "bgnbd" else ParetoNBDModel
    return kind(
        bootstrap=options.bootstrap,
        interval_level=options.interval_level,
        random_state=options.random_state,
    ).fit(summary.X)


def fit_spend_model(
    summary: PurchaseSummary, options: ClvOptions
) -> tuple[GammaGammaModel, dict[str, Any]]:
    """Gamma-Gamma on the mean positive repeat spend, and the frequency–spend correlation.

    A failed fit is re-raised with its likely cause in the data (see :func:`spend_diagnosis`).
    """
    repeat = summary.spend_frequency > 0
    x, m = summary.spend_frequency[repeat], summary.mean_spend[repeat]
    independence = independence_check(x, m)
    if len(x) < MIN_REPEAT_SPENDERS:
        raise ModelError(
            f"Gamma-Gamma cannot be fitted: only {len(x)} customer(s) made a repeat purchase "
            f"with a positive amount; the spend model needs at least {MIN_REPEAT_SPENDERS} "
            "to learn how spend varies between customers"
        )
    model = GammaGammaModel(
        bootstrap=options.bootstrap,
        interval_level=options.interval_level,
        random_state=options.random_state,
    )
    try:
        model.fit(np.column_stack([x, m]))
    except ModelError as exc:
        raise ModelError(f"{exc}. Likely cause: {spend_diagnosis(summary, independence)}") from exc
    flat = _flat_spend(summary)
    if flat:
        model.warnings_.append(f"{flat}; treat expected order values with care")
    return model, independence


MIN_REPEAT_SPENDERS = 10
FLAT_SPEND_CV = 0.05
"""Median within-customer coefficient of variation below which spend is called constant."""


def _flat_spend(summary: PurchaseSummary) -> str:
    """A sentence when customers pay about the same every time, else empty."""
    cv = summary.spend_cv[np.isfinite(summary.spend_cv)]
    if not len(cv) or float(np.median(cv)) >= FLAT_SPEND_CV:
        return ""
    return (
        f"spend hardly varies within customers (median coefficient of variation "
        f"{float(np.median(cv)):.3f} over their repeat purchases): each customer pays about "
        "the same every time, so Gamma-Gamma's within-customer spread (p) is not identified"
    )


def spend_diagnosis(summary: PurchaseSummary, independence: dict[str, Any]) -> str:
    """Why the spend data do not identify Gamma-Gamma, in the data's terms."""
    repeat = summary.spend_frequency > 0
    flat = _flat_spend(summary)
    if flat:
        return flat
    if independence.get("independent") is False:
        return (
            f"mean spend depends on purchase frequency (Pearson r = "
            f"{independence['pearson']:.2f} among {int(repeat.sum())} repeat buyers), against "
            "the model's assumption that spend and frequency are independent"
        )
    m = summary.mean_spend[repeat]
    return (
        f"the spread of mean spend between the {int(repeat.sum())} repeat buyers "
        f"({float(m.min()):.2f} to {float(m.max()):.2f}) is not that of a gamma mixture: look "
        "for a few extreme amounts or for distinct groups that pay fixed prices"
    )


CLV_STEPS = 5
"""Summaries, transaction model, spend model, scores, storage: what ``progress`` counts."""


def run_clv(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    options: ClvOptions,
    now: datetime,
    progress: Progress = no_progress,
) -> ClvRun:
    """Fit, score (or validate), store at ``now`` (the command's clock); returns what happened."""
    progress(0, CLV_STEPS)
    summary = customer_summary(
        con, config.timezone, options.time_unit, options.calibration_end, options.holdout_end
    )
    progress(1, CLV_STEPS)
    transactions = fit_transaction_model(summary, options)
    progress(2, CLV_STEPS)
    spend, independence = fit_spend_model(summary, options)
    progress(3, CLV_STEPS)
    horizon = Horizon.from_days(
        options.horizon_days, TIME_UNIT_DAYS[options.time_unit], options.discount_rate
    )
    scores = score_customers(
        transactions,
        spend,
        summary.X,
        summary.mean_spend,
        horizon,
        options.interval_level,
        spend_frequency=summary.spend_frequency,
    )
    run = ClvRun(
        run_id=new_run_id("clv", now),
        options=options,
        n_customers=len(summary),
        population_definition=summary.population_definition,
        transaction_model=transactions.summary(),
        spend_model=spend.summary(),
        independence=independence,
        outputs=summarise(scores),
        scored=options.holdout_end is None,
        warnings=transactions.warnings_ + spend.warnings_ + summary.amounts.warnings(),
    )
    if config.predictive.drop_nonpositive_amounts:
        run.warnings.append(DEPRECATED_DROP)
    if independence.get("independent") is False:
        run.warnings.append(
            f"frequency and mean spend correlate (r = {independence['pearson']:.2f}): the "
            "Gamma-Gamma independence assumption is doubtful, treat spend forecasts with care"
        )
    if options.holdout_end is not None:
        run.validation = holdout_metrics(transactions, summary)
        days, counts = daily_repeat_counts(con, summary, config.timezone)
        run.tracking = tracking(transactions, summary, days, counts)
    progress(4, CLV_STEPS)
    _store(con, run, summary, scores, config, now)
    progress(CLV_STEPS, CLV_STEPS)
    return run


def _store(
    con: duckdb.DuckDBPyConnection,
    run: ClvRun,
    summary: PurchaseSummary,
    scores: dict[str, FloatArray],
    config: WorkspaceConfig,
    now: datetime,
) -> None:
    metrics = {
        "log_likelihood": run.transaction_model["log_likelihood"],
        "spend_log_likelihood": run.spend_model["log_likelihood"],
        "independence_check": run.independence,
        "outputs": run.outputs,
        "validation": run.validation,
    }
    model = {"transactions": run.transaction_model, "spend": run.spend_model}
    save_run(
        con,
        run.run_id,
        "clv",
        summary.calibration_end,
        {"params": run.to_dict()["options"], "model": model, "metrics": metrics},
        run.n_customers,
        run.scored,
        now,
    )
    if not run.scored:
        return
    next_on = _next_purchase_days(summary, scores["time_to_next_purchase"], run.options)
    run.next_purchase = {
        "within_horizon": len(next_on) - next_on.null_count,
        "none_expected": next_on.null_count,
    }
    table = pa.table(
        {
            "customer_id": summary.customer_ids,
            **{
                name: pa.array(scores[name], mask=~np.isfinite(scores[name]))
                for name in PREDICTION_COLUMNS
                if name in scores
            },
            "next_purchase_on": next_on,
        }
    )
    save_predictions(con, run.run_id, "clv", table)
    tiers = config.predictive.clv_tiers
    band_run = store_bands(
        con,
        "clv_tiers",
        summary.customer_ids,
        scores["clv"],
        tiers.tiers,
        tiers.basis,
        {"prediction_run": run.run_id, "score": "clv"},
        now,
    )
    run.tiers = band_run.to_dict()


def _next_purchase_days(
    summary: PurchaseSummary, waits: FloatArray, options: ClvOptions
) -> pa.Array:
    """The day by which a next purchase is as likely as not, if within the CLV horizon.

    Beyond the horizon the model says nothing useful (a median wait of decades for a customer
    it believes gone): no date, which reads "none expected".
    """
    days = np.ceil(waits * summary.unit_days)
    missing = ~np.isfinite(days) | (days > options.horizon_days)
    start = np.datetime64(summary.calibration_end, "D")
    dates = start + np.where(missing, 0, days).astype("timedelta64[D]")
    return pa.array(dates, type=pa.date32(), mask=missing)
