"""The CLV report, second part: spend, discounting, the value per customer, its certainty, cash flows,
groups, the drivers of purchasing and the valuable customers who may have lapsed.

Sections in reading order: :func:`spend`, :func:`spend_independence`, :func:`units_and_discounting`,
:func:`lifetime_value`, :func:`intervals`, :func:`cash_flows`, :func:`by_region_and_type`,
:func:`drivers`, :func:`lapsed_customers`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.clv.evaluation import holdout as ho
from toolkit.clv import plots as cplt
from toolkit.clv.evaluation import spend as csp
from toolkit.clv.evaluation.attribute_effects import AttributeEffects, attribute_effects
from toolkit.clv.valuation.cashflow import cash_flow_table, customer_margin, period_purchases
from toolkit.clv.evaluation.fitting import fit_spend_model
from toolkit.clv.models.gammagamma import GammaGamma
from toolkit.clv.occasions import first_purchase_amount
from toolkit.clv.valuation.units import continuous_rate, period_rate, periods_per_year, unit_name
from toolkit.clv.valuation.per_customer import customer_value, expected_spend, explicit_churn, region_cac, value_at_risk, \
    value_by_group
from toolkit.clv.valuation.value_intervals import ValueIntervals, intervals_withheld, value_intervals
from toolkit.concentration import gini, lorenz_curve, top_share
from toolkit.privacy import protect
from toolkit.reports.clv.model_choice import CLVData, FinalModel, Fits, Holdout
from toolkit.reports.clv.wording import cac_sentence, group_ranking_sentence, top_group_sentence, without_empty_notes
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int, fmt_pct
from toolkit.reports.section import Section
from toolkit.segmentation.tiers import value_tiers

__all__ = ["SpendModel", "Independence", "Valuation", "CashFlows", "Groups", "spend", "spend_independence",
           "units_and_discounting", "lifetime_value", "intervals", "cash_flows", "by_region_and_type", "drivers",
           "lapsed_customers", "reference_levels", "N_DRAWS"]

N_DRAWS = 300  # parameter draws: enough for stable 90% intervals, a few seconds on 20,000 customers
UNITS_SHOWN = ("W", "M", "Q", "Y")


@dataclass
class SpendModel:
    """Gamma-Gamma fitted on all data and each customer's first purchase amount (its fallback)."""

    model: GammaGamma
    first_amount: pd.Series


@dataclass
class Independence:
    """The frequency-spend association test, and whether independence fails."""

    test: pd.DataFrame
    dependent: bool


@dataclass
class Valuation:
    """CLV per customer (:func:`toolkit.clv.valuation.per_customer.customer_value`) and what it was computed with."""

    table: pd.DataFrame
    churned: pd.Series | None
    margin_text: str
    returns_factor: float
    horizon: int
    discount_rate: float
    method: str
    gini: float
    top20: float

    @property
    def basis(self) -> str:
        """"12 months" or "all future purchases (DERT)"."""
        return f"{self.horizon} months" if self.method == "horizon" else "all future purchases (DERT)"


@dataclass
class CashFlows:
    """Monthly cash flows per segment, the segment of each customer and what the segments are."""

    flows: pd.DataFrame
    segments: pd.Series
    segment_name: str


@dataclass
class Groups:
    """CLV per region (None without regions) and per customer type (None with fewer than two types)."""

    by_region: pd.DataFrame | None
    by_type: pd.DataFrame | None


# ----------------------------------------------------------------------------------------------- spend
def spend(rep: ReportContext, data: CLVData) -> Section[SpendModel]:
    """The Gamma-Gamma spend model on all data, the population mean spend and what needed special handling."""
    cur = data.currency
    gg = fit_spend_model(data.rfm)
    sec: Section[SpendModel] = Section()
    sec.table(gg.summary_frame(), "Gamma-Gamma spend model (repeat customers)",
              units={"gamma": cur, "p, q": "dimensionless"}, precision=4)
    first_amt = first_purchase_amount(data.transactions, data.observation_end)
    _, notes = expected_spend(gg, data.rfm, first_amt)
    sec.say("Fitted on {n} repeat customers. Population mean spend per transaction: {pm}.",
            n=fmt_int(gg.n_), pm=(f"{gg.mean_value_:,.2f} {cur}" if np.isfinite(gg.mean_value_) else
                                  "infinite (q at or below 1: spend differs enormously between customers)"))
    if gg.n_dropped_:
        sec.say("{k} repeat customers had a non-positive mean spend (returns exceeding purchases): left out of the "
                "fit and valued at a mean spend of 0 before shrinkage.", k=fmt_int(gg.n_dropped_))
    if notes["fallback"]:
        sec.say("**Warning:** with q at or below 1 the model has no finite mean spend for customers without repeat "
                "purchases; {k} such customers are valued {how}.", k=fmt_int(notes["fallback"]),
                how="by their first purchase, taken as one transaction of the spend process"
                if notes["fallback_basis"] == "first purchase" else
                "at the observed mean spend per repeat transaction")
    sec.value = SpendModel(gg, first_amt)
    return sec


