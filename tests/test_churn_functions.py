"""Direct tests of churn functions no other test calls (issue #19, item 7). Every expected value is
computed by hand on a tiny frame or with scikit-learn, never copied from a run."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from toolkit import churn as ch


def test_calibration_table_by_hand():
    # 10 customers, 5 bins of 2 by rank of p (ties by position)
    p = np.array([0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.05])
    y = np.array([1, 0, 1, 0, 1, 0, 0, 0, 1, 0])
    tab = ch.calibration_table(y, p, bins=5)
    order = np.argsort(p, kind="stable")          # lowest first: bin 1 = the two lowest scores
    expected_pred = [p[order[2 * i:2 * i + 2]].mean() for i in range(5)]
    expected_obs = [y[order[2 * i:2 * i + 2]].mean() for i in range(5)]
    assert tab.index.tolist() == [1, 2, 3, 4, 5] and (tab["customers"] == 2).all()
    np.testing.assert_allclose(tab["mean_predicted"], expected_pred)
    np.testing.assert_allclose(tab["observed_rate"], expected_obs)
    assert tab["observed_rate"].tolist() == [0.0, 0.0, 0.5, 1.0, 0.5]   # sorted y: 00 00 01 11 01


def test_targeting_curve_by_hand():
    prob = pd.Series([0.9, 0.5, 0.1, 0.4], index=list("abcd"))
    value = pd.Series({"a": 10.0, "b": 100.0, "c": 1000.0})       # d has no value: 0
    curve = ch.targeting_curve(prob, value, points=4)
    # value at risk p * v: a 9, b 50, c 100, d 0
    assert curve.index.tolist() == [0, 1, 2, 3, 4]
    assert curve["by value at risk"].tolist() == [0, 100, 150, 159, 159]
    assert curve["by churn probability"].tolist() == [0, 9, 59, 59, 159]   # a, b, d, c
    np.testing.assert_allclose(curve["at random (expected)"], 159 * np.arange(5) / 4)


def test_tenure_bands_by_hand():
    t = pd.Series([0, 6, 7, 12, 13, 24, 48, 49, np.nan], name="tenure")
    b = ch.tenure_bands(t)
    assert b.astype(str).tolist() == ["0-6 months", "0-6 months", "7-12 months", "7-12 months", "13-24 months",
                                      "13-24 months", "25-48 months", "49+ months", "(missing)"]
    assert list(b.cat.categories) == ["0-6 months", "7-12 months", "13-24 months", "25-48 months", "49+ months",
                                      "(missing)"]
    assert b.cat.ordered and b.name == "tenure"


def test_permutation_importance_against_a_direct_computation():
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = (X["signal"] + 0.5 * rng.normal(size=n) > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(X, y)
    imp = ch.permutation_importance(model, X, y, n_repeats=3, seed=4, max_rows=None)
    base = roc_auc_score(y, model.predict_proba(X)[:, 1])
    assert imp.attrs["baseline_auc"] == pytest.approx(base)
    # the same permutations, drawn here from the same seed in the same order (signal first, then noise)
    perm_rng = np.random.default_rng(4)
    for driver in ("signal", "noise"):
        drops = []
        for _ in range(3):
            Xp = X.copy()
            Xp[driver] = X[driver].to_numpy()[perm_rng.permutation(n)]
            drops.append(base - roc_auc_score(y, model.predict_proba(Xp)[:, 1]))
        assert imp.loc[driver, "auc_drop"] == pytest.approx(np.mean(drops), abs=1e-12), driver
        assert imp.loc[driver, "sd"] == pytest.approx(np.std(drops, ddof=1), abs=1e-12), driver
    assert imp.index.tolist() == ["signal", "noise"] and imp.loc["signal", "auc_drop"] > 0.3


def test_satisfaction_before_churn_by_hand():
    as_of = pd.Timestamp("2024-12-31")
    labels = pd.DataFrame({"churned": [True, True, False, False],
                           "churn_date": pd.to_datetime(["2024-06-30", "2024-03-31", None, None]),
                           "churn_reason": ["price", None, None, None]}, index=["a", "b", "c", "d"])
    labels.attrs["as_of"] = as_of
    surveys = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
        "response_date": pd.to_datetime(["2024-01-10", "2024-05-31", "2024-07-15",   # a: last before leaving 05-31
                                         "2022-01-01",                               # b: outside the 365 days
                                         "2024-02-01", "2024-12-01", "2024-12-20"]),
        "overall_satisfaction": [4, 2, 5, 1, 3, 5, 1],
        "nps": [8, 3, 10, 0, 6, 9, 2],
    })
    out = ch.satisfaction_before_churn(SimpleNamespace(surveys=surveys, as_of=as_of), labels)
    assert out.index.tolist() == ["churned", "churned: Price", "stayed"]
    churned = out.loc["churned"]
    assert churned["customers_with_response"] == 1 and churned["mean_satisfaction"] == 2
    assert churned["share_dissatisfied"] == 1 and churned["mean_nps_answer"] == 3 and churned["median_days_before"] == 30
    stayed = out.loc["stayed"]            # c: 2024-12-01 (30 days), d: 2024-12-20 (11 days)
    assert stayed["customers_with_response"] == 2 and stayed["mean_satisfaction"] == 3
    assert stayed["share_dissatisfied"] == 0.5 and stayed["mean_nps_answer"] == 5.5
    assert stayed["median_days_before"] == 20.5
    assert ch.satisfaction_before_churn(SimpleNamespace(surveys=None, as_of=as_of), labels) is None
