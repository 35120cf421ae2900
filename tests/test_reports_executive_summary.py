"""The executive summary's sections (toolkit/reports/executive_summary.py) on small run folders built
here: every wording branch (nothing published, a report missing, no KPI, no differences, no risks, no
actions), the ▲ / ▼ colours by each KPI's direction with their legend, and the significant differences
grouped per region, most important first."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.kpi import COMPANY, METRICS
from toolkit.reports import open_report
from toolkit.reports import executive_summary as es
from toolkit.reports.section import Table
from toolkit.results import RunResults

GREEN, RED = es.COLOURS["better"], es.COLOURS["worse"]


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "title": "Tiny <company>", "currency": "EUR",
                                    "tables": {"transactions": {"file": "tx.csv", "columns": {
                                        "customer_id": "c", "date": "d", "amount": "a"}}}}))
    return str(path)


@pytest.fixture
def run(tmp_path):
    return tmp_path / "run"


def _rep(run):
    return open_report("executive_summary", run_dir=str(run))


# ------------------------------------------------------------------------------ a run's results, by hand
ROWS = [  # region, metric, value, reference, significant, direction
    ("East", "churn_rate", 0.31, 0.17, True, "higher"),
    ("East", "retention_rate", 0.69, 0.83, True, "lower"),
    ("East", "cac", 362.0, 290.0, True, "higher"),
    ("East", "csat", 0.51, 0.50, False, "higher"),
    ("North", "csat", 0.73, 0.46, True, "higher"),
    ("North", "customers", 189.0, 150.0, True, "higher"),
    ("West", "churn_rate", 0.15, 0.20, False, "lower"),
    ("West", "cac", 200.0, 300.0, True, "lower"),
]


def _scorecard(rows=ROWS) -> pd.DataFrame:
    recs = []
    for region, metric, value, ref, sig, direction in rows:
        recs.append({"region": region, "metric": metric, "value": value, "reference": ref, "significant": sig,
                     "direction": direction, "comparison": "rest", "reference_label": "rest of company"})
    for metric in {r[1] for r in rows}:
        recs.append({"region": COMPANY, "metric": metric, "value": 0.5, "reference": np.nan, "significant": False,
                     "direction": "", "comparison": "previous", "reference_label": "previous period"})
    t = pd.DataFrame(recs)
    return t.assign(period="L12M", period_start=pd.Timestamp("2025-07-01"), period_end=pd.Timestamp("2026-06-30"),
                    label=[METRICS[m].label for m in t["metric"]], unit=[METRICS[m].unit for m in t["metric"]],
                    n=100.0, test="z", p_value=0.001, p_adj=0.002)


def _flags(rows=ROWS) -> list[dict]:
    return [{"region": r, "metric": m, "direction": d, "value": v, "reference": ref, "p_adj": 0.002}
            for r, m, v, ref, sig, d in rows if sig]


def _publish_kpi(run, rows=ROWS):
    out = RunResults(run, notebook="kpi_scorecard")
    out.table("kpi_scorecard", _scorecard(rows))
    out.metrics("kpi", {"dataset": "tiny", "window": "L12M", "alpha": 0.05, "correction": "holm",
                        "flags": _flags(rows)})


def _items() -> pd.DataFrame:
    return pd.DataFrame({
        "region": ["East", "East", "North", "West"], "quadrant": ["Weakness", "Threat", "Strength", "Opportunity"],
        "title": ["Churn above the rest", "Competitor <b>cuts</b> prices", "Satisfied base", "Win-back"],
        "statement": ["Churn rate: 31%.", "Price index 0.85.", "CSAT 73%.", "Norvex above us."],
        "action": ["Retention programme", "Price response", "Referral programme", ""],
        "priority": [3, 2, 1, 2], "score": [0.8, 0.5, 0.6, 0.3]})


# ------------------------------------------------------------------------------ coverage
def test_an_empty_run_says_there_is_nothing_to_summarise(run, spec):
    sec = es.coverage(_rep(run), spec)
    text = sec.text_all
    assert "Dataset: **Tiny &lt;company&gt;**. Reports with published results in this run: **none**." in text
    assert ("Not available in this run: data quality, KPI scorecard, segmentation, customer lifetime value, churn, "
            "survey, SWOT") in text
    assert "**This run has no published results yet**" in text
    assert sec.value.present == [] and sec.value.currency == "EUR"


def test_coverage_names_the_reports_present_and_missing(run, spec):
    _publish_kpi(run)
    RunResults(run, notebook="churn").metrics("churn", {"dataset": "tiny"})
    sec = es.coverage(_rep(run), spec)
    assert sec.value.present == ["kpi", "churn"]
    assert "in this run: **KPI scorecard, churn**." in sec.sentences[0]
    assert sec.sentences[1].startswith("Not available in this run: data quality, segmentation, customer lifetime "
                                       "value, survey, SWOT")
    assert len(sec.sentences) == 2          # results exist: no "nothing to summarise"


# ------------------------------------------------------------------------------ regions at a glance
def test_no_kpi_report_means_no_regional_comparison_and_says_which_report(run, spec):
    sec = es.regions_at_a_glance(_rep(run), spec)
    assert sec.tables == [] and not sec.value.shown
    assert sec.sentences == ["The KPI scorecard is not available in this run, so there is no regional comparison "
                             "(the KPI scorecard report has not published kpi in this run)."]


def test_a_kpi_report_that_computed_nothing_gives_its_notes(run, spec):
    RunResults(run, notebook="kpi_scorecard").metrics("kpi", {"dataset": "tiny", "available": False,
                                                              "notes": ["no transactions table"]})
    sec = es.regions_at_a_glance(_rep(run), spec)
    assert "the KPI scorecard report computed no KPI in this run (no transactions table)" in sec.sentences[0]


def _cell_colours(table_html: str) -> dict[tuple[int, int], str]:
    return {(int(r), int(c)): colour for r, c, colour in
            re.findall(r"_row(\d+)_col(\d+) \{color: (#[0-9a-f]+)", table_html)}


def test_marks_are_coloured_by_whether_the_difference_is_good_for_the_company(run, spec):
    _publish_kpi(run)
    sec = es.regions_at_a_glance(_rep(run), spec)
    table = sec.tables[0]
    frame = table.frame
    page = table._repr_html_()
    colours = _cell_colours(page)
    pos = lambda region, metric: (list(frame.index).index(region), list(frame.columns).index(METRICS[metric].label))  # noqa: E731
    # the direction that is good per KPI comes from toolkit.kpi.METRICS, the one table of it
    assert METRICS["churn_rate"].better == "lower" and METRICS["cac"].better == "lower"
    assert colours[pos("East", "churn_rate")] == RED          # churn ▲: worse
    assert colours[pos("East", "retention_rate")] == RED      # retention ▼: worse
    assert colours[pos("East", "cac")] == RED                 # CAC ▲: worse
    assert colours[pos("West", "cac")] == GREEN               # CAC ▼: better
    assert colours[pos("North", "csat")] == GREEN             # CSAT ▲: better
    assert pos("North", "customers") not in colours           # customers ▲: neither
    assert pos("East", "csat") not in colours and pos("West", "churn_rate") not in colours   # not significant
    assert len(colours) == 5
    assert frame.loc["East", METRICS["churn_rate"].label].endswith("▲")
    assert frame.loc["West", METRICS["cac"].label].endswith("▼")
    assert list(frame.index) == ["East", "North", "West", COMPANY]
    # the legend says what the colours mean and names the KPIs where lower is better
    legend = next(b for b in sec.blocks if getattr(b, "data", None) and "ck-legend" in b.data).data
    assert GREEN in legend and RED in legend and "better for the company" in legend
    assert "lower is better for Churn rate, Customer acquisition cost" in legend
    assert "uncoloured: Customers at start of period" in legend


def test_mean_clv_joins_the_scorecard_or_its_absence_is_named(run, spec):
    _publish_kpi(run)
    sec = es.regions_at_a_glance(_rep(run), spec)
    assert not [c for c in sec.tables[0].frame.columns if "CLV (CLV report)" in c]
    assert ("Mean CLV per region is not shown: the customer lifetime value report has not published clv\\_by\\_region "
            "in this run.") in sec.sentences
    RunResults(run, notebook="clv").table("clv_by_region", pd.DataFrame(
        {"region": ["East", "North"], "customers": [10, 20], "mean_clv": [310.4, 1696.0]}))
    sec = es.regions_at_a_glance(_rep(run), spec)
    col = sec.tables[0].frame["Mean model CLV (CLV report)"]   # a table without its horizon: none named
    assert col.to_dict() == {"East": "EUR 310", "North": "EUR 1,696", "West": "–", COMPANY: "–"}
    assert not any("Mean CLV per region" in s for s in sec.sentences)
    RunResults(run, notebook="clv").table("clv_by_region", pd.DataFrame(
        {"region": ["East", "North"], "customers": [10, 20], "mean_clv": [310.4, 1696.0], "basis": "12 months"}))
    sec = es.regions_at_a_glance(_rep(run), spec)
    assert "Mean model CLV, next 12 months (CLV report)" in sec.tables[0].frame.columns
    assert not [s for s in sec.sentences if "measure different things" in s]   # no formula CLTV shown: nothing to explain


def test_formula_cltv_and_model_clv_side_by_side_are_named_and_explained(run, spec):
    """Issue 17: "Formula CLTV EUR 40,033" stood beside "Mean CLV EUR 675" with no word on why."""
    _publish_kpi(run, ROWS + [("East", "cltv", 40033.0, 20741.0, False, "higher")])
    RunResults(run, notebook="clv").table("clv_by_region", pd.DataFrame(
        {"region": ["East", "North"], "customers": [10, 20], "mean_clv": [310.4, 1696.0],
         "basis": "all future purchases (DERT)"}))
    sec = es.regions_at_a_glance(_rep(run), spec)
    frame = sec.tables[0].frame
    assert METRICS["cltv"].label == "Formula CLTV" and "Formula CLTV" in frame.columns
    assert "Mean model CLV, all future purchases (DERT) (CLV report)" in frame.columns
    said = [s for s in sec.sentences if "measure different things" in s]
    assert len(said) == 1 and "undiscounted and before margin" in said[0] and "all future purchases (DERT)" in said[0]


def test_differences_are_grouped_per_region_most_important_first(run, spec):
    _publish_kpi(run)
    sec = es.regions_at_a_glance(_rep(run), spec)
    head, *groups = [s for s in sec.sentences if "differences" in s or "difference" in s]
    assert head.startswith("**6** significant regional differences in the last 12 months, per region")
    assert [g.split("**")[1] for g in groups] == ["East", "North", "West"]   # East: 3 worse; North: 2; West: 1
    east = groups[0].splitlines()
    assert east[0] == "**East** — 3 differences, all worse for the company:"
    # within East, by the relative size of the difference: churn 0.31 vs 0.17 (82%), CAC 362 vs 290 (25%),
    # retention 0.69 vs 0.83 (17%)
    assert [line.split(":")[0] for line in east[1:]] == ["- Churn rate", "- Customer acquisition cost",
                                                         "- Retention rate"]
    assert east[1] == ("- Churn rate: 31.0% against 17.0% in the rest of the company (higher, worse for the company; "
                       "adjusted p = 0.002)")
    north = groups[1].splitlines()
    assert north[0] == "**North** — 2 differences (1 better for the company):"
    assert north[1].startswith("- CSAT (top-2-box)") and north[2].startswith("- Customers at start of period")
    assert "(higher; adjusted p = 0.002)" in north[2]                 # customers: neither better nor worse
    assert groups[2].splitlines()[0] == "**West** — 1 difference, better for the company:"


def test_flag_groups_order_and_judgement():
    flags = [{"region": "A", "metric": "csat", "direction": "higher", "value": 0.9, "reference": 0.5, "p_adj": 0.01},
             {"region": "B", "metric": "churn_rate", "direction": "higher", "value": 0.3, "reference": 0.2,
              "p_adj": 0.04},
             {"region": "A", "metric": "churn_rate", "direction": "lower", "value": 0.1, "reference": 0.2,
              "p_adj": 0.03},
             {"region": "B", "metric": "nps", "direction": "lower", "value": -40.0, "reference": -10.0, "p_adj": 0.2}]
    groups = es.flag_groups(flags)
    assert [g for g, _ in groups] == ["B", "A"]                            # B has two worse, A none
    assert [f["metric"] for f in groups[0][1]] == ["nps", "churn_rate"]    # 300% before 50%
    assert [f["judged"] for f in groups[0][1]] == ["worse", "worse"]
    assert [f["judged"] for f in groups[1][1]] == ["better", "better"]
    assert [f["metric"] for f in groups[1][1]] == ["csat", "churn_rate"]   # 80% before 50%


def test_no_significant_difference_is_said_for_the_window(run, spec):
    rows = [(r, m, v, ref, False, d) for r, m, v, ref, _, d in ROWS]
    _publish_kpi(run, rows)
    sec = es.regions_at_a_glance(_rep(run), spec)
    assert sec.sentences[-1] == "No region differs significantly from the rest of the company on any KPI in the last 12 months."
    assert _cell_colours(sec.tables[0]._repr_html_()) == {}
    assert es.window_text("L6M") == "the last 6 months" and es.window_text("2025Q1") == "the window 2025Q1"


def test_a_malformed_scorecard_stops_the_summary_naming_its_report(run, spec):
    (run / "results").mkdir(parents=True)
    _scorecard().drop(columns=["significant"]).to_parquet(run / "results" / "kpi_scorecard.parquet")
    (run / "results" / "kpi_scorecard.meta.json").write_text('{"kind": "table", "notebook": "kpi_scorecard"}')
    RunResults(run, notebook="kpi_scorecard").metrics("kpi", {"dataset": "tiny", "window": "L12M", "alpha": 0.05,
                                                              "correction": "holm", "flags": []})
    with pytest.raises(Exception, match=r"'kpi_scorecard' \(published by report 'kpi_scorecard'\) lacks column\(s\) "
                                        "significant"):
        es.regions_at_a_glance(_rep(run), spec)


# ------------------------------------------------------------------------------ risks and actions
def test_without_swot_items_risks_and_actions_name_the_swot_report(run):
    rep = _rep(run)
    risks, actions = es.top_risks(rep, 5), es.top_actions(rep, 5)
    assert risks.sentences[0] == "Risks cannot be ranked: the SWOT report has not published swot\\_items in this run."
    assert actions.sentences[0] == ("No actions are derived from the SWOT: the SWOT report has not published "
                                    "swot\\_items in this run.")
    assert "The churn report's headline figures are not shown: the churn report has not published churn" in \
        risks.sentences[1]
    assert actions.sentences[1] == ("The segment strategies are not shown: the segmentation report has not "
                                    "published strategy in this run.")
    assert risks.tables == [] and actions.tables == []


def test_top_risks_list_weaknesses_and_threats_by_priority_with_their_figures(run):
    RunResults(run, notebook="swot").table("swot_items", _items())
    RunResults(run, notebook="churn").metrics("churn", {"dataset": "tiny", "auc": 0.66, "by_region": {"East": 0.3}})
    sec = es.top_risks(_rep(run), 1)
    assert sec.tables[0].caption == "Top 1 risks (weaknesses and threats by priority and size)"
    assert sec.tables[0].frame.to_dict("records") == [{"region": "East", "quadrant": "Weakness",
                                                       "title": "Churn above the rest"}]
    assert sec.sentences == ["- **East** — Churn above the rest. Churn rate: 31%."]
    sec = es.top_risks(_rep(run), 5)
    assert list(sec.value["quadrant"]) == ["Weakness", "Threat"]           # priority 3 before 2
    assert "Competitor &lt;b&gt;cuts&lt;/b&gt; prices" in sec.sentences[1]   # data escaped
    churn = sec.tables[1]
    assert churn.caption == "Headline figures of the churn report"
    assert churn.frame["value"].to_dict() == {"dataset": "tiny", "auc": 0.66}   # scalars only


def test_a_swot_without_risks_or_actions_says_so(run):
    items = _items()
    calm = items.loc[items["quadrant"].isin(["Strength", "Opportunity"])].assign(action="")
    RunResults(run, notebook="swot").table("swot_items", calm)
    assert es.top_risks(_rep(run), 5).sentences[0] == "The SWOT found no weaknesses or threats."
    assert es.top_actions(_rep(run), 5).sentences[0] == "The SWOT items carry no actions."


def test_top_actions_risks_first_and_the_strategy_table(run):
    RunResults(run, notebook="swot").table("swot_items", _items())
    RunResults(run, notebook="segmentation").table("strategy", pd.DataFrame(
        {"value_tier": ["high"] * 12, "rfm_segment": [f"s{i}" for i in range(12)], "customers": range(12)}))
    sec = es.top_actions(_rep(run), 5)
    actions, strategy = sec.tables
    assert actions.caption == "Top 3 actions" and list(actions.frame["action"]) == [
        "Retention programme", "Price response", "Referral programme"]         # the opportunity has no action
    assert list(actions.frame["because"]) == ["Churn above the rest", "Competitor <b>cuts</b> prices", "Satisfied base"]
    assert strategy.caption == "Segment strategies (segmentation report)" and strategy.max_rows == 10
    assert "(first 10 of 12 rows)" in strategy._repr_html_()


# ------------------------------------------------------------------------------ headline figures, publishing
def test_headline_figures_of_every_other_report(run, spec):
    rep = _rep(run)
    assert es.headline_figures(rep).sentences == ["No report of this run has published headline figures."]
    RunResults(run, notebook="churn").metrics("churn", {"dataset": "tiny", "rates": {"East": 0.25}})
    RunResults(run, notebook="executive_summary").metrics("executive_summary", {"dataset": "tiny"})
    sec = es.headline_figures(rep)
    assert sec.value.to_dict("records") == [
        {"report": "churn", "result": "churn", "figure": "dataset", "value": "tiny"},
        {"report": "churn", "result": "churn", "figure": "rates.East", "value": "0.25"}]
    RunResults(run, notebook="churn").metrics("churn", {"dataset": "tiny", **{f"f{i}": i for i in range(14)}})
    last = es.headline_figures(rep).value.iloc[-1].to_dict()
    assert last == {"report": "churn", "result": "churn", "figure": "…",
                    "value": "3 more figures in the run's results (churn)"}       # 12 shown; no file name


def test_publish_records_what_the_summary_covered(run, spec):
    _publish_kpi(run)
    RunResults(run, notebook="swot").table("swot_items", _items())
    rep = _rep(run)
    shown = es.publish(rep, spec, 2)
    assert shown.blocks == []                                   # the cell shows nothing
    m = RunResults(run).read_metrics("executive_summary")
    assert m == {"dataset": "tiny", "reports": ["kpi"], "missing": ["data_quality", "segmentation", "clv", "churn",
                                                                    "survey", "swot"],
                 "regional_scorecard": True, "top_risks": ["East: Churn above the rest",
                                                           "East: Competitor <b>cuts</b> prices"],
                 "top_actions": ["East: Retention programme", "East: Price response"]}


def test_the_notebook_is_thin(project_root):
    import nbformat
    nb = nbformat.read(project_root / "notebooks" / "99_executive_summary.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    lines = [ln for c in code for ln in c.source.splitlines() if ln.strip()]
    assert len(lines) <= 8 and all(len([ln for ln in c.source.splitlines() if ln.strip()]) <= 8 for c in code)
    assert not any(re.match(r"\s*(def|class|for|while|if) ", ln) for ln in lines)
    params = nb.cells[0]
    assert "parameters" in params.metadata["tags"] and "settings = None" in params.source
    assert sum(ln.startswith("# ") for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines()) == 0
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert len({c["id"] for c in nb.cells}) == len(nb.cells)
    assert isinstance(es.MarkedTable(pd.DataFrame(), ""), Table)
