"""The contractual retention model (shifted-beta-geometric) per cohort: parameters, lifetimes and the fit
against Kaplan-Meier, projections, the residual value of active customers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.churn import contractual_view as ccv
from toolkit.reports.churn.display import with_shares
from toolkit.reports.churn.how_many import ChurnBasis
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int, fmt_money, fmt_pct
from toolkit.reports.section import Section

FIT_BAND_SHARE = 0.25     # the sBG "stays within" the KM band when at most this share of months is outside
RISING = 1.1              # the observed churn rate "rises" when the second half's is 10% above the first's


def _sbg_units(discount_rate: float, currency: str) -> dict[str, str]:
    return {"customers": "count", "churned": "count", "longest_duration": "months", "gamma": "beta shape",
            "delta": "beta shape", "gamma_lower / gamma_upper / delta_lower / delta_upper": "95% interval",
            "churn_probability_month_1": "per month", "mean_lifetime": "months (inf when gamma <= 1)",
            "median_lifetime": "months (inf: beyond 10,000)",
            "restricted_mean_lifetime": "months, within restricted_horizon", "restricted_horizon": "months",
            "survival_at_horizon": "share",
            "discounted_expected_lifetime": f"months of payments, discounted at {discount_rate:.0%} a year",
            "max_gap_km / km_at_end / sbg_at_end": "share of customers",
            "share_outside_km_band": "share of months", "churn_rate_first_half / churn_rate_second_half":
            "observed churn per customer-month", "mean_monthly_charge": f"{currency} per month",
            "residual_value / residual_value_per_active / new_customer_value": currency}


def sbg_parameters(cv: ccv.ContractualView, summary: pd.DataFrame, discount_rate: float) -> Section[pd.DataFrame]:
    """What the durations are, the cohorts left out or without a model, and the fitted parameters and
    lifetimes by cohort with the fit against Kaplan-Meier."""
    by = cv.data.cohort_label
    sec: Section[pd.DataFrame] = Section(value=summary)
    sec.say("Durations are {basis}. Cohorts: **{by}** ({k} with a model, {n} customers). Values are discounted at "
            "{y} a year ({m} a month).", basis=cv.data.basis, by=by, k=len(summary),
            n=fmt_int(summary["customers"].sum()), y=fmt_pct(discount_rate), m=fmt_pct(cv.monthly_discount_rate, 3))
    for why, k in cv.data.left_out.items():
        sec.say("- Left out: {k} customers ({why}).", k=fmt_int(k), why=why)
    for c, why in cv.skipped.items():
        sec.say("- No model for **{c}**: {why}.", c=c, why=why)
    if cv.data.source == "tenure" and cv.data.cohort_column:
        sec.say("The data are a snapshot, so each customer is grouped by the {by} held at the snapshot, not at "
                "acquisition: where customers change {by} over time (for instance move to a longer contract), a "
                "group's long-tenure customers include those who moved into it.", by=by)
    sec.table(with_shares(cv.parameter_table(summary), ["churn_probability_month_1"], 2), f"sBG parameters by {by}",
              units={"customers / churned": "count", "gamma / delta": "beta distribution of the monthly churn "
                     "probability (95% interval; – where the fit has none)", "churn_probability_month_1":
                     "gamma / (gamma + delta), per month", "churn_probability_cv": "spread of the churn probability "
                     "across customers (sd / mean)"}, precision=4)
    h = int(summary["restricted_horizon"].iloc[0])
    sec.table(cv.lifetime_table(summary), f"sBG lifetimes by {by} and the fit against Kaplan-Meier", units={
        "median / mean lifetime, mean_within, longest_observed": "months",
        f"survival_at_{h}_months": "share still a customer",
        "discounted_expected_lifetime": f"months of payments discounted at {discount_rate:.0%} a year",
        "max_gap_to_km": "largest |sBG - KM|, share of customers",
        "months_outside_km_band": "share of the months with at least 10% of the cohort at risk"}, precision=3)
    return sec


def cohort_lines(cohort: object, r: pd.Series, horizon: int) -> list[str]:
    """What the sBG says about one cohort (``r``: a row of :meth:`ContractualView.summary`): its lifetimes
    in words, then how well it follows Kaplan-Meier (Markdown, data values escaped)."""
    sec: Section[None] = Section()
    med = r["median_lifetime"]
    med_txt = f"{med:,.0f} months" if np.isfinite(med) else f"more than {ccv.MEDIAN_CAP:,} months"
    beyond = (" The median lies beyond the longest observed tenure ({L} months), so it is an extrapolation."
              if not np.isfinite(med) or med > r["longest_duration"] else "")
    common = dict(c=cohort, med=med_txt, H=horizon, rm=r["restricted_mean_lifetime"], L=int(r["longest_duration"]))
    if r["heterogeneity"] and r["gamma"] < 1:
        sec.say("- **{c}**: gamma = {g:.2f} is below 1, so the **mean lifetime is infinite** (a minority of customers "
                "practically never leaves): use the median, **{med}**, and the mean within {H} months, **{rm:.1f} "
                "months**." + beyond, g=r["gamma"], **common)
    elif r["heterogeneity"]:
        sec.say("- **{c}**: gamma = {g:.2f}, delta = {d:.2f}: mean lifetime {mean:.1f} months, median **{med}**, mean "
                "within {H} months **{rm:.1f} months**." + beyond, g=r["gamma"], d=r["delta"],
                mean=r["mean_lifetime"], **common)
    else:
        sec.say("- **{c}**: gamma and delta are very large, so the customers hardly differ: each has about the same "
                "monthly churn probability, **{p}**, and lifetimes are geometric (mean {mean:,.0f} months, median "
                "{med}; mean within {H} months **{rm:.1f} months**)." + beyond,
                p=fmt_pct(r["churn_probability_month_1"], 2), mean=r["mean_lifetime"], **common)
    if not r["months_compared"] >= 1:
        sec.say("  Too few customers stay long enough to compare the sBG with Kaplan-Meier.")
        return sec.sentences
    fit_ok = r["share_outside_km_band"] <= FIT_BAND_SHARE
    rising = r["churn_rate_second_half"] > RISING * r["churn_rate_first_half"]
    first, second = r["churn_rate_first_half"], r["churn_rate_second_half"]
    sec.say("  The sBG " + ("stays within the Kaplan-Meier 95% band in most of" if fit_ok else
                            "leaves the Kaplan-Meier 95% band in {s} of") +
            " the {mc} months with at least 10% of the cohort at risk (largest gap {gap:.1f} points; after {mc} "
            "months it gives {se} still a customer against {ke} observed). " + (
                "The observed monthly churn rate rises with tenure ({a} in the first half of those months, {b} in the "
                "second), which the sBG cannot follow (its retention rate can only rise with tenure): its long-run "
                "lifetimes and values for this cohort are optimistic." if rising else
                "" if fit_ok else "Read its projections for this cohort as approximate."),
            s=fmt_pct(r["share_outside_km_band"], 0), mc=int(r["months_compared"]), gap=100 * r["max_gap_km"],
            se=fmt_pct(r["sbg_at_end"]), ke=fmt_pct(r["km_at_end"]),
            a=fmt_pct(first, 2 if first >= 1e-3 else 3), b=fmt_pct(second, 2 if second >= 1e-3 else 3))
    return sec.sentences


def sbg_lifetimes(cv: ccv.ContractualView, summary: pd.DataFrame, discount_rate: float, horizon: int,
                  projection_months: int) -> Section[None]:
    """Each cohort's lifetimes and fit in words, the discounted expected lifetimes, where the figures extend
    the model past the data, and the Kaplan-Meier against sBG figure."""
    sec: Section[None] = Section()
    for c, r in summary.iterrows():
        for line in cohort_lines(c, r, horizon):
            sec.text(line)
    del_ = summary["discounted_expected_lifetime"]
    sec.say("Discounted at {y} a year, a new customer is expected to make the equivalent of **{lo:.1f}** ({c_lo}) to "
            "**{hi:.1f}** ({c_hi}) monthly payments, counting the first (discounted expected lifetime).",
            y=fmt_pct(discount_rate), lo=del_.min(), c_lo=str(del_.idxmin()), hi=del_.max(), c_hi=str(del_.idxmax()))
    longest = int(summary["longest_duration"].max())
    if longest < max(horizon, int(projection_months)):
        sec.say("The data cover at most {L} months as a customer, so the figures beyond that (the mean within {H} "
                "months, the {P}-month projection, medians past {L} months and the values) extend the fitted model "
                "past the data.", L=longest, H=horizon, P=int(projection_months))
    sec.figure(ccv.plot_km_vs_sbg(cv.km(), f"Observed (Kaplan-Meier, 95% band) vs sBG retention by "
                                           f"{cv.data.cohort_label}"))
    return sec.say("Curves run to the last month with at least {m} customers at risk.", m=cv.min_at_risk)


def sbg_projection(cv: ccv.ContractualView, months: int) -> Section[pd.DataFrame]:
    """The share of a new cohort still a customer over ``months``, and today's active customers expected to stay."""
    by, p = cv.data.cohort_label, int(months)
    proj = cv.projection(p, 6)
    act = cv.active_projection(p, min(12, p))
    sec: Section[pd.DataFrame] = Section(value=act)
    sec.table(proj, f"sBG projection over {p} months: share of a new customer cohort still a customer",
              units=f"share of the customers acquired; rows: months since acquisition; columns: {by}", precision=3)
    sec.table(act, f"Today's active customers expected to remain over the next {p} months",
              units={"active_now": "customers", "after_k_months": "expected customers still active"}, precision=0)
    tot, last = (act.loc["total"] if "total" in act.index else act.iloc[0]), act.columns[-1]
    return sec.say("A new customer cohort keeps between **{lo}** and **{hi}** of its customers after {P} months. Of the "
                   "{n} customers active today, the sBG expects **{k}** ({share}) to still be customers in {m} months.",
                   lo=fmt_pct(proj.loc[p].min()), hi=fmt_pct(proj.loc[p].max()), P=p, n=fmt_int(tot["active_now"]),
                   k=fmt_int(tot[last]), share=fmt_pct(tot[last] / max(tot["active_now"], 1)), m=last.split("_")[1])


