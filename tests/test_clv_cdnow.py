"""Published CDNOW results, reproduced from the raw 1/10 sample (Fader, Hardie & Lee 2005).

Calibration: 1997-01-01 .. 1997-09-30 (39 weeks), holdout to 1998-06-30; weekly units = days / 7.
Each test is named after the published figures it reproduces. Tolerances: parameters within 1%
relative, log-likelihood within 0.5.

Log-likelihood convention: the sum over customers of log L_i, with L_i the per-customer likelihood
exactly as printed in the papers (no constant dropped), time in weeks. At the published BG/NBD
estimates this gives -9582.43, matching the published -9582.4; with time in days it would differ by
sum(x) * log 7 (the Poisson rate density changes unit), so the weekly unit is part of the figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import BetaGeo, GammaGamma, ParetoNBD, rfm_summary

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def cdnow(shared_data) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "cds", "amount"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return rfm_summary(raw, observation_end="1998-06-30", calibration_end="1997-09-30", time_unit="W")


def _check(model, published: dict, ll: float):
    for k, v in published.items():
        assert model.params_[k] == pytest.approx(v, rel=0.01), (k, model.summary())
    assert model.log_likelihood_ == pytest.approx(ll, abs=0.5)


def test_cdnow_calibration_and_holdout_counts(cdnow):
    assert len(cdnow) == 2357
    assert cdnow.frequency.sum() == 2457 and (cdnow.frequency > 0).sum() == 946
    assert cdnow.frequency_holdout.sum() == 1882
    first = cdnow.loc[1]   # Hardie's data set: x = 2, t_x = 30.43, T = 38.86 for the first customer
    assert (first.frequency, round(first.recency, 2), round(first["T"], 2)) == (2, 30.43, 38.86)


def test_fhl2005_counting_your_customers_bgnbd_estimates(cdnow):
    m = BetaGeo().fit(cdnow)
    _check(m, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, -9582.4)
    published = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert published.loglik(cdnow).sum() == pytest.approx(-9582.4, abs=0.05)


def test_fhl2005_counting_your_customers_paretonbd_estimates(cdnow):
    m = ParetoNBD().fit(cdnow)
    _check(m, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, -9595.0)
    assert m.loglik(cdnow).sum() == pytest.approx(m.log_likelihood_, abs=1e-6)   # closed form = fit


def test_fhl2005_rfm_and_clv_gamma_gamma_estimates(cdnow):
    m = GammaGamma().fit(cdnow)
    assert m.n_ == 946
    for k, v in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert m.params_[k] == pytest.approx(v, rel=0.01)


def _simulate_holdout_totals(model, data, t, n_sims, rng):
    """Holdout totals drawn from the fitted model's posterior predictive, independently of its closed form:
    alive at T with P(alive); lambda | x, T ~ Gamma(r + x, alpha + T); BG/NBD: p | alive ~ Beta(a, b + x),
    each purchase the last with probability p, so Y = min(Poisson(lambda t), Geometric(p)); Pareto/NBD:
    mu | alive ~ Gamma(s, beta + T), remaining lifetime tau ~ Exp(mu), Y = Poisson(lambda min(tau, t))."""
    x, T = data["frequency"].to_numpy(float), data["T"].to_numpy(float)
    pa = model.prob_alive(data)
    out = np.empty(n_sims)
    for k in range(n_sims):
        alive = rng.random(len(x)) < pa
        lam = rng.gamma(model.params_["r"] + x, 1 / (model.params_["alpha"] + T))
        if isinstance(model, BetaGeo):
            y = np.minimum(rng.poisson(lam * t), rng.geometric(rng.beta(model.params_["a"], model.params_["b"] + x)))
        else:
            mu = rng.gamma(model.params_["s"], 1 / (model.params_["beta"] + T))
            y = rng.poisson(lam * np.minimum(rng.exponential(1 / mu), t))
        out[k] = (y * alive).sum()
    return out


def test_cdnow_holdout_forecast_is_close_to_actual(cdnow):
    """The 39-week holdout forecast of both models: (1) it is the mean of an independent simulation
    from the fitted model (within 4 Monte Carlo standard errors, sd / sqrt(400) ~ 3.5 occasions);
    (2) the 1,882 actual occasions lie within 4 standard deviations of the forecast, the sd being the
    holdout total's sd under the fitted model computed here by the same simulation (~69 occasions,
    parameter uncertainty not included). The gap is real and large: both models forecast ~1,655-1,670,
    3.2-3.4 sd below the actual (12%), so a forecast drifting another ~2% lower fails this test."""
    rng = np.random.default_rng(2005)
    for model in (BetaGeo().fit(cdnow), ParetoNBD().fit(cdnow)):
        total = model.conditional_expected_purchases(39.0, cdnow).sum()
        sims = _simulate_holdout_totals(model, cdnow, 39.0, 400, rng)
        sd = sims.std(ddof=1)
        assert abs(sims.mean() - total) <= 4 * sd / np.sqrt(len(sims)), (type(model).__name__, total, sims.mean())
        assert 50 < sd < 100, sd
        assert abs(1882 - total) <= 4 * sd, (type(model).__name__, total, sd)
        assert np.all(np.isfinite(model.prob_alive(cdnow)))


def test_cdnow_log_likelihood_unit_convention(shared_data, cdnow):
    """In days the maximum moves by exactly -sum(x) log 7 and alpha scales by 7: the published
    figure is in weekly units."""
    raw = pd.read_csv(shared_data / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "cds", "amount"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    days = rfm_summary(raw, "1998-06-30", "1997-09-30", time_unit="D")
    w, d = BetaGeo().fit(cdnow), BetaGeo().fit(days)
    assert d.log_likelihood_ == pytest.approx(w.log_likelihood_ - cdnow.frequency.sum() * np.log(7), abs=1e-3)
    assert d.params_["alpha"] == pytest.approx(7 * w.params_["alpha"], rel=1e-5)