def spend_independence(rep: ReportContext, data: CLVData, fits: Fits, holdout: Holdout) -> Section[Independence]:
    """Is spend independent of purchase frequency? The association test, its verdict, and on the holdout
    the spend and revenue per frequency band (two tables: spend per transaction; revenue per customer)."""
    cur = data.currency
    test = csp.frequency_spend_test(data.rfm)
    sec: Section[Independence] = Section()
    sec.table(test, "Association between purchase frequency and mean spend (repeat customers, all data)",
              units={"statistic": "correlation", "p_value": "two-sided"}, precision=4)
    dependent, verdict = csp.independence_verdict(test)
    sec.say(("**Warning:** " if dependent else "") + "{v}.", v=verdict[0].upper() + verdict[1:])
    chosen = holdout.chosen
    pred_cal = ho.holdout_predictions(data.rfm_cal, {chosen: fits.models[chosen]})[chosen]
    band = csp.spend_by_frequency(data.rfm_cal, holdout.spend_cal, pred_cal).replace([np.inf, -np.inf], np.nan)
    model_text = f"{chosen} x Gamma-Gamma fitted on the calibration period"
    sec.table(band[["customers", "observed_spend", "model_spend", "model_vs_observed", "holdout_spend"]],
              f"Spend per transaction by calibration frequency band ({model_text})",
              units={"customers": "count", "spend": cur, "model_vs_observed": "relative difference"})
    sec.table(band[["customers", "predicted_revenue", "actual_revenue", "predicted_vs_actual"]],
              f"Holdout revenue per customer by calibration frequency band ({model_text})",
              units={"customers": "count", "revenue": f"{cur} per customer in the holdout",
                     "predicted_vs_actual": "relative difference"})
    gap = band["predicted_vs_actual"].dropna()
    if len(gap):
        sec.say("On the holdout, forecast revenue per customer is off by between {lo:+.0%} and {hi:+.0%} across "
                "frequency bands (largest gap in band {w}).", lo=gap.min(), hi=gap.max(), w=str(gap.abs().idxmax()))
    else:
        sec.say("No frequency band brought revenue in the holdout, so the revenue forecast cannot be checked there.")
    sec.value = Independence(test, dependent)
    return sec


# ------------------------------------------------------------------------------------------ discounting
def units_and_discounting(rep: ReportContext, data: CLVData, horizon: int, discount_rate: float) -> Section[None]:
    """A yearly discount rate in weeks, months, quarters and years, and what the CLV covers."""
    rates = pd.DataFrame({"unit": [unit_name(u) for u in UNITS_SHOWN],
                          "periods_per_year": [periods_per_year(u) for u in UNITS_SHOWN],
                          "discount_per_period": [period_rate(discount_rate, u) for u in UNITS_SHOWN],
                          "continuous_rate": [continuous_rate(discount_rate, u) for u in UNITS_SHOWN]})
    sec: Section[None] = Section()
    sec.table(rates.set_index("unit"), f"A yearly discount rate of {discount_rate:.1%} in other units",
              units={"discount_per_period": "share per period", "continuous_rate": "per period, continuously compounded"},
              precision=5)
    method_text = (f"the next {horizon} months, each month's purchases discounted at its end at "
                   f"{period_rate(discount_rate, 'M'):.3%}" if data.method == "horizon" else
                   f"all future purchases (DERT), discounted continuously at "
                   f"{continuous_rate(discount_rate, data.unit):.5f} per {unit_name(data.unit)}")
    return sec.say("Models in **{u}**; CLV covers {m}.", u=data.units, m=method_text)


