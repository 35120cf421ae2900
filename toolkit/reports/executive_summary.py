"""The executive summary (notebooks/99_executive_summary.ipynb): one page over every report of a run.

Sections, in the report's order; each reads what the other reports published, through
:mod:`toolkit.contract`, and says which report a missing part would have come from:

* :func:`coverage` — the dataset and which reports published results;
* :func:`regions_at_a_glance` — the regional scorecard, its ▲ / ▼ coloured by whether the
  difference is better (green) or worse (red) for the company (each KPI's direction:
  ``toolkit.kpi.METRICS[...].better``), a legend, and the significant differences grouped per region;
* :func:`top_risks`, :func:`top_actions` — from the SWOT items (and the churn and segmentation reports);
* :func:`headline_figures` — the headline metrics of every report;
* :func:`publish` — what the summary covered (metrics ``executive_summary``).

The summary loads no dataset: ``dataset`` (the spec) gives its title and currency.
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from IPython.display import HTML

from toolkit import contract
from toolkit.data.focus import region_rows
from toolkit.data.spec import load_spec
from toolkit.kpi import METRICS
from toolkit.kpi.prose import fmt
from toolkit.kpi.scorecard import COMPANY
from toolkit.reports.context import ReportContext
from toolkit.reports.format import esc, shows_money
from toolkit.reports.section import Section, Table, degrade_on_data_limits
from toolkit.swot import summary as sm
from toolkit.value_terms import clv_label, two_values_sentence

NAME = "executive_summary"
COLOURS = {sm.BETTER: "#1a7f37", sm.WORSE: "#b42318"}   # green: better for the company, red: worse
_TABLE_ID = re.compile(r'<table id="([^"]+)"')


# ------------------------------------------------------------------------------ a table with coloured cells
@dataclass
class MarkedTable(Table):
    """A :class:`~toolkit.reports.section.Table` whose cells marked "better" / "worse" in ``marks``
    (same index and columns as ``frame``) are shown in green / red. (A small helper of this report:
    ``section.Table`` has no per-cell styles.)"""

    marks: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        page = super()._repr_html_()
        found = _TABLE_ID.search(page)
        if self.marks is None or found is None:
            return page
        shown = [c for c in self.frame.columns if not self.frame[c].isna().all()]   # table_html drops the rest
        marks = self.marks.reindex(index=self.frame.index, columns=shown).head(self.max_rows)
        rules = [f"#{found.group(1)}_row{r}_col{c} {{color: {COLOURS[m]}; font-weight: 600}}"
                 for r, row in enumerate(marks.itertuples(index=False)) for c, m in enumerate(row) if m in COLOURS]
        return page.replace("</style>", "\n".join(rules) + "\n</style>", 1) if rules else page


def legend(labels_lower_is_better: list[str], labels_neutral: list[str]) -> HTML:
    """The colour legend under the scorecard: green better, red worse for the company."""
    span = lambda judged, text: (f'<span style="color: {COLOURS[judged]}; font-weight: 600">'  # noqa: E731
                                 f"{text}</span>")
    lower = (f" (lower is better for {html.escape(', '.join(labels_lower_is_better))})"
             if labels_lower_is_better else "")
    neutral = (f"; uncoloured: {html.escape(', '.join(labels_neutral))}, which is neither better nor worse"
               if labels_neutral else "")
    return HTML(f'<p class="ck-legend">{span(sm.BETTER, "▲ / ▼ green")}: the difference is better for the '
                f'company; {span(sm.WORSE, "▲ / ▼ red")}: worse for the company{lower}{neutral}.</p>')


# ------------------------------------------------------------------------------ what the run holds
@dataclass
class Coverage:
    """The dataset and which reports published their headline results."""

    name: str
    title: str
    currency: str
    present: list[str]
    missing: list[str]
    results: int = 0


def _coverage(rep: ReportContext, dataset: str) -> Coverage:
    spec = load_spec(dataset)
    present = [m for m in contract.SUMMARISED if contract.available(rep.out, m)]
    missing = [m for m in contract.SUMMARISED if m not in present]
    others = [n for n in rep.out.names() if rep.out.meta(n).get("notebook") != NAME]
    return Coverage(spec.name, spec.title, str(spec.raw.get("currency", "")), present, missing, len(others))


def _label(result: str) -> str:
    return contract.REPORTS[contract.SHARED[result].producer]


def coverage(rep: ReportContext, dataset: str) -> Section[Coverage]:
    """The dataset, the reports with published results and those missing from the summary."""
    cov = _coverage(rep, dataset)
    sec: Section[Coverage] = Section(value=cov)
    sec.say("Dataset: **{t}**. Reports with published results in this run: **{p}**.", t=cov.title,
            p=", ".join(_label(m) for m in cov.present) or "none")
    if cov.missing:
        sec.say("Not available in this run: {m} — their figures are missing from this summary.",
                m=", ".join(_label(m) for m in cov.missing))
    if not cov.results:
        sec.say("**This run has no published results yet**, so there is nothing to summarise. Run the other reports "
                "first (the runner runs this one last).")
    return sec


# ------------------------------------------------------------------------------ regions at a glance
@dataclass
class RegionView:
    """The regional comparison: the formatted scorecard, its marks and the significant differences."""

    table: pd.DataFrame | None = None
    marks: pd.DataFrame | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""          # why there is no comparison, when there is none

    @property
    def shown(self) -> bool:
        return self.table is not None


def _kpi(rep: ReportContext) -> tuple[dict | None, pd.DataFrame | None, str]:
    """The KPI metrics and scorecard of the run, or why there are none."""
    try:
        kpi = contract.read(rep.out, "kpi")
    except contract.ResultUnavailable as missing:
        return None, None, missing.reason
    if kpi.get("available") is False:
        notes = "; ".join(map(str, kpi.get("notes") or [])) or "no notes"
        return None, None, f"the KPI scorecard report computed no KPI in this run ({notes})"
    try:
        return kpi, contract.read(rep.out, "kpi_scorecard"), ""
    except contract.ResultUnavailable as missing:
        return None, None, missing.reason


def window_text(window: str) -> str:
    """"L12M" as "the last 12 months"; any other window label as itself."""
    m = re.fullmatch(r"L(\d+)M", window)
    return f"the last {int(m.group(1))} months" if m else f"the window {window}"


def _relative(flag: dict) -> float:
    value, ref = flag.get("value"), flag.get("reference")
    if value is None or ref is None or (isinstance(value, float) and math.isnan(value)):
        return 0.0
    return abs(value - ref) / abs(ref) if ref else math.inf


_ORDER = {sm.WORSE: 0, sm.BETTER: 1, sm.NEUTRAL: 2}


def flag_groups(flags: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Significant differences per region, most important first: regions with more differences that
    are worse for the company (then more differences, then by name); within a region worse before
    better, then the larger relative difference (then the smaller adjusted p). Each flag gets
    ``judged`` ("better" / "worse" / "")."""
    by_region: dict[str, list[dict[str, Any]]] = {}
    for f in flags:
        by_region.setdefault(str(f["region"]), []).append({**f, "judged": sm.judge(f["metric"], f["direction"])})
    for fs in by_region.values():
        fs.sort(key=lambda f: (_ORDER[f["judged"]], -_relative(f), f.get("p_adj") or 0.0))
    worse = lambda fs: sum(f["judged"] == sm.WORSE for f in fs)  # noqa: E731
    return sorted(by_region.items(), key=lambda kv: (-worse(kv[1]), -len(kv[1]), kv[0]))


