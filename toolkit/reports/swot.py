"""The regional SWOT report (notebooks/06_swot.ipynb): its sections, in the report's order.

* :func:`inputs` — what the SWOT reads: the KPI scorecard of the run (or computed here), the CLV
  and churn reports' tables (each said to be missing when its report did not publish it), the
  segments and the rules;
* :func:`evidence` — the SWOT built from that evidence and the analyst items; the competitor and
  churn-reason tables behind it. Publishes ``swot_items``, ``swot_evidence`` and the ``swot`` metrics;
* :func:`per_region` — items per region and quadrant, and each region's 2x2 grid;
* :func:`items` — where the risks and strengths concentrate, and the machine-readable item table.

Upstream results are read through :mod:`toolkit.contract`, so a renamed or malformed table is an
error naming its report, and a missing one is named in the report instead of silently skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from IPython.display import HTML

from toolkit import contract
from toolkit import survey as sv
from toolkit.data.focus import region_rows
from toolkit.kpi import build_scorecard
from toolkit.reports.context import ReportContext
from toolkit.reports.format import esc
from toolkit.reports.section import Section, degrade_on_data_limits
from toolkit.swot import SwotResult, build_swot, load_rules, swot_grid_html
from toolkit.swot.rules import Rule
from toolkit.value_terms import two_values_sentence

MARKET_UNITS = {"market_share": "share of the market", "price_index": "competitor price / ours (1 = parity)",
                "growth": "yearly revenue growth"}
#: The columns of the item table a reader sees (the grids above show statements and actions).
ITEM_FIGURES = ("region", "quadrant", "title", "metric", "value", "reference", "test", "p_adj")
#: The upstream tables the rules read beside the scorecard (missing ones: their rules are skipped).
UPSTREAM = ("clv_by_region", "cox_hazard_ratios")


@dataclass
class SwotInputs:
    """What the SWOT is built from."""

    window: str
    scorecard: pd.DataFrame
    rules_path: str
    rules: list[Rule]
    settings: dict[str, Any]
    segment: pd.Series | None = None
    upstream: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    computed_here: bool = False


def inputs(rep: ReportContext, period: str = "Q", alpha: float = 0.05, correction: str = "holm",
           family: str = "period", window_months: int = 12, rules: str = "config/swot.yaml") -> Section[SwotInputs]:
    """The evidence the SWOT reads, each source named; the KPI scorecard is computed here (with the
    same method) when the KPI report has not published one for the window."""
    ds = rep.ds
    window = f"L{window_months}M"
    sec: Section[SwotInputs] = Section()
    try:
        scorecard = contract.read(rep.out, "kpi_scorecard")
    except contract.ResultUnavailable:
        scorecard = None
    computed = scorecard is None or not (scorecard["period"] == window).any()
    if computed:
        scorecard = build_scorecard(ds, period=period, alpha=alpha, correction=correction,
                                    window_months=window_months, family=family).scorecard
        sec.say("The KPI report has not published a scorecard for the window {w} in this run, so it was computed "
                "here with the same method ({c}, family {f}, alpha {a}).", w=window, c=correction, f=family, a=alpha)
    else:
        sec.say("KPI evidence: the scorecard published by the KPI report of this run (`kpi_scorecard`).")
    upstream: dict[str, pd.DataFrame | None] = {}
    for name in UPSTREAM:
        try:
            upstream[name] = contract.read(rep.out, name)
        except contract.ResultUnavailable as missing:
            upstream[name] = None
            sec.say("- Not available: **{n}** ({r}) — the rules that need it are skipped.", n=name, r=missing.reason)
    segment, source = (sv.segment_source(ds, rep.out.run_dir, rep.out.pseudonymise) if ds.customers is not None
                       else (None, "none"))
    sec.say("Segments for the opportunity rules come from {s}.", s=source)
    rule_list, settings = load_rules(rules)
    sec.say("**{n}** rules loaded from {p}; a significant difference must also be at least **{m:.0%}** of the "
            "baseline to count.", n=len(rule_list), p=str(rules), m=float(settings.get("min_relative_difference", 0)))
    sec.value = SwotInputs(window, scorecard, str(rules), rule_list, settings, segment, upstream, computed)
    return sec


def evidence(rep: ReportContext, inputs: SwotInputs, analyst: str | None = "config/swot_analyst.yaml",
             alpha: float = 0.05, correction: str = "holm") -> Section[SwotResult]:
    """The SWOT of every region from the evidence and the analyst items, what was missing, and the
    competitor and churn-reason figures behind it. Publishes ``swot_items``, ``swot_evidence``, ``swot``."""
    ds = rep.ds
    res = build_swot(ds, inputs.scorecard, window=inputs.window, rules=inputs.rules_path, analyst=analyst,
                     alpha=alpha, correction=correction, segment=inputs.segment,
                     clv_by_region=inputs.upstream.get("clv_by_region"),
                     hazard_ratios=inputs.upstream.get("cox_hazard_ratios"))
    if rep.region is not None:   # derived against the rest of the whole company, shown for one region
        res = res.for_region(rep.region)
    sec: Section[SwotResult] = Section(value=res)
    for note in res.notes:
        sec.say("- {n}", n=note)
    ev = res.evidence
    clv_rows = ev.loc[ev["metric"] == "mean_clv"]
    if len(clv_rows) and (ev["metric"] == "cltv").any():   # both value figures among the evidence
        clv = inputs.upstream.get("clv_by_region")
        sec.text(two_values_sentence(str(clv["basis"].iloc[0]) if clv is not None and "basis" in clv else None))
    if ds.has("market"):
        market = ds.market if rep.region is None else region_rows(ds.market, rep.region)
        sec.table(market.set_index(["region", "competitor"]), "Competitors per region", units=MARKET_UNITS,
                  precision=3)
    res.items = behind_the_advice(sec, rep, res, inputs)
    reasons = ev.loc[(ev["source"] == "churn_reasons") & (ev["subject"] != "price+competitor")]
    if len(reasons):
        sec.table(reasons.pivot_table(index="region", columns="subject", values="value"),
                  f"Churn reasons: share of each region's churners ({inputs.window})", units="share of churners",
                  precision=3)
    publish(rep, res, inputs)
    return sec


RISKS = ("Weakness", "Threat")
DETRACTOR_TABLE = "Detractors to call back, per region"
CAC_TABLE = "Cost per new customer by region and channel"


def behind_the_advice(sec: Section, rep: ReportContext, res: SwotResult, inputs: SwotInputs,
                      plan_config: str | None = None) -> pd.DataFrame:
    """The tables the call-back and budget advice rest on, and the items with their actions pointing to
    them: for a region whose NPS is a weakness, its detractors (the action plan's definition, from
    ``plan_config``); for a region whose CAC is a weakness, the cost per new customer by channel over
    the SWOT's window. Returns the items with the pointers added."""
    items = res.items.copy()
    if items.empty:
        return items
    risk = items["quadrant"].isin(RISKS)
    nps_rows, cac_rows = risk & (items["metric"] == "nps"), risk & (items["metric"] == "cac")
    if nps_rows.any():
        table = _detractors_by_region(rep.ds, sorted(items.loc[nps_rows, "region"].astype(str).unique()), plan_config)
        if table is not None:
            sec.table(table, f"{DETRACTOR_TABLE} ({table.attrs.pop('rule')})", units={
                "detractors": "customers", "respondents": "customers who answered NPS",
                "detractor_share": "share of respondents"})
            sec.say("The action plan (report 08) puts these customers on its call list with the reason "
                    "'detractor call-back', as far as the owners' capacity allows; its export "
                    "`action_plan_contacts` names each one with an owner and a due date.")
            items.loc[nps_rows, "action"] = items.loc[nps_rows, "action"] + f" (see '{DETRACTOR_TABLE}')"
    if cac_rows.any():
        table = _cac_by_channel(rep.ds, sorted(items.loc[cac_rows, "region"].astype(str).unique()), inputs)
        if table is not None:
            cur = rep.currency or "cost units"
            sec.table(table, f"{CAC_TABLE} ({inputs.window})", units={"spend": cur, "new_customers": "customers",
                                                                      "cac": f"{cur} per new customer"})
            for region, rows in table.dropna(subset=["cac"]).groupby(level="region"):
                lo, hi = rows["cac"].idxmin()[1], rows["cac"].idxmax()[1]
                if lo != hi:
                    sec.say("In **{r}** the cheapest channel per new customer is **{lo}** ({a}), the dearest "
                            "**{hi}** ({b}).", r=str(region), lo=str(lo), hi=str(hi),
                            a=f"{cur} {rows['cac'].min():,.0f}", b=f"{cur} {rows['cac'].max():,.0f}")
            items.loc[cac_rows, "action"] = items.loc[cac_rows, "action"] + f" (see '{CAC_TABLE}')"
    return items


