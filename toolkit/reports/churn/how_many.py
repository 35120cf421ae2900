"""How many customers leave: who counts as churned, churn rates, retention, survival, the Cox model."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit import churn as ch
from toolkit.churn import plots as cp
from toolkit.reports.churn.display import readable
from toolkit.reports.context import ReportContext
from toolkit.reports.format import esc, fmt_int, fmt_pct, rate_ranking
from toolkit.reports.section import Section

RATE_UNITS = {"at_start": "customers", "lost": "customers", "churn_rate": "lost / at start"}
RATE_GROUPINGS = ("region", "segment", "customer_type", "acquisition_channel")


@dataclass
class ChurnBasis:
    """Who counts as churned: the churn labels (:func:`toolkit.churn.churn_labels`) and the customer table.

    ``labels.attrs`` carry the definition and its settings, the as-of date, ``dated`` and the time unit."""

    labels: pd.DataFrame
    customers: pd.DataFrame

    @property
    def definition(self) -> str:
        return self.labels.attrs["definition"]

    @property
    def as_of(self) -> pd.Timestamp:
        return pd.Timestamp(self.labels.attrs["as_of"])

    @property
    def dated(self) -> bool:
        return bool(self.labels.attrs["dated"])

    @property
    def unit(self) -> str:
        return self.labels.attrs["time_unit"]

    @property
    def inactivity_days(self) -> int:
        return int(self.labels.attrs["inactivity_days"])

    @property
    def p_alive_threshold(self) -> float:
        return float(self.labels.attrs["p_alive_threshold"])


@dataclass
class ChurnRates:
    """The overall churn rate (12 months to the as-of date, or the share flagged) and the rates by group."""

    overall_rate: float
    by_group: dict[str, pd.DataFrame] = field(default_factory=dict)
    by_region: pd.DataFrame | None = None


# ------------------------------------------------------------------------------------ sentences
def yearly_rate_sentence(overall: pd.DataFrame, as_of: pd.Timestamp) -> str:
    """The churn rate over the 12 months to ``as_of`` (``overall``: one row of ``churn_rate``,
    ``lost``, ``at_start``, ``attrs["start"]``), or why there is none."""
    start = pd.Timestamp(overall.attrs["start"]).date()
    n, lost = int(overall["at_start"].iloc[0]), int(overall["lost"].iloc[0])
    if n == 0:
        return (f"No customer was active on {start}, so there is no churn rate over the 12 months to "
                f"{as_of.date()} (the data start later).")
    return (f"Over the 12 months to {as_of.date()} the churn rate was **{fmt_pct(lost / n)}**: {fmt_int(lost)} of "
            f"the {fmt_int(n)} customers active on {start} left within the year.")


def logrank_sentence(grouping: str, chi2: float, df: float, p_value: float, alpha: float = 0.05) -> str:
    """One line on a log-rank test of equal survival across the groups of ``grouping``."""
    if not (np.isfinite(chi2) and np.isfinite(p_value)) or df < 1:
        why = "fewer than two groups have customers" if df < 1 else "no group has a churned customer to compare"
        return f"- Survival by **{esc(grouping)}**: not tested ({why})."
    verdict = "the groups differ" if p_value < alpha else "no difference beyond chance"
    return f"- Survival by **{esc(grouping)}**: {verdict} (chi-square {chi2:.1f} on {int(df)} df, p = {p_value:.2g})."


def definition_text(definition: str, dated: bool, inactivity_days: int, p_alive_threshold: float) -> str:
    """What makes a customer count as churned, as the end of "A customer counts as churned by ..."."""
    return {
        "explicit": "the customer table's churn date" if dated else "the customer table's churn flag",
        "inactivity": f"no purchase for {inactivity_days} days (the churn date is the last purchase plus "
                      f"{inactivity_days} days)",
        "p_alive": f"a BG/NBD probability of being alive below {p_alive_threshold:.0%}",
    }[definition]


# ------------------------------------------------------------------------------------ sections
def who_churned(rep: ReportContext, churn_definition: str = "explicit", as_of: str | None = None,
                inactivity_days: int = 180, p_alive_threshold: float = 0.5) -> Section[ChurnBasis]:
    """The churn labels of every customer and one paragraph on the data and the definition."""
    ds = rep.ds
    if not ds.has("customers"):
        ds.require("transactions")  # transaction-only data: customers are the buyers (see ch.customer_table)
    day = pd.Timestamp(as_of).normalize() if as_of else pd.Timestamp(ds.as_of).normalize()
    labels = ch.churn_labels(ds, churn_definition, as_of=day, inactivity_days=inactivity_days,
                             p_alive_threshold=p_alive_threshold)
    basis = ChurnBasis(labels, ch.customer_table(ds))
    n, lost = len(labels), int(labels["churned"].sum())
    sec: Section[ChurnBasis] = Section(value=basis)
    sec.say("Dataset **{title}**, " + ("analysed as of **{as_of}**" if basis.dated else "a snapshot") + ". A customer "
            "counts as churned by {definition}. Of **{n}** customers, **{lost}** ({share}) have churned and {active} "
            "are active.", title=ds.title, as_of=str(day.date()),
            definition=definition_text(churn_definition, basis.dated, inactivity_days, p_alive_threshold),
            n=fmt_int(n), lost=fmt_int(lost), share=fmt_pct(lost / max(n, 1)), active=fmt_int(n - lost))
    if not basis.dated:
        sec.say("The data are a snapshot without dates: churn rates are the share flagged as churned, lifetimes "
                "are the recorded tenure in months, and the churn model is evaluated by cross-validation.")
    return sec


def rates_over_time(basis: ChurnBasis) -> Section[float]:
    """The overall churn rate (value): over the 12 months to the as-of date with the rate per quarter,
    or the share flagged as churned in a snapshot."""
    labels = basis.labels
    overall = ch.churn_rate(labels)
    rate = float(overall["churn_rate"].iloc[0])
    sec: Section[float] = Section(value=rate)
    if not basis.dated:
        return sec.say("**{rate}** of the customers are flagged as churned.", rate=fmt_pct(rate))
    sec.text(yearly_rate_sentence(overall, basis.as_of))
    by_period = ch.churn_rates_by_period(labels, freq="Q")
    sec.figure(cp.plot_rates_by_period(by_period, title="Churn rate per quarter"))
    sec.table(readable(by_period.set_index("period").tail(12)), "Churn rate per quarter (last 12 quarters)",
              units={**RATE_UNITS, "at_start": "customers active at the start of the quarter"})
    return sec


def rates_by_group(basis: ChurnBasis, overall_rate: float, min_group_size: int = 30) -> Section[ChurnRates]:
    """Churn rate by region, segment, customer type and acquisition channel (those with two groups or
    more): a bar chart, a table and a ranking sentence each; the regional rates are the value's ``by_region``."""
    labels, dated = basis.labels, basis.dated
    rates = ChurnRates(overall_rate)
    sec: Section[ChurnRates] = Section(value=rates)
    for col in [c for c in RATE_GROUPINGS if c in labels.columns]:
        t = ch.churn_rate(labels, by=col, max_groups=12)
        if len(t) < 2:
            continue
        rates.by_group[col] = t
        name = col.replace("_", " ")
        sec.figure(cp.plot_rate_bars(t, f"Churn rate by {name}" + (" (last 12 months)" if dated else ""),
                                     name.capitalize(), overall=overall_rate))
        sec.table(t.sort_values("churn_rate", ascending=False), f"Churn rate by {name}", units=RATE_UNITS)
        sec.text(rate_ranking(t, name, min_group_size=min_group_size, overall=overall_rate))
    if "region" not in rates.by_group:
        sec.say("The dataset has a single region, so there is no regional comparison of churn.")
    fallback = ch.churn_rate(labels, by="region") if "region" in labels else ch.churn_rate(labels)
    rates.by_region = rates.by_group.get("region", fallback)
    return sec


