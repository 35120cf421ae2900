import sys
sys.path.insert(0, "tools")
from nbbuild import build

build("notebooks/02_kpi_scorecard.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports
period = "Q"  # reporting period: "Q" (quarters) or "M" (months)
alpha = 0.05  # significance level of intervals and tests
correction = "holm"  # correction across regions: "holm" or "fdr_bh"
family = "period"  # one adjustment covers "period" (all regions and metrics of a period) or "metric"
window_months = 12  # trailing window compared with the rest of the company
n_boot = 2000  # bootstrap resamples for NPS intervals and tests
'''),
("code", '''
import matplotlib.pyplot as plt
import pandas as pd

from toolkit.data import load_dataset
from toolkit.kpi import COMPANY, METRICS, build_scorecard
from toolkit.kpi.plots import plot_by_region, plot_trend
from toolkit.kpi.prose import flag_sentence, fmt
from toolkit.plotting import apply_style
from toolkit.reports.format import fmt_pct, say, show_table
from toolkit.results import RunResults

apply_style()
ds = load_dataset(dataset)
ds.require_money()
out = RunResults(run_dir, notebook="kpi_scorecard", pseudonymise=privacy)
cur = ds.currency or "currency"
res = build_scorecard(ds, period=period, alpha=alpha, correction=correction, window_months=window_months,
                      n_boot=n_boot, family=family)
have = not res.table.empty
'''),
("md", '''
# Regional KPI scorecard

Each region's customers, revenue, retention, acquisition cost, customer value and satisfaction per
period, compared with **the rest of the company** (the company without the region, so a region is
never compared with a total that contains it) and with **its own previous period**. Every
comparison uses the test that suits the metric, and p-values are adjusted for the number of
comparisons (across the regions and, by default, across all metrics of a period), so a region is
only called different when the adjusted p-value is below the significance level.
'''),
("code", '''
defs = pd.DataFrame([
    ("customers", "customers on the books at the start of the period (acquired before it, not churned before it)"),
    ("new", "customers acquired in the period"),
    ("active", "customers with at least one order of positive value in the period"),
    ("churned", "customers whose churn date falls in the period"),
    ("revenue", "net revenue of the period (returns deducted)"),
    ("aov", "mean value of the orders of positive value"),
    ("purchase_frequency", "orders per active customer"),
    ("revenue_per_customer", "mean net revenue per active customer"),
    ("retention_rate / churn_rate", "share of the customers at the start who stayed / left during the period"),
    ("cac", "marketing spend / new customers"),
    ("cltv", "purchase frequency x average order value x average lifespan (1 / churn rate), in periods"),
    ("clv_cac", "formula CLTV / CAC"),
    ("nps", "% promoters (9-10) - % detractors (0-6) of the 0-10 recommendation question"),
    ("csat", "share of satisfaction answers in the top two points of the scale"),
], columns=["metric", "definition"])
tests = pd.DataFrame([(m.name, m.unit, m.test or "descriptive (no test)") for m in METRICS.values()],
                     columns=["metric", "unit", "test against the rest / the previous period"])
show_table(defs, "KPI definitions", units={"definition": "units in the next table"}, index=False, max_rows=20)
show_table(tests, "Units and tests per metric (intervals: Wilson for shares, t for means, bootstrap for NPS, "
           "exact Poisson for CAC)", index=False, max_rows=20)
say("Settings: periods **{per}**, significance level **{a}**, correction **{c}** across {fam}, NPS with "
    "**{b}** bootstrap resamples. Churn is measured **{basis}**.", per="quarters" if period == "Q" else "months",
    a=alpha, c=correction, b=n_boot, fam="all regions and metrics of a period and comparison" if family == "period"
    else "the regions of each metric, period and comparison",
    basis="from churn dates (contractual)" if res.basis == "contractual"
    else "from purchase activity (no churn dates in the data)")
for note in res.notes:
    say("- {note}", note=note)
if not have:
    say("**No KPI could be computed for dataset {name}** — it has no dated transactions, customers, spend or "
        "surveys. The rest of this report is empty.", name=ds.title)
'''),
("md", '''
## The last 12 months by region
'''),
("code", '''
if have:
    win = res.window_table()
    units = {"customers / new / active / churned": "customers", "revenue": cur, "aov": f"{cur} per order",
             "purchase_frequency": "orders per active customer", "revenue_per_customer": f"{cur} per active customer",
             "retention_rate / churn_rate / csat": "share (0-1)", "cac": f"{cur} per new customer",
             "cltv": f"{cur} per customer", "clv_cac": "ratio", "nps": "points (-100..100)"}
    w0, w1 = res.table.loc[res.table["period"] == res.window, ["period_start", "period_end"]].iloc[0]
    show_table(win, f"KPIs of the trailing window {res.window} ({w0.date()} to {w1.date()}) by region", units=units,
               precision=2)
    comp = win.loc[COMPANY]
    base = ("customers at the start" if res.basis == "contractual"
            else f"customers who had bought in the {window_months} months before")
    say("Over the {n} months to {end} the company had **{cust}** {base}, won **{new}** new ones, "
        "and earned **{rev}** of net revenue; the churn rate was **{churn}**, CSAT **{csat}** and NPS **{nps}**.",
        n=window_months, end=str(w1.date()), base=base, cust=fmt(comp["customers"], "customers"),
        new=fmt(comp["new"], "new"), rev=fmt(comp["revenue"], "revenue", ds.currency),
        churn=fmt(comp["churn_rate"], "churn_rate"), csat=fmt(comp["csat"], "csat"), nps=fmt(comp["nps"], "nps"))
    flags = res.flags()
    if flags.empty:
        say("**No region differs significantly from the rest of the company** on any tested metric in this window "
            "(adjusted p >= {a}).", a=alpha)
    else:
        say("**{k} significant differences from the rest of the company** (adjusted p < {a}):", k=len(flags), a=alpha)
        for _, r in flags.iterrows():
            say("- {s}", s=flag_sentence(r, ds.currency))
'''),
("code", '''
if have:
    for metric, title in (("churn_rate", "Churn rate by region, last 12 months"),
                          ("csat", "CSAT (top-2-box) by region, last 12 months"),
                          ("nps", "Net promoter score by region, last 12 months"),
                          ("revenue_per_customer", "Revenue per active customer by region, last 12 months"),
                          ("cac", "Customer acquisition cost by region, last 12 months")):
        if res.window_table()[metric].notna().sum() >= 2:
            plot_by_region(res.scorecard, metric, res.window, title, ds.currency)
            plt.show()
        else:
            say("No data for {m} in this dataset; figure left out.", m=METRICS[metric].label)
'''),
("md", '''
## Over time

Calendar periods, one line per region and the company in black.
'''),
("code", '''
if have:
    cal = res.table.loc[~res.table["period"].isin([res.window, "P" + res.window[1:]])]
    for metric, title in (("revenue", "Net revenue per period"), ("churn_rate", "Churn rate per period"),
                          ("csat", "CSAT (top-2-box) per period"), ("cac", "Customer acquisition cost per period")):
        if cal[metric].notna().sum() >= 2:
            plot_trend(cal, metric, f"{title} by region", ds.currency)
            plt.show()
    last = cal["period"].iloc[-1] if len(cal) else None
    if last is not None:
        ch = res.flags(period=last, comparison="previous")
        ch = ch.loc[ch["region"] != COMPANY]
        if ch.empty:
            say("In the latest complete period (**{p}**) no region changed significantly against its previous "
                "period.", p=last)
        else:
            say("Significant changes in the latest complete period (**{p}**) against the previous one:", p=last)
            for _, r in ch.iterrows():
                say("- {s}", s=flag_sentence(r, ds.currency))
'''),
("md", '''
## All significant differences

The full scorecard (every region, period, metric and comparison with value, interval, reference,
test, raw and adjusted p-value) is published as the table `kpi_scorecard`; the rows that are
significant after adjustment are listed here.
'''),
("code", '''
if have:
    sig = res.scorecard.loc[res.scorecard["significant"]]
    cols = ["region", "period", "metric", "comparison", "value", "ci_low", "ci_high", "reference", "p_value", "p_adj",
            "test"]
    show_table(sig[cols].sort_values(["period", "metric", "region"]), "Significant differences (all periods)",
               units={"value / ci / reference": "unit of the metric (see the definitions)",
                      "p_value / p_adj": f"two-sided, raw / adjusted ({correction}, family {family})"},
               index=False, max_rows=60,
               precision=3)
'''),
("code", '''
if have:
    out.table("kpi_scorecard", res.scorecard, description="KPIs per region x period with intervals and tests vs the "
              "rest of the company and the previous period (adjusted across regions)",
              units={"value": "unit column", "p_adj": f"{correction} across regions"})
    out.table("kpi_table", res.table, description="KPIs per region (and Company) x period, wide",
              units={m.name: m.unit for m in METRICS.values()})
    win = res.window_table()
    by_region = {str(r): {m: float(win.loc[r, m]) for m in METRICS if pd.notna(win.loc[r, m])} for r in win.index}
    out.metrics("kpi", {
        "dataset": ds.name, "period": period, "window": res.window, "alpha": alpha, "correction": correction,
        "family": family,
        "churn_basis": res.basis, "regions": [r for r in win.index if r != COMPANY],
        "company": by_region.get(COMPANY, {}),
        "by_region": {k: v for k, v in by_region.items() if k != COMPANY},
        "flags": [{"region": r["region"], "metric": r["metric"], "direction": r["direction"],
                   "value": r["value"], "reference": r["reference"], "p_adj": r["p_adj"]}
                  for _, r in res.flags().iterrows()],
    }, description="Headline KPIs of the trailing window and the significant regional differences")
else:
    out.metrics("kpi", {"dataset": ds.name, "available": False, "notes": res.notes},
                description="No KPI could be computed")
'''),
])
