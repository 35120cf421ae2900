"""The regional KPI scorecard report (``notebooks/02_kpi_scorecard.ipynb``), section by section.

* :func:`scorecard` — builds the scorecard (:func:`toolkit.kpi.build_scorecard`), publishes it
  (``kpi_scorecard``, ``kpi_table``, metrics ``kpi``) and states the definitions, units, tests and
  settings, or that no KPI could be computed;
* :func:`last_12_months` — the trailing window by region (two tables of at most eight metrics,
  values in their units), the company's headline and the significant differences from the rest
  of the company (a list, or a table when the list would be long);
* :func:`region_figures` — one figure per headline metric by region, with intervals;
* :func:`over_time` — trends over the calendar periods and the changes in the latest period;
* :func:`significant_differences` — every significant row of the scorecard, in the metric's unit.

Each returns a :class:`~toolkit.reports.section.Section`; ``value`` of :func:`scorecard` is the
:class:`~toolkit.kpi.scorecard.KPIResult` the later sections read.
"""
from __future__ import annotations

import pandas as pd

from toolkit.kpi import COMPANY, METRICS, KPIResult, build_scorecard
from toolkit.kpi.plots import plot_by_region, plot_trend
from toolkit.kpi.prose import flag_sentence, fmt
from toolkit.reports.context import ReportContext
from toolkit.value_terms import CLTV_DEFINITION
from toolkit.reports.section import Section, degrade_on_data_limits

DEFINITIONS = [
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
    ("cltv", CLTV_DEFINITION),
    ("clv_cac", "formula CLTV / CAC"),
    ("nps", "% promoters (9-10) - % detractors (0-6) of the 0-10 recommendation question"),
    ("csat", "share of satisfaction answers in the top two points of the scale"),
]
# The trailing window's metrics in two tables narrow enough for a printed page.
WINDOW_TABLES = (
    ("Customers and revenue", ("customers", "new", "active", "churned", "revenue", "aov", "purchase_frequency",
                               "revenue_per_customer")),
    ("Retention, acquisition cost, value and satisfaction", ("retention_rate", "churn_rate", "cac", "cltv",
                                                             "clv_cac", "nps", "csat")),
)
REGION_FIGURES = (("churn_rate", "Churn rate by region, last 12 months"),
                  ("csat", "CSAT (top-2-box) by region, last 12 months"),
                  ("nps", "Net promoter score by region, last 12 months"),
                  ("revenue_per_customer", "Revenue per active customer by region, last 12 months"),
                  ("cac", "Customer acquisition cost by region, last 12 months"))
TREND_FIGURES = (("revenue", "Net revenue per period"), ("churn_rate", "Churn rate per period"),
                 ("csat", "CSAT (top-2-box) per period"), ("cac", "Customer acquisition cost per period"))
MAX_LISTED = 8   # more significant differences than this are shown as a table, not a list


def _label(name: str) -> str:
    return " / ".join(METRICS[n].label if n in METRICS else n for n in name.split(" / "))


def _header(metric: str) -> str:
    """A metric's label as a column header: " / " would read as two columns in a units line."""
    return METRICS[metric].label.replace(" / ", "/")


def _unit(metric: str, currency: str) -> str:
    return METRICS[metric].unit.replace("currency", currency or "currency units")


def cell(value: float, metric: str, currency: str = "") -> str | None:
    """A metric value as a table shows it: shares in %, money with its currency and thousands
    separators, NPS in signed points, counts as integers; None when there is no value."""
    if value is None or pd.isna(value):
        return None
    unit = METRICS[metric].unit
    if unit.startswith("points"):
        return f"{value:+.1f}"
    if unit.startswith(("share", "currency")) or unit == "customers":
        return fmt(value, metric, currency)
    return f"{value:,.2f}"


def _p(p: float) -> str | None:
    return None if pd.isna(p) else f"{p:.2g}"


