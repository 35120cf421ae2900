"""The data-quality report (notebooks/00_data_quality.ipynb): what the dataset spec delivered.

One function per section, in the report's order: :func:`tables_loaded`, :func:`rows_dropped`,
:func:`activity`, :func:`distributions`, :func:`missing_values`. Each takes the report's context
(``rep``, see :func:`toolkit.reports.open_report`), publishes what the section is the source of
(``table_overview``; ``load_report`` and the ``data_quality`` metrics) and returns the section.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from toolkit.data import quality as dq
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int, fmt_money, fmt_pct, shown_path
from toolkit.reports.section import Section, degrade_on_data_limits

ACTIVITY_UNITS = {"orders": "count", "customers": "active customers"}


@dataclass
class LoadSummary:
    """What loading did, in total: the rules that touched rows and the rows read and dropped."""

    rules: pd.DataFrame
    rows_read: int
    rows_dropped: int

    @property
    def dropped_share(self) -> float:
        return self.rows_dropped / max(self.rows_read, 1)


def tables_loaded(rep: ReportContext) -> Section[pd.DataFrame]:
    """The tables the spec delivered (rows, columns, customers, dates); publishes ``table_overview``."""
    ds = rep.ds
    overview = dq.table_overview(ds)
    rep.out.table("table_overview", overview.reset_index(), description="Tables loaded")
    sec: Section[pd.DataFrame] = Section(value=overview)
    sec.table(overview, "Tables loaded from the dataset spec",
              units={"rows": "count", "customers": "distinct customer ids", "first date / last date": "calendar date"})
    sec.say("Dataset **{title}** provides {n} of the six model tables ({names}); the analysis date (as-of) is "
            "**{as_of}**.", title=ds.title, n=len(ds.table_names), names=", ".join(ds.table_names),
            as_of=str(ds.as_of.date()))
    return sec


def rows_dropped(rep: ReportContext) -> Section[LoadSummary]:
    """Rows read, dropped, repaired and flagged per table and per loading rule; publishes
    ``load_report`` and the headline ``data_quality`` metrics."""
    ds = rep.ds
    counts = ds.report.tables_frame().set_index("table")
    rules = dq.rule_summary(ds)
    read = int(ds.report.rows_read)
    dropped = int(counts.loc[~counts["derived"], "rows_dropped"].sum())
    summary = LoadSummary(rules, read, dropped)
    rep.out.table("load_report", rules, description="Rows dropped, repaired or flagged per loading rule")
    rep.out.metrics("data_quality", {
        "dataset": ds.name, "as_of": str(ds.as_of.date()), "tables": list(ds.table_names),
        "rows_read": read, "rows_dropped": dropped, "rows_dropped_share": float(summary.dropped_share),
    }, description="Headline data-quality figures")

    spec_dir = ds.spec.path.parent if ds.spec.path is not None else None
    shown = counts.assign(file=[shown_path(f, spec_dir) for f in counts["file"]])
    sec: Section[LoadSummary] = Section(value=summary)
    sec.table(shown, "Rows read and written per table", units="rows")
    sec.table(rules, "Loading rules that touched rows",
              units={"rows": "count", "lines": "line numbers in the source file"}, index=False, max_rows=60)
    sec.say("Of **{read}** rows read from the dataset's files, **{dropped}** ({share}) were dropped and **{repaired}** "
            "repaired; **{flagged}** were flagged but kept.", read=fmt_int(read), dropped=fmt_int(dropped),
            share=fmt_pct(summary.dropped_share), repaired=fmt_int(counts["rows_repaired"].sum()),
            flagged=fmt_int(counts["rows_flagged"].sum()))
    for line in ds.report.balance_lines() + dq.notes(ds):
        sec.say("- {line}", line=line)
    return sec


def activity(rep: ReportContext) -> Section[pd.DataFrame | None]:
    """Orders, active customers and (with money) net revenue per month; the busiest month."""
    ds = rep.ds
    sec: Section[pd.DataFrame | None] = Section()
    if not ds.has("transactions"):
        return sec.say("The dataset has no transactions table, so there is no activity over time to show.")
    monthly = dq.monthly_activity(ds)
    fig = dq.plot_monthly(monthly, ds.currency) if ds.has_money else None
    if not ds.has_money:
        monthly = monthly.drop(columns="revenue")
    units = {**ACTIVITY_UNITS, "revenue": f"net revenue, {ds.currency or 'currency'}"}
    sec.value = monthly
    sec.table(monthly.tail(12), "Last 12 months of activity", units={c: units[c] for c in monthly.columns})
    best = monthly["revenue" if ds.has_money else "orders"].idxmax()
    what = (f"net revenue of {fmt_money(monthly['revenue'].max(), ds.currency)}" if ds.has_money
            else f"{fmt_int(monthly['orders'].max())} orders (the data has no amounts)")
    sec.say("Transactions run from **{first}** to **{last}**; the busiest month was **{best}** with {what}.",
            first=str(monthly.index.min().date()), last=str(monthly.index.max().date()),
            best=best.strftime("%B %Y"), what=what)
    if fig is not None:
        sec.figure(fig)
    return sec


def distributions(rep: ReportContext) -> Section[None]:
    """Row amounts (median, 99th percentile, returns) and the customers' categorical attributes."""
    ds = rep.ds
    sec: Section[None] = Section()
    figures = []
    if ds.has_money:
        figures.append(dq.plot_amounts(ds, ds.currency))
        amt = dq.amount_summary(ds)
        sec.say("Row amounts: median {med}, 99th percentile {p99}, {neg} negative rows (returns) worth {negsum} in "
                "total.", med=fmt_money(amt["median"], ds.currency), p99=fmt_money(amt["p99"], ds.currency),
                neg=fmt_int(amt["negative_rows"]), negsum=fmt_money(amt["negative_value"], ds.currency))
    elif ds.has("transactions"):
        sec.say("The transactions carry no amounts (purchase counts only), so there is no distribution of amounts.")
    if ds.has("customers"):
        for col, level_counts in dq.categorical_profile(ds, "customers").items():
            name = col.replace("_", " ")
            figures.append(dq.plot_counts(level_counts, f"Customers by {name}", name.capitalize()))
    for fig in figures:
        sec.figure(fig)
    return sec


def missing_values(rep: ReportContext) -> Section[pd.DataFrame]:
    """Columns with missing values after loading, or that there are none."""
    miss = dq.missingness(rep.ds)
    sec: Section[pd.DataFrame] = Section(value=miss)
    if len(miss):
        sec.table(miss, "Columns with missing values after loading",
                  units={"missing": "count", "share missing": "share of rows"}, index=False, max_rows=60)
    else:
        sec.say("No column of any table has missing values after loading.")
    return sec


degrade_on_data_limits(globals())
