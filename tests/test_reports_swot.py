"""The SWOT report's sections (toolkit/reports/swot.py) on small frames and run folders built here:
the KPI scorecard of the run or computed here, upstream tables missing (named with their report), the
segments' source, notes, the competitor and churn-reason tables, no items at all, no risks, and what is
published."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.reports import swot as report
from toolkit.reports.context import ReportContext
from toolkit.results import RunResults
from toolkit.swot import ITEM_COLUMNS, SwotResult, load_rules
from toolkit.swot.evidence import COLUMNS as EVIDENCE_COLUMNS


class _Data:
    """A stand-in dataset: the attributes the sections read."""

    def __init__(self, customers=None, market=None):
        self.customers, self.market, self.name, self.currency = customers, market, "tiny", "EUR"

    def has(self, table: str) -> bool:
        return getattr(self, table, None) is not None


def _rep(tmp_path, ds=None) -> ReportContext:
    return ReportContext("swot", ds or _Data(), RunResults(tmp_path / "run", notebook="swot"))


def _scorecard(period="L12M") -> pd.DataFrame:
    return pd.DataFrame({
        "region": ["East", "West"], "period": [period] * 2, "period_start": pd.to_datetime(["2025-07-01"] * 2),
        "period_end": pd.to_datetime(["2026-06-30"] * 2), "metric": ["churn_rate"] * 2, "label": ["Churn rate"] * 2,
        "unit": ["share of customers at start"] * 2, "value": [0.3, 0.1], "n": [100.0, 90.0],
        "comparison": ["rest"] * 2, "reference_label": ["rest of company"] * 2, "reference": [0.1, 0.3],
        "test": ["two-proportion z"] * 2, "p_value": [0.001, 0.001], "p_adj": [0.002, 0.002],
        "significant": [True, True], "direction": ["higher", "lower"]})


RULES = "config/swot.yaml"


# ------------------------------------------------------------------------------ inputs
def test_inputs_from_the_run_name_every_source(tmp_path, project_root, monkeypatch):
    monkeypatch.chdir(project_root)
    RunResults(tmp_path / "run", notebook="kpi_scorecard").table("kpi_scorecard", _scorecard())
    RunResults(tmp_path / "run", notebook="clv").table("clv_by_region", pd.DataFrame(
        {"region": ["East"], "customers": [10], "mean_clv": [1.0]}))
    sec = report.inputs(_rep(tmp_path), rules=RULES)
    rules, settings = load_rules(RULES)
    assert sec.sentences == [
        "KPI evidence: the scorecard published by the KPI report of this run (`kpi_scorecard`).",
        "- Not available: **cox\\_hazard\\_ratios** (the churn report has not published cox\\_hazard\\_ratios in this "
        "run) — the rules that need it are skipped.",
        "Segments for the opportunity rules come from none.",
        f"**{len(rules)}** rules loaded from config/swot.yaml; a significant difference must also be at least "
        f"**{float(settings['min_relative_difference']):.0%}** of the baseline to count."]
    got = sec.value
    assert not got.computed_here and got.window == "L12M" and len(got.scorecard) == 2
    assert got.upstream["cox_hazard_ratios"] is None and list(got.upstream["clv_by_region"]["region"]) == ["East"]
    assert len(got.rules) == len(rules) and got.segment is None


def test_inputs_compute_the_scorecard_when_the_run_has_none_for_the_window(tmp_path, project_root, monkeypatch):
    monkeypatch.chdir(project_root)
    RunResults(tmp_path / "run", notebook="kpi_scorecard").table("kpi_scorecard", _scorecard(period="L6M"))
    calls = []

    class _Built:
        scorecard = _scorecard()

    monkeypatch.setattr(report, "build_scorecard", lambda ds, **kw: calls.append(kw) or _Built())
    sec = report.inputs(_rep(tmp_path), period="M", alpha=0.1, correction="fdr_bh", family="metric",
                        window_months=12, rules=RULES)
    assert calls == [{"period": "M", "alpha": 0.1, "correction": "fdr_bh", "window_months": 12, "family": "metric"}]
    assert sec.sentences[0] == ("The KPI report has not published a scorecard for the window L12M in this run, so it "
                                "was computed here with the same method (fdr\\_bh, family metric, alpha 0.1).")
    assert sec.value.computed_here
    assert sum("Not available" in s for s in sec.sentences) == 2           # CLV and churn tables both missing


def test_segments_come_from_the_segmentation_report_of_the_run(tmp_path, project_root, monkeypatch):
    from toolkit.privacy import pseudonym
    monkeypatch.chdir(project_root)
    RunResults(tmp_path / "run", notebook="kpi_scorecard").table("kpi_scorecard", _scorecard())
    customers = pd.DataFrame({"customer_id": ["a", "b"], "customer_type": ["retail", "b2b"]})
    ds = _Data(customers=customers)
    sec = report.inputs(_rep(tmp_path, ds), rules=RULES)
    assert ("Segments for the opportunity rules come from the customer type (the segmentation report has not "
            "published customer\\_segments in this run).") in sec.sentences
    RunResults(tmp_path / "run", notebook="segmentation").export("customer_segments", pd.DataFrame(
        {"customer_id": ["a", "b"], "rfm_segment": ["Loyal", "Lost"], "value_tier": ["high", "low"]}))
    assert (tmp_path / "run" / "results" / "customer_segments.parquet").exists()
    assert pseudonym(pd.Series(["a"])).iloc[0].startswith("P")
    sec = report.inputs(_rep(tmp_path, ds), rules=RULES)
    assert ("Segments for the opportunity rules come from the segmentation report of this run "
            "(customer\\_segments).") in sec.sentences
    assert sec.value.segment.to_dict() == {"a": "high", "b": "low"}         # value tier before RFM segment


# ------------------------------------------------------------------------------ evidence
def _result(items: pd.DataFrame, notes=(), regions=("East", "West"), evidence=None) -> SwotResult:
    ev = evidence if evidence is not None else pd.DataFrame(columns=EVIDENCE_COLUMNS)
    return SwotResult(items.reset_index(drop=True), ev, list(regions), list(notes))


def _item(region, quadrant, title, priority=1, score=0.5, origin="rule", action="Act") -> dict:
    row = {c: np.nan for c in ITEM_COLUMNS}
    row.update(region=region, quadrant=quadrant, title=title, statement=f"{title}: figures.", action=action,
               priority=priority, score=score, origin=origin, rule="r", subject="", metric="m",
               reference_label="", test="", evidence="[]")
    return row


ITEMS = pd.DataFrame([_item("East", "Weakness", "Churn high", 3, 0.9), _item("East", "Threat", "Valtrix <cheap>", 2),
                      _item("West", "Strength", "Loyal base"), _item("East", "Strength", "Big", origin="analyst")],
                     columns=ITEM_COLUMNS)


def _inputs(tmp_path, project_root):
    rules, settings = load_rules(project_root / RULES)
    return report.SwotInputs("L12M", _scorecard(), RULES, rules, settings)


def _reasons() -> pd.DataFrame:
    ev = pd.DataFrame({"source": "churn_reasons", "region": ["East", "East", "West", "East"],
                       "subject": ["price", "service", "price", "price+competitor"], "value": [0.4, 0.6, 0.2, 0.7]})
    return ev.reindex(columns=EVIDENCE_COLUMNS)


def test_evidence_shows_notes_competitors_and_churn_reasons_and_publishes(tmp_path, project_root, monkeypatch):
    monkeypatch.chdir(project_root)
    market = pd.DataFrame({"region": ["East"], "competitor": ["Valtrix"], "market_share": [0.26],
                           "price_index": [0.85], "growth": [0.28]})
    built = _result(ITEMS, notes=["The dataset has no <market> table."], evidence=_reasons())
    seen = {}
    monkeypatch.setattr(report, "build_swot", lambda ds, sc, **kw: seen.update(kw) or built)
    rep = _rep(tmp_path, _Data(market=market))
    inputs = _inputs(tmp_path, project_root)
    sec = report.evidence(rep, inputs, analyst=None, alpha=0.1, correction="fdr_bh")
    assert seen["window"] == "L12M" and seen["alpha"] == 0.1 and seen["correction"] == "fdr_bh"
    assert seen["analyst"] is None and seen["rules"] == RULES
    assert sec.sentences == ["- The dataset has no &lt;market&gt; table."]
    competitors, reasons = sec.tables
    assert competitors.caption == "Competitors per region" and competitors.precision == 3
    assert list(competitors.frame.index.names) == ["region", "competitor"]
    assert reasons.caption == "Churn reasons: share of each region's churners (L12M)"
    assert reasons.frame.loc["East"].to_dict() == {"price": 0.4, "service": 0.6}     # the combined reason left out
    assert np.isnan(reasons.frame.loc["West", "service"])
    out = RunResults(tmp_path / "run")
    assert len(out.read_table("swot_items")) == 4 and out.meta("swot_items")["notebook"] == "swot"
    m = out.read_metrics("swot")
    assert m["rules"] == len(inputs.rules) and m["items"] == 4 and m["analyst_items"] == 1
    assert m["by_quadrant"] == {"Strength": 2, "Weakness": 1, "Opportunity": 0, "Threat": 1}
    assert m["by_region"]["East"] == {"Strength": 1, "Weakness": 1, "Opportunity": 0, "Threat": 1}


def test_evidence_without_market_or_reasons_shows_no_tables(tmp_path, project_root, monkeypatch):
    monkeypatch.chdir(project_root)
    monkeypatch.setattr(report, "build_swot", lambda ds, sc, **kw: _result(ITEMS.iloc[:0]))
    sec = report.evidence(_rep(tmp_path), _inputs(tmp_path, project_root))
    assert sec.tables == [] and sec.sentences == []
    assert RunResults(tmp_path / "run").read_metrics("swot")["items"] == 0


def test_formula_cltv_beside_model_clv_is_explained_with_the_horizon(tmp_path, project_root, monkeypatch):
    """Issue 17: the SWOT put "Formula CLTV EUR 40,033" beside "Mean CLV EUR 675" with no word on why; the
    CLV now carries its horizon (clv_by_region's basis) into the evidence label and the explanation."""
    from toolkit.swot.evidence import from_clv

    monkeypatch.chdir(project_root)
    clv = pd.DataFrame({"region": ["East", "West"], "customers": [10, 30], "mean_clv": [675.0, 414.0],
                        "basis": "12 months"})
    clv_ev = from_clv(clv)
    assert set(clv_ev["label"]) == {"Mean model CLV, next 12 months (CLV report)"}
    cltv = pd.DataFrame({"source": "kpi", "region": ["East"], "metric": ["cltv"], "label": ["Formula CLTV"],
                         "value": [40033.0]}).reindex(columns=EVIDENCE_COLUMNS)
    inputs = _inputs(tmp_path, project_root)
    inputs.upstream["clv_by_region"] = clv
    for evidence, explained in ((pd.concat([cltv, clv_ev], ignore_index=True), True), (clv_ev, False)):
        monkeypatch.setattr(report, "build_swot", lambda ds, sc, ev=evidence, **kw: _result(ITEMS, evidence=ev))
        sec = report.evidence(_rep(tmp_path / str(explained)), inputs)
        said = [s for s in sec.sentences if "measure different things" in s]
        assert len(said) == int(explained)
        if explained:
            assert "**next 12 months**" in said[0] and "undiscounted and before margin" in said[0]


def test_call_back_and_budget_advice_point_to_the_tables_behind_them(tmp_path, project_root, monkeypatch):
    """Issue 17: the SWOT advised calling back detractors and shifting budget to the cheapest channels with
    no list and no CAC by channel. Counted by hand below: East's latest answers in the action plan's 180 days
    are a (3), b (9), d (8; its earlier 2 is superseded); c's 5 is 400 days old. Window spend and acquisitions:
    online_ads EUR 1,000 for a and b, referral EUR 300 for c."""
    monkeypatch.chdir(project_root)
    customers = pd.DataFrame({"customer_id": list("abcdef"), "region": ["East"] * 4 + ["West"] * 2,
                              "acquisition_date": ["2025-08-01", "2025-09-01", "2025-10-01", "2020-01-01",
                                                   "2025-08-01", "2020-01-01"],
                              "acquisition_channel": ["online_ads", "online_ads", "referral", "referral",
                                                      "online_ads", "referral"]})
    surveys = pd.DataFrame({"customer_id": list("abcdde"), "nps": [3, 9, 5, 2, 8, 0],
                            "response_date": pd.to_datetime(["2026-05-01", "2026-06-01", "2025-05-26", "2026-02-01",
                                                             "2026-04-01", "2026-06-01"])})
    spend = pd.DataFrame({"period": ["2025-09-01", "2025-09-01", "2024-01-01", "2025-09-01"],
                          "region": ["East", "East", "East", "West"],
                          "channel": ["online_ads", "referral", "referral", "online_ads"],
                          "spend": [1000.0, 300.0, 5000.0, 70.0]})
    ds = _Data(customers=customers)
    ds.surveys, ds.marketing_spend, ds.as_of, ds.has_money = surveys, spend, pd.Timestamp("2026-06-30"), True
    items = pd.DataFrame([_item("East", "Weakness", "NPS low"), _item("East", "Weakness", "CAC high"),
                          _item("West", "Strength", "NPS high")], columns=ITEM_COLUMNS)
    items["metric"] = ["nps", "cac", "nps"]
    monkeypatch.setattr(report, "build_swot", lambda ds, sc, **kw: _result(items))
    sec = report.evidence(_rep(tmp_path, ds), _inputs(tmp_path, project_root))
    detr, cac = sec.tables
    assert detr.caption == ("Detractors to call back, per region (latest answer NPS 6 or less, given in the last "
                            "180 days)")
    assert detr.frame.to_dict("index") == {"East": {"detractors": 1, "respondents": 3, "detractor_share": 1 / 3}}
    assert cac.caption == "Cost per new customer by region and channel (L12M)"
    assert cac.frame["cac"].to_dict() == {("East", "online_ads"): 500.0, ("East", "referral"): 300.0}
    assert ("In **East** the cheapest channel per new customer is **referral** (EUR 300), the dearest "
            "**online\\_ads** (EUR 500).") in sec.sentences
    actions = RunResults(tmp_path / "run").read_table("swot_items").set_index("title")["action"]
    assert actions["NPS low"].endswith("(see 'Detractors to call back, per region')")
    assert actions["CAC high"].endswith("(see 'Cost per new customer by region and channel')")
    assert "(see" not in actions["NPS high"]        # a strength needs no call list


# ------------------------------------------------------------------------------ per region, items
def _grids(sec) -> list[str]:
    return [b.data for b in sec.blocks if hasattr(b, "data") and "swot-grid" in b.data]


def test_no_item_says_no_rule_fired_and_still_shows_each_region(tmp_path):
    sec = report.per_region(_rep(tmp_path), _result(ITEMS.iloc[:0]))
    assert sec.tables == []
    assert sec.sentences[0].startswith("**No rule fired for any region** and no analyst items were given")
    assert len(_grids(sec)) == 2 and "No item." in _grids(sec)[0]
    assert report.items(_rep(tmp_path), _result(ITEMS.iloc[:0])).blocks == []


def test_items_per_region_and_quadrant_and_a_grid_per_region(tmp_path):
    sec = report.per_region(_rep(tmp_path), _result(ITEMS))
    counts = sec.tables[0].frame
    assert sec.tables[0].caption == "SWOT items per region and quadrant"
    assert counts.loc["East"].to_dict() == {"Strength": 1, "Weakness": 1, "Opportunity": 0, "Threat": 1}
    east, west = _grids(sec)
    assert "<h3>East</h3>" in east and "Valtrix &lt;cheap&gt;" in east and "(analyst)" in east
    assert "<h3>West</h3>" in west and "Loyal base" in west


def test_the_summary_sentence_names_where_risks_and_strengths_concentrate(tmp_path):
    sec = report.items(_rep(tmp_path), _result(ITEMS))
    assert sec.sentences == ["**2** weaknesses and threats, most of them in **East**; **2** strengths and "
                             "opportunities, most in **West** and **East**."]     # a tie names both, in the items' order
    table = sec.tables[0]
    # the figures only (the grids show statements and actions): narrow enough for a 1280 px page
    assert list(table.frame.columns) == ["region", "quadrant", "title", "metric", "value", "reference", "test", "p_adj"]
    assert table.max_rows == 60 and not table.index and "statements, actions and evidence" in table.caption
    strengths = pd.concat([ITEMS.loc[ITEMS["quadrant"] == "Strength"],
                           pd.DataFrame([_item("East", "Opportunity", "Norvex dearer")], columns=ITEM_COLUMNS)])
    sec = report.items(_rep(tmp_path), _result(strengths))
    assert sec.sentences == ["**0** weaknesses and threats, most of them in **no region**; **3** strengths and "
                             "opportunities, most in **East**."]


def test_the_notebook_is_thin_and_publishes_what_it_did(project_root):
    import nbformat
    import re
    nb = nbformat.read(project_root / "notebooks" / "06_swot.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    lines = [ln for c in code for ln in c.source.splitlines() if ln.strip()]
    assert len(lines) <= 8 and all(len([ln for ln in c.source.splitlines() if ln.strip()]) <= 8 for c in code)
    assert not any(re.match(r"\s*(def|class|for|while|if) ", ln) for ln in lines)
    assert "settings = None" in nb.cells[0].source and "parameters" in nb.cells[0].metadata["tags"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert len({c["id"] for c in nb.cells}) == len(nb.cells)
    assert not any(ln.startswith("# ") for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines())
    assert json.loads(json.dumps(nb.metadata))["kernelspec"]["name"] == "python3"
