"""The segmentation report's sections (toolkit.reports.segmentation) on a small company generated here
(90 customers in four regions, two years of orders, returns, a contact log): what each section says,
shows and publishes, including its conditional wording (duplicates kept or dropped, CLV tiers with and
without a published CLV, no migration, one region, regions that do or do not differ, no demographics,
clusters that disagree, quarterly cohorts, no contact log, privacy off). Expected figures are counted
from the generated rows or follow from how the test builds the data."""
from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.privacy import pseudonym
from toolkit.reports import ReportContext, open_report
from toolkit.reports import segmentation as report
from toolkit.results import RunResults

ROOT = Path(__file__).resolve().parents[1]
AS_OF = pd.Timestamp("2025-12-31")
REGIONS = ["North"] * 40 + ["South"] * 32 + ["Tiny"] * 10 + ["Wee"] * 8   # two below min_region_customers (20)
NEVER_BOUGHT = 5                                              # the last five customers only registered


def _company(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = len(REGIONS)
    ids = [f"K{i:03d}" for i in range(n)]
    enterprise = np.arange(n) % 3 == 0
    acquired = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    customers = pd.DataFrame({
        "customer_id": ids, "region": REGIONS, "customer_type": np.where(enterprise, "enterprise", "individual"),
        "acquisition_date": acquired.strftime("%Y-%m-%d"),
        "age": np.where(enterprise, np.nan, rng.integers(20, 75, n)),
        "income": np.where(enterprise, np.nan, rng.integers(15, 90, n) * 1000.0),
        "gender": np.where(enterprise, None, rng.choice(["female", "male"], n))})
    rows = []
    for i, cid in enumerate(ids[: n - NEVER_BOUGHT]):
        span = (AS_OF - acquired[i]).days
        for k in range(1 + rng.poisson(4)):
            day = acquired[i] + pd.Timedelta(days=int(rng.integers(0, span + 1)) if k else 0)
            scale = 800 if enterprise[i] else 60
            amount = round(float(rng.lognormal(0, 0.6)) * scale, 2)
            rows.append([cid, f"O{len(rows):05d}", day.strftime("%Y-%m-%d"), amount])
    tx = pd.DataFrame(rows, columns=["cust_id", "invoice", "invoice_date", "net_amount"])
    returns = tx.iloc[[3, 40, 77]].assign(invoice=["R1", "R2", "R3"],
                                          net_amount=lambda d: -(d["net_amount"] / 2).round(2))
    tx = pd.concat([tx, returns], ignore_index=True)
    contacts = pd.DataFrame({"customer_id": ids[::2], "date": (AS_OF - pd.to_timedelta(
        rng.integers(1, 400, len(ids[::2])), unit="D")).strftime("%Y-%m-%d"), "channel": "phone",
        "kind": "call", "outcome": "reached"})
    return customers, tx, contacts


CUSTOMERS, TX, CONTACTS = _company()
# dirt the loader handles: one exact duplicate and one row with a date that is not a date
DIRTY = pd.concat([TX, TX.iloc[[10]], TX.iloc[[11]].assign(invoice="X1", invoice_date="2025-02-30")],
                  ignore_index=True)


def _spec(folder: Path, tx: pd.DataFrame, *, duplicates: str = "drop", interactions: bool = True) -> Path:
    data = folder / "data"
    data.mkdir(parents=True)
    tx.to_csv(data / "tx.csv", index=False)
    CUSTOMERS.to_csv(data / "customers.csv", index=False)
    tables = {
        "transactions": {"file": "tx.csv", "columns": {"customer_id": "cust_id", "order_id": "invoice",
                                                       "date": "invoice_date", "amount": "net_amount"},
                         "rules": {"duplicates": duplicates}},
        "customers": {"file": "customers.csv", "columns": {c: c for c in CUSTOMERS.columns}}}
    if interactions:
        CONTACTS.to_csv(data / "interactions.csv", index=False)
        tables["interactions"] = {"file": "interactions.csv", "columns": {c: c for c in CONTACTS.columns}}
    spec = {"name": "small_co", "title": "Small company", "currency": "EUR", "as_of": str(AS_OF.date()),
            "base": "data", "tables": tables}
    path = folder / "small_co.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory) -> Path:
    """The project's segmentation settings with a quicker clustering (fewer k, inits and refits)."""
    cfg = yaml.safe_load((ROOT / "config" / "segmentation.yaml").read_text())
    cfg["clustering"].update(k_range=[2, 3], n_init=2, n_bootstrap=4)
    path = tmp_path_factory.mktemp("seg_cfg") / "segmentation.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def rep(tmp_path_factory) -> ReportContext:
    folder = tmp_path_factory.mktemp("seg_report")
    return open_report("segmentation", str(_spec(folder, DIRTY)), str(folder / "run"), needs_money=True)


@pytest.fixture(scope="module")
def data(rep):
    return report.data_used(rep)


@pytest.fixture(scope="module")
def seg(rep, quick_config):
    return report.customer_summary(rep, str(quick_config), k_range=[2, 3], seed=1).value


def _net(tx: pd.DataFrame = TX) -> pd.Series:
    return tx.groupby("cust_id")["net_amount"].sum()


# ------------------------------------------------------------------------------------------ data used
def test_data_used_counts_duplicates_returns_and_other_dropped_rows(data):
    [table] = data.tables
    assert set(table.frame["table"]) <= {"transactions", "customers"}
    main = data.sentences[0]
    assert f"Transactions: **{len(TX):,}** rows kept." in main          # the duplicate and the bad date are gone
    assert "Exact duplicates: **1** (dropped)" in main
    returns = TX.loc[TX["net_amount"] < 0, "net_amount"]
    assert f"kept as negative net revenue: **{len(returns)}**, together {-returns.sum():,.0f} EUR." in main
    assert data.sentences[1] == ("- bad\\_dates: 1 rows dropped (not a date in format ISO 8601 (YYYY-MM-DD)).")
    assert data.value["rows"] == len(TX)


def test_data_used_says_when_duplicates_are_kept_and_there_are_no_returns(tmp_path):
    clean = pd.concat([TX.loc[TX["net_amount"] > 0], TX.iloc[[10]]], ignore_index=True)
    r = open_report("segmentation", str(_spec(tmp_path, clean, duplicates="keep")), str(tmp_path / "run"))
    sec = report.data_used(r)
    assert "Exact duplicates: **1** (kept: the spec treats them as genuine repeat lines)" in sec.sentences[0]
    assert "invoices, kept as negative net revenue: **0**. Unusually" in sec.sentences[0]
    assert len(sec.sentences) == 1   # no other rule dropped rows


# ---------------------------------------------------------------------------------- one summary per customer
def test_customer_summary_gives_customers_buyers_and_the_median_buyer(rep, quick_config):
    sec = report.customer_summary(rep, str(quick_config), k_range=[2, 3], seed=1)
    net = _net()
    orders = TX.loc[TX["net_amount"] > 0].groupby("cust_id").size()
    last = pd.to_datetime(TX.loc[TX["net_amount"] > 0].groupby("cust_id")["invoice_date"].max())
    text = sec.sentences[0]
    assert f"the data holds **{len(CUSTOMERS)}** customers, **{len(CUSTOMERS) - NEVER_BOUGHT}** of whom" in text
    assert f"the median number of orders is {orders.median():.0f}" in text
    assert f"the median net revenue {net.median():,.0f} EUR" in text
    assert f"last purchase {(AS_OF - last).dt.days.median():.0f} days" in text
    assert sec.value.value_basis == "net revenue" and sec.tables[0].caption.startswith("Distribution of the")


def test_clv_tiers_without_a_published_clv_fall_back_to_net_revenue(rep, quick_config):
    sec = report.customer_summary(rep, str(quick_config), k_range=[2, 3], seed=1, tier_value="clv")
    assert sec.sentences[0].startswith("Value tiers by predicted CLV were asked for, but this run has no published")
    assert sec.value.value_basis == "net revenue"


def test_clv_tiers_use_the_published_clv_and_say_which_buyers_lack_one(tmp_path, quick_config):
    r = open_report("segmentation", str(_spec(tmp_path, TX)), str(tmp_path / "run"))
    net = _net()
    clv = pd.DataFrame({"customer_id": pseudonym(pd.Series(net.index[1:])).to_numpy(),   # the first buyer has none
                        "clv": 3.0 * net.to_numpy()[1:]})
    RunResults(tmp_path / "run", notebook="clv").table("customer_clv", clv)
    sec = report.customer_summary(r, str(quick_config), k_range=[2, 3], seed=1, tier_value="clv")
    assert sec.value.value_basis == "predicted CLV"
    assert "- 1 buyers have no predicted CLV; their net revenue is used" in sec.sentences
    cust = sec.value.customers
    assert cust.loc[net.index[2], "value"] == pytest.approx(3.0 * net.iloc[2])
    assert cust.loc[net.index[0], "value"] == pytest.approx(net.iloc[0])


# ----------------------------------------------------------------------------------------------- RFM
def test_rfm_names_the_most_valuable_segment_and_the_customers_at_risk(rep, seg):
    sec = report.rfm_segments(rep, seg)
    cust = seg.customers
    revenue = cust.groupby("rfm_segment")["monetary"].sum().drop(["No purchase", "Other"], errors="ignore")
    best = revenue.idxmax()
    share = (cust["rfm_segment"] == best).mean()
    risk = cust["rfm_segment"].isin(["At risk", "Can't lose"]).sum()
    [sentence] = sec.sentences
    assert sentence.startswith(f"**{best}** is the most valuable RFM segment: {100 * share:.1f}% of customers")
    assert f"number {risk} and account for" in sentence
    assert len(sec.figures) == 2 and sec.value["customers"].sum() == len(cust)


# ------------------------------------------------------------------------------------ segment migration
def test_migration_needs_a_positive_number_of_days(rep, seg, data):
    sec = report.segment_migration(rep, 0, seg, data.value)
    assert sec.value is None and not sec.tables and not sec.figures
    assert sec.sentences == ["`migration_days` is 0: it must be positive for a segment migration."]
    published = rep.out.read_table("segment_migration")
    assert published.empty and list(published.columns) == report.MIGRATION_COLUMNS


def test_migration_before_the_first_transaction_says_the_data_start_later(rep, seg, data):
    sec = report.segment_migration(rep, 1000, seg, data.value)
    first = pd.to_datetime(TX["invoice_date"]).min().date()
    t0 = (AS_OF - pd.Timedelta(days=1000)).date()
    assert sec.sentences == [f"The transactions start on {first}, so there are no segments on {t0} to compare "
                             "with; choose a smaller `migration_days` (now 1000)."]


def test_migration_accounts_for_every_customer_once_and_publishes_the_cells(rep, seg, data):
    sec = report.segment_migration(rep, 182, seg, data.value)
    acquired = pd.to_datetime(CUSTOMERS["acquisition_date"])
    known_t1 = int((acquired <= AS_OF).sum())            # every registered customer is known on the as-of date
    joined = int((acquired > AS_OF - pd.Timedelta(days=182)).sum())
    text = sec.text_all
    assert f"Of the **{known_t1 - joined}** customers known on 2025-07-02" in text
    assert (f"; **{joined}** customers joined after 2025-07-02" in text) == (joined > 0)
    assert "mutually exclusive and complete" in text and "does not add up" not in text
    assert "the segments on the as-of date are those of the RFM section above." in text
    assert [t.caption for t in sec.tables] == ["RFM segments on 2025-07-02 and 2025-12-31",
                                               "Net revenue between 2025-07-02 and 2025-12-31 by segment move"]
    cells = rep.out.read_table("segment_migration")
    assert cells["customers"].sum() == known_t1 and set(cells["direction"]) <= {
        "stayed", "improved", "slipped", "sideways", "joined"}
    assert len(sec.figures) == 1


# ------------------------------------------------------------------------------------------ value tiers
def test_value_tiers_state_cut_offs_as_percentages_and_the_top_tier_share(rep, seg):
    sec = report.value_tiers(rep, [0.2, 0.5], seg)
    net = _net().sort_index()
    ranked = net.sort_values(ascending=False, kind="stable")            # ids already in order: ties by id
    position = (np.arange(len(ranked)) + 0.5) / len(ranked)
    high = ranked[position < 0.2]
    [table] = sec.tables
    assert table.caption == "Value tiers by net revenue (cut-offs at 20% and 50% of buyers ranked by value)"
    assert "[0.2" not in table.caption
    assert (f"The **high** tier — {100 * len(high) / len(CUSTOMERS):.1f}% of customers — brings "
            f"**{100 * high.sum() / net.sum():.1f}%** of net revenue") in sec.sentences[0]
    published = rep.out.read_table("tier_summary").set_index("value_tier")
    assert published.loc["high", "customers"] == len(high) and published.loc["none", "customers"] == NEVER_BOUGHT


def test_cut_offs_read_as_a_list_of_percentages():
    assert report._shares([0.2, 0.5]) == "20% and 50%"
    assert report._shares([0.1, 0.25, 0.625]) == "10%, 25% and 62.5%"


# ---------------------------------------------------------------------------- customer type and lifecycle
def test_types_and_stages_give_the_definitions_from_the_config(rep, seg):
    sec = report.types_and_stages(rep, seg)
    lc = seg.config["lifecycle"]
    assert (f"*new* = first purchase at most {lc['new_days']} days ago; *at risk* = no purchase for more than "
            f"{lc['at_risk_days']} days") in sec.sentences[0]
    share = seg.customers["lifecycle_stage"].value_counts(normalize=True)
    assert sec.sentences[1].startswith(f"{100 * share.get('active', 0):.1f}% of customers are active")
    assert [t.caption for t in sec.tables] == ["Customers by type", "Customers by lifecycle stage"]
    assert sec.tables[0].frame.loc["enterprise", "customers"] == (CUSTOMERS["customer_type"] == "enterprise").sum()


# ------------------------------------------------------------------------------------------ demographics
def test_demographics_profile_each_band_and_say_how_many_are_known(rep, seg):
    sec = report.demographics(rep, seg)
    assert [t.caption for t in sec.tables] == ["Customers by age band", "Customers by income band",
                                               "Customers by gender"]
    known = CUSTOMERS["age"].notna().mean()
    assert sec.sentences == [f"Demographics are known for {100 * known:.1f}% of customers (typically individuals "
                             "only)."]
    assert len(sec.figures) == 3


def test_no_demographics_is_said_in_a_sentence(rep, seg):
    bare = dataclasses.replace(seg, customers=seg.customers.drop(columns=["age_band", "income_band", "gender"]))
    sec = report.demographics(rep, bare)
    assert not sec.tables and sec.value == []
    assert sec.sentences[0].startswith("The dataset has no demographic attributes")


# ------------------------------------------------------------------------------- clusters and personas
def test_clusters_explain_the_choice_of_k_and_name_the_largest_and_most_valuable(rep, seg):
    sec = report.clusters(rep, seg)
    sm, pers = seg.segmenter, seg.personas
    text = sec.text_all
    assert f"The silhouette score is highest at **k = {sm.n_clusters_}**" in text
    assert (" — BIC keeps rewarding extra components" in text) == (sm.k_bic_ > sm.k_silhouette_)
    assert f"over {len(sm.stability_)} refits" in text
    assert f"The largest cluster, **{pers.iloc[0]['persona']}**" in text
    lead = pers["revenue_share"].idxmax()
    assert ("The most valuable, **" in text) == (lead != pers.index[0])
    assert ("split the customers differently" in text) == (sm.agreement_ < 0.5)
    assert len(rep.out.read_table("personas")) == len(pers)


def test_clusters_that_disagree_are_read_as_a_continuum(rep, seg):
    disagreeing = copy.copy(seg.segmenter)
    disagreeing.agreement_ = 0.3
    pers = seg.personas.copy()
    pers["revenue_share"] = [1.0] + [0.0] * (len(pers) - 1)       # the largest is also the most valuable
    sec = report.clusters(rep, dataclasses.replace(seg, segmenter=disagreeing, personas=pers))
    text = sec.text_all
    assert "split the customers differently (agreement 0.30)" in text
    assert "The most valuable, **" not in text


# -------------------------------------------------------------------------------- regional differences
def test_small_regions_are_pooled_and_named_in_one_sentence(rep, seg):
    sec = report.regional_differences(rep, seg)
    assert sec.sentences[0] == "2 regions with fewer than 20 customers are pooled as *other regions*."
    assert set(sec.value.customers["region"]) == {"North", "South", "other regions"}
    t0 = sec.value.mix_test
    assert ("Caution: " in sec.sentences[1]) == (t0["low_expected_share"] > 0.2)
    mix = rep.out.read_table("region_segment_mix")
    assert set(mix["region"]) == {"North", "South", "Tiny", "Wee"}    # published unpooled, for every scheme


def _with_regions(seg, regions: pd.Series):
    return dataclasses.replace(seg, customers=seg.customers.assign(region=regions.reindex(seg.customers.index)))


def test_regions_split_by_value_differ_in_mix_and_spend(rep, seg):
    cust = seg.customers
    split = pd.Series(np.where(cust["monetary"] >= cust["monetary"].median(), "Big", "Small"), index=cust.index)
    sec = report.regional_differences(rep, _with_regions(seg, split))
    text = sec.text_all
    assert "— the regions differ in their segment mix." in text
    assert "— spend per customer differs between regions." in text
    assert "highest in **Big**" in text and "lowest in **Small**" in text
    assert sec.value.spend_test["p_value"] < 0.05


def test_regions_alike_by_construction_show_no_evidence_of_a_difference(rep, seg):
    cust = seg.customers
    order = cust.sort_values(["persona", "monetary"]).index           # alternate within each persona by spend
    alike = pd.Series(np.where(np.arange(len(order)) % 2 == 0, "East", "West"), index=order)
    sec = report.regional_differences(rep, _with_regions(seg, alike))
    text = sec.text_all
    assert "no evidence that the mix differs between regions" in text
    assert "no evidence that spend per customer differs between regions" in text


def test_one_region_skips_the_comparison_and_leaves_the_tests_empty(rep, seg):
    one = pd.Series("Everywhere", index=seg.customers.index)
    sec = report.regional_differences(rep, _with_regions(seg, one))
    assert sec.sentences == ["The dataset has no regional breakdown (every customer is in region **Everywhere**), "
                             "so the regional comparison is skipped."]
    assert not sec.tables and not sec.figures
    assert np.isnan(sec.value.mix_test["p_value"]) and np.isnan(sec.value.spend_test["p_value"])


# -------------------------------------------------------------------------------- customer-base audit
def _gini(values: np.ndarray) -> float:
    v = np.sort(values)
    n = len(v)
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * v.sum()))


