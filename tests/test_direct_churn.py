"""Direct tests of churn names no other test referenced (issue #19, item 6): ChurnModel, ChurnPrediction,
DEFINITIONS, Design, KaplanMeierResult, LogRankResult, cohort_column, driver_of, has_reasons, is_dated,
is_engineered, km_groupings, make_estimator, satisfaction_trajectory.

Expected values are computed by hand (product-limit estimates, Greenwood variances, day counts, bins) or
independently in the test (a textbook log-rank statistic, logistic regression by Newton-Raphson in numpy,
fold AUCs with scikit-learn's own splitter and roc_auc_score).
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from toolkit.churn import (DEFINITIONS, ChurnModel, ChurnPrediction, Design, KaplanMeierResult, LogitChurn,
                           LogRankResult, TunedHGBChurn, churn_labels, cohort_column, driver_of, has_reasons,
                           is_dated, is_engineered, kaplan_meier, km_groupings, logrank, make_estimator,
                           predict_churn, satisfaction_trajectory)


# -------------------------------------------------------------------------------- Kaplan-Meier, log-rank
# Six subjects: durations 2, 3, 3, 5, 7, 8 with events 1, 1, 0, 1, 0, 1 (the 0s censored).
# Product limit by hand (a censoring tied with an event stays in the risk set at that time):
#   t=2: n=6, d=1 -> S = 5/6;  t=3: n=5, d=1 -> 5/6 * 4/5 = 2/3;  t=5: n=3, d=1 -> 2/3 * 2/3 = 4/9;
#   t=7: censored only;        t=8: n=1, d=1 -> 0.
KM_T = [2.0, 3.0, 3.0, 5.0, 7.0, 8.0]
KM_E = [1, 1, 0, 1, 0, 1]


@pytest.fixture
def km() -> KaplanMeierResult:
    frame = pd.DataFrame({"duration": KM_T, "event": KM_E})
    frame.attrs["time_unit"] = "days"
    return kaplan_meier(frame)


def test_kaplan_meier_result_product_limit_by_hand(km):
    assert isinstance(km, KaplanMeierResult)
    assert km.by is None and km.logrank is None and km.time_unit == "days"
    c = km.curves
    event_rows = c.loc[c["events"] > 0]
    assert event_rows["time"].tolist() == [2.0, 3.0, 5.0, 8.0]
    np.testing.assert_allclose(event_rows["survival"], [5 / 6, 2 / 3, 4 / 9, 0.0], atol=1e-12)
    assert event_rows["at_risk"].tolist() == [6, 5, 3, 1]
    # the curve starts at (0, 1) with everyone at risk
    assert c.iloc[0][["time", "survival", "at_risk"]].tolist() == [0.0, 1.0, 6]
    g = km.summary()
    assert g is km.groups and g.index.tolist() == ["all customers"]
    row = g.loc["all customers"]
    assert (row["customers"], row["churned"]) == (6, 4)
    assert row["median_lifetime"] == 5.0          # first time S <= 0.5 (4/9)
    assert row["survival_at_end"] == 0.0 and row["last_time"] == 8.0


def test_kaplan_meier_interval_is_greenwood_on_the_log_log_scale(km):
    # Greenwood: Var S(t) = S(t)^2 sum_{t_i <= t} d_i / (n_i (n_i - d_i)); the log(-log) interval (Kalbfleisch &
    # Prentice) is S^exp(+-z se / (S |log S|)). At t=2: sum = 1/30; at t=3: 1/30 + 1/20.
    z = stats.norm.ppf(0.975)
    c = km.curves.set_index("time")
    for t, s, gsum in ((2.0, 5 / 6, 1 / 30), (3.0, 2 / 3, 1 / 30 + 1 / 20)):
        se = s * np.sqrt(gsum)
        w = z * se / (s * abs(np.log(s)))
        assert c.loc[t, "lower"] == pytest.approx(s ** np.exp(w), abs=1e-9)
        assert c.loc[t, "upper"] == pytest.approx(s ** np.exp(-w), abs=1e-9)


def test_kaplan_meier_survival_at(km):
    got = km.survival_at([0.0, 1.9, 2.0, 4.0, 5.0, 7.5, 8.0, 9.0])
    assert got.index.tolist() == ["all customers"] and got.columns.name == "time (days)"
    expected = [1.0, 1.0, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0.0, np.nan]     # step function; NaN past the last time
    np.testing.assert_allclose(got.loc["all customers"].to_numpy(float), expected, atol=1e-12)


def test_kaplan_meier_event_at_time_zero():
    frame = pd.DataFrame({"duration": [0.0] + KM_T, "event": [1] + KM_E})
    r = kaplan_meier(frame)
    # with a churn at day 0 among 7 subjects, S(0) = 6/7 (P(T > 0)); later steps scale by 6/7 as well
    assert r.curves["events"].sum() == 5
    assert r.survival_at([0.0]).iloc[0, 0] == pytest.approx(6 / 7)
    # t=2: n=6, d=1 -> 6/7 * 5/6 = 5/7; the time-0 row keeps everyone (7) at risk
    assert r.survival_at([2.0]).iloc[0, 0] == pytest.approx(5 / 7)
    assert r.curves.iloc[0][["time", "at_risk", "events"]].tolist() == [0.0, 7, 1]


def _logrank_by_hand(t, e, g):
    """Textbook two-group log-rank: sum over event times of O - E for group A and the hypergeometric variance."""
    t, e, g = map(np.asarray, (t, e, g))
    o_minus_e = var = 0.0
    for time in np.unique(t[e == 1]):
        at_risk = t >= time
        n, n1 = at_risk.sum(), (at_risk & (g == "A")).sum()
        d = ((t == time) & (e == 1)).sum()
        d1 = ((t == time) & (e == 1) & (g == "A")).sum()
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e ** 2 / var


def test_logrank_result_matches_textbook_statistic():
    t = [2, 3, 3, 5, 7, 8, 1, 1, 4, 6, 9, 12]
    e = [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0]
    g = ["A"] * 6 + ["B"] * 6
    res = logrank(pd.Series(t), pd.Series(e), pd.Series(g))
    assert isinstance(res, LogRankResult)
    chi2 = _logrank_by_hand(t, e, g)
    assert res.statistic == pytest.approx(chi2, rel=1e-9)
    assert (res.df, res.groups) == (1, 2)
    assert res.p_value == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-9)
    assert str(res) == f"log-rank chi2 = {chi2:.2f} on 1 df, p = {stats.chi2.sf(chi2, 1):.3g}"


def test_kaplan_meier_by_group_carries_the_logrank():
    frame = pd.DataFrame({"duration": [2, 3, 3, 5, 7, 8, 1, 1, 4, 6, 9, 12],
                          "event": [1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0],
                          "plan": ["A"] * 6 + ["B"] * 6})
    r = kaplan_meier(frame, by="plan", min_count=1)
    assert r.by == "plan" and sorted(r.groups.index) == ["A", "B"]
    assert r.logrank.statistic == pytest.approx(_logrank_by_hand(frame["duration"], frame["event"], frame["plan"]))
    # group A is the six subjects above: its curve is the hand-computed one
    a = r.curves.loc[(r.curves["group"] == "A") & (r.curves["events"] > 0)]
    np.testing.assert_allclose(a["survival"], [5 / 6, 2 / 3, 4 / 9, 0.0], atol=1e-12)
    # group B: t=1 n=6 d=1 -> 5/6; t=4 n=4 d=1 -> 5/8; t=6 n=3 d=1 -> 5/12; t=9 n=2 d=1 -> 5/24 (12 censored)
    b = r.curves.loc[(r.curves["group"] == "B") & (r.curves["events"] > 0)]
    np.testing.assert_allclose(b["survival"], [5 / 6, 5 / 8, 5 / 12, 5 / 24], atol=1e-12)
    assert r.groups.loc["B", "median_lifetime"] == 6.0          # first time S <= 0.5: 5/12 at t=6
    assert r.groups.loc["B", "survival_at_end"] == pytest.approx(5 / 24)


def test_kaplan_meier_curve_reaches_the_last_follow_up():
    frame = pd.DataFrame({"duration": [1, 1, 4, 6, 9, 12], "event": [1, 0, 1, 1, 1, 0]})
    r = kaplan_meier(frame)
    # product limit of group B above: 5/24 from t=9 until the last follow-up at 12
    assert r.groups.iloc[0]["last_time"] == 12.0
    assert r.survival_at([10.0]).iloc[0, 0] == pytest.approx(5 / 24)
    nobody = kaplan_meier(pd.DataFrame({"duration": [3.0, 5.0], "event": [0, 0]}))
    assert nobody.survival_at([4.0]).iloc[0, 0] == 1.0


def test_logrank_one_group_or_no_events():
    one = logrank(pd.Series([1, 2, 3]), pd.Series([1, 0, 1]), pd.Series(["x", "x", "x"]))
    assert np.isnan(one.statistic) and np.isnan(one.p_value) and (one.df, one.groups) == (0, 1)
    none = logrank(pd.Series([1, 2, 3, 4]), pd.Series([0, 0, 0, 0]), pd.Series(["x", "y", "x", "y"]))
    assert np.isnan(none.statistic) and (none.df, none.groups) == (1, 2)


def test_kaplan_meier_no_events_and_all_censored():
    r = kaplan_meier(pd.DataFrame({"duration": [3.0, 5.0], "event": [0, 0]}))
    assert r.curves["survival"].eq(1.0).all()
    row = r.groups.iloc[0]
    assert row["churned"] == 0 and np.isnan(row["median_lifetime"]) and row["survival_at_end"] == 1.0


# ------------------------------------------------------------------------------------------- km_groupings
def test_km_groupings():
    frame = pd.DataFrame({
        "region": ["N", "S", "N", "S"],
        "segment": ["N", "S", "N", "S"],          # the same values as region: repeats it, skipped
        "contract": ["m", "y", "m", "m"],
        "customer_type": ["x", "x", "x", "x"],    # one group: skipped
        "unlisted": ["a", "b", "c", "d"],         # not a candidate
    })
    assert km_groupings(frame) == ["region", "contract"]
    # a candidate list in another order keeps that order
    assert km_groupings(frame, ("contract", "region", "segment")) == ["contract", "region"]
    # missing values count as a group of their own ("(missing)")
    assert km_groupings(pd.DataFrame({"region": ["N", None, "N"]})) == ["region"]
    assert km_groupings(pd.DataFrame({"other": [1, 2]})) == []
    assert km_groupings(pd.DataFrame(columns=["region"])) == []


# ------------------------------------------------------------------------------------------ cohort_column
def _labels(start, duration, dated=True):
    out = pd.DataFrame({"start": pd.DatetimeIndex([pd.Timestamp(v) if v else pd.NaT for v in start]),
                        "duration": duration},
                       index=[f"c{i}" for i in range(len(start))])
    out.attrs["dated"] = dated
    return out


def test_cohort_column_dated():
    lab = _labels(["2023-12-31", "2024-01-01", None, "2024-11-15"], [1.0, 2.0, 3.0, 4.0])
    y = cohort_column(lab)
    assert y.name == "cohort" and y.tolist() == ["2023", "2024", "(missing)", "2024"]
    assert cohort_column(lab, "Q").tolist() == ["2023Q4", "2024Q1", "(missing)", "2024Q4"]
    assert cohort_column(lab, "quarter").tolist() == ["2023Q4", "2024Q1", "(missing)", "2024Q4"]   # first letter
    with pytest.raises(ValueError, match="must be M"):
        cohort_column(lab, "W")


def test_cohort_column_undated_uses_tenure_bands():
    # tenure bands (0, 6, 12, 24, 48], right-closed: 6 -> 0-6, 7 and 12 -> 7-12, 48 -> 25-48, 49 -> 49+
    lab = _labels([None] * 7, [0.0, 6.0, 7.0, 12.0, 48.0, 49.0, np.nan], dated=False)
    got = cohort_column(lab)
    assert got.name == "cohort"
    assert got.astype(str).tolist() == ["0-6 months", "0-6 months", "7-12 months", "7-12 months", "25-48 months",
                                        "49+ months", "(missing)"]
    # dated labels in which no start is known fall back to the bands too
    none = _labels([None, None], [3.0, 30.0], dated=True)
    assert cohort_column(none).astype(str).tolist() == ["0-6 months", "25-48 months"]


# ------------------------------------------------------------------------------------------- has_reasons
def test_has_reasons():
    f = pd.DataFrame({"churned": [True, True, False], "churn_reason": [None, "(missing)", "price"]})
    # the only recorded reason belongs to a customer who stayed: no churned customer has one
    assert has_reasons(f) is False
    assert has_reasons(f.assign(churn_reason=["competitor", None, None])) is True
    assert has_reasons(f.drop(columns="churn_reason")) is False
    assert has_reasons(f.rename(columns={"churn_reason": "why"}), reason="why") is False
    assert has_reasons(f.assign(churn_reason=[None, "other", None]).rename(columns={"churn_reason": "why"}),
                       reason="why") is True
    assert has_reasons(f.iloc[0:0]) is False
    assert has_reasons(f.assign(churned=False, churn_reason="price")) is False    # nobody churned


# -------------------------------------------------------------------------------- is_dated and DEFINITIONS
def test_definitions_and_unknown_definition():
    assert DEFINITIONS == ("explicit", "inactivity", "p_alive")
    ds = SimpleNamespace(customers=pd.DataFrame({"customer_id": ["a"], "churned": [True]}),
                         as_of=pd.Timestamp("2024-06-30"))
    with pytest.raises(ValueError, match="explicit, inactivity, p_alive"):
        churn_labels(ds, definition="tenure")


def test_is_dated():
    acq = pd.to_datetime(["2024-01-01", "2024-02-01"])
    dated = SimpleNamespace(customers=pd.DataFrame({"customer_id": ["a", "b"], "acquisition_date": acq,
                                                    "churn_date": pd.to_datetime(["2024-03-01", None])}))
    assert is_dated(dated) is True
    # a churn-date column where nobody has churned yet still places churn in time (everyone censored)
    nobody = SimpleNamespace(customers=dated.customers.assign(churn_date=pd.NaT))
    assert is_dated(nobody) is True
    flag = SimpleNamespace(customers=pd.DataFrame({"customer_id": ["a"], "churned": [True], "acquisition_date": acq[:1]}))
    assert is_dated(flag) is False                                   # a flag, no churn dates: a snapshot
    no_start = SimpleNamespace(customers=dated.customers.assign(acquisition_date=pd.NaT))
    assert is_dated(no_start) is False                               # churn dates but no start to count from
    # the purchase-based definitions are always dated (they read purchase dates), whatever the customer table
    assert is_dated(flag, "inactivity") is True and is_dated(flag, "p_alive") is True


# ------------------------------------------------------------------------------- satisfaction_trajectory
@pytest.fixture
def trajectory_inputs():
    labels = pd.DataFrame({"churned": [True, True, False, False],
                           "churn_date": pd.to_datetime(["2024-06-30", "2024-03-15", None, None])},
                          index=pd.Index(["c1", "c2", "c3", "c4"], name="customer_id"))
    c2_end = pd.Timestamp("2024-03-15")
    rows = [
        ("c1", "2024-06-30", 2.0),            # 0 days before -> bin 0
        ("c1", "2024-05-02", 3.0),            # 59 days -> bin 0
        ("c1", "2024-05-01", 4.0),            # 60 days -> bin 60
        ("c1", "2024-07-05", 1.0),            # after leaving: not counted
        ("c2", "2024-03-15 10:30", 1.0),      # same day (time of day ignored) -> bin 0
        ("c2", "2023-10-01", 4.0),            # 31+30+31+31+29+14 = 166 days -> bin 120
        ("c2", str(c2_end - pd.Timedelta(days=539)), 2.0),   # 539 days -> bin 480 (539 // 60 = 8)
        ("c2", str(c2_end - pd.Timedelta(days=540)), 5.0),   # 540 days: not before max_days
        ("c3", "2024-01-01", 5.0),
        ("c3", "2024-02-01", 3.0),
        ("c4", "2024-01-01", 4.0),
        ("c4", "2024-02-01", np.nan),
        ("zz", "2024-01-01", 1.0),            # not a labelled customer
    ]
    sv = pd.DataFrame(rows, columns=["customer_id", "response_date", "overall_satisfaction"])
    sv["response_date"] = pd.DatetimeIndex([pd.Timestamp(v) for v in sv["response_date"]])
    return SimpleNamespace(surveys=sv), labels


def test_satisfaction_trajectory_by_hand(trajectory_inputs):
    ds, labels = trajectory_inputs
    out = satisfaction_trajectory(ds, labels)
    assert out.index.name == "days before leaving (bin start)"
    assert out.index.tolist() == [0, 60, 120, 480]
    # bin 0: 2, 3 (c1) and 1 (c2) -> mean 2 of 3; bin 60: 4; bin 120: 4; bin 480: 2
    assert out["mean_satisfaction"].tolist() == [2.0, 4.0, 4.0, 2.0]
    assert out["responses"].tolist() == [3, 1, 1, 1]
    # stayers (c3, c4): 5, 3, 4 and a missing answer -> 4
    assert out["stayers_mean"].tolist() == [4.0] * 4


def test_satisfaction_trajectory_bin_width(trajectory_inputs):
    ds, labels = trajectory_inputs
    out = satisfaction_trajectory(ds, labels, bin_days=30, max_days=200)
    # days 0, 59, 60, 0, 166 -> bins 0, 30, 60, 0, 150 (539 and 540 now beyond max_days)
    assert out.index.tolist() == [0, 30, 60, 150]
    assert out["mean_satisfaction"].tolist() == [1.5, 3.0, 4.0, 4.0] and out["responses"].tolist() == [2, 1, 1, 1]


def test_satisfaction_trajectory_none_cases(trajectory_inputs):
    ds, labels = trajectory_inputs
    assert satisfaction_trajectory(SimpleNamespace(surveys=None), labels) is None
    assert satisfaction_trajectory(SimpleNamespace(surveys=ds.surveys.drop(columns="response_date")), labels) is None
    stayed = labels.assign(churned=False, churn_date=pd.NaT)
    assert satisfaction_trajectory(ds, stayed) is None                # nobody left
    assert satisfaction_trajectory(SimpleNamespace(surveys=ds.surveys.iloc[0:0]), labels) is None


# ---------------------------------------------------------------------------------- driver_of, is_engineered
@pytest.mark.parametrize("feature,driver", [
    ("tenure_months", "tenure"), ("log_tenure", "tenure"), ("tenure_band", "tenure"),
    ("log_tenure x contract = Month-to-month", "tenure"),
    ("total_charges_per_month", "total_charges"),
    ("monthly_charges_band", "monthly_charges"),
    ("monthly_charges x contract = Two year", "monthly_charges"),
    ("orders_90d", "orders_90d"), ("region", "region"), ("yes_flags", "yes_flags"),
    ("total_charges", "total_charges"),        # not a per-month term: its own driver
    ("monthly_", "monthly_"),                  # nothing after the prefix: no match
])
def test_driver_of(feature, driver):
    assert driver_of(feature) == driver


@pytest.mark.parametrize("feature,engineered", [
    ("log_tenure", True), ("tenure_band", True), ("yes_flags", True), ("total_charges_per_month", True),
    ("monthly_charges_band", True), ("contract x internet_service", True), ("log_tenure x contract = a", True),
    ("tenure_months", False), ("orders_90d", False), ("region", False), ("monthly_charges", False),
    ("xerox", False),        # " x " needs the spaces
])
def test_is_engineered(feature, engineered):
    assert is_engineered(feature) is engineered


# ---------------------------------------------------------------------------------------------------- Design
def test_design_centres_scales_indicators_and_missing():
    frame = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0, 60.0, np.nan],
                          "plan": ["a", "b", "a", None, "b", "a"]})
    d = Design(min_count=1).fit(frame)
    x = d.transform(frame)
    # age: median 40, SD of 20..60 = 15.8 -> round unit 10; the missing age is set to the centre and flagged.
    # plan: reference = most frequent level "a"; b and (missing) get indicator columns.
    assert x.columns.tolist() == ["age", "plan = b", "plan = (missing)", "age missing"]
    assert x["age"].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0, 0.0]
    assert x["plan = b"].tolist() == [0, 1, 0, 0, 1, 0] and x["plan = (missing)"].tolist() == [0, 0, 0, 1, 0, 0]
    assert x["age missing"].tolist() == [0, 0, 0, 0, 0, 1]
    assert d.units_["age"] == "per 10" and d.units_["plan = b"] == "vs a"
    assert d.terms_ == [("age", None), ("plan", "b"), ("plan", "(missing)"), ("age", "(missing)")]
    assert d.reference_ == {"plan": "a"} and d.features_ == ["age", "plan"]


def test_design_pools_rare_levels_and_drops_redundant_columns():
    frame = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0, 60.0, np.nan],
                          "age2": [40.0, 60.0, 80.0, 100.0, 120.0, np.nan],     # 2 x age: redundant
                          "plan": ["a", "b", "a", None, "b", "a"],
                          "const": [1.0] * 6})
    d = Design(min_count=2).fit(frame)
    x = d.transform(frame)
    # (missing) plan: 1 row < min_count, too few to stand alone -> counted with the reference "a";
    # one missing age < min_count -> no indicator; const: all rows equal the mode -> left out
    assert x.columns.tolist() == ["age", "plan = b"]
    assert x["plan = b"].tolist() == [0, 1, 0, 0, 1, 0]
    assert "age2" in d.dropped_ and "redundant" in d.dropped_["age2"]
    assert "const" in d.dropped_ and "almost constant" in d.dropped_["const"]
    # an unseen level in new data falls to the reference (not strict)
    new = d.transform(pd.DataFrame({"age": [40.0], "age2": [80.0], "plan": ["zzz"], "const": [1.0]}))
    assert new.to_numpy().tolist() == [[0.0, 0.0]]


# ------------------------------------------------------------------------------ make_estimator, ChurnModel
def test_make_estimator():
    lg = make_estimator("logit")
    assert type(lg) is LogitChurn and make_estimator("logit") is not lg          # a fresh one each call
    hgb = make_estimator("hgb", seed=7, n_threads=2)
    assert type(hgb) is TunedHGBChurn and (hgb.seed, hgb.n_threads) == (7, 2)
    assert not hasattr(hgb, "model_")                                            # unfitted
    for bad in ("auto", "rf", ""):
        with pytest.raises(ValueError):
            make_estimator(bad)


def _newton_logit(z: np.ndarray, y: np.ndarray, iters: int = 50) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson (textbook IRLS)."""
    beta = np.zeros(z.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-z @ beta))
        grad = z.T @ (y - p)
        hess = (z * (p * (1 - p))[:, None]).T @ z
        beta = beta + np.linalg.solve(hess, grad)
    return beta


