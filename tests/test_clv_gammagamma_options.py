"""Gamma-Gamma options (issue #18): q constrained above q_min, and the fit on individual transactions.

Ground truth is simulated from the model's story: nu_j ~ Gamma(q, rate gamma) per customer, each
transaction value z_ij ~ Gamma(p, rate nu_j), 1 + Poisson(3) transactions per customer. The
per-transaction likelihood is checked against direct numerical integration over nu (scipy quad).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from toolkit.clv import BoundaryWarning, GammaGamma


def _simulate(p: float, q: float, g: float, customers: int, seed: int):
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1 / g, customers)
    n = 1 + rng.poisson(3, customers)
    cust = np.repeat(np.arange(customers), n)
    return cust, rng.gamma(p, 1 / nu[cust])


def _means(cust, z):
    t = pd.DataFrame({"c": cust, "z": z}).groupby("c")["z"].agg(["size", "mean"])
    return t["size"].to_numpy(float), t["mean"].to_numpy(float)


def test_per_transaction_fit_recovers_simulated_ground_truth():
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    cust, z = _simulate(*truth.values(), customers=4000, seed=3)
    m = GammaGamma().fit_transactions(cust, z)
    assert m.converged_ and m.n_ == 4000 and m.fitted_on_ == "transactions"
    for k, v in truth.items():
        lo, hi = m.confidence_intervals_.loc[k]
        assert lo < v < hi, (k, m.summary())
    # the spread within customers pins p down far better than the customer means do
    means = GammaGamma().fit(*_means(cust, z))
    assert m.se_["p"] < 0.3 * means.se_["p"]


def test_per_transaction_likelihood_equals_integration_over_nu():
    m = GammaGamma.from_params(p=3.0, q=2.5, gamma=12.0)
    cust = np.array([7, 7, 7, 9, 4, 4])
    z = np.array([3.0, 5.5, 2.0, 8.0, 0.4, 11.0])
    got = m.loglik_transactions(cust, z)
    for c in (7, 9, 4):
        zc = z[cust == c]
        f = lambda nu: np.prod(stats.gamma.pdf(zc, 3.0, scale=1 / nu)) * stats.gamma.pdf(nu, 2.5, scale=1 / 12.0)
        val = integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
        assert got[c] == pytest.approx(np.log(val), abs=1e-8)


def test_q_min_keeps_q_above_one_where_the_unconstrained_fit_goes_below():
    cust, z = _simulate(2.0, 0.7, 5.0, customers=4000, seed=5)   # q < 1: infinite mean spend
    free = GammaGamma().fit_transactions(cust, z)
    assert free.params_["q"] < 1 and free.mean_value_ == np.inf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bound = GammaGamma(q_min=1).fit_transactions(cust, z)
    assert bound.params_["q"] > 1 and np.isfinite(bound.mean_value_)
    assert bound.log_likelihood_ < free.log_likelihood_                  # the constraint costs fit
    assert any(issubclass(w.category, BoundaryWarning) and "q_min" in str(w.message) for w in caught)
    # the same on customer means
    x, mean = _means(cust, z)
    assert GammaGamma().fit(x, mean).params_["q"] < 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        assert GammaGamma(q_min=1).fit(x, mean).params_["q"] > 1


def test_q_min_that_does_not_bind_leaves_the_fit_unchanged():
    cust, z = _simulate(6.0, 4.0, 15.0, customers=2000, seed=8)
    x, mean = _means(cust, z)
    free = GammaGamma().fit(x, mean)
    bound = GammaGamma(q_min=1).fit(x, mean)
    np.testing.assert_allclose(bound.params_, free.params_, rtol=1e-5)
    assert bound.log_likelihood_ == pytest.approx(free.log_likelihood_, abs=1e-6)
    # the interval of q is that of q - 1 shifted by 1: it stays above 1
    assert bound.confidence_intervals_.loc["q", "lower"] > 1
    assert bound.loglik(x, mean).sum() == pytest.approx(bound.log_likelihood_, abs=1e-6)