def _counted(fs: list[dict[str, Any]]) -> str:
    """"3 differences, all worse for the company", "2 differences (1 worse and 1 better for the company)"."""
    n = len(fs)
    counts = [(sum(f["judged"] == judged for f in fs), judged) for judged in (sm.WORSE, sm.BETTER)]
    head = f"{n} difference{'s' if n != 1 else ''}"
    for k, judged in counts:
        if k == n:
            return f"{head}, {'' if n == 1 else 'both ' if n == 2 else 'all '}{judged} for the company"
    parts = [f"{k} {judged}" for k, judged in counts if k]
    return f"{head} ({' and '.join(parts)} for the company)" if parts else head


def _flag_line(f: dict[str, Any], currency: str) -> str:
    """One difference as a Markdown list line (data values escaped)."""
    metric = f["metric"]
    label = METRICS[metric].label if metric in METRICS else str(metric)
    value = fmt(f["value"], metric, currency) if f.get("value") is not None else "n/a"
    ref = fmt(f["reference"], metric, currency) if f.get("reference") is not None else "n/a"
    judged = f", {f['judged']} for the company" if f["judged"] else ""
    p = f"; adjusted p = {f['p_adj']:.2g}" if f.get("p_adj") is not None else ""
    return f"- {esc(label)}: {esc(value)} against {esc(ref)} in the rest of the company ({esc(f['direction'])}{judged}{p})"


