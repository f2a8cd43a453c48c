"""Run tracking with MLflow: parameters, metrics, artefacts and the model of every run, and
the ``champion`` alias of the registry. Models are logged without pickles: as pyfuncs from
code and JSON (segments, CLV), or in the sklearn flavour as skops files (churn).

MLflow is optional (``pip install 'audience[mlops]'``): nothing here imports it before a run
is logged, and :func:`tracking_target` says None when it is not installed (or tracking is
off), which callers take as "the warehouse only". The default store is a SQLite file in the
workspace (``mlflow.db``, artefacts under ``mlruns/``): MLflow's registry needs a database,
and a file keeps the workspace self-contained. A server is one setting away
(``AUDIENCE_MLFLOW__TRACKING_URI``).

MLflow's own warnings (its use of SQLAlchemy, type hints) and progress bars are silenced
around its calls: they are not the user's to act on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audience.config.settings import MlflowSettings
from audience.errors import ConfigError, ModelError, TrackingUnavailableError
from audience.masking import mask, url_secrets

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CHAMPION = "champion"
"""The registry alias batch and live assignment load."""
RUN_TAG = "audience.run_id"
"""Tag carrying the warehouse's run id on MLflow runs and model versions."""


@dataclass(frozen=True)
class TrackingTarget:
    """Where runs are logged."""

    tracking_uri: str
    experiment: str
    artifact_location: str | None
    """Artefact root for a new experiment (the workspace's ``mlruns``), None for a server's."""
    timeout: float = 5.0

    @property
    def shown_uri(self) -> str:
        """The URI with any password masked, for messages."""
        return mask(self.tracking_uri, url_secrets(self.tracking_uri))


def mlflow_installed() -> bool:
    return importlib.util.find_spec("mlflow") is not None


def tracking_target(settings: MlflowSettings, workspace_root: Path) -> TrackingTarget | None:
    """Where to log, or None when tracking is off or MLflow is not installed."""
    if settings.enabled is False or (settings.enabled is None and not mlflow_installed()):
        return None
    if not mlflow_installed():
        raise ConfigError(
            "AUDIENCE_MLFLOW__ENABLED is true but MLflow is not installed; run "
            "pip install 'audience[mlops]' or unset AUDIENCE_MLFLOW__ENABLED"
        )
    root = workspace_root.resolve()
    if settings.tracking_uri:
        # A server keeps artefacts where it was told; a database URI given here would put
        # them under the current directory (MLflow's default), so they go to the workspace.
        served = settings.tracking_uri.startswith(("http://", "https://", "databricks"))
        artifacts = None if served else (root / "mlruns").as_uri()
        return TrackingTarget(
            settings.tracking_uri, settings.experiment, artifacts, settings.timeout_seconds
        )
    return TrackingTarget(
        f"sqlite:///{root / 'mlflow.db'}",
        settings.experiment,
        (root / "mlruns").as_uri(),
        settings.timeout_seconds,
    )


@dataclass
class ModelLog:
    """A model logged as an MLflow pyfunc from code (no pickle): ``code`` is a file calling
    ``mlflow.models.set_model``; ``artifacts`` are the files it loads (the run's JSON)."""

    registered_name: str
    code: Path
    artifacts: dict[str, Path]
    input_example: pd.DataFrame
    output_example: pd.DataFrame


@dataclass
class SklearnModelLog:
    """A fitted scikit-learn estimator logged in MLflow's sklearn flavour as a skops file (no
    pickle); its pyfunc calls ``predict_fn``. ``trusted_types`` are the scikit-learn types
    skops does not trust by default that the file holds (:func:`skops_trusted_types`)."""

    registered_name: str
    estimator: Any
    input_example: pd.DataFrame
    output_example: np.ndarray
    trusted_types: list[str]
    predict_fn: str = "predict_proba"
    metadata: dict[str, str] = field(default_factory=dict)


def skops_trusted_types(estimator: Any) -> list[str]:
    """The types of ``estimator``'s skops file that skops does not trust by default, all of
    them scikit-learn's own (a calibrated classifier's calibrators, tree predictors); a type
    from elsewhere is a :class:`ModelError`, not something to trust silently."""
    import skops.io

    found = [str(t) for t in skops.io.get_untrusted_types(data=skops.io.dumps(estimator))]
    foreign = [t for t in found if not t.startswith("sklearn.")]
    if foreign:
        raise ModelError(
            f"the model holds types other than scikit-learn's ({', '.join(foreign)}); it cannot "
            "be logged as a skops file without trusting them: keep the model to scikit-learn"
        )
    return found


@dataclass
class RunLog:
    """What one warehouse run sends to MLflow."""

    run_id: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[Path] = field(default_factory=list)
    model: ModelLog | SklearnModelLog | None = None