def rates_by_cohort(basis: ChurnBasis) -> Section[pd.DataFrame]:
    """Churn rate by acquisition year (dated data) or by tenure band (snapshots)."""
    labels = basis.labels
    t = ch.churn_rate(labels.assign(cohort=ch.cohort_column(labels, freq="Y")), by="cohort")
    caption = "Churn rate by acquisition cohort" + (" (year acquired; last 12 months)" if basis.dated else
                                                    " (tenure band, as no acquisition dates exist)")
    return Section(value=t).table(t, caption, units=RATE_UNITS)


def churn_rates(rep: ReportContext, basis: ChurnBasis, min_group_size: int = 30) -> Section[ChurnRates]:
    """Churn rates over time, by group and by acquisition cohort; publishes ``churn_rates_by_region``."""
    over_time = rates_over_time(basis)
    by_group = rates_by_group(basis, over_time.value, min_group_size)
    rates = by_group.value
    region_table = rates.by_region.reset_index().rename(columns={"group": "region"})
    rep.out.table("churn_rates_by_region", region_table, description="Churn rate by region (" +
                  ("12 months to the as-of date" if basis.dated else "share flagged as churned") + ")",
                  units={"at_start": "customers", "lost": "customers", "churn_rate": "share"})
    sec: Section[ChurnRates] = Section(value=rates)
    return sec.extend(over_time).extend(by_group).extend(rates_by_cohort(basis))


