"""One definition per concept (issue 16): the value-tier rule, CAC and CLV/CAC, Cronbach's alpha.

Each concept has one home; every report path that uses it goes through that home, so the same
inputs give the same answer in every report. Expected values are worked out by hand in each test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toolkit.churn as ch
import toolkit.clv as clv
import toolkit.segmentation as sg
from toolkit.segmentation import tiers as tiers_module

# ----------------------------------------------------------------------------------------- value tiers
# 12 customers, listed out of id order. Values: two ties across the high/mid boundary (c03 = c09 =
# 500), a tie inside low (c05 = c11 = 50), and two customers without a value (c07 registered but never
# bought, c12 without a CLV prediction). 10 with a value: top round(0.2 x 10) = 2 high, next 3 mid.
# Ranked (value desc, id asc): c02 900, c06 700 | c03 500, c09 500, c04 300 | c01 200, c08 100,
# c05 50, c11 50, c10 10; c07, c12 none. By position (the old CLV / churn rule) the tie c03 / c09
# would depend on the row order.
VALUES = pd.Series({"c09": 500.0, "c03": 500.0, "c11": 50.0, "c02": 900.0, "c07": np.nan, "c05": 50.0,
                    "c10": 10.0, "c01": 200.0, "c04": 300.0, "c06": 700.0, "c12": np.nan, "c08": 100.0})
EXPECTED = {"c02": "high", "c06": "high", "c03": "mid", "c09": "mid", "c04": "mid", "c01": "low",
            "c08": "low", "c05": "low", "c11": "low", "c10": "low", "c07": "none", "c12": "none"}


def test_one_tier_rule_is_shared_by_every_package():
    assert clv.value_tiers is sg.value_tiers is ch.value_tiers is tiers_module.value_tiers
    from toolkit.clv.valuation import business
    from toolkit.churn import warning
    assert business.value_tiers is warning.value_tiers is tiers_module.value_tiers


def _segmentation_path(values: pd.Series) -> pd.Series:
    """The segmentation report's tiers (toolkit.segmentation.pipeline.segment_customers): its config's
    cut-offs, labels and no-purchase label, with ``values`` as the value basis (tier_value='clv')."""
    cfg = sg.load_config()
    t = cfg["tiers"]
    return sg.value_tiers(values, t["cutoffs"], t["labels"], t.get("no_purchase", "none"))


def test_a_customer_gets_the_same_tier_in_every_report():
    seg = _segmentation_path(VALUES)
    clv_path = clv.value_tiers(VALUES)          # toolkit/reports/clv/value.py (cash flows by value tier)
    churn_path = ch.value_tiers(VALUES)         # toolkit/reports/churn/who_leaves.py, why.py
    for got in (seg, clv_path, churn_path):
        assert got.to_dict() == EXPECTED
        assert list(got.index) == list(VALUES.index)   # the caller's order is kept


def test_tiers_do_not_depend_on_the_row_order():
    rng = np.random.default_rng(4)
    for _ in range(5):
        shuffled = VALUES.iloc[rng.permutation(len(VALUES))]
        assert clv.value_tiers(shuffled).to_dict() == EXPECTED


def test_segmentation_pipeline_tiers_follow_the_one_rule():
    """The segmentation report's pipeline (net revenue of buyers; the registered non-buyer c07 has no
    value) gives the tiers the CLV and churn paths give for the same values. c12 bought for 80 here
    (between c08 100 and c05 50), so 11 buyers: round(2.2) = 2 high, round(5.5) -> 5 in the top two."""
    ids = [k for k in VALUES.index if k != "c07"]
    amounts = VALUES.reindex(ids).fillna(80.0).to_numpy() / 2    # two orders per buyer
    tx = pd.DataFrame({"customer_id": ids * 2, "order_id": [f"o{i}" for i in range(2 * len(ids))],
                       "date": [pd.Timestamp("2024-03-01")] * len(ids)
                       + [pd.Timestamp("2024-05-01") - pd.Timedelta(days=3 * i) for i in range(len(ids))],
                       "amount": list(amounts) * 2})
    cust = pd.DataFrame({"customer_id": list(VALUES.index), "region": "north"})
    out = sg.segment_customers(tx, cust, "2024-06-30", k_range=[2], n_bootstrap=0).customers
    expected = dict(EXPECTED, c12="low")
    assert out["value_tier"].to_dict() == expected
    assert clv.value_tiers(out["value"]).to_dict() == ch.value_tiers(out["value"]).to_dict() == expected


def test_tier_counts_round_the_cut_offs_halves_down():
    """round(cutoff x n) customers above each cut-off, halves rounded down: n = 5 gives 1 high (1.0),
    1 mid (2.5 -> 2 in high + mid), 3 low."""
    v = pd.Series([5.0, 4, 3, 2, 1], index=list("abcde"))
    assert list(sg.value_tiers(v)) == ["high", "mid", "low", "low", "low"]
    v7 = pd.Series(np.arange(7, 0, -1.0), index=list("abcdefg"))   # 1.4 -> 1 high, 3.5 -> 3 in the top two
    assert list(sg.value_tiers(v7)) == ["high", "mid", "mid", "low", "low", "low", "low"]
    assert sg.value_tiers(pd.Series([np.nan, np.nan], index=["x", "y"])).tolist() == ["none", "none"]
    assert sg.value_tiers(pd.Series([], dtype=float)).empty


# ------------------------------------------------------------------------------------- CAC and CLV/CAC
# One quarter (2025Q1) of a tiny company. A: spend 100 + 200, new c1 c2 c3 -> CAC 100. B: spend 300,
# new c4 -> 300. C: no spend, new c5 -> 0 (acquired for free). D: spend 50, nobody won -> NaN. c6 has
# no acquisition date: no acquisition anywhere (the KPI report cannot date it; the CLV side skips it).
CAC_CUSTOMERS = pd.DataFrame({
    "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
    "region": ["A", "A", "A", "B", "C", "A"],
    "acquisition_date": pd.to_datetime(["2025-01-05", "2025-02-10", "2025-03-01", "2025-01-20", "2025-02-02", None]),
    "acquisition_channel": ["ads", "ads", "web", "ads", "web", "ads"],
})
CAC_SPEND = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-03-01"]),
                          "region": ["A", "A", "B", "D"], "channel": ["ads", "ads", "ads", "ads"],
                          "spend": [100.0, 200.0, 300.0, 50.0]})
EXPECTED_CAC = {"A": 100.0, "B": 300.0, "C": 0.0}   # D: NaN


@pytest.fixture(scope="module")
def cac_dataset(tmp_path_factory):
    from toolkit.data import load_dataset
    d = tmp_path_factory.mktemp("cac")
    CAC_CUSTOMERS.drop(columns="acquisition_channel").to_csv(d / "customers.csv", index=False)
    CAC_SPEND.to_csv(d / "spend.csv", index=False)
    tx = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5"], "order_id": [f"o{i}" for i in range(5)],
                       "date": ["2025-01-10", "2025-02-12", "2025-03-02", "2025-01-25", "2025-02-05"],
                       "amount": [100.0, 50.0, 80.0, 20.0, 60.0]})
    tx.to_csv(d / "transactions.csv", index=False)
    spec = {"name": "cac", "currency": "EUR", "as_of": "2025-03-31", "base": str(d), "tables": {
        "transactions": {"file": "transactions.csv", "columns": {c: c for c in tx.columns}},
        "customers": {"file": "customers.csv", "columns": {c: c for c in ("customer_id", "region", "acquisition_date")}},
        "marketing_spend": {"file": "spend.csv", "columns": {c: c for c in ("period", "region", "channel", "spend")}},
    }}
    return load_dataset(spec)


def test_clv_and_kpi_reports_give_the_same_cac_for_a_region_and_period(cac_dataset):
    """The CLV report's CAC per region (toolkit.clv.valuation.per_customer.region_cac, over the data's one quarter)
    and the KPI scorecard's CAC of that region and quarter are the same number, by the same formula."""
    from toolkit.clv.valuation.per_customer import region_cac
    from toolkit.kpi import COMPANY, build_scorecard
    clv_side = region_cac(CAC_SPEND, CAC_CUSTOMERS)
    assert clv_side.drop("D").to_dict() == pytest.approx(EXPECTED_CAC) and np.isnan(clv_side["D"])
    assert set(clv_side.index) == {"A", "B", "C", "D"}            # C (no spend) is a region with CAC 0
    t = build_scorecard(cac_dataset, period="Q", n_boot=200).table
    kpi_side = t.loc[(t["region"] != COMPANY) & (t["period"] == "2025Q1")].set_index("region")["cac"]
    for region in ("A", "B", "C"):
        assert kpi_side[region] == pytest.approx(clv_side[region]), region
    assert np.isnan(kpi_side["D"]) and np.isnan(clv_side["D"])
    from toolkit.clv.valuation import business
    per_quarter = business.cac(CAC_SPEND, CAC_CUSTOMERS, freq="Q", by=("period", "region")).set_index("region")
    assert per_quarter["cac"].drop("D").to_dict() == pytest.approx(EXPECTED_CAC)


