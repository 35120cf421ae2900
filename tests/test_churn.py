"""Churn analysis: labels, rates, survival, features as of a date, models, early warning, the notebook."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from toolkit import churn as ch
from toolkit.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "04_churn.ipynb"
T = pd.Timestamp


@dataclass
class Toy:
    """A minimal stand-in for :class:`toolkit.data.Dataset`."""

    customers: pd.DataFrame
    as_of: pd.Timestamp
    transactions: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    currency: str = "EUR"
    name: str = "toy"

    def require(self, *tables, columns=None):
        assert all(getattr(self, t) is not None for t in tables)

    def has(self, *tables):
        return all(getattr(self, t) is not None for t in tables)


def _toy() -> Toy:
    cu = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "region": ["N", "N", "S", "S", "S"],
        "acquisition_date": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-04-15", "2024-07-01", "2025-03-01"]),
        "churn_date": pd.to_datetime(["2024-05-20", None, "2024-12-31", None, None]),
        "churn_reason": ["price", None, "competitor", None, None],
    })
    cu["churned"] = cu["churn_date"].notna()
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "d", "d"],
        "order_id": list("1234567"),
        "date": pd.to_datetime(["2024-01-10", "2024-03-01", "2024-02-01", "2024-10-15", "2024-04-15", "2024-07-01",
                                "2024-12-20"]),
        "amount": [10.0, 20.0, 5.0, 7.0, 30.0, 8.0, 9.0],
    })
    return Toy(cu, T("2024-12-31"), transactions=tx)


# ------------------------------------------------------------------------------------------ labels and rates
def test_explicit_labels_durations_and_rates():
    ds = _toy()
    lab = ch.churn_labels(ds)
    assert list(lab.index) == ["a", "b", "c", "d"]  # e starts after the as-of date
    assert lab["churned"].tolist() == [True, False, True, False]
    assert lab.loc["a", "duration"] == (T("2024-05-20") - T("2024-01-10")).days
    assert lab.loc["b", "duration"] == (T("2024-12-31") - T("2024-02-01")).days
    early = ch.churn_labels(ds, as_of="2024-06-30")
    assert early["churned"].to_dict() == {"a": True, "b": False, "c": False}  # c leaves later, d not yet won

    # Q2 2024: at the start a, b (c won within Q2); a lost in Q2 -> 1/2
    q = ch.churn_rates_by_period(lab, freq="Q").set_index("period")
    assert (q.loc[T("2024-04-01"), "at_start"], q.loc[T("2024-04-01"), "lost"]) == (2, 1)
    assert (q.loc[T("2024-10-01"), "at_start"], q.loc[T("2024-10-01"), "lost"]) == (3, 1)
    year = ch.churn_rate(lab, start="2024-04-01", end="2024-12-31", by="region")
    assert year.loc["N", "churn_rate"] == 0.5 and year.loc["S", "at_start"] == 0

    ret = ch.cohort_retention(lab, freq="Q")
    assert ret.loc[T("2024-01-01"), 0] == 1.0 and ret.loc[T("2024-01-01"), 1] == 0.5
    assert ret.loc[T("2024-04-01"), 1] == 1.0 and ret.loc[T("2024-04-01"), 2] == 0.0
    assert ret.loc[T("2024-07-01"), 1] == 1.0 and np.isnan(ret.loc[T("2024-07-01"), 2])  # not yet observable


def test_inactivity_labels_and_windows():
    ds = _toy()
    lab = ch.churn_labels(ds, "inactivity", inactivity_days=90)
    # last purchases: a 03-01, b 10-01, c 04-15, d 12-20 -> a and c lapsed 90 days later
    # last purchases: a 03-01, b 10-15, c 04-15, d 12-20 (e never bought)
    assert lab["churned"].to_dict() == {"a": True, "b": False, "c": True, "d": False}
    assert lab.loc["a", "churn_date"] == T("2024-03-01") + pd.Timedelta(days=90)
    # active on 12-25: b and d; by 2025-01-24 b has gone 90 days without a purchase
    y = ch.window_labels(ds, "2024-12-25", 30, definition="inactivity", inactivity_days=90)
    assert y.to_dict() == {"b": True, "d": False}


def test_p_alive_definition_uses_clv_and_fails_clearly_without_it(monkeypatch, small_demo_spec):
    ds = load_dataset(small_demo_spec, tables=["transactions", "customers"])
    lab = ch.churn_labels(ds, "p_alive", p_alive_threshold=0.5)
    assert lab["p_alive"].between(0, 1).all()
    assert (lab["churned"] == (lab["p_alive"] < 0.5)).all() and 0.02 < lab["churned"].mean() < 0.9
    tx = ds.transactions.loc[ds.transactions["amount"] > 0]
    last = tx.groupby("customer_id")["date"].max().dt.normalize()
    assert (lab.loc[lab["churned"], "churn_date"] == last.reindex(lab.index)[lab["churned"]]).all()
    monkeypatch.setitem(sys.modules, "toolkit.clv", None)
    with pytest.raises(ValueError, match="inactivity"):
        ch.churn_labels(ds, "p_alive")


def test_snapshot_labels_on_telco(shared_data):
    ds = load_dataset(ROOT / "config" / "datasets" / "telco.yaml")
    lab = ch.churn_labels(ds)
    assert not lab.attrs["dated"] and len(lab) == 7043
    assert ch.churn_rate(lab)["churn_rate"].iloc[0] == pytest.approx(1869 / 7043)
    assert (lab["duration"] == ds.customers.set_index("customer_id")["tenure"]).all()
    km = ch.kaplan_meier(ch.survival_frame(lab), by="segment")
    assert km.logrank.p_value < 1e-10 and km.groups.loc["Two year", "survival_at_end"] > 0.9


# ------------------------------------------------------------------------------------------ survival
def _simulated(n: int = 3000, seed: int = 0, time_varying: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    lp = 0.7 * g - 0.4 * x
    t = rng.exponential(1 / np.exp(lp))
    if time_varying:  # the group effect reverses after t = 0.5
        early = rng.exponential(1 / np.exp(lp))
        late = 0.5 + rng.exponential(1 / np.exp(-0.7 * g - 0.4 * x))
        t = np.where(early < 0.5, early, late)
    c = rng.uniform(0, 3, n)
    return pd.DataFrame({"duration": np.minimum(t, c), "event": (t <= c).astype(int),
                         "group": np.where(g == 1, "b", "a"), "x": x})


def test_cox_recovers_known_effects_and_ph_check_flags_time_varying_effect():
    m = ch.CoxPH(["group", "x"], scale={"x": 1}, centre={"x": 0}, reference={"group": "a"}).fit(_simulated())
    hr = m.hazard_ratios_
    assert hr.loc["group = b", "lower"] < np.exp(0.7) < hr.loc["group = b", "upper"]
    assert hr.loc["x", "lower"] < np.exp(-0.4) < hr.loc["x", "upper"]
    assert m.ph_test_.loc["GLOBAL", "p_value"] > 0.01
    bad = ch.CoxPH(["group", "x"], reference={"group": "a"}).fit(_simulated(time_varying=True))
    assert bad.ph_test_.loc["group = b", "p_value"] < 0.001 and bad.ph_test_.loc["x", "p_value"] > 0.001
    assert "hazard_ratio" in str(m.summary())


def test_kaplan_meier_and_logrank():
    f = _simulated()
    km = ch.kaplan_meier(f, by="group")
    assert km.logrank.p_value < 1e-6 and km.logrank.df == 1
    c = km.curves.loc[km.curves["group"] == "a"]
    assert c["survival"].is_monotonic_decreasing and (c["lower"] <= c["survival"]).all()
    same = ch.logrank(f["duration"], f["event"], pd.Series(np.arange(len(f)) % 2))
    assert same.p_value > 0.01


def _cox_on_demo(spec: Path):
    ds = load_dataset(spec, tables=["customers"])
    truth = json.loads((Path(ds.spec.base) / "ground_truth.json").read_text())["hazard"]["covariates"]
    lab = ch.churn_labels(ds, attributes=("region", "customer_type", "acquisition_channel"))
    frame = ch.survival_frame(lab)
    frame["age"] = ds.customers.set_index("customer_id")["age"].reindex(frame.index)
    # the generator's reference customer: North, individual, online_ads, age 45 (age per 10 years)
    model = ch.CoxPH(["region", "customer_type", "acquisition_channel", "age"], scale={"age": 10},
                     centre={"age": 45}, min_count=5,
                     reference={"region": truth["region"]["reference"], "customer_type": truth["customer_type"][
                         "reference"], "acquisition_channel": truth["acquisition_channel"]["reference"]}).fit(frame)
    expected = {"age": truth["age_per_10y_individual"]["hr"]}
    for cov in ("region", "customer_type", "acquisition_channel"):
        expected.update({f"{cov} = {k}": v for k, v in truth[cov]["hr"].items() if k != truth[cov]["reference"]})
    hr = model.hazard_ratios_
    assert set(expected) == set(hr.index), "every generating covariate is estimated"
    return model, pd.Series(expected)


def test_cox_intervals_cover_generating_hazard_ratios_on_demo(small_demo_spec):
    model, truth = _cox_on_demo(small_demo_spec)
    hr = model.hazard_ratios_.loc[truth.index]
    missed = truth[(truth < hr["lower"]) | (truth > hr["upper"])]
    assert missed.empty, f"95% intervals miss {missed.to_dict()}"


def test_cox_on_full_demo_matches_generating_hazard_ratios():
    """20,000 customers: intervals are tight. All generating HRs lie within simultaneous (Bonferroni) 95%
    intervals; per-term 95% intervals may miss one term by chance (1 - 0.95**11 = 43%)."""
    model, truth = _cox_on_demo(ROOT / "config" / "datasets" / "demo.yaml")
    hr = model.hazard_ratios_.loc[truth.index]
    z = (hr["coef"] - np.log(truth)) / hr["se"]
    simultaneous = stats.norm.ppf(1 - 0.05 / (2 * len(truth)))
    assert (z.abs() < simultaneous).all(), z.round(2).to_dict()
    assert (z.abs() < stats.norm.ppf(0.975)).sum() >= len(truth) - 1, z.round(2).to_dict()


# ------------------------------------------------------------------------------------------ features, no leakage
@pytest.fixture
def one_duckdb_thread():
    """DuckDB on one thread for this test, whatever ``CUSTKIT_DUCKDB_THREADS`` (read once, when the process's
    connection is created) says: parallel float sums differ in the last bits, which can flip a tree split."""
    from toolkit.engine import duckdb_connection

    con = duckdb_connection()
    before = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    con.execute("SET threads = 1")
    yield
    con.execute(f"SET threads = {before}")


def test_features_and_scores_ignore_everything_after_the_as_of_date(small_demo_spec, one_duckdb_thread):
    ds = load_dataset(small_demo_spec)
    cut = T(ds.as_of) - pd.Timedelta(days=180)
    y = ch.window_labels(ds, cut, 90)
    X = ch.build_features(ds, as_of=cut, customers=y.index).reindex(y.index)
    assert {"days_since_last_purchase", "complaints_180d", "days_since_last_contact", "last_satisfaction",
            "tenure_months"} <= set(X.columns)
    models = [ch.LogitChurn().fit(X, y), ch.HGBChurn(seed=0).fit(X, y)]
    before = [m.predict_proba(X)[:, 1] for m in models]
    full_before = ch.build_features(ds, as_of=cut)

    rng = np.random.default_rng(0)
    later = lambda d: d > cut + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)  # noqa: E731
    tx = ds.transactions.copy()
    m = later(tx["date"])
    tx.loc[m, "amount"] *= 10
    tx = tx.drop(tx.index[m.to_numpy() & (rng.random(len(tx)) < 0.3)])
    extra = tx.loc[~later(tx["date"])].sample(200, random_state=1).assign(date=cut + pd.Timedelta(days=3))
    ds.transactions = pd.concat([tx, extra], ignore_index=True)
    ia = ds.interactions.copy()
    ia.loc[later(ia["date"]), "kind"] = "complaint"
    ia.loc[later(ia["date"]), "outcome"] = "unresolved"
    ds.interactions = pd.concat([ia, ia.sample(100, random_state=2).assign(date=cut + pd.Timedelta(days=1))])
    sv = ds.surveys.copy()
    sv.loc[later(sv["response_date"]), "overall_satisfaction"] = 1.0
    ds.surveys = sv
    cu = ds.customers.copy()
    gone = later(cu["churn_date"])
    cu.loc[gone, "churn_date"] = cu.loc[gone, "churn_date"] + pd.Timedelta(days=30)
    newcomer = cu.iloc[[0]].assign(customer_id="NEW1", acquisition_date=cut + pd.Timedelta(days=5))
    ds.customers = pd.concat([cu, newcomer], ignore_index=True)

    X2 = ch.build_features(ds, as_of=cut, customers=y.index).reindex(y.index)
    pd.testing.assert_frame_equal(X, X2)
    pd.testing.assert_frame_equal(full_before, ch.build_features(ds, as_of=cut))
    for model, p in zip(models, before):
        np.testing.assert_array_equal(model.predict_proba(X2)[:, 1], p)
    assert ch.churn_labels(ds, as_of=cut)["active"].equals(ch.churn_labels(load_dataset(small_demo_spec),
                                                                          as_of=cut)["active"])


def test_leakage_columns_are_never_features():
    cu = pd.DataFrame({"customer_id": list("abcdef"), "churned": [True, False] * 3, "tenure": [1, 2, 3, 4, 5, 6.0],
                       "satisfaction_score": [1, 5, 2, 4, 1, 5.0], "cltv": [1.0] * 6, "plan": list("xyxyxy"),
                       "zip_code": [1, 2, 3, 4, 5, 6.0], "churn_category": list("ab") * 3,
                       "x_fee": [3.0, 1, 2, 5, 4, 6]})
    found = ch.discover_attributes(cu)
    assert found == ["tenure", "plan", "x_fee"]
    assert ch.discover_attributes(cu, exclude=list(ch.DEFAULT_EXCLUDE) + ["plan"]) == ["tenure", "x_fee"]


# ------------------------------------------------------------------------------------------ models
def test_generic_churn_table_through_a_spec(tmp_path):
    """Another contractual churn table, mapped by a spec only: features come from its own columns and the
    declared leakage column stays out."""
    rng = np.random.default_rng(3)
    n = 800
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.25, 0.45, 0.3])
    tickets = rng.poisson(1.0, n)
    fee = rng.normal(50, 10, n).round(2)
    logit = -1.5 + 1.2 * (plan == "basic") + 0.6 * tickets - 0.03 * (fee - 50)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    pd.DataFrame({"ID": [f"K{i}" for i in range(n)], "Months": rng.integers(1, 60, n), "Plan Type": plan,
                  "Support Tickets": tickets, "Monthly Fee": fee, "Left": np.where(churn, "yes", "no"),
                  "Exit Score": np.where(churn, 90, 10)}).to_csv(tmp_path / "churn.csv", index=False)
    spec = {"name": "generic", "title": "Generic churn table", "currency": "USD", "base": str(tmp_path),
            "tables": {"customers": {"file": "churn.csv", "columns": {
                "customer_id": "ID", "churned": {"source": "Left", "values": {"yes": True, "no": False}},
                "tenure": "Months"}, "extra": ["Plan Type", "Support Tickets", "Monthly Fee", "Exit Score"]}}}
    ds = load_dataset(spec)
    pred = ch.predict_churn(ds, model="logit", exclude=list(ch.DEFAULT_EXCLUDE) + ["exit_score"], folds=3)
    assert "exit_score" not in pred.X_train.columns and {"plan_type", "support_tickets"} <= set(pred.X_train.columns)
    assert 0.65 < pred.metrics["roc_auc"] < 0.95
    ors = pred.model.odds_ratios_
    assert ors.loc["support_tickets", "lower"] > 1 and ors.loc["plan_type = basic", "odds_ratio"] > 1
    frame, covs, left_out = ch.cox_data(ds, ch.churn_labels(ds), exclude=["exit_score"])
    assert "exit_score" not in covs and "tenure" in left_out


def _delong(y: np.ndarray, *scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUCs of ``scores`` on labels ``y`` and their covariance matrix (DeLong, DeLong and Clarke-Pearson 1988:
    structural components from midrank placements)."""
    y = np.asarray(y, int)
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    v10, v01 = [], []
    for s in scores:
        r = stats.rankdata(s)
        v10.append((r[pos] - stats.rankdata(s[pos])) / n)       # share of non-churners scored below each churner
        v01.append(1 - (r[neg] - stats.rankdata(s[neg])) / m)   # share of churners scored above each non-churner
    v10, v01 = np.array(v10), np.array(v01)
    return v10.mean(axis=1), np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n


