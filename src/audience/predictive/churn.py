"""``audience predict churn``: who will not buy within the horizon, from a time split.

Three cut-offs, each a horizon apart, end on the last order day L:

- train: features as of L − 2h, label = no purchase in the next h;
- hold-out: features as of L − h, label = no purchase in (L − h, L]; the model trained above
  is judged there (AUC, Brier score, lift in the top decile, permutation importances), on
  customers and a period it never saw;
- scoring: the model is refitted on the hold-out window, the most recent labelled data, and
  scores every person (profile after ``audience clean``) known as of L.

A model that does not beat the constant base rate on the hold-out (Brier, log-loss, AUC;
see :mod:`audience.predictive.baseline`) is stored with a warning but puts nobody into churn
bands unless forced: bands drive activation, and a coin would do as well.

The classifier is scikit-learn's histogram gradient boosting (missing values handled
natively: no orders means no recency) wrapped in ``CalibratedClassifierCV`` so that a score
of 0.7 means 70% of such customers churn, which the bands in audience.yaml rely on.

The scoring model is fitted on a named feature frame, so that it is a model of "customer
feature frame -> churn probability" on its own (MLflow logs it with that signature). It has
no JSON form: the warehouse keeps its scores and importances, and the run hands the fitted
model to its caller (:class:`FittedChurn`) to be logged while it is in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from threadpoolctl import threadpool_limits

from audience.config import WorkspaceConfig
from audience.config.predictive import parse_duration
from audience.errors import InputError, ModelError
from audience.model.progress import Progress, no_progress
from audience.predictive.bands import store_bands
from audience.predictive.baseline import BaseRateComparison, calibration, compare_with_base_rate
from audience.predictive.churn_features import FEATURES, POPULATION_DEFINITION, features_as_of
from audience.predictive.purchases import data_span
from audience.predictive.store import new_run_id, save_predictions, save_run
from audience.store.warehouse import scalar

SINGLE_THREAD_ROWS = 50_000
"""Below this, trees run on one thread: OpenMP start-up costs more than it saves."""
ISOTONIC_MIN_ROWS = 5_000
"""Below this, sigmoid calibration: isotonic regression overfits small samples."""
IMPORTANCE_SAMPLE = 20_000
MIN_CLASS_ROWS = 20
EXAMPLE_ROWS = 5
"""Rows of the scoring frame kept as the model's input example."""


@dataclass(frozen=True)
class FittedChurn:
    """A run's scoring model, in memory only: ``estimator.predict_proba(frame)[:, 1]`` of a
    frame with the ``example``'s columns (the features it was fitted on) is the churn
    probability the run stored; ``example`` is the scoring frame's first rows."""

    estimator: CalibratedClassifierCV
    example: pd.DataFrame

    @property
    def features(self) -> list[str]:
        return [str(c) for c in self.example.columns]


@dataclass
class ChurnRun:
    """A churn run as stored and as printed with ``--json``."""

    run_id: str
    horizon_days: float
    cutoffs: dict[str, str]
    metrics: dict[str, Any]
    importances: list[dict[str, float | str]]
    n_scored: int
    population_definition: str = ""
    bands: dict[str, Any] | None = None
    bands_written: bool = False
    warnings: list[str] = field(default_factory=list)
    fitted: FittedChurn | None = field(default=None, repr=False, compare=False)
    """The scoring model (not stored, not in :meth:`to_dict`)."""

    @property
    def population(self) -> int:
        return self.n_scored

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": "churn",
            "horizon_days": self.horizon_days,
            "cutoffs": self.cutoffs,
            "metrics": self.metrics,
            "feature_importances": self.importances,
            "n_scored": self.n_scored,
            "population": self.population,
            "population_definition": self.population_definition,
            "bands": self.bands,
            "bands_written": self.bands_written,
            "warnings": self.warnings,
        }


def churn_horizon_days(text: str) -> int:
    """Whole days of ``--horizon``; a clear InputError when it is not a duration."""
    try:
        days = parse_duration(text)
    except ValueError as exc:
        raise InputError(f"--horizon {exc}") from exc
    return max(1, round(days))


