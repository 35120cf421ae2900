"""Per-customer intervals from parameter uncertainty: chunking changes nothing, the point estimates are
the models' own predictions, the population intervals are the quantiles of the per-draw totals, and
they cover the truth in 240 repeated simulations (a binomial bound that separates 90% from 80% coverage)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from toolkit.clv import (BetaGeo, GammaGamma, ParetoNBD, customer_lifetime_value, rfm_summary, simulate_bgnbd,
                         simulate_paretonbd, simulate_transactions)
from toolkit.clv.valuation.intervals import customer_intervals, draw_parameters
from toolkit.clv.valuation.value import discount_factors

TOTAL = "expected purchases (total)"


@pytest.fixture(scope="module")
def fitted():
    tx = simulate_transactions(3000, model="bgnbd", params={"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0},
                               acquisition_days=365, start="2022-01-01", end="2023-12-31", seed=3)
    rfm = rfm_summary(tx, observation_end="2023-12-31", time_unit="W")
    return rfm, BetaGeo().fit(rfm), GammaGamma().fit(rfm)


def test_chunked_equals_unchunked_for_the_same_seed(fitted):
    rfm, bg, gg = fitted
    whole = customer_intervals(bg, rfm, gg, n_draws=60, seed=5)
    parts = customer_intervals(bg, rfm, gg, n_draws=60, seed=5, chunk_size=333)
    assert whole.n_chunks == 1 and parts.n_chunks >= 5
    pd.testing.assert_frame_equal(whole.customers, parts.customers, check_exact=True)
    pd.testing.assert_frame_equal(whole.draws, parts.draws, check_exact=True)
    pd.testing.assert_frame_equal(whole.population, parts.population, rtol=1e-12)
    other = customer_intervals(bg, rfm, gg, n_draws=60, seed=6, chunk_size=333)
    assert not other.customers.equals(parts.customers)
    small = customer_intervals(bg, rfm, gg, n_draws=60, seed=5, memory_limit=60 * 8 * 5 * 500)
    assert small.chunk_size == 500
    pd.testing.assert_frame_equal(whole.customers, small.customers, check_exact=True)


def test_estimates_are_the_models_predictions(fitted):
    rfm, bg, gg = fitted
    res = customer_intervals(bg, rfm, gg, horizon=6, time_unit="M", discount_rate=0.02, margin=0.3,
                             n_draws=150, seed=1)
    c = res.customers
    assert c.index.equals(rfm.index) and res.level == 0.9 and res.n_draws == 150
    t = 6 * (365.25 / 12) / 7
    assert res.t == pytest.approx(t)
    np.testing.assert_allclose(c["expected_purchases"], bg.conditional_expected_purchases(t, rfm), rtol=1e-12)
    np.testing.assert_allclose(c["prob_alive"], bg.prob_alive(rfm), rtol=1e-12)
    clv = customer_lifetime_value(bg, gg, rfm, horizon=6, discount_rate=0.02, margin=0.3, time_unit="M")
    np.testing.assert_allclose(c["clv"], clv, rtol=1e-10)
    for q in ("expected_purchases", "prob_alive", "clv"):
        assert (c[f"{q}_lower"] <= c[f"{q}_upper"]).all()
        inside = (c[f"{q}_lower"] <= c[q] * (1 + 1e-9)) & (c[q] <= c[f"{q}_upper"] * (1 + 1e-9))
        assert inside.mean() > 0.99, q
    pop = res.population
    assert pop.loc[TOTAL, "estimate"] == pytest.approx(c["expected_purchases"].sum())
    assert pop.loc["CLV (total)", "estimate"] == pytest.approx(clv.sum())
    assert (pop["lower"] < pop["estimate"]).all() and (pop["estimate"] < pop["upper"]).all()
    # customers with identical rows share their interval
    dup = rfm.duplicated(["frequency", "recency", "T", "monetary_value"], keep=False)
    assert dup.any()
    g = c.loc[dup].groupby([rfm.loc[dup, k] for k in ("frequency", "recency", "T", "monetary_value")])
    assert (g["clv_upper"].nunique() == 1).all()


# Coverage, with a binomial bound that separates 90% from 80% coverage. Each replicate is an independent
# trial: new customers simulated from the true BG/NBD, a new fit, new parameter draws. With N = 240
# replicates the test asks for at least K = 205 covered:
#   P(X >= 205 | X ~ Bin(240, 0.90)) = 0.991   (a correct 90% interval fails 0.9% of seeds)
#   P(X >= 205 | X ~ Bin(240, 0.80)) = 0.019   (an 80% interval passes 1.9% of seeds)
# (computed below with scipy.stats.binom). 240 full customer_intervals calls would take ~8 minutes (its
# per-draw cost is model construction), so each trial computes the population interval the way
# customer_intervals does (quantiles of the per-draw totals over draw_parameters with the same seed),
# with the draws stacked into one array evaluation, and test_population_interval_is_the_quantile_of_the_
# draw_totals checks that customer_intervals gives exactly that interval. The quantity is the expected
# number of customers alive (no 2F1 per draw, ~0.1 s per trial).
N_REPLICATES, MIN_COVERED = 240, 205
BG_TRUTH = {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 3.0}


def _fixed(cls, theta):
    """A model whose parameters are ``theta``: one vector, or a (draws, k) array that broadcasts as columns."""
    class Fixed(cls):
        def _theta(self):
            th = np.asarray(theta, float)
            return th if th.ndim == 1 else [c[:, None] for c in th.T]
    return Fixed()


def _bg_sample(n, rep):
    rng = np.random.default_rng(50 + rep)
    data = simulate_bgnbd(n, **BG_TRUTH, T=np.round(rng.uniform(20, 60, n) * 7) / 7, seed=rep)
    return data[["frequency", "recency", "T"]]


def test_binomial_bound_separates_90_from_80_percent():
    assert binom.sf(MIN_COVERED - 1, N_REPLICATES, 0.90) >= 0.99
    assert binom.sf(MIN_COVERED - 1, N_REPLICATES, 0.80) <= 0.02


def test_population_alive_interval_covers_the_truth_90_percent():
    true_model = BetaGeo.from_params(**BG_TRUTH)
    covered = []
    for rep in range(N_REPLICATES):
        data = _bg_sample(500, rep)
        m = BetaGeo().fit(data)
        x = [data[c].to_numpy(float) for c in ("frequency", "recency", "T")]
        totals = _fixed(BetaGeo, draw_parameters(m, 200, seed=rep).to_numpy()).prob_alive(*x).sum(axis=1)
        lo, hi = np.quantile(totals, [0.05, 0.95])
        covered.append(lo <= true_model.prob_alive(data).sum() <= hi)
    assert sum(covered) >= MIN_COVERED, (sum(covered), N_REPLICATES)


@pytest.mark.parametrize("cls,sim,truth", [
    (BetaGeo, simulate_bgnbd, BG_TRUTH),
    (ParetoNBD, simulate_paretonbd, {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}),
])
def test_population_interval_is_the_quantile_of_the_draw_totals(cls, sim, truth):
    """customer_intervals' population rows are the 5% / 95% quantiles of the per-draw totals over the
    draws of draw_parameters with the same seed (what the coverage trial above computes)."""
    rng = np.random.default_rng(7)
    data = sim(800, **truth, T=np.round(rng.uniform(20, 60, 800) * 7) / 7, seed=7)[["frequency", "recency", "T"]]
    m = cls().fit(data)
    res = customer_intervals(m, data, t=26.0, n_draws=60, seed=3, model_time_unit="W")
    draws = draw_parameters(m, 60, seed=np.random.default_rng(3)).to_numpy()
    x = [data[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    alive = np.array([_fixed(cls, th).prob_alive(*x).sum() for th in draws])
    purchases = np.array([_fixed(cls, th).conditional_expected_purchases(26.0, *x).sum() for th in draws])
    for name, totals in (("expected customers alive", alive), (TOTAL, purchases)):
        np.testing.assert_allclose(res.population.loc[name, ["lower", "upper"]].to_numpy(float),
                                   np.quantile(totals, [0.05, 0.95]), rtol=1e-10, err_msg=name)


def test_population_clv_interval_is_the_quantile_of_the_draw_totals():
    tx = simulate_transactions(1500, model="bgnbd", params={"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0},
                               spend=(6.0, 4.0, 15.0), start="2022-01-01", end="2023-12-31", seed=100)
    rfm = rfm_summary(tx, observation_end="2023-12-31", time_unit="W")
    bg, gg = BetaGeo().fit(rfm), GammaGamma().fit(rfm)
    res = customer_intervals(bg, rfm, gg, n_draws=40, seed=4)
    rng = np.random.default_rng(4)
    d_tx, d_sp = draw_parameters(bg, 40, seed=rng), draw_parameters(gg, 40, seed=rng)
    totals = [customer_lifetime_value(BetaGeo.from_params(time_unit="W", **a), GammaGamma.from_params(**b), rfm).sum()
              for a, b in zip(d_tx.to_dict("records"), d_sp.to_dict("records"))]
    np.testing.assert_allclose(res.population.loc["CLV (total)", ["lower", "upper"]].to_numpy(float),
                               np.quantile(totals, [0.05, 0.95]), rtol=1e-8)


def test_draws_follow_the_asymptotic_distribution(fitted):
    _, bg, _ = fitted
    d = draw_parameters(bg, 4000, seed=0)
    logd = np.log(d)
    se = np.sqrt(np.diag(bg.covariance_log_))
    np.testing.assert_allclose(logd.mean(), np.log(bg.params_), atol=0.1 * se.max())
    np.testing.assert_allclose(np.cov(logd.T), bg.covariance_log_, atol=0.1 * se.max() ** 2)
    with pytest.raises(ValueError, match="covariance"):
        draw_parameters(BetaGeo.from_params(r=1, alpha=1, a=1, b=1), 10)
    with pytest.raises(ValueError, match="method"):
        draw_parameters(bg, 10, method="jackknife")


def test_parametric_bootstrap(fitted):
    rfm, bg, gg = fitted
    d = draw_parameters(bg, 8, method="bootstrap", seed=2, data=rfm)
    assert d.shape == (8, 4) and np.isfinite(d.to_numpy()).all()
    spread = np.log(d).std()
    se = np.sqrt(np.diag(bg.covariance_log_))
    assert ((spread / se > 0.3) & (spread / se < 3)).all()
    res = customer_intervals(bg, rfm, gg, n_draws=6, method="bootstrap", seed=2)
    assert res.method == "bootstrap" and res.draws.shape == (6, 7)
    with pytest.raises(ValueError, match="needs the customers"):
        draw_parameters(bg, 3, method="bootstrap")


# Pareto/NBD and the CLV total: the same binomial bound (N_REPLICATES, MIN_COVERED), each replicate a new
# sample from the generator (toolkit.clv.simulate_paretonbd / simulate_bgnbd with the Gamma-Gamma spend
# process of toolkit.clv.models.simulate), a new fit and new draws; the truth is the quantity at the generator's
# parameters. Pareto/NBD parameters are interior: with s, beta large the fit goes to the boundary (one dropout
# rate for all) and the asymptotic covariance is singular. Pareto/NBD's 2F1 branch does not broadcast over
# stacked draws, so its draws are evaluated one by one (fewer customers and draws keep the time down).
PNBD_TRUTH = {"r": 1.0, "alpha": 5.0, "s": 0.5, "beta": 10.0}
GG_TRUTH = {"p": 2.0, "q": 5.0, "gamma": 40.0}
CLV_HORIZON = 6            # months, of weekly models


def test_population_alive_interval_covers_the_truth_90_percent_pareto_nbd():
    true_model = ParetoNBD.from_params(**PNBD_TRUTH)
    covered = []
    for rep in range(N_REPLICATES):
        rng = np.random.default_rng(50 + rep)
        data = simulate_paretonbd(400, **PNBD_TRUTH, T=np.round(rng.uniform(20, 60, 400) * 7) / 7,
                                  seed=rep)[["frequency", "recency", "T"]]
        m = ParetoNBD(n_starts=1).fit(data)
        x = [data[c].to_numpy(float) for c in ("frequency", "recency", "T")]
        totals = [_fixed(ParetoNBD, th).prob_alive(*x).sum() for th in draw_parameters(m, 100, seed=rep).to_numpy()]
        lo, hi = np.quantile(totals, [0.05, 0.95])
        covered.append(lo <= true_model.prob_alive(data).sum() <= hi)
    assert sum(covered) >= MIN_COVERED, (sum(covered), N_REPLICATES)


def _bg_gg_sample(n: int, rep: int) -> pd.DataFrame:
    """BG/NBD customers with Gamma-Gamma spend: nu ~ Gamma(q, rate gamma), the mean of x occasion values
    ~ Gamma(p x, rate nu) / x (0 for customers without repeat purchases, as rfm_summary has it)."""
    rng = np.random.default_rng(50 + rep)
    data = _bg_sample(n, rep)
    x = data["frequency"].to_numpy()
    nu = rng.gamma(GG_TRUTH["q"], 1.0 / GG_TRUTH["gamma"], n)
    k = np.maximum(x, 1)
    data["monetary_value"] = np.where(x > 0, rng.gamma(GG_TRUTH["p"] * k, 1.0 / nu) / k, 0.0)
    data.attrs["time_unit"] = "W"
    return data


def _clv_totals(d_tx: np.ndarray, d_sp: np.ndarray, data: pd.DataFrame, horizon: int = CLV_HORIZON) -> np.ndarray:
    """Total discounted CLV per draw (margin 1, 1% a month), as customer_intervals computes it: spend times
    sum_i (disc_i - disc_(i+1)) E[Y(t_i)] on the monthly grid."""
    grid = np.arange(1, horizon + 1) * (365.25 / 12) / 7
    disc = discount_factors(horizon, 0.01)
    wts = disc - np.r_[disc[1:], 0.0]
    x = [data[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    m = data["monetary_value"].to_numpy(float)
    return np.array([(_fixed(GammaGamma, sp).expected_average_value(x[0], m)
                      * (wts @ _fixed(BetaGeo, tx).conditional_expected_purchases(grid[:, None], *x))).sum()
                     for tx, sp in zip(d_tx, d_sp)])


def test_population_clv_interval_covers_the_truth_90_percent():
    true_bg, true_gg = BetaGeo.from_params(time_unit="W", **BG_TRUTH), GammaGamma.from_params(**GG_TRUTH)
    covered = []
    for rep in range(N_REPLICATES):
        data = _bg_gg_sample(500, rep)
        bg, gg = BetaGeo().fit(data), GammaGamma().fit(data)
        rng = np.random.default_rng(rep)
        d_tx, d_sp = draw_parameters(bg, 100, seed=rng).to_numpy(), draw_parameters(gg, 100, seed=rng).to_numpy()
        lo, hi = np.quantile(_clv_totals(d_tx, d_sp, data), [0.05, 0.95])
        truth = customer_lifetime_value(true_bg, true_gg, data, horizon=CLV_HORIZON).sum()
        covered.append(lo <= truth <= hi)
    assert sum(covered) >= MIN_COVERED, (sum(covered), N_REPLICATES)


def test_population_clv_interval_is_the_stacked_trials_interval():
    """customer_intervals' CLV (total) row is the 5% / 95% quantile of _clv_totals over its draws (what the
    CLV coverage trial computes)."""
    data = _bg_gg_sample(800, 7)
    bg, gg = BetaGeo().fit(data), GammaGamma().fit(data)
    res = customer_intervals(bg, data, gg, horizon=CLV_HORIZON, n_draws=60, seed=3)
    rng = np.random.default_rng(3)
    d_tx, d_sp = draw_parameters(bg, 60, seed=rng).to_numpy(), draw_parameters(gg, 60, seed=rng).to_numpy()
    np.testing.assert_allclose(res.population.loc["CLV (total)", ["lower", "upper"]].to_numpy(float),
                               np.quantile(_clv_totals(d_tx, d_sp, data), [0.05, 0.95]), rtol=1e-10)
