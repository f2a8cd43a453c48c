"""Benchmark: BG/NBD + Gamma-Gamma fit and scoring on simulated customers, vs pymc-marketing.

Customers are simulated from the BG/NBD and Gamma-Gamma processes with known parameters
(first purchases spread over a year, recency and T rounded to days as real data are), then

1. Audience fits BG/NBD and Gamma-Gamma by maximum likelihood (targets: under 10 s for a
   million customers on 2 cores) and scores everyone (target: over 500,000 customers/s);
2. pymc-marketing's ``BetaGeoModel`` is fitted by MAP on the same data with flat priors (so
   that MAP is the maximum-likelihood estimate) and the ratio of times and the largest
   relative difference between the two sets of parameters are printed.

Run: ``.venv/bin/python bench/clv.py [--customers 1000000] [--baseline-customers N]``.
pymc-marketing is optional (extra ``bench``): without it the baseline is reported missing.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np

from audience.predictive.bgnbd import BetaGeoModel
from audience.predictive.gamma_gamma import GammaGammaModel
from audience.predictive.scoring import Horizon, score_customers
from audience.predictive.simulate import simulate_bgnbd

TRUE_BG = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 3.8, "gamma": 15.0}


def simulate(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return simulate_bgnbd(n, TRUE_BG, TRUE_GG, seed=seed)


def timed(label: str, fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:8.2f} s")
    return out, seconds


def pymc_map(X: np.ndarray) -> tuple[dict[str, float], float] | None:
    """pymc-marketing's BetaGeoModel fitted by MAP with flat priors; None when missing."""
    try:
        import pandas as pd
        from pymc_extras.prior import Prior  # type: ignore[import-untyped]
        from pymc_marketing.clv import BetaGeoModel as PymcBetaGeo
    except ImportError:
        return None
    data = pd.DataFrame(
        {"customer_id": np.arange(len(X)), "frequency": X[:, 0], "recency": X[:, 1], "T": X[:, 2]}
    )
    flat = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
    model = PymcBetaGeo(data=data, model_config=flat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, seconds = timed("pymc-marketing BetaGeoModel MAP fit", lambda: model.fit(method="map"))
    posterior = model.idata.posterior  # type: ignore[union-attr]  # MAP: one chain, one draw
    return {name: float(posterior[name].values.ravel()[0]) for name in TRUE_BG}, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-customers",
        type=int,
        default=None,
        help="customers for pymc-marketing (default: same as --customers)",
    )
    args = parser.parse_args()
    n = args.customers
    print(f"Simulating {n:,} customers (BG/NBD {TRUE_BG}, Gamma-Gamma {TRUE_GG})")
    (X, spend), _ = timed("simulation", lambda: simulate(n))
    rep = X[:, 0] > 0
    print(f"  repeat buyers: {rep.sum():,}")
    print("Audience (maximum likelihood on sufficient statistics)")
    bg, t_bg = timed("BG/NBD fit (with Hessian)", lambda: BetaGeoModel().fit(X))
    spend_X = np.column_stack([X[rep, 0], spend[rep]])
    gg, t_gg = timed("Gamma-Gamma fit (with Hessian)", lambda: GammaGammaModel().fit(spend_X))
    horizon = Horizon.from_days(364, 7, 0.10)
    _, t_score = timed(
        "scoring (p_alive, E[X], spend, CLV + interval, next)",
        lambda: score_customers(bg, gg, X, spend, horizon, 0.9),
    )
    fit_total = t_bg + t_gg
    print(
        f"  fit total {fit_total:.2f} s (target < 10 s) · scoring {n / t_score:,.0f} "
        "customers/s (target > 500,000)"
    )
    print("  parameters (estimate ± se, truth):")
    for model, truth in ((bg, TRUE_BG), (gg, TRUE_GG)):
        for name, value in model.params_.items():
            print(
                f"    {name:<6} {value:9.4f} ± {model.standard_errors_[name]:.4f}   "
                f"(true {truth[name]})"
            )
    m = args.baseline_customers or n
    print(f"Baseline: pymc-marketing BetaGeoModel, MAP, flat priors, {m:,} customers")
    if m != n:
        _, t_bg = timed(f"Audience BG/NBD fit on the same {m:,}", lambda: BetaGeoModel().fit(X[:m]))
        bg = BetaGeoModel().fit(X[:m])
    baseline = pymc_map(X[:m])
    if baseline is None:
        print(
            "  pymc-marketing is NOT INSTALLED: no baseline figures "
            "(pip install 'audience[bench]' or pip install pymc-marketing)"
        )
        return
    params, t_pymc = baseline
    diff = max(abs(params[k] - bg.params_[k]) / abs(bg.params_[k]) for k in TRUE_BG)
    print("  pymc-marketing: " + ", ".join(f"{k}={v:.4f}" for k, v in params.items()))
    print(f"  time ratio pymc-marketing / Audience (BG/NBD fit): {t_pymc / t_bg:,.1f}x")
    print(f"  largest relative parameter difference: {diff:.2e}")


if __name__ == "__main__":
    main()
