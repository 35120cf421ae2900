"""The CLV report's sections (toolkit.reports.clv) on small companies written in the test.

Data: BG/NBD purchase logs simulated with known parameters (``simulate_transactions``) and a
customer table, marketing spend and a few hand-made rows (returns, a customer whose repeat
purchases are free, closed accounts), loaded through the real loader; customers who never drop
out (Poisson purchases) for flagged fits; small frames built here for the group, lapsed-customer
and ground-truth wording. Expected counts, shares and amounts are computed from the frames the
test wrote, not from the report.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toolkit.reports.section import NotComputed
import yaml

from toolkit.clv import customer_lifetime_value, simulate_transactions
from toolkit.clv.evaluation.attribute_effects import AttributeEffects
from toolkit.clv.models.base import fit_flag
from toolkit.clv.valuation.units import period_rate
from toolkit.data import InsufficientDataError, MissingTableError, load_dataset
from toolkit.reports import clv as report
from toolkit.reports.clv import model_choice as report_models
from toolkit.reports.clv import value as report_value
from toolkit.reports.clv.published import _covariate_table
from toolkit.reports.clv.wording import flag_sentences
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_pct
from toolkit.results import RunResults

OBS = pd.Timestamp("2023-12-31")
CAL_DEFAULT = OBS - pd.Timedelta(weeks=26)          # 26 weeks before the end (the span is two years)
TRUE = {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 2.5}
PSEUDONYM = re.compile(r"^P[0-9a-f]{12}$")


# ------------------------------------------------------------------------------------------ data
def write_dataset(folder: Path, transactions: pd.DataFrame | None, customers: pd.DataFrame | None = None,
                  marketing: pd.DataFrame | None = None) -> Path:
    """CSV files and a dataset spec (identity column mappings, EUR, as of 2023-12-31)."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, frame in (("transactions", transactions), ("customers", customers), ("marketing_spend", marketing)):
        if frame is not None:
            frame.to_csv(folder / f"{name}.csv", index=False)
            tables[name] = {"file": f"{name}.csv", "columns": {c: c for c in frame.columns}}
    spec = {"name": "tiny", "title": "Tiny company", "currency": "EUR", "as_of": str(OBS.date()), "base": str(folder),
            "tables": tables}
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    return folder / "spec.yaml"


def context(folder: Path, privacy: bool = True) -> ReportContext:
    ds = load_dataset(folder / "data" / "spec.yaml")
    return ReportContext("clv", ds, RunResults(folder / "run", notebook="clv", pseudonymise=privacy))


def simulated(n: int = 400, spend=(6.0, 4.0, 15.0), seed: int = 3) -> pd.DataFrame:
    return simulate_transactions(n, model="bgnbd", params=TRUE, spend=spend, start="2022-01-01",
                                 acquisition_days=300, end=str(OBS.date()), seed=seed)


def company_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """400 simulated customers plus customer 9999 (repeat purchases worth 0), a return-only day
    (customer 10) and a return on a purchase day (customer 11); regions North/South and a 3-customer
    Tiny, two customer types and channels, 10 closed accounts; marketing spend per region."""
    tx = simulated()
    c11 = tx.loc[tx["customer_id"] == 11, "date"].min()
    extra = pd.DataFrame({"customer_id": [10, 11, 9999, 9999, 9999],
                          "date": [pd.Timestamp("2023-03-03"), c11, pd.Timestamp("2022-05-01"),
                                   pd.Timestamp("2022-09-01"), pd.Timestamp("2023-02-01")],
                          "amount": [-25.0, -5.0, 20.0, 0.0, 0.0]})
    tx = pd.concat([tx, extra], ignore_index=True)
    assert not ((tx["customer_id"] == 10) & (tx["date"] == pd.Timestamp("2023-03-03")) & (tx["amount"] > 0)).any()
    ids = sorted(tx["customer_id"].unique())
    first = tx.groupby("customer_id")["date"].min()
    customers = pd.DataFrame({
        "customer_id": ids, "region": ["Tiny" if i < 3 else ("North" if i % 2 else "South") for i in ids],
        "customer_type": ["enterprise" if i % 3 == 0 else "individual" for i in ids],
        "acquisition_channel": ["ads" if i % 4 else "referral" for i in ids],
        "acquisition_date": first.reindex(ids).dt.strftime("%Y-%m-%d").to_numpy(),
        "churn_date": ["2023-06-30" if i % 40 == 5 else None for i in ids]})
    marketing = pd.DataFrame({"period": ["2022-01"] * 3, "region": ["North", "South", "Tiny"], "channel": ["ads"] * 3,
                              "spend": [2000.0, 9000.0, 50.0]})
    return tx, customers, marketing


def run_chain(rep: ReportContext, **params) -> dict:
    """Every section in the notebook's order, with the notebook's defaults."""
    s = {"data": report.data_used(rep, params.get("calibration_end"), params.get("observation_end"))}
    s["fits"] = report.models(rep, s["data"].value)
    s["holdout"] = report.tracking(rep, s["data"].value, s["fits"].value)
    d, f, h = s["data"].value, s["fits"].value, s["holdout"].value
    s["by_frequency"] = report.holdout_by_frequency(rep, d, f)
    s["scorecard"] = report.scorecard(rep, d, f, h)
    s["final"] = report.chosen_model(rep, d, f, h)
    s["path"] = report.alive_path(rep, d, s["final"].value)
    s["spend"] = report.spend(rep, d)
    s["independence"] = report.spend_independence(rep, d, f, h)
    s["units"] = report.units_and_discounting(rep, d, 12, 0.10)
    s["clv"] = report.lifetime_value(rep, d, s["final"].value, s["spend"].value, s["independence"].value)
    s["intervals"] = report.intervals(rep, d, s["final"].value, s["spend"].value, s["clv"].value)
    s["flows"] = report.cash_flows(rep, d, s["final"].value, s["clv"].value)
    s["groups"] = report.by_region_and_type(rep, d, s["clv"].value, 30)
    s["drivers"] = report.drivers(rep, d)
    s["lapsed"] = report.lapsed_customers(rep, d, s["clv"].value)
    s["truth"] = report.ground_truth(rep, d)
    s["published"] = report.published(rep, d, f, h, s["spend"].value, s["independence"].value, s["clv"].value,
                                      s["intervals"].value, s["flows"].value, s["groups"].value, s["drivers"].value,
                                      s["truth"].value)
    return s


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    folder = tmp_path_factory.mktemp("company")
    tx, customers, marketing = company_frames()
    write_dataset(folder / "data", tx, customers, marketing)
    rep = context(folder)
    return SimpleNamespace(rep=rep, tx=tx, customers=customers, marketing=marketing, s=run_chain(rep))


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """Transactions only (no customer table, no marketing spend), 250 customers."""
    folder = tmp_path_factory.mktemp("plain")
    tx = simulated(250, seed=5)
    write_dataset(folder / "data", tx)
    rep = context(folder)
    return SimpleNamespace(rep=rep, tx=tx, folder=folder, s=run_chain(rep))


