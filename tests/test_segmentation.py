"""Customer segmentation: RFM, tiers, lifecycle, clusters against the demo's truth, regional tests,
audit views, strategy, and the segmentation notebook on the demo, Superstore and Online Retail."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score

import toolkit.segmentation as sg
from toolkit.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_segmentation.ipynb"


@pytest.fixture(scope="module")
def demo(small_demo_spec):
    return load_dataset(small_demo_spec)


@pytest.fixture(scope="module")
def demo_seg(demo):
    return sg.segment_dataset(demo, seed=42, n_bootstrap=5)


@pytest.fixture(scope="module")
def cfg():
    return sg.load_config()


# ------------------------------------------------------------------------------------ clustering vs truth
def test_clusters_recover_the_generating_segments(demo_seg, small_demo_spec):
    truth = pd.read_csv(small_demo_spec.parent / "data" / "truth_customers.csv", dtype={"customer_id": str})
    truth = truth.set_index("customer_id")["segment"]
    clusters = demo_seg.customers.loc[demo_seg.buyers, "cluster"].astype(int)
    ari = adjusted_rand_score(truth.loc[clusters.index], clusters)
    assert demo_seg.segmenter.n_clusters_ == 4
    assert ari >= 0.8, f"adjusted Rand index {ari:.3f} against the generating segments"
    assert demo_seg.segmenter.stability_mean_ > 0.9
    assert len(demo_seg.personas) == 4 and demo_seg.personas["persona"].is_unique
    # never-buyers (truth 'potential') are not clustered
    assert set(truth[demo_seg.customers.index[demo_seg.customers["cluster"].isna()]]) == {"potential"}


def test_estimators_follow_sklearn_conventions(demo_seg):
    b = demo_seg.features.loc[demo_seg.buyers]
    cf = sg.ClusterFeatures(["avg_order_value", "monetary", "no_such_column"])
    assert cf.fit(b) is cf and cf.skipped_ == {"no_such_column": "not in the data"}
    X = cf.transform(b)
    assert X.shape == (len(b), 2) and np.allclose(X.mean(axis=0), 0) and np.allclose(X.std(axis=0), 1)
    seg = sg.CustomerSegmenter(k_range=[2, 3], n_bootstrap=2, random_state=1)
    assert seg.fit(X) is seg
    assert list(seg.selection_.index) == [2, 3] and seg.n_clusters_ in (2, 3)
    assert np.array_equal(seg.predict(X), seg.labels_) and len(seg.stability_) == 2
    assert np.bincount(seg.labels_)[0] == np.bincount(seg.labels_).max()  # cluster 0 is the largest
    assert seg.get_params()["k_range"] == [2, 3]
    gmm = sg.CustomerSegmenter(k_range=[2, 3], method="gmm", n_bootstrap=1).fit(X)
    assert gmm.n_clusters_ == gmm.k_bic_ == gmm.selection_["bic"].idxmin()


def test_signed_log_keeps_negative_values():
    x = np.array([-10.0, 0.0, 10.0])
    assert np.allclose(sg.signed_log1p(x), [-np.log(11), 0, np.log(11)])


# ------------------------------------------------------------------------------------ features and RFM
def test_rfm_scores_agree_with_a_direct_pandas_computation(demo):
    as_of = demo.as_of
    feats = sg.features_from_dataset(demo)
    scores = sg.rfm_scores(feats)
    tx = demo.transactions.loc[demo.transactions["date"] < as_of + pd.Timedelta(days=1)]
    pos = tx.loc[tx["amount"] > 0]
    direct = pd.DataFrame({
        "recency": (as_of - pos.groupby("customer_id")["date"].max().dt.normalize()).dt.days,
        "frequency": pos.groupby("customer_id")["order_id"].nunique(),
    })
    direct["monetary"] = tx.groupby("customer_id")["amount"].sum()
    n = len(direct)

    def score(s: pd.Series, higher_is_better: bool) -> pd.Series:
        worse = s.rank(method="min", ascending=higher_is_better) - 1  # customers strictly worse
        return (1 + (worse * 5 // n)).astype(int)

    expected = pd.DataFrame({"R": score(direct["recency"], False), "F": score(direct["frequency"], True),
                             "M": score(direct["monetary"].round(6), True)})
    got = scores.loc[direct.index, ["R", "F", "M"]].astype(int)
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_index_type=False)
    assert np.allclose(feats.loc[direct.index, "monetary"], direct["monetary"])
    assert scores.loc[~feats["is_buyer"], "R"].isna().all()
    for col in ("R", "F", "M"):  # quintiles: every score is used and the buyers are spread over them
        assert set(got[col]) == {1, 2, 3, 4, 5}, (col, sorted(set(got[col])))
    assert got["R"].value_counts().max() < 0.3 * n


def test_quantile_scores_share_ties_and_ignore_row_order():
    s = pd.Series([1, 1, 1, 2, 3, 4, 5, 6, 7, 8], index=list("abcdefghij"), dtype=float)
    got = sg.quantile_score(s, 5)
    assert list(got) == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    shuffled = s.sample(frac=1, random_state=3)
    assert sg.quantile_score(shuffled, 5).reindex(s.index).tolist() == got.tolist()
    assert sg.quantile_score(s, 5, higher_is_better=False).tolist() == [4, 4, 4, 4, 3, 3, 2, 2, 1, 1]


def test_rule_table_covers_every_score_and_names_segments(cfg, demo_seg):
    assert sg.check_coverage(cfg["rfm"]["segments"]) == []
    seg = demo_seg.customers["rfm_segment"]
    assert "Other" not in set(seg)
    assert (seg[~demo_seg.customers["is_buyer"]] == "No purchase").all()
    champions = demo_seg.customers.loc[seg == "Champions"]
    assert (champions["R"] == 5).all() and (champions["FM"] >= 4).all()


def test_features_use_nothing_after_the_as_of_date(demo):
    early = pd.Timestamp("2025-06-30")
    feats = sg.customer_features(demo.transactions, demo.customers, early)
    assert feats["last_purchase"].max() <= early and feats["recency_days"].min() >= 0
    acquired_later = demo.customers.loc[demo.customers["acquisition_date"] > early, "customer_id"]
    assert not feats.index.isin(acquired_later).any()
    tx = demo.transactions.loc[demo.transactions["date"] <= early]
    assert np.isclose(feats["monetary"].sum(), tx["amount"].sum())
    assert not feats["churned"].any() or (feats.loc[feats["churned"], "churn_date"] <= early).all()


def test_config_is_checked(tmp_path):
    import yaml

    raw = yaml.safe_load(sg.config.DEFAULT_PATH.read_text())
    raw["tiers"]["cutoffs"] = [0.5, 0.2]
    bad = tmp_path / "seg.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(sg.ConfigError, match="increase"):
        sg.load_config(bad)
    cfg = sg.load_config(tiers={"cutoffs": [0.1, 0.4]})
    assert cfg["tiers"]["cutoffs"] == [0.1, 0.4]


def test_persona_names_are_graded_and_unique():
    pos = pd.DataFrame({"monetary": [0.95, 0.8, 0.5, 0.05], "avg_order_value": [0.95, 0.8, 0.5, 0.2],
                        "frequency": [0.6, 0.6, 0.5, 0.4], "recency_days": [0.4, 0.4, 0.5, 0.6]})
    ent = pd.Series([1.0, 0.9, 0.1, 0.0])
    names = sg.persona_names(pos, ent)
    assert names.tolist() == ["Top-value, very large-order enterprise customers",
                              "High-value, large-order enterprise customers", "Mid-value individual customers",
                              "Lowest-value, small-order individual customers"]
    twins = sg.persona_names(pos.iloc[[1, 1]].set_axis([0, 1]))
    assert twins.is_unique


def test_tiers_can_use_published_clv(tmp_path, demo):
    from toolkit.results import RunResults

    ids = pd.Index(demo.customers["customer_id"])
    clv = pd.DataFrame({"customer_id": ids, "clv": np.arange(len(ids), dtype=float)})
    RunResults(tmp_path, notebook="clv").export("customer_clv", clv)  # pseudonymised ids
    got = sg.published_clv(tmp_path, ids, privacy=True)
    assert np.allclose(got.to_numpy(), clv["clv"].to_numpy())
    assert sg.published_clv(tmp_path / "empty_run", ids) is None
    seg = sg.segment_customers(demo.transactions, demo.customers, demo.as_of, value=got,
                               value_basis="predicted CLV", n_bootstrap=0)
    high = seg.customers.loc[seg.customers["value_tier"] == "high", "value"]
    assert high.min() >= seg.customers.loc[seg.customers["value_tier"] == "mid", "value"].max()


# ------------------------------------------------------------------------------------ tiers and lifecycle
def test_value_tiers_follow_the_cutoffs():
    v = pd.Series(np.arange(100, 0, -1, dtype=float), index=[f"c{i:03d}" for i in range(100)])
    tiers = sg.value_tiers(v, (0.2, 0.5))
    assert tiers.value_counts().to_dict() == {"high": 20, "mid": 30, "low": 50}
    assert (tiers.iloc[:20] == "high").all() and (tiers.iloc[50:] == "low").all()
    tied = sg.value_tiers(pd.Series(1.0, index=[f"c{i}" for i in range(10)]), (0.2, 0.5))
    assert tied.loc[["c0", "c1"]].eq("high").all()  # ties broken by customer id
    summary = sg.tier_summary(tiers, v, ["high", "mid", "low"])
    assert np.isclose(summary["value_share"].sum(), 1) and summary.loc["high", "value"] == v.iloc[:20].sum()


def test_lifecycle_stages_follow_the_definitions(cfg):
    f = pd.DataFrame({
        "frequency": [0, 1, 3, 3, 5, 2],
        "recency_days": [np.nan, 10, 30, 200, 100, 400],
        "days_since_activity": [np.nan, 10, 30, 200, 100, 400],
        "last_activity": [pd.NaT] + [pd.Timestamp("2025-01-01")] * 5,
        "tenure_days": [np.nan, 10, 500, 600, 700, 800],
        "mean_gap_days": [np.nan, np.nan, 50, 50, 80, 10],
        "churned": [False, False, False, False, True, False],
    }, index=list("abcdef"))
    got = sg.lifecycle_stage(f, cfg["lifecycle"])
    assert got.tolist() == ["potential", "new", "active", "at risk", "churned", "churned"]
    slow = f.loc[["d"]].assign(mean_gap_days=120.0)  # 200 days is less than twice its usual gap
    assert sg.lifecycle_stage(slow, cfg["lifecycle"]).iloc[0] == "active"


# ------------------------------------------------------------------------------------ regional statistics
@pytest.fixture()
def regional_frame():
    rng = np.random.default_rng(7)
    n = 600
    region = rng.choice(["North", "South", "East"], size=n, p=[0.4, 0.35, 0.25])
    p_seg = {"North": [0.5, 0.3, 0.2], "South": [0.3, 0.4, 0.3], "East": [0.2, 0.3, 0.5]}
    segment = np.empty(n, dtype=object)
    for r, p in p_seg.items():  # one draw per region
        m = region == r
        segment[m] = rng.choice(["A", "B", "C"], size=int(m.sum()), p=p)
    spend = rng.lognormal(mean=np.where(region == "North", 5.6, 5.0), sigma=1.0)
    return pd.DataFrame({"region": region, "segment": segment, "monetary": spend},
                        index=[f"c{i}" for i in range(n)])


def test_chi_square_and_kruskal_match_scipy(regional_frame):
    f = regional_frame
    ct = pd.crosstab(f["region"], f["segment"])
    chi2, p, dof, _ = stats.chi2_contingency(ct)
    got = sg.segment_mix_test(f, "segment")
    assert np.isclose(got["chi2"], chi2) and np.isclose(got["p_value"], p) and got["dof"] == dof
    assert np.isclose(got["cramers_v"], np.sqrt(chi2 / (len(f) * (min(ct.shape) - 1))))
    h, pk = stats.kruskal(*[g["monetary"].to_numpy() for _, g in f.groupby("region")])
    kw = sg.spend_by_region_test(f)
    assert np.isclose(kw["H"], h) and np.isclose(kw["p_value"], pk)
    assert np.isclose(kw["epsilon_squared"], h * (len(f) + 1) / (len(f) ** 2 - 1))
    assert got["p_value"] < 0.001 and kw["p_value"] < 0.01


def test_region_table_shares_and_leading_segments(regional_frame):
    t = sg.region_segment_table(regional_frame, "segment")
    assert np.allclose(t.groupby("region")["customer_share"].sum(), 1)
    assert np.allclose(t.groupby("region")["revenue_share"].sum(), 1)
    lead = sg.leading_segments(t)
    assert lead.loc["North", "segment_1"].startswith("A ") and lead.loc["East", "segment_1"].startswith("C ")
    pooled = sg.pool_regions(pd.Series(["a"] * 30 + ["b"] * 3 + ["c"] * 2), min_customers=20)
    assert pooled.value_counts().to_dict() == {"a": 30, "other regions": 5}


@pytest.mark.realdata
def test_superstore_region_segment_tables_match_the_raw_csv(shared_data):
    ds = load_dataset(ROOT / "config" / "datasets" / "superstore.yaml")
    table = sg.region_segment_table(sg.features_from_dataset(ds), "segment")
    raw = pd.read_csv(shared_data / "superstore" / "superstore_orders.csv")
    # one region per customer: the region of most of the customer's order lines (ties: alphabetical)
    region = (raw.groupby(["Customer ID", "Region"]).size().reset_index(name="n")
              .sort_values(["Customer ID", "n", "Region"], ascending=[True, False, True])
              .drop_duplicates("Customer ID").set_index("Customer ID")["Region"])
    per_customer = raw.groupby("Customer ID").agg(segment=("Segment", "first"), revenue=("Sales", "sum"))
    per_customer["region"] = region
    expected = per_customer.groupby(["region", "segment"]).agg(customers=("revenue", "size"),
                                                               revenue=("revenue", "sum"))
    got = table.set_index(["region", "segment"])
    assert got.index.sort_values().equals(expected.index.sort_values())
    assert (got["customers"] == expected["customers"].reindex(got.index)).all()
    assert np.allclose(got["revenue"], expected["revenue"].reindex(got.index))
    assert got["customers"].sum() == raw["Customer ID"].nunique() == 793
    # revenue per segment does not depend on how customers are placed in regions
    assert np.allclose(got.groupby(level="segment")["revenue"].sum().sort_index(),
                       raw.groupby("Segment")["Sales"].sum().sort_index())


# ------------------------------------------------------------------------------------ audit views
def test_concentration_measures():
    equal = pd.Series([5.0] * 10)
    assert np.isclose(sg.gini(equal), 0) and np.isclose(sg.top_share(equal, 0.2), 0.2)
    one = pd.Series([0.0] * 9 + [10.0])
    assert np.isclose(sg.gini(one), 0.9) and np.isclose(sg.top_share(one, 0.1), 1)
    v = pd.Series(np.random.default_rng(1).lognormal(size=500))
    curve = sg.lorenz_curve(v)
    assert curve.iloc[0].tolist() == [0, 0] and np.allclose(curve.iloc[-1], [1, 1])
    # Gini = 1 - 2 x area under the Lorenz curve
    x, y = curve["customer_share"].to_numpy(), curve["revenue_share"].to_numpy()
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    assert np.isclose(sg.gini(v), 1 - 2 * area)
    dec = sg.decile_table(v)
    assert dec["customers"].sum() == 500 and np.isclose(dec["cumulative_share"].iloc[-1], 1)
    assert dec["revenue"].is_monotonic_decreasing


def test_cohort_revenue_adds_up(demo, demo_seg):
    coh = sg.cohort_revenue(demo.transactions, demo_seg.customers["first_purchase"], demo.as_of, period="Q")
    tx = demo.transactions
    assert np.isclose(coh.to_numpy().sum(), tx.loc[tx["date"].dt.to_period("Q").isin(coh.index), "amount"].sum())
    first = coh.columns[0]
    assert (coh.loc[coh.index < pd.Period(first, "Q"), first] == 0).all()  # no revenue before acquisition


# ------------------------------------------------------------------------------------ strategy
def test_strategy_rows_and_followup_list(demo, demo_seg, cfg):
    cust = demo_seg.customers
    plan = sg.strategy_table(cust, cfg["strategy"])
    assert plan["customers"].sum() == len(cust) and np.isclose(plan["revenue"].sum(), cust["monetary"].sum())
    assert plan[["product", "price", "channel"]].notna().all().all()
    at_risk = plan.loc[(plan["value_tier"] == "high") & (plan["rfm_segment"] == "At risk"), "cadence_days"]
    assert (at_risk == 15).all()  # 30 days for the high tier, halved for customers at risk
    fu = sg.followup_list(cust, demo.interactions, demo.as_of, cfg["strategy"])
    assert len(fu) and (fu["days_overdue"] > 0).all()
    assert not fu["lifecycle_stage"].isin(["churned", "potential"]).any()
    assert fu["monetary"].is_monotonic_decreasing
    last = demo.interactions.groupby("customer_id")["date"].max()
    contacted = fu.loc[~fu["never_contacted"]]
    assert ((demo.as_of - last.loc[contacted.index]).dt.days == contacted["days_since_contact"]).all()


# ------------------------------------------------------------------------------------ the notebook
NOTEBOOK_DATASETS = {
    "demo_small": None,
    "superstore": ROOT / "config" / "datasets" / "superstore.yaml",
    "online_retail": ROOT / "config" / "datasets" / "online_retail.yaml",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.realdata] if NOTEBOOK_DATASETS[n] else [])
                                  for n in NOTEBOOK_DATASETS])
def test_notebook_runs_and_exports_one_row_per_customer(name, tmp_path, small_demo_spec, request):
    import papermill as pm

    if NOTEBOOK_DATASETS[name]:
        request.getfixturevalue("shared_data")  # the real data must be there
    spec = NOTEBOOK_DATASETS[name] or small_demo_spec
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"),
                        parameters={"dataset": str(spec), "run_dir": str(tmp_path)},
                        kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    export = tmp_path / "exports" / "customer_segments.csv"
    assert export.exists()
    seg = pd.read_csv(export)
    ds = load_dataset(spec, tables=["customers"])
    assert len(seg) == ds.customers["customer_id"].nunique() and seg["customer_id"].is_unique
    assert seg["customer_id"].str.match(r"^P[0-9a-f]{12}$").all()  # pseudonymised by default
    results = tmp_path / "results"
    for table in ("region_segment_mix", "tier_summary", "personas", "strategy"):
        assert (results / f"{table}.parquet").exists(), table
    metrics = json.loads((results / "segmentation.metrics.json").read_text())
    for key in ("n_customers", "gini", "top20_revenue_share", "chi2_p", "chosen_k", "ari_stability"):
        assert metrics[key] is not None, key
    assert metrics["n_customers"] == len(seg)
    assert not (tmp_path / "exports" / "contact_followup.csv").exists()   # the action plan holds the call list
