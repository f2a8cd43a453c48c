"""Maximum-likelihood machinery shared by the CLV models.

Every model is fitted on its log-parameters (so that positivity needs no constraint) by
``scipy.optimize.minimize`` (L-BFGS-B), on *sufficient statistics*: customers with the same
summary are one row weighted by their count, which turns a million customers into a few
hundred thousand rows or fewer. Standard errors come from the Hessian of the log-likelihood
at the optimum (delta method back to the natural scale); bootstrap intervals refit the model
on multinomial resamples of those counts, which is the same as resampling customers.

A fit that does not converge raises :class:`~audience.errors.ModelError` with the
optimiser's status: a result that is not a maximum is never returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, stats

from audience.errors import ModelError

FloatArray = NDArray[np.float64]
NegLogLik = Callable[[FloatArray], "tuple[float, FloatArray | None]"]

LOG_BOUND = 12.0
"""|log parameter| beyond this (e^12 ≈ 1.6e5) means the data do not identify the model."""

HESSIAN_STEP = 1e-4
GRADIENT_STEP = 1e-5
GRADIENT_TOLERANCE = 1e-4
"""Largest |gradient| of the mean log-likelihood accepted when the optimiser stops early."""


def compress(
    columns: list[NDArray[Any]], weights: FloatArray | None = None
) -> tuple[list[NDArray[Any]], FloatArray, NDArray[np.intp]]:
    """Distinct rows of ``columns`` with their summed weights, and each row's index in them.

    Customers with identical summaries contribute identical log-likelihood terms, so the
    likelihood is evaluated once per distinct row and weighted by the count. Rows are keyed
    by hashing (``pandas.factorize``), column by column, which is linear where sorting a
    million rows on three keys is not.
    """
    n = len(columns[0])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    key = np.zeros(n, dtype=np.int64)
    for column in columns:
        code, uniques = pd.factorize(column)
        key, _ = pd.factorize(key * len(uniques) + code)
    inverse = np.asarray(key, dtype=np.intp)
    k = int(inverse.max()) + 1 if n else 0
    member = np.empty(k, dtype=np.intp)
    member[inverse] = np.arange(n)  # any member stands for its group: they are identical
    counts = np.bincount(inverse, weights=w, minlength=k).astype(np.float64)
    return [c[member] for c in columns], counts, inverse


def central_hessian(f: Callable[[FloatArray], float], x: FloatArray, step: float) -> FloatArray:
    """Hessian of ``f`` at ``x`` by central differences, 4 evaluations per pair.

    ``scipy.differentiate.hessian`` needs a function vectorised over parameter sets and
    spends hundreds of evaluations on its adaptive steps; at a smooth optimum on the log
    scale one fixed step (error O(step²) ≈ 1e-8) is plenty for standard errors.
    """
    k = len(x)
    h = np.eye(k) * step
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            value = (
                f(x + h[i] + h[j]) - f(x + h[i] - h[j]) - f(x - h[i] + h[j]) + f(x - h[i] - h[j])
            ) / (4 * step * step)
            out[i, j] = out[j, i] = value
    return out


def gradient_jacobian(
    grad: Callable[[FloatArray], FloatArray], x: FloatArray, step: float
) -> FloatArray:
    """Hessian as the central-difference Jacobian of an analytic gradient, symmetrised.

    2k gradient evaluations instead of 2k(k+1) function values, and one difference order
    fewer, hence more accurate.
    """
    k = len(x)
    h = np.eye(k) * step
    columns = [(grad(x + h[i]) - grad(x - h[i])) / (2 * step) for i in range(k)]
    jac = np.column_stack(columns)
    return (jac + jac.T) / 2


def _grad(negll: NegLogLik, z: FloatArray) -> FloatArray:
    grad = negll(z)[1]
    assert grad is not None
    return grad


@dataclass
class MLEResult:
    """A converged fit on the log scale, with what the reports need."""

    log_params: FloatArray
    log_likelihood: float
    covariance: FloatArray
    """Covariance of the log-parameters (inverse Hessian); NaN when not positive definite."""
    n_iter: int
    status: str
    warnings: list[str] = field(default_factory=list)


def maximise(
    negll: NegLogLik,
    start: FloatArray,
    names: tuple[str, ...],
    model: str,
    total_weight: float,
    max_iter: int = 1000,
) -> MLEResult:
    """Maximise a log-likelihood given as ``negll(log_params) -> (value, gradient or None)``.

    The optimiser sees the *mean* negative log-likelihood so that its tolerances mean the
    same for a thousand customers as for a million.
    """
    analytic = negll(start)[1] is not None

    def mean_value(z: FloatArray) -> float:
        return negll(z)[0] / total_weight

    def mean_value_grad(z: FloatArray) -> tuple[float, FloatArray]:
        value, grad = negll(z)
        assert grad is not None
        return value / total_weight, grad / total_weight

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    options = {"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-9}
    if analytic:
        res = optimize.minimize(
            mean_value_grad, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )
    else:
        # Far from the optimum the likelihood overflows to inf, which the optimiser treats as
        # "worse"; the numerical gradient's inf − inf there is noise, not a fault to report.
        with np.errstate(invalid="ignore", over="ignore"):
            res = optimize.minimize(
                mean_value, start, jac="3-point", method="L-BFGS-B", bounds=bounds, options=options
            )
    _check_converged(res, names, model, mean_value)
    if analytic:
        hessian = gradient_jacobian(lambda z: _grad(negll, z), res.x, GRADIENT_STEP)
    else:
        hessian = central_hessian(lambda z: negll(z)[0], res.x, HESSIAN_STEP)
    covariance, notes = _invert(hessian, names)
    return MLEResult(
        log_params=res.x,
        log_likelihood=-negll(res.x)[0],
        covariance=covariance,
        n_iter=int(res.nit),
        status=str(res.message),
        warnings=notes,
    )


def _check_converged(
    res: optimize.OptimizeResult,
    names: tuple[str, ...],
    model: str,
    mean_value: Callable[[FloatArray], float],
) -> None:
    at_bound = [n for n, z in zip(names, res.x, strict=True) if abs(z) > LOG_BOUND - 1e-3]
    if at_bound:
        raise ModelError(
            f"{model} fit did not converge (status: parameter {', '.join(at_bound)} ran to its "
            f"bound after {res.nit} iterations); the data do not identify the model: use more "
            "customers or a longer calibration period"
        )
    if not np.isfinite(res.fun):
        raise ModelError(f"{model} fit did not converge (status: log-likelihood not finite)")
    if res.success:
        return
    grad = optimize.approx_fprime(res.x, mean_value, 1e-7)
    if np.max(np.abs(grad)) > GRADIENT_TOLERANCE:
        raise ModelError(
            f"{model} fit did not converge (status {res.status}: {res.message}, "
            f"{res.nit} iterations, largest gradient {np.max(np.abs(grad)):.2g}); "
            "check the data summary or try the other model"
        )


def _invert(hessian: FloatArray, names: tuple[str, ...]) -> tuple[FloatArray, list[str]]:
    eigenvalues = np.linalg.eigvalsh(hessian)
    if not np.all(np.isfinite(eigenvalues)) or eigenvalues.min() <= 0:
        nan = np.full_like(hessian, np.nan)
        return nan, [
            "the Hessian is not positive definite at the optimum: standard errors of "
            f"{', '.join(names)} are unavailable (a flat likelihood: parameters poorly identified)"
        ]
    return np.asarray(np.linalg.inv(hessian), dtype=np.float64), []


def standard_errors(log_params: FloatArray, covariance: FloatArray) -> FloatArray:
    """Standard errors on the natural scale: se(θ) = θ · se(log θ) (delta method)."""
    return np.exp(log_params) * np.sqrt(np.diag(covariance))


def wald_interval(
    log_params: FloatArray, covariance: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """Interval exp(log θ ± z·se(log θ)): positive, and asymmetric like the likelihood."""
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(np.diag(covariance))
    return np.exp(log_params - half), np.exp(log_params + half)


def bootstrap(
    refit: Callable[[FloatArray], FloatArray],
    weights: FloatArray,
    n_boot: int,
    seed: int | None,
) -> tuple[FloatArray, int]:
    """Log-parameters refitted on ``n_boot`` resamples of the customers, and the failures.

    Resampling customers with replacement is a multinomial draw of the counts of distinct
    summaries, so the bootstrap never expands the data back to one row per customer.
    """
    rng = np.random.default_rng(seed)
    total = round(float(weights.sum()))
    p = weights / weights.sum()
    draws: list[FloatArray] = []
    failures = 0
    for _ in range(n_boot):
        counts = rng.multinomial(total, p).astype(np.float64)
        try:
            draws.append(refit(counts))
        except ModelError:
            failures += 1
    if not draws:
        raise ModelError(f"all {n_boot} bootstrap refits failed to converge; use --bootstrap 0")
    return np.array(draws), failures