def _detractors_by_region(ds: Any, regions: list[str], plan_config: str | None) -> pd.DataFrame | None:
    """Per region: customers whose latest NPS answer makes them detractors under the action plan's rule."""
    from toolkit.actions import detractors, load_plan_config

    if not ds.has("surveys") or not ds.has("customers") or "nps" not in ds.surveys:
        return None
    rule = load_plan_config(plan_config)["reasons"]["detractor_call_back"]
    within, max_nps = float(rule["within_days"]), float(rule["max_nps"])
    customers = ds.customers
    region_of = pd.Series(customers["region"].astype(str).to_numpy(), index=customers["customer_id"].astype(str))
    answered = detractors(ds.surveys, ds.as_of, within, float("inf"))   # every latest answer in the window
    found = answered.loc[answered["nps"] <= max_nps]
    table = pd.DataFrame({"detractors": region_of.reindex(found.index).value_counts(),
                          "respondents": region_of.reindex(answered.index).value_counts()})
    table = table.reindex(regions).fillna(0).astype(int).rename_axis("region")
    table["detractor_share"] = table["detractors"] / table["respondents"].where(table["respondents"] > 0)
    table.attrs["rule"] = f"latest answer NPS {max_nps:g} or less, given in the last {within:g} days"
    return table


def _cac_by_channel(ds: Any, regions: list[str], inputs: SwotInputs) -> pd.DataFrame | None:
    """Spend, new customers and CAC by region and channel over the SWOT's window."""
    from toolkit.clv.valuation.business import cac

    if not ds.has("marketing_spend") or not ds.has("customers") or "acquisition_date" not in ds.customers:
        return None
    rows = inputs.scorecard.loc[inputs.scorecard["period"] == inputs.window]
    spend, customers = ds.marketing_spend, ds.customers
    if len(rows):
        start, end = pd.Timestamp(rows["period_start"].iloc[0]), pd.Timestamp(rows["period_end"].iloc[0])
        spend = spend.loc[pd.to_datetime(spend["period"]).between(start, end)]
        customers = customers.loc[pd.to_datetime(customers["acquisition_date"]).between(start, end)]
    spend = spend.loc[spend["region"].astype(str).isin(regions)]
    if spend.empty:
        return None
    table = cac(spend, customers.loc[customers["region"].astype(str).isin(regions)], by=("region", "channel"))
    return table.set_index(["region", "channel"]).sort_index()


