"""Model machinery: analytic gradients, recovery of simulated parameters, predictions, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import (BetaGeo, ConvergenceError, GammaGamma, ModifiedBetaGeo, ParetoNBD,
                         simulate_bgnbd, simulate_paretonbd)
from toolkit.clv.models.base import as_rfm
from toolkit.clv.models.gammagamma import _SpendData


def _fd_gradient(model, theta, data, h=1e-6):
    """Central differences of the log-likelihood in log-parameters, mapped back to parameters."""
    g = np.empty(len(theta))
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = h
        up = model._loglik_grad(theta * np.exp(e), data, grad=False)[0]
        dn = model._loglik_grad(theta * np.exp(-e), data, grad=False)[0]
        g[j] = (up - dn) / (2 * h) / theta[j]
    return g


@pytest.fixture(scope="module")
def rfm_data():
    rng = np.random.default_rng(1)
    sim = simulate_paretonbd(3000, 0.6, 8.0, 0.6, 12.0, T=rng.uniform(20, 80, 3000).round(), seed=2)
    return as_rfm(sim.frequency, (sim.recency * 7).round() / 7, sim["T"])


@pytest.mark.parametrize("model,theta", [
    (BetaGeo(), [0.25, 4.0, 0.8, 2.5]),
    (ModifiedBetaGeo(), [0.5, 6.0, 0.9, 1.6]),
    (ParetoNBD(), [0.55, 10.6, 0.61, 11.7]),       # alpha ~ beta: series everywhere
    (ParetoNBD(), [0.9, 60.0, 0.4, 0.3]),          # alpha >> beta: split integral for small t
    (ParetoNBD(), [1.5, 0.2, 1.2, 40.0]),          # alpha << beta
])
def test_gradient_matches_finite_differences(model, theta, rfm_data):
    theta = np.array(theta)
    ll, g = model._loglik_grad(theta, rfm_data)
    np.testing.assert_allclose(g, _fd_gradient(model, theta, rfm_data), rtol=2e-6, atol=1e-3)


def test_gamma_gamma_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, 500).astype(float)
    data = _SpendData(x, rng.gamma(6.0, 5.0, 500) / x ** 0.1, np.ones(500))
    theta = np.array([6.0, 3.5, 15.0])
    _, g = GammaGamma()._loglik_grad(theta, data)
    np.testing.assert_allclose(g, _fd_gradient(GammaGamma(), theta, data), rtol=2e-6)


def test_paretonbd_fit_likelihood_equals_closed_form(rfm_data):
    m = ParetoNBD.from_params(r=0.9, alpha=60.0, s=0.4, beta=0.3)
    fit_path = m._loglik_grad(m._theta(), rfm_data, grad=False)[0]
    closed = m._loglik_grad(m._theta(), rfm_data, grad=False, closed_form=True)[0]
    assert fit_path == pytest.approx(closed, rel=1e-12)


def _covered(model, truth):
    ci = model.confidence_intervals_
    return {k: bool(ci.loc[k, "lower"] <= v <= ci.loc[k, "upper"]) for k, v in truth.items()}


def test_bgnbd_recovers_simulated_parameters():
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 3.0}
    sim = simulate_bgnbd(8000, **truth, T=np.random.default_rng(3).uniform(30, 70, 8000), seed=11)
    m = BetaGeo().fit(sim)
    assert all(_covered(m, truth).values()), (m.summary(), truth)
    assert m.converged_ and m.grad_norm_ < 1e-6


def test_paretonbd_recovers_simulated_parameters():
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}
    sim = simulate_paretonbd(8000, **truth, T=np.random.default_rng(4).uniform(30, 70, 8000), seed=12)
    m = ParetoNBD().fit(sim)
    assert all(_covered(m, truth).values()), (m.summary(), truth)


def test_weights_equal_repeated_rows():
    sim = simulate_bgnbd(600, 0.5, 5.0, 0.9, 3.0, T=40.0, seed=5)
    sim["recency"] = sim["recency"].round()
    twice = pd.concat([sim, sim])
    a = BetaGeo().fit(twice)
    b = BetaGeo().fit(sim.frequency, sim.recency, sim["T"], weights=2.0)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_) and a.n_ == b.n_ == 1200


def test_no_maximum_raises_a_clear_error():
    # Nobody ever comes back: the likelihood keeps rising towards r -> 0, there is no maximum.
    with pytest.raises(ConvergenceError, match="no maximum"):
        BetaGeo().fit(np.zeros(200), np.zeros(200), np.full(200, 30.0))


def test_summary_and_fitted_attributes():
    sim = simulate_bgnbd(1500, 0.5, 5.0, 0.9, 3.0, T=40.0, seed=6)
    m = BetaGeo()
    assert m.fit(sim) is m
    text = m.summary()
    for token in ("BG/NBD", "r", "alpha", "std.err", "log-lik", "AIC", "BIC", "1,500", "converged: True"):
        assert token in text
    assert m.aic_ == pytest.approx(8 - 2 * m.log_likelihood_)
    assert m.bic_ == pytest.approx(4 * np.log(1500) - 2 * m.log_likelihood_)
    assert set(m.summary_frame().columns) == {"estimate", "std_err", "ci_lower", "ci_upper"}
    assert m.loglik(sim).sum() == pytest.approx(m.log_likelihood_)
    with pytest.raises(ValueError, match="recency"):
        BetaGeo().fit([1, 2], [5, 50], [40, 40])


@pytest.mark.parametrize("cls,params,sim", [
    (BetaGeo, {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 3.0}, simulate_bgnbd),
    (ModifiedBetaGeo, {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 3.0},
     lambda n, **p: simulate_bgnbd(n, **p, modified=True)),
    (ParetoNBD, {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}, simulate_paretonbd),
])
def test_predictions_agree_with_simulation(cls, params, sim):
    """E[X(t)], mean P(alive) and the mean conditional expectation against Monte Carlo."""
    n, T, t = 200_000, 30.0, 26.0
    model = cls.from_params(**params)
    d = sim(n, **params, T=T, seed=7)
    mean_x = d.frequency.mean()
    se = d.frequency.std() / np.sqrt(n)
    assert abs(model.expected_purchases(T) - mean_x) < 4 * se
    pa = model.prob_alive(d)
    assert abs(pa.mean() - d.alive.mean()) < 4 * np.sqrt(0.25 / n)
    # law of total expectation: average conditional forecast = E[X(T+t)] - E[X(T)]
    ce = model.conditional_expected_purchases(t, d).mean()
    assert ce == pytest.approx(model.expected_purchases(T + t) - model.expected_purchases(T), rel=0.03)
    # broadcasting: an (H, 1) column of horizons gives an (H, n) array, increasing in t
    grid = model.conditional_expected_purchases(np.array([[0.0], [10.0], [20.0]]), d.iloc[:50])
    assert grid.shape == (3, 50) and np.all(grid[0] == 0) and np.all(np.diff(grid, axis=0) >= 0)


def test_paretonbd_without_repeat_buyers_has_no_maximum():
    with pytest.raises(ConvergenceError):
        ParetoNBD().fit(np.zeros(300), np.zeros(300), np.linspace(10, 50, 300))


def test_gamma_gamma_nonpositive_spend():
    x = np.array([0, 1, 2, 3, 4, 5] * 50, float)
    m = np.where(x == 0, 0.0, 20.0 + 3 * np.arange(len(x)) % 17)
    m[1] = -5.0                                     # a repeat customer whose returns exceed purchases
    with pytest.raises(ValueError, match="non-positive"):
        GammaGamma().fit(x, m)
    gg = GammaGamma(nonpositive="drop").fit(x, m)
    assert gg.n_dropped_ == 1 and gg.n_ == int((x > 0).sum()) - 1
    assert gg.expected_average_value(0, 0) == pytest.approx(gg.mean_value_)
    # shrinkage: the estimate lies between the customer's mean and the population mean
    v = gg.expected_average_value(3, 100.0)
    assert min(100.0, gg.mean_value_) < v < max(100.0, gg.mean_value_)
