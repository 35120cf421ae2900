"""toolkit.touchpoints: the rules on hand-made logs, and ground-truth recovery on a simulated contact log.

The ground truth is :mod:`toolkit.data.demo_touchpoints` run on a generated demo company of 5,000
customers (its purchases and churn dates as they are): per-channel conversion odds ratios, the
complaint rate, resolution and time to resolve, the hazard ratio of churn after an unresolved
complaint, the contact cadence per tier and the planted sequences. Each tolerance is stated next
to its check: three standard errors of the estimate at this sample size (from the method's own
interval, or the binomial / Poisson standard error of a share or a rate).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

import toolkit.touchpoints as tp
from toolkit.data.demo_touchpoints import TouchpointParams, sequence_label, simulate_interactions
from toolkit.touchpoints.config import DEFAULTS, TouchpointConfigError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
DAY0 = pd.Timestamp("1970-01-01")


def day(s: str) -> int:
    return (pd.Timestamp(s) - DAY0).days


def config(**over) -> tp.TouchpointConfig:
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    raw["costs"] = {"per_contact": {"visit": 100.0, "phone": 10.0}}
    for key, value in over.items():
        section, _, name = key.partition("__")
        if name:
            raw[section][name] = value
        else:
            raw[section] = value
    return tp.check_config(raw)


# ------------------------------------------------------------------------------------------- config
def test_the_shipped_config_loads_and_states_its_source():
    cfg = tp.load_config()
    assert cfg.source == "config/touchpoints.yaml"
    assert set(cfg.costs) == {"visit", "phone", "e-mail", "messaging", "social"}
    assert all(v >= 0 for v in cfg.costs.values())
    assert cfg.outbound_kinds == ("sales",) and cfg.resolved_outcomes == ("resolved",) and not cfg.randomised


@pytest.mark.parametrize("raw, key", [
    ({"costs": {"per_contact": {"phone": -1}}}, "costs.per_contact.phone"),
    ({"costs": {"per_contact": {"fax": 3}}}, "costs.per_contact.fax"),
    ({"costs": {"per_contact": {"phone": "cheap"}}}, "costs.per_contact.phone"),
    ({"outbound_kinds": ["sales", "spam"]}, "outbound_kinds ('spam')"),
    ({"conversion": {"randomised": "yes"}}, "conversion.randomised"),
    ({"conversion": {"recency_bands_days": [90, 30]}}, "conversion.recency_bands_days"),
    ({"conversion": {"windows": 3}}, "conversion.windows"),
    ({"budget": 1}, "budget"),
    ({"complaints": {"resolved_outcomes": []}}, "complaints.resolved_outcomes"),
])
def test_a_config_that_does_not_fit_stops_naming_the_key(raw, key):
    with pytest.raises(TouchpointConfigError, match=re_escape(key)):
        tp.check_config(raw)


def re_escape(s: str) -> str:
    import re
    return re.escape(s)


def test_a_config_file_is_read_and_checked(tmp_path):
    path = tmp_path / "tp.yaml"
    path.write_text(yaml.safe_dump({"costs": {"per_contact": {"visit": 50}}, "complaints": {"follow_up_days": 30}}))
    cfg = tp.load_config(path)
    assert cfg.costs == {"visit": 50.0} and cfg.follow_up_days == 30 and cfg.frequency_bands == (1, 2, 4, 8)
    path.write_text(yaml.safe_dump({"costs": {"per_contact": {"visit": -50}}}))
    with pytest.raises(TouchpointConfigError, match="costs.per_contact.visit is -50"):
        tp.load_config(path)


# ------------------------------------------------------------------------------------------- hand-made
def contacts(rows) -> pd.DataFrame:
    """Rows of (customer, date, channel, kind, outcome) as prepared contacts."""
    f = pd.DataFrame(rows, columns=["customer_id", "date", "channel", "kind", "outcome"])
    f["date"] = pd.to_datetime(f["date"])
    return tp.prepare_contacts(f, "2025-12-31")


def test_complaint_cases_follow_the_stated_rule():
    c = contacts([
        ("A", "2025-01-01", "phone", "complaint", "unresolved"),   # case 1 opens
        ("A", "2025-01-20", "phone", "complaint", "unresolved"),   # chase: 19 days after, joins case 1
        ("A", "2025-02-10", "e-mail", "complaint", "resolved"),    # resolves case 1: 40 days after opening
        ("A", "2025-02-20", "phone", "complaint", "unresolved"),   # after resolution: case 2, never resolved
        ("B", "2025-03-01", "phone", "complaint", "resolved"),     # resolved at the first contact
        ("B", "2025-03-02", "phone", "sales", None),               # not a complaint
        ("C", "2025-04-01", "messaging", "complaint", None),       # no outcome at all: unknown
        ("D", "2025-01-01", "phone", "complaint", "unresolved"),
        ("D", "2025-05-01", "phone", "complaint", "resolved"),     # 120 days later: a case of its own
        ("E", "2025-12-01", "phone", "complaint", "unresolved"),   # within 60 days of the as-of date: open
    ])
    cases = tp.complaint_cases(c, ["resolved"], 60, day("2025-12-31"))
    got = {(r.customer_id, str((DAY0 + pd.Timedelta(days=int(r.opened))).date())):
           (r.contacts, r.status, r.days_to_resolve) for r in cases.itertuples()}
    assert got[("A", "2025-01-01")][:2] == (3, "resolved") and got[("A", "2025-01-01")][2] == 40
    assert got[("A", "2025-02-20")][:2] == (1, "unresolved")
    assert got[("B", "2025-03-01")][:2] == (1, "resolved") and got[("B", "2025-03-01")][2] == 0
    assert got[("C", "2025-04-01")][1] == "unknown"
    assert got[("D", "2025-01-01")][1] == "unresolved" and got[("D", "2025-05-01")][1] == "resolved"
    assert got[("E", "2025-12-01")][1] == "open"
    assert len(cases) == 7


def hand_basis(tmp_contacts: pd.DataFrame, purchases: dict[str, list[str]], customers: pd.DataFrame,
               window_days: int = 365, **cfg) -> tp.TouchpointBasis:
    rows = [(cid, d, 10.0) for cid, ds_ in purchases.items() for d in ds_]
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    tx["date"] = pd.to_datetime(tx["date"])
    tx["order_id"] = tx["customer_id"] + tx["date"].dt.strftime("%Y%m%d")
    raw = tmp_contacts[["customer_id", "date", "channel", "kind", "outcome"]]
    return tp.touchpoint_basis(raw, tx, customers, "2025-12-31", window_days, config(**cfg), engine="pandas")


def test_a_contact_is_followed_by_a_purchase_within_n_days_counted_by_hand():
    cu = pd.DataFrame({"customer_id": ["A", "B"], "region": ["North", "South"],
                       "acquisition_date": pd.to_datetime(["2025-01-01", "2025-01-01"])})
    c = contacts([
        ("A", "2025-03-01", "visit", "sales", None),    # A buys 2025-03-30: day 29 after, within 30 days
        ("A", "2025-06-01", "visit", "sales", None),    # A buys 2025-07-01: 30 days after, outside
        ("A", "2025-06-10", "phone", "service", None),  # service is not outbound; it makes 06-01 not isolated
        ("B", "2025-05-01", "phone", "sales", None),    # B buys that day: followed
        ("B", "2025-12-15", "phone", "sales", None),    # its 30 days run past the as-of date: not counted
    ])
    purchases = {"A": ["2025-01-01", "2025-03-30", "2025-07-01"], "B": ["2025-01-01", "2025-05-01"]}
    b = hand_basis(c, purchases, cu, conversion__min_controls=1, conversion__bootstrap=0)
    r = tp.conversion_by_channel(b, 30)
    t = r.table
    assert t.loc["visit", "contacts"] == 2 and t.loc["visit", "followed_by_purchase"] == 1
    assert t.loc["phone", "contacts"] == 1 and t.loc["phone", "followed_by_purchase"] == 1
    assert r.excluded["window_incomplete"] == 1 and r.excluded["outbound_in_window"] == 4
    assert r.excluded["not_isolated"] == 1                 # A's visit of 06-01 (service 9 days later)
    assert t.loc["all channels", "customers_converted"] == 2
    assert np.isnan(t.loc["visit", "uplift_lower"])        # no bootstrap asked for: no interval


def test_sequences_take_the_last_contacts_before_the_event():
    c = contacts([
        ("A", "2025-01-01", "social", "sales", None), ("A", "2025-02-01", "e-mail", "sales", None),
        ("A", "2025-03-01", "phone", "sales", None), ("A", "2025-03-10", "visit", "sales", None),
        ("A", "2025-03-20", "visit", "sales", None),                       # on the purchase day: not before it
        ("B", "2024-01-01", "phone", "sales", None),                       # outside the 180 days
        ("B", "2025-03-19", "e-mail", "service", None),
    ])
    ev = pd.Series({"A": day("2025-03-20"), "B": day("2025-03-20"), "C": day("2025-03-20")})
    s = tp.last_contacts(c, ev, 3, 180, inclusive=False)
    assert s.to_dict() == {"A": "e-mail sales → phone sales → visit sales", "B": "e-mail service"}
    s_in = tp.last_contacts(c, ev, 2, 180, inclusive=True)
    assert s_in["A"] == "visit sales → visit sales"
    t = tp.sequence_table(pd.concat([s, pd.Series({"D": "e-mail service"})]), 5,
                          comparison=pd.Series(["x", "e-mail service"]))
    assert t.loc["e-mail service", "customers"] == 2 and t.loc["e-mail service", "share"] == pytest.approx(2 / 3)
    assert t.loc["e-mail service", "share_of_active"] == 0.5


def test_cadence_counts_outbound_contacts_of_active_customers_against_their_policy():
    cu = pd.DataFrame({"customer_id": ["A", "B", "C"], "region": "North",
                       "acquisition_date": pd.to_datetime(["2024-01-01", "2025-07-03", "2024-01-01"]),
                       "churn_date": pd.to_datetime([None, None, "2025-06-01"])})
    c = contacts([("A", f"2025-{m:02d}-05", "visit", "sales", None) for m in range(1, 13)]
                 + [("A", "2025-03-01", "phone", "complaint", "resolved"),     # not outbound
                    ("B", "2025-08-01", "phone", "sales", None)])
    purchases = {"A": ["2024-01-01", "2025-11-01"], "B": ["2025-07-03"], "C": ["2024-01-01"]}
    b = hand_basis(c, purchases, cu)
    cust = tp.customer_cadence(b)
    assert set(cust.index) == {"A", "B"}                     # C churned before the as-of date
    assert cust.loc["A", "contacts"] == 12 and cust.loc["A", "days"] == 365
    assert cust.loc["B", "days"] == (pd.Timestamp("2025-12-31") - pd.Timestamp("2025-07-03")).days + 1
    assert cust.loc["A", "contacts_per_quarter"] == pytest.approx(12 / 365 * 91.3125)
    cad = b.profile.loc["A", "cadence_days"]
    assert cust.loc["A", "policy_per_quarter"] == pytest.approx(91.3125 / cad)
    assert bool(cust.loc["A", "on_policy"]) == (12 >= math.floor(365 / cad))


def test_channel_costs_multiply_contacts_by_the_configured_cost():
    c = contacts([("A", "2025-05-01", "visit", "sales", None), ("A", "2025-09-01", "phone", "service", None),
                  ("A", "2025-10-01", "social", "sales", None)])
    t = tp.channel_costs(c, {"visit": 100.0, "phone": 10.0}, None, ("sales",))
    assert t.loc["visit", "total_cost"] == 100 and t.loc["phone", "total_cost"] == 10
    assert t.loc["phone", "outbound_cost"] == 0 and np.isnan(t.loc["social", "cost_per_contact"])
    assert t.loc["all channels", "total_cost"] == 110 and t.loc["all channels", "contacts"] == 3


def test_cost_per_converted_customer_counts_the_contacts_whose_n_days_are_complete():
    cu = pd.DataFrame({"customer_id": ["A", "B"], "region": "North",
                       "acquisition_date": pd.to_datetime(["2025-01-01", "2025-01-01"])})
    c = contacts([("A", "2025-03-01", "visit", "sales", None), ("B", "2025-04-01", "visit", "sales", None),
                  ("B", "2025-12-20", "visit", "sales", None)])          # its 30 days are not over: not counted
    b = hand_basis(c, {"A": ["2025-01-01", "2025-03-05"], "B": ["2025-01-01"]}, cu, conversion__bootstrap=0)
    conv = tp.conversion_by_channel(b, 30)
    t = tp.channel_costs(b.contacts_window, {"visit": 100.0}, conv, ("sales",))
    assert t.loc["visit", "outbound_cost"] == 300 and t.loc["visit", "customers_converted"] == 1
    assert t.loc["visit", "cost_per_converted_customer"] == 200      # the two complete contacts, one customer bought


# ------------------------------------------------------------------------------------------- ground truth
N_CUSTOMERS = 5000
PARAMS = TouchpointParams(complaints_per_year=0.6)   # more complaints than the default, for a tighter hazard ratio


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    from toolkit.churn import churn_labels
    from toolkit.data import load_dataset

    folder = tmp_path_factory.mktemp("touchpoint_truth")
    spec = yaml.safe_load((ROOT / "config" / "datasets" / "demo.yaml").read_text())
    spec.update(name="tp_truth", title="Touchpoint ground truth", base="data")
    spec["generator"] = {**spec["generator"], "n_customers": N_CUSTOMERS, "seed": 7, "out": "data"}
    (folder / "tp.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    ds = load_dataset(folder / "tp.yaml")
    sim = simulate_interactions(ds.customers, ds.transactions, end=ds.as_of, seed=3, params=PARAMS)
    labels = churn_labels(ds, "explicit")
    b = tp.touchpoint_basis(sim.interactions, ds.transaction_log, ds.customers, ds.as_of, 1000, tp.load_config(),
                            churn=labels)
    return sim, b


def test_the_simulator_is_deterministic_and_keeps_to_the_data_model(truth):
    from toolkit.data.schema import CONTACT_CHANNELS, CONTACT_KINDS

    sim, b = truth
    ia = sim.interactions
    assert set(ia["channel"]) <= set(CONTACT_CHANNELS) and set(ia["kind"]) <= set(CONTACT_KINDS)
    assert ia["date"].max() <= b.as_of
    assert list(ia.columns) == ["customer_id", "date", "channel", "kind", "outcome"]
    tx = pd.DataFrame({"customer_id": ["A", "A", "B"], "amount": [10.0, 20.0, 5.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-02-01"])})
    cu = pd.DataFrame({"customer_id": ["A", "B"], "churn_date": pd.to_datetime([None, "2024-09-01"])})
    one = simulate_interactions(cu, tx, end="2024-12-31", seed=5).interactions
    two = simulate_interactions(cu, tx, end="2024-12-31", seed=5).interactions
    pd.testing.assert_frame_equal(one, two)


def test_contact_counts_by_channel_and_kind_add_up_to_the_log(truth):
    sim, b = truth
    w = b.contacts_window
    t = tp.channel_kind_table(w)
    assert t.loc["all channels", "all kinds"] == len(w)
    direct = w.groupby(["channel", "kind"]).size()
    for (ch, kind), n in direct.items():
        assert t.loc[ch, kind] == n
    long = tp.contacts_long(w, b.profile)
    assert long["contacts"].sum() == len(w)


def test_conversion_recovers_the_channel_odds_ratios(truth):
    """Truth: PARAMS.conversion_odds_ratio (visit 2.5, phone 1.8, e-mail 1.3, messaging 1.5, social 1.0),
    a multiplier of the odds that a contact day is followed by a purchase within 30 days over a comparable
    day without contact. Tolerance: 3 standard errors of the log odds ratio (the 95% bootstrap interval
    spans 3.92 of them); about 1,000-3,000 contacts per channel are compared here."""
    sim, b = truth
    r = tp.conversion_by_channel(b, PARAMS.window_days, seed=0)
    t = r.table
    for ch, true in PARAMS.conversion_odds_ratio.items():
        est, lo, hi = t.loc[ch, ["odds_ratio", "odds_ratio_lower", "odds_ratio_upper"]]
        se = (math.log(hi) - math.log(lo)) / 3.92
        assert abs(math.log(est) - math.log(true)) <= 3 * se, (ch, est, true, lo, hi)
        assert t.loc[ch, "compared_contacts"] >= 500
    assert t.loc["visit", "uplift_lower"] > 0 and t.loc["phone", "uplift_lower"] > 0      # planted effects found
    # the order of the planted effects holds where they differ by 0.5 or more
    assert t.loc["visit", "odds_ratio"] > t.loc["phone", "odds_ratio"] > max(t.loc[["e-mail", "social"], "odds_ratio"])
    # without the baseline the association overstates: every channel's raw share exceeds its baseline rate
    assert (t["followed_share"] > t["baseline_rate"]).all()


def test_complaint_rate_resolution_and_time_to_resolve_are_recovered(truth):
    """Truth: PARAMS.complaints_per_year (0.6, thinned to no complaint within 120 days of the last, the sim's
    realised cases per customer-year), p_resolved 0.7, p_first_contact 0.5, mean_days_to_resolve 8
    (1 + Poisson(7) days). Tolerances: 3 Poisson / binomial standard errors at the counts here."""
    sim, b = truth
    P = sim.params
    cases = tp.complaint_cases(b.contacts, b.config.resolved_outcomes, b.config.follow_up_days, b.as_of_day)
    rates = tp.complaint_rates(cases, b)
    total = rates.loc["all regions"]
    true_rate = 1000 * sim.realised["complaint_cases"] / sim.realised["customer_years_of_complaint_exposure"]
    expected = 1000 * P.complaints_per_year * math.exp(-P.complaints_per_year * 2 * P.follow_up_days / 365.25)
    assert abs(true_rate - expected) / expected < 0.08          # the sim's realised rate is the documented one
    se = 1000 * math.sqrt(total["complaints"]) / total["customer_years"]
    assert abs(total["per_1000_customer_years"] - true_rate) <= 3 * se + 0.02 * true_rate   # 2%: exposure counted to
    # the churn day, the sim's complaints stop 31 days earlier for the churners with a planted pre-churn sequence
    n = total["resolved"] + total["unresolved"]
    assert abs(total["resolution_rate"] - P.p_resolved) <= 3 * math.sqrt(P.p_resolved * (1 - P.p_resolved) / n)
    assert abs(total["first_contact_share"] - P.p_first_contact) <= 3 * math.sqrt(0.25 / total["resolved"])
    later = cases.loc[(cases["status"] == "resolved") & (cases["days_to_resolve"] > 0), "days_to_resolve"]
    sd = math.sqrt(P.mean_days_to_resolve - 1)
    assert abs(later.mean() - P.mean_days_to_resolve) <= 3 * sd / math.sqrt(len(later)) + 0.1   # 0.1: resolutions
    # shortened for customers about to leave


def test_churn_hazard_ratio_after_an_unresolved_complaint_is_recovered(truth):
    """Truth: PARAMS.hazard_ratio_unresolved = 2 (time from the first complaint). Tolerance: 3 standard
    errors of the log hazard ratio from the Cox interval (about 450 churners after a complaint)."""
    sim, b = truth
    cases = tp.complaint_cases(b.contacts, b.config.resolved_outcomes, b.config.follow_up_days, b.as_of_day)
    cc = tp.churn_after_complaint(cases, b)
    se = (math.log(cc.upper) - math.log(cc.lower)) / 3.92
    assert abs(math.log(cc.hazard_ratio) - math.log(PARAMS.hazard_ratio_unresolved)) <= 3 * se, cc
    assert cc.lower > 1
    # the report reads the sim's own first complaints: the same customers, the same resolution
    truth_first = sim.first_complaints.set_index("customer_id")
    read = cc.frame.set_index("customer_id")
    both = read.index.intersection(truth_first.index)
    assert len(both) >= 0.95 * len(truth_first)
    assert ((read.loc[both, "complaint"] == "unresolved") == truth_first.loc[both, "unresolved"]).mean() > 0.99
    km = cc.km.groups
    assert km.loc["unresolved", "survival_at_end"] < km.loc["resolved", "survival_at_end"]


def test_contacts_per_quarter_by_tier_are_recovered(truth):
    """Truth: PARAMS.contacts_per_quarter (high 2.0, mid 1.5, low 0.6) outbound contacts per customer and
    quarter over the last 365 days of the customers active at the end. The report's tiers are the sim's
    (the one tier rule). Tolerance: 3 Poisson standard errors of the tier's rate over its customer-quarters."""
    sim, b = truth
    assert (b.profile["value_tier"] == sim.tiers.reindex(b.profile.index)).all()
    b365 = tp.TouchpointBasis(**{**{f: getattr(b, f) for f in b.__dataclass_fields__}, "window_days": 365})
    cust = tp.customer_cadence(b365)
    t = tp.cadence_table(cust, order=tp.tier_order())
    for tier, true in PARAMS.contacts_per_quarter.items():
        rate, q = t.loc[tier, "contacts_per_quarter"], t.loc[tier, "quarters"]
        assert abs(rate - true) <= 3 * math.sqrt(true / q), (tier, rate, true)
    # the policy (config/segmentation.yaml: high every 30 days) asks for more than the truth gives high customers
    assert t.loc["high", "policy_ratio"] < 0.8


