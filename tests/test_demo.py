"""The demo-data generator: determinism, ground truth, injected messiness, consistency."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from toolkit.data.demo import FILES, read_ground_truth, write_demo

N = 1500
END = pd.Timestamp("2026-06-30")

COLUMNS = {
    "transactions.csv": ["cust_id", "invoice", "invoice_date", "sku", "category", "qty", "net_amount", "sales_channel"],
    "customers.csv": ["customer_id", "region", "customer_type", "acquisition_date", "acquisition_channel", "age",
                      "gender", "income", "occupation", "churn_date", "churn_reason"],
    "marketing_spend.csv": ["month", "region", "channel", "spend"],
    "interactions.csv": ["customer_id", "date", "channel", "kind", "outcome"],
    "market.csv": ["region", "competitor", "market_share", "price_index", "growth"],
    "truth_customers.csv": ["customer_id", "segment", "lam", "p_dropout", "mean_spend", "bgnbd_dropout_date",
                            "churn_date_explicit", "alive_at_end", "hazard_lp", "n_orders"],
}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo_a")
    gt = write_demo(d, seed=7, n_customers=N)
    return d, gt


@pytest.fixture(scope="module")
def tx(demo_dir):
    # keep "n/a" as text: pandas would read it as missing rather than as an unparsable date
    return pd.read_csv(demo_dir[0] / "transactions.csv", dtype={"cust_id": str, "invoice": str, "invoice_date": str},
                       keep_default_na=False, na_values={"cust_id": [""]})


@pytest.fixture(scope="module")
def customers(demo_dir):
    return pd.read_csv(demo_dir[0] / "customers.csv")


def _valid_purchases(tx: pd.DataFrame) -> pd.DataFrame:
    t = tx[tx.cust_id.notna()].copy()
    t["date"] = pd.to_datetime(t.invoice_date, format="%Y-%m-%d", errors="coerce")
    return t[t.date.notna() & (t.date <= END) & (t.net_amount > 0)]


def test_same_seed_is_byte_identical_and_other_seed_differs(demo_dir, tmp_path):
    d, _ = demo_dir
    write_demo(tmp_path / "again", seed=7, n_customers=N)
    write_demo(tmp_path / "other", seed=8, n_customers=N)
    for f in FILES:
        assert _sha(d / f) == _sha(tmp_path / "again" / f), f
    for f in ("transactions.csv", "customers.csv", "surveys.csv", "interactions.csv", "truth_customers.csv"):
        assert _sha(d / f) != _sha(tmp_path / "other" / f), f


def test_columns_and_ground_truth_sections(demo_dir):
    d, gt = demo_dir
    for f, cols in COLUMNS.items():
        assert list(pd.read_csv(d / f, nrows=1).columns) == cols, f
    sv = pd.read_csv(d / "surveys.csv", nrows=1).columns
    items = [c for c in sv if c.startswith("q_")]
    assert items == ["q_product_1", "q_product_2", "q_product_3", "q_service_1", "q_service_2", "q_service_3",
                     "q_price_1", "q_price_2", "q_support_1", "q_support_2"]
    assert {"customer_id", "response_date", "wave", "overall_satisfaction", "nps", "comment"} <= set(sv)
    assert read_ground_truth(d) == gt
    for key in ("seed", "n_customers", "dates", "regions", "segments", "segment_shares_by_region", "hazard",
                "churn_reasons", "cac", "surveys", "injected", "regional_differences", "notes", "market",
                "interactions"):
        assert key in gt, key
    assert gt["seed"] == 7 and gt["n_customers"] == N and len(gt["regions"]) == 6
    for s in gt["segments"].values():
        assert set(s["bgnbd"]) == {"r", "alpha", "a", "b"}
        assert set(s["gamma_gamma"]) == {"p", "q", "gamma"} and s["gamma_gamma"]["q"] >= 15
        assert s["n_repeat_buyers"] > 0
    assert 0.15 < gt["hazard"]["realised"]["share_of_buyers_churned"] < 0.35
    assert set(gt["hazard"]["covariates"]) == {"region", "customer_type", "acquisition_channel", "age_per_10y_individual"}
    assert any("independent" in n for n in gt["notes"])


def test_injected_counts_match_files(demo_dir, tx, customers):
    d, gt = demo_dir
    inj = gt["injected"]["transactions"]
    assert len(tx) == inj["total_rows"]
    assert int(tx.duplicated().sum()) == inj["duplicate_rows"] > 0
    returns = tx[tx.invoice.str.startswith("R")]
    assert len(returns) == inj["return_rows"] > 0
    assert (returns.qty < 0).all() and (returns.net_amount < 0).all()
    assert int((tx.net_amount < 0).sum()) == inj["return_rows"]
    assert int(tx.cust_id.isna().sum()) == inj["empty_customer_id"] == 25
    parsed = pd.to_datetime(tx.invoice_date, format="%Y-%m-%d", errors="coerce")
    assert int((parsed.isna() & tx.invoice_date.notna()).sum()) == inj["bad_dates"] == 15
    assert int((parsed > END).sum()) == inj["future_dates"] == 5
    assert inj["outlier_amounts"] == len(inj["outlier_rows"]) == 10
    keys = set(zip(tx.invoice, tx.sku))
    assert all((o["invoice"], o["sku"]) in keys for o in inj["outlier_rows"])
    # a return belongs to the same customer and a purchase line of an earlier date
    orig = tx[~tx.invoice.str.startswith("R")].drop_duplicates(["invoice", "sku"]).set_index(["invoice", "sku"])
    r = returns.assign(invoice=returns.invoice.str[1:]).set_index(["invoice", "sku"])
    o = orig.loc[r.index]
    assert (o.cust_id.values == r.cust_id.values).all()
    assert (pd.to_datetime(r.invoice_date).values > pd.to_datetime(o.invoice_date).values).all()
    assert int(customers.duplicated().sum()) == gt["injected"]["customers"]["duplicate_rows"] == 10
    sv = pd.read_csv(d / "surveys.csv")
    s_inj = gt["injected"]["surveys"]
    for item, n_miss in s_inj["missing_per_item"].items():
        assert int(sv[item].isna().sum()) == n_miss
    items = sv[list(s_inj["missing_per_item"])]
    assert int((items == 0).sum().sum()) == s_inj["out_of_range"]["0"]
    assert int((items == 9).sum().sum()) == s_inj["out_of_range"]["9"]
    assert items.isin([1, 2, 3, 4, 5, 0, 9]).sum().sum() + items.isna().sum().sum() == items.size


def test_potential_customers_never_buy(demo_dir, tx, customers):
    d, gt = demo_dir
    c = customers.drop_duplicates()
    pot = set(c.loc[c.acquisition_date.isna(), "customer_id"])
    assert len(pot) == gt["n_potential"] == round(0.05 * N)
    assert not pot & set(tx.cust_id.dropna())
    assert not pot & set(pd.read_csv(d / "surveys.csv").customer_id)
    assert not pot & set(pd.read_csv(d / "interactions.csv").customer_id)
    assert c.loc[c.customer_id.isin(pot), "churn_date"].isna().all()


def test_purchases_respect_acquisition_and_churn(demo_dir, tx, customers):
    d, _ = demo_dir
    c = customers.drop_duplicates().set_index("customer_id")
    p = _valid_purchases(tx)
    first = p.groupby("cust_id").date.min()
    acq = pd.to_datetime(c.acquisition_date).reindex(first.index)
    assert (first == acq).all()  # first purchase on the acquisition date
    churn = pd.to_datetime(c.churn_date).reindex(p.cust_id).values
    has = ~pd.isna(churn)
    assert has.any()
    assert (p.date.values[has] <= churn[has]).all()
    # all rows of churned customers (returns too) end by the churn date; contacts and surveys too
    ia = pd.read_csv(d / "interactions.csv", parse_dates=["date"])
    ch = pd.to_datetime(c.churn_date).reindex(ia.customer_id).values
    assert (ia.date.values[~pd.isna(ch)] <= ch[~pd.isna(ch)]).all()
    sv = pd.read_csv(d / "surveys.csv", parse_dates=["response_date"])
    ch = pd.to_datetime(c.churn_date).reindex(sv.customer_id).values
    assert (sv.response_date.values[~pd.isna(ch)] < ch[~pd.isna(ch)]).all()
    assert (sv.response_date.values >= pd.to_datetime(c.acquisition_date).reindex(sv.customer_id).values).all()
    # the truth file agrees with customers.csv
    tr = pd.read_csv(d / "truth_customers.csv").set_index("customer_id")
    assert tr.churn_date_explicit.reindex(c.index).fillna("").equals(c.churn_date.fillna(""))
    assert (tr.loc[c.customer_type.eq("Enterprise").reindex(tr.index).values, "segment"]
            .isin(["enterprise_key", "enterprise_standard", "potential"]).all())
    assert c.loc[c.customer_type == "Enterprise", ["age", "gender", "income", "occupation"]].isna().all().all()


def test_regional_truth(demo_dir, tmp_path):
    _, gt = demo_dir
    hr = gt["hazard"]["covariates"]["region"]["hr"]
    assert hr["East"] > 1.5 and hr["East"] == max(hr.values())
    sat = gt["surveys"]["satisfaction_latent_mean_by_region"]
    assert max(sat, key=sat.get) == "North"
    means = gt["surveys"]["construct_means_by_region"]
    assert means["East"]["price"] < means["South"]["price"]
    reasons = gt["churn_reasons"]["probabilities_by_region"]
    assert reasons["East"]["price"] + reasons["East"]["competitor"] > reasons["North"]["price"] + reasons["North"]["competitor"]
    east = [m for m in gt["market"]["East"] if m["price_index"] < 0.9]
    assert east and east[0]["growth"] > 0.1

    flat = write_demo(tmp_path / "flat", seed=7, n_customers=N, regional_differences=False)
    assert flat["regional_differences"] is False
    regions = flat["regions"]

    def same(by_region):
        first = by_region[regions[0]]
        return all(by_region[r] == first for r in regions)

    assert same(flat["segment_shares_by_region"])
    assert same(flat["churn_reasons"]["probabilities_by_region"])
    assert same(flat["cac"]["by_region_channel"])
    assert same(flat["surveys"]["construct_means_by_region"])
    assert same(flat["market"])
    assert set(flat["hazard"]["covariates"]["region"]["hr"].values()) == {1.0}


def test_marketing_spend_tracks_new_customers(demo_dir, customers):
    d, gt = demo_dir
    ms = pd.read_csv(d / "marketing_spend.csv")
    c = customers.drop_duplicates()
    c = c[c.acquisition_date.notna()]
    month = pd.to_datetime(c.acquisition_date).dt.to_period("M").dt.to_timestamp().dt.strftime("%Y-%m-%d")
    n_new = c.groupby([month.rename("month"), "region", "acquisition_channel"]).size()
    m = ms.set_index(["month", "region", "channel"]).spend
    assert ((m > 0) == (n_new.reindex(m.index).fillna(0) > 0)).all()
    cac = (m / n_new.reindex(m.index)).dropna()
    truth = pd.Series({(r, ch): v for r, d_ in gt["cac"]["by_region_channel"].items() for ch, v in d_.items()})
    ratio = cac / truth.reindex(list(zip(cac.index.get_level_values(1), cac.index.get_level_values(2)))).values
    assert np.abs(np.log(ratio)).max() < 0.6  # lognormal noise, sd 0.1