# ---------------------------------------------------------------------------------------------- CLV
def lifetime_value(rep: ReportContext, data: CLVData, final: FinalModel, spend_model: SpendModel,
                   independence: Independence, horizon: int = 12, discount_rate: float = 0.10,
                   margin: float = 0.3, category_margins: dict | None = None,
                   margin_column: str | None = None) -> Section[Valuation]:
    """CLV per customer: the margin, the total, mean and median, the concentration, explicit churn and,
    when spend depends on frequency, what that does to the CLV per frequency band."""
    ds, cur, method = data.ds, data.currency, data.method
    churned = explicit_churn(ds.customers, data.observation_end)
    returns_factor = 1.0 - data.log.returns_share
    margins, margin_text = customer_margin(data.rfm.index, margin, data.transactions, category_margins,
                                           ds.customers, margin_column)
    sec: Section[Valuation] = Section()
    sec.say("Margin: {t}.", t=margin_text)
    table = customer_value(data.rfm, final.model, spend_model.model, horizon=horizon, discount_rate=discount_rate,
                           margin=margins, horizon_unit="M", returns_factor=returns_factor, churned=churned,
                           first_amount=spend_model.first_amount, method=method)
    clv = table["clv"]
    value = Valuation(table, churned, margin_text, returns_factor, horizon, discount_rate, method, gini(clv),
                      top_share(clv, 0.2))
    figs = [cplt.plot_clv_distribution(clv, cur, f"{value.basis}, {discount_rate:.0%} a year"),
            cplt.plot_lorenz(lorenz_curve(clv), value.gini)]
    worth = (("Over the next **{b}**" if method == "horizon" else "Over **{b}**")
             + " (discount {d:.0%} a year; mean margin {mg}) the {n} customers are worth **{tot} {cur}** in total: "
             "mean {mean:,.2f} {cur}, median {med:,.2f} {cur} per customer.")
    values = dict(b=value.basis, d=discount_rate, mg=fmt_pct(table["margin"].mean()), n=fmt_int(len(table)),
                  tot=f"{clv.sum():,.0f}", cur=cur, mean=clv.mean(), med=clv.median())
    if clv.sum() > 0:
        sec.say(worth + " The top 20% of customers hold **{t20}** of it (Gini {g:.2f}).", t20=fmt_pct(value.top20),
                g=value.gini, **values)
    else:
        sec.say(worth + " With no value to share out there is no concentration to report.", **values)
    if churned is not None and churned.any():
        sec.say("{k} customers had closed their account by {d} and are valued at 0.",
                k=fmt_int(table.get("explicitly_churned", pd.Series(dtype=bool)).sum()),
                d=str(data.observation_end.date()))
    band_clv = csp.clv_by_frequency(table)
    if independence.dependent and band_clv["difference"].notna().any():  # all-zero CLV has no difference
        figs.append(cplt.plot_clv_by_band(band_clv, cur))
        sec.table(band_clv, "CLV by frequency band: under the model and with each band's observed spend",
                  units={"mean / total": cur, "difference": "model / observed-spend version - 1"})
        big = band_clv["difference"].abs().idxmax()
        sec.say("**Effect on CLV:** spend {s} with frequency in these data, while the model pulls every customer's "
                "spend towards one overall mean. Against the same CLV computed with each frequency band's observed "
                "spend, the model's mean CLV is off by up to {d:+.0%} (band {b}) and by {t:+.1%} in total. Read the "
                "CLV of low- and high-frequency customers with that in mind.",
                s="rises" if independence.test.loc["spearman", "statistic"] > 0 else "falls",
                d=band_clv.loc[big, "difference"], b=str(big),
                t=band_clv["total_clv_model"].sum() / band_clv["total_clv_observed_spend"].sum() - 1)
    for fig in figs:
        sec.figure(fig)
    sec.value = value
    return sec