def regions_at_a_glance(rep: ReportContext, dataset: str) -> Section[RegionView]:
    """The regional scorecard with coloured marks and a legend, and the significant differences
    grouped per region (or why there is no regional comparison)."""
    currency = str(load_spec(dataset).raw.get("currency", ""))
    kpi, sc, reason = _kpi(rep)
    sec: Section[RegionView] = Section(value=RegionView(reason=reason))
    if kpi is None:
        return sec.say("The KPI scorecard is not available in this run, so there is no regional comparison "
                       "({r}).", r=reason)
    window = kpi["window"]
    flags = list(kpi.get("flags") or [])
    if rep.region is not None:   # a regional pack: the region beside the company, its own differences
        sc = region_rows(sc, rep.region, COMPANY)
        flags = [f for f in flags if str(f.get("region")) == rep.region]
    table = sm.region_scorecard(sc, window, currency)
    marks = sm.scorecard_marks(sc, window)
    sec.value = RegionView(table, marks, flags)
    try:
        clv = contract.read(rep.out, "clv_by_region")
    except contract.ResultUnavailable as missing:
        clv, clv_reason = None, missing.reason
    basis = str(clv["basis"].iloc[0]) if clv is not None and "basis" in clv and len(clv) else None
    if clv is not None:
        table[clv_label(basis)] = clv.set_index("region")["mean_clv"].reindex(table.index).map(
            lambda v: "–" if pd.isna(v) else f"{currency} {v:,.0f}")
    units = {"shares": "%", "NPS": "points", **({"money": currency} if shows_money(table, currency) else {})}
    sec.blocks.append(MarkedTable(table, f"Regional scorecard, {window} (▲ / ▼: significantly above / below the "
                                         f"rest of the company, {kpi['correction']}-adjusted p < {kpi['alpha']})",
                                  units, marks=marks))
    shown = [m for m in sm.SCORECARD_METRICS if METRICS[m].label in table.columns]
    sec.blocks.append(legend([METRICS[m].label for m in shown if METRICS[m].better == "lower"],
                             [METRICS[m].label for m in shown if not METRICS[m].better]))
    if clv is None:
        sec.say("Mean CLV per region is not shown: {r}.", r=clv_reason)
    elif METRICS["cltv"].label in table.columns:
        sec.text(two_values_sentence(basis))
    flags = sec.value.flags
    if not flags:
        return sec.say("No region differs significantly from the rest of the company on any KPI in {w}.",
                       w=window_text(window))
    sec.say("**{n}** significant regional differences in {w}, per region: the regions with the most differences "
            "that are worse for the company first, and within a region the worse ones first, larger differences "
            "before smaller ones.", n=len(flags), w=window_text(window))
    for region, fs in flag_groups(flags):
        sec.text(f"**{esc(region)}** — {_counted(fs)}:\n" + "\n".join(_flag_line(f, currency) for f in fs))
    return sec


