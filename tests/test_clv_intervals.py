"""Per-customer intervals from parameter uncertainty: chunking changes nothing, the point estimates are
the models' own predictions, and the population intervals cover the truth in repeated simulations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import (BetaGeo, GammaGamma, ParetoNBD, customer_lifetime_value, rfm_summary, simulate_bgnbd,
                         simulate_paretonbd, simulate_transactions)
from toolkit.clv.intervals import customer_intervals, draw_parameters

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


@pytest.mark.parametrize("cls,sim,truth", [
    (BetaGeo, simulate_bgnbd, {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 3.0}),
    (ParetoNBD, simulate_paretonbd, {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}),
])
def test_population_interval_covers_the_true_expected_purchases(cls, sim, truth):
    """90% intervals for the total expected purchases of the next half year, 6 replicates."""
    true_model = cls.from_params(**truth)
    covered = []
    for rep in range(6):
        rng = np.random.default_rng(50 + rep)
        data = sim(2500, **truth, T=np.round(rng.uniform(20, 60, 2500) * 7) / 7, seed=rep)
        data = data[["frequency", "recency", "T"]]
        m = cls().fit(data)
        res = customer_intervals(m, data, t=26.0, n_draws=200, seed=rep, model_time_unit="W")
        lo, hi = res.population.loc[TOTAL, ["lower", "upper"]]
        covered.append(lo <= true_model.conditional_expected_purchases(26.0, data).sum() <= hi)
    assert sum(covered) >= 4, covered


def test_population_clv_interval_covers_the_truth():
    bg_true = BetaGeo.from_params(r=0.6, alpha=6.0, a=0.8, b=3.0, time_unit="W")
    gg_true = GammaGamma.from_params(p=6.0, q=4.0, gamma=15.0)
    covered = []
    for rep in range(5):
        tx = simulate_transactions(2500, model="bgnbd", params={"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0},
                                   spend=(6.0, 4.0, 15.0), start="2022-01-01", end="2023-12-31", seed=100 + rep)
        rfm = rfm_summary(tx, observation_end="2023-12-31", time_unit="W")
        res = customer_intervals(BetaGeo().fit(rfm), rfm, GammaGamma().fit(rfm), n_draws=200, seed=rep)
        truth = customer_lifetime_value(bg_true, gg_true, rfm).sum()
        lo, hi = res.population.loc["CLV (total)", ["lower", "upper"]]
        covered.append(lo <= truth <= hi)
    assert sum(covered) >= 3, covered


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