def test_audit_gives_concentration_and_monthly_cohorts_for_two_years_of_data(rep, seg, data):
    sec = report.customer_base_audit(rep, seg, data.value)
    net = _net().to_numpy()
    assert sec.value.gini == pytest.approx(_gini(net), rel=1e-9)
    top = np.sort(net)[::-1][: int(np.ceil(len(net) / 10))]            # decile 1: the first tenth of the ranking
    assert sec.value.deciles["revenue_share"].iloc[0] == pytest.approx(top.sum() / net.sum())
    assert f"the Gini coefficient is **{_gini(net):.2f}**" in sec.sentences[0]
    assert re.search(r"last complete period \(2025-12\) the first cohort \(2024Q1\)", sec.sentences[1])
    assert len(sec.figures) == 3


def test_audit_of_more_than_three_years_uses_quarterly_cohorts(rep, seg, data):
    long_ago = {**data.value, "first_date": AS_OF - pd.Timedelta(days=4 * 365)}
    sec = report.customer_base_audit(rep, seg, long_ago)
    assert re.search(r"last complete period \(2025Q4\) the first cohort \(2024Q1\)", sec.sentences[1])


# ------------------------------------------------------------------------------------------- strategy
def test_strategy_names_the_largest_revenue_at_stake_in_euros(rep, seg):
    sec = report.strategy(rep, seg)
    plan = rep.out.read_table("strategy")
    stake = plan.sort_values("revenue_12m", ascending=False).iloc[0]
    assert (f"sits with **{stake['rfm_segment']}** customers in the **{stake['value_tier']}** tier: "
            f"{stake['customers']} customers, {stake['revenue_12m']:,.0f} EUR") in sec.sentences[0]
    assert [t.caption for t in sec.tables][0] == "Strategy per value tier"
    assert sec.tables[0].units["revenue / revenue_12m"] == "EUR"