# ------------------------------------------------------------------------------------ sections
def scorecard(rep: ReportContext, period: str = "Q", alpha: float = 0.05, correction: str = "holm",
              family: str = "period", window_months: int = 12, n_boot: int = 2000) -> Section[KPIResult]:
    """Build and publish the scorecard; show the definitions, units and tests, the settings, the
    scorecard's notes, and say so when the dataset supports no KPI."""
    res = build_scorecard(rep.ds, period=period, alpha=alpha, correction=correction, window_months=window_months,
                          n_boot=n_boot, family=family)
    _publish(rep, res)   # the whole company's: the SWOT reads every region's tests
    if rep.region is not None:
        res = res.for_region(rep.region)   # a regional pack shows its region beside the company
    sec: Section[KPIResult] = Section(value=res)
    defs = pd.DataFrame([(_label(n), d) for n, d in DEFINITIONS], columns=["metric", "definition"])
    tests = pd.DataFrame([(m.label, m.name, _unit(m.name, rep.currency), m.test or "descriptive (no test)")
                          for m in METRICS.values()],
                         columns=["metric", "column", "unit", "test against the rest / the previous period"])
    sec.table(defs, "KPI definitions", units={"definition": "units in the next table"}, index=False, max_rows=20)
    sec.table(tests, "Units and tests per metric (intervals: Wilson for shares, t for means, bootstrap for NPS, "
              "exact Poisson for CAC; column: its name in the published tables)", index=False, max_rows=20)
    sec.say("Settings: periods **{per}**, significance level **{a}**, correction **{c}** across {fam}, NPS with "
            "**{b}** bootstrap resamples. Churn is measured **{basis}**.",
            per="quarters" if period == "Q" else "months", a=alpha, c=correction, b=n_boot,
            fam="all regions and metrics of a period and comparison" if family == "period"
            else "the regions of each metric, period and comparison",
            basis="from churn dates (contractual)" if res.basis == "contractual"
            else "from purchase activity (no churn dates in the data)")
    for note in res.notes:
        sec.say("- {note}", note=note)
    if res.table.empty:
        sec.say("**No KPI could be computed for dataset {name}** — it has no dated transactions, customers, spend "
                "or surveys. The rest of this report is empty.", name=rep.ds.title)
    return sec


def _publish(rep: ReportContext, res: KPIResult) -> None:
    """The scorecard's published results (names, frames, units and descriptions as before the report layer)."""
    out, ds = rep.out, rep.ds
    if res.table.empty:
        out.metrics("kpi", {"dataset": ds.name, "available": False, "notes": res.notes},
                    description="No KPI could be computed")
        return
    out.table("kpi_scorecard", res.scorecard, description="KPIs per region x period with intervals and tests vs the "
              "rest of the company and the previous period (adjusted across regions)",
              units={"value": "unit column", "p_adj": f"{res.correction} across regions"})
    out.table("kpi_table", res.table, description="KPIs per region (and Company) x period, wide",
              units={m.name: m.unit for m in METRICS.values()})
    win = res.window_table()
    by_region = {str(r): {m: float(win.loc[r, m]) for m in METRICS if pd.notna(win.loc[r, m])} for r in win.index}
    out.metrics("kpi", {
        "dataset": ds.name, "period": res.period, "window": res.window, "alpha": res.alpha,
        "correction": res.correction, "family": res.family,
        "churn_basis": res.basis, "regions": [r for r in win.index if r != COMPANY],
        "company": by_region.get(COMPANY, {}),
        "by_region": {k: v for k, v in by_region.items() if k != COMPANY},
        "flags": [{"region": r["region"], "metric": r["metric"], "direction": r["direction"],
                   "value": r["value"], "reference": r["reference"], "p_adj": r["p_adj"]}
                  for _, r in res.flags().iterrows()],
    }, description="Headline KPIs of the trailing window and the significant regional differences")