def retention_sentence(retention: pd.DataFrame) -> str | None:
    """Where the cohorts stand at the end of the 4th quarter after acquisition (or the last one observed)."""
    k = min(4, retention.shape[1] - 1)
    col = retention[k].dropna() if k >= 0 else pd.Series(dtype=float)
    if len(col) > 1:
        return (f"At the end of the {k}. quarter after the acquisition quarter, between **{fmt_pct(col.min())}** and "
                f"**{fmt_pct(col.max())}** of a cohort are still customers (cohorts "
                f"{col.idxmin().strftime('%Y-%m')} and {col.idxmax().strftime('%Y-%m')}).")
    if len(col):
        return (f"At the end of the {k}. quarter after the acquisition quarter, **{fmt_pct(col.iloc[0])}** of the "
                "cohort are still customers.")
    return None


def cohort_retention(rep: ReportContext, basis: ChurnBasis) -> Section[pd.DataFrame]:
    """Retention of each quarterly acquisition cohort (heat map, curves, one sentence); none for snapshots."""
    if not basis.dated:
        return Section().say("Without acquisition dates there are no calendar cohorts; the Kaplan-Meier curves "
                             "below show retention against tenure instead.")
    retention = ch.cohort_retention(basis.labels, freq="Q")
    sec: Section[pd.DataFrame] = Section(value=retention)
    sec.figure(cp.plot_cohort_heatmap(retention, "Share of each quarterly cohort still a customer"))
    sec.figure(cp.plot_retention_curves(retention, "Retention curves by quarterly acquisition cohort"))
    said = retention_sentence(retention)
    return sec.text(said) if said else sec


def survival(rep: ReportContext, basis: ChurnBasis) -> Section[pd.DataFrame]:
    """Kaplan-Meier: the median lifetime, curves and a summary per grouping, and log-rank tests (value)."""
    surv, unit = ch.survival_frame(basis.labels), basis.unit
    groups = ch.kaplan_meier(surv).groups
    med = groups["median_lifetime"].iloc[0]
    sec: Section[pd.DataFrame] = Section()
    sec.say("Median lifetime: **{med}**; after {last:.0f} {unit} {share} of customers are still active.",
            med=(f"{med:.0f} {unit}" if np.isfinite(med) else "not reached (more than half are still customers)"),
            last=groups["last_time"].iloc[0], unit=unit, share=fmt_pct(groups["survival_at_end"].iloc[0]))
    rows = []
    for col in ch.km_groupings(surv):
        km = ch.kaplan_meier(surv, by=col)
        name = col.replace("_", " ")
        sec.figure(cp.plot_km(km, f"Customer survival by {name}", f"Time as a customer ({unit})"))
        sec.table(km.groups, f"Kaplan-Meier summary by {name}",
                  units={"customers": "count", "churned": "count", "median_lifetime": unit,
                         "survival_at_end": "share still a customer at last_time", "last_time": unit})
        rows.append({"grouping": name, "groups": km.logrank.groups, "chi2": km.logrank.statistic,
                     "df": km.logrank.df, "p_value": km.logrank.p_value})
    if not rows:
        return sec
    lr = pd.DataFrame(rows).set_index("grouping")
    sec.value = lr
    sec.table(lr, "Log-rank tests of equal survival across groups", units={
        "chi2": "test statistic", "p_value": "probability of differences this large by chance"}, precision=4)
    for g, r in lr.iterrows():
        sec.text(logrank_sentence(g, r["chi2"], r["df"], r["p_value"]))
    return sec


