"""KPI scorecard: formulas against hand-computed values, tests against reference implementations,
regional flags on the demo data (East churns more, North is more satisfied; nothing when regions are
alike), and the KPI notebook on data without transactions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from toolkit.data import load_dataset
from toolkit.data.demo import write_demo
from toolkit.kpi import COMPANY, build_scorecard
from toolkit.kpi import stats as S

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------ a tiny hand-made company
CUSTOMERS = """customer_id,region,acquisition_date,churn_date,churn_reason
c1,A,2024-12-01,,
c2,A,2024-12-15,2025-02-10,price
c3,A,2025-02-01,,
c4,B,2024-11-01,2025-05-05,competitor
c5,B,2024-11-20,,
c6,B,2025-04-10,,
"""
TRANSACTIONS = """customer_id,order_id,date,amount
c1,o1,2025-01-10,100
c1,o2,2025-03-05,80
c1,o2,2025-03-05,20
c1,o3,2025-04-02,50
c2,o4,2025-01-20,40
c2,o5,2025-01-25,-10
c3,o6,2025-02-10,200
c4,o7,2025-01-05,30
c4,o8,2025-04-01,60
c5,o9,2025-05-01,90
c6,o10,2025-04-15,120
"""
SPEND = """period,region,channel,spend
2025-01-01,A,ads,100
2025-02-01,A,ads,200
2025-04-01,B,ads,300
2025-05-01,B,ads,60
"""
SURVEYS = """customer_id,response_date,overall_satisfaction,nps
c1,2025-02-01,5,10
c2,2025-02-02,4,9
c3,2025-03-01,2,3
c4,2025-02-15,3,7
c5,2025-03-15,5,0
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    for name, text in (("customers", CUSTOMERS), ("transactions", TRANSACTIONS), ("spend", SPEND),
                       ("surveys", SURVEYS)):
        (d / f"{name}.csv").write_text(text)
    spec = {"name": "tiny", "currency": "EUR", "as_of": "2025-06-30", "base": str(d), "tables": {
        "transactions": {"file": "transactions.csv", "columns": {c: c for c in ("customer_id", "order_id", "date",
                                                                                 "amount")}},
        "customers": {"file": "customers.csv", "columns": {c: c for c in ("customer_id", "region", "acquisition_date",
                                                                           "churn_date", "churn_reason")}},
        "marketing_spend": {"file": "spend.csv", "columns": {c: c for c in ("period", "region", "channel", "spend")}},
        "surveys": {"file": "surveys.csv", "columns": {c: c for c in ("customer_id", "response_date",
                                                                       "overall_satisfaction", "nps")},
                    "scale": [1, 5]},
    }}
    ds = load_dataset(spec)
    return ds, build_scorecard(ds, period="Q", n_boot=500)


def _row(res, region, period):
    t = res.table
    return t.loc[(t["region"] == region) & (t["period"] == period)].iloc[0]


def test_kpis_match_hand_computed_values(tiny):
    _, res = tiny
    a1 = _row(res, "A", "2025Q1")
    expected_a1 = {"customers": 2, "new": 1, "churned": 1, "active": 3, "revenue": 430.0,
                   "aov": 440 / 4,                      # o1 100, o2 100 (two lines), o4 40, o6 200; o5 is a return
                   "purchase_frequency": 4 / 3, "revenue_per_customer": 430 / 3,
                   "churn_rate": 0.5, "retention_rate": 0.5, "cac": 300.0,
                   "cltv": 4 / 3 * 110 * 2, "clv_cac": 4 / 3 * 110 * 2 / 300,
                   "csat": 2 / 3, "nps": 100 * (2 - 1) / 3}
    for k, v in expected_a1.items():
        assert a1[k] == pytest.approx(v), k
    b1 = _row(res, "B", "2025Q1")
    assert (b1["customers"], b1["new"], b1["churned"], b1["active"], b1["revenue"]) == (2, 0, 0, 1, 30)
    assert b1["churn_rate"] == 0 and np.isnan(b1["cac"]) and np.isnan(b1["cltv"])   # no churn: lifespan unknown
    assert b1["csat"] == pytest.approx(0.5) and b1["nps"] == pytest.approx(-50)
    b2 = _row(res, "B", "2025Q2")
    expected_b2 = {"customers": 2, "new": 1, "churned": 1, "active": 3, "revenue": 270.0, "aov": 90.0,
                   "purchase_frequency": 1.0, "churn_rate": 0.5, "cac": 360.0, "cltv": 180.0, "clv_cac": 0.5}
    for k, v in expected_b2.items():
        assert b2[k] == pytest.approx(v), k
    a2 = _row(res, "A", "2025Q2")
    assert (a2["customers"], a2["new"], a2["churned"], a2["revenue"]) == (2, 0, 0, 50)
    comp = _row(res, COMPANY, "2025Q1")
    assert (comp["customers"], comp["new"], comp["active"], comp["revenue"]) == (4, 1, 4, 460)
    assert comp["churn_rate"] == pytest.approx(0.25) and comp["aov"] == pytest.approx(470 / 5)


