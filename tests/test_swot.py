"""SWOT: the regions built different get the matching items, alike regions get none, every item's
figures exist in the scorecard / evidence, analyst items and escaping, and the KPI -> survey -> SWOT
-> executive-summary notebooks run through papermill into one run folder."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.data import load_dataset
from toolkit.data.demo import write_demo
from toolkit.kpi import build_scorecard
from toolkit.survey import segment_source
from toolkit.swot import build_swot, parse_analyst_items, parse_rules, swot_grid_html

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("02_kpi_scorecard", "05_survey", "06_swot", "99_executive_summary")


def _swot(root: Path, regional_differences: bool):
    data = root / "data"
    write_demo(data, seed=42, n_customers=4000, regional_differences=regional_differences)
    spec = yaml.safe_load((ROOT / "config" / "datasets" / "demo.yaml").read_text())
    spec.update(name="demo_4k", base=str(data))
    spec.pop("generator")
    ds = load_dataset(spec)
    kpi = build_scorecard(ds, n_boot=1000)
    return kpi, build_swot(ds, kpi.scorecard, segment=segment_source(ds)[0], analyst=None)


@pytest.fixture(scope="module")
def different(tmp_path_factory):
    return _swot(tmp_path_factory.mktemp("swot_demo"), True)


@pytest.fixture(scope="module")
def alike(tmp_path_factory):
    return _swot(tmp_path_factory.mktemp("swot_alike"), False)


def _rules(items: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(items["region"], items["quadrant"], items["rule"]))


def test_demo_swot_flags_east_and_north(different):
    _, res = different
    got = _rules(res.items)
    assert ("East", "Weakness", "churn_high") in got
    assert ("East", "Threat", "competitor_price_cut") in got           # Valtrix at price index 0.85
    assert ("North", "Strength", "satisfaction_high") in got
    assert not any(r == "North" and q == "Weakness" and rule in ("churn_high", "satisfaction_low", "nps_low")
                   for r, q, rule in got)
    threat = res.items.loc[res.items["rule"] == "competitor_price_cut"].iloc[0]
    assert threat["subject"] == "Valtrix" and "0.85" in threat["statement"]


def test_no_items_when_regions_are_alike(alike):
    _, res = alike
    assert res.items.empty, res.items[["region", "rule", "statement"]]


def test_every_item_cites_figures_that_exist(different):
    kpi, res = different
    sc = kpi.scorecard.set_index(["region", "period", "metric", "comparison"])
    ev = res.evidence
    assert len(res.items)
    for _, item in res.items.iterrows():
        records = json.loads(item["evidence"])
        assert records, item["title"]
        for rec in records:
            if rec["source"] == "kpi":
                row = sc.loc[(rec["region"], rec["period"], rec["metric"], rec["comparison"])]
                for k in ("value", "reference", "p_value", "p_adj"):
                    want = row[k]
                    assert (rec[k] is None and pd.isna(want)) or rec[k] == pytest.approx(want), (item["title"], k)
            else:
                match = ev.loc[(ev["source"] == rec["source"]) & (ev["region"] == rec["region"])
                               & (ev["subject"] == rec["subject"]) & (ev["metric"] == rec["metric"])]
                assert len(match) and match["value"].iloc[0] == pytest.approx(rec["value"]), rec
        main = records[0]
        assert item["metric"] == main["metric"] and item["value"] == pytest.approx(main["value"])
        if main["p_adj"] is not None:
            assert f"adjusted p = {main['p_adj']:.2g}" in item["statement"]


def test_analyst_items_merge_and_are_escaped(different):
    _, res = different
    extra = parse_analyst_items([{"region": "all", "quadrant": "Opportunity", "title": "<script>alert(1)</script>",
                                  "statement": "new retail park", "action": "open a shop", "source": "field visit"}],
                                res.regions)
    assert len(extra) == len(res.regions) and (extra["origin"] == "analyst").all()
    page = swot_grid_html(pd.concat([res.items, extra], ignore_index=True), "East")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Weaknesses" in page and "Opportunities" in page
    with pytest.raises(ValueError, match="quadrant"):
        parse_analyst_items([{"region": "East", "quadrant": "Risk", "title": "x"}], res.regions)


def test_rules_are_validated():
    with pytest.raises(ValueError, match="unknown key"):
        parse_rules({"rules": [{"id": "x", "quadrant": "Threat", "when": [{"metric": "nps"}], "colour": "red"}]})
    with pytest.raises(ValueError, match="metric"):
        parse_rules({"rules": [{"id": "x", "quadrant": "Threat", "when": [{"value_lt": 1}]}]})
    rules, _ = parse_rules(yaml.safe_load((ROOT / "config" / "swot.yaml").read_text()))
    assert {r.quadrant for r in rules} == {"Strength", "Weakness", "Opportunity", "Threat"}


@pytest.fixture(scope="module")
def pipeline(small_demo_spec, tmp_path_factory):
    """The four notebooks in order into one run folder (as the runner would), on the small demo."""
    import papermill as pm

    work = tmp_path_factory.mktemp("swot_run")
    run_dir = work / "run"
    for nb in NOTEBOOKS:
        pm.execute_notebook(str(ROOT / "notebooks" / f"{nb}.ipynb"), str(work / f"{nb}.ipynb"),
                            parameters={"dataset": str(small_demo_spec), "run_dir": str(run_dir), "privacy": True},
                            kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    return run_dir


def test_notebooks_publish_their_results(pipeline):
    from toolkit.results import RunResults

    res = RunResults(pipeline)
    assert {"kpi_scorecard", "kpi_table", "kpi", "survey", "survey_csat", "survey_nps", "survey_reliability",
            "swot_items", "swot_evidence", "swot", "executive_summary"} <= set(res.names())
    kpi = res.read_metrics("kpi")
    assert {"East", "North"} <= set(kpi["regions"]) and kpi["window"] == "L12M"
    assert any(f["region"] == "East" and f["metric"] == "churn_rate" for f in kpi["flags"])
    items = res.read_table("swot_items")
    assert ((items["region"] == "East") & (items["rule"] == "churn_high")).any()
    summary = res.read_metrics("executive_summary")
    assert {"kpi", "survey", "swot"} <= set(summary["reports"]) and "clv" in summary["missing"]
    assert summary["regional_scorecard"] and summary["top_risks"]


def test_executive_summary_degrades_on_an_empty_run(small_demo_spec, tmp_path):
    import papermill as pm

    from toolkit.results import RunResults

    nb = pm.execute_notebook(str(ROOT / "notebooks" / "99_executive_summary.ipynb"), str(tmp_path / "out.ipynb"),
                             parameters={"dataset": str(small_demo_spec), "run_dir": str(tmp_path / "run"),
                                         "privacy": True}, kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    text = json.dumps(nb["cells"])
    assert "has no published results yet" in text and "not available in this run" in text
    m = RunResults(tmp_path / "run").read_metrics("executive_summary")
    assert m["reports"] == [] and not m["regional_scorecard"]


def test_churn_report_hazard_ratios_are_attached_as_support(different):
    from toolkit.swot import apply_rules, load_rules
    from toolkit.swot.evidence import from_churn_model

    _, res = different
    hr = pd.DataFrame({"covariate": ["region", "customer_type"], "hazard_ratio": [1.8, 0.6], "p_value": [1e-6, 1e-3]},
                      index=pd.Index(["region[East]", "customer_type[enterprise]"], name="term"))
    support = from_churn_model(hr, res.regions)
    assert list(support["region"]) == ["East"]                       # only region terms are read
    rules, settings = load_rules(ROOT / "config" / "swot.yaml")
    items = apply_rules(pd.concat([res.evidence, support], ignore_index=True), rules, settings)
    churn = items.loc[(items["region"] == "East") & (items["rule"] == "churn_high")].iloc[0]
    assert any(r["source"] == "churn_model" for r in json.loads(churn["evidence"]))
    assert "Cox model of the churn report" in churn["statement"]