def make_model(n_rows: int, random_state: int) -> CalibratedClassifierCV:
    """Gradient-boosted trees with calibrated probabilities (3-fold cross-calibration)."""
    trees = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )
    method = "isotonic" if n_rows >= ISOTONIC_MIN_ROWS else "sigmoid"
    # ensemble=False: one model refitted on all rows, calibrated on out-of-fold predictions,
    # so that scoring and permutation importances pay for one forest, not three.
    return CalibratedClassifierCV(trees, method=method, cv=3, ensemble=False)


def informative_columns(X: np.ndarray) -> np.ndarray:
    """Columns with two distinct known values or more; the trees learn nothing from others
    (and scikit-learn's binning fails on an all-missing column)."""
    keep = []
    for j in range(X.shape[1]):
        known = X[:, j][~np.isnan(X[:, j])]
        keep.append(len(known) > 0 and known.min() < known.max())
    return np.flatnonzero(keep)


def _matrix(table: pa.Table) -> np.ndarray:
    return np.column_stack(
        [table.column(f).to_numpy(zero_copy_only=False).astype(np.float64) for f in FEATURES]
    )


def _frame(X: np.ndarray, columns: np.ndarray) -> pd.DataFrame:
    """The chosen columns of a feature matrix, named."""
    return pd.DataFrame(X[:, columns], columns=[FEATURES[j] for j in columns])


def _labelled(
    con: duckdb.DuckDBPyConnection, timezone: str, cutoff: date, horizon: int, window: str
) -> tuple[np.ndarray, np.ndarray]:
    table = features_as_of(con, timezone, cutoff, horizon)
    y = table.column("churned").to_numpy(zero_copy_only=False).astype(np.int64)
    positives = int(y.sum())
    if min(positives, len(y) - positives) < MIN_CLASS_ROWS:
        raise ModelError(
            f"the {window} window as of {cutoff} has {positives} churner(s) among {len(y)} "
            f"customers: too few of one class to learn from; choose another --horizon"
        )
    return _matrix(table), y