# ------------------------------------------------------------------------------------------ intervals
def intervals(rep: ReportContext, data: CLVData, final: FinalModel, spend_model: SpendModel,
              value: Valuation) -> Section[ValueIntervals | None]:
    """90% intervals from parameter uncertainty: population totals, the most valuable customers and the
    width of each customer's interval; withheld for a flagged fit, with the reason."""
    cur, horizon = data.currency, value.horizon
    sec: Section[ValueIntervals | None] = Section()
    result = None
    withheld = intervals_withheld(final.name, final.model, spend_model.model)
    try:
        result = None if withheld else value_intervals(
            final.model, data.rfm, spend_model.model, value.table, horizon=horizon, discount_rate=value.discount_rate,
            clv_method=value.method, currency=cur, level=0.9, n_draws=N_DRAWS, seed=0)
    except (ValueError, KeyError, NotImplementedError, np.linalg.LinAlgError) as exc:
        sec.say("No intervals could be computed for {m}: {e}.", m=final.name, e=str(exc))
    if withheld:
        sec.say("**Intervals withheld.** {s}", s=withheld)
    sec.value = result
    if result is None:
        return sec
    sec.table(result.population.set_index("quantity")[["estimate", "lower", "upper", "unit"]],
              f"90% intervals for the population totals ({final.name} and Gamma-Gamma parameter uncertainty, "
              f"{N_DRAWS} draws)", units={"estimate / lower / upper": "in the unit column"}, precision=0)
    pop = result.population.set_index("key")

    def span(key: str, unit: str = "") -> str:
        u = f" {unit}" if unit else ""
        return (f"{pop.loc[key, 'estimate']:,.0f}{u} ({pop.loc[key, 'lower']:,.0f} to "
                f"{pop.loc[key, 'upper']:,.0f}{u})")

    parts = [f"expected purchases over the next {horizon} months {span('expected_purchases')}",
             f"customers still active {span('customers_alive')}"]
    if result.with_clv:
        parts.append(f"total CLV {span('total_clv', cur)}")
    sec.say("With 90% confidence about the model parameters: {p}. These intervals reflect parameter uncertainty "
            "only, not the randomness of individual customers' behaviour.", p="; ".join(parts))
    for note in result.notes:
        sec.say("- Note: {n}.", n=note)
    if result.with_clv:
        _top_customers(sec, rep, result, cur, horizon)
    return sec


def _top_customers(sec: Section[Any], rep: ReportContext, result: ValueIntervals, cur: str, horizon: int) -> None:
    """The 15 customers with the highest CLV with their 90% intervals (two tables: CLV; purchases and
    P(alive)), the interval width against the value, and the median relative width."""
    top = result.customers.sort_values("clv", ascending=False).head(15).rename_axis("customer_id").reset_index()
    top = protect(top, enabled=rep.out.pseudonymise, salt=rep.out.salt)
    fig = cplt.plot_interval_width(result.customers, cur, result.level)
    sec.table(top[["customer_id", "clv", "clv_lower", "clv_upper"]],
              "The 15 customers with the highest CLV, with 90% intervals", units={"clv / clv_lower / clv_upper": cur},
              index=False, max_rows=15)
    sec.table(top[["customer_id", "expected_purchases", "expected_purchases_lower", "expected_purchases_upper",
                   "prob_alive", "prob_alive_lower", "prob_alive_upper"]],
              "The same customers: expected purchases and P(alive), with 90% intervals",
              units={"expected_purchases*": f"purchases in the next {horizon} months", "prob_alive*": "probability"},
              index=False, max_rows=15)
    c = result.customers
    pos = c["clv"] > 0
    rel_w = ((c["clv_upper"] - c["clv_lower"]) / c["clv"])[pos]
    sec.say("Across customers with a positive CLV the 90% interval is {m} of the estimate wide (median; 90% of "
            "customers below {q}). The width grows with the value: the most valuable customers carry the largest "
            "absolute uncertainty.", m=fmt_pct(rel_w.median()), q=fmt_pct(rel_w.quantile(0.9)))
    sec.figure(fig)


# ----------------------------------------------------------------------------------------- cash flows
FLOW_COLUMNS = ["period_start", "expected_purchases", "expected_revenue", "expected_margin", "discount_factor",
                "discounted_margin", "cumulative_discounted_margin"]