def window_tables(res: KPIResult, currency: str = "") -> list[tuple[str, pd.DataFrame, dict[str, str]]]:
    """The trailing window by region as (title, frame, units) tables: one row per region and the
    company, metrics by label, values formatted in their unit (None where a region has no value)."""
    win = res.window_table()
    out = []
    for title, metrics in WINDOW_TABLES:
        frame = pd.DataFrame({"region": win.index.astype(str)})
        units: dict[str, list[str]] = {}
        for m in metrics:
            frame[_header(m)] = [cell(v, m, currency) for v in win[m].to_numpy()]
            units.setdefault(_unit(m, currency), []).append(_header(m))
        out.append((title, frame, {" / ".join(labels): unit for unit, labels in units.items()}))
    return out


def last_12_months(rep: ReportContext, res: KPIResult, window_months: int = 12) -> Section[pd.DataFrame]:
    """The trailing window by region, the company's headline figures and the regions that differ
    significantly from the rest of the company; ``value``: the significant differences."""
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if res.table.empty:
        return sec
    cur = rep.currency
    w0, w1 = res.table.loc[res.table["period"] == res.window, ["period_start", "period_end"]].iloc[0]
    for title, frame, units in window_tables(res, cur):
        sec.table(frame, f"{title}: the trailing window {res.window} ({w0.date()} to {w1.date()}) by region",
                  units=units, index=False, max_rows=max(30, len(frame)))   # every region and the company
    comp = res.window_table().loc[COMPANY]
    base = ("customers at the start" if res.basis == "contractual"
            else f"customers who had bought in the {window_months} months before")
    sec.say("Over the {n} months to {end} the company had **{cust}** {base}, won **{new}** new ones, "
            "and earned **{rev}** of net revenue; the churn rate was **{churn}**, CSAT **{csat}** and NPS **{nps}**.",
            n=window_months, end=str(w1.date()), base=base, cust=fmt(comp["customers"], "customers"),
            new=fmt(comp["new"], "new"), rev=fmt(comp["revenue"], "revenue", cur),
            churn=fmt(comp["churn_rate"], "churn_rate"), csat=fmt(comp["csat"], "csat"), nps=fmt(comp["nps"], "nps"))
    flags = res.flags()
    sec.value = flags
    if flags.empty:
        sec.say("**No region differs significantly from the rest of the company** on any tested metric in this window "
                "(adjusted p >= {a}).", a=res.alpha)
    elif len(flags) <= MAX_LISTED:
        sec.say("**{k} significant differences from the rest of the company** (adjusted p < {a}):", k=len(flags),
                a=res.alpha)
        for _, r in flags.iterrows():
            sec.say("- {s}", s=flag_sentence(r, cur))
    else:
        sec.say("**{k} significant differences from the rest of the company** (adjusted p < {a}), by region:",
                k=len(flags), a=res.alpha)
        sec.table(flag_table(flags, cur), f"Significant differences from the rest of the company in {res.window}",
                  units={"value / rest of company": "unit of the metric", "adjusted p": res.correction},
                  index=False, max_rows=60)
    return sec


def flag_table(flags: pd.DataFrame, currency: str = "", reference: str = "rest of company") -> pd.DataFrame:
    """Significant differences (rows of :meth:`KPIResult.flags`) as a table, grouped by region;
    ``reference`` names the column of what each region is compared with."""
    f = flags.sort_values(["region", "metric"], kind="stable")
    return pd.DataFrame({
        "region": f["region"].astype(str).to_numpy(),
        "metric": [METRICS[m].label for m in f["metric"]],
        "value": [cell(v, m, currency) for v, m in zip(f["value"], f["metric"])],
        reference: [cell(v, m, currency) for v, m in zip(f["reference"], f["metric"])],
        "difference": f["direction"].to_numpy(),
        "adjusted p": [_p(p) for p in f["p_adj"]],
        "test": f["test"].to_numpy(),
    })


def region_figures(rep: ReportContext, res: KPIResult) -> Section[None]:
    """One figure per headline metric by region (trailing window), or why it is left out."""
    sec: Section[None] = Section()
    if res.table.empty:
        return sec
    win = res.window_table()
    for metric, title in REGION_FIGURES:
        if win[metric].notna().sum() >= 2:
            sec.figure(plot_by_region(res.scorecard, metric, res.window, title, rep.currency)[0])
        else:
            sec.say("No data for {m} in this dataset; figure left out.", m=METRICS[metric].label)
    return sec


