"""Probability of exactly n purchases, unconditional in (0, t] and conditional on a customer's
history in (T, T + t], for BG/NBD, MBG/NBD, Pareto/NBD and GGompertz/NBD (issue #18).

Checks: the probabilities over n = 0..N sum to 1 (N large enough for the tail to vanish), their
mean equals the model's closed-form expectation (expected_purchases / conditional_expected_purchases,
computed independently), a simulation of each model's process reproduces P(X(t) = n), and the
Pareto/NBD quadrature matches scipy's adaptive quad of the defining integral. Parameters: the
published CDNOW estimates (Fader, Hardie & Lee 2005); GGompertz/NBD at a setting with visible
Gompertz ageing (b = 0.08), since on CDNOW it is the Pareto/NBD.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.special import gammaln

from toolkit.clv import BetaGeo, GGompertzNBD, ModifiedBetaGeo, ParetoNBD

BG = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)
PNBD = dict(r=0.553, alpha=10.578, s=0.606, beta=11.669)
GGOM = dict(r=0.8, alpha=5.0, b=0.08, s=1.5, beta=2.0)
MODELS = [BetaGeo.from_params(**BG), ModifiedBetaGeo.from_params(**BG), ParetoNBD.from_params(**PNBD),
          GGompertzNBD.from_params(**GGOM)]
IDS = ["BG/NBD", "MBG/NBD", "Pareto/NBD", "GGompertz/NBD"]
N_LARGE = 600
# CDNOW-like histories: no repeat purchase, a lapsed and an active buyer, a heavy buyer
X = np.array([0.0, 2.0, 2.0, 6.0, 30.0])
TX = np.array([0.0, 5.0, 30.43, 30.43, 38.0])
T = np.full(5, 38.86)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@pytest.mark.parametrize("t", [0.5, 39.0, 78.0])
def test_unconditional_probabilities_sum_to_one_and_have_the_model_mean(model, t):
    n = np.arange(N_LARGE + 1)
    p = model.probability_of_n_purchases_up_to_time(t, n)
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert float(n @ p) == pytest.approx(float(model.expected_purchases(t)), rel=1e-6)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@pytest.mark.parametrize("t", [1.0, 39.0, 78.0])
def test_conditional_probabilities_sum_to_one_and_have_the_model_mean(model, t):
    n = np.arange(N_LARGE + 1)[:, None]
    p = model.conditional_probability_of_n_purchases_up_to_time(n, t, X, TX, T)
    assert p.shape == (N_LARGE + 1, len(X)) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose((n * p).sum(axis=0), model.conditional_expected_purchases(t, X, TX, T), rtol=1e-6)
    # a customer who is surely dead buys nothing: P(0) >= 1 - P(alive)
    assert np.all(p[0] >= 1 - model.prob_alive(X, TX, T) - 1e-12)


def _simulate(name: str, t: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Repeat purchases in (0, t] simulated from each model's story (not from its formulas)."""
    if name == "GGompertz/NBD":
        lam = rng.gamma(GGOM["r"], 1 / GGOM["alpha"], size)
        eta = rng.gamma(GGOM["s"], 1 / GGOM["beta"], size)
        life = np.log1p(rng.exponential(size=size) / eta) / GGOM["b"]     # Gompertz: S = exp(-eta (e^(b tau) - 1))
        return rng.poisson(lam * np.minimum(life, t))
    if name == "Pareto/NBD":
        lam = rng.gamma(PNBD["r"], 1 / PNBD["alpha"], size)
        mu = rng.gamma(PNBD["s"], 1 / PNBD["beta"], size)
        life = rng.exponential(1 / mu)
        return rng.poisson(lam * np.minimum(life, t))
    lam = rng.gamma(BG["r"], 1 / BG["alpha"], size)
    p = rng.beta(BG["a"], BG["b"], size)
    bought = rng.poisson(lam * t)
    # purchases made before dropping out: BG/NBD drops out after a repeat purchase (K >= 1), MBG/NBD
    # also right at the start (K >= 0); the purchase at which the customer leaves still counts
    k = rng.geometric(p) - (1 if name == "MBG/NBD" else 0)
    return np.minimum(bought, k)


