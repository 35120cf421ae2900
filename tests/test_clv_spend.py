"""Spend model diagnostics: frequency-spend association, the verdict and the effect on CLV."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit.clv.evaluation import spend as sp


def _frame(x, m, **extra):
    return pd.DataFrame({"frequency": np.asarray(x, float), "monetary_value": np.asarray(m, float), **extra})


def test_correlations_against_direct_formulas():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 12, 800).astype(float)
    m = np.where(x > 0, rng.gamma(4, 10, 800) * (1 + 0.05 * x), 0.0)
    m[:5] = -3.0                                           # returns: excluded from the test
    res = sp.frequency_spend_test(_frame(x, m))
    keep = (x > 0) & (m > 0)
    xs, ms = x[keep], m[keep]
    n = keep.sum()
    r = np.corrcoef(xs, ms)[0, 1]
    t = r * np.sqrt((n - 2) / (1 - r ** 2))
    assert res.loc["pearson", "statistic"] == pytest.approx(r)
    assert res.loc["pearson", "p_value"] == pytest.approx(2 * stats.t.sf(abs(t), n - 2), rel=1e-6)
    rx, rm = stats.rankdata(xs), stats.rankdata(ms)
    assert res.loc["spearman", "statistic"] == pytest.approx(np.corrcoef(rx, rm)[0, 1])
    assert res.loc["pearson_log_spend", "statistic"] == pytest.approx(np.corrcoef(xs, np.log(ms))[0, 1])
    assert (res["customers"] == n).all()


def test_verdict_independent_and_dependent():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 15, 3000).astype(float)
    independent = rng.gamma(6 * x, 1 / (0.2 * x))                       # mean 30 whatever the frequency
    fails, text = sp.independence_verdict(sp.frequency_spend_test(_frame(x, independent)))
    assert not fails and ("no evidence" in text or "weakly" in text)
    dependent = independent * (1 + 0.15 * x)                            # frequent buyers spend more
    fails, text = sp.independence_verdict(sp.frequency_spend_test(_frame(x, dependent)))
    assert fails and "spend more" in text
    fails, text = sp.independence_verdict(sp.frequency_spend_test(_frame([1, 0], [10, 0])))
    assert not fails and "too few" in text


def test_bands_spend_table_and_clv_effect():
    bands = sp.frequency_bands([0, 1, 2, 3, 4, 5, 9, 10, 40])
    assert list(bands) == ["0", "1", "2", "3-4", "3-4", "5-9", "5-9", "10+", "10+"]
    x = np.array([0, 1, 1, 2, 4, 12], float)
    m = np.array([0, 10, 20, 30, 50, 100], float)
    rfm = _frame(x, m, frequency_holdout=[1, 0, 2, 1, 3, 5], monetary_value_holdout=[8, 0, 15, 30, 60, 90])
    spend = pd.Series([20, 18, 22, 30, 45, 80], dtype=float)
    pred = pd.Series([0.5, 0.4, 1.0, 1.2, 2.0, 6.0])
    tab = sp.spend_by_frequency(rfm, spend, pred)
    assert tab.loc["1", "customers"] == 2 and tab.loc["1", "observed_spend"] == pytest.approx(15.0)
    assert np.isnan(tab.loc["0", "observed_spend"]) and tab.loc["0", "model_spend"] == 20
    assert tab.loc["1", "holdout_spend"] == pytest.approx(15.0)              # 2 purchases of 15
    assert tab.loc["1", "predicted_revenue"] == pytest.approx((0.4 * 18 + 1.0 * 22) / 2)
    assert tab.loc["1", "actual_revenue"] == pytest.approx(15.0)
    assert tab.loc["10+", "predicted_vs_actual"] == pytest.approx(6 * 80 / 450 - 1)
    table = pd.DataFrame({"frequency": x, "monetary_value": m, "expected_spend": spend, "clv": [5, 4, 6, 8, 20, 90.0]})
    eff = sp.clv_by_frequency(table)
    assert eff.loc["0", "mean_clv_model"] == eff.loc["0", "mean_clv_observed_spend"] == 5
    alt = (4 * 15 / 18 + 6 * 15 / 22) / 2                                   # band 1 observed spend 15
    assert eff.loc["1", "mean_clv_observed_spend"] == pytest.approx(alt)
    assert eff.loc["1", "difference"] == pytest.approx(5 / alt - 1)
    assert eff.loc["10+", "mean_clv_observed_spend"] == pytest.approx(90 * 100 / 80)