# ------------------------------------------------------------------------------ risks and actions
def _items(rep: ReportContext) -> tuple[pd.DataFrame | None, str]:
    try:
        return contract.read(rep.out, "swot_items"), ""
    except contract.ResultUnavailable as missing:
        return None, missing.reason


def top_risks(rep: ReportContext, top_n: int = 5) -> Section[pd.DataFrame]:
    """The top weaknesses and threats of the SWOT with their figures, and the churn report's headline figures."""
    items, reason = _items(rep)
    risks = sm.top_risks(items, top_n)
    sec: Section[pd.DataFrame] = Section(value=risks)
    if items is None:
        sec.say("Risks cannot be ranked: {r}.", r=reason)
    elif risks.empty:
        sec.say("The SWOT found no weaknesses or threats.")
    else:
        sec.table(risks[["region", "quadrant", "title"]], f"Top {len(risks)} risks (weaknesses and threats by "
                  "priority and size)", index=False, units={"title": "the SWOT item; figures below"})
        for _, r in risks.iterrows():
            sec.say("- **{reg}** — {t}. {s}", reg=r["region"], t=r["title"], s=r["statement"])
    try:
        churn = contract.read(rep.out, "churn")
    except contract.ResultUnavailable as missing:
        return sec.say("The churn report's headline figures are not shown: {r}.", r=missing.reason)
    flat = {k: v for k, v in churn.items() if isinstance(v, (int, float, str))}
    if flat:
        sec.table(pd.Series(flat, name="value").to_frame(), "Headline figures of the churn report",
                  units="as published by the churn report")
    return sec


def top_actions(rep: ReportContext, top_n: int = 5) -> Section[pd.DataFrame]:
    """The actions of the highest-priority SWOT items, and the segmentation report's segment strategies."""
    items, reason = _items(rep)
    actions = sm.top_actions(items, top_n)
    sec: Section[pd.DataFrame] = Section(value=actions)
    if items is None:
        sec.say("No actions are derived from the SWOT: {r}.", r=reason)
    elif actions.empty:
        sec.say("The SWOT items carry no actions.")
    else:
        sec.table(actions, f"Top {len(actions)} actions", index=False,
                  units={"because": "the SWOT item the action answers"})
    try:
        strategy = contract.read(rep.out, "strategy")
    except contract.ResultUnavailable as missing:
        return sec.say("The segment strategies are not shown: {r}.", r=missing.reason)
    return sec.table(strategy, "Segment strategies (segmentation report)", max_rows=10)


# ------------------------------------------------------------------------------ every report's figures
def headline_figures(rep: ReportContext) -> Section[pd.DataFrame]:
    """The headline figures every other report of the run published."""
    figures = sm.headline_figures(rep.out, exclude=(NAME,))
    sec: Section[pd.DataFrame] = Section(value=figures)
    if figures.empty:
        return sec.say("No report of this run has published headline figures.")
    return sec.table(figures, "Headline figures as published by each report", index=False, max_rows=120,
                     units="as published (shares 0-1, money in the dataset currency)")


def publish(rep: ReportContext, dataset: str, top_n: int = 5) -> Section[dict]:
    """Publish what the summary covered (metrics ``executive_summary``); shows nothing."""
    cov = _coverage(rep, dataset)
    kpi, _, _ = _kpi(rep)
    items, _ = _items(rep)
    risks, actions = sm.top_risks(items, top_n), sm.top_actions(items, top_n)
    values = {"dataset": cov.name, "reports": cov.present, "missing": cov.missing, "regional_scorecard": kpi is not None,
              "top_risks": [f"{r['region']}: {r['title']}" for _, r in risks.iterrows()],
              "top_actions": [f"{a['region']}: {a['action']}" for _, a in actions.iterrows()]}
    rep.out.metrics(NAME, values, description="What the executive summary covered")
    return Section(value=values)


degrade_on_data_limits(globals())
