"""Direct tests of kpi.trailing_window and kpi.period_stats on the tiny hand-made company of test_kpi.py
(issue #19, item 7); every expected figure is counted by hand from the CSV text."""
from __future__ import annotations

import pandas as pd
import pytest

from test_kpi import CUSTOMERS, SPEND, SURVEYS, TRANSACTIONS
from toolkit.data import load_dataset
from toolkit.kpi import period_stats, trailing_window


def test_trailing_window_by_hand():
    w = trailing_window(pd.Timestamp("2025-06-30 15:00"), 12)
    assert list(w.edges) == [pd.Timestamp("2023-07-01"), pd.Timestamp("2024-07-01"), pd.Timestamp("2025-07-01")]
    assert w.labels == ("P12M", "L12M") and len(w) == 2
    assert list(w.ends) == [pd.Timestamp("2024-06-30"), pd.Timestamp("2025-06-30")]
    dates = pd.Series(pd.to_datetime(["2023-06-30", "2023-07-01", "2024-06-30", "2024-07-01", "2025-06-30",
                                      "2025-07-01", None]))
    assert w.index(dates).tolist() == [-1, 0, 0, 1, 1, 2, -2]
    w3 = trailing_window(pd.Timestamp("2025-03-31"), 3)
    assert list(w3.edges) == [pd.Timestamp("2024-10-01"), pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")]
    assert w3.labels == ("P3M", "L3M")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny_stats")
    for name, text in (("customers", CUSTOMERS), ("transactions", TRANSACTIONS), ("spend", SPEND),
                       ("surveys", SURVEYS)):
        (d / f"{name}.csv").write_text(text)
    cols = lambda *c: {k: k for k in c}  # noqa: E731
    spec = {"name": "tiny", "currency": "EUR", "as_of": "2025-06-30", "base": str(d), "tables": {
        "transactions": {"file": "transactions.csv", "columns": cols("customer_id", "order_id", "date", "amount")},
        "customers": {"file": "customers.csv", "columns": cols("customer_id", "region", "acquisition_date",
                                                               "churn_date", "churn_reason")},
        "marketing_spend": {"file": "spend.csv", "columns": cols("period", "region", "channel", "spend")},
        "surveys": {"file": "surveys.csv", "columns": cols("customer_id", "response_date", "overall_satisfaction",
                                                           "nps"), "scale": [1, 5]},
    }}
    return load_dataset(spec)


def test_period_stats_by_hand(tiny):
    st = period_stats(tiny, trailing_window(tiny.as_of, 6)).set_index(["region", "period"])
    a, b = st.loc[("A", "L6M")], st.loc[("B", "L6M")]
    # acquisitions: A c1, c2 in Dec 2024 (P6M), c3 in Feb 2025 (L6M); B c4, c5 in Nov 2024, c6 in Apr 2025
    assert (st.loc[("A", "P6M"), "new"], a["new"], st.loc[("B", "P6M"), "new"], b["new"]) == (2, 1, 2, 1)
    assert a["churned"] == 1 and b["churned"] == 1                   # c2 in Feb, c4 in May
    assert a["spend"] == 300 and b["spend"] == 360
    assert b["orders"] == 4 and b["revenue"] == pytest.approx(30 + 60 + 90 + 120)   # B has no returns
    # surveys (scale 1-5, top-2 = 4 or 5; NPS 9-10 promoter, 7-8 passive, 0-6 detractor)
    assert (a["csat_n"], a["csat_top2"], a["nps_n"], a["promoters"], a["passives"], a["detractors"]) == (3, 2, 3, 2, 0, 1)
    assert (b["csat_n"], b["csat_top2"], b["nps_n"], b["promoters"], b["passives"], b["detractors"]) == (2, 1, 2, 0, 1, 1)
    assert st.loc[("A", "P6M"), "csat_n"] == 0 and st.loc[("A", "P6M"), "orders"] == 0