def test_region_is_compared_with_the_rest_of_the_company(tiny):
    _, res = tiny
    sc = res.scorecard
    row = sc.loc[(sc["region"] == "A") & (sc["period"] == "2025Q1") & (sc["metric"] == "churn_rate")
                 & (sc["comparison"] == "rest")].iloc[0]
    assert row["reference"] == 0.0                          # B alone (0 of 2), not the company (1 of 4)
    z, p = proportions_ztest([1, 0], [2, 2])
    assert row["statistic"] == pytest.approx(z) and row["p_value"] == pytest.approx(p)
    lo, hi = proportion_confint(1, 2, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    prev = sc.loc[(sc["region"] == "B") & (sc["period"] == "2025Q2") & (sc["metric"] == "churn_rate")
                  & (sc["comparison"] == "previous")].iloc[0]
    assert prev["reference"] == 0.0 and prev["reference_label"] == "2025Q1"
    csat = sc.loc[(sc["region"] == "A") & (sc["period"] == "2025Q1") & (sc["metric"] == "csat")
                  & (sc["comparison"] == "rest")].iloc[0]
    assert csat["reference"] == pytest.approx(0.5) and csat["test"] == "two-proportion z"


def test_scorecard_cac_matches_clv_business(tiny):
    from toolkit.clv.valuation import business  # the project's own module: failing to import it is a failure, not a skip
    ds, res = tiny
    ref = business.cac(ds.marketing_spend, ds.customers, freq="Q", by=("period", "region"))
    ref = ref.loc[ref["new_customers"] > 0]
    t = res.table.loc[res.table["region"] != COMPANY].set_index(["period_start", "region"])["cac"]
    for _, r in ref.iterrows():
        key = (pd.Timestamp(r["period"]), r["region"])
        if key in t.index:
            assert t.loc[key] == pytest.approx(r["cac"]), key


# ------------------------------------------------------------------------------ statistics vs references
def test_intervals_and_tests_match_reference_implementations():
    rng = np.random.default_rng(3)
    k, n = np.array([3, 40, 0, 17]), np.array([10, 90, 12, 17])
    lo, hi = S.wilson(k, n)
    for i in range(len(k)):
        assert (lo[i], hi[i]) == pytest.approx(proportion_confint(k[i], n[i], method="wilson"))
    z, p = S.two_proportion_z(40, 90, 25, 80)
    assert (z, p) == pytest.approx(proportions_ztest([40, 25], [90, 80]))
    x, y = rng.gamma(2, 3, 60), rng.gamma(2, 4, 45)
    t, p = S.welch(x.mean(), x.var(ddof=1), len(x), y.mean(), y.var(ddof=1), len(y))
    ref = st.ttest_ind(x, y, equal_var=False)
    assert (t, p) == pytest.approx((ref.statistic, ref.pvalue))
    ps = rng.uniform(0, 0.2, 9)
    assert S.adjust(ps, "holm") == pytest.approx(multipletests(ps, method="holm")[1])
    assert S.adjust(ps, "fdr_bh") == pytest.approx(multipletests(ps, method="fdr_bh")[1])


def test_wilson_bounds_hold_the_share_at_zero_and_all_successes():
    # statsmodels' closed form leaves rounding dust (0 of 7 -> lower bound ~3e-17 > 0), which made
    # error bars negative in the touchpoint figure; the interval must contain the observed share
    k, n = np.array([0, 7, 0, 1, 3]), np.array([7, 7, 1, 1, 10])
    lo, hi = S.wilson(k, n)
    share = k / n
    assert np.all(lo <= share) and np.all(hi >= share)
    assert lo[0] == 0.0 and hi[1] == 1.0
    ref = proportion_confint(3, 10, method="wilson")
    assert (lo[4], hi[4]) == pytest.approx(ref)


def test_ratio_standard_error_is_the_delta_method():
    rng = np.random.default_rng(5)
    orders = rng.integers(1, 6, 200).astype(float)
    value = orders * rng.gamma(3, 40, 200)
    r, se = S.ratio_se(len(orders), orders.sum(), value.sum(), (orders ** 2).sum(), (orders * value).sum(),
                       (value ** 2).sum())
    mx, my = orders.mean(), value.mean()
    c = np.cov(orders, value, ddof=1)
    var = (c[1, 1] / mx ** 2 - 2 * my * c[0, 1] / mx ** 3 + my ** 2 * c[0, 0] / mx ** 4) / len(orders)
    assert r == pytest.approx(value.sum() / orders.sum()) and se == pytest.approx(np.sqrt(var))


def test_nps_bootstrap_interval_and_test():
    p, q, d = np.array([60.0]), np.array([25.0]), np.array([15.0])
    lo, hi = S.nps_bootstrap(p, q, d, n_boot=4000, seed=1)
    share_p, share_d = 0.6, 0.15
    se = 100 * np.sqrt((share_p + share_d - (share_p - share_d) ** 2) / 100)
    assert lo[0] == pytest.approx(45 - 1.96 * se, abs=2.5) and hi[0] == pytest.approx(45 + 1.96 * se, abs=2.5)
    same = S.nps_bootstrap_test((p, q, d), (p * 2, q * 2, d * 2), n_boot=2000)
    apart = S.nps_bootstrap_test((p, q, d), (np.array([15.0]), np.array([25.0]), np.array([60.0])), n_boot=2000)
    assert same[0] > 0.9 and apart[0] < 0.001


# ------------------------------------------------------------------------------ the demo company
def _demo(root: Path, regional_differences: bool):
    data = root / "data"
    write_demo(data, seed=42, n_customers=4000, regional_differences=regional_differences)
    spec = yaml.safe_load((ROOT / "config" / "datasets" / "demo.yaml").read_text())
    spec.update(name="demo_4k", base=str(data))
    spec.pop("generator")
    return load_dataset(spec)


@pytest.fixture(scope="module")
def demo_flags(tmp_path_factory):
    ds = _demo(tmp_path_factory.mktemp("demo4k"), True)
    return build_scorecard(ds, n_boot=1000).flags()


@pytest.fixture(scope="module")
def alike_result(tmp_path_factory):
    ds = _demo(tmp_path_factory.mktemp("demo4k_alike"), False)
    return build_scorecard(ds, n_boot=1000)


def _flagged(flags: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(flags["region"], flags["metric"], flags["direction"]))


def test_demo_regions_built_different_are_flagged(demo_flags):
    got = _flagged(demo_flags)
    assert ("East", "churn_rate", "higher") in got
    assert ("North", "csat", "higher") in got and ("North", "nps", "higher") in got
    assert not any(r == "East" and m == "churn_rate" and d == "lower" for r, m, d in got)
    assert not any(r == "North" and m in ("csat", "nps") and d == "lower" for r, m, d in got)
    assert not any(m == "churn_rate" and d == "higher" and r != "East" for r, m, d in got)


def test_no_region_is_flagged_when_regions_are_alike(alike_result):
    assert alike_result.flags().empty, alike_result.flags()[["region", "metric", "p_adj"]]


def test_scorecard_is_complete_and_consistent(alike_result):
    sc = alike_result.scorecard
    win = sc.loc[(sc["period"] == alike_result.window) & (sc["comparison"] == "rest")]
    assert set(win["region"]) == {"North", "South", "East", "West", "Central", "Coastal"}
    tested = win.loc[win["test"] != ""]
    assert tested["p_value"].notna().all() and (tested["p_adj"] >= tested["p_value"] - 1e-12).all()
    assert set(tested["metric"]) >= {"aov", "purchase_frequency", "revenue_per_customer", "churn_rate", "csat",
                                     "nps", "cac"}
    inside = win.dropna(subset=["ci_low", "ci_high"])
    assert ((inside["ci_low"] <= inside["value"] + 1e-9) & (inside["value"] <= inside["ci_high"] + 1e-9)).all()


def test_kpi_notebook_degrades_without_transactions(tmp_path):
    import papermill as pm

    from toolkit.results import RunResults

    pm.execute_notebook(str(ROOT / "notebooks" / "02_kpi_scorecard.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"dataset": str(ROOT / "config" / "datasets" / "surveys_mobi.yaml"),
                                    "run_dir": str(tmp_path / "run"), "privacy": True},
                        kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    m = RunResults(tmp_path / "run").read_metrics("kpi")
    assert m["available"] is False