# ------------------------------------------------------------------------------- no follow-up list here
def test_the_follow_up_list_moved_to_the_action_plan():
    # one call list, the action plan's (toolkit/reports/action_plan.py); the segmentation publishes no other
    assert not hasattr(report, "followup_list")


# ------------------------------------------------------------------------------------------ published
def test_published_metrics_and_export_hold_one_row_per_customer(rep, seg):
    rfm = report.rfm_segments(rep, seg).value
    tiers = report.value_tiers(rep, None, seg).value
    regions = report.regional_differences(rep, seg).value
    audit = report.customer_base_audit(rep, seg, {"first_date": pd.to_datetime(TX["invoice_date"]).min()}).value
    sec = report.published(rep, seg, rfm, tiers, regions, audit)
    m = rep.out.read_metrics("segmentation")
    assert (m["n_customers"], m["n_buyers"]) == (len(CUSTOMERS), len(CUSTOMERS) - NEVER_BOUGHT)
    assert m["gini"] == pytest.approx(_gini(_net().to_numpy()), rel=1e-9)
    assert m["tier_value_share"]["high"] == pytest.approx(tiers.loc["high", "value_share"])
    assert sum(m["rfm_segment_customers"].values()) == len(CUSTOMERS)
    export = rep.out.read_table("customer_segments")
    assert len(export) == len(CUSTOMERS) and export["customer_id"].is_unique
    assert sec.sentences == [f"Published: per-customer segments ({len(CUSTOMERS)} rows), region x segment mix, tier "
                             "summary, personas, strategy, the segment migration and the headline metrics."]
