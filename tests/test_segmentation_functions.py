"""Direct tests of segmentation functions no other test calls (issue #19, item 7): profile_by,
spend_by_region, demographic_segments, mix_tests. Expected values by hand on tiny frames or by scipy."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit import segmentation as sg


@pytest.fixture
def feats():
    return pd.DataFrame({
        "monetary": [100.0, 300.0, 50.0, 50.0, 500.0, 0.0],
        "frequency": [1, 3, 1, 2, 5, 0],
        "recency_days": [10, 20, 30, 40, 50, 60],
        "region": ["N", "N", "S", "S", "S", "E"],
        "tier": ["low", "high", "low", "low", "high", None],
    }, index=[f"c{i}" for i in range(6)])


def test_profile_by_by_hand(feats):
    out = sg.profile_by(feats, feats["tier"].rename("tier"))
    assert out.index.name == "tier" and out.index.tolist() == ["high", "low"]     # the customer without a tier dropped
    assert out["customers"].tolist() == [2, 3]
    np.testing.assert_allclose(out["customer_share"], [0.4, 0.6])
    assert out["revenue"].tolist() == [800.0, 200.0]
    np.testing.assert_allclose(out["revenue_share"], [0.8, 0.2])
    assert out["median_monetary"].tolist() == [400.0, 50.0]
    assert out["median_frequency"].tolist() == [4.0, 1.0] and out["median_recency_days"].tolist() == [35.0, 30.0]


def test_spend_by_region_by_hand(feats):
    out = sg.spend_by_region(feats)
    assert out.index.tolist() == ["N", "S", "E"]            # by median spend, highest first: 200, 50, 0
    assert out["customers"].tolist() == [2, 3, 1]
    assert out["median_spend"].tolist() == [200.0, 50.0, 0.0] and out["revenue"].tolist() == [400.0, 600.0, 0.0]
    np.testing.assert_allclose(out["mean_spend"], [200.0, 200.0, 0.0])
    # mean ranks (average ranks over all six; the two 50s share rank 2.5): N (4, 5), S (2.5, 2.5, 6), E (1)
    np.testing.assert_allclose(out["mean_rank"], [4.5, 11 / 3, 1.0])


def test_demographic_segments_by_hand():
    f = pd.DataFrame({"age": [17, 18, 34, 35, 70, np.nan], "income": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
                      "gender": ["f", "m", "f", None, "m", "f"]})
    cfg = {"age_edges": [0, 18, 35, 200], "age_labels": ["<18", "18-34", "35+"],
           "income_quantiles": [0, 0.5, 1], "income_labels": ["lower half", "upper half"]}
    out = sg.demographic_segments(f, cfg)
    assert list(out.columns) == ["age_band", "income_band", "gender"]          # no occupation column in the data
    assert out["age_band"].tolist()[:5] == ["<18", "18-34", "18-34", "35+", "35+"] and pd.isna(out["age_band"].iloc[5])
    # median income 35: 10, 20, 30 in the lower half (lowest edge included), 40, 50, 60 above
    assert out["income_band"].tolist() == ["lower half"] * 3 + ["upper half"] * 3
    assert out["gender"].tolist()[:3] == ["f", "m", "f"] and pd.isna(out["gender"].iloc[3])
    assert sg.demographic_segments(f[[]], cfg).shape == (6, 0)


def test_mix_tests_against_scipy():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"region": rng.choice(["N", "S", "E"], 400), "tier": rng.choice(["a", "b"], 400),
                          "one": "x"})
    frame.loc[frame["region"] == "N", "tier"] = rng.choice(["a", "b"], (frame["region"] == "N").sum(), p=[0.8, 0.2])
    out = sg.mix_tests(frame, ["tier", "one", "missing"])
    assert out.index.tolist() == ["tier", "one"]           # schemes without a column are left out
    ct = pd.crosstab(frame["region"], frame["tier"]).to_numpy()
    chi2, p, dof, _ = stats.chi2_contingency(ct)
    row = out.loc["tier"]
    assert row["chi2"] == pytest.approx(chi2) and row["p_value"] == pytest.approx(p) and row["dof"] == dof == 2
    assert row["cramers_v"] == pytest.approx(np.sqrt(chi2 / 400)) and row["n"] == 400 and row["p_value"] < 0.001
    assert np.isnan(out.loc["one", "chi2"]) and out.loc["one", "segments"] == 1  # one segment: no test