def test_delong_standard_error_matches_the_exact_null_variance():
    """Scores unrelated to the label: the AUC's variance is (m + n + 1) / (12 m n) (Mann-Whitney); DeLong's
    estimate agrees within 10% at this size, and AUCs match scikit-learn's."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = (rng.random(4000) < 0.3).astype(int)
    a, b = rng.normal(size=4000), rng.normal(size=4000).round(1)  # b has ties
    auc, cov = _delong(y, a, b)
    assert auc == pytest.approx([roc_auc_score(y, a), roc_auc_score(y, b)])
    m, n = y.sum(), (1 - y).sum()
    exact = (m + n + 1) / (12 * m * n)
    assert cov[0, 0] == pytest.approx(exact, rel=0.1) and abs(cov[0, 1]) < 0.2 * exact


def _sklearn_baseline(X: pd.DataFrame, y: np.ndarray, folds: int = 5, seed: int = 0) -> ch.CVResult:
    """A plain scikit-learn logistic regression (median-imputed, standardised numbers, one-hot categories) through
    the same stratified shuffled folds as :func:`toolkit.churn.predict_churn`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    Xb = X.copy()
    num = [c for c in Xb.columns if pd.api.types.is_numeric_dtype(Xb[c]) and not pd.api.types.is_bool_dtype(Xb[c])]
    cat = [c for c in Xb.columns if c not in num]
    for c in cat:
        Xb[c] = Xb[c].astype("object").where(Xb[c].notna(), "(missing)").astype(str)
    prep = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])
    return ch.cross_validate(lambda: make_pipeline(prep, LogisticRegression(max_iter=2000)), Xb, y, folds=folds,
                             seed=seed)