@pytest.mark.parametrize("model,name", list(zip(MODELS, IDS)), ids=IDS)
def test_probabilities_match_a_simulation_of_the_model(model, name):
    rng = np.random.default_rng(11)
    size, t = 200_000, 39.0
    sim = _simulate(name, t, size, rng)
    n = np.arange(8)
    share = np.array([(sim == k).mean() for k in n])
    p = model.probability_of_n_purchases_up_to_time(t, n)
    se = np.sqrt(p * (1 - p) / size)
    assert np.all(np.abs(share - p) < 4 * se), (share, p)


def test_pareto_nbd_quadrature_matches_adaptive_quad_of_the_defining_integral():
    r, alpha, s, beta = PNBD.values()
    m = MODELS[2]
    assert IDS[2] == "Pareto/NBD"

    def nb(k, tau):
        return np.exp(gammaln(r + k) - gammaln(r) - gammaln(k + 1) + r * np.log(alpha / (alpha + tau))
                      + k * np.log(tau / (alpha + tau)))

    for k, t in [(0, 39.0), (3, 39.0), (12, 200.0), (50, 1e4)]:
        dead = integrate.quad(lambda tau: nb(k, tau) * s * beta ** s * (beta + tau) ** (-s - 1), 0, t,
                              limit=500, points=[1, 10, 100], epsabs=1e-14, epsrel=1e-11)[0]
        expect = nb(k, t) * (beta / (beta + t)) ** s + dead
        assert float(m.probability_of_n_purchases_up_to_time(t, k)) == pytest.approx(expect, rel=1e-8)


# ---------------------------------------------------------------- P(alive) matrix and one customer's path
def test_prob_alive_matrix_is_the_model_prob_alive_per_cell():
    from toolkit.clv.plots import prob_alive_matrix

    for model in MODELS:
        mat = prob_alive_matrix(model, 38.86, max_frequency=10, n_recency=8)
        assert mat.shape == (11, 9) and mat.index.name == "frequency" and mat.columns.name == "recency"
        assert mat.iloc[0, 1:].isna().all() and mat.iloc[1:].notna().all().all()
        x, rec = 4, mat.columns[5]
        assert mat.loc[x, rec] == pytest.approx(float(model.prob_alive(x, rec, 38.86)[0]))
        assert np.all(np.diff(mat.iloc[1:].to_numpy(), axis=1) > 0)    # more recent last purchase: more alive


def test_prob_alive_path_follows_the_purchase_history():
    import pandas as pd

    from toolkit.clv.plots import plot_prob_alive_path, prob_alive_path

    model = MODELS[0]
    path = prob_alive_path(model, [5.0, 8.0, 8.0, 20.0], end=45.0, points=50)
    assert path["time"].iloc[0] == 0 and path["time"].iloc[-1] == pytest.approx(40.0)
    assert np.all(path.loc[path["frequency"] == 0, "prob_alive"] == 1.0)     # BG/NBD: alive until a repeat
    at = path[(path["time"] == 15.0) & (path["frequency"] == 2)]             # purchases at 0, 3, 15 (shifted)
    assert float(at["prob_alive"].iloc[0]) == pytest.approx(float(model.prob_alive(2, 15.0, 15.0)[0]))
    before = path[(path["time"] < 15.0) & (path["time"] > 14.99)]
    assert float(before["prob_alive"].iloc[0]) == pytest.approx(float(model.prob_alive(1, 3.0, 15.0)[0]), rel=1e-6)
    assert path["frequency"].max() == 2                                      # same-time purchases count once
    # dates: the same path with days / 7 as weeks
    model.time_unit_ = "W"
    days = pd.to_datetime("1997-01-01") + pd.to_timedelta([35, 56, 56, 140], unit="D")
    end = pd.Timestamp("1997-01-01") + pd.Timedelta(days=35 + 280)
    dpath = prob_alive_path(model, pd.Series(days), end=end, points=50)
    np.testing.assert_allclose(dpath["prob_alive"], path["prob_alive"], rtol=1e-9)
    fig = plot_prob_alive_path(dpath, customer="1", model_name="BG/NBD")
    ax = fig.axes[0]
    assert "P(alive)" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel() == "P(alive)"