def over_time(rep: ReportContext, res: KPIResult) -> Section[pd.DataFrame]:
    """Trends over the calendar periods and the regions that changed significantly in the latest
    period against the previous one; ``value``: those changes."""
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if res.table.empty:
        return sec
    cal = res.table.loc[~res.table["period"].isin([res.window, "P" + res.window[1:]])]
    for metric, title in TREND_FIGURES:
        if cal[metric].notna().sum() >= 2:
            sec.figure(plot_trend(cal, metric, f"{title} by region", rep.currency)[0])
    if not len(cal):
        return sec
    last = cal["period"].iloc[-1]
    ch = res.flags(period=last, comparison="previous")
    ch = ch.loc[ch["region"] != COMPANY]
    sec.value = ch
    if ch.empty:
        sec.say("In the latest complete period (**{p}**) no region changed significantly against its previous "
                "period.", p=last)
    elif len(ch) <= MAX_LISTED:
        sec.say("Significant changes in the latest complete period (**{p}**) against the previous one:", p=last)
        for _, r in ch.iterrows():
            sec.say("- {s}", s=flag_sentence(r, rep.currency))
    else:
        sec.say("**{k} significant changes** in the latest complete period (**{p}**) against the previous one, "
                "by region:", k=len(ch), p=last)
        sec.table(flag_table(ch, rep.currency, "previous period"), f"Significant changes in {last} against the "
                  "previous period", units={"value / previous period": "unit of the metric",
                                            "adjusted p": res.correction}, index=False, max_rows=60)
    return sec


def significant_table(res: KPIResult, currency: str = "") -> pd.DataFrame:
    """Every significant row of the scorecard (all periods), sorted by period, metric and region,
    with value, interval and reference in the metric's unit and the adjusted p-value."""
    sig = res.scorecard.loc[res.scorecard["significant"].fillna(False).astype(bool)]
    sig = sig.sort_values(["period", "metric", "region"])
    lo = [cell(v, m, currency) for v, m in zip(sig["ci_low"], sig["metric"])]
    hi = [cell(v, m, currency) for v, m in zip(sig["ci_high"], sig["metric"])]
    return pd.DataFrame({
        "region": sig["region"].astype(str).to_numpy(),
        "period": sig["period"].astype(str).to_numpy(),
        "metric": [METRICS[m].label for m in sig["metric"]],
        "compared with": ["rest of company" if c == "rest" else f"previous period ({p})"
                          for c, p in zip(sig["comparison"], sig["reference_label"])],
        "value": [cell(v, m, currency) for v, m in zip(sig["value"], sig["metric"])],
        "interval": [None if a is None or b is None else f"{a} to {b}" for a, b in zip(lo, hi)],
        "reference": [cell(v, m, currency) for v, m in zip(sig["reference"], sig["metric"])],
        "adjusted p": [_p(p) for p in sig["p_adj"]],
        "test": sig["test"].to_numpy(),
    })


def significant_differences(rep: ReportContext, res: KPIResult) -> Section[pd.DataFrame]:
    """The significant rows of the scorecard in every period and comparison, as one table."""
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if res.table.empty:
        return sec
    table = significant_table(res, rep.currency)
    sec.value = table
    if table.empty:
        sec.say("No region differs significantly, in any period, from the rest of the company or from its previous "
                "period (adjusted p >= {a}).", a=res.alpha)
        return sec
    ci = 100 * (1 - res.alpha)
    sec.table(table, "Significant differences (all periods)",
              units={"value / interval / reference": f"unit of the metric ({ci:g}% interval)",
                     "adjusted p": f"two-sided, adjusted ({res.correction}, family {res.family}); the raw p-values are "
                                   "in the published table kpi_scorecard"},
              index=False, max_rows=60)
    return sec


degrade_on_data_limits(globals())