def cash_flows(rep: ReportContext, data: CLVData, final: FinalModel, value: Valuation,
               segment_by: str | None = None) -> Section[CashFlows]:
    """Expected and discounted monthly cash flows per segment (``segment_by``, else the customer type
    when there are several, else the value tier), in total and for the first three months and the last."""
    ds, cur = data.ds, data.currency
    table = value.table
    cust = ds.customers.set_index("customer_id") if ds.has("customers") else None
    seg_col = segment_by or ("customer_type" if cust is not None and "customer_type" in cust.columns
                             and cust["customer_type"].nunique() > 1 else None)
    if seg_col is not None and (cust is None or seg_col not in cust.columns):
        raise ValueError(f"segment_by {seg_col!r} is not a column of the customer table")
    segments = (cust[seg_col].reindex(table.index) if seg_col else   # tiers in their order, high first
                value_tiers(table["clv"]).astype(pd.CategoricalDtype(["high", "mid", "low", "none"], ordered=True)))
    seg_name = seg_col.replace("_", " ") if seg_col else "value tier (top 20% by CLV high, next 30% mid)"
    flow_h = value.horizon if value.method == "horizon" else 60
    purchases_m = period_purchases(final.model, data.rfm, flow_h, "M")
    if value.churned is not None:
        purchases_m[:, value.churned.reindex(data.rfm.index).fillna(False).to_numpy(bool)] = 0.0
    flows = cash_flow_table(table, purchases_m, segments, value.discount_rate, "M",
                            start=data.observation_end + pd.Timedelta(days=1), returns_factor=value.returns_factor)
    fig = cplt.plot_cash_flows(flows, cur, "month")
    summary = flows.groupby("segment").agg(customers=("customers", "first"),
                                           expected_purchases=("expected_purchases", "sum"),
                                           expected_revenue=("expected_revenue", "sum"),
                                           expected_margin=("expected_margin", "sum"),
                                           discounted_margin=("discounted_margin", "sum"))
    sec: Section[CashFlows] = Section(value=CashFlows(flows, segments, seg_name))
    sec.table(summary.sort_values("discounted_margin", ascending=False),
              f"Cash flows over {flow_h} months by {seg_name}",
              units={"revenue / margin": cur, "expected_purchases": "count"})
    months = flows.loc[flows["period"].isin([1, 2, 3, flow_h])].set_index(["segment", "period"])
    sec.table(months[FLOW_COLUMNS], "Per-month cash flows (first three months and the last; customers per segment "
              "as above)", units={"revenue / margin": cur, "discount_factor": "1 / (1 + monthly rate) ** month"},
              max_rows=40)
    if value.method == "dert":
        sec.say("The cash-flow table covers the first {h} months; DERT adds every month after that.", h=flow_h)
    return sec.figure(fig)


# ---------------------------------------------------------------------------------------------- groups
def by_region_and_type(rep: ReportContext, data: CLVData, value: Valuation,
                       min_group_size: int = 30) -> Section[Groups]:
    """CLV per region (with CAC and CLV / CAC when there is marketing spend) and per customer type;
    groups with fewer than ``min_group_size`` customers are shown as too few customers and not ranked."""
    ds, cur, table = data.ds, data.currency, value.table
    cust = ds.customers.set_index("customer_id") if ds.has("customers") else None
    cac = region_cac(ds.marketing_spend, ds.customers)
    sec: Section[Groups] = Section()
    by_region = by_type = None
    figs = []
    if cust is not None and "region" in cust.columns and cust["region"].notna().any():
        by_region = value_by_group(table, cust["region"], cac, "region", min_group_size)
        for col in ("cac", "clv_cac"):          # the same columns with or without marketing spend
            if col not in by_region.columns:
                by_region[col] = np.nan
        figs.append(cplt.plot_value_by_group(by_region, "region", cur))
        sec.table(without_empty_notes(by_region.set_index("region")), "Predicted CLV by region",
                  units={"customers": "count", "mean_clv / median_clv / total_clv / cac": cur,
                         "clv_share / mean_prob_alive": "share", "clv_cac": "mean CLV / CAC"})
        sec.say("{s}", s=group_ranking_sentence(by_region, "region", cur, min_group_size))
        if cac is not None:
            sec.say("{s}", s=cac_sentence(by_region, value.horizon, min_group_size))
        else:
            sec.say("The dataset has no marketing spend, so there is no CLV / CAC.")
    else:
        sec.say("The dataset has no regions (no customer table with a region), so CLV is not broken down by region.")
    if cust is not None and "customer_type" in cust.columns and cust["customer_type"].nunique() > 1:
        by_type = value_by_group(table, cust["customer_type"], None, "customer_type", min_group_size)
        sec.table(without_empty_notes(by_type.set_index("customer_type")), "Predicted CLV by customer type",
                  units={"customers": "count", "mean_clv / median_clv / total_clv": cur,
                         "clv_share / mean_prob_alive": "share"})
        sec.say("{s}", s=top_group_sentence(by_type, "customer_type", cur, min_group_size))
    for fig in figs:
        sec.figure(fig)
    sec.value = Groups(by_region, by_type)
    return sec