def _rule(aucs: dict[str, float], margin: float = 0.005) -> str:
    """The documented choice (models.choose_kind), restated: boosting only if its ROC-AUC beats logistic
    regression's by more than ``margin``."""
    return "hgb" if aucs["hgb"] > aucs["logit"] + margin else "logit"


def test_telco_cross_validated_auc_bar(shared_data):
    """Telco basic, 5-fold stratified CV (shuffled, seed 0). The bar ROC-AUC >= 0.85 is the project's (issue #20).
    The rest is computed here: the chosen model is the one the documented rule picks from the CV table; it is no
    worse than the tuned boosting by more than the rule's margin, and no worse than a plain scikit-learn logistic
    regression on the same folds by more than two paired DeLong standard errors (ROC-AUC) or two standard errors
    of the mean per-customer difference in squared error (Brier); its Brier score beats the no-skill forecast."""
    ds = load_dataset(ROOT / "config" / "datasets" / "telco.yaml")
    pred = ch.predict_churn(ds, model="auto", seed=0, folds=5)
    assert pred.mode == "snapshot" and len(pred.folds) == 5
    assert set(pred.comparison.index) == {"logit", "hgb"}
    auc = pred.comparison["roc_auc"].to_dict()
    assert pred.kind == _rule(auc)
    assert pred.metrics["roc_auc"] >= 0.85, pred.comparison
    assert pred.metrics["roc_auc"] >= auc["hgb"] - 0.005
    assert pred.metrics["roc_auc"] == pytest.approx(pred.folds["roc_auc"].mean())

    base = _sklearn_baseline(pred.X_eval, pred.y_eval)
    (a_model, a_base), cov = _delong(pred.y_eval, pred.p_eval, base.oof)
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert a_model >= a_base - 2 * se, (a_model, a_base, se)
    assert pred.metrics["roc_auc"] >= base.mean["roc_auc"] - 2 * se
    d = (pred.p_eval - pred.y_eval) ** 2 - (base.oof - pred.y_eval) ** 2
    assert pred.metrics["brier"] <= base.mean["brier"] + 2 * d.std(ddof=1) / np.sqrt(len(d)), (pred.metrics, base.mean)
    rate = pred.y_eval.mean()
    assert pred.metrics["brier"] < rate * (1 - rate)

    tuning = pred.tuning   # what the boosting searched (the grid) and chose in each outer fold
    assert len(tuning) == len(ch.HGB_GRID) and tuning["chosen_in_evaluation"].sum() == 5
    assert ("chosen_final" in tuning) == (pred.kind == "hgb")
    if pred.kind == "logit":
        contrib = pred.model.contributions(pred.X_score.head(50))
        p = pred.model.predict_proba(pred.X_score.head(50))[:, 1]
        offset = np.log(p / (1 - p)) - contrib.sum(axis=1)  # logit contributions add up to the log-odds
        assert np.allclose(offset, offset.iloc[0])