def lift_top_decile(y: np.ndarray, score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores over the overall churn rate."""
    top = np.argsort(-score, kind="stable")[: max(1, len(score) // 10)]
    return float(y[top].mean() / y.mean())


def evaluate(
    model: CalibratedClassifierCV, X: np.ndarray, y: np.ndarray, seed: int, columns: np.ndarray
) -> tuple[dict[str, Any], list[dict[str, float | str]]]:
    """AUC, Brier and log-loss against the base rate, calibration, lift, importances."""
    score = model.predict_proba(X)[:, 1]
    metrics = {
        "n_customers": len(y),
        "churn_rate": float(y.mean()),
        **compare_with_base_rate(y, score).to_dict(),
        "calibration": calibration(y, score),
        "lift_top_decile": lift_top_decile(y, score),
        "mean_predicted": float(score.mean()),
    }
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), size=min(len(y), IMPORTANCE_SAMPLE), replace=False)
    result = permutation_importance(
        model, X[rows], y[rows], scoring="roc_auc", n_repeats=3, random_state=seed
    )
    order = np.argsort(-result.importances_mean)
    importances: list[dict[str, float | str]] = [
        {
            "feature": FEATURES[columns[i]],
            "auc_drop": float(result.importances_mean[i]),
            "std": float(result.importances_std[i]),
        }
        for i in order
    ]
    return metrics, importances


def run_churn(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    horizon: str | None = None,
    *,
    now: datetime,
    progress: Progress = no_progress,
    force: bool = False,
) -> ChurnRun:
    """Train, validate on a later window, refit, score every person, store, band.

    Bands are written only when the model beats the base rate on the hold-out, or ``force``.
    ``progress`` counts the :data:`CHURN_STEPS` steps (the windows' features, the fits, the
    validation, the scoring and storage).
    """
    n_customers = int(scalar(con, "SELECT count(DISTINCT customer_id) FROM person_order_lines"))
    threads = 1 if n_customers < SINGLE_THREAD_ROWS else None
    with threadpool_limits(threads):
        return _run_churn(con, config, horizon, now, progress, force)


CHURN_STEPS = 7


def _run_churn(
    con: duckdb.DuckDBPyConnection,
    config: WorkspaceConfig,
    horizon: str | None,
    now: datetime,
    progress: Progress,
    force: bool,
) -> ChurnRun:
    settings = config.predictive
    days = churn_horizon_days(horizon or settings.churn_horizon)
    first, last = data_span(con, config.timezone)
    train_cut = last - timedelta(days=2 * days)
    holdout_cut = last - timedelta(days=days)
    if train_cut <= first:
        raise InputError(
            f"orders span {first} to {last}: a {days}-day horizon needs more than "
            f"{2 * days} days of history (train and hold-out windows); use a shorter --horizon"
        )
    seed = settings.random_state
    progress(0, CHURN_STEPS)
    X_train, y_train = _labelled(con, config.timezone, train_cut, days, "training")
    progress(1, CHURN_STEPS)
    X_hold, y_hold = _labelled(con, config.timezone, holdout_cut, days, "hold-out")
    progress(2, CHURN_STEPS)
    cols = informative_columns(X_train)
    model = make_model(len(y_train), seed).fit(X_train[:, cols], y_train)
    progress(3, CHURN_STEPS)
    metrics, importances = evaluate(model, X_hold[:, cols], y_hold, seed, cols)
    progress(4, CHURN_STEPS)
    final_cols = informative_columns(X_hold)
    final = make_model(len(y_hold), seed).fit(_frame(X_hold, final_cols), y_hold)
    progress(5, CHURN_STEPS)
    scoring = features_as_of(con, config.timezone, last, None)
    scoring_frame = _frame(_matrix(scoring), final_cols)
    probability = final.predict_proba(scoring_frame)[:, 1]
    progress(6, CHURN_STEPS)
    run = ChurnRun(
        run_id=new_run_id("churn", now),
        horizon_days=days,
        cutoffs={"train": str(train_cut), "holdout": str(holdout_cut), "scoring": str(last)},
        metrics={**metrics, "n_train": len(y_train), "train_churn_rate": float(y_train.mean())},
        importances=importances,
        n_scored=len(probability),
        population_definition=POPULATION_DEFINITION.format(cutoff=last),
        fitted=FittedChurn(final, scoring_frame.head(EXAMPLE_ROWS).reset_index(drop=True)),
    )
    documents = {
        "params": {
            "horizon_days": days,
            "cutoffs": run.cutoffs,
            "features": [FEATURES[j] for j in final_cols],
        },
        "model": {
            "type": "calibrated HistGradientBoostingClassifier",
            "calibration": final.method,
            "importances": importances,
        },
        "metrics": run.metrics,
    }
    save_run(con, run.run_id, "churn", last, documents, run.n_scored, True, now)
    ids = scoring.column("customer_id").combine_chunks()
    scores = pa.table({"customer_id": ids, "churn_probability": probability})
    save_predictions(con, run.run_id, "churn", scores)
    if not metrics["beats_base_rate"]:
        verdict = compare_verdict(metrics)
        if not force:
            run.warnings.append(
                f"the churn model is not better than a constant: {verdict}; no churn bands "
                "were written (earlier ones stay as they were); rerun with --force to write "
                "them anyway, or try another --horizon or more history"
            )
            return run
        run.warnings.append(f"churn bands written with --force although {verdict}")
    bands = store_bands(
        con,
        "churn_bands",
        ids,
        probability,
        settings.churn_bands,
        "value",
        {"prediction_run": run.run_id, "score": "churn_probability"},
        now,
    )
    run.bands = bands.to_dict()
    run.bands_written = True
    progress(CHURN_STEPS, CHURN_STEPS)
    return run


def compare_verdict(metrics: dict[str, Any]) -> str:
    """The base-rate comparison's sentence, from the stored metrics."""
    names = BaseRateComparison.__dataclass_fields__
    return BaseRateComparison(**{k: metrics[k] for k in names}).verdict()