def test_clv_cac_uses_the_kpi_formula():
    """CLV/CAC is NaN where CAC is 0 or missing, on the CLV side as in the scorecard (no inf)."""
    from toolkit.clv.valuation import business
    from toolkit.clv.valuation.per_customer import region_cac, value_by_group
    from toolkit.kpi import formulas
    table = pd.DataFrame({"clv": [300.0, 100.0, 200.0, 50.0, 80.0], "prob_alive": 0.5},
                         index=["c1", "c2", "c3", "c4", "c5"])
    regions = CAC_CUSTOMERS.set_index("customer_id")["region"]
    by = value_by_group(table, regions, region_cac(CAC_SPEND, CAC_CUSTOMERS), "region").set_index("region")
    assert by.loc["A", "clv_cac"] == pytest.approx(200 / 100) and by.loc["B", "clv_cac"] == pytest.approx(50 / 300)
    assert np.isnan(by.loc["C", "clv_cac"])                       # acquired for free: no ratio
    ratio = business.clv_cac(table["clv"], CAC_CUSTOMERS, CAC_SPEND, freq="Q", by=["region"]).set_index("region")
    assert ratio.loc["A", "mean_clv"] == pytest.approx(200.0) and ratio.loc["A", "clv_cac"] == pytest.approx(2.0)
    assert np.isnan(ratio.loc["C", "clv_cac"]) and np.isnan(ratio.loc["D", "clv_cac"])
    assert np.isnan(formulas.clv_cac(5.0, 0.0)) and formulas.clv_cac(5.0, 2.0) == 2.5