def _interaction_table(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Churn driven by two interactions (basic plan with high x1; x2 and x3 both positive) and a plan effect;
    x4 is noise. Returns features, churn flags and the true churn probabilities."""
    rng = np.random.default_rng(seed)
    x1, x2, x3, x4 = rng.normal(size=(4, n))
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.3, 0.5, 0.2])
    lp = -1.6 + 1.8 * (plan == "basic") * (x1 > 0.3) + 1.4 * (x2 > 0) * (x3 > 0) - 0.6 * (plan == "pro")
    p = 1 / (1 + np.exp(-lp))
    X = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "x4": x4, "plan": pd.Categorical(plan)},
                     index=[f"c{i}" for i in range(n)])
    return X, (rng.random(n) < p).astype(int), p


def test_tuned_boosting_records_its_search_and_repeats_exactly():
    X, y, _ = _interaction_table(1500, seed=1)
    m = ch.TunedHGBChurn(seed=0).fit(X, y)
    assert m.grid_[ch.models.SETTING_COLUMNS].astype(object).where(m.grid_.notna(), None).to_dict("records") == \
        list(ch.HGB_GRID)
    assert m.search_["chosen"].sum() == 1 and m.search_["chosen"].iloc[m.best_index_]
    assert m.best_index_ == int(np.argmax(m.search_["inner_auc"].to_numpy()))
    assert m.best_params_ == ch.HGB_GRID[m.best_index_] and m.n_iter_ == m.model_.n_iter_ < m.max_iter
    assert m.model_.get_params()["early_stopping"] and m.calibration_ == "sigmoid"  # 1,500 rows: Platt
    assert (m.search_["inner_auc"] > 0.5).all() and (m.search_["iterations"] >= 1).all()
    p = m.predict_proba(X.head(200))
    np.testing.assert_array_equal(p, ch.TunedHGBChurn(seed=0).fit(X, y).predict_proba(X.head(200)))
    assert np.allclose(p.sum(axis=1), 1) and ((p > 0) & (p < 1)).all()
    one = ch.TunedHGBChurn(grid=[{"learning_rate": 0.1, "max_leaf_nodes": 4}], cv=2).fit(X, y)
    assert len(one.search_) == 1 and one.best_params_ == {"learning_rate": 0.1, "max_leaf_nodes": 4}
    with pytest.raises(ValueError, match="empty"):
        ch.TunedHGBChurn(grid=[]).fit(X, y)


def test_tuning_table_and_its_wording():
    X, y, _ = _interaction_table(1200, seed=2)
    folds = [ch.TunedHGBChurn(seed=0).fit(X.iloc[i::3], y[i::3]) for i in range(3)]
    final = ch.TunedHGBChurn(seed=0).fit(X, y)
    table = ch.tuning_table(folds, final)
    assert list(table.index) == list(range(1, len(ch.HGB_GRID) + 1))
    assert table["chosen_in_evaluation"].sum() == 3 and table["chosen_final"].sum() == 1
    picks = [m.best_index_ + 1 for m in folds]
    assert table["chosen_in_evaluation"].to_dict() == {i: picks.count(i) for i in table.index}
    assert table.loc[final.best_index_ + 1, "chosen_final"]
    assert table.loc[1, "description"] == "learning rate 0.2, stumps (depth 1), >= 20 customers a leaf, L2 0"
    assert ch.setting_text({"learning_rate": 0.05, "max_depth": 3, "max_leaf_nodes": 8, "min_samples_leaf": 80,
                            "l2_regularization": 10.0}) == \
        "learning rate 0.05, depth <= 3, >= 80 customers a leaf, L2 10"
    assert ch.setting_text({"learning_rate": 0.1, "max_depth": None, "max_leaf_nodes": 31}) == \
        "learning rate 0.1, up to 31 leaves"
    text = ch.tuning_text(table)
    assert text.startswith(f"Gradient boosting searched {len(ch.HGB_GRID)} settings (learning rate 0.05-0.2, from "
                           "stumps to 31 leaves, at least 20-80 customers a leaf, L2 penalty 0-10)")
    assert "3-fold cross-validation of the training rows only" in text and "15% of its own training rows" in text
    for i in set(picks):
        assert f"setting {i} ({table.loc[i, 'description']}) in {picks.count(i)} of 3 outer folds" in text
    i = final.best_index_ + 1
    assert text.endswith(f"the final refit, which scores the active customers, chose setting {i} "
                         f"({table.loc[i, 'description']}; inner "
                         f"ROC-AUC {final.search_['inner_auc'].iloc[i - 1]:.3f}, {final.n_iter_} boosting iterations).")
    window = ch.tuning_text(ch.tuning_table(folds[:1], evaluation="training window"))
    assert f"Chosen: setting {picks[0]} ({table.loc[picks[0], 'description']}) in the training window" in window
    assert window.endswith("boosting was not chosen, so it was not refitted to score the active customers.")
    with pytest.raises(ValueError, match="no tuned"):
        ch.tuning_table([ch.LogitChurn()])


def test_tuned_boosting_finds_a_known_interaction():
    """10,000 simulated customers whose churn depends on two interactions (ground truth in _interaction_table).
    Same 5 folds for all: the tuned boosting beats logistic regression by more than the choice rule's margin and
    by more than two paired DeLong standard errors, so the documented rule picks it; its out-of-fold ROC-AUC is
    within one DeLong standard error of the AUC of the true probabilities (the oracle) on the same customers
    (with data seeds 0, 1, 2 the gap was 0.9, 0.4 and 0.7 of that standard error)."""
    X, y, truth = _interaction_table(10_000, seed=0)
    hgb = ch.cross_validate(lambda: ch.TunedHGBChurn(seed=0), X, y, folds=5, seed=0)
    logit = ch.cross_validate(ch.LogitChurn, X, y, folds=5, seed=0)
    assert _rule({"hgb": hgb.mean["roc_auc"], "logit": logit.mean["roc_auc"]}) == "hgb"
    (a_hgb, a_logit, a_true), cov = _delong(y, hgb.oof, logit.oof, truth)
    assert a_hgb - a_logit > 2 * np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), (a_hgb, a_logit)
    assert a_true - a_hgb < np.sqrt(cov[2, 2]), (a_hgb, a_true, np.sqrt(cov[2, 2]))


def test_nested_search_reports_chance_auc_on_pure_noise():
    """Labels independent of every feature: any AUC above 0.5 would come from scoring customers the search (or the
    refit) had seen. Nested, the mean outer-fold ROC-AUC lies within 3 standard errors of 0.5, the error from the
    exact null variance of each fold's AUC, (m + n + 1) / (12 m n) for m churners and n others; the boosting
    scored on its own training rows is far above that, so the check can tell a leak."""
    rng = np.random.default_rng(11)
    n = 2000
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)], index=[f"n{i}" for i in range(n)])
    X["group"] = pd.Categorical(rng.choice(list("abcd"), n))
    y = (rng.random(n) < 0.3).astype(int)
    res = ch.cross_validate(lambda: ch.TunedHGBChurn(seed=0), X, y, folds=5, seed=0, keep_models=True)
    var = []
    for model, te in zip(res.models, res.test_index):
        assert not set(model.train_index_) & set(X.index[te]) and len(model.train_index_) == n - len(te)
        m1 = y[te].sum()
        m0 = len(te) - m1
        var.append((m1 + m0 + 1) / (12 * m1 * m0))
    se = np.sqrt(np.sum(var)) / len(var)
    assert abs(res.mean["roc_auc"] - 0.5) < 3 * se, (res.folds["roc_auc"].tolist(), se)
    seen = res.models[0].predict_proba(X.loc[res.models[0].train_index_])[:, 1]
    assert ch.classification_metrics(y[np.isin(X.index, res.models[0].train_index_)], seen)["roc_auc"] > 0.5 + 6 * se


def test_metrics_gains_and_early_warning():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([.9, .8, .7, .1, .2, .3, .1, .2, .1, .4])
    m = ch.classification_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(19 / 21) and m["top_decile_lift"] == pytest.approx(1 / 0.3)
    g = ch.gains_table(y, p, groups=5)
    assert g["share_of_churners_captured"].iloc[-1] == 1.0 and g["churners"].sum() == 3
    prob = pd.Series([0.9, 0.5, 0.2, 0.1], index=list("abcd"))
    value = pd.Series([10.0, 100.0, 1000.0, 5.0], index=list("abcd"))
    ew = ch.early_warning_list(prob, value)
    assert list(ew.index) == ["c", "b", "a", "d"] and ew["rank"].tolist() == [1, 2, 3, 4]
    t = ch.targeting_comparison(prob, value, budget=2, save_rate=0.5)
    assert t.loc["by value at risk", "value_at_risk_reached"] == pytest.approx(250.0)
    assert t.loc["by churn probability", "value_at_risk_reached"] == pytest.approx(59.0)
    assert t.loc["by value at risk", "expected_revenue_saved"] == pytest.approx(125.0)
    feats = pd.DataFrame({"days_since_last_purchase": [400, 10, 10, 10], "complaints_180d": [0, 2, 0, 0]},
                         index=list("abcd"))
    act = ch.suggest_action(feats, pd.Series(["tenure", "price", "contract", "tech_support"], index=list("abcd")))
    assert act.tolist() == ["win-back", "service call", "retention offer", "service call"]


def test_reasons_pareto_and_by_region():
    ds = _toy()
    frame = ds.customers.set_index("customer_id")
    par = ch.reason_pareto(frame)
    assert par["churned_customers"].sum() == 2 and par["cumulative_share"].iloc[-1] == 1.0
    by = ch.reasons_by(frame, "region")
    assert by.loc["N", "price"] == 1.0 and by.loc["S", "competitor"] == 1.0


# ------------------------------------------------------------------------------------------ the notebook
@pytest.fixture(scope="module")
def notebook_runs(tmp_path_factory, small_demo_spec, shared_data):
    """Run notebooks/04_churn.ipynb through papermill on the small demo, Telco and Telco extended."""
    import papermill as pm

    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as the runner sets it
        for name, spec, extra in (("demo", small_demo_spec, {"contact_budget": 100, "warning_list_size": 200}),
                                  ("telco", ROOT / "config" / "datasets" / "telco.yaml", {}),
                                  ("telco_extended", ROOT / "config" / "datasets" / "telco_extended.yaml", {})):
            run_dir = tmp_path_factory.mktemp(f"churn_{name}")
            out = run_dir / "churn.ipynb"
            pm.execute_notebook(str(NOTEBOOK), str(out), parameters={"dataset": str(spec), "run_dir": str(run_dir),
                                **extra}, kernel_name="python3", cwd=str(ROOT), progress_bar=False)
            runs[name] = (run_dir, json.loads(out.read_text()))
    return runs


@pytest.mark.parametrize("name", ["demo", "telco", "telco_extended"])
def test_notebook_runs_and_publishes(notebook_runs, name):
    from toolkit.results import RunResults

    run_dir, nb = notebook_runs[name]
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
    res = RunResults(run_dir)
    for table in ("churn_rates_by_region", "cox_hazard_ratios", "model_metrics", "model_tuning", "reasons_by_region"):
        assert res.has(table), table
    metrics = res.read_metrics("churn")
    for key in ("overall_churn_rate", "churn_rate_by_region", "auc", "brier", "value_at_risk_total", "top_risk_region"):
        assert key in metrics, key
    assert 0 < metrics["overall_churn_rate"] < 1 and metrics["value_at_risk_total"] > 0
    scores = pd.read_csv(run_dir / "exports" / "churn_scores.csv")   # the action plan's early warnings
    assert scores["customer_id"].str.match(r"^P[0-9a-f]{12}$").all(), "ids pseudonymised"
    assert scores["customer_id"].is_unique and scores["churn_probability"].between(0, 1).all()
    assert np.allclose(scores["value_at_risk"], scores["churn_probability"] * scores["value"], rtol=1e-3, atol=0.01)
    hr = res.read_table("cox_hazard_ratios")
    assert len(hr) and np.isfinite(hr["hazard_ratio"]).all()
    comparison = res.read_table("model_metrics")
    names = {v: k for k, v in ch.models.MODEL_NAMES.items()}
    auc = {names[n]: a for n, a in zip(comparison["model"], comparison["roc_auc"])}
    assert metrics["model"] == _rule(auc) and comparison.loc[comparison["chosen"], "model"].map(names).tolist() == [
        metrics["model"]]   # the documented rule applied to the published comparison
    tuning = res.read_table("model_tuning")
    assert len(tuning) == len(ch.HGB_GRID)
    assert tuning["chosen_in_evaluation"].sum() == (1 if name == "demo" else 5)
    assert ("chosen_final" in tuning) == (metrics["model"] == "hgb")
    text = "".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"])
    shown = " ".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                     for o in outputs) + " ".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    assert f"Gradient boosting searched {len(ch.HGB_GRID)} settings" in shown and "tuned inside every fit" in text
    if name == "demo":
        assert metrics["evaluation"] == "time-based split" and len(metrics["churn_rate_by_region"]) == 6
        assert max(metrics["churn_rate_by_region"], key=metrics["churn_rate_by_region"].get) == "East"
        assert len(res.read_table("reasons_by_region")) == 6
    else:
        assert metrics["evaluation"] == "cross-validation"
    if name == "telco":
        assert metrics["auc"] >= 0.85   # the project's bar (issue #20)
    if name == "telco_extended":
        assert "satisfaction_score" not in " ".join(res.read_table("cox_hazard_ratios")["term"])
        # no worse than a plain scikit-learn logistic regression on the same folds by more than two DeLong
        # standard errors of the baseline's AUC (the report publishes no out-of-fold scores for a paired error)
        ds = load_dataset(ROOT / "config" / "datasets" / "telco_extended.yaml")
        lab = ch.churn_labels(ds)
        y = lab["churned"].astype(int).to_numpy()
        base = _sklearn_baseline(ch.build_features(ds).reindex(lab.index), y)
        (a_base,), cov = _delong(y, base.oof)
        assert metrics["auc"] >= base.mean["roc_auc"] - 2 * np.sqrt(cov[0, 0]), (metrics["auc"], base.mean["roc_auc"])