def residual_value(cv: ccv.ContractualView, summary: pd.DataFrame, discount_rate: float,
                   currency: str) -> Section[pd.DataFrame]:
    """The future payments of today's active customers by cohort (monthly charge x DERT), or why there are none."""
    res = cv.residual_value()
    sec: Section[pd.DataFrame] = Section(value=res)
    if res is None:
        return sec.say("The customer table has no monthly charge, so the residual value of the active customers is "
                       "not computed (it needs the monthly payment of each customer).")
    sec.table(res, f"Residual value of active customers: monthly charge x DERT at {discount_rate:.0%} a year",
              units={"active_customers": "count", "mean_tenure": "months", "mean_monthly_charge": f"{currency} per month",
                     "mean_dert": "future monthly payments, discounted",
                     "residual_value / residual_value_per_active / new_customer_value": currency})
    n = res["active_customers"].sum()
    sec.say("DERT (discounted expected residual transactions) is the number of future monthly payments an active "
            "customer is expected to make given their tenure, discounted at {m} a month; times the customer's monthly "
            "charge (column {col}) it is the value still to come from them. The {n} active customers are worth **{v}** "
            "in future payments, {pc} each on average; **{top}** holds the most ({topv}).",
            m=fmt_pct(cv.monthly_discount_rate, 3), col=cv.data.charge_column, n=fmt_int(n),
            v=fmt_money(res["residual_value"].sum(), currency), pc=fmt_money(res["residual_value"].sum() / max(n, 1),
                                                                             currency),
            top=str(res["residual_value"].idxmax()), topv=fmt_money(res["residual_value"].max(), currency))
    if (~summary["heterogeneity"]).any():
        sec.say("For cohorts fitted with a constant churn probability the residual values rest on that constant "
                "rate continuing; where the observed churn rate rises with tenure they are upper estimates.")
    return sec


