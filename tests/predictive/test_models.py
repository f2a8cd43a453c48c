"""The CLV estimators: contract, recovery of known parameters, gradients, failures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad
from sklearn.exceptions import NotFittedError

from audience.errors import ModelError
from audience.predictive.bgnbd import BetaGeoModel
from audience.predictive.gamma_gamma import GammaGammaModel
from audience.predictive.mle import compress
from audience.predictive.pnbd import ParetoNBDModel
from audience.predictive.scoring import Horizon, discounted_if_alive
from audience.predictive.simulate import simulate_bgnbd

TRUE_BG = {"r": 0.3, "alpha": 5.0, "a": 0.9, "b": 3.0}
TRUE_GG = {"p": 5.0, "q": 4.0, "gamma": 12.0}
MODELS = [BetaGeoModel(), ParetoNBDModel(), GammaGammaModel()]


@pytest.fixture(scope="module")
def simulated() -> tuple[np.ndarray, np.ndarray]:
    return simulate_bgnbd(40_000, TRUE_BG, TRUE_GG, seed=3, whole_days=False)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_summary_needs_a_fit(model: BetaGeoModel) -> None:
    """scikit-learn's checks run in tests/test_estimator_checks.py; this one is ours."""
    with pytest.raises(NotFittedError):
        model.summary()


def test_bgnbd_recovers_simulated_parameters(simulated: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = simulated
    model = BetaGeoModel().fit(X)
    assert model.fit(X) is model
    for name, truth in TRUE_BG.items():
        assert abs(model.params_[name] - truth) < 4 * model.standard_errors_[name], name


def test_gamma_gamma_recovers_simulated_parameters(
    simulated: tuple[np.ndarray, np.ndarray],
) -> None:
    X, spend = simulated
    repeat = X[:, 0] > 0
    model = GammaGammaModel().fit(np.column_stack([X[repeat, 0], spend[repeat]]))
    for name, truth in TRUE_GG.items():
        assert abs(model.params_[name] - truth) < 4 * model.standard_errors_[name], name
    assert model.population_mean() == pytest.approx(12 * 5 / 3, rel=0.1)


@pytest.mark.parametrize("model", [BetaGeoModel(), GammaGammaModel()], ids=["bgnbd", "gg"])
def test_analytic_gradients_match_finite_differences(
    model: BetaGeoModel, simulated: tuple[np.ndarray, np.ndarray]
) -> None:
    X, spend = simulated
    repeat = X[:, 0] > 0
    data_X = (
        X[:3000]
        if isinstance(model, BetaGeoModel)
        else np.column_stack([X[repeat, 0], spend[repeat]])[:3000]
    )
    data = model._prepare(data_X, np.ones(len(data_X)))
    rng = np.random.default_rng(0)
    for _ in range(3):
        z = rng.normal(0.5, 0.7, len(model.names))
        value = model._negll(z, data)[0]
        error = check_grad(
            lambda v: model._negll(v, data)[0], lambda v: model._negll(v, data)[1], z
        )
        assert error < 1e-5 * max(1.0, abs(value))


def test_weighted_groups_fit_like_the_customers_they_stand_for(
    simulated: tuple[np.ndarray, np.ndarray],
) -> None:
    X = simulated[0][:5000]
    (x, t_x, T), counts, inverse = compress([X[:, 0], X[:, 1], X[:, 2]])
    assert np.array_equal(np.column_stack([x, t_x, T])[inverse], X)
    assert counts.sum() == len(X)
    whole = BetaGeoModel().fit(X)
    grouped = BetaGeoModel().fit(np.column_stack([x, t_x, T]), sample_weight=counts)
    for name in whole.params_:
        assert grouped.params_[name] == pytest.approx(whole.params_[name], rel=1e-5)
    assert grouped.log_likelihood_ == pytest.approx(whole.log_likelihood_, rel=1e-9)


def test_bootstrap_intervals_surround_the_estimate(
    simulated: tuple[np.ndarray, np.ndarray],
) -> None:
    X = simulated[0][:4000]
    model = BetaGeoModel(bootstrap=12, random_state=1).fit(X)
    params = model.summary()["parameters"]
    for p in params.values():
        assert p["bootstrap_low"] < p["estimate"] < p["bootstrap_high"]
        assert p["low"] < p["estimate"] < p["high"]
    assert model.bootstrap_log_params_ is not None
    assert model.bootstrap_log_params_.shape == (12, 4)
    again = BetaGeoModel(bootstrap=12, random_state=1).fit(X).bootstrap_log_params_
    assert again is not None
    assert np.array_equal(again, model.bootstrap_log_params_)


def test_non_convergence_is_reported_with_its_status(
    simulated: tuple[np.ndarray, np.ndarray],
) -> None:
    with pytest.raises(ModelError, match=r"did not converge \(status \d+: .*1 iterations"):
        BetaGeoModel(max_iter=1).fit(simulated[0][:3000])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0, 0, 10], [0, 0, 5]], "no customer made a repeat purchase"),
        ([[-1, 0, 10], [1, 2, 5]], "frequency must be a count"),
        ([[1.5, 2, 10], [1, 2, 5]], "frequency must be a count"),
        ([[2, 12, 10], [1, 2, 5]], "recency must lie between 0 and T"),
        ([[0, 3, 10], [1, 2, 5]], "recency must be 0 exactly"),
        ([[1, 2, 10]], "expected 3 columns"),
    ],
)
def test_invalid_summaries_are_refused_clearly(rows: list[list[float]], message: str) -> None:
    X = np.array(rows, dtype=float)
    if message == "expected 3 columns":
        X = X[:, :2]
    for model in (BetaGeoModel(), ParetoNBDModel()):
        with pytest.raises(ModelError, match=message):
            model.fit(X)


