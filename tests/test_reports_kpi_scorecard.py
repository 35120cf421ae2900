"""The KPI scorecard report's sections (toolkit.reports.kpi_scorecard) on small frames and on the
tiny hand-made company of test_kpi.py: every wording branch (no KPI, contractual / activity churn,
no / a few / many significant differences, a figure left out, no change / changes in the latest
period, nothing significant in any period), values in their units, and what is published.
Expected figures are counted by hand from the frames and CSV text written here."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from test_kpi import CUSTOMERS, SPEND, SURVEYS, TRANSACTIONS
from toolkit.data import load_dataset
from toolkit.kpi import COMPANY, METRICS, KPIResult
from toolkit.kpi.scorecard import LONG_COLUMNS
from toolkit.reports import kpi_scorecard as report
from toolkit.reports.context import ReportContext
from toolkit.results import RunResults

BASE_VALUES = {"customers": 100.0, "new": 10.0, "active": 80.0, "churned": 5.0, "revenue": 12345.6, "aov": 150.0,
               "purchase_frequency": 1.5, "revenue_per_customer": 154.32, "retention_rate": 0.95,
               "churn_rate": 0.05, "cac": 250.0, "cltv": 3000.0, "clv_cac": 12.0, "nps": 12.34, "csat": 0.6}
PERIODS = {"2025Q1": ("2025-01-01", "2025-03-31"), "2025Q2": ("2025-04-01", "2025-06-30"),
           "P12M": ("2023-07-01", "2024-06-30"), "L12M": ("2024-07-01", "2025-06-30")}


def _rep(tmp_path, currency="EUR", ds=None) -> ReportContext:
    ds = ds if ds is not None else SimpleNamespace(currency=currency, has_money=bool(currency), name="fake", title="Fake company")
    return ReportContext("kpi_scorecard", ds, RunResults(tmp_path / "run", notebook="kpi_scorecard"))


def _result(significant=(), regions=("A", "B"), missing=(), basis="contractual") -> KPIResult:
    """A scorecard of ``regions`` and the company over two quarters and the trailing window.
    ``significant``: (region, period, metric, comparison, value, reference, p_adj) rows flagged;
    ``missing``: (region, metric) without a value in any period."""
    rows, long = [], []
    for region in (*regions, COMPANY):
        for period, (start, end) in PERIODS.items():
            values = {m: (np.nan if (region, m) in missing else v) for m, v in BASE_VALUES.items()}
            rows.append({"region": region, "period": period, "period_start": pd.Timestamp(start),
                         "period_end": pd.Timestamp(end), **values})
            for m, meta in METRICS.items():
                for comparison in ("rest", "previous"):
                    if region == COMPANY and comparison == "rest":
                        continue
                    long.append({"region": region, "period": period, "period_start": pd.Timestamp(start),
                                 "period_end": pd.Timestamp(end), "metric": m, "label": meta.label, "unit": meta.unit,
                                 "value": values[m], "ci_low": values[m] * 0.9, "ci_high": values[m] * 1.1, "n": 50,
                                 "comparison": comparison,
                                 "reference_label": "rest of company" if comparison == "rest" else "2025Q1",
                                 "reference": values[m], "difference": 0.0, "test": meta.test, "statistic": 0.0,
                                 "p_value": 0.5, "p_adj": 1.0, "significant": False, "direction": ""})
    sc = pd.DataFrame(long, columns=LONG_COLUMNS)
    for region, period, metric, comparison, value, reference, p_adj in significant:
        at = (sc["region"] == region) & (sc["period"] == period) & (sc["metric"] == metric) \
            & (sc["comparison"] == comparison)
        assert at.sum() == 1
        sc.loc[at, ["value", "ci_low", "ci_high", "reference", "p_adj", "significant", "direction"]] = \
            [value, value * 0.9, value * 1.1, reference, p_adj, True, "higher" if value > reference else "lower"]
    return KPIResult(pd.DataFrame(rows), sc, pd.DataFrame(), basis, "Q", 0.05, "holm", "L12M", "period", [])


# ------------------------------------------------------------------------------ formatting
def test_cell_shows_each_metric_in_its_unit():
    assert report.cell(0.1234, "churn_rate") == "12.3%"
    assert report.cell(3608171.53, "revenue", "EUR") == "EUR 3,608,172"
    assert report.cell(12.5, "aov", "USD") == "USD 12.50"          # under 100: cents kept
    assert report.cell(3608171.53, "revenue", "") == "3,608,172"   # no currency code: the number alone
    assert report.cell(-16.31, "nps") == "-16.3" and report.cell(11.63, "nps") == "+11.6"
    assert report.cell(942.0, "customers") == "942" and report.cell(1234.0, "new") == "1,234"
    assert report.cell(4.993, "purchase_frequency") == "4.99" and report.cell(64.917, "clv_cac") == "64.92"
    assert report.cell(np.nan, "csat") is None and report.cell(None, "cac") is None


# ------------------------------------------------------------------------------ on a real (tiny) dataset
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny_report")
    for name, text in (("customers", CUSTOMERS), ("transactions", TRANSACTIONS), ("spend", SPEND),
                       ("surveys", SURVEYS)):
        (d / f"{name}.csv").write_text(text)
    cols = lambda *c: {k: k for k in c}  # noqa: E731
    spec = {"name": "tiny", "title": "Tiny <b>company</b>", "currency": "EUR", "as_of": "2025-06-30", "base": str(d),
            "tables": {
                "transactions": {"file": "transactions.csv", "columns": cols("customer_id", "order_id", "date",
                                                                               "amount")},
                "customers": {"file": "customers.csv", "columns": cols("customer_id", "region", "acquisition_date",
                                                                       "churn_date", "churn_reason")},
                "marketing_spend": {"file": "spend.csv", "columns": cols("period", "region", "channel", "spend")},
                "surveys": {"file": "surveys.csv", "columns": cols("customer_id", "response_date",
                                                                   "overall_satisfaction", "nps"), "scale": [1, 5]}}}
    return load_dataset(spec)


def test_scorecard_section_publishes_and_states_the_settings(tiny, tmp_path):
    rep = _rep(tmp_path, ds=tiny)
    sec = report.scorecard(rep, period="Q", alpha=0.05, correction="holm", family="period", n_boot=200)
    res = sec.value
    assert isinstance(res, KPIResult) and not res.table.empty
    text = sec.text_all
    assert "periods **quarters**, significance level **0.05**, correction **holm** across all regions and metrics " \
           "of a period and comparison, NPS with **200** bootstrap resamples" in text
    assert "Churn is measured **from churn dates (contractual)**" in text
    defs, tests = (t.frame for t in sec.tables)
    assert len(defs) == 14 and "Average order value" in set(defs["metric"])
    units = tests.set_index("column")["unit"]
    assert units["aov"] == "EUR per order" and units["revenue"] == "EUR" and units["churn_rate"].startswith("share")
    # published as before: the long scorecard, the wide table and the headline metrics
    pub = rep.out.read_table("kpi_scorecard")
    assert len(pub) == len(res.scorecard) and list(pub.columns) == LONG_COLUMNS
    assert rep.out.meta("kpi_scorecard")["units"] == {"value": "unit column", "p_adj": "holm across regions"}
    assert len(rep.out.read_table("kpi_table")) == len(res.table)
    m = rep.out.read_metrics("kpi")
    assert m["window"] == "L12M" and m["regions"] == ["A", "B"] and m["dataset"] == "tiny"
    # the window is 2024-07-01..2025-06-30: every order of the CSV, net of the -10 return; all six acquired in it
    assert m["company"]["revenue"] == pytest.approx(100 + 80 + 20 + 50 + 40 - 10 + 200 + 30 + 60 + 90 + 120)
    assert m["company"]["new"] == 6 and m["company"]["active"] == 6


def test_trailing_window_by_region_in_two_tables_with_units(tiny, tmp_path):
    rep = _rep(tmp_path, ds=tiny)
    res = report.scorecard(rep, n_boot=200).value
    sec = report.last_12_months(rep, res, 12)
    first, second = sec.tables
    assert "2024-07-01 to 2025-06-30" in first.caption and len(first.frame.columns) <= 9 \
        and len(second.frame.columns) <= 9
    assert list(first.frame["region"]) == ["A", "B", COMPANY]
    company = first.frame.set_index("region").loc[COMPANY]
    assert company["Net revenue"] == "EUR 780" and company["New customers"] == "6"
    assert first.units["Net revenue"] == "EUR" and first.units["Average order value"] == "EUR per order"
    # nobody was a customer on 2024-07-01, so there is no churn rate: the cell is empty, not "nan%"
    assert second.frame.set_index("region").loc[COMPANY, "Churn rate"] is None
    assert ("Over the 12 months to 2025-06-30 the company had **0** customers at the start, won **6** new ones, "
            "and earned **EUR 780** of net revenue") in sec.text_all


def test_no_kpi_when_the_dataset_has_no_dated_table(tmp_path):
    (tmp_path / "customers.csv").write_text("customer_id,region\nc1,A\nc2,B\n")
    ds = load_dataset({"name": "undated", "title": "Undated & co", "as_of": "2025-06-30", "base": str(tmp_path),
                       "tables": {"customers": {"file": "customers.csv",
                                                "columns": {"customer_id": "customer_id", "region": "region"}}}})
    rep = _rep(tmp_path, ds=ds)
    sec = report.scorecard(rep)
    assert "**No KPI could be computed for dataset Undated &amp; co** — it has no dated transactions" in sec.text_all
    assert "- The dataset has no dated table, so no period KPIs can be computed." in sec.sentences
    assert "from purchase activity (no churn dates in the data)" in sec.text_all
    assert rep.out.read_metrics("kpi") == {"dataset": "undated", "available": False,
                                           "notes": ["The dataset has no dated table, so no period KPIs can be "
                                                     "computed."]}
    assert not rep.out.has("kpi_scorecard")
    for later in (report.last_12_months(rep, sec.value), report.region_figures(rep, sec.value),
                  report.over_time(rep, sec.value), report.significant_differences(rep, sec.value)):
        assert later.blocks == []


def test_settings_sentence_for_months_and_the_metric_family(tiny, tmp_path):
    sec = report.scorecard(_rep(tmp_path, ds=tiny), period="M", family="metric", correction="fdr_bh", n_boot=100)
    assert "periods **months**" in sec.text_all and "correction **fdr\\_bh** across the regions of each metric, " \
                                                      "period and comparison" in sec.text_all


# ------------------------------------------------------------------------------ wording on small frames
def test_no_region_differs(tmp_path):
    sec = report.last_12_months(_rep(tmp_path), _result(), 12)
    assert "**No region differs significantly from the rest of the company** on any tested metric in this window " \
           "(adjusted p >= 0.05)." in sec.sentences
    assert sec.value.empty
    assert "the company had **100** customers at the start, won **10** new ones, and earned **EUR 12,346**" \
        in sec.text_all
    assert "churn rate was **5.0%**, CSAT **60.0%** and NPS **+12.3 points**" in sec.text_all


def test_activity_based_churn_names_the_window_base(tmp_path):
    sec = report.last_12_months(_rep(tmp_path), _result(basis="activity"), 6)
    assert "Over the 6 months to 2025-06-30 the company had **100** customers who had bought in the 6 months before" \
        in sec.text_all


def test_a_few_differences_are_listed_one_per_line(tmp_path):
    res = _result(significant=[("A", "L12M", "churn_rate", "rest", 0.30, 0.10, 0.001),
                               ("B", "L12M", "aov", "rest", 250000.0, 1234.4, 0.0123)])
    sec = report.last_12_months(_rep(tmp_path), res, 12)
    assert "**2 significant differences from the rest of the company** (adjusted p < 0.05):" in sec.sentences
    assert ("- A: Churn rate 30.0% vs 10.0% (rest of company) — higher; adjusted p = 0.001 "
            "(two-proportion z).") in sec.sentences
    assert ("- B: Average order value EUR 250,000 vs EUR 1,234 (rest of company) — higher; adjusted p = 0.012 "
            "(Welch t (delta method, customers as units)).") in sec.sentences
    assert len(sec.tables) == 2   # the window tables only


def test_many_differences_become_a_table_grouped_by_region(tmp_path):
    flagged = [("B", "L12M", m, "rest", 0.9, 0.5, 0.01) for m in ("churn_rate", "csat", "retention_rate")] + \
              [("A", "L12M", m, "rest", 0.9, 0.5, 0.02) for m in ("churn_rate", "csat", "retention_rate")] + \
              [("A", "L12M", "nps", "rest", 30.0, -10.0, 0.03), ("B", "L12M", "nps", "rest", -20.0, 5.0, 0.004),
               ("A", "L12M", "aov", "rest", 80.0, 120.0, 0.04)]
    sec = report.last_12_months(_rep(tmp_path), _result(significant=flagged), 12)
    assert "**9 significant differences from the rest of the company** (adjusted p < 0.05), by region:" \
        in sec.sentences
    assert not [s for s in sec.sentences if s.startswith("- ")]
    table = sec.tables[-1].frame
    assert list(table["region"]) == ["A"] * 5 + ["B"] * 4
    nps_b = table.loc[(table["region"] == "B") & (table["metric"] == "Net promoter score")].iloc[0]
    assert (nps_b["value"], nps_b["rest of company"], nps_b["difference"], nps_b["adjusted p"]) == \
        ("-20.0", "+5.0", "lower", "0.004")
    aov = table.loc[table["metric"] == "Average order value"].iloc[0]
    assert (aov["value"], aov["rest of company"]) == ("EUR 80.00", "EUR 120")   # cents under 100 only


def test_a_metric_without_data_leaves_its_figure_out(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    res = _result(missing=[("A", "csat"), ("B", "csat"), (COMPANY, "csat")])
    sec = report.region_figures(_rep(tmp_path), res)
    assert sec.sentences == ["No data for CSAT (top-2-box) in this dataset; figure left out."]
    assert len(sec.figures) == 4
    assert [f.figure.axes[0].get_title() for f in sec.figures] == [
        "Churn rate by region, last 12 months", "Net promoter score by region, last 12 months",
        "Revenue per active customer by region, last 12 months", "Customer acquisition cost by region, last 12 months"]


def test_over_time_says_when_no_region_changed(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    sec = report.over_time(_rep(tmp_path), _result())
    assert len(sec.figures) == 4   # revenue, churn, CSAT, CAC over the calendar quarters
    assert sec.sentences == ["In the latest complete period (**2025Q2**) no region changed significantly against "
                             "its previous period."]


def test_over_time_lists_the_changes_of_the_latest_period_but_not_the_company(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    res = _result(significant=[("A", "2025Q2", "csat", "previous", 0.8, 0.6, 0.02),
                               (COMPANY, "2025Q2", "csat", "previous", 0.7, 0.6, 0.03),
                               ("B", "2025Q1", "csat", "previous", 0.2, 0.6, 0.01)])   # not the latest period
    sec = report.over_time(_rep(tmp_path), res)
    assert sec.sentences == ["Significant changes in the latest complete period (**2025Q2**) against the previous "
                             "one:",
                             "- A: CSAT (top-2-box) 80.0% vs 60.0% (2025Q1) — higher; adjusted p = 0.02 "
                             "(two-proportion z)."]
    assert list(sec.value["region"]) == ["A"]


def test_nothing_significant_in_any_period(tmp_path):
    sec = report.significant_differences(_rep(tmp_path), _result())
    assert sec.tables == [] and sec.value.empty
    assert sec.sentences == ["No region differs significantly, in any period, from the rest of the company or from "
                             "its previous period (adjusted p >= 0.05)."]


def test_significant_differences_in_their_units_sorted_by_period_metric_region(tmp_path):
    res = _result(significant=[("B", "L12M", "churn_rate", "rest", 0.30, 0.10, 0.001),
                               ("A", "L12M", "churn_rate", "rest", 0.25, 0.12, 0.004),
                               ("A", "2025Q2", "cac", "previous", 400.0, 250.0, 0.03)])
    sec = report.significant_differences(_rep(tmp_path), res)
    (table,) = sec.tables
    t = table.frame
    assert list(zip(t["region"], t["period"])) == [("A", "2025Q2"), ("A", "L12M"), ("B", "L12M")]
    cac = t.iloc[0]
    assert (cac["metric"], cac["compared with"], cac["value"], cac["interval"], cac["reference"], cac["adjusted p"]) \
        == ("Customer acquisition cost", "previous period (2025Q1)", "EUR 400", "EUR 360 to EUR 440", "EUR 250", "0.03")
    churn = t.iloc[2]
    assert (churn["value"], churn["interval"], churn["reference"], churn["compared with"]) == \
        ("30.0%", "27.0% to 33.0%", "10.0%", "rest of company")
    assert "holm, family period" in str(table.units) and len(t.columns) <= 9


def test_many_regions_show_every_region_and_the_company(tmp_path):
    regions = tuple(f"Country {i}" for i in range(1, 41))
    sec = report.last_12_months(_rep(tmp_path), _result(regions=regions), 12)
    for table in sec.tables:
        assert len(table.frame) == 41 and table.max_rows >= 41
        assert table.frame["region"].iloc[-1] == COMPANY and "Country 40" in set(table.frame["region"])


def test_a_metric_without_values_leaves_the_table_with_its_unit(tmp_path):
    res = _result(missing=[(r, "clv_cac") for r in ("A", "B", COMPANY)] + [(r, "nps") for r in ("A", "B", COMPANY)])
    second = report.last_12_months(_rep(tmp_path), res, 12).tables[1]
    html = second._repr_html_()
    assert "CLV/CAC" not in html and "ratio" not in html and "Net promoter score" not in html
    assert "Churn rate" in html and "share of customers at start" in html


def test_many_changes_in_the_latest_period_become_a_table(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    regions = tuple(f"R{i}" for i in range(1, 11))
    res = _result(regions=regions, significant=[(r, "2025Q2", "churn_rate", "previous", 0.2, 0.05, 0.01)
                                                for r in regions[::-1]])
    sec = report.over_time(_rep(tmp_path), res)
    assert sec.sentences == ["**10 significant changes** in the latest complete period (**2025Q2**) against the "
                             "previous one, by region:"]
    (table,) = sec.tables
    assert list(table.frame["region"]) == sorted(regions)   # grouped by region, not in scorecard order
    assert table.frame.iloc[0][["value", "previous period", "difference", "adjusted p"]].tolist() == \
        ["20.0%", "5.0%", "higher", "0.01"]