# --------------------------------------------------------------------------------------------- drivers
def reference_levels(effects: pd.DataFrame | None) -> str:
    """The reference level of each attribute, from the effects table: "region North, customer type
    individual"; when the processes use different references (each model takes the most common level
    among its customers), each is named with its processes: "region East (purchase, dropout; North for
    spend)". "" without effects."""
    if effects is None or effects.empty:
        return ""
    parts = []
    for col, rows in effects.groupby("covariate", sort=False):
        by_ref: dict[str, list[str]] = {}
        for process, ref in rows[["process", "reference"]].drop_duplicates().itertuples(index=False):
            by_ref.setdefault(str(ref), []).append(str(process))
        (main, procs), *others = sorted(by_ref.items(), key=lambda kv: -len(kv[1]))
        label = str(col).replace("_", " ")
        if not others:
            parts.append(f"{label} {main}")
        else:
            rest = "; ".join(f"{ref} for {', '.join(p)}" for ref, p in others)
            parts.append(f"{label} {main} ({', '.join(procs)}; {rest})")
    return ", ".join(parts)


def drivers(rep: ReportContext, data: CLVData) -> Section[AttributeEffects]:
    """BG/NBD and Gamma-Gamma with the customer attributes: multipliers per level against the reference,
    fits that failed or went to a limit, and that these are associations, not causal effects."""
    ds = data.ds
    effects = attribute_effects(data.rfm_cal, ds.customers if ds.has("customers") else None, level=0.95)
    sec: Section[AttributeEffects] = Section(value=effects)
    if not effects.applicable:
        return sec.say("This section does not apply to this dataset: it has no customer table with a region, "
                       "customer type or acquisition channel of at least two levels.")
    refs = reference_levels(effects.effects)
    sec.say("Attributes used: {c}.{r} Fitted on the {n} customers of the calibration period{d}.",
            c=", ".join(col.replace("_", " ") for col in effects.columns),
            r=f" Reference levels: {refs}." if refs else "",
            n=fmt_int(effects.n_used),
            d=(f"; {effects.n_dropped:,} customers without all of these attributes were left out" if effects.n_dropped
               else " (every customer has all attributes)"))
    for name, msg in effects.failures.items():
        sec.say("**{m} with covariates found no maximum** ({e}), so its effects are not shown. A level with few "
                "customers, or one that separates buyers from non-buyers perfectly, is the usual cause.", m=name, e=msg)
    for name, msg in effects.warnings.items():
        sec.say("**{m}**: a parameter of the model without covariates (the starting point) went to a limit ({e}); "
                "the multipliers are shown, but treat their intervals with care.", m=name, e=msg)
    if effects.effects is not None:
        for sentence in effects.effects["sentence"]:
            sec.say("- {s}", s=sentence)
        shown = effects.effects[["process", "covariate", "level", "reference", "multiplier", "ci_lower", "ci_upper",
                                 "p_value"]]
        sec.table(shown.set_index(["process", "covariate", "level"]),
                  "Multipliers by attribute level against the reference level (95% intervals)",
                  units={"multiplier / ci_lower / ci_upper": "x the reference level (ratio)",
                         "p_value": "two-sided, coefficient = 0"}, precision=3, max_rows=60)
        sec.say("These are **associations given the model**, not causal effects: a level's multiplier compares "
                "customers who differ in that attribute (others held at the reference), and it also reflects anything "
                "that goes with the attribute but is not in the data, such as how the customers were won or what they "
                "buy.")
    return sec


# --------------------------------------------------------------------------------------- value at risk
def lapsed_customers(rep: ReportContext, data: CLVData, value: Valuation) -> Section[pd.DataFrame]:
    """Customers in the top 20% by CLV if still active whose P(alive) is below 0.5, most value at risk first."""
    cur = data.currency
    risk = value_at_risk(value.table, top=0.2, max_prob_alive=0.5)
    sec: Section[pd.DataFrame] = Section(value=risk)
    if not len(risk):
        return sec.say("No customer in the top 20% by value if active has P(alive) below 0.5.")
    privacy = rep.out.pseudonymise
    shown = protect(risk.reset_index()[["customer_id", "frequency", "recency", "T", "monetary_value", "prob_alive",
                                        "clv", "clv_if_alive", "value_at_risk"]], enabled=privacy, salt=rep.out.salt)
    sec.table(shown, "High-value customers with P(alive) below 0.5, most value at risk first",
              units={"recency / T": data.units, "monetary_value / clv / clv_if_alive / value_at_risk": cur},
              index=False, max_rows=20)
    return sec.say("{k} valuable customers are more likely gone than active; together they would be worth {v:,.0f} "
                   "{cur} more over the horizon if they were still active. Customer ids are {ids}.",
                   k=fmt_int(len(risk)), v=risk["value_at_risk"].sum(), cur=cur,
                   ids="pseudonymised" if privacy else "shown as in the data")
