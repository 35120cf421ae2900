"""Why customers leave: the recorded churn reasons (overall, by region and by value tier) and their
satisfaction before leaving."""
from __future__ import annotations

import pandas as pd

from toolkit import churn as ch
from toolkit.churn import plots as cp
from toolkit.churn.reasons import REASON_LABELS
from toolkit.reports.churn.how_many import ChurnBasis
from toolkit.reports.churn.who_leaves import EarlyWarning
from toolkit.reports.context import ReportContext
from toolkit.reports.format import esc, fmt_pct
from toolkit.reports.section import Section

REASON_SHARE_UNITS = "share of the {group}'s churned customers; churned_customers: count"


def reason_frame(customers: pd.DataFrame) -> pd.DataFrame:
    """Every customer's churn flag, with the churn reason and region where the customer table has them."""
    base = pd.DataFrame({"churned": customers["churned"].fillna(False).astype(bool) if "churned" in customers
                         else False}, index=customers.index)
    for c in ("churn_reason", "region"):
        if c in customers:
            base[c] = customers[c]
    return base


def top_reasons_sentence(pareto: pd.DataFrame) -> str:
    """The (one or) two most frequent reasons and their share of the churned customers with a reason."""
    top = pareto.index[:2]
    names = [f"**{esc(REASON_LABELS.get(r, r))}**" for r in top]
    share = fmt_pct(pareto.loc[top, "share"].sum())
    if len(top) == 1:
        return f"{names[0]} accounts for {share} of the churned customers with a recorded reason."
    return f"{names[0]} and {names[1]} account for {share} of the churned customers with a recorded reason."


def churn_reasons(rep: ReportContext, basis: ChurnBasis, warning: EarlyWarning) -> Section[pd.DataFrame]:
    """The churn-reason Pareto, reasons by region and by value tier (value before leaving); publishes
    ``reasons_by_region`` (empty without reasons or regions). Value: the reasons by region."""
    cu = basis.customers
    base = reason_frame(cu)
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if not ch.has_reasons(base):
        _publish_reasons(rep, sec.value)
        return sec.say("The dataset records no churn reasons, so there is no breakdown of why customers left.")
    churn_end = cu["churn_date"] if "churn_date" in cu else None
    value_before = (ch.customer_value(rep.ds, as_of=basis.as_of, end=churn_end) if churn_end is not None
                    else warning.value_all)
    base["tier"] = ch.value_tiers(value_before.reindex(base.index))
    pareto = ch.reason_pareto(base)
    sec.figure(cp.plot_pareto(pareto))
    sec.table(pareto, "Churn reasons (Pareto)", units={"churned_customers": "count", "share": "of churned customers",
                                                      "cumulative_share": "running total"}, precision=3)
    sec.text(top_reasons_sentence(pareto))
    by_region = ch.reasons_by(base, "region") if "region" in base else pd.DataFrame()
    if len(by_region) > 1:
        sec.figure(cp.plot_reasons_by(by_region, "Churn reasons by region", "Region"))
        sec.table(by_region, "Churn reasons by region", units=REASON_SHARE_UNITS.format(group="region"), precision=3)
    by_tier = ch.reasons_by(base, "tier")
    sec.figure(cp.plot_reasons_by(by_tier, "Churn reasons by value tier", "Value tier"))
    sec.table(by_tier, "Churn reasons by value tier (tier by value before leaving)",
              units=REASON_SHARE_UNITS.format(group="tier"), precision=3)
    sec.value = by_region
    _publish_reasons(rep, by_region)
    return sec


def _publish_reasons(rep: ReportContext, by_region: pd.DataFrame) -> None:
    rep.out.table("reasons_by_region", by_region.reset_index() if len(by_region) else
                  pd.DataFrame(columns=["region", "churned_customers"]), description="Share of churn reasons by region",
                  units={"churned_customers": "count"})


def satisfaction(rep: ReportContext, basis: ChurnBasis) -> Section[pd.DataFrame]:
    """The latest satisfaction answer before leaving (churned) or before the as-of date (stayed), and the
    trajectory of churned customers' satisfaction. Reasons and satisfaction belong to the recorded
    (explicit) churn, whatever definition the rates use."""
    ds, cu = rep.ds, basis.customers
    why = (basis.labels if basis.definition == "explicit" or not ch.is_dated(ds)
           else ch.churn_labels(ds, as_of=basis.as_of))
    sat = ch.satisfaction_before_churn(ds, why.assign(churn_reason=cu["churn_reason"].reindex(why.index))
                                       if "churn_reason" in cu else why)
    sec: Section[pd.DataFrame] = Section(value=sat)
    if sat is None or not sat.loc["churned", "customers_with_response"] > 0:
        return sec.say("There are no dated survey answers before customers left, so satisfaction before churn cannot "
                       "be shown.")
    sec.table(sat, "Latest satisfaction answer within a year before leaving (churned) or before the as-of date "
              "(stayed)", units={"customers_with_response": "count", "mean_satisfaction": "1-5", "share_dissatisfied":
                                 "share answering 1-2", "mean_nps_answer": "0-10", "median_days_before": "days"},
              precision=2)
    traj = ch.satisfaction_trajectory(ds, why)
    if traj is not None and len(traj) > 1:
        sec.figure(cp.plot_satisfaction_trajectory(traj))
    stayed = sat.loc["stayed", "mean_satisfaction"] if "stayed" in sat.index else float("nan")
    against = (f"against {stayed:.2f} for customers who stayed" if pd.notna(stayed)
               else "with no answer from a customer who stayed to compare it with")
    return sec.say("Customers who left rated their overall satisfaction **{c:.2f}** on average in their last survey "
                   "before leaving, {a}; {d} of the leavers were dissatisfied (1-2).",
                   c=sat.loc["churned", "mean_satisfaction"], a=against,
                   d=fmt_pct(sat.loc["churned", "share_dissatisfied"]))
