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
    from toolkit.clv import business
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
