"""Direct tests of survey functions no other test calls (issue #19, item 7): relative_weights beyond
its sum, item_statistics, importance_performance, nps_category. Expected values by hand or by the
textbook formulas written out here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import survey as sv


def _alpha(items: pd.DataFrame) -> float:
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))


def test_relative_weights_closed_forms():
    # orthogonal drivers: each weight is the squared correlation with the outcome
    corr = np.array([[1, 0, 0, 0.5], [0, 1, 0, 0.3], [0, 0, 1, -0.2], [0.5, 0.3, -0.2, 1]])
    np.testing.assert_allclose(sv.relative_weights(corr), [0.25, 0.09, 0.04], atol=1e-12)
    # two exchangeable drivers (r12 = rho, r1y = r2y = c): equal shares of R^2 = 2 c^2 / (1 + rho)
    rho, c = 0.6, 0.5
    corr = np.array([[1, rho, c], [rho, 1, c], [c, c, 1]])
    np.testing.assert_allclose(sv.relative_weights(corr), [c ** 2 / (1 + rho)] * 2, rtol=1e-12)
    # reordering the drivers reorders the weights
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    x[:, 1] += 0.7 * x[:, 0]
    y = x @ np.array([0.5, 0.2, 0.0, -0.4]) + rng.normal(size=400)
    full = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    w = sv.relative_weights(full)
    perm = [2, 0, 3, 1]
    np.testing.assert_allclose(sv.relative_weights(full[np.ix_(perm + [4], perm + [4])]), w[perm], rtol=1e-10)
    assert w[2] < 0.01 < w[1] < w[0]


def test_item_statistics_by_hand():
    frame = pd.DataFrame({"a1": [1, 2, 3, 4, 5, 3], "a2": [2, 2, 4, 4, 5, 2], "a3": [1, 3, 3, 5, 4, 4],
                          "b1": [5, 4, 3, 2, 1, 3]})
    st = sv.item_statistics(frame, {"a": ["a1", "a2", "a3"], "b": ["b1"]})
    assert st.index.tolist() == [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1")]
    for item in ("a1", "a2", "a3"):
        others = [o for o in ("a1", "a2", "a3") if o != item]
        row = st.loc[("a", item)]
        assert row["mean"] == pytest.approx(frame[item].mean()) and row["sd"] == pytest.approx(frame[item].std(ddof=1))
        assert row["item_total_r"] == pytest.approx(np.corrcoef(frame[item], frame[others].sum(axis=1))[0, 1])
        assert row["alpha_if_deleted"] == pytest.approx(_alpha(frame[others]), abs=1e-12)   # two items left
    b = st.loc[("b", "b1")]
    assert np.isnan(b["item_total_r"]) and np.isnan(b["alpha_if_deleted"])


def test_item_statistics_alpha_if_deleted():
    rng = np.random.default_rng(2)
    true = rng.normal(size=300)
    frame = pd.DataFrame({f"q{i}": true + rng.normal(scale=s, size=300) for i, s in enumerate([0.5, 0.6, 0.7, 3.0])})
    st = sv.item_statistics(frame, {"c": list(frame.columns)}).loc["c"]
    for item in frame.columns:
        assert st.loc[item, "alpha_if_deleted"] == pytest.approx(_alpha(frame.drop(columns=item)), abs=1e-12)
    # dropping the noisy item raises alpha; dropping a good one lowers it
    assert st.loc["q3", "alpha_if_deleted"] > _alpha(frame) > st.loc["q0", "alpha_if_deleted"]


def test_importance_performance_by_hand():
    drivers = pd.DataFrame({"label": ["Price", "Service", "Speed", "Range"], "importance": [0.4, 0.3, 0.2, 0.1]},
                           index=["price", "service", "speed", "range"])
    scores = pd.DataFrame({"price": [2, 3], "service": [5, 4], "speed": [1, 1], "range": [5, 5], "other": [1, 1]})
    out = sv.importance_performance(drivers, scores, scale=(1, 5))
    # performance = (mean - 1) / 4 * 100: 37.5, 87.5, 0, 100; cuts = means: importance 0.25, performance 56.25
    np.testing.assert_allclose(out["performance"], [37.5, 87.5, 0.0, 100.0])
    assert out.attrs["importance_cut"] == pytest.approx(0.25) and out.attrs["performance_cut"] == pytest.approx(56.25)
    assert out["quadrant"].tolist() == ["Concentrate here", "Keep up the good work", "Low priority", "Possible overkill"]


def test_nps_category_by_hand():
    s = pd.Series([10, 9, 8.0, 7, 6, 0, np.nan, -1])
    got = sv.nps_category(s)
    assert got.iloc[:6].tolist() == ["promoter", "promoter", "passive", "passive", "detractor", "detractor"]
    assert got.iloc[6:].isna().all()                       # no answer, and an answer outside 0-10