@pytest.fixture(scope="module")
def churn_xy():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(50, 10, n)
    plan = rng.choice(["monthly", "yearly"], n)
    eta = -1 + 0.08 * (x - 50) + 0.7 * (plan == "yearly")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"x": x, "plan": plan}), y


def test_churn_model_logit_equals_newton_raphson(churn_xy):
    X, y = churn_xy
    m = ChurnModel("logit").fit(X, y)
    assert m.kind_ == "logit" and m.selection_ is None and isinstance(m.estimator_, LogitChurn)
    assert m.feature_names_in_ == ["x", "plan"]
    # the same model in the original units: intercept, x, yearly indicator (predictions do not depend on the
    # design's centring and scaling)
    yearly = (X["plan"] == "yearly").to_numpy(float)
    z = np.column_stack([np.ones(len(y)), X["x"].to_numpy(), yearly])
    beta = _newton_logit(z, y.astype(float))
    np.testing.assert_allclose(m.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z @ beta)), atol=1e-7)
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1.0)
    # contributions: beta_j (x_j - mean x_j), per driver
    contrib = m.contributions(X)
    np.testing.assert_allclose(contrib["x"], beta[1] * (X["x"] - X["x"].mean()), atol=1e-7)
    np.testing.assert_allclose(contrib["plan"], beta[2] * (yearly - yearly.mean()), atol=1e-7)


