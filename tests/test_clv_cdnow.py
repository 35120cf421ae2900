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


def test_cdnow_holdout_forecast_is_close_to_actual(cdnow):
    """Both models forecast the 39-week holdout total within 15% of the 1,882 actual occasions."""
    for model in (BetaGeo().fit(cdnow), ParetoNBD().fit(cdnow)):
        total = model.conditional_expected_purchases(39.0, cdnow).sum()
        assert total == pytest.approx(1882, rel=0.15)
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