def test_sequences_before_a_first_purchase_and_before_churn_are_recovered(truth):
    """Truth: PARAMS.prospect_sequences (0.5 / 0.3 / 0.2 of the prospects with a sequence) before a first
    purchase, and PARAMS.prechurn_sequence for the churners the sim gave it (realised count) before churn.
    Tolerance: 3 binomial standard errors of each share."""
    sim, b = truth
    first = b.purchases.groupby("customer_id")["day"].min()
    seqs = tp.last_contacts(b.contacts, first, 3, 180, inclusive=False)
    t = tp.sequence_table(seqs, 8)
    n = len(seqs)
    for steps, p in PARAMS.prospect_sequences.items():
        label = sequence_label(steps)
        assert abs(t.loc[label, "share"] - p) <= 3 * math.sqrt(p * (1 - p) / n), (label, t.loc[label, "share"], p)
    churn = pd.Series(b.churn_dates(), index=b.profile.index).dropna()
    before = tp.sequence_table(tp.last_contacts(b.contacts, churn, 3, 180, inclusive=True), 8)
    planted = sequence_label(PARAMS.prechurn_sequence)
    assert before.index[0] == planted
    k = sim.realised["churners_with_prechurn_sequence"]
    assert k <= before.loc[planted, "customers"] <= k + 3     # a few other churners may end the same way by chance