def contractual_retention(rep: ReportContext, basis: ChurnBasis, sbg_cohort: str | None = None,
                          sbg_discount_rate: float = 0.10, sbg_restricted_months: int = 72,
                          sbg_projection_months: int = 60) -> Section[ccv.ContractualView]:
    """The sBG section; publishes ``sbg_cohorts`` (empty without contractual durations). Value: the fitted
    view, or None."""
    cv = ccv.fit_contractual(rep.ds, as_of=basis.as_of, cohort=sbg_cohort, yearly_discount_rate=sbg_discount_rate,
                             restricted_months=sbg_restricted_months)
    sec: Section[ccv.ContractualView] = Section(value=cv)
    if cv is None:
        rep.out.table("sbg_cohorts", pd.DataFrame(columns=["cohort", "cohort_by", "customers", "gamma", "delta"]),
                      description="no sBG model: no contractual durations in the customer table")
        return sec.say("The customer table has neither a tenure in months with a churn flag nor acquisition and churn "
                       "dates (or no group has 30 customers and at least one churn), so there is no contractual "
                       "retention model.")
    summary, h, by = cv.summary(), int(sbg_restricted_months), cv.data.cohort_label
    currency = rep.ds.currency or "currency units"
    res = residual_value(cv, summary, sbg_discount_rate, currency)
    table = summary.reset_index()
    table["cohort"] = table["cohort"].astype(str)
    table.insert(1, "cohort_by", by)
    rep.out.table("sbg_cohorts", table, description=f"Shifted-beta-geometric retention model per {by}: gamma, "
                  f"delta, lifetimes (restricted to {h} months), discounted expected lifetime at "
                  f"{sbg_discount_rate:.0%} a year, fit against Kaplan-Meier" +
                  (" and residual value of active customers" if res.value is not None else ""),
                  units=_sbg_units(sbg_discount_rate, currency))
    return (sec.extend(sbg_parameters(cv, summary, sbg_discount_rate))
               .extend(sbg_lifetimes(cv, summary, sbg_discount_rate, h, sbg_projection_months))
               .extend(sbg_projection(cv, sbg_projection_months)).extend(res))
