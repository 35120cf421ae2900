"""The churn report's sections (toolkit.reports.churn) on small frames and small hand-made datasets:
every wording branch, what each section publishes, and the tables as the report shows them.

Expected values are worked out in the tests from the data they build (counts, shares, sums), never
copied from a run. The model sections (who is about to leave) need a fitted churn model, so they run
once on the small demo dataset of tests/conftest.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toolkit import churn as ch
from toolkit import contract
from toolkit.reports import churn as report
from toolkit.reports.churn import contractual, how_many, who_leaves, why
from toolkit.reports.churn.display import readable, share_text, with_shares
from toolkit.reports.context import ReportContext
from toolkit.results import RunResults

T = pd.Timestamp


@dataclass
class Toy:
    """A minimal stand-in for :class:`toolkit.data.Dataset` (customers, optional surveys)."""

    customers: pd.DataFrame | None
    as_of: pd.Timestamp
    title: str = "Toy shop"
    name: str = "toy"
    currency: str = "EUR"
    surveys: pd.DataFrame | None = None
    transactions: pd.DataFrame | None = None

    def has(self, *tables):
        return all(getattr(self, t, None) is not None for t in tables)

    def require(self, *tables, columns=None):
        missing = [t for t in tables if getattr(self, t, None) is None]
        if missing:
            raise LookupError(f"this report needs the table(s) {', '.join(missing)}")


def _rep(ds, tmp_path) -> ReportContext:
    return ReportContext("churn", ds, RunResults(tmp_path, notebook="churn"))


def _dated() -> Toy:
    """Four customers acquired in 2024 (a fifth after the as-of date); a and c churned."""
    cu = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e"],
        "region": ["N", "N", "S", "S", "S"],
        "acquisition_date": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-04-15", "2024-07-01", "2025-03-01"]),
        "churn_date": pd.to_datetime(["2024-05-20", None, "2024-12-31", None, None]),
    })
    return Toy(cu, T("2024-12-31"), title="Toy <b>shop</b>")


def _snapshot(groups: dict[str, tuple[int, int]], seed: int = 0, **columns) -> Toy:
    """A snapshot (churn flag and tenure, no dates): ``groups`` region -> (customers, churned)."""
    rng = np.random.default_rng(seed)
    rows = []
    for region, (n, lost) in groups.items():
        rows += [{"region": region, "churned": i < lost} for i in range(n)]
    cu = pd.DataFrame(rows)
    cu.insert(0, "customer_id", [f"c{i:03d}" for i in range(len(cu))])
    cu["tenure"] = rng.integers(1, 60, len(cu))
    for name, values in columns.items():
        cu[name] = values
    return Toy(cu, T("2025-06-30"))


def _basis(ds) -> how_many.ChurnBasis:
    return how_many.ChurnBasis(ch.churn_labels(ds), ch.customer_table(ds))


# ------------------------------------------------------------------------------------------ who churned
def test_definition_text_names_each_definition_with_its_setting():
    assert how_many.definition_text("explicit", True, 180, 0.5) == "the customer table's churn date"
    assert how_many.definition_text("explicit", False, 180, 0.5) == "the customer table's churn flag"
    assert how_many.definition_text("inactivity", True, 90, 0.5) == (
        "no purchase for 90 days (the churn date is the last purchase plus 90 days)")
    assert how_many.definition_text("p_alive", True, 180, 0.3) == "a BG/NBD probability of being alive below 30%"


def test_who_churned_counts_the_customers_started_by_the_as_of_date(tmp_path):
    sec = report.who_churned(_rep(_dated(), tmp_path))
    # e starts after 2024-12-31; of a-d, a (May) and c (31 December) churned on or before it
    assert sec.sentences == ["Dataset **Toy &lt;b&gt;shop&lt;/b&gt;**, analysed as of **2024-12-31**. A customer "
                             "counts as churned by the customer table&#x27;s churn date. Of **4** customers, **2** "
                             "(50.0%) have churned and 2 are active."]
    basis = sec.value
    assert basis.dated and basis.unit == "days" and basis.as_of == T("2024-12-31")
    assert list(basis.labels.index) == ["a", "b", "c", "d"] and len(basis.customers) == 5
    early = report.who_churned(_rep(_dated(), tmp_path), as_of="2024-06-30")
    assert "as of **2024-06-30**" in early.text_all and "Of **3** customers, **1** (33.3%)" in early.text_all


def test_who_churned_on_a_snapshot_says_how_rates_and_lifetimes_are_read(tmp_path):
    sec = report.who_churned(_rep(_snapshot({"N": (3, 1), "S": (2, 1)}), tmp_path))
    first, second = sec.sentences
    assert ", a snapshot. A customer counts as churned by the customer table&#x27;s churn flag. Of **5** " \
           "customers, **2** (40.0%) have churned and 3 are active." in first
    assert second.startswith("The data are a snapshot without dates")
    assert not sec.value.dated and sec.value.unit == "months"


def test_who_churned_without_a_customer_table_needs_transactions(tmp_path):
    with pytest.raises(LookupError, match="transactions"):
        report.who_churned(_rep(Toy(None, T("2025-01-01")), tmp_path))


# ------------------------------------------------------------------------------------------ rates
def test_rates_over_time_the_year_to_the_as_of_date_and_per_quarter():
    ds = _dated()
    ds.as_of = T("2025-06-30")
    sec = how_many.rates_over_time(_basis(ds))
    # active on 2024-07-01: b and c (a left in May, d joined that day); c left on 2024-12-31
    assert sec.value == 0.5
    assert sec.sentences == ["Over the 12 months to 2025-06-30 the churn rate was **50.0%**: 1 of the 2 customers "
                             "active on 2024-07-01 left within the year."]
    assert len(sec.figures) == 1
    (table,) = sec.tables
    assert table.caption == "Churn rate per quarter (last 12 quarters)"
    assert set(table.frame["complete"]) <= {"yes", "no"}          # not True / False


def test_rates_over_time_says_when_no_customer_was_active_at_the_start():
    sec = how_many.rates_over_time(_basis(_dated()))   # 12 months to 2024-12-31: nobody had started by January 1
    assert sec.sentences[0].startswith("No customer was active on 2024-01-01") and "nan" not in sec.text_all


def test_rates_over_time_on_a_snapshot_is_the_share_flagged():
    sec = how_many.rates_over_time(_basis(_snapshot({"N": (3, 1), "S": (2, 1)})))
    assert sec.value == pytest.approx(0.4)
    assert sec.sentences == ["**40.0%** of the customers are flagged as churned."] and not sec.tables


def test_rates_by_group_ranks_the_groups_and_skips_a_grouping_with_one_group():
    ds = _snapshot({"N": (40, 10), "S": (35, 14)}, customer_type="individual")
    basis = _basis(ds)
    sec = how_many.rates_by_group(basis, 24 / 75, min_group_size=30)
    assert sec.sentences == ["By region, from highest to lowest: **S** (40.0% of 35), **N** (25.0% of 40), "
                             "against 32.0% overall."]
    assert [t.caption for t in sec.tables] == ["Churn rate by region"] and len(sec.figures) == 1
    assert list(sec.tables[0].frame.index) == ["S", "N"]             # highest rate first
    assert list(sec.value.by_group) == ["region"] and list(sec.value.by_region.index) == ["N", "S"]


def test_rates_by_group_with_one_region_says_there_is_no_regional_comparison():
    basis = _basis(_snapshot({"N": (10, 2)}))
    sec = how_many.rates_by_group(basis, 0.2)
    assert sec.sentences == ["The dataset has a single region, so there is no regional comparison of churn."]
    assert list(sec.value.by_region.index) == ["N"] and sec.value.by_region["churn_rate"].iloc[0] == 0.2
    no_region = _snapshot({"N": (10, 2)})
    no_region.customers = no_region.customers.drop(columns="region")
    assert list(how_many.rates_by_group(_basis(no_region), 0.2).value.by_region.index) == ["all customers"]


def test_rates_by_cohort_caption_says_what_the_cohorts_are():
    assert how_many.rates_by_cohort(_basis(_dated())).tables[0].caption == \
        "Churn rate by acquisition cohort (year acquired; last 12 months)"
    assert how_many.rates_by_cohort(_basis(_snapshot({"N": (5, 1)}))).tables[0].caption == \
        "Churn rate by acquisition cohort (tenure band, as no acquisition dates exist)"


def test_churn_rates_publishes_the_regional_rates(tmp_path):
    ds = _snapshot({"N": (40, 10), "S": (35, 14)})
    rep = _rep(ds, tmp_path)
    sec = report.churn_rates(rep, _basis(ds))
    published = rep.out.read_table("churn_rates_by_region")
    assert list(published["region"]) == ["N", "S"] and list(published["lost"]) == [10, 14]
    assert published["churn_rate"].tolist() == pytest.approx([10 / 40, 14 / 35])
    assert rep.out.meta("churn_rates_by_region")["description"] == "Churn rate by region (share flagged as churned)"
    assert sec.value.overall_rate == pytest.approx(24 / 75)
    assert [t.caption for t in sec.tables][-1].startswith("Churn rate by acquisition cohort")


# ------------------------------------------------------------------------------------------ retention, survival
def _retention(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict({T(k): v for k, v in rows.items()}, orient="index")


def test_retention_sentence_names_the_lowest_and_highest_cohort():
    r = _retention({"2024-01-01": [1, .9, .85, .8, .75], "2024-04-01": [1, .95, .9, .88, .86],
                    "2024-07-01": [1, .9, np.nan, np.nan, np.nan]})
    assert how_many.retention_sentence(r) == (
        "At the end of the 4. quarter after the acquisition quarter, between **75.0%** and **86.0%** of a cohort "
        "are still customers (cohorts 2024-01 and 2024-04).")
    one = _retention({"2024-01-01": [1, .9, .8], "2024-04-01": [1, .7, np.nan]})
    assert how_many.retention_sentence(one) == ("At the end of the 2. quarter after the acquisition quarter, "
                                                "**80.0%** of the cohort are still customers.")
    assert how_many.retention_sentence(_retention({"2024-01-01": [1, .9, np.nan]})) is None
    assert how_many.retention_sentence(pd.DataFrame(index=[T("2024-01-01")])) is None


def test_cohort_retention_without_dates_points_to_the_survival_curves(tmp_path):
    ds = _snapshot({"N": (5, 1)})
    sec = report.cohort_retention(_rep(ds, tmp_path), _basis(ds))
    assert sec.sentences == ["Without acquisition dates there are no calendar cohorts; the Kaplan-Meier curves below "
                             "show retention against tenure instead."] and not sec.figures


def _survival_data(tenure: list[int], churned: list[bool], region: list[str] | None = None) -> Toy:
    cu = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(len(tenure))], "tenure": tenure,
                       "churned": churned})
    if region is not None:
        cu["region"] = region
    return Toy(cu, T("2025-06-30"))


def test_survival_reads_the_median_lifetime_and_tests_the_groups(tmp_path):
    # 40 customers: tenure 1..20 twice; all of region A churned, none of region B
    tenure = list(range(1, 21)) * 2
    ds = _survival_data(tenure, [True] * 20 + [False] * 20, ["A"] * 20 + ["B"] * 20)
    sec = report.survival(_rep(ds, tmp_path), _basis(ds))
    # Kaplan-Meier over all: in month t, 42 - 2t customers at risk (one of A and one of B per month left), one
    # of them leaves: S(t) = prod over j <= t of (1 - 1 / (42 - 2j)); the median is the first t with S(t) <= 1/2
    s, median = 1.0, None
    for t in range(1, 21):
        s *= 1 - 1 / (42 - 2 * t)
        median = t if median is None and s <= 0.5 else median
    assert sec.sentences[0] == (f"Median lifetime: **{median} months**; after 20 months {100 * s:.1f}% of customers "
                                "are still active.")
    assert [t.caption for t in sec.tables] == ["Kaplan-Meier summary by region", "Log-rank tests of equal survival "
                                                                                  "across groups"]
    assert sec.sentences[1].startswith("- Survival by **region**: the groups differ (chi-square ")
    assert list(sec.value.index) == ["region"] and sec.value.loc["region", "groups"] == 2


def test_survival_median_reached_and_no_grouping_without_a_second_group(tmp_path):
    ds = _survival_data(list(range(1, 11)), [True] * 10)
    sec = report.survival(_rep(ds, tmp_path), _basis(ds))
    # all ten leave, one a month: S(5) = 5/10 is the first value at or below one half
    assert sec.sentences == ["Median lifetime: **5 months**; after 10 months 0.0% of customers are still active."]
    assert not sec.tables and sec.value is None


# ------------------------------------------------------------------------------------------ Cox
def test_hazard_and_proportional_hazards_sentences():
    r = pd.Series({"unit": "vs basic", "hazard_ratio": 1.5, "lower": 1.2, "upper": 1.9})
    assert how_many.hazard_sentence("plan = premium_x", r) == (
        "- **plan = premium\\_x** (vs basic): hazard ratio 1.50 (95% interval 1.20-1.90): 50% higher risk of leaving.")
    r = pd.Series({"unit": "per 10", "hazard_ratio": 0.6, "lower": 0.5, "upper": 0.7})
    assert how_many.hazard_sentence("age", r).endswith("hazard ratio 0.60 (95% interval 0.50-0.70): 40% lower risk "
                                                       "of leaving.")
    ph = pd.DataFrame({"ph_holds_5pct": [True, True, True]}, index=["age", "plan = premium", "GLOBAL"])
    assert how_many.ph_sentence(ph) == "The proportional-hazards assumption holds for every term at the 5% level."
    ph.loc["age", "ph_holds_5pct"] = False
    assert how_many.ph_sentence(ph).startswith("The proportional-hazards assumption is questionable for age: their "
                                               "effect changes with time as a customer")


def _cox_data(n: int = 240, effect: float = 1.0, seed: int = 1) -> Toy:
    """Monthly lifetimes, exponential with a hazard exp(effect) times higher on the premium plan;
    censored at 36 months."""
    rng = np.random.default_rng(seed)
    plan = np.where(np.arange(n) % 3 == 0, "premium", "basic")    # basic, the larger, is the reference
    life = rng.exponential(30 / np.exp(effect * (plan == "premium")))
    cu = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(n)], "plan": plan,
                       "tenure": np.minimum(np.ceil(life), 36).astype(int), "churned": life < 36})
    return Toy(cu, T("2025-06-30"))


def test_cox_model_reads_the_hazard_ratios_and_publishes_them(tmp_path):
    ds = _cox_data()
    rep = _rep(ds, tmp_path)
    sec = report.cox_model(rep, _basis(ds), [])
    events = int(ds.customers["churned"].sum())
    assert sec.tables[0].caption == f"Cox model hazard ratios (240 customers, {events} churned)"
    assert any(s.startswith("- **plan = premium** (vs basic): hazard ratio ") and s.endswith("higher risk of leaving.")
               for s in sec.sentences)
    assert set(sec.tables[1].frame["ph_holds_5pct"]) <= {"yes", "no"}
    assert "Left out of the model: tenure (is the duration itself)." in sec.sentences
    hr = rep.out.read_table("cox_hazard_ratios")
    assert hr["hazard_ratio"].iloc[0] > 1.5 and len(sec.figures) == 1


def test_cox_model_says_when_nothing_is_significant(tmp_path):
    ds = _cox_data(effect=0.0, seed=3)
    sec = report.cox_model(_rep(ds, tmp_path), _basis(ds), [])
    p = sec.value.hazard_ratios_["p_value"].iloc[0]
    assert p >= 0.05 and "No attribute changes the churn hazard significantly at the 5% level." in sec.sentences


def test_cox_model_without_attributes_or_churners_publishes_an_empty_table(tmp_path):
    ds = _survival_data(list(range(1, 11)), [True] * 10)
    rep = _rep(ds, tmp_path)
    sec = report.cox_model(rep, _basis(ds), [])
    assert sec.sentences == ["No customer attribute varies enough (or too few customers churned) for a Cox model."]
    assert sec.value is None and not sec.tables
    empty = rep.out.read_table("cox_hazard_ratios")
    assert len(empty) == 0 and list(empty.columns) == ["term", "hazard_ratio", "lower", "upper", "p_value"]


def test_cox_model_that_did_not_converge_shows_no_hazard_ratios(tmp_path, monkeypatch):
    class NotConverged:
        def __init__(self, *args, **kwargs):
            self.hazard_ratios_ = pd.DataFrame({"coef": [np.nan]}, index=["plan = premium"])

        def fit(self, frame):
            return self

    monkeypatch.setattr(ch, "CoxPH", NotConverged)
    ds = _cox_data()
    rep = _rep(ds, tmp_path)
    sec = report.cox_model(rep, _basis(ds), [])
    assert sec.sentences == ["The Cox model did not converge on these attributes, so no hazard ratios are shown."]
    assert len(rep.out.read_table("cox_hazard_ratios")) == 0


# ------------------------------------------------------------------------------------------ sBG
def _sbg_row(**changes) -> pd.Series:
    row = {"median_lifetime": 30.0, "longest_duration": 40, "restricted_mean_lifetime": 25.0, "heterogeneity": True,
           "gamma": 0.8, "delta": 2.0, "mean_lifetime": np.inf, "churn_probability_month_1": 0.0123,
           "months_compared": 30, "share_outside_km_band": 0.1, "churn_rate_first_half": 0.02,
           "churn_rate_second_half": 0.021, "max_gap_km": 0.031, "sbg_at_end": 0.5, "km_at_end": 0.48}
    return pd.Series({**row, **changes})


def test_sbg_cohort_lines_for_each_kind_of_fit():
    lines = contractual.cohort_lines("Month_to_month", _sbg_row(), 72)
    assert lines[0] == ("- **Month\\_to\\_month**: gamma = 0.80 is below 1, so the **mean lifetime is infinite** (a "
                        "minority of customers practically never leaves): use the median, **30 months**, and the "
                        "mean within 72 months, **25.0 months**.")
    assert lines[1] == ("  The sBG stays within the Kaplan-Meier 95% band in most of the 30 months with at least 10% "
                        "of the cohort at risk (largest gap 3.1 points; after 30 months it gives 50.0% still a customer "
                        "against 48.0% observed). ")
    lines = contractual.cohort_lines("One year", _sbg_row(gamma=1.5, mean_lifetime=45.25, median_lifetime=50.0,
                                                          share_outside_km_band=0.4), 72)
    assert lines[0] == ("- **One year**: gamma = 1.50, delta = 2.00: mean lifetime 45.2 months, median **50 months**, "
                        "mean within 72 months **25.0 months**. The median lies beyond the longest observed tenure "
                        "(40 months), so it is an extrapolation.")
    assert "leaves the Kaplan-Meier 95% band in 40% of the 30 months" in lines[1]
    assert lines[1].endswith("Read its projections for this cohort as approximate.")
    lines = contractual.cohort_lines("Two year", _sbg_row(heterogeneity=False, mean_lifetime=81.3,
                                                          median_lifetime=np.inf, churn_rate_second_half=0.03), 72)
    assert lines[0] == ("- **Two year**: gamma and delta are very large, so the customers hardly differ: each has about "
                        "the same monthly churn probability, **1.23%**, and lifetimes are geometric (mean 81 months, "
                        "median more than 10,000 months; mean within 72 months **25.0 months**). The median lies "
                        "beyond the longest observed tenure (40 months), so it is an extrapolation.")
    assert "rises with tenure (2.00% in the first half of those months, 3.00% in the second)" in lines[1]
    assert contractual.cohort_lines("x", _sbg_row(months_compared=0), 72)[1] == (
        "  Too few customers stay long enough to compare the sBG with Kaplan-Meier.")
    assert "(0.050% in the first half" in contractual.cohort_lines("x", _sbg_row(
        churn_rate_first_half=0.0005, churn_rate_second_half=0.002), 72)[1]


def _contracts(charge: bool = True, n: int = 150, seed: int = 2) -> Toy:
    """Two contracts with geometric monthly lifetimes (churn 6% and 2% a month), tenure capped at 24 months."""
    rng = np.random.default_rng(seed)
    contract = np.where(np.arange(2 * n) < n, "Monthly", "Yearly")
    life = rng.geometric(np.where(contract == "Monthly", 0.06, 0.02))
    cu = pd.DataFrame({"customer_id": [f"k{i:03d}" for i in range(2 * n)], "contract": contract,
                       "tenure": np.minimum(life, 24), "churned": life <= 24})
    if charge:
        cu["monthly_charges"] = np.where(contract == "Monthly", 70.0, 50.0)
    return Toy(cu, T("2025-06-30"))


def test_contractual_retention_fits_a_model_per_contract_and_publishes_it(tmp_path):
    ds = _contracts()
    rep = _rep(ds, tmp_path)
    sec = report.contractual_retention(rep, _basis(ds), None, 0.10, 72, 60)
    assert sec.sentences[0].startswith("Durations are the recorded tenure in months") and \
        "Cohorts: **contract** (2 with a model, 300 customers)" in sec.sentences[0]
    assert any("grouped by the contract held at the snapshot" in s for s in sec.sentences)
    captions = [t.caption for t in sec.tables]
    assert captions[:2] == ["sBG parameters by contract", "sBG lifetimes by contract and the fit against Kaplan-Meier"]
    params, life = sec.tables[0].frame, sec.tables[1].frame
    assert params["churn_probability_month_1"].str.endswith("%").all()          # shown as a percentage
    assert "survival_at_72_months" in sec.tables[1].units                        # so it is shown as a share
    assert "The data cover at most 24 months as a customer" in sec.text_all     # 24 < 72: extrapolation said
    assert captions[-1] == "Residual value of active customers: monthly charge x DERT at 10% a year"
    res = sec.tables[-1].frame
    active = (~ds.customers["churned"]).sum()
    assert res["active_customers"].sum() == active
    total = res["residual_value"].sum()
    assert f"The {active} active customers are worth **EUR {total:,.2f}** in future payments" in sec.text_all
    published = rep.out.read_table("sbg_cohorts")
    assert sorted(published["cohort"]) == ["Monthly", "Yearly"] and (published["cohort_by"] == "contract").all()
    assert "and residual value of active customers" in rep.out.meta("sbg_cohorts")["description"]
    assert len(sec.figures) == 1 and isinstance(sec.value, ch.contractual_view.ContractualView)


def test_contractual_retention_without_a_monthly_charge_says_so(tmp_path):
    ds = _contracts(charge=False)
    rep = _rep(ds, tmp_path)
    sec = report.contractual_retention(rep, _basis(ds), None, 0.10, 72, 60)
    assert sec.sentences[-1].startswith("The customer table has no monthly charge, so the residual value")
    assert "residual value" not in rep.out.meta("sbg_cohorts")["description"]


def test_contractual_retention_without_durations_publishes_an_empty_table(tmp_path):
    ds = _dated()   # dated, but no group of 30 customers with a churn
    rep = _rep(ds, tmp_path)
    sec = report.contractual_retention(rep, _basis(ds))
    assert sec.value is None and sec.sentences[0].startswith("The customer table has neither a tenure in months")
    assert len(rep.out.read_table("sbg_cohorts")) == 0


# ------------------------------------------------------------------------------------------ the model
def _pred(mode: str, **more) -> SimpleNamespace:
    return SimpleNamespace(mode=mode, y_eval=np.zeros(1234), scores=pd.Series(np.zeros(987)),
                           cutoffs={"train": T("2025-01-01"), "test": T("2025-04-01")}, **more)


def test_evaluation_sentence_for_cross_validation_and_a_time_split():
    assert who_leaves.evaluation_sentence(_pred("snapshot"), T("2025-06-30"), 90, 7) == (
        "Evaluation: 5-fold stratified cross-validation (shuffled, seed 7) on all 1,234 customers; every customer is "
        "scored by a model that did not see them.")
    assert who_leaves.evaluation_sentence(_pred("time"), T("2025-06-30"), 90, 0) == (
        "Evaluation: a time-based split. Models are fitted on customers active on 2025-01-01 (did they churn within "
        "90 days?) and tested on those active on 2025-04-01; the final model is refitted on both windows and scores "
        "the 987 customers active on 2025-06-30 for churn by 2025-09-28.")


def test_model_comparison_names_the_models_and_marks_the_chosen_one():
    comparison = pd.DataFrame({c: [0.1, 0.2] for c in who_leaves.COMPARED}, index=["logit", "hgb"])
    comp = who_leaves.model_comparison(_pred("time", comparison=comparison, kind="hgb"))
    assert list(comp.index) == ["logistic regression", "gradient boosting (tuned, calibrated)"]
    assert comp["chosen"].tolist() == [False, True]
    assert readable(comp)["chosen"].tolist() == ["no", "yes"]


def test_top_three_sentence_escapes_names_and_fills_missing_ones():
    assert who_leaves.top_three_sentence(pd.Index(["unresolved_180d", "age", "region", "x"])) == (
        "The model relies most on **unresolved\\_180d**, **age** and **region**.")
    assert who_leaves.top_three_sentence(pd.Index(["age"])) == "The model relies most on **age**, **-** and **-**."


def _warning(value: pd.Series, unit: str = "EUR") -> who_leaves.EarlyWarning:
    ranked = pd.DataFrame({"value_at_risk": value, "region": "N"})
    return who_leaves.EarlyWarning(value, value, ranked, ranked, unit, "EUR")


def test_targeting_by_value_at_risk_reaches_fewer_but_more_valuable_churners(tmp_path):
    scores = pd.Series([0.9, 0.8, 0.12, 0.05], index=list("abcd"))
    value = pd.Series([1.0, 1.0, 100.0, 100.0], index=list("abcd"))
    sec = report.targeting(_rep(None, tmp_path), SimpleNamespace(scores=scores), _warning(value), 2, save_rate=0.5)
    # by value at risk: c (12) and d (5) -> 17 at risk, 0.17 churners; by probability: a and b -> 1.7, 1.7 churners
    assert sec.sentences == ["With a budget of 2 contacts, targeting by value at risk is expected to save **EUR 8.50** "
                             "against EUR 0.85 when targeting by churn probability alone (EUR 7.65 more). It reaches "
                             "0.2 expected churners instead of 1.7: fewer churners, but the valuable ones."]
    assert sec.value.loc["by value at risk", "value_at_risk_reached"] == pytest.approx(17.0)
    assert len(sec.figures) == 1


def test_targeting_with_equal_values_and_without_money():
    scores = pd.Series([0.8, 0.6, 0.1], index=list("abc"))
    value = pd.Series(1.0, index=list("abc"))
    sec = report.targeting(None, SimpleNamespace(scores=scores), _warning(value, unit="customers"), 1, save_rate=0.5)
    # one per customer (no value data): value at risk is the probability, counted in customers, never in EUR
    assert sec.sentences[0].endswith("It reaches 0.8 expected churners instead of 0.8.")
    assert "**0.4 customers**" in sec.sentences[0] and "EUR" not in sec.sentences[0]


# ------------------------------------------------------------------------------------------ why
def test_top_reasons_sentence_with_two_reasons_and_with_one():
    pareto = pd.DataFrame({"share": [0.5, 0.3, 0.2]}, index=["price", "service_quality", "other"])
    assert why.top_reasons_sentence(pareto) == ("**Price** and **Service quality** account for 80.0% of the churned "
                                                "customers with a recorded reason.")
    assert why.top_reasons_sentence(pareto.iloc[:1].assign(share=1.0)) == (
        "**Price** accounts for 100.0% of the churned customers with a recorded reason.")


def _reasons_data(regions: list[str]) -> Toy:
    n = len(regions)
    cu = pd.DataFrame({"customer_id": [f"r{i:02d}" for i in range(n)], "region": regions,
                       "churned": [i % 2 == 0 for i in range(n)], "tenure": range(1, n + 1)})
    cu["churn_reason"] = np.where(cu["churned"], np.where(np.arange(n) % 4 == 0, "price", "competitor"), None)
    return Toy(cu, T("2025-06-30"))


def test_churn_reasons_pareto_by_region_and_tier_published(tmp_path):
    ds = _reasons_data(["N"] * 8 + ["S"] * 8)
    rep = _rep(ds, tmp_path)
    value = pd.Series(np.arange(16, dtype=float), index=ds.customers["customer_id"])
    sec = report.churn_reasons(rep, _basis(ds), _warning(value))
    # churned: even rows (8); price at rows 0, 4, 8, 12 -> 4 of 8, competitor the other 4
    assert sec.sentences == ["**Price** and **Competitor** account for 100.0% of the churned customers with a "
                             "recorded reason."] or sec.sentences == [
        "**Competitor** and **Price** account for 100.0% of the churned customers with a recorded reason."]
    assert [t.caption for t in sec.tables] == ["Churn reasons (Pareto)", "Churn reasons by region",
                                               "Churn reasons by value tier (tier by value before leaving)"]
    published = rep.out.read_table("reasons_by_region")
    assert sorted(published["region"]) == ["N", "S"] and published["churned_customers"].tolist() == [4, 4]
    assert len(sec.figures) == 3


def test_churn_reasons_with_one_region_shows_no_regional_table(tmp_path):
    ds = _reasons_data(["N"] * 8)
    rep = _rep(ds, tmp_path)
    sec = report.churn_reasons(rep, _basis(ds), _warning(pd.Series(1.0, index=ds.customers["customer_id"])))
    assert "Churn reasons by region" not in [t.caption for t in sec.tables]
    assert len(rep.out.read_table("reasons_by_region")) == 1


def test_churn_reasons_without_reasons_says_so_and_publishes_an_empty_table(tmp_path):
    ds = _snapshot({"N": (10, 3)})
    rep = _rep(ds, tmp_path)
    sec = report.churn_reasons(rep, _basis(ds), _warning(pd.Series(1.0, index=ds.customers["customer_id"])))
    assert sec.sentences == ["The dataset records no churn reasons, so there is no breakdown of why customers left."]
    empty = rep.out.read_table("reasons_by_region")
    assert len(empty) == 0 and list(empty.columns) == ["region", "churned_customers"]


def test_satisfaction_before_leaving_against_those_who_stayed(tmp_path):
    ds = _dated()
    ds.surveys = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "d"],
        "response_date": pd.to_datetime(["2024-04-01", "2023-01-01", "2024-11-01", "2024-12-01", "2024-12-15"]),
        "overall_satisfaction": [2, 5, 4, 1, 5], "nps": [3, 9, 8, 0, 10]})
    sec = report.satisfaction(_rep(ds, tmp_path), _basis(ds))
    # churned a (2, within a year before 2024-05-20) and c (1): mean 1.5, both dissatisfied; stayed b, d: mean 4.5
    assert sec.sentences == ["Customers who left rated their overall satisfaction **1.50** on average in their last "
                             "survey before leaving, against 4.50 for customers who stayed; 100.0% of the leavers were "
                             "dissatisfied (1-2)."]
    assert sec.tables[0].frame.loc["churned", "customers_with_response"] == 2


def test_satisfaction_without_surveys_says_so(tmp_path):
    ds = _dated()
    sec = report.satisfaction(_rep(ds, tmp_path), _basis(ds))
    assert sec.value is None and sec.sentences == [
        "There are no dated survey answers before customers left, so satisfaction before churn cannot be shown."]


# ------------------------------------------------------------------------------------------ display helpers
def test_shares_show_as_percentages_and_booleans_as_words():
    s = share_text(pd.Series([0.535, np.nan, 0.01234]), 2)
    assert s.tolist() == ["53.50%", "–", "1.23%"]
    frame = pd.DataFrame({"p": [0.5], "flag": [True], "n": [3]})
    shown = readable(with_shares(frame, ["p", "absent"]))
    assert shown.iloc[0].tolist() == ["50.0%", "yes", 3] and frame["flag"].dtype == bool   # the input unchanged


# ------------------------------------------------------------------------------------------ on the small demo
@pytest.fixture(scope="module")
def demo_model(small_demo_spec, tmp_path_factory):
    """The small demo's churn labels and churn model (one fit for the model sections' tests)."""
    from toolkit.reports import open_report

    rep = open_report("churn", str(small_demo_spec), str(tmp_path_factory.mktemp("churn_sections")), True)
    basis = report.who_churned(rep).value
    model = report.churn_model(rep, basis, "logit", 90, list(ch.DEFAULT_EXCLUDE), 0)
    return rep, basis, model


def test_churn_model_says_how_it_was_evaluated_and_publishes_the_comparison(demo_model):
    rep, basis, sec = demo_model
    pred = sec.value
    assert sec.sentences[0].startswith("Evaluation: a time-based split.")
    m = pred.metrics
    assert (f"The chosen model is **logistic regression**: ROC-AUC **{m['roc_auc']:.3f}**" in sec.text_all
            and pred.tuning is None and not rep.out.has("model_tuning"))
    published = rep.out.read_table("model_metrics")
    assert published["model"].tolist() == ["logistic regression"] and published["chosen"].tolist() == [True]
    assert sec.tables[0].frame["chosen"].tolist() == ["yes"]
    # the gains sentence reads the second decile of the gains table of the out-of-sample scores
    gains = ch.gains_table(pred.y_eval, pred.p_eval)
    assert f"reaches **{100 * gains.loc[2, 'share_of_churners_captured']:.1f}%** of the customers who churn" in \
        sec.text_all
    assert len(sec.figures) == 3


def test_drivers_show_odds_ratios_and_permutation_importance(demo_model):
    rep, basis, model = demo_model
    sec = report.drivers(rep, model.value, seed=0)
    assert [t.caption for t in sec.tables] == ["Logistic regression (main effects): odds ratios of churn (25 smallest "
                                               "p-values)", "Permutation importance (15 most important drivers)"]
    assert sec.sentences == [who_leaves.top_three_sentence(sec.value.index)]
    assert sec.value["auc_drop"].is_monotonic_decreasing


def test_value_at_risk_exports_every_score_and_names_the_top_region(demo_model):
    rep, basis, model = demo_model
    pred = model.value
    sec = report.value_at_risk(rep, basis, pred, warning_list_size=50, horizon_days=90)
    ew = sec.value
    value = ch.customer_value(rep.ds, as_of=basis.as_of).reindex(pred.scores.index).fillna(0.0)
    var = pred.scores * value
    total = float(var.sum())
    assert ew.total == pytest.approx(total) and len(ew.warning) == len(pred.scores)
    assert sec.sentences[0] == (f"Value is {value.attrs['description']} (EUR). The {len(pred.scores):,} active customers "
                                f"carry **EUR {total:,.2f}** of value at risk in total.")
    exported = pd.read_csv(rep.out.run_dir / "exports" / "churn_scores.csv")
    assert len(exported) == len(pred.scores) and exported["customer_id"].str.match(r"^P[0-9a-f]{12}$").all()
    assert exported["value_at_risk"].is_monotonic_decreasing
    assert exported["top_drivers"].notna().sum() == 50                 # drivers for the 50 with the most at risk
    assert "suggested_action" not in exported and not any("Early-warning list" in t.caption for t in sec.tables)
    region = basis.customers["region"].reindex(pred.scores.index)
    top = var.groupby(region).sum().idxmax()
    assert ew.top_risk_region == top
    assert any(s.startswith(f"The headline's top-risk region is the one with the most value at risk: **{top}**")
               for s in sec.sentences)
    assert sec.sentences[-1].startswith("Who to contact about it")
    assert contract.read(rep.out, "churn_scores")["churn_probability"].between(0, 1).all()


def test_a_top_risk_region_that_is_not_the_riskiest_is_explained_in_numbers():
    """Issue 17: the headline named North (most value at risk) while East churns most, with no word on why."""
    by_region = pd.DataFrame({"customers": [2986, 2071], "churn_probability": [0.043, 0.077],
                              "value_at_risk": [360_818.0, 196_806.0], "share_of_value_at_risk": [0.647, 0.353]},
                             index=pd.Index(["North", "East"], name="region"))
    mean_value = pd.Series({"North": 2810.0, "East": 1234.0})
    text = who_leaves.top_risk_sentence(by_region, mean_value, "EUR", "EUR")
    assert text.startswith("The headline's top-risk region is the one with the most value at risk: **North** (64.7% "
                           "of it), with 2,986 active customers, worth EUR 2,810")
    assert "The highest mean churn probability is **East**'s (7.7%, 2,071 active customers, worth EUR 1,234" in text
    assert "a larger or more valuable region can lead it at a lower churn rate" in text
    same = who_leaves.top_risk_sentence(by_region.iloc[::-1], mean_value, "EUR", "EUR")
    assert same.endswith("**East** (35.3% of it), which also has the highest mean churn probability.")
    counts = who_leaves.top_risk_sentence(by_region, mean_value, "customers", "EUR")
    assert "worth" not in counts            # without value data the value is a count of customers


def test_published_headline_metrics(demo_model):
    rep, basis, model = demo_model
    pred = model.value
    rates = report.churn_rates(rep, basis).value
    warning = report.value_at_risk(rep, basis, pred, warning_list_size=50).value
    budget = report.targeting(rep, pred, warning, 20).value
    sec = report.published(rep, basis, rates, pred, warning, budget, 20)
    assert sec.sentences[0].endswith(f"the headline churn metrics and the churn scores of the {len(pred.scores):,} active "
                                     "customers (`churn_scores`, read by the action plan).")
    metrics = rep.out.read_metrics("churn")
    by_region = basis.labels.groupby("region").size()
    assert set(metrics["churn_rate_by_region"]) == set(by_region.index)
    rates_by_region = metrics["churn_rate_by_region"]
    assert metrics["highest_churn_region"] == max(rates_by_region, key=rates_by_region.get)
    assert metrics["model"] == "logit" and metrics["evaluation"] == "time-based split"
    assert metrics["contact_budget"] == 20 and metrics["value_at_risk_total"] == pytest.approx(warning.total)
    region_var = warning.ranked.groupby("region")["value_at_risk"].sum()
    assert metrics["top_risk_region"] == region_var.idxmax()


# ------------------------------------------------------------------------------------------ the package underneath
def test_the_churn_package_imports_have_no_cycle():
    """features -> rates -> survival -> features was a cycle (survival owned top_levels, which rates needs);
    the pooling rule now lives in toolkit/design.py (shared with the CLV covariate models), which imports nothing
    of the churn package. Imports inside functions count."""
    import ast
    from pathlib import Path

    folder = Path(ch.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("toolkit.churn."):
                deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
        graph[path.stem] = deps - {path.stem}
    assert "survival" not in graph["rates"] and "design" not in graph
    design = Path(ch.__file__).parent.parent / "design.py"
    assert not [n for n in ast.walk(ast.parse(design.read_text()))
                if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("toolkit.churn")]

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in graph.get(node, ()):
            if nxt == start:
                return seen + (nxt,)
            if nxt not in seen:
                found = cycle_from(start, nxt, seen + (nxt,))
                if found:
                    return found
        return None

    cycles = [c for m in graph if (c := cycle_from(m, m, (m,)))]
    assert not cycles, " -> ".join(cycles[0])


# ------------------------------------------------------------------------------------------ separation
def test_complete_separation_withholds_the_odds_ratios_and_says_why():
    """Simulated: churn is exactly x > 0, so maximum likelihood has no finite solution (Albert & Anderson
    1984). The table of runaway coefficients (the data-shape matrix showed odds ratios of 1e300 and inf)
    is replaced by one sentence."""
    from toolkit.reports.section import Section

    rng = np.random.default_rng(5)
    x = rng.normal(size=300)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=300)})
    logit = ch.LogitChurn().fit(X, (x > 0).astype(int))
    assert logit.separated_ and not logit.odds_ratios_.loc["x", "estimable"]
    sec = Section()
    who_leaves.odds_ratios(sec, logit, churners=int((x > 0).sum()), customers=300)
    assert not sec.tables and not sec.figures
    assert "complete separation" in sec.text_all and f"{int((x > 0).sum())} churners among 300 customers" in sec.text_all


def test_a_level_that_always_churns_is_marked_not_estimable_and_the_rest_kept():
    """Simulated: log odds = -1 + 0.8 x, and every customer of plan 'gold' churns (quasi-complete
    separation). The gold term shows – and is named; x keeps an interval that covers exp(0.8)."""
    from toolkit.reports.section import Section

    rng = np.random.default_rng(11)
    n = 4000
    x = rng.normal(size=n)
    plan = rng.choice(["basic", "plus", "gold"], size=n, p=[0.6, 0.35, 0.05])
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.8 * x)))).astype(int)
    y[plan == "gold"] = 1
    logit = ch.LogitChurn(min_count=20).fit(pd.DataFrame({"x": x, "plan": plan}), y)
    table = logit.odds_ratios_
    assert not logit.separated_
    gold = [t for t in table.index if "gold" in t]
    assert gold and not table.loc[gold, "estimable"].any()
    assert table.loc["x", "estimable"] and table.loc["x", "lower"] < np.exp(0.8) < table.loc["x", "upper"]
    sec = Section()
    who_leaves.odds_ratios(sec, logit, churners=int(y.sum()), customers=n)
    shown = sec.tables[0].frame
    assert shown.loc[gold, "odds_ratio"].isna().all() and shown.loc["x", "odds_ratio"] == pytest.approx(np.exp(0.8), rel=0.15)
    assert "quasi-complete separation" in sec.text_all and "plan" in sec.sentences[0]
    assert sec.figures   # the estimable terms keep their forest plot
