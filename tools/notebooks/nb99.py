import sys
sys.path.insert(0, "tools")
from nbbuild import build

build("notebooks/99_executive_summary.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports
top_n = 5  # number of top risks and top actions shown
'''),
("code", '''
import pandas as pd

from toolkit.data.spec import load_spec
from toolkit.kpi import METRICS
from toolkit.reports.format import say, show_table, shows_money
from toolkit.results import RunResults
from toolkit.swot.summary import headline_figures, region_scorecard, top_actions, top_risks

spec = load_spec(dataset)
currency = str(spec.raw.get("currency", ""))
run = RunResults(run_dir)
out = RunResults(run_dir, notebook="executive_summary", pseudonymise=privacy)
names = [n for n in run.names() if run.meta(n).get("notebook") != "executive_summary"]
catalogue = run.catalogue()
catalogue = catalogue.loc[catalogue["notebook"] != "executive_summary"] if len(catalogue) else catalogue
EXPECTED = {"data_quality": "data quality", "kpi": "KPI scorecard", "segmentation": "segmentation",
            "clv": "customer lifetime value", "churn": "churn", "survey": "survey", "swot": "SWOT"}
present = [m for m in EXPECTED if m in names]
missing = [m for m in EXPECTED if m not in names]
'''),
("md", '''
# Executive summary

One page over every report of this run: what each found, how the regions compare, the main risks
and what to do about them. Each figure below is read from the results the other reports published;
a report that did not run (or failed) is named, and its part of the summary is left out.
'''),
("code", '''
say("Dataset: **{t}**. Reports with published results in this run: **{p}**.", t=spec.title,
    p=", ".join(EXPECTED[m] for m in present) or "none")
if missing:
    say("Not available in this run: {m} — their figures are missing from this summary.",
        m=", ".join(EXPECTED[m] for m in missing))
if not names:
    say("**This run has no published results yet**, so there is nothing to summarise. Run the other reports first "
        "(the runner runs this one last).")
'''),
("md", "## Regions at a glance"),
("code", '''
scorecard_shown = False
if run.has("kpi_scorecard") and run.has("kpi"):
    kpi = run.read_metrics("kpi")
    sc = run.read_table("kpi_scorecard")
    table = region_scorecard(sc, kpi["window"], currency)
    if run.has("clv_by_region"):
        clv = run.read_table("clv_by_region")
        if {"region", "mean_clv"} <= set(clv.columns):
            table["Mean CLV (CLV report)"] = clv.set_index("region")["mean_clv"].reindex(table.index).map(
                lambda v: "–" if pd.isna(v) else f"{currency} {v:,.0f}")
    show_table(table, f"Regional scorecard, {kpi['window']} (▲ / ▼: significantly above / below the rest of the "
               f"company, {kpi['correction']}-adjusted p < {kpi['alpha']})",
               units={"shares": "%", "NPS": "points", **({"money": currency} if shows_money(table, currency) else {})})
    scorecard_shown = True
    flags = kpi.get("flags") or []
    if flags:
        say("**{n}** significant regional differences in the last 12 months:", n=len(flags))
        for f in flags:
            say("- {r}: {m} {d} than in the rest of the company (adjusted p = {p:.2g}).", r=f["region"],
                m=METRICS[f["metric"]].label if f["metric"] in METRICS else f["metric"], d=f["direction"], p=f["p_adj"])
    else:
        say("No region differs significantly from the rest of the company on any KPI in the last 12 months.")
else:
    say("The KPI scorecard is not available in this run, so there is no regional comparison.")
'''),
("md", "## Top risks"),
("code", '''
items = run.read_table("swot_items") if run.has("swot_items") else None
risks = top_risks(items, top_n)
if items is None:
    say("The SWOT report has not published its items in this run, so risks cannot be ranked.")
elif risks.empty:
    say("The SWOT found no weaknesses or threats.")
else:
    show_table(risks[["region", "quadrant", "title"]], f"Top {len(risks)} risks (weaknesses and threats by "
               "priority and size)", index=False, units={"title": "the SWOT item; figures below"})
    for _, r in risks.iterrows():
        say("- **{reg}** — {t}. {s}", reg=r["region"], t=r["title"], s=r["statement"])
if run.has("churn"):
    churn = run.read_metrics("churn")
    flat = {k: v for k, v in churn.items() if isinstance(v, (int, float, str))}
    if flat:
        show_table(pd.Series(flat, name="value").to_frame(), "Headline figures of the churn report",
                   units="as published by the churn report")
'''),
("md", "## Top actions"),
("code", '''
actions = top_actions(items, top_n)
if items is None:
    say("No SWOT items in this run, so no actions are derived from it.")
elif actions.empty:
    say("The SWOT items carry no actions.")
else:
    show_table(actions, f"Top {len(actions)} actions", index=False,
               units={"because": "the SWOT item the action answers"})
if run.has("strategy"):
    show_table(run.read_table("strategy"), "Segment strategies (segmentation report)", max_rows=10)
else:
    say("The segmentation report's strategy table is not available in this run.")
'''),
("md", "## Headline figures of every report"),
("code", '''
figures = headline_figures(run_dir)
figures = figures.loc[figures["report"] != "executive_summary"] if len(figures) else figures
if len(figures):
    show_table(figures, "Headline figures as published by each report", index=False, max_rows=120,
               units="as published (shares 0-1, money in the dataset currency)")
else:
    say("No report of this run has published headline figures.")
'''),
("code", '''
out.metrics("executive_summary", {
    "dataset": spec.name, "reports": present, "missing": missing, "regional_scorecard": scorecard_shown,
    "top_risks": [f"{r['region']}: {r['title']}" for _, r in risks.iterrows()],
    "top_actions": [f"{a['region']}: {a['action']}" for _, a in actions.iterrows()],
}, description="What the executive summary covered")
'''),
])