def publish(rep: ReportContext, res: SwotResult, inputs: SwotInputs) -> None:
    """The SWOT's published results: the items, the evidence and the item counts."""
    counts = res.counts()
    rep.out.table("swot_items", res.items, description="Candidate SWOT items per region with the figures and test "
                  "behind each (evidence as JSON)", units={"p_adj": "adjusted p as in the evidence"})
    rep.out.table("swot_evidence", res.evidence, description="All evidence figures the SWOT rules read")
    rep.out.metrics("swot", {
        "dataset": rep.ds.name, "window": inputs.window, "rules": len(inputs.rules), "items": int(len(res.items)),
        "by_quadrant": {q: int(n) for q, n in counts.sum().items()},
        "by_region": {r: {q: int(counts.loc[r, q]) for q in counts.columns} for r in counts.index},
        "analyst_items": int((res.items["origin"] == "analyst").sum()) if len(res.items) else 0,
    }, description="SWOT item counts")


def per_region(rep: ReportContext, res: SwotResult) -> Section[pd.DataFrame]:
    """Items per region and quadrant, then each region's 2x2 grid (escaped HTML)."""
    counts = res.counts()
    sec: Section[pd.DataFrame] = Section(value=counts)
    if res.items.empty:
        sec.say("**No rule fired for any region** and no analyst items were given: on the evidence available no "
                "region differs from the rest of the company enough to make a SWOT item.")
    else:
        sec.table(counts, "SWOT items per region and quadrant", units="items")
    for region in res.regions:
        sec.blocks.append(HTML(swot_grid_html(res.items, region)))
    return sec


def _most(items: pd.DataFrame) -> str:
    """The region(s) with the most of ``items``, bold and escaped: "**East**", on a tie "**East** and
    **West**" (in the items' order), or "**no region**"."""
    if items.empty:
        return "**no region**"
    counts = items["region"].astype(str).value_counts(sort=False)
    top = [r for r in items["region"].astype(str).unique() if counts[r] == counts.max()]
    return " and ".join(f"**{esc(r)}**" for r in top)


def items(rep: ReportContext, res: SwotResult) -> Section[pd.DataFrame]:
    """Where the risks and the strengths concentrate, and every item with its figures and test."""
    sec: Section[pd.DataFrame] = Section(value=res.items)
    if res.items.empty:
        return sec
    q = res.items["quadrant"]
    risks, strengths = res.items.loc[q.isin(["Weakness", "Threat"])], res.items.loc[q.isin(["Strength", "Opportunity"])]
    sec.text(f"**{len(risks)}** weaknesses and threats, most of them in {_most(risks)}; **{len(strengths)}** "
             f"strengths and opportunities, most in {_most(strengths)}.")
    sec.table(res.items[list(ITEM_FIGURES)], "The figure behind each SWOT item (the published table `swot_items` "
              "adds the statements, actions and evidence)",
              units={"value / reference": "unit of the metric", "p_adj": "adjusted p of the scorecard / evidence"},
              index=False, max_rows=60, precision=3)
    return sec


degrade_on_data_limits(globals())
