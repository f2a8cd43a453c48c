"""Customers simulated from the BG/NBD and Gamma-Gamma processes, for tests and benchmarks.

Knowing the true parameters is the only way to check that a fit recovers them at scale;
the simulation is exact and vectorised (no per-customer loop).
"""

from __future__ import annotations

import numpy as np

from audience.predictive.mle import FloatArray


def simulate_bgnbd(
    n: int,
    params: dict[str, float],
    spend: dict[str, float] | None = None,
    max_T_days: int = 365,
    seed: int = 0,
    whole_days: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """(frequency, recency, T) in weeks and mean repeat spend (NaN without repeat purchase).

    With ``whole_days`` recency is rounded up to a whole day as in real data, which biases
    the fitted parameters slightly (a few standard errors at a million customers); without,
    it is exact.

    Each customer's first purchase is uniform over ``max_T_days`` before the calibration
    end. Given N(T) ~ Poisson(λT) purchases and a dropout right after the J-th repeat purchase
    (J ~ Geometric(p)), x = min(N, J), and the x-th of N uniform arrivals is at
    T · Beta(x, N − x + 1). Mean spend over x transactions is Gamma(px, νx) given ν.
    """
    rng = np.random.default_rng(seed)
    T_days = rng.integers(0, max_T_days, n)
    T = T_days / 7.0
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    N = rng.poisson(lam * T)
    x = np.minimum(N, rng.geometric(p))
    rep = x > 0
    t_x = np.zeros(n)
    t_x[rep] = T[rep] * rng.beta(x[rep], N[rep] - x[rep] + 1)
    if whole_days:
        t_x = np.where(rep, np.clip(np.ceil(t_x * 7), 1, T_days), 0) / 7.0
    mean_spend = np.full(n, np.nan)
    if spend is not None:
        nu = rng.gamma(spend["q"], 1 / spend["gamma"], n)
        mean_spend[rep] = rng.gamma(spend["p"] * x[rep], 1 / (nu[rep] * x[rep]))
    X = np.column_stack([x, t_x, T]).astype(np.float64)
    return X, mean_spend