def test_fit_learns_the_input_width_and_refuses_what_is_not_a_summary(
    simulated: tuple[np.ndarray, np.ndarray],
) -> None:
    """What scikit-learn's checks would verify, on data the models accept."""
    X = simulated[0][:2_000]
    model = BetaGeoModel()
    assert model.fit(X) is model
    assert model.n_features_in_ == 3
    with pytest.raises(ValueError, match="X has 2 features, but BetaGeoModel is expecting 3"):
        model.score(X[:, :2])
    with pytest.raises(ModelError, match="Negative values in data passed to BG/NBD"):
        BetaGeoModel().fit(-X)
    with pytest.raises(ModelError, match="sample_weight is zero for every customer"):
        BetaGeoModel().fit(X, sample_weight=np.zeros(len(X)))
    with pytest.raises(ModelError, match="one non-negative count per customer"):
        BetaGeoModel().fit(X, sample_weight=np.ones(len(X) + 1))
    with pytest.raises(ModelError, match=r"Negative values in data passed to Gamma-Gamma.*<= 0"):
        GammaGammaModel().fit(np.array([[1, 10.0], [2, -3.0]]))


def test_gamma_gamma_refuses_non_positive_spend() -> None:
    with pytest.raises(ModelError, match="mean spend <= 0"):
        GammaGammaModel().fit(np.array([[1, 10.0], [2, 0.0], [1, 5.0]]))


def test_bgnbd_next_purchase_is_the_median_of_the_waiting_time(
    simulated: tuple[np.ndarray, np.ndarray],
) -> None:
    X = simulated[0][:2000]
    model = BetaGeoModel().fit(simulated[0])
    wait = model.time_to_next_purchase(X)
    p_alive = model.p_alive(X)
    finite = np.isfinite(wait)
    assert np.array_equal(finite, p_alive > 0.5)
    r, alpha = model.params_["r"], model.params_["alpha"]
    quiet = ((alpha + X[finite, 2]) / (alpha + X[finite, 2] + wait[finite])) ** (r + X[finite, 0])
    assert np.allclose(p_alive[finite] * (1 - quiet), 0.5)


def test_pareto_nbd_quiet_probability_matches_simulation() -> None:
    model = ParetoNBDModel()
    model.log_params_ = np.log([0.55, 10.6, 0.6, 11.7])
    x, T, t = 3.0, 30.0, 20.0
    r, alpha, s, beta = np.exp(model.log_params_)
    rng = np.random.default_rng(0)
    lam = rng.gamma(r + x, 1 / (alpha + T), 400_000)
    mu = rng.gamma(s, 1 / (beta + T), 400_000)
    simulated = (rng.exponential(1 / lam) > np.minimum(rng.exponential(1 / mu), t)).mean()
    exact = model.quiet_if_alive(np.array([x]), np.array([T]), np.array([t]))[0]
    assert exact == pytest.approx(simulated, abs=0.003)
    wait = model.time_to_next_purchase(np.array([[x, 28.0, T]]))[0]
    p_alive = model.p_alive(np.array([[x, 28.0, T]]))[0]
    quiet = model.quiet_if_alive(np.array([x]), np.array([T]), np.array([wait]))[0]
    assert p_alive * (1 - quiet) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("kind", [BetaGeoModel, ParetoNBDModel])
def test_discounted_transactions_integrate_the_expected_curve(kind: type[BetaGeoModel]) -> None:
    model = kind()
    model.log_params_ = np.log([0.3, 5.0, 0.9, 3.0] if kind is BetaGeoModel else [0.5, 10, 0.6, 12])
    x, T = np.array([0.0, 2.0, 9.0]), np.array([30.0, 20.0, 40.0])
    no_discount = discounted_if_alive(model, x, T, Horizon(52.0, 0.0))
    assert np.allclose(no_discount, model.expected_if_alive(x, T, 52.0))
    grid = np.linspace(0, 52, 20_001)
    curve = np.array([model.expected_if_alive(x, T, t) for t in grid])
    middle = (grid[1:] + grid[:-1]) / 2
    riemann = (np.exp(-0.02 * middle)[:, None] * np.diff(curve, axis=0)).sum(axis=0)
    assert np.allclose(discounted_if_alive(model, x, T, Horizon(52.0, 0.02)), riemann, rtol=1e-6)
    assert (discounted_if_alive(model, x, T, Horizon(52.0, 0.02)) < no_discount).all()