def poisson_log(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Customers who never drop out: Poisson purchases at a gamma-distributed personal rate."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    rows = []
    for i in range(n):
        first = start + pd.Timedelta(days=int(rng.integers(0, 200)))
        days = (OBS - first).days
        k = rng.poisson(rng.gamma(1.5, 1 / 6.0) / 7 * days)
        for off in [0, *np.sort(rng.integers(1, days + 1, k))]:
            rows.append((i, first + pd.Timedelta(days=int(off)), float(rng.gamma(6, 3))))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


@pytest.fixture(scope="module")
def steady(tmp_path_factory):
    """No customer drops out: fits at the no-dropout boundary are flagged."""
    folder = tmp_path_factory.mktemp("steady")
    write_dataset(folder / "data", poisson_log())
    rep = context(folder)
    s = {"data": report.data_used(rep)}
    s["fits"] = report.models(rep, s["data"].value)
    s["holdout"] = report.tracking(rep, s["data"].value, s["fits"].value)
    s["scorecard"] = report.scorecard(rep, s["data"].value, s["fits"].value, s["holdout"].value)
    s["final"] = report.chosen_model(rep, s["data"].value, s["fits"].value, s["holdout"].value)
    s["spend"] = report.spend(rep, s["data"].value)
    s["independence"] = report.spend_independence(rep, s["data"].value, s["fits"].value, s["holdout"].value)
    s["clv"] = report.lifetime_value(rep, s["data"].value, s["final"].value, s["spend"].value, s["independence"].value)
    s["intervals"] = report.intervals(rep, s["data"].value, s["final"].value, s["spend"].value, s["clv"].value)
    return SimpleNamespace(rep=rep, s=s)


def kept_rows(tx: pd.DataFrame) -> pd.DataFrame:
    """The rows a purchase occasion keeps: customer-days with only negative amounts are left out."""
    day_max = tx.groupby(["customer_id", "date"])["amount"].transform("max")
    return tx.loc[day_max >= 0]


def occasions(tx: pd.DataFrame) -> pd.DataFrame:
    return kept_rows(tx)[["customer_id", "date"]].drop_duplicates()


# ------------------------------------------------------------------------------------- data used
def test_data_used_states_period_rows_occasions_and_returns(company):
    tx, sec = company.tx, company.s["data"]
    kept, occ = kept_rows(tx), occasions(tx)
    first = occ.groupby("customer_id")["date"].min()
    assert sec.sentences[0] == (
        f"Transactions from **{kept['date'].min().date()}** to **{OBS.date()}**: {len(kept):,} rows of "
        f"{kept['customer_id'].nunique():,} customers, {len(occ):,} purchase occasions (an occasion is a customer-day: "
        "several invoices on one day count once, their amounts are added). Time is measured in **weeks**.")
    assert sec.sentences[1] == (
        f"Calibration period: up to **{CAL_DEFAULT.date()}**; holdout: the following **26.0 weeks** to {OBS.date()} "
        f"(default: 26 weeks, at most a third of the span). {int((first <= CAL_DEFAULT).sum()):,} customers made their "
        "first purchase in the calibration period; they are the ones the models are tested on.")
    share = 25.0 / kept["amount"].sum()
    assert sec.sentences[2].startswith(
        f"Returns: 2 rows have a negative amount. 1 customer-days held only returns (25 EUR, {fmt_pct(share)} of the "
        "net value of the purchase days)")
    # the load report's rows less customer 10's return-only day; every listed customer bought something
    assert sec.sentences[-1] == (f"Against the load report: of its {len(tx):,} transaction rows (the data-quality "
                                 f"report's count), {len(tx) - len(kept):,} left out as above, leaving the "
                                 f"{len(kept):,} rows used here.")
    data = sec.value
    assert data.currency == "EUR" and data.unit == "W" and data.method == "horizon"
    assert data.calibration_end == CAL_DEFAULT and data.observation_end == OBS
    assert len(data.rfm) == kept["customer_id"].nunique() and (data.rfm["frequency"] + 1).sum() == len(occ)


def test_data_used_with_a_given_calibration_end_no_returns_outliers_and_rows_without_id(plain):
    sec = report.data_used(plain.rep, calibration_end="2023-06-30")
    assert "up to **2023-06-30**" in sec.sentences[1] and "(default" not in sec.sentences[1]
    assert sec.sentences[2] == "No row has a negative amount: there are no returns to account for."
    assert len(sec.sentences) == 3
    ds = load_dataset(plain.folder / "data" / "spec.yaml")
    tx = ds.transactions
    flagged = np.zeros(len(tx), bool)
    flagged[[3, 7]] = True
    no_id = tx.iloc[:1].assign(customer_id=None, is_outlier=False)
    ds.transactions = pd.concat([tx.assign(is_outlier=flagged), no_id], ignore_index=True)
    rep = ReportContext("clv", ds, plain.rep.out)
    sec = report.data_used(rep, calibration_end="2023-06-30")
    assert "- 1 rows without a customer id or date were left out" in sec.sentences
    assert sec.sentences[-2] == ("The loader flagged 2 unusually large rows and kept them; they enter the spend model "
                                 "as recorded.")
    assert sec.sentences[-1] == (f"Against the load report: of its {len(tx) + 1:,} transaction rows (the data-quality "
                                 f"report's count), 1 left out as above, leaving the {len(tx):,} rows used here.")


def test_data_used_reconciles_rows_and_customers_with_the_load_report(tmp_path):
    """Rows after the observation end and listed customers who never bought are counted in words."""
    tx = simulated(n=150, seed=8)
    ids = sorted(tx["customer_id"].unique())
    customers = pd.DataFrame({"customer_id": ids + [90001, 90002, 90003], "region": "North"})
    write_dataset(tmp_path / "c" / "data", tx, customers)
    sec = report.data_used(context(tmp_path / "c"), observation_end="2023-10-31")
    end = pd.Timestamp("2023-10-31")
    used = tx.loc[tx["date"] <= end]
    without = len(customers) - used["customer_id"].nunique()
    assert without >= 3
    assert sec.sentences[-1] == (
        f"Against the load report: of its {len(tx):,} transaction rows (the data-quality report's count), "
        f"{len(tx) - len(used):,} dated after the observation end 2023-10-31, leaving the {len(used):,} rows used "
        f"here. {without:,} of the customer table's {len(customers):,} customers have no purchase up to 2023-10-31 "
        "and get no CLV here.")


def test_data_used_refuses_what_it_cannot_use(plain, tmp_path):
    with pytest.raises(ValueError, match="clv_method must be 'horizon' or 'dert', not 'monthly'"):
        report.data_used(plain.rep, clv_method="monthly")
    with pytest.raises(ValueError, match="calibration_end 2024-03-01 must lie between the first transaction"):
        report.data_used(plain.rep, calibration_end="2024-03-01")
    counts = plain.tx.drop(columns="amount").assign(quantity=1)
    write_dataset(tmp_path / "counts" / "data", counts)
    with pytest.raises(MissingTableError, match=r"needs amounts \(money\)"):
        report.data_used(context(tmp_path / "counts"))
    write_dataset(tmp_path / "people" / "data", None, pd.DataFrame({"customer_id": ["a", "b"], "region": ["N", "S"]}))
    with pytest.raises(MissingTableError, match=r"needs the table\(s\) transactions"):
        report.data_used(context(tmp_path / "people"))


# ---------------------------------------------------------------------------------------- models
def test_models_show_estimates_comparison_and_the_bic_ranking(company):
    sec = company.s["fits"]
    comp = sec.value.comparison
    assert set(sec.value.models) == {"BG/NBD", "Pareto/NBD", "MBG/NBD", "GGompertz/NBD"} and sec.value.failed == {}
    assert [t.caption for t in sec.tables] == ["Parameter estimates on the calibration period",
                                               "Model comparison on the calibration data", "How each maximum was found"]
    # a note only on flagged fits (here GGompertz/NBD at its Pareto/NBD limit: BG/NBD data have no
    # ageing of the dropout rate), from each model's own fit_flag
    notes = sec.tables[0].frame["interval_note"].groupby(level="model").first()
    assert notes.to_dict() == {n: fit_flag(m)[1] for n, m in sec.value.models.items()}
    assert notes["BG/NBD"] == notes["Pareto/NBD"] == notes["MBG/NBD"] == "" and notes["GGompertz/NBD"]
    best = comp.loc[comp["bic"].idxmin(), "model"]
    assert sec.sentences[:-1] == [f"**Flagged fit:** {t}" for t in flag_sentences(sec.value.models)]
    assert len(sec.sentences) == 2 and sec.sentences[-1].startswith(
        f"By BIC the calibration data are described best by {best} (log-likelihood ")
    assert (sec.tables[2].frame["best_start"].str.match(r"^\d+ of \d+$")).all()


def test_models_name_each_failure_and_stop_when_nothing_fits(company, monkeypatch, tmp_path):
    data, fits = company.s["data"].value, company.s["fits"].value
    bg = fits.models["BG/NBD"]
    monkeypatch.setattr(report_models, "fit_models", lambda rfm, names=None: ({"BG/NBD": bg}, {"Pareto/NBD": "no max"}))
    sec = report.models(company.rep, data)
    assert sec.sentences[0] == "**Pareto/NBD could not be fitted**: no max" and list(sec.value.models) == ["BG/NBD"]
    monkeypatch.setattr(report_models, "fit_models", lambda rfm, names=None: ({}, {"BG/NBD": "a", "MBG/NBD": "b"}))
    # a data limit: the section says it in one sentence (toolkit.reports.section.degrading), the
    # sections after it say what they miss, the report goes on
    none = report.models(company.rep, data)
    assert isinstance(none.value, NotComputed)
    assert "no transaction model could be fitted to these data: a; b" in none.sentences[0]
    assert report.tracking(company.rep, data, none.value).sentences[0].startswith("Not shown:")
    with pytest.raises(InsufficientDataError, match="no transaction model could be fitted to these data: a; b"):
        report.models.__wrapped__(company.rep, data)
    monkeypatch.undo()
    once = simulated(150).drop_duplicates("customer_id")                   # every customer buys once
    write_dataset(tmp_path / "once" / "data", once)
    rep = context(tmp_path / "once")
    assert "not one customer made a repeat purchase" in report.models(rep, report.data_used(rep).value).sentences[0]


def test_flagged_fits_are_said_and_their_intervals_withheld(steady):
    s = steady.s
    comp = s["fits"].value.comparison
    flagged = comp.loc[comp["fit_flag"] != "", "model"].tolist()
    assert flagged, "the no-dropout data should put a fit at the boundary"
    flags = [t for t in s["fits"].sentences if t.startswith("**Flagged fit:**")]
    assert [t.split()[2] for t in flags] == flagged
    assert "interval_note" in s["fits"].tables[0].frame.columns
    card = s["holdout"].value.card
    assert s["scorecard"].sentences[0].startswith("**The data do not separate the models.**") == bool(card.caveat)
    final = s["final"].value
    assert s["final"].sentences[0].startswith(f"**Flagged fit:** The {final.name} fit on all data is flagged (")
    assert s["final"].sentences[1].startswith("Mean P(alive) across customers is 100.0%, but only because the fit is "
                                              "at the no-dropout boundary")
    assert s["intervals"].value is None and not s["intervals"].tables
    assert s["intervals"].sentences == [s["intervals"].sentences[0]]
    assert s["intervals"].sentences[0].startswith(f"**Intervals withheld.** No intervals are given for the values: the "
                                                  f"{final.name} fit is at the no-dropout boundary")


# --------------------------------------------------------------------------------------- holdout
def test_tracking_states_the_holdout_purchases_against_each_model(company):
    occ = occasions(company.tx)
    first = occ.groupby("customer_id")["date"].transform("min")
    cohort = first <= CAL_DEFAULT
    actual = int((cohort & (occ["date"] > CAL_DEFAULT) & (occ["date"] <= OBS)).sum())
    sec = company.s["holdout"]
    text = sec.sentences[0]
    assert text.startswith(f"In the holdout the cohort made **{actual:,}** repeat purchases; the models expected ")
    for m in ("BG/NBD", "Pareto/NBD", "MBG/NBD"):
        assert re.search(re.escape(m) + r" [\d,]+ \([+-]\d+\.\d%\)", text), m
    assert len(sec.figures) == 1 and sec.value.chosen in {"BG/NBD", "Pareto/NBD", "MBG/NBD"}


def test_tracking_without_holdout_purchases_gives_no_percentages(plain):
    """Observation end half a year after the last purchase: nobody buys in the holdout."""
    data = report.data_used(plain.rep, calibration_end=str(OBS.date()), observation_end="2024-06-30").value
    fits = report.models(plain.rep, data).value
    text = report.tracking(plain.rep, data, fits).sentences[0]
    assert text.startswith("In the holdout the cohort made **0** repeat purchases; the models expected BG/NBD ")
    assert "%" not in text


def test_holdout_by_frequency_and_scorecard(company):
    s = company.s
    occ = occasions(company.tx)
    first = occ.groupby("customer_id")["date"].min()
    cohort = first.index[first <= CAL_DEFAULT]
    bf = s["by_frequency"]
    assert bf.tables[0].frame["customers"].sum() == len(cohort) and list(bf.value.index)[-1] == "7+"
    hold = occ.loc[(occ["date"] > CAL_DEFAULT) & occ["customer_id"].isin(cohort), "customer_id"].unique()
    sec, chosen = s["scorecard"], s["holdout"].value.chosen
    assert [list(t.frame.columns) for t in sec.tables[:2]] == [report_models.ERROR_COLUMNS, report_models.SCORE_COLUMNS]
    ranks = sec.tables[2].frame
    assert set(ranks.columns) == {"BG/NBD", "Pareto/NBD", "MBG/NBD", "GGompertz/NBD"} and ranks.index[-1] == "mean_rank"
    assert sec.sentences[-1].startswith(f"Customers active in the holdout: {fmt_pct(len(hold) / len(cohort))}; ")
    assert sec.sentences[-1].endswith(f"**{chosen}** is used for the CLV below.")
    assert len(sec.figures) == 3 and not sec.sentences[0].startswith("**The data do not separate")


def test_chosen_model_on_all_data_and_a_refit_without_maximum(company, monkeypatch):
    s = company.s
    data, fits, hold = s["data"].value, s["fits"].value, s["holdout"].value
    sec = s["final"]
    assert sec.tables[0].caption == f"{hold.chosen} fitted on all data to {OBS.date()}" and len(sec.figures) == 1
    pa = np.asarray(sec.value.model.prob_alive(data.rfm), float)
    assert sec.sentences[-1] == (f"Mean P(alive) across customers: {100 * pa.mean():.1f}%; {(pa < 0.5).sum():,} "
                                 f"customers ({100 * (pa < 0.5).mean():.1f}%) are more likely gone than active "
                                 "(P(alive) below 0.5).")
    monkeypatch.setattr(report_models, "fit_models", lambda rfm, names=None: ({}, {names[0]: "flat (test)"}))
    sec = report.chosen_model(company.rep, data, fits, hold)
    assert sec.sentences[0] == (f"Refitting {hold.chosen} on all data found no maximum (flat (test)); the calibration "
                                "fit is used.")
    assert sec.value.model is fits.models[hold.chosen]


def test_alive_path_of_a_frequent_buyer_ends_at_the_models_prob_alive(company):
    """The rule (report_models.path_customer) recomputed from the summary, and the path against the
    model: its last point is the customer's P(alive) from the summary, with one jump per purchase day
    counted from the transactions the test wrote."""
    s = company.s
    data, final, sec = s["data"].value, s["final"].value, s["path"]
    rfm = data.rfm
    pa = pd.Series(final.model.prob_alive(rfm), index=rfm.index)
    repeat = rfm.loc[rfm["frequency"] > 0, "frequency"].sort_values().to_numpy()
    cut = repeat[int(np.floor(0.9 * (len(repeat) - 1)))]               # the lower 90th percentile
    pool = pa[rfm["frequency"] >= cut].sort_index()
    who = pool.index[np.argmin(np.abs(pool.to_numpy() - 0.5))]
    assert report_models.path_customer(rfm, pa) == who
    path = sec.value
    assert path["prob_alive"].iloc[-1] == pytest.approx(pa[who], rel=1e-9)
    tx = company.tx
    mine = (tx["customer_id"].astype(str) == str(who)) & (tx["amount"] > 0) & (tx["date"] <= OBS)
    days = tx.loc[mine, "date"].dt.normalize().unique()
    assert len(path.attrs["purchase_times"]) == len(days) == rfm.loc[who, "frequency"] + 1
    assert len(sec.figures) == 1 and PSEUDONYM.match(sec.sentences[0].split("**")[1])
    assert str(who) not in sec.sentences[0].split("**")[1]
    no_repeat = rfm.assign(frequency=0.0)
    assert report_models.path_customer(no_repeat, pa) is None


# ------------------------------------------------------------------------------------------ spend
def test_spend_model_mean_and_the_customers_without_a_positive_spend(company):
    sec = company.s["spend"]
    gg = sec.value.model
    p, q, g = (float(gg.params_[k]) for k in ("p", "q", "gamma"))
    occ = occasions(company.tx)
    repeat = int((occ.groupby("customer_id").size() > 1).sum())
    assert q > 1
    assert sec.sentences[0] == (f"Fitted on {repeat - 1:,} repeat customers. Population mean spend per transaction: "
                                f"{p * g / (q - 1):,.2f} EUR.")
    assert sec.sentences[1].startswith("1 repeat customers had a non-positive mean spend (returns exceeding purchases)")
    assert len(sec.sentences) == 2


def test_spend_with_an_infinite_mean_values_one_time_buyers_by_their_first_purchase(tmp_path, monkeypatch):
    tx = simulated(400, spend=(2.0, 0.8, 15.0))
    write_dataset(tmp_path / "data", tx)
    rep = context(tmp_path)
    data = report.data_used(rep).value
    sec = report.spend(rep, data)
    once = int((occasions(tx).groupby("customer_id").size() == 1).sum())
    assert float(sec.value.model.params_["q"]) <= 1
    assert sec.sentences[0].endswith("Population mean spend per transaction: infinite (q at or below 1: spend differs "
                                     "enormously between customers).")
    assert sec.sentences[1] == ("**Warning:** with q at or below 1 the model has no finite mean spend for customers "
                                f"without repeat purchases; {once} such customers are valued by their first purchase, "
                                "taken as one transaction of the spend process.")
    notes = {"nonpositive": 0, "fallback": 3, "fallback_basis": "observed mean"}
    monkeypatch.setattr(report_value, "expected_spend", lambda gg, rfm, first=None: (None, notes))
    assert report.spend(rep, data).sentences[-1].endswith(
        "3 such customers are valued at the observed mean spend per repeat transaction.")


def test_spend_independence_verdict_tables_and_the_revenue_gap(company, monkeypatch):
    s = company.s
    sec = s["independence"]
    assert not sec.value.dependent and sec.sentences[0].startswith("No evidence that average spend depends on purchase")
    spend_t, revenue_t = sec.tables[1].frame, sec.tables[2].frame
    assert list(spend_t.columns) == ["customers", "observed_spend", "model_spend", "model_vs_observed", "holdout_spend"]
    assert list(revenue_t.columns) == ["customers", "predicted_revenue", "actual_revenue", "predicted_vs_actual"]
    gap = revenue_t["predicted_vs_actual"].dropna()
    assert sec.sentences[-1] == (f"On the holdout, forecast revenue per customer is off by between {gap.min():+.0%} and "
                                 f"{gap.max():+.0%} across frequency bands (largest gap in band {gap.abs().idxmax()}).")
    from toolkit.clv.evaluation import spend as csp

    real = csp.spend_by_frequency
    monkeypatch.setattr(csp, "spend_by_frequency", lambda *a, **k: real(*a, **k).assign(actual_revenue=0.0,
                                                                                         predicted_vs_actual=np.inf))
    sec = report.spend_independence(company.rep, s["data"].value, s["fits"].value, s["holdout"].value)
    assert sec.sentences[-1] == ("No frequency band brought revenue in the holdout, so the revenue forecast cannot be "
                                 "checked there.")
    assert not np.isinf(sec.tables[2].frame["predicted_vs_actual"]).any()


@pytest.fixture(scope="module")
def spenders(tmp_path_factory):
    """Spend grows with purchase frequency: every amount x the customer's number of purchase days."""
    folder = tmp_path_factory.mktemp("spenders")
    tx = simulated(400, seed=8)
    tx["amount"] *= tx.groupby("customer_id")["date"].transform("nunique")
    write_dataset(folder / "data", tx)
    rep = context(folder)
    data = report.data_used(rep).value
    fits = report.models(rep, data).value
    hold = report.tracking(rep, data, fits).value
    final = report.chosen_model(rep, data, fits, hold).value
    spend = report.spend(rep, data).value
    independence = report.spend_independence(rep, data, fits, hold)
    return SimpleNamespace(rep=rep, independence=independence,
                           clv=report.lifetime_value(rep, data, final, spend, independence.value))


def test_spend_that_depends_on_frequency_is_a_warning_with_its_effect_on_clv(spenders):
    assert spenders.independence.value.dependent
    assert spenders.independence.sentences[0].startswith("**Warning:** Average spend is not independent of purchase "
                                                         "frequency: frequent buyers spend more per transaction")
    sec = spenders.clv
    effect = [t for t in sec.sentences if t.startswith("**Effect on CLV:**")]
    assert len(effect) == 1 and effect[0].startswith("**Effect on CLV:** spend rises with frequency in these data")
    band = sec.tables[0].frame
    total = band["total_clv_model"].sum() / band["total_clv_observed_spend"].sum() - 1
    assert f"and by {total:+.1%} in total" in effect[0] and len(sec.figures) == 3


# -------------------------------------------------------------------------------------- discounting
def test_units_and_discounting_for_both_methods(company):
    data = company.s["data"].value
    sec = company.s["units"]
    rates = sec.tables[0].frame
    assert rates.loc["month", "discount_per_period"] == pytest.approx(1.1 ** (1 / 12) - 1, rel=1e-12)
    assert rates.loc["week", "continuous_rate"] == pytest.approx(math.log(1.1) * 7 / 365.25, rel=1e-12)
    assert sec.sentences == [f"Models in **weeks**; CLV covers the next 12 months, each month&#x27;s purchases "
                             f"discounted at its end at {1.1 ** (1 / 12) - 1:.3%}."]
    dert = report.units_and_discounting(company.rep, dataclasses.replace(data, method="dert"), 12, 0.10)
    assert dert.sentences == [f"Models in **weeks**; CLV covers all future purchases (DERT), discounted continuously "
                              f"at {math.log(1.1) * 7 / 365.25:.5f} per week."]


# ---------------------------------------------------------------------------------------------- CLV
def _gini(v: np.ndarray) -> float:
    """Mean absolute difference over twice the mean."""
    return float(np.abs(v[:, None] - v[None, :]).mean() / (2 * v.mean()))


def test_lifetime_value_against_the_library_clv_and_its_sentences(company):
    s, tx = company.s, company.tx
    data, final, spend = s["data"].value, s["final"].value, s["spend"].value
    sec, value = s["clv"], s["clv"].value
    kept = kept_rows(tx)
    returns_factor = 1 - 25.0 / kept["amount"].sum()
    closed = set(company.customers.loc[company.customers["churn_date"].notna(), "customer_id"].astype(str))
    lib = customer_lifetime_value(final.model, spend.model, data.rfm, horizon=12, discount_rate=period_rate(0.10, "M"),
                                  margin=0.3, time_unit="M")
    expected = pd.Series(np.where(data.rfm.index.isin(closed), 0.0, returns_factor * lib.to_numpy()), data.rfm.index)
    regular = data.rfm.index != "9999"                                 # its repeat purchases are worth 0
    np.testing.assert_allclose(value.table["clv"][regular], expected[regular], rtol=1e-9)
    clv = value.table["clv"].to_numpy()
    top = np.sort(clv)[::-1][: math.ceil(0.2 * len(clv))].sum() / clv.sum()
    assert sec.sentences[0] == "Margin: one margin of 30% of revenue for every customer."
    assert sec.sentences[1] == (
        f"Over the next **12 months** (discount 10% a year; mean margin 30.0%) the {len(clv):,} customers are worth "
        f"**{clv.sum():,.0f} EUR** in total: mean {clv.mean():,.2f} EUR, median {np.median(clv):,.2f} EUR per customer. "
        f"The top 20% of customers hold **{100 * top:.1f}%** of it (Gini {_gini(clv):.2f}).")
    assert sec.sentences[2] == f"{len(closed)} customers had closed their account by {OBS.date()} and are valued at 0."
    assert len(sec.figures) == 2 and not sec.tables                      # spend independent: no band table


def test_lifetime_value_by_dert_and_when_every_account_is_closed(company):
    s = company.s
    data, final, spend, ind = s["data"].value, s["final"].value, s["spend"].value, s["independence"].value
    dert = report.lifetime_value(company.rep, dataclasses.replace(data, method="dert"), final, spend, ind)
    assert dert.sentences[1].startswith("Over **all future purchases (DERT)** (discount 10% a year;")
    closed = company.rep.ds.customers.assign(churn_date=pd.Timestamp("2023-01-31"))
    gone = dataclasses.replace(data, ds=SimpleNamespace(customers=closed))
    sec = report.lifetime_value(company.rep, gone, final, spend, ind)
    assert sec.sentences[1].endswith("are worth **0 EUR** in total: mean 0.00 EUR, median 0.00 EUR per customer. "
                                     "With no value to share out there is no concentration to report.")
    assert not any(re.search(r"\bnan\b", t) for t in sec.sentences)


# ---------------------------------------------------------------------------------------- intervals
def test_intervals_for_the_totals_and_the_most_valuable_customers(company):
    s = company.s
    sec, total = s["intervals"], s["clv"].value.table["clv"].sum()
    closed = int(company.customers["churn_date"].notna().sum())
    assert [t.caption.split(" (")[0] for t in sec.tables] == [
        "90% intervals for the population totals", "The 15 customers with the highest CLV, with 90% intervals",
        "The same customers: expected purchases and P(alive), with 90% intervals"]
    top, more = sec.tables[1].frame, sec.tables[2].frame
    assert len(top) == 15 and top["customer_id"].map(PSEUDONYM.match).all()
    assert list(top["customer_id"]) == list(more["customer_id"]) and top["clv"].is_monotonic_decreasing
    assert top["clv"].iloc[0] == pytest.approx(s["clv"].value.table["clv"].max())
    assert f"total CLV {total:,.0f} EUR (" in sec.sentences[0]
    assert f"- Note: {closed} customers with a closed account count as 0 in every draw." in sec.sentences
    assert sec.sentences[-1].startswith("Across customers with a positive CLV the 90% interval is ")
    assert len(sec.figures) == 1


def test_intervals_that_cannot_be_computed_and_dert(company, monkeypatch):
    s = company.s
    args = (s["data"].value, s["final"].value, s["spend"].value)
    dert = report.intervals(company.rep, *args, dataclasses.replace(s["clv"].value, method="dert"))
    assert not dert.value.with_clv and len(dert.tables) == 1
    assert any(t.startswith("- Note: CLV is computed over all future purchases (DERT) here") for t in dert.sentences)

    def fail(*a, **k):
        raise ValueError("singular covariance (test)")

    monkeypatch.setattr(report_value, "value_intervals", fail)
    sec = report.intervals(company.rep, *args, s["clv"].value)
    assert sec.sentences == [f"No intervals could be computed for {s['final'].value.name}: singular covariance (test)."]
    assert sec.value is None and not sec.tables


# --------------------------------------------------------------------------------------- cash flows
def test_cash_flows_by_customer_type_region_and_value_tier(company, plain):
    s = company.s
    sec = s["flows"]
    assert sec.value.segment_name == "customer type" and set(sec.value.flows["segment"]) == {"enterprise", "individual"}
    assert sec.tables[0].caption == "Cash flows over 12 months by customer type"
    assert sec.tables[0].frame["discounted_margin"].sum() == pytest.approx(s["clv"].value.table["clv"].sum(), rel=1e-9)
    assert "customers" not in sec.tables[1].frame.columns and set(sec.tables[1].frame.index.get_level_values(1)) == {
        1, 2, 3, 12}
    args = (company.rep, s["data"].value, s["final"].value, s["clv"].value)
    assert set(report.cash_flows(*args, segment_by="region").value.segments) == {"North", "South", "Tiny"}
    with pytest.raises(ValueError, match="segment_by 'shoe_size' is not a column of the customer table"):
        report.cash_flows(*args, segment_by="shoe_size")
    assert plain.s["flows"].value.segment_name == "value tier (top 20% by CLV high, next 30% mid)"
    dert = report.cash_flows(company.rep, s["data"].value, s["final"].value,
                             dataclasses.replace(s["clv"].value, method="dert"))
    assert dert.value.flows["period"].max() == 60
    assert dert.sentences == ["The cash-flow table covers the first 60 months; DERT adds every month after that."]


# ------------------------------------------------------------------------------------------- groups
def _group_case(company, regions=True, marketing=True, types=("a", "b")):
    """40 North customers worth 300, 35 South worth 100, 3 Tiny worth 5; spend 6,000 / 4,375 / 1,500."""
    sizes, means = {"North": 40, "South": 35, "Tiny": 3}, {"North": 300.0, "South": 100.0, "Tiny": 5.0}
    region = [g for g, n in sizes.items() for _ in range(n)]
    ids = [f"c{i}" for i in range(len(region))]
    table = pd.DataFrame({"clv": [means[g] for g in region], "prob_alive": 0.5}, index=pd.Index(ids, name="customer_id"))
    customers = pd.DataFrame({"customer_id": ids, "acquisition_date": "2022-03-01",
                              "customer_type": [types[i % len(types)] for i in range(len(ids))]})
    if regions:
        customers["region"] = region
    spend = pd.DataFrame({"region": ["North", "South", "Tiny"], "spend": [6000.0, 4375.0, 1500.0]})
    ds = SimpleNamespace(customers=customers, marketing_spend=spend if marketing else None, has=lambda *t: True)
    data = dataclasses.replace(company.s["data"].value, ds=ds)
    value = dataclasses.replace(company.s["clv"].value, table=table)
    return data, value, table, customers


def test_clv_by_region_with_cac_and_by_customer_type(company):
    data, value, table, customers = _group_case(company)
    sec = report.by_region_and_type(company.rep, data, value, 30)
    assert sec.sentences[0] == ("Mean CLV is highest in North (300 EUR) and lowest in South (100 EUR) among the regions "
                                "with at least 30 customers. 1 group has fewer than 30 customers (Tiny (3)): shown as "
                                "too few customers and not ranked.")
    assert sec.sentences[1] == ("CAC is the acquisition spend per customer won over the whole period. Mean 12-month CLV "
                                "/ CAC ranges from 0.80 to 2.00; in South the next 12 months of margin do not pay back "
                                "what winning a customer costs (regions with fewer than 30 customers left out: Tiny).")
    by_type = table.groupby(customers.set_index("customer_id")["customer_type"])["clv"].agg(["sum", "mean"])
    top = by_type["sum"].idxmax()
    assert sec.sentences[2] == (f"{top} customers hold {100 * by_type.loc[top, 'sum'] / table['clv'].sum():.1f}% of "
                                f"total CLV with a mean of {by_type.loc[top, 'mean']:,.0f} EUR.")
    regions = sec.value.by_region.set_index("region")
    assert regions.loc["North", "cac"] == 150.0 and regions.loc["Tiny", "note"] == "too few customers"
    assert [t.caption for t in sec.tables] == ["Predicted CLV by region", "Predicted CLV by customer type"]
    assert len(sec.figures) == 1


def test_clv_by_region_without_marketing_spend_regions_or_types(company):
    data, value, _, _ = _group_case(company, marketing=False, types=("a",))
    sec = report.by_region_and_type(company.rep, data, value, 30)
    assert sec.sentences[1] == "The dataset has no marketing spend, so there is no CLV / CAC."
    assert sec.value.by_type is None and len(sec.tables) == 1
    assert sec.value.by_region["cac"].isna().all()                      # the same columns either way
    data, value, table, _ = _group_case(company, regions=False)
    sec = report.by_region_and_type(company.rep, data, value, 30)
    assert sec.sentences[0] == ("The dataset has no regions (no customer table with a region), so CLV is not broken "
                                "down by region.")
    assert sec.value.by_region is None and not sec.figures
    worthless = dataclasses.replace(value, table=table.assign(clv=0.0))   # every account closed: no share to name
    assert report.by_region_and_type(company.rep, data, worthless, 30).sentences[1] == (
        "No customer type holds any CLV: the total is 0 EUR.")


# ------------------------------------------------------------------------------------------ drivers
def test_reference_levels_name_each_process_when_they_differ():
    effects = pd.DataFrame({"process": ["purchase", "dropout", "spend", "purchase", "spend"],
                            "covariate": ["region", "region", "region", "acquisition_channel", "acquisition_channel"],
                            "reference": ["East", "East", "North", "ads", "ads"]})
    assert report_value.reference_levels(effects) == ("region East (purchase, dropout; North for spend), acquisition "
                                                      "channel ads")
    assert report_value.reference_levels(None) == ""


def test_drivers_list_the_effects_as_associations(company, plain):
    sec = company.s["drivers"]
    effects = sec.value.effects
    refs = report_value.reference_levels(effects)
    assert sec.sentences[0] == (f"Attributes used: region, customer type, acquisition channel. Reference levels: "
                                f"{refs}. Fitted on the {sec.value.n_used:,} customers of the calibration period "
                                "(every customer has all attributes).")
    listed = [t for t in sec.sentences if t.startswith("- Customers whose")]
    assert len(listed) == len(effects) and sec.sentences[-1].startswith("These are **associations given the model**")
    assert sec.tables[0].frame.index.names == ["process", "covariate", "level"]
    assert plain.s["drivers"].sentences == [
        "This section does not apply to this dataset: it has no customer table with a region, customer type or "
        "acquisition channel of at least two levels."]


def test_drivers_say_which_fits_failed_or_went_to_a_limit(company, monkeypatch):
    made = AttributeEffects(True, ["region"], 10, 2, None, {"BG/NBD": "no maximum (test)"},
                            {"Gamma-Gamma": "q at a limit (test)"})
    monkeypatch.setattr(report_value, "attribute_effects", lambda *a, **k: made)
    sec = report.drivers(company.rep, company.s["data"].value)
    assert sec.sentences == [
        "Attributes used: region. Fitted on the 10 customers of the calibration period; 2 customers without all of "
        "these attributes were left out.",
        "**BG/NBD with covariates found no maximum** (no maximum (test)), so its effects are not shown. A level with "
        "few customers, or one that separates buyers from non-buyers perfectly, is the usual cause.",
        "**Gamma-Gamma**: a parameter of the model without covariates (the starting point) went to a limit (q at a "
        "limit (test)); the multipliers are shown, but treat their intervals with care."]
    assert not sec.tables


# ------------------------------------------------------------------------------------------- lapsed
def test_lapsed_customers_most_value_at_risk_first(company, tmp_path):
    ids = [f"k{i}" for i in range(10)]
    table = pd.DataFrame({"frequency": 2.0, "recency": 10.0, "T": 50.0, "monetary_value": 30.0,
                          "prob_alive": [0.9, 0.8, 0.7, 0.6, 0.9, 0.8, 0.7, 0.6, 0.2, 0.4],
                          "clv_if_alive": [10.0, 20, 30, 40, 50, 60, 70, 80, 900, 1000]},
                         index=pd.Index(ids, name="customer_id"))
    table["clv"] = table["clv_if_alive"] * table["prob_alive"]
    rep = ReportContext("clv", None, RunResults(tmp_path, notebook="clv", pseudonymise=False))
    value = dataclasses.replace(company.s["clv"].value, table=table)
    sec = report.lapsed_customers(rep, company.s["data"].value, value)
    at_risk = 1000 * 0.6 + 900 * 0.8                            # k9 and k8: the top 20%, both below 0.5
    assert list(sec.tables[0].frame["customer_id"]) == ["k8", "k9"]
    assert sec.sentences == [f"2 valuable customers are more likely gone than active; together they would be worth "
                             f"{at_risk:,.0f} EUR more over the horizon if they were still active. Customer ids are "
                             "shown as in the data."]
    safe = dataclasses.replace(value, table=table.assign(prob_alive=0.9))
    assert report.lapsed_customers(rep, company.s["data"].value, safe).sentences == [
        "No customer in the top 20% by value if active has P(alive) below 0.5."]
    assert company.s["lapsed"].tables[0].frame["customer_id"].map(PSEUDONYM.match).all()


# -------------------------------------------------------------------------------------- ground truth
def _truth_files(folder: Path, segments: dict, members: dict[str, list]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ground_truth.json").write_text(json.dumps({"segments": {k: {"bgnbd": v} for k, v in segments.items()}}))
    rows = [(c, seg) for seg, ids in members.items() for c in ids]
    pd.DataFrame(rows, columns=["customer_id", "segment"]).assign(churn_date_explicit=None).to_csv(
        folder / "truth_customers.csv", index=False)
    return folder / "transactions.csv"


def _truth_data(company, path: Path):
    ds = SimpleNamespace(spec=SimpleNamespace(tables={"transactions": SimpleNamespace(path=path)}), customers=None)
    return dataclasses.replace(company.s["data"].value, ds=ds)


def test_ground_truth_recovery_says_what_lies_outside_and_what_found_no_maximum(company, tmp_path):
    far = {k: 20 * v for k, v in TRUE.items()}
    path = _truth_files(tmp_path, {"true": TRUE, "far": far, "alone": TRUE, "nobody": TRUE},
                        {"true": list(range(0, 200)), "far": list(range(200, 400)), "alone": [9999]})
    sec = report.ground_truth(company.rep, _truth_data(company, path))
    rec = sec.value
    assert sec.title == "Demo data: recovering the generating parameters" and len(sec.figures) == 1
    ok = rec["ci_lower"].notna()
    assert ok.sum() == 8 and not rec.loc[rec["segment"] == "far", "covered"].any()
    assert sec.sentences[1] == (f"**{int(rec['covered'].sum())} of 8** generating values lie inside their 95% interval "
                                f"({fmt_pct(rec.loc[ok, 'covered'].mean())}).")
    outside = [t for t in sec.sentences if t.startswith("- far, ")]
    assert len(outside) == 4 and outside[1].endswith(f"true {far['alpha']:.3f}.")
    flagged = rec.loc[rec["segment"] == "alone", "note"].iloc[0]        # one customer: a limiting case
    assert sec.sentences[-2:] == [f"- alone: {flagged}.", sec.sentences[-1]] and flagged
    assert sec.sentences[-1].startswith("- nobody: no maximum found (")


def test_ground_truth_without_files_or_without_any_interval(company, plain, tmp_path):
    empty = plain.s["truth"]
    assert empty.blocks == [] and empty.value is None and empty.title is None
    path = _truth_files(tmp_path, {"alone": TRUE}, {"alone": [9999]})
    sec = report.ground_truth(company.rep, _truth_data(company, path))
    assert "No per-segment fit gave a 95% interval, so no generating value could be checked." in sec.sentences
    assert not any("nan" in t for t in sec.sentences)


# ----------------------------------------------------------------------------------------- published
def test_published_results_of_a_company_with_regions_and_attributes(company):
    s, out = company.s, company.rep.out
    assert {"customer_clv", "model_comparison", "holdout_scorecard", "clv_cash_flows", "clv_covariate_effects",
            "clv_by_region", "clv"} <= set(out.names())
    n = len(company.customers)
    assert s["published"].sentences == [
        f"Published: per-customer CLV ({n:,} rows, ids pseudonymised), model comparison, holdout scorecard, cash flows, "
        "CLV by region, covariate effects and the headline metrics."]
    export = pd.read_csv(out.run_dir / "exports" / "customer_clv.csv")
    assert len(export) == n and export["customer_id"].map(PSEUDONYM.match).all()
    assert {"region", "customer_type", "segment", "clv_lower", "clv_upper"} <= set(export.columns)
    metrics = out.read_metrics("clv")
    table = s["clv"].value.table
    assert metrics["total_clv"] == pytest.approx(table["clv"].sum()) and metrics["customers"] == n
    assert metrics["chosen_model"] == s["holdout"].value.chosen and metrics["models_failed"] == []
    assert metrics["gamma_gamma_dropped_nonpositive"] == 1 and metrics["covariate_customers"] == n
    assert metrics["returns_share"] == pytest.approx(25.0 / kept_rows(company.tx)["amount"].sum())
    comp = out.read_table("model_comparison")
    assert comp.loc[comp["recommended"], "model"].tolist() == [metrics["chosen_model"]]
    effects = out.read_table("clv_covariate_effects")
    assert len(effects) == len(s["drivers"].value.effects) and "ground_truth_coverage" not in metrics


def test_published_results_of_transactions_only(plain):
    out = plain.rep.out
    assert "clv_by_region" not in out.names() and "clv_covariate_effects" not in out.names()
    n = plain.tx["customer_id"].nunique()
    assert plain.s["published"].sentences == [
        f"Published: per-customer CLV ({n:,} rows, ids pseudonymised), model comparison, holdout scorecard, cash flows "
        "and the headline metrics."]
    metrics = out.read_metrics("clv")
    assert metrics["covariate_customers"] is None and metrics["returns_share"] == 0.0


def test_the_published_covariate_table_is_plain_text_without_attrs():
    effects = pd.DataFrame({"process": pd.Categorical(["purchase"]), "term": ["region[S]"], "covariate": ["region"],
                            "level": pd.Categorical(["S"]), "reference": [1], "multiplier": [1.2], "sentence": ["x"]})
    effects.attrs["level"] = 0.95
    out = _covariate_table(effects)
    assert not out.attrs and out["reference"].tolist() == ["1"] and pd.api.types.is_string_dtype(out["level"])
    assert out["multiplier"].tolist() == [1.2] and effects.attrs                  # the input is unchanged
