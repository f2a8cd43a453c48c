"""Sample sizes and power against statsmodels' NormalIndPower."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from audience.errors import InputError
from audience.experiments import power, required_n, sample_size

CASES = [
    # baseline, mde, relative, alpha, power
    (0.10, 0.01, False, 0.05, 0.8),
    (0.10, 0.10, True, 0.05, 0.8),
    (0.03, -0.005, False, 0.01, 0.9),
    (0.50, 0.02, False, 0.1, 0.95),
]


@pytest.mark.parametrize(("baseline", "mde", "relative", "alpha", "target"), CASES)
def test_proportions_agree_with_statsmodels(
    baseline: float, mde: float, relative: bool, alpha: float, target: float
) -> None:
    treated = baseline * (1 + mde) if relative else baseline + mde
    h = abs(proportion_effectsize(treated, baseline))
    expected = NormalIndPower().solve_power(h, alpha=alpha, power=target, ratio=1)
    assert required_n(baseline, mde, relative, alpha, target) == pytest.approx(expected, rel=1e-9)
    assert sample_size(baseline, mde, relative, alpha, target) == math.ceil(expected)
    n = 5000
    assert power(n, baseline, mde, relative, alpha) == pytest.approx(
        NormalIndPower().power(h, nobs1=n, alpha=alpha, ratio=1), rel=1e-9
    )


def test_means_use_cohens_d() -> None:
    expected = NormalIndPower().solve_power(2 / 25, alpha=0.05, power=0.8, ratio=1)
    assert required_n(40, 2, sd=25, proportion=False) == pytest.approx(expected, rel=1e-9)
    assert required_n(40, 0.05, relative=True, sd=25, proportion=False) == pytest.approx(
        expected, rel=1e-9
    )
    assert power(1000, 40, 2, sd=25, proportion=False) == pytest.approx(
        NormalIndPower().power(2 / 25, nobs1=1000, alpha=0.05), rel=1e-9
    )


def test_power_at_the_sample_size_reaches_the_target() -> None:
    n = sample_size(0.1, 0.01)
    assert power(n, 0.1, 0.01) >= 0.8 > power(n - 1, 0.1, 0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": 1.5, "mde": 0.01}, r"--baseline 1.5 is no rate"),
        ({"baseline": 0.95, "mde": 0.1}, r"gives a rate of 1.05, outside \(0, 1\)"),
        ({"baseline": 0.1, "mde": 0.0}, r"--mde is 0"),
        ({"baseline": 0.1, "mde": 0.01, "alpha": 0.0}, r"--alpha is 0"),
        ({"baseline": 0.1, "mde": 0.01, "power": 1.0}, r"--power is 1"),
        ({"baseline": 10, "mde": 1, "proportion": False}, r"standard deviation"),
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        sample_size(**kwargs)  # type: ignore[arg-type]


def test_power_needs_two_units() -> None:
    with pytest.raises(InputError, match="--n is 1"):
        power(1, 0.1, 0.01)