# ------------------------------------------------------------------------------------- Cronbach's alpha
def test_one_cronbach_alpha_for_the_survey_report_and_the_demo_truth():
    import toolkit.reliability as rel
    import toolkit.survey as sv
    from toolkit.data import demo_activity as da
    assert sv.cronbach_alpha is rel.cronbach_alpha is da.cronbach_alpha
    # By hand: item variances 1 and 7/3, sum-score variance 19/3 -> alpha = 2 (1 - (10/3) / (19/3)) = 18/19.
    items = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0]])
    assert rel.cronbach_alpha(items) == pytest.approx(18 / 19)            # the demo passes arrays
    frame = pd.DataFrame(np.vstack([items, [[4.0, np.nan]]]), columns=["q1", "q2"])
    assert sv.cronbach_alpha(frame) == pytest.approx(18 / 19)             # the survey report, listwise
    assert np.isnan(rel.cronbach_alpha(items[:, :1])) and np.isnan(rel.cronbach_alpha(items[:1]))
    assert np.isnan(rel.cronbach_alpha(np.array([[1.0, -1.0], [2.0, -2.0]])))   # sum score without variance


def test_the_data_package_does_not_import_the_survey_package():
    """toolkit.survey reads through toolkit.data; the demo generator reaches alpha without importing
    toolkit.survey (no import cycle between the two packages)."""
    import subprocess
    import sys
    code = ("import sys, toolkit.data.demo, toolkit.data.demo_activity; "
            "print(any(m == 'toolkit.survey' or m.startswith('toolkit.survey.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
