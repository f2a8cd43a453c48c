"""BG/NBD: the beta-geometric / negative binomial transaction model (Fader, Hardie & Lee 2005).

While active, a customer buys at a rate λ ~ Gamma(r, α); after each purchase she drops out
with probability p ~ Beta(a, b). Its likelihood is closed-form and cheap, which is why it is
the default model; the gradient below is analytic so that a million customers fit in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from audience.predictive.clv_estimator import GroupedPurchases, MLEModel
from audience.predictive.mle import FloatArray


@dataclass(frozen=True)
class _Grouped(GroupedPurchases):
    """Grouped purchases and their distinct x: x-only terms are computed once per x."""

    ux: FloatArray
    inv: NDArray[np.intp]


class BetaGeoModel(MLEModel):
    """BG/NBD model fitted by maximum likelihood; parameters ``r, alpha, a, b``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0, 30], [2, 20, 30], [5, 28, 30], [1, 3, 25]] * 50, dtype=float)
    >>> model = BetaGeoModel().fit(X)
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool((model.p_alive(X) <= 1).all())
    True
    """

    names = ("r", "alpha", "a", "b")
    label = "BG/NBD"

    def _prepare(self, X: FloatArray, weights: FloatArray) -> _Grouped:
        g = GroupedPurchases.of(X, weights, self.label)
        ux, inv = np.unique(g.x, return_inverse=True)
        return _Grouped(g.x, g.t_x, g.T, g.w, ux, inv.astype(np.intp))

    def _start(self, data: _Grouped) -> FloatArray:
        return np.array([0.0, data.log_time_scale(), 0.0, 0.0])

    def _negll(self, log_params: FloatArray, data: Any) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_params)
        ux, inv, w = data.ux, data.inv, data.w
        x = data.x
        rep = ux > 0
        # Terms of distinct frequencies only.
        A = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        dA_r = digamma(r + ux) - digamma(r) + np.log(alpha)
        ab_x = digamma(a + b + ux)
        B0 = betaln(a, b + ux) - betaln(a, b)
        B0_a = digamma(a + b) - ab_x
        B0_b = digamma(b + ux) - ab_x - digamma(b) + digamma(a + b)
        bx1 = np.where(rep, b + ux - 1, 1.0)
        B1 = np.where(
            rep,
            np.log(a) + gammaln(bx1) - gammaln(a + b + ux) - gammaln(b) + gammaln(a + b),
            -np.inf,
        )
        B1_a = 1 / a - ab_x + digamma(a + b)
        B1_b = np.where(rep, digamma(bx1) - ab_x - digamma(b) + digamma(a + b), 0.0)
        # Terms of each distinct (x, t_x, T); x-only terms enter through per-x totals.
        n_x = np.bincount(inv, weights=w, minlength=len(ux))
        rx = r + x
        lT, lt = np.log(alpha + data.T), np.log(alpha + data.t_x)
        u = B0[inv] - rx * lT
        m = np.logaddexp(u, B1[inv] - rx * lt)
        wu = np.exp(u - m)  # weight of "alive at T"; 1 - wu that of "dropped after t_x"
        wv = 1.0 - wu
        ll = n_x @ A + w @ m
        g_r = n_x @ dA_r - w @ (wu * lT + wv * lt)
        g_alpha = w.sum() * r / alpha - w @ (rx * (wu / (alpha + data.T) + wv / (alpha + data.t_x)))
        su = np.bincount(inv, weights=w * wu, minlength=len(ux))
        sv = n_x - su
        g_a = su @ B0_a + sv @ B1_a
        g_b = su @ B0_b + sv @ B1_b
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -float(ll), -grad

    # -- predictions ----------------------------------------------------------------------

    def p_alive(self, X: FloatArray) -> FloatArray:
        """Probability that each customer is still active at the end of calibration."""
        r, alpha, a, b = self._natural()
        x, t_x, T = X[:, 0], X[:, 1], X[:, 2]
        rep = x > 0
        log_odds = np.full(len(x), -np.inf)
        xr = x[rep]
        ratio = np.log(alpha + T[rep]) - np.log(alpha + t_x[rep])
        log_odds[rep] = np.log(a) - np.log(b + xr - 1) + (r + xr) * ratio
        return expit(-log_odds)  # type: ignore[no-any-return]

    def expected_if_alive(self, x: FloatArray, T: FloatArray, t: float) -> FloatArray:
        """Expected purchases in (T, T + t] of a customer known to be active at T."""
        r, alpha, a, b = self._natural()
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = np.exp((r + x) * np.log1p(-z)) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return head * (1.0 - tail)  # type: ignore[no-any-return]

    def conditional_expected_transactions(self, X: FloatArray, t: float) -> FloatArray:
        """Expected purchases in the next ``t`` time units, given each customer's history."""
        return self.p_alive(X) * self.expected_if_alive(X[:, 0], X[:, 2], t)

    def expected_transactions(self, t: FloatArray) -> FloatArray:
        """Expected repeat purchases of a new customer within ``t`` of her first purchase."""
        r, alpha, a, b = self._natural()
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + t)
        tail = np.exp(r * np.log1p(-z)) * hyp2f1(r, b, a + b - 1, z)
        return (a + b - 1) / (a - 1) * (1.0 - tail)  # type: ignore[no-any-return]

    def time_to_next_purchase(self, X: FloatArray, probability: float = 0.5) -> FloatArray:
        """Time until a purchase has become ``probability`` likely; inf if it never does.

        A customer who buys is alive, and an alive customer's waiting time is Pareto II
        (Lomax) with shape r + x and scale α + T, so the quantile is closed-form.
        """
        r, alpha, _, _ = self._natural()
        p_alive = self.p_alive(X)
        out = np.full(len(X), np.inf)
        reach = p_alive > probability
        quiet = 1.0 - probability / p_alive[reach]
        shape = r + X[reach, 0]
        out[reach] = (alpha + X[reach, 2]) * np.expm1(-np.log(quiet) / shape)
        return out

    def _natural(self) -> FloatArray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return np.exp(self.log_params_)
