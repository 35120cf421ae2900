"""The touchpoint report's sections (toolkit.reports.touchpoints) and every wording branch, and the
notebook's format.

The data: the small demo (tests/conftest.py, 1,500 customers) with its contact log replaced by the
simulated one of :mod:`toolkit.data.demo_touchpoints` (planted effects named per test), and variants
of it without a table, outcomes, amounts, churners or regions. Expected figures are computed in the
tests from the frames themselves.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import toolkit.touchpoints as tp
from toolkit.data.demo_touchpoints import TouchpointParams, sequence_label, simulate_interactions
from toolkit.data.errors import MissingTableError
from toolkit.reports import touchpoints as report
from toolkit.reports.context import ReportContext, RunSettings
from toolkit.results import RunResults
from toolkit.touchpoints.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
# planted: visit contacts strongly lift purchases, social ones lower them, e-mail has no effect
PARAMS = TouchpointParams(conversion_odds_ratio={"visit": 4.0, "phone": 1.8, "e-mail": 1.0, "messaging": 1.5,
                                                 "social": 0.3},
                          contacts_per_quarter={"high": 1.0, "mid": 1.9, "low": 2.0})


@pytest.fixture(scope="module")
def demo(small_demo_spec):
    from toolkit.data import load_dataset

    ds = load_dataset(small_demo_spec)
    sim = simulate_interactions(ds.customers, ds.transactions, end=ds.as_of, seed=2, params=PARAMS)
    ds.interactions = sim.interactions
    return ds, sim


def context(ds, tmp_path) -> ReportContext:
    from toolkit.plotting import apply_style

    apply_style()
    return ReportContext("touchpoints", ds, RunResults(tmp_path, notebook="touchpoints", pseudonymise=False),
                         RunSettings())


def variant(ds, **tables):
    d = copy.copy(ds)
    for name, frame in tables.items():
        setattr(d, name, frame)
    return d


def cfg(**over) -> tp.TouchpointConfig:
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    raw["costs"] = {"per_contact": {"visit": 120.0, "phone": 12.0, "e-mail": 2.5, "messaging": 1.5, "social": 3.0}}
    for key, value in over.items():
        section, _, name = key.partition("__")
        if name:
            raw[section] = {**raw[section], name: value}
        else:
            raw[section] = value
    return tp.check_config(raw)


def basis_of(ds, window_days=365, config=None, **kw) -> tp.TouchpointBasis:
    from toolkit.churn import churn_labels
    from toolkit.engine import transaction_log

    churn = kw.pop("churn", churn_labels(ds, "explicit", attributes=()))
    return tp.touchpoint_basis(ds.interactions, transaction_log(ds), ds.customers, ds.as_of, window_days,
                               config or cfg(), churn=churn, **kw)


# ------------------------------------------------------------------------------------------- contact log
def test_contact_log_states_the_log_the_window_and_the_churn_definition(demo, tmp_path):
    ds, sim = demo
    sec = report.contact_log(context(ds, tmp_path), None, 365)
    ia = sim.interactions
    n_window = int((ia["date"] > ds.as_of - pd.Timedelta(days=365)).sum())
    text = sec.text_all
    assert f"holds **{len(ia):,}** contacts of **{ia['customer_id'].nunique():,}**" in text
    assert f"which hold **{n_window:,}** contacts" in text
    churned = int((ds.customers["churn_date"] <= ds.as_of).sum())
    assert f"**explicit** definition ({churned:,} churned" in text
    assert "`config/touchpoints.yaml`" in text and "sales" in text
    assert sec.value.window_days == 365 and len(sec.value.contacts) == len(ia)


def test_contact_log_stops_without_an_interactions_table(demo, tmp_path):
    ds, _ = demo
    with pytest.raises(MissingTableError, match=r"needs the table\(s\) interactions"):
        report.contact_log(context(variant(ds, interactions=None, partners=None, suppliers=None), tmp_path))


def test_contacts_after_the_as_of_date_are_left_out_and_said_so(demo, tmp_path):
    ds, sim = demo
    as_of = "2026-03-31"
    sec = report.contact_log(context(ds, tmp_path), as_of, 365)
    later = int((sim.interactions["date"] > pd.Timestamp(as_of)).sum())
    assert later > 0 and f"{later:,} contacts dated after the as-of date are left out" in sec.text_all


def test_without_transactions_every_section_says_what_it_cannot_show(demo, tmp_path):
    ds, _ = demo
    rep = context(variant(ds, transactions=None), tmp_path)
    data = report.contact_log(rep)
    assert "The dataset has no transactions: purchases after contacts" in data.text_all
    b = data.value
    contacts = report.contacts_by_channel(rep, b)
    assert "cannot be shown: the data hold no transactions" in contacts.text_all
    conv = report.conversion(rep, b)
    assert conv.value is None and "cannot be shown: the dataset has no transactions" in conv.text_all
    costs = report.contact_costs(rep, b, None)
    assert "no currency" in costs.text_all or "Without purchases" in costs.text_all
    assert "no value tiers" in report.cadence(rep, b).text_all
    assert "Sequences before a first purchase cannot be shown: the dataset has no transactions" in \
        report.sequences(rep, b).text_all


def test_without_a_customer_table_regions_and_churn_are_said_to_be_missing(demo, tmp_path):
    ds, _ = demo
    rep = context(variant(ds, customers=None), tmp_path)
    data = report.contact_log(rep)
    text = data.text_all
    assert "no customer table: contacts are not shown by region" in text
    assert "Churn after a complaint and the sequences before churn cannot be shown: churn\\_definition=" in text
    churn = report.complaint_churn(rep, data.value)
    assert churn.value is None and "Churn after a complaint cannot be shown" in churn.text_all
    assert "region" not in " ".join(t.caption for t in report.contacts_by_channel(rep, data.value).tables)


def test_an_empty_window_is_said_to_be_empty(demo, tmp_path):
    ds, _ = demo
    rep = context(ds, tmp_path)
    data = report.contact_log(rep, "2023-12-31", 30)
    assert "holds no contact dated on or before that day" in data.text_all
    assert "No contact falls in the window" in report.contacts_by_channel(rep, data.value).text_all
    assert "No outbound contact" in report.conversion(rep, data.value).text_all
    assert "no complaint up to the as-of date" in report.complaints(rep, data.value).text_all
    assert "The contact log is empty" in report.sequences(rep, data.value).text_all


# ------------------------------------------------------------------------------------------- contacts
def test_contacts_by_channel_publish_the_counts_of_the_window(demo, tmp_path):
    ds, sim = demo
    rep = context(ds, tmp_path)
    b = basis_of(ds)
    sec = report.contacts_by_channel(rep, b)
    w = sim.interactions.loc[sim.interactions["date"] > ds.as_of - pd.Timedelta(days=365)]
    t = sec.value
    assert t.loc["all channels", "all kinds"] == len(w)
    top = w["channel"].value_counts().idxmax()
    assert f"**{top}** carries the most ({100 * (w['channel'] == top).mean():.1f}%)" in sec.text_all
    published = rep.out.read_table("touchpoint_contacts")
    assert published["contacts"].sum() == len(w)
    assert rep.out.meta("touchpoint_contacts")["units"]["contacts"] == "contacts"
    assert {"touchpoint_contacts_by_tier", "touchpoint_contacts_by_segment"} <= set(rep.out.names())
    captions = [x.caption for x in sec.tables]
    assert any("by region" in c for c in captions) and any("value tier" in c for c in captions)
    assert "Contacts per customer range from" in sec.text_all
    assert sec.figures and sec.figures[0].figure.axes[0].get_xlabel() == "Contacts"


def test_one_region_is_said_and_not_compared(demo, tmp_path):
    ds, _ = demo
    cu = ds.customers.assign(region="North")
    d = variant(ds, customers=cu)
    rep = context(d, tmp_path)
    b = basis_of(d)
    assert "All customers are in one region (North), so contacts are not compared" in \
        report.contacts_by_channel(rep, b).text_all
    comp = report.complaints(rep, b)
    assert "All customers are in one region (North), so complaints are not compared" in comp.text_all
    assert list(comp.value.rates.index) == ["North"]


def test_without_amounts_there_are_no_tiers_costs_or_policy(demo, tmp_path):
    ds, _ = demo
    from toolkit.reports.context import ReportContext

    b = basis_of(ds, has_money=False)
    rep = ReportContext("touchpoints", None, RunResults(tmp_path, notebook="touchpoints"), RunSettings())
    texts = [report.contacts_by_channel(rep, b).text_all, report.contact_costs(rep, b, None).text_all,
             report.cadence(rep, b).text_all]
    assert "cannot be shown: the transactions carry no amounts" in texts[0]
    assert "Contact costs are not shown: the dataset's amounts carry no currency" in texts[1]
    assert "cannot be compared with the tier policy: the transactions carry no amounts" in texts[2]
    conv = report.conversion(rep, b)
    assert conv.value is not None and "EUR" not in "".join(texts) + conv.text_all


# ------------------------------------------------------------------------------------------- conversion
def test_conversion_names_channels_above_level_with_and_below_the_baseline(demo, tmp_path):
    ds, _ = demo
    rep = context(ds, tmp_path)
    sec = report.conversion(rep, basis_of(ds, window_days=900), 30, seed=1)
    t = sec.value.table
    text = sec.text_all
    above = t.drop(index="all channels").query("uplift_lower > 0").index
    below = t.drop(index="all channels").query("uplift_upper < 0").index
    assert "visit" in above and "social" in below           # PARAMS: odds ratio 4.0 and 0.3
    assert re.search(r"- \*\*visit\*\*: [\d.]+% of contacts were followed by a purchase, against [\d.]+% on comparable "
                     r"days: \+[\d.]+ points more \(95% interval \+[\d.]+ to \+[\d.]+\), odds ratio [\d.]+", text)
    assert "- Followed by a purchase less often than comparable days without contact: **social**" in text
    assert "- No difference from the baseline beyond chance:" in text and "**e-mail**" in text.split(
        "No difference from the baseline beyond chance:")[1].split("\n")[0]
    assert "**This is an association, not the effect of a contact.**" in text
    assert rep.out.meta("touchpoint_conversion")["units"]["odds_ratio / odds_ratio_lower / odds_ratio_upper"]
    fig = sec.figures[0].figure.axes[0]
    assert fig.get_title().startswith("Purchase within 30 days") and "%" in fig.get_xlabel()


def test_an_undefined_odds_ratio_is_said_in_words_not_shown_as_nan(demo, tmp_path, monkeypatch):
    # a channel above its baseline whose two-by-two table has an empty cell (every compared contact
    # followed by a purchase) has no odds ratio; the sentence must say so instead of "odds ratio nan"
    import dataclasses

    ds, _ = demo
    b = basis_of(ds, window_days=900)
    real = tp.conversion_by_channel(b, 30, 1)
    table = real.table.copy()
    table.loc["visit", ["odds_ratio", "odds_ratio_lower", "odds_ratio_upper"]] = np.nan
    monkeypatch.setattr(report.tp, "conversion_by_channel",
                        lambda *a, **k: dataclasses.replace(real, table=table))
    text = report.conversion(context(ds, tmp_path), b, 30, seed=1).text_all
    visit = next(line for line in text.splitlines() if line.startswith("- **visit**"))
    assert "nan" not in visit.lower()
    assert "the odds ratio is undefined (the two-by-two table" in visit


def test_conversion_wording_for_randomised_contacts_and_no_bootstrap(demo, tmp_path):
    ds, _ = demo
    rep = context(ds, tmp_path)
    b = basis_of(ds, config=cfg(conversion__randomised=True, conversion__bootstrap=0))
    text = report.conversion(rep, b).text_all
    assert ("contacts were assigned at random (`conversion.randomised: true`), so the uplift can be read as the "
            "effect") in text
    assert "No bootstrap was asked for" in text and "association, not the effect" not in text


def test_conversion_without_outbound_contacts_says_so(demo, tmp_path):
    ds, sim = demo
    no_sales = sim.interactions.loc[sim.interactions["kind"] != "sales"]
    b = basis_of(variant(ds, interactions=no_sales))
    sec = report.conversion(context(ds, tmp_path), b)
    assert sec.value is None and "No outbound contact (sales) falls in the window" in sec.text_all


def test_conversion_without_comparable_days_says_why(demo, tmp_path):
    ds, _ = demo
    b = basis_of(ds, config=cfg(conversion__min_controls=10**9))
    text = report.conversion(context(ds, tmp_path), b).text_all
    assert "None of them could be compared with a baseline" in text and "fewer than 1000000000 comparison days" in text


# ------------------------------------------------------------------------------------------- complaints
def test_complaints_state_rate_resolution_and_rule(demo, tmp_path):
    ds, sim = demo
    rep = context(ds, tmp_path)
    b = basis_of(ds)
    sec = report.complaints(rep, b)
    rates = sec.value.rates
    total = rates.loc["all regions"]
    text = sec.text_all
    assert "A case counts as **resolved** when one of its contacts has the outcome &#x27;resolved&#x27;" in text
    assert (f"customers made **{int(total['complaints']):,}** complaints: "
            f"**{total['per_1000_customers']:.1f} per 1,000") in text
    assert f"**{100 * total['resolution_rate']:.1f}%** were resolved" in text
    n_active = int(b.active_in_window().sum())
    assert total["customers"] == n_active
    assert total["per_1000_customers"] == pytest.approx(1000 * total["complaints"] / n_active)
    metrics = rep.out.read_metrics("touchpoint_complaint_metrics")
    assert metrics["complaints"] == int(total["complaints"])
    assert set(rates.index) == set(ds.customers["region"]) | {"all regions"}


def test_complaints_without_outcomes_show_rates_only(demo, tmp_path):
    ds, sim = demo
    d = variant(ds, interactions=sim.interactions.drop(columns="outcome"))
    rep = context(d, tmp_path)
    b = basis_of(d)
    sec = report.complaints(rep, b)
    assert "The complaints carry no outcomes, so whether and how fast they were resolved cannot be shown" in \
        sec.text_all
    assert "resolution_rate" not in sec.tables[0].frame.columns
    churn = report.complaint_churn(rep, b)
    assert churn.value is None and "carry no outcomes" in churn.text_all


def test_churn_after_complaint_gives_the_hazard_ratio_and_curves(demo, tmp_path):
    ds, _ = demo
    rep = context(ds, tmp_path)
    sec = report.complaint_churn(rep, basis_of(ds, window_days=900))
    cc = sec.value
    assert np.isfinite(cc.hazard_ratio) and cc.lower < cc.hazard_ratio < cc.upper
    assert f"**{cc.hazard_ratio:.2f} times**" in sec.text_all and "this too is an association" in sec.text_all
    g = sec.tables[0].frame
    assert set(g.index) == {"resolved", "unresolved"}
    assert g["customers"].sum() == len(cc.frame) and g["churned"].sum() == cc.frame["event"].sum()
    hazard = rep.out.read_metrics("touchpoint_complaint_hazard")
    assert hazard["hazard_ratio_unresolved"] == pytest.approx(cc.hazard_ratio)
    ax = sec.figures[0].figure.axes[0]
    assert ax.get_xlabel() == "Days since the first complaint" and ax.get_title()


def test_without_churners_there_is_no_hazard_ratio_and_no_churn_sequence(demo, tmp_path):
    ds, _ = demo
    d = variant(ds, customers=ds.customers.assign(churn_date=pd.NaT, churned=False))
    rep = context(d, tmp_path)
    b = basis_of(d)
    text = report.complaint_churn(rep, b).text_all
    assert re.search(r"There is no hazard ratio of churn after an unresolved complaint: 0 of [\d,]+ customers "
                     r"left", text)
    assert "No customer churned after the contact log starts" in report.sequences(rep, b).text_all


# ------------------------------------------------------------------------------------------- costs
def test_costs_are_assumptions_in_the_currency_and_add_up(demo, tmp_path):
    ds, _ = demo
    rep = context(ds, tmp_path)
    b = basis_of(ds, config=cfg(costs={"per_contact": {"visit": 100.0, "phone": 10.0, "e-mail": 2.0, "social": 3.0}}))
    conv = report.conversion(rep, b).value
    sec = report.contact_costs(rep, b, conv)
    t = sec.value
    w = b.contacts_window
    assert t.loc["visit", "total_cost"] == 100.0 * (w["channel"] == "visit").sum()
    assert "The costs per contact are **assumptions** from the touchpoint config, not measurements" in sec.text_all
    assert "No cost is given for **messaging**" in sec.text_all
    assert rep.out.meta("touchpoint_costs")["units"]["cost_per_contact / total_cost / outbound_cost / "
                                                     "cost_per_converted_customer / cost_per_extra_purchase"] == "EUR"
    assert conv.table.loc["visit", "uplift_lower"] > 0                     # PARAMS: visit's odds ratio 4
    assert f"EUR {100.0 / conv.table.loc['visit', 'uplift']:,.2f} by visit" in sec.text_all
    unused = report.contact_costs(rep, basis_of(variant(ds, interactions=ds.interactions.loc[
        ds.interactions["channel"] != "social"])), None)
    assert "A cost is given for **social**, which no contact in the window uses" in unused.text_all
    none = report.contact_costs(rep, basis_of(ds, config=cfg(costs={"per_contact": {}})), conv)
    assert none.value is None and "No cost per contact is given" in none.text_all


# ------------------------------------------------------------------------------------------- cadence
def test_cadence_against_the_tier_policy_has_each_verdict(demo, tmp_path):
    ds, _ = demo
    rep = context(ds, tmp_path)
    sec = report.cadence(rep, basis_of(ds))
    t = sec.value
    text = sec.text_all
    # PARAMS: high 1.0 per quarter against every 30 days, mid 1.9 against every 60, low 2.0 against every 120
    for tier, verdict in (("high", "less often"), ("mid", "as often"), ("low", "more often")):
        ratio = t.loc[tier, "contacts_per_quarter"] / t.loc[tier, "policy_per_quarter"]
        assert t.loc[tier, "policy_ratio"] == pytest.approx(ratio)
        assert re.search(rf"- \*\*{tier}\*\* tier: [\d.]+ contacts per quarter against [\d.]+ by the policy "
                         rf"\(\d+%\): {verdict} (as )?(than )?the policy says", text), (tier, text)
    assert ("The policy: one contact every 30 days for tier high, 60 days for tier mid, 120 days for tier low and "
            "90 days") in text
    assert rep.out.has("touchpoint_cadence") and rep.out.has("touchpoint_cadence_by_segment")


# ------------------------------------------------------------------------------------------- sequences
def test_sequences_name_the_most_common_last_contacts(demo, tmp_path):
    ds, sim = demo
    rep = context(ds, tmp_path)
    sec = report.sequences(rep, basis_of(ds, window_days=900))
    first, churn = sec.value["first_purchase"], sec.value["churn"]
    best = max(PARAMS.prospect_sequences, key=PARAMS.prospect_sequences.get)
    assert first.index[0] == sequence_label(best)
    assert churn.index[0] == sequence_label(PARAMS.prechurn_sequence)
    assert f"most common last contacts were **{first.index[0]}**" in sec.text_all.replace("&gt;", ">")
    pub = rep.out.read_table("touchpoint_sequences")
    assert set(pub["before"]) == {"first purchase", "churn"}


def test_sequences_without_contacts_before_a_first_purchase(demo, tmp_path):
    ds, sim = demo
    ia = sim.interactions
    days = tp.purchase_days(ds.transaction_log, ds.as_of)
    first = pd.to_datetime(days.groupby("customer_id")["day"].min(), unit="D")
    keep = ia["date"].to_numpy() >= first.reindex(ia["customer_id"]).fillna(pd.Timestamp("2100-01-01")).to_numpy()
    d = variant(ds, interactions=ia.loc[keep])
    text = report.sequences(context(d, tmp_path), basis_of(d)).text_all
    assert re.search(r"Of the [\d,]+ customers whose first purchase came after the contact log starts, none had a "
                     r"contact before it", text)


# ------------------------------------------------------------------------------------------- notebook
def test_the_notebook_is_thin_and_in_the_pack_format():
    nb = json.loads((ROOT / "notebooks" / "07_touchpoints.ipynb").read_text())
    cells = nb["cells"]
    assert cells[0]["metadata"].get("tags") == ["parameters"]
    params = "".join(cells[0]["source"])
    for name in ("dataset", "run_dir", "privacy", "settings", "as_of", "window_days", "purchase_within_days",
                 "config_path"):
        assert re.search(rf"^{name} = .+  # ", params, re.M), name
    code = [c for c in cells[1:] if c["cell_type"] == "code"]
    lines = [[line for line in "".join(c["source"]).splitlines() if line.strip()] for c in code]
    assert sum(map(len, lines)) <= 13 and max(map(len, lines)) <= 8   # with the partners and suppliers
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert len({c["id"] for c in cells}) == len(cells)
    assert not any(line.startswith("# ") for c in cells if c["cell_type"] == "markdown"
                   for line in "".join(c["source"]).splitlines())
    assert not any(re.search(r"^\s*(def|class|for|if|while) ", "".join(c["source"]), re.M) for c in code)
    assert 'open_report("touchpoints"' in "".join(code[0]["source"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