def hazard_sentence(term: str, r: pd.Series) -> str:
    """One significant hazard ratio in words (``r``: unit, hazard_ratio, lower, upper)."""
    hr = r["hazard_ratio"]
    how = f"{hr - 1:.0%} higher risk of leaving" if hr > 1 else f"{1 - hr:.0%} lower risk of leaving"
    return (f"- **{esc(term)}** ({esc(r['unit'])}): hazard ratio {hr:.2f} (95% interval {r['lower']:.2f}-"
            f"{r['upper']:.2f}): {how}.")


def ph_sentence(ph_test: pd.DataFrame) -> str:
    """Whether the proportional-hazards assumption holds, naming the terms where it does not."""
    bad = [t for t in ph_test.index if t != "GLOBAL" and not ph_test.loc[t, "ph_holds_5pct"]]
    if not bad:
        return "The proportional-hazards assumption holds for every term at the 5% level."
    return (f"The proportional-hazards assumption is questionable for {esc(', '.join(bad))}: their effect changes "
            "with time as a customer, so their hazard ratio is an average over the lifetime.")


def cox_model(rep: ReportContext, basis: ChurnBasis, exclude_columns: list[str]) -> Section[Any]:
    """The Cox model's hazard ratios (table, forest plot, the significant ones in words) and its PH check;
    publishes ``cox_hazard_ratios`` (empty when no model could be fitted). Value: the fitted model or None."""
    cox_frame, covs, left_out = ch.cox_data(rep.ds, basis.labels, exclude=exclude_columns)
    events = ch.survival_frame(basis.labels)["event"].sum()
    sec: Section[Any] = Section()
    cox = ch.CoxPH(covs, max_levels=8).fit(cox_frame) if covs and events >= 10 else None
    if cox is not None and not np.isfinite(cox.hazard_ratios_["coef"]).all():
        sec.say("The Cox model did not converge on these attributes, so no hazard ratios are shown.")
        cox = None
    elif cox is None:
        sec.say("No customer attribute varies enough (or too few customers churned) for a Cox model.")
    _publish_cox(rep, cox)
    if cox is None:
        return sec
    sec.value = cox
    hr = cox.hazard_ratios_.sort_values("p_value")
    sec.table(hr.drop(columns=["covariate"]), f"Cox model hazard ratios ({cox.n_:,} customers, {cox.n_events_:,} "
              "churned)", units={"coef": "log hazard ratio", "se": "standard error of coef", "hazard_ratio":
                                 "x risk vs reference", "lower / upper": "95% interval",
                                 "unit": "per unit or vs reference level"}, precision=3)
    sec.figure(cp.plot_forest(hr, "hazard_ratio", "Cox model: hazard ratios with 95% intervals",
                              "Hazard ratio (log scale; above 1 = leaves sooner)", max_rows=25))
    sig = hr.loc[hr["p_value"] < 0.05]
    for term, r in sig.head(6).iterrows():
        sec.text(hazard_sentence(term, r))
    if not len(sig):
        sec.say("No attribute changes the churn hazard significantly at the 5% level.")
    sec.table(readable(cox.ph_test_), "Proportional-hazards check: scaled Schoenfeld residuals against time",
              units={"rho": "correlation with the rank of the event time", "chi2": "test statistic",
                     "ph_holds_5pct": "no significant time trend"}, precision=4)
    sec.text(ph_sentence(cox.ph_test_))
    if left_out:
        sec.say("Left out of the model: {what}.", what="; ".join(f"{k} ({v})" for k, v in left_out.items()))
    return sec


def _publish_cox(rep: ReportContext, cox: Any) -> None:
    if cox is not None:
        rep.out.table("cox_hazard_ratios", cox.hazard_ratios_.reset_index(),
                      description="Cox model hazard ratios with 95% intervals",
                      units={"hazard_ratio": "x churn hazard vs reference", "lower": "95% interval",
                             "upper": "95% interval"})
    else:
        rep.out.table("cox_hazard_ratios", pd.DataFrame(columns=["term", "hazard_ratio", "lower", "upper", "p_value"]),
                      description="no Cox model: no varying attribute")


__all__ = ["ChurnBasis", "ChurnRates", "churn_rates", "cohort_retention", "cox_model", "definition_text",
           "hazard_sentence", "logrank_sentence", "ph_sentence", "rates_by_cohort", "rates_by_group",
           "rates_over_time", "retention_sentence", "survival", "who_churned", "yearly_rate_sentence"]
