"""The demo's contact log carries touchpoint ground truth and the touchpoint report recovers it.

The demo (:func:`toolkit.data.demo.write_demo`, 5,000 customers, seed 42) builds interactions.csv with
:func:`toolkit.data.demo_touchpoints.simulate_interactions`; the truth is ``ground_truth.json
["touchpoints"]`` (the TouchpointParams used and the realised counts). The report's sections run as
the notebook runs them (``toolkit.reports.touchpoints``), over the whole log (window 1,000 days) and,
for the cadence, over its 365-day window. Each tolerance is stated next to its check: three standard
errors of the estimate (from the report's own interval, or the binomial / Poisson standard error).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.data.demo import read_ground_truth
from toolkit.reports import touchpoints as report
from toolkit.reports.context import ReportContext, RunSettings
from toolkit.results import RunResults

ROOT = Path(__file__).resolve().parents[1]
N_CUSTOMERS = 5000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from toolkit.data import load_dataset
    from toolkit.plotting import apply_style

    folder = tmp_path_factory.mktemp("demo_touchpoints")
    spec = yaml.safe_load((ROOT / "config" / "datasets" / "demo.yaml").read_text())
    spec.update(name="demo_tp", title="Demo, touchpoint truth", base="data")
    spec["generator"] = {**spec["generator"], "n_customers": N_CUSTOMERS, "out": "data"}
    (folder / "demo_tp.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    ds = load_dataset(folder / "demo_tp.yaml")
    truth = read_ground_truth(folder / "data")["touchpoints"]
    apply_style()
    rep = ReportContext("touchpoints", ds, RunResults(folder / "run", notebook="touchpoints", pseudonymise=False),
                        RunSettings())
    whole = report.contact_log(rep, None, 1000).value          # the log spans 911 days: every contact
    year = report.contact_log(rep, None, 365).value            # the notebook's window: the cadence's truth
    return rep, truth, whole, year


def test_the_truth_is_recorded_with_its_parameters_and_counts(demo):
    _, truth, b, _ = demo
    P, r = truth["params"], truth["realised"]
    assert P["conversion_odds_ratio"] == truth["conversion_odds_ratio"]
    assert P["prechurn_surge_days"] == 120 and P["prechurn_surge_factor"] == {"complaint": 5.0, "service": 2.5}
    assert r["rows"] == len(b.contacts) and sum(r["rows_by_kind"].values()) == r["rows"]
    assert b.contacts["kind"].value_counts().to_dict() == r["rows_by_kind"]
    # the simulator saw the transactions the loader keeps: its value tiers are the report's
    tiers = b.profile["value_tier"].value_counts()
    for t in ("high", "mid", "low"):
        assert tiers[t] == truth["customers_per_tier"][t], t


def test_conversion_odds_ratio_per_channel_is_recovered(demo):
    """Truth: params.conversion_odds_ratio (visit 2.5, phone 1.8, e-mail 1.3, messaging 1.5, social 1.0).
    Tolerance: 3 standard errors of the log odds ratio (the 95% bootstrap interval spans 3.92)."""
    rep, truth, b, _ = demo
    t = report.conversion(rep, b, truth["params"]["window_days"], 0).value.table
    for ch, true in truth["conversion_odds_ratio"].items():
        est, lo, hi = t.loc[ch, ["odds_ratio", "odds_ratio_lower", "odds_ratio_upper"]]
        se = (math.log(hi) - math.log(lo)) / 3.92
        assert abs(math.log(est) - math.log(true)) <= 3 * se, (ch, est, true, lo, hi)
    assert t.loc["visit", "odds_ratio_lower"] > 1 and t.loc["phone", "odds_ratio_lower"] > 1   # planted uplifts found


def test_complaint_count_resolution_and_time_to_resolve_are_recovered(demo):
    """Truth: every planted complaint case (realised.complaint_cases) is one case of the report;
    p_resolved 0.7 (3 binomial SE); mean_days_to_resolve 8 = 1 + Poisson(7) for cases resolved after
    the first contact (3 Poisson SE), read where no cap applies: customers active at the end, cases
    opened at least follow_up_days before it (the sim caps only at the customer's last contact day)."""
    rep, truth, b, _ = demo
    P = truth["params"]
    res = report.complaints(rep, b).value
    total = res.rates.loc["all regions"]
    assert total["complaints"] == truth["realised"]["complaint_cases"]
    n = total["resolved"] + total["unresolved"]
    assert abs(total["resolution_rate"] - P["p_resolved"]) <= 3 * math.sqrt(P["p_resolved"] * (1 - P["p_resolved"]) / n)
    assert abs(total["first_contact_share"] - P["p_first_contact"]) <= 3 * math.sqrt(0.25 / total["resolved"])
    cases = res.cases
    active = b.profile.index[np.isnan(b.churn_dates())]
    later = cases.loc[cases["customer_id"].isin(active) & (cases["status"] == "resolved")
                      & (cases["days_to_resolve"] > 0) & (cases["opened"] <= b.as_of_day - P["follow_up_days"]),
                      "days_to_resolve"]
    sd = math.sqrt(P["mean_days_to_resolve"] - 1)
    assert len(later) > 100 and abs(later.mean() - P["mean_days_to_resolve"]) <= 3 * sd / math.sqrt(len(later))


def test_hazard_ratio_after_an_unresolved_complaint_is_recovered(demo):
    """Truth: hazard_ratio_unresolved = 2 (time from the first complaint). Tolerance: 3 standard errors
    of the log hazard ratio from the Cox interval."""
    rep, truth, b, _ = demo
    cc = report.complaint_churn(rep, b).value
    se = (math.log(cc.upper) - math.log(cc.lower)) / 3.92
    assert abs(math.log(cc.hazard_ratio) - math.log(truth["hazard_ratio_unresolved"])) <= 3 * se, cc
    assert cc.lower > 1
    # every planted first complaint is read, but those still open (no resolution yet, opened in the last
    # follow_up_days) are not yet resolved or unresolved
    cases = report.complaints(rep, b).value.cases
    first = cases.sort_values(["customer_id", "opened"], kind="stable").drop_duplicates("customer_id")
    assert len(cc.frame) + int((first["status"] == "open").sum()) == truth["realised"]["first_complaints"]


def _windows(b):
    """Per customer of the profile: first purchase day, churn day (NaN if none), whether the 120-day
    pre-churn window fits after 120 days of history, and the window's first day."""
    first = b.purchases.groupby("customer_id")["day"].min().reindex(b.profile.index).to_numpy(float)
    churn = b.churn_dates()
    fits = ~np.isnan(churn) & (churn - first >= 240)
    return first, churn, fits, churn - 119


def _codes(b, ids) -> np.ndarray:
    return pd.Series(np.arange(len(b.profile)), index=b.profile.index).reindex(ids).to_numpy()


def test_complaints_are_five_times_as_frequent_before_a_churn(demo):
    """Truth: complaints at lam = complaints_per_year / 365.25 a day, 5 lam in the 120 days up to a churn
    (prechurn_surge_factor); a drawn complaint is dropped when the previous draw lies within 120 days. So
    on a day with at least 120 days of history and no surge in them a case opens at lam exp(-120 lam); on
    day s (0-based) of the surge window at 5 lam exp(-lam (120 - s) - 5 lam s). Read on days 0-88 of the
    window (the sim ends a planted pre-churn sequence's customer's regular contacts 31 days before the
    churn) of churners with 240 days before the churn, against days 120 or more after the first purchase
    that see no surge day in their 120 days. Tolerance: 3 Poisson SE of each count."""
    rep, truth, b, _ = demo
    lam = truth["params"]["complaints_per_year"] / 365.25
    first, churn, fits, w0 = _windows(b)
    opened = report.complaints(rep, b).value.cases
    code, day = _codes(b, opened["customer_id"]), opened["opened"].to_numpy()
    inside = fits[code] & (day >= w0[code]) & (day <= w0[code] + 88)
    out_hi = np.where(np.isnan(churn), b.as_of_day, churn - 240)
    outside = (day >= first[code] + 120) & (day <= out_hi[code])
    exposure_out = np.maximum(out_hi - (first + 120) + 1, 0)[~np.isnan(first)].sum()
    k = np.arange(89)
    expect_in = fits.sum() * (5 * lam * np.exp(-lam * (120 - k) - 5 * lam * k)).sum()
    expect_out = exposure_out * lam * math.exp(-120 * lam)
    assert abs(inside.sum() - expect_in) <= 3 * math.sqrt(expect_in), (inside.sum(), expect_in)
    assert abs(outside.sum() - expect_out) <= 3 * math.sqrt(expect_out), (outside.sum(), expect_out)


def test_service_contacts_surge_before_a_churn_and_are_resolved_less_often(demo):
    """Truth: service contacts at service_per_year / 365.25 a day, 2.5 times that in the 120 days up to a
    churn, the extra ones resolved with probability prechurn_service_resolved (0.6), the others 0.85: so
    (0.85 + 1.5 x 0.6) / 2.5 = 0.7 resolved in the window. Read on days 0-88 of the window (as above)
    against the days before it. Tolerance: 3 Poisson SE of each count, 3 binomial SE of the share."""
    _, truth, b, _ = demo
    P = truth["params"]
    mu, f = P["service_per_year"] / 365.25, P["prechurn_surge_factor"]["service"]
    first, churn, fits, w0 = _windows(b)
    sv = b.contacts.loc[b.contacts["kind"] == "service"]
    code, day = _codes(b, sv["customer_id"]), sv["day"].to_numpy()
    inside = fits[code] & (day >= w0[code]) & (day <= w0[code] + 88)
    out_hi = np.where(np.isnan(churn), b.as_of_day, w0 - 1)
    outside = (day >= first[code]) & (day <= out_hi[code])
    expect_in = fits.sum() * 89 * f * mu
    expect_out = np.maximum(out_hi - first + 1, 0)[~np.isnan(first)].sum() * mu
    assert abs(inside.sum() - expect_in) <= 3 * math.sqrt(expect_in), (inside.sum(), expect_in)
    assert abs(outside.sum() - expect_out) <= 3 * math.sqrt(expect_out), (outside.sum(), expect_out)
    p = (0.85 + (f - 1) * P["prechurn_service_resolved"]) / f
    share = (sv["outcome"].to_numpy()[inside] == "resolved").mean()
    assert abs(share - p) <= 3 * math.sqrt(p * (1 - p) / inside.sum()), (share, p)


def test_contacts_per_quarter_by_tier_are_recovered(demo):
    """Truth: contacts_per_quarter (high 2.0, mid 1.5, low 0.6) outbound contacts per customer and quarter
    over the last 365 days of the customers active at the end. Tolerance: 3 Poisson SE over the tier's
    customer-quarters."""
    rep, truth, _, b = demo
    t = report.cadence(rep, b).value
    for tier, true in truth["contacts_per_quarter_by_tier"].items():
        rate, q = t.loc[tier, "contacts_per_quarter"], t.loc[tier, "quarters"]
        assert abs(rate - true) <= 3 * math.sqrt(true / q), (tier, rate, true)


def test_sequences_before_a_first_purchase_and_before_churn_are_recovered(demo):
    """Truth: prospect_sequences (0.5 / 0.3 / 0.2 of the buyers with a sequence; 3 binomial SE) and the
    prechurn_sequence of realised.churners_with_prechurn_sequence churners, the most common before churn
    (a few other churners may end the same way by chance)."""
    rep, truth, b, _ = demo
    seqs = report.sequences(rep, b).value
    first = seqs["first_purchase"]
    n = round(first["customers"].iloc[0] / first["share"].iloc[0])
    for label, p in truth["prospect_sequences"].items():
        assert abs(first.loc[label, "share"] - p) <= 3 * math.sqrt(p * (1 - p) / n), (label, first.loc[label], p)
    assert n == truth["realised"]["prospects_with_sequence"]
    churn = seqs["churn"]
    k = truth["realised"]["churners_with_prechurn_sequence"]
    assert churn.index[0] == truth["prechurn_sequence"]
    assert k <= churn["customers"].iloc[0] <= k + 3
