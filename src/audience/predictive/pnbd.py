"""Pareto/NBD transaction model (Schmittlein, Morrison & Colombo 1987).

While active a customer buys at rate λ ~ Gamma(r, α); her lifetime is exponential with rate
μ ~ Gamma(s, β), so she may drop out at any time, not only after a purchase as in BG/NBD.
Its likelihood needs the Gauss hypergeometric function, evaluated here on the log scale
(Fader & Hardie's note on the Pareto/NBD likelihood) to avoid the cancellation of two
nearly equal terms; the gradient is numerical.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, gammaln, hyp2f1
from sklearn.utils.validation import check_is_fitted

from audience.predictive.clv_estimator import GroupedPurchases, MLEModel
from audience.predictive.mle import FloatArray

BISECTION_STEPS = 60


def _log_a0(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log A0, the term of the likelihood for a customer who died between t_x and T."""
    rsx = r + s + x
    big, b2 = (alpha, s + 1 + 0 * x) if alpha >= beta else (beta, r + x)
    diff = abs(alpha - beta)

    def term(y: FloatArray) -> FloatArray:
        return np.log(hyp2f1(rsx, b2, rsx + 1, diff / (big + y))) - rsx * np.log(big + y)  # type: ignore[no-any-return]

    # Extreme parameters make the terms infinite; the likelihood then reports inf (rejected).
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        first, second = term(t_x), term(T)
        return first + np.log(-np.expm1(second - first))


def _log_alive_term(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, T: FloatArray
) -> FloatArray:
    return -(r + x) * np.log(alpha + T) - s * np.log(beta + T)


class ParetoNBDModel(MLEModel):
    """Pareto/NBD model fitted by maximum likelihood; parameters ``r, alpha, s, beta``."""

    names = ("r", "alpha", "s", "beta")
    label = "Pareto/NBD"

    def _prepare(self, X: FloatArray, weights: FloatArray) -> GroupedPurchases:
        return GroupedPurchases.of(X, weights, self.label)

    def _start(self, data: GroupedPurchases) -> FloatArray:
        scale = data.log_time_scale()
        return np.array([0.0, scale, 0.0, scale])

    def _negll(self, log_params: FloatArray, data: Any) -> tuple[float, None]:
        r, alpha, s, beta = np.exp(log_params)
        x, t_x, T = data.x, data.t_x, data.T
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = _log_alive_term(r, alpha, s, beta, x, T)
        dead = np.log(s / (r + s + x)) + _log_a0(r, alpha, s, beta, x, t_x, T)
        with np.errstate(invalid="ignore"):  # a non-finite likelihood is rejected below
            ll = data.w @ (head + np.logaddexp(alive, dead))
        return (-float(ll) if np.isfinite(ll) else np.inf), None

    # -- predictions ----------------------------------------------------------------------

    def p_alive(self, X: FloatArray) -> FloatArray:
        """Probability that each customer is still active at the end of calibration."""
        r, alpha, s, beta = self._natural()
        x, t_x, T = X[:, 0], X[:, 1], X[:, 2]
        log_odds = (
            np.log(s / (r + s + x))
            + _log_a0(r, alpha, s, beta, x, t_x, T)
            - _log_alive_term(r, alpha, s, beta, x, T)
        )
        return expit(-log_odds)  # type: ignore[no-any-return]

    def expected_if_alive(self, x: FloatArray, T: FloatArray, t: float) -> FloatArray:
        """Expected purchases in (T, T + t] of a customer known to be active at T."""
        r, alpha, s, beta = self._natural()
        log_q = np.log(beta + T) - np.log(beta + T + t)
        integral = -log_q if abs(s - 1) < 1e-9 else -np.expm1((s - 1) * log_q) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * integral  # type: ignore[no-any-return]

    def conditional_expected_transactions(self, X: FloatArray, t: float) -> FloatArray:
        """Expected purchases in the next ``t`` time units, given each customer's history."""
        return self.p_alive(X) * self.expected_if_alive(X[:, 0], X[:, 2], t)

    def expected_transactions(self, t: FloatArray) -> FloatArray:
        """Expected repeat purchases of a new customer within ``t`` of her first purchase."""
        r, alpha, s, beta = self._natural()
        t = np.asarray(t, dtype=np.float64)
        log_q = np.log(beta) - np.log(beta + t)
        integral = -log_q if abs(s - 1) < 1e-9 else -np.expm1((s - 1) * log_q) / (s - 1)
        return r * beta / alpha * integral  # type: ignore[no-any-return]

    def quiet_if_alive(self, x: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        """P(no purchase in (T, T + t] | active at T): either she dies first or is slow.

        With λ ~ Gamma(r + x, α + T) and μ ~ Gamma(s, β + T) given the history, it is
        1 − E[λ/(λ+μ)] + E[λ/(λ+μ) e^{−(λ+μ)t}], each an Euler integral, i.e. a 2F1.
        """
        r, alpha, s, beta = self._natural()
        a1, A, B = r + x, alpha + T, beta + T
        return 1.0 - _share_term(a1, s, A, B, np.zeros_like(t)) + _share_term(a1, s, A, B, t)

    def time_to_next_purchase(self, X: FloatArray, probability: float = 0.5) -> FloatArray:
        """Time until a purchase has become ``probability`` likely; inf if it never does.

        No closed form: vectorised bisection on log-time, the function being monotone.
        """
        x, T = X[:, 0], X[:, 2]
        p_alive = self.p_alive(X)
        target = 1.0 - probability / np.maximum(p_alive, 1e-300)
        low, high = np.full(len(X), -12.0), np.full(len(X), 14.0)
        never = self.quiet_if_alive(x, T, np.exp(high)) > target
        for _ in range(BISECTION_STEPS):
            mid = (low + high) / 2
            above = self.quiet_if_alive(x, T, np.exp(mid)) > target
            low, high = np.where(above, mid, low), np.where(above, high, mid)
        out = np.exp((low + high) / 2)
        out[never | (p_alive <= probability)] = np.inf
        return out  # type: ignore[no-any-return]

    def _natural(self) -> FloatArray:
        check_is_fitted(self)
        return np.exp(self.log_params_)


def _share_term(
    a1: FloatArray, a2: float, A: FloatArray, B: FloatArray, t: FloatArray
) -> FloatArray:
    """E[λ/(λ+μ) · e^{−(λ+μ)t}] for independent λ ~ Gamma(a1, A), μ ~ Gamma(a2, B).

    Euler's integral gives a1/(a1+a2) · (A/(B+t))^{a1} (B/(B+t))^{a2} · 2F1(a1+a2, a1+1;
    a1+a2+1; z), z = (B − A)/(B + t); Pfaff's transformation keeps z in [0, 1).
    """
    c = a1 + a2
    z = (B - A) / (B + t)
    log_front = np.log(a1 / c) + a1 * (np.log(A) - np.log(B + t)) + a2 * (np.log(B) - np.log(B + t))
    neg = z < 0
    w = np.where(neg, z / (z - 1), z)
    f = hyp2f1(np.where(neg, 1.0, c), a1 + 1, c + 1, w)
    log_f = np.log(f) - np.where(neg, (a1 + 1) * np.log1p(-z), 0.0)
    return np.exp(log_front + log_f)  # type: ignore[no-any-return]
