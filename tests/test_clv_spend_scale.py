"""Gamma-Gamma does not depend on the unit of money: amounts of 1e-6 or 1e12 fit like cents.

p and q are free of the unit and gamma scales with it (z ~ Gamma(p, nu), nu ~ Gamma(q, gamma):
z / c has nu * c, hence gamma / c), so a fit on amounts times c must give the same p and q, gamma
times c, and a log-likelihood lower by log(c) per customer (the density of m / c). Found on the
data-shape matrix, where amounts of 1e12 put gamma past the fitting range and the fit failed.
"""
from __future__ import annotations

import numpy as np
import pytest

from toolkit.clv import GammaGamma


def _simulated(n=3000, p=6.0, q=4.0, gamma=15.0, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, n)
    nu = rng.gamma(q, 1 / gamma, n)
    m = np.array([rng.gamma(p, 1 / v, k).mean() for v, k in zip(nu, x)])
    return x.astype(float), m


@pytest.mark.parametrize("c", [1e-6, 1e12])
def test_fit_on_amounts_times_c_equals_the_fit_in_the_original_unit(c):
    x, m = _simulated()
    base = GammaGamma().fit(x, m)
    assert base.spend_scale_ == 1.0
    scaled = GammaGamma().fit(x, m * c)
    assert scaled.converged_ and scaled.spend_scale_ != 1.0
    for k in ("p", "q"):
        assert scaled.params_[k] == pytest.approx(base.params_[k], rel=1e-5)
    assert scaled.params_["gamma"] == pytest.approx(base.params_["gamma"] * c, rel=1e-5)
    assert scaled.se_["gamma"] == pytest.approx(base.se_["gamma"] * c, rel=1e-4)
    assert scaled.log_likelihood_ == pytest.approx(base.log_likelihood_ - len(x) * np.log(c), rel=1e-8)
    # the expected mean spend follows the unit of money
    e0 = base.expected_average_value(x[:5], m[:5])
    e1 = scaled.expected_average_value(x[:5], m[:5] * c)
    assert np.asarray(e1) == pytest.approx(np.asarray(e0) * c, rel=1e-5)


def test_spend_between_a_cent_and_100000_is_fitted_as_it_is():
    x, m = _simulated()
    assert GammaGamma().fit(x, m * 1000).spend_scale_ == 1.0