@dataclass(frozen=True)
class TrackedRun:
    """Where a run went: MLflow's run id and the registered model version, if any."""

    mlflow_run_id: str
    model_version: str | None


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """MLflow's calls without its warnings, INFO logs, progress bars and HTTP retries."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # MLflow prints "Successfully registered model..." on stderr itself, not through logging.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def check_reachable(target: TrackingTarget, run_id: str) -> None:
    """A tracking server that does not answer within the timeout is an error now, not after
    MLflow's retries; the message says the run is kept in the warehouse."""
    if not target.tracking_uri.startswith(("http://", "https://")):
        return
    import httpx

    try:
        httpx.get(f"{target.tracking_uri.rstrip('/')}/health", timeout=target.timeout)
    except httpx.HTTPError as exc:
        raise unavailable(target, run_id, exc) from exc


def unavailable(
    target: TrackingTarget, run_id: str, exc: BaseException
) -> TrackingUnavailableError:
    reason = mask(
        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        url_secrets(target.tracking_uri),
    )
    return TrackingUnavailableError(
        f"MLflow tracking at {target.shown_uri} did not answer ({reason}); run {run_id} is "
        "stored in the warehouse but not tracked: start the server, or set "
        "AUDIENCE_MLFLOW__TRACKING_URI (AUDIENCE_MLFLOW__ENABLED=false to stop tracking)"
    )


def _connect(target: TrackingTarget) -> Any:
    import mlflow

    mlflow.set_tracking_uri(target.tracking_uri)
    mlflow.set_registry_uri(target.tracking_uri)
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(target.experiment)
    if experiment is None:
        experiment_id = client.create_experiment(
            target.experiment, artifact_location=target.artifact_location
        )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return client


def log_run(target: TrackingTarget, log: RunLog) -> TrackedRun:
    """Log a run (and register its model, if any); a store that fails is a
    :class:`TrackingUnavailableError` naming the run kept in the warehouse."""
    check_reachable(target, log.run_id)
    try:
        with quiet_mlflow():
            return _log(target, log)
    except TrackingUnavailableError:
        raise
    except Exception as exc:  # MLflow raises many kinds; all mean "not tracked"
        raise unavailable(target, log.run_id, exc) from exc


def _log(target: TrackingTarget, log: RunLog) -> TrackedRun:
    import mlflow
    from mlflow.models import infer_signature

    client = _connect(target)
    tags = {RUN_TAG: log.run_id, **log.tags}
    with mlflow.start_run(run_name=log.run_id, tags=tags) as active:
        mlflow.log_params({k: _param(v) for k, v in log.params.items()})
        mlflow.log_metrics({k: float(v) for k, v in log.metrics.items()})
        for path in log.artifacts:
            if path.exists():
                mlflow.log_artifact(str(path))
        version = None
        model = log.model
        if model is not None:
            signature = infer_signature(model.input_example, model.output_example)
            if isinstance(model, SklearnModelLog):
                import mlflow.sklearn

                info = mlflow.sklearn.log_model(
                    sk_model=model.estimator,
                    name="model",
                    serialization_format="skops",
                    skops_trusted_types=model.trusted_types,
                    pyfunc_predict_fn=model.predict_fn,
                    signature=signature,
                    input_example=model.input_example,
                    registered_model_name=model.registered_name,
                    metadata=model.metadata,
                )
            else:
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=str(model.code),
                    artifacts={k: str(v) for k, v in model.artifacts.items()},
                    signature=signature,
                    input_example=model.input_example,
                    registered_model_name=model.registered_name,
                )
            version = str(info.registered_model_version)
            client.set_model_version_tag(model.registered_name, version, RUN_TAG, log.run_id)
        return TrackedRun(active.info.run_id, version)


def _param(value: Any) -> Any:
    """MLflow keeps parameters as text of 6,000 characters at most."""
    text = value if isinstance(value, str | int | float | bool) else repr(value)
    return text[:6000] if isinstance(text, str) else text


def model_version_of(target: TrackingTarget, name: str, run_id: str) -> str | None:
    """The registered version of ``name`` logged for the warehouse run ``run_id``, if any."""
    try:
        with quiet_mlflow():
            client = _connect(target)
            versions = client.search_model_versions(f"name = '{name}'")
            found = [v for v in versions if (v.tags or {}).get(RUN_TAG) == run_id]
    except Exception as exc:
        raise unavailable(target, run_id, exc) from exc
    return str(max(int(v.version) for v in found)) if found else None


def set_alias(target: TrackingTarget, name: str, version: str, run_id: str) -> None:
    """Point ``models:/<name>@champion`` at ``version``."""
    try:
        with quiet_mlflow():
            _connect(target).set_registered_model_alias(name, CHAMPION, version)
    except Exception as exc:
        raise unavailable(target, run_id, exc) from exc


def champion_run_id(target: TrackingTarget, name: str) -> str | None:
    """The warehouse run id behind ``models:/<name>@champion``, or None without that alias."""
    try:
        with quiet_mlflow():
            version = _connect(target).get_model_version_by_alias(name, CHAMPION)
    except Exception:  # no such model or alias: the warehouse decides
        return None
    tags: Mapping[str, str] = version.tags or {}
    return tags.get(RUN_TAG)


def load_champion(target: TrackingTarget, name: str) -> Any:
    """``mlflow.pyfunc.load_model("models:/<name>@champion")``."""
    try:
        with quiet_mlflow():
            import mlflow

            _connect(target)
            return mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    except Exception as exc:
        raise unavailable(target, f"{name}@{CHAMPION}", exc) from exc