def test_churn_model_auto_follows_the_margin_rule(churn_xy):
    X, y = churn_xy
    m = ChurnModel("auto", margin=0.005).fit(X, y)
    sel = m.selection_
    assert sel.index.tolist() == ["logit", "hgb"]
    expected = "hgb" if sel.loc["hgb", "roc_auc"] > sel.loc["logit", "roc_auc"] + 0.005 else "logit"
    assert m.kind_ == expected
    # fold-mean ROC-AUC of logistic regression, recomputed with scikit-learn's splitter (3 folds, seed 0)
    aucs = []
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(X, y):
        p = LogitChurn().fit(X.iloc[tr], y[tr]).predict_proba(X.iloc[te])[:, 1]
        aucs.append(roc_auc_score(y[te], p))
    assert sel.loc["logit", "roc_auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    # a margin no AUC gain can beat keeps logistic regression; a negative one of -1 always picks boosting
    assert ChurnModel("auto", margin=1.0).fit(X, y).kind_ == "logit"
    assert ChurnModel("auto", margin=-1.0).fit(X, y).kind_ == "hgb"


def test_churn_model_unknown_kind():
    with pytest.raises(ValueError, match="not one of auto, logit, hgb"):
        ChurnModel("forest").fit(pd.DataFrame({"x": [1.0, 2.0]}), [0, 1])


# ----------------------------------------------------------------------------------------- ChurnPrediction
@pytest.fixture(scope="module")
def snapshot():
    rng = np.random.default_rng(5)
    n = 240
    tenure = rng.integers(1, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.5, 0.3, 0.2])
    eta = 0.5 - 0.04 * tenure + 1.0 * (contract == "Month-to-month")
    churned = rng.random(n) < 1 / (1 + np.exp(-eta))
    cu = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(n)], "tenure": tenure.astype(float),
                       "contract": contract, "churned": churned})
    ds = SimpleNamespace(customers=cu, as_of=pd.Timestamp("2024-06-30"), interactions=None, surveys=None,
                         has=lambda table: False)
    return ds, predict_churn(ds, model="logit", folds=3, seed=0)


