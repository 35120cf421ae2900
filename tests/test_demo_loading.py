"""The demo spec through the loader: every injected defect is found and counted exactly."""
from __future__ import annotations

import pytest

from toolkit.data import load_dataset
from toolkit.data.demo import read_ground_truth


@pytest.fixture(scope="module")
def demo(small_demo_spec):
    ds = load_dataset(small_demo_spec)
    return ds, read_ground_truth(small_demo_spec.parent / "data")


def test_injected_transaction_defects_are_counted_exactly(demo):
    ds, truth = demo
    inj, r = truth["injected"]["transactions"], ds.report
    assert r.count("transactions", "duplicates") == inj["duplicate_rows"]
    assert r.count("transactions", "missing_ids") == inj["empty_customer_id"]
    assert r.count("transactions", "bad_dates") == inj["bad_dates"]
    assert r.count("transactions", "future_dates") == inj["future_dates"]
    assert r.count("transactions", "returns") == inj["return_rows"]
    tf = r.tables_frame().set_index("table")
    assert tf.loc["transactions", "rows_read"] == inj["total_rows"]


def test_injected_outliers_are_flagged(demo):
    ds, truth = demo
    inj = truth["injected"]["transactions"]
    keys = {(o["invoice"], o["sku"]) for o in inj["outlier_rows"]}
    tx = ds.transactions
    flagged = set(zip(tx.loc[tx["is_outlier"], "order_id"], tx.loc[tx["is_outlier"], "product"]))
    # The documented rule (toolkit/data/staging.py, _amount_rules), computed here with pandas on the loaded
    # log: worth more than k = 50 times the customer's median positive row (customers with >= 3 rows), or
    # more than k times min(99.9th percentile, second-largest) of all positive rows. An injected x100 row
    # is not an outlier by this rule when 100 x a small row stays below 50 x the customer's median.
    k = 50.0
    pos = tx.loc[tx["amount"] > 0, "amount"]
    ref = min(pos.quantile(0.999), pos.sort_values().iloc[-2])
    med = tx.loc[tx["amount"] > 0].groupby("customer_id")["amount"].median()
    rows = tx.groupby("customer_id").size()
    rule = (((tx["customer_id"].map(rows) >= 3) & (tx["amount"] / k > tx["customer_id"].map(med)))
            | (tx["amount"] / k > ref))
    assert (tx["is_outlier"] == rule).all(), (int(tx["is_outlier"].sum()), int(rule.sum()))
    by_rule = set(zip(tx.loc[rule, "order_id"], tx.loc[rule, "product"]))
    assert keys & flagged == keys & by_rule
    assert len(keys & flagged) >= len(keys) // 2               # the generator's x100 rows are mostly outliers


def test_customer_and_survey_defects_are_counted(demo):
    ds, truth = demo
    inj = truth["injected"]
    assert ds.report.count("customers", "duplicate_ids") == inj["customers"]["duplicate_rows"]
    assert ds.report.count("surveys", "out_of_range_answer") == inj["surveys"]["out_of_range_total"]
    assert ds.report.count("surveys", "missing_answer") == inj["surveys"]["missing_total"]
    q = [c for c in ds.surveys.columns if c.startswith("q_")]
    assert ds.surveys[q].min().min() >= 1 and ds.surveys[q].max().max() <= 5


def test_churn_reasons_map_onto_the_model_categories(demo):
    ds, _ = demo
    reasons = set(ds.customers["churn_reason"].dropna())
    assert reasons <= {"price", "competitor", "service_quality", "product_quality", "other"}
    assert ds.report.count("customers", "unknown_category") == 0
    assert set(ds.customers["customer_type"].dropna()) == {"enterprise", "individual"}
