import sys
sys.path.insert(0, "tools")
from nbbuild import build

build("notebooks/06_swot.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports
period = "Q"  # KPI period when the scorecard has to be computed here: "Q" or "M"
alpha = 0.05  # significance level of the tests behind the items
correction = "holm"  # correction across regions: "holm" or "fdr_bh"
family = "period"  # one adjustment covers "period" (all regions and metrics of a period) or "metric"
window_months = 12  # trailing window the SWOT reads
rules = "config/swot.yaml"  # editable SWOT rules
analyst = "config/swot_analyst.yaml"  # analyst items merged into the SWOT (may be empty)
'''),
("code", '''
import pandas as pd
from IPython.display import HTML, display

from toolkit import survey as sv
from toolkit.data import load_dataset
from toolkit.kpi import build_scorecard
from toolkit.plotting import apply_style
from toolkit.reports.format import fmt_int, say, show_table
from toolkit.results import RunResults
from toolkit.swot import build_swot, load_rules, swot_grid_html

apply_style()
ds = load_dataset(dataset)
run = RunResults(run_dir)
out = RunResults(run_dir, notebook="swot", pseudonymise=privacy)
window = f"L{window_months}M"
'''),
("md", '''
# Regional SWOT

Candidate strengths, weaknesses, opportunities and threats per region, derived by editable rules
(`config/swot.yaml`) from the KPI scorecard (each region against the rest of the company over the
last 12 months), the survey, the competitor table and the churn reasons, and merged with the items
analysts add by hand (`config/swot_analyst.yaml`). Every rule-based item states the figures and the
test behind it; an item is a candidate for discussion, not a verdict.
'''),
("md", "## Inputs"),
("code", '''
if run.has("kpi_scorecard") and (run.read_table("kpi_scorecard")["period"] == window).any():
    scorecard = run.read_table("kpi_scorecard")
    say("KPI evidence: the scorecard published by the KPI report of this run (`kpi_scorecard`).")
else:
    scorecard = build_scorecard(ds, period=period, alpha=alpha, correction=correction,
                                window_months=window_months, family=family).scorecard
    say("The KPI report has not published a scorecard for the window {w} in this run, so it was computed here "
        "with the same method ({c}, family {f}, alpha {a}).", w=window, c=correction, f=family, a=alpha)

def upstream(name, report):
    if run.has(name):
        return run.read_table(name)
    say("- Not available: **{n}** (the {r} report has not published it in this run) — the rules that need it "
        "are skipped.", n=name, r=report)
    return None

clv_by_region = upstream("clv_by_region", "CLV")
hazard_ratios = upstream("cox_hazard_ratios", "churn")
segment, seg_source = sv.segment_source(ds, run_dir, privacy) if ds.customers is not None else (None, "none")
say("Segments for the opportunity rules come from {s}.", s=seg_source)
rule_list, settings = load_rules(rules)
say("**{n}** rules loaded from {p}; a significant difference must also be at least **{m:.0%}** of the "
    "baseline to count.", n=len(rule_list), p=rules, m=float(settings.get("min_relative_difference", 0)))
'''),
("code", '''
res = build_swot(ds, scorecard, window=window, rules=rules, analyst=analyst, alpha=alpha, correction=correction,
                 segment=segment, clv_by_region=clv_by_region, hazard_ratios=hazard_ratios)
for note in res.notes:
    say("- {n}", n=note)
ev = res.evidence
if ds.has("market"):
    show_table(ds.market.set_index(["region", "competitor"]), "Competitors per region",
               units={"market_share": "share of the market", "price_index": "competitor price / ours (1 = parity)",
                      "growth": "yearly revenue growth"}, precision=3)
reasons = ev.loc[(ev["source"] == "churn_reasons") & (ev["subject"] != "price+competitor")]
if len(reasons):
    show_table(reasons.pivot_table(index="region", columns="subject", values="value"),
               f"Churn reasons: share of each region's churners ({window})", units="share of churners", precision=3)
'''),
("md", '''
## SWOT per region

Items are ordered by priority (set per rule) and by the size of the difference. "(analyst)" marks an
item added by hand.
'''),
("code", '''
counts = res.counts()
if res.items.empty:
    say("**No rule fired for any region** and no analyst items were given: on the evidence available no region "
        "differs from the rest of the company enough to make a SWOT item.")
else:
    show_table(counts, "SWOT items per region and quadrant", units="items")
for region in res.regions:
    display(HTML(swot_grid_html(res.items, region)))
'''),
("code", '''
if len(res.items):
    w = res.items.loc[res.items["quadrant"].isin(["Weakness", "Threat"])]
    s = res.items.loc[res.items["quadrant"].isin(["Strength", "Opportunity"])]
    say("**{nw}** weaknesses and threats, most of them in **{rw}**; **{ns}** strengths and opportunities, most in "
        "**{rs}**.", nw=len(w), rw=w["region"].value_counts().idxmax() if len(w) else "no region", ns=len(s),
        rs=s["region"].value_counts().idxmax() if len(s) else "no region")
    show_table(res.items.drop(columns=["evidence"]), "SWOT items (machine-readable table `swot_items`)",
               units={"value / reference": "unit of the metric", "p_adj": "adjusted p of the scorecard / evidence"},
               index=False, max_rows=60, precision=3)
'''),
("code", '''
out.table("swot_items", res.items, description="Candidate SWOT items per region with the figures and test behind "
          "each (evidence as JSON)", units={"p_adj": "adjusted p as in the evidence"})
out.table("swot_evidence", res.evidence, description="All evidence figures the SWOT rules read")
out.metrics("swot", {
    "dataset": ds.name, "window": window, "rules": len(rule_list), "items": int(len(res.items)),
    "by_quadrant": {q: int(n) for q, n in counts.sum().items()},
    "by_region": {r: {q: int(counts.loc[r, q]) for q in counts.columns} for r in counts.index},
    "analyst_items": int((res.items["origin"] == "analyst").sum()) if len(res.items) else 0,
}, description="SWOT item counts")
'''),
])