def test_churn_prediction_snapshot_fields(snapshot):
    ds, pred = snapshot
    cu = ds.customers
    assert isinstance(pred, ChurnPrediction)
    assert (pred.mode, pred.kind, pred.model_name, pred.horizon_days) == ("snapshot", "logit",
                                                                          "logistic regression", None)
    assert pred.summary() is pred.comparison and pred.comparison.index.tolist() == ["logit"]
    assert pred.comparison.loc["logit", "customers"] == len(cu)
    assert pred.cutoffs == {"as_of": pd.Timestamp("2024-06-30")}
    # labels are the flag; every customer is evaluated out of fold
    assert pred.y_eval.tolist() == cu["churned"].astype(int).tolist()
    assert len(pred.p_eval) == len(cu) and np.isfinite(pred.p_eval).all()
    assert ((pred.p_eval > 0) & (pred.p_eval < 1)).all()
    # only customers still active are scored, by the final model
    assert pred.scores.index.tolist() == cu.loc[~cu["churned"], "customer_id"].tolist()
    np.testing.assert_allclose(pred.scores, pred.model.predict_proba(pred.X_score)[:, 1])
    assert pred.tuning is None and len(pred.folds) == 3


def test_churn_prediction_metrics_are_fold_means(snapshot):
    ds, pred = snapshot
    y = pred.y_eval
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    # each fold's ROC-AUC from the out-of-fold probabilities, then their mean (scikit-learn, independently)
    aucs = [roc_auc_score(y[te], pred.p_eval[te]) for _, te in folds]
    assert pred.metrics["roc_auc"] == pytest.approx(np.mean(aucs), abs=1e-12)
    assert pred.metrics["churn_rate"] == pytest.approx(np.mean([y[te].mean() for _, te in folds]), abs=1e-12)
    # the hold-out of the evaluation model is the first test fold
    te0 = folds[0][1]
    assert pred.X_holdout.index.tolist() == pred.X_eval.index[te0].tolist()
    assert pred.y_holdout.tolist() == y[te0].tolist()
    np.testing.assert_allclose(pred.eval_model.predict_proba(pred.X_holdout)[:, 1], pred.p_eval[te0])
