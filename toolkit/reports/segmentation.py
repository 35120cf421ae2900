"""The segmentation report (notebooks/01_segmentation.ipynb): who the customers are, how regions differ.

One function per section, in the report's order: :func:`data_used`, :func:`customer_summary` (which
computes every segmentation once, :func:`toolkit.segmentation.segment_dataset`), :func:`rfm_segments`,
:func:`segment_migration`, :func:`value_tiers`, :func:`types_and_stages`, :func:`demographics`,
:func:`clusters`, :func:`regional_differences`, :func:`customer_base_audit`, :func:`strategy`
and :func:`published` (who to contact is the action plan's: :mod:`toolkit.reports.action_plan`). Each takes the report's context ``rep`` (see
:func:`toolkit.reports.open_report`), its parameters and the values of earlier sections, publishes the
results it is the source of and returns the section (sentences, tables with units, figures).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import toolkit.segmentation as sg
from toolkit.data.quality import rule_summary
from toolkit.engine import collect, transaction_totals
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int, fmt_pct
from toolkit.reports.section import Section, degrade_on_data_limits
from toolkit.segmentation import plots as sp
from toolkit.segmentation.migration import (Migration, check_partition, migration_directions,
                                            migration_from_dataset, segment_rank)
from toolkit.segmentation.pipeline import Segmentation
from toolkit.segmentation.rfm import UNMATCHED

SCHEMES = ("persona", "rfm_segment", "value_tier", "customer_type", "lifecycle_stage", "segment")
DEMOGRAPHICS = ("age_band", "income_band", "gender", "occupation")
LEADING_UNITS = "share of the region's customers; index = share in the region / share overall"


def money_unit(rep: ReportContext) -> str:
    """The money unit of every amount in this report: the dataset's currency, else "currency units"."""
    return rep.currency or "currency units"


def _shares(cutoffs: Sequence[float]) -> str:
    """Cumulative shares as a reader reads them: "20% and 50%"."""
    parts = [f"{round(100 * float(c), 2):g}%" for c in cutoffs]
    return " and ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + " and " + parts[-1]


# ----------------------------------------------------------------------------------------- data used
def data_used(rep: ReportContext) -> Section[dict[str, Any]]:
    """What loading did to the transactions and customers; ``value``: the transaction totals
    (rows, first and last date, returns; :func:`toolkit.engine.transaction_totals`)."""
    ds, cur = rep.ds, money_unit(rep)
    rules = rule_summary(ds)
    rules = rules.loc[rules["table"].isin(["transactions", "customers"])]
    load = ds.report
    totals = transaction_totals(ds.transaction_log)  # the rows stay in the engine
    no_id = load.count("transactions", "no_customer_id") + load.count("transactions", "missing_ids")
    dups_kept = (rules.loc[rules["rule"] == "duplicates", "action"] == "kept").any()
    sec: Section[dict[str, Any]] = Section(value=totals)
    sec.table(rules[["table", "rule", "action", "rows", "column", "detail"]],
              "What loading did to the transactions and customers", units={"rows": "source rows"}, index=False)
    sec.say("Transactions: **{rows}** rows kept. Rows without a customer id (not attributable, left out): **{no_id}**. "
            "Exact duplicates: **{dups}** ({dup_action}). Rows with a negative amount — returns and cancelled "
            "invoices, kept as negative net revenue: **{neg_rows}**{neg_value}. Unusually large rows flagged but "
            "kept: **{outl}**.",
            rows=fmt_int(totals["rows"]), no_id=fmt_int(no_id), dups=fmt_int(load.count("transactions", "duplicates")),
            dup_action="kept: the spec treats them as genuine repeat lines" if dups_kept else "dropped",
            neg_rows=fmt_int(totals["negative_rows"]),
            neg_value=f", together {-totals['negative_value']:,.0f} {cur}" if totals["negative_rows"] else "",
            outl=fmt_int(load.count("transactions", "outliers")))
    other = rules.loc[(rules["table"] == "transactions") & ~rules["rule"].isin(
        ["no_customer_id", "missing_ids", "duplicates", "returns", "outliers"]) & (rules["action"] == "dropped")]
    for r in other.itertuples():
        sec.say("- {rule}: {rows} rows dropped ({detail}).", rule=r.rule, rows=fmt_int(r.rows), detail=r.detail)
    return sec


# ---------------------------------------------------------------------------------- one summary per customer
def customer_summary(rep: ReportContext, config: Any = None, as_of: Any = None, features: Sequence[str] | None = None,
                     k_range: Sequence[int] | None = None, tier_cutoffs: Sequence[float] | None = None,
                     seed: int = 42, tier_value: str = "revenue") -> Section[Segmentation]:
    """Every segmentation of the customers at ``as_of`` (:func:`toolkit.segmentation.segment_dataset`),
    with value tiers by net revenue or, when ``tier_value == "clv"``, by the run's published
    ``customer_clv``; shows the per-customer features and the median buyer. ``value``: the segmentation."""
    ds, cur = rep.ds, money_unit(rep)
    cfg = sg.load_config(config)
    sec: Section[Segmentation] = Section()
    clv = None
    if tier_value == "clv":
        ids = (ds.customers["customer_id"] if ds.has("customers")
               else collect(ds.transaction_log.select("customer_id").unique(), sort=["customer_id"])["customer_id"])
        clv = sg.published_clv(rep.out.run_dir, pd.Index(ids), rep.out.pseudonymise)
        if clv is None:
            sec.say("Value tiers by predicted CLV were asked for, but this run has no published `customer_clv` "
                    "table; the tiers use net revenue instead.")
    seg = sg.segment_dataset(ds, as_of=as_of, config=cfg, features=features, k_range=k_range,
                             tier_cutoffs=tier_cutoffs, seed=seed, value=clv,
                             value_basis="predicted CLV" if clv is not None else "net revenue")
    sec.value = seg
    cust = seg.customers
    buyers = cust.loc[cust["is_buyer"]]
    sec.table(sg.feature_summary(seg.features), "Distribution of the per-customer features (customers with a purchase)",
              units={"recency_days / tenure_days": "days", "frequency": "orders",
                     "monetary / avg_order_value / revenue_12m": cur, "customers": "count"})
    sec.say("As of **{as_of}** the data holds **{n}** customers, **{b}** of whom bought at least once. Per buyer, the "
            "median number of orders is {f:.0f}, the median net revenue {m:,.0f} {cur} and the median time since the "
            "last purchase {r:.0f} days.",
            as_of=str(seg.as_of.date()), n=fmt_int(len(cust)), b=fmt_int(len(buyers)), f=buyers["frequency"].median(),
            m=buyers["monetary"].median(), r=buyers["recency_days"].median(), cur=cur)
    for note in seg.notes:
        sec.say("- {note}", note=note)
    return sec


# ------------------------------------------------------------------------------------------------- RFM
def rfm_segments(rep: ReportContext, seg: Segmentation) -> Section[pd.DataFrame]:
    """RFM score grid and named segments; ``value``: the segment summary (one row per segment)."""
    cur = money_unit(rep)
    cust = seg.customers
    summary = sg.segment_summary(cust, cust["rfm_segment"], seg.config["rfm"]["segments"])
    figures = [sp.plot_rfm_grid(seg.scores.loc[cust["is_buyer"]]), sp.plot_segment_sizes(summary)]
    sec: Section[pd.DataFrame] = Section(value=summary)
    sec.table(summary, "RFM segments",
              units={"customers": "count", "customer_share / revenue_share": "share of all customers / of net revenue",
                     "revenue / median_monetary": cur, "median_recency_days": "days", "median_frequency": "orders"})
    top = summary.drop(index=[i for i in ("No purchase", "Other") if i in summary.index])
    best = top["revenue_share"].idxmax()
    risk = summary.reindex(["At risk", "Can't lose"]).dropna(how="all")
    sec.say("**{best}** is the most valuable RFM segment: {cs} of customers bringing {rs} of net revenue. "
            "Customers *At risk* or in *Can't lose* — good customers who have not bought for a long time — "
            "number {nr} and account for {rr} of revenue to date.",
            best=best, cs=fmt_pct(top.loc[best, "customer_share"]), rs=fmt_pct(top.loc[best, "revenue_share"]),
            nr=fmt_int(risk["customers"].sum()), rr=fmt_pct(risk["revenue_share"].sum()))
    for fig in figures:
        sec.figure(fig)
    return sec


# --------------------------------------------------------------------------------------- segment migration
MIGRATION_COLUMNS = ["segment_t0", "segment_t1", "customers", "share_of_t0", "revenue", "direction"]


def segment_migration(rep: ReportContext, migration_days: int, seg: Segmentation,
                      totals: dict[str, Any]) -> Section[Migration | None]:
    """Where each RFM segment's customers went between ``migration_days`` before the as-of date and
    the as-of date; publishes ``segment_migration`` (empty when the data do not reach back).
    ``value``: the migration, or None."""
    ds, cur, cfg = rep.ds, money_unit(rep), seg.config
    t1 = seg.as_of
    t0 = t1 - pd.Timedelta(days=int(migration_days))
    grid = check_partition(cfg["rfm"]["segments"], int(cfg["rfm"].get("bins", 5)))  # one rule per score combination
    rank = segment_rank(grid)
    sec: Section[Migration | None] = Section()
    if int(migration_days) <= 0 or t0 < totals["first_date"].normalize():
        if int(migration_days) <= 0:
            sec.say("`migration_days` is {d}: it must be positive for a segment migration.", d=migration_days)
        else:
            sec.say("The transactions start on {first}, so there are no segments on {t0} to compare with; choose a "
                    "smaller `migration_days` (now {d}).", first=str(totals["first_date"].date()), t0=str(t0.date()),
                    d=migration_days)
        rep.out.table("segment_migration", pd.DataFrame(columns=MIGRATION_COLUMNS),
                      description="no segment migration: the data do not reach back to the start date")
        return sec
    mig = migration_from_dataset(ds, t0, t1, config=cfg)
    sec.value = mig
    d0, d1 = str(t0.date()), str(t1.date())
    cells = migration_directions(mig.table, rank)
    counts = mig.customers
    sec.figure(sp.plot_migration(counts, d0, d1))
    _migration_moves(sec, cells, mig.n_customers, d0, d1, cur)
    _migration_of_the_best(sec, cells, counts, rank, d0)
    combos = grid["segment"].value_counts().rename("score_combinations")
    summ = mig.summary().join(rank.rename("rank_score")).join(combos)
    summ["score_combinations"] = summ["score_combinations"].astype("Int64")
    summ = summ[["rank_score", "score_combinations", "customers_t0", "customers_t1", "stayed", "stay_share",
                 "period_revenue"]]
    sec.table(summ, f"RFM segments on {d0} and {d1}",
              units={"rank_score": "mean R + FM of the segment's score combinations", "score_combinations":
                     "(R, F, M) combinations the rule covers", "customers_t0 / customers_t1 / stayed": "customers",
                     "stay_share": "share of the customers on " + d0,
                     "period_revenue": f"{cur}, {d0} (excl.) to {d1}"})
    sec.table(mig.revenue, f"Net revenue between {d0} and {d1} by segment move",
              units=f"{cur}, net revenue (purchases minus returns) dated after {d0} up to {d1} of the customers "
                    f"making each move; rows: segment on {d0}, columns: segment on {d1}", precision=0)
    cust = seg.customers
    n = mig.n_customers
    same_t1 = mig.segments["segment_t1"].reindex(cust.index).eq(cust["rfm_segment"]).all()
    complete = (int(counts.to_numpy().sum()) == n and mig.segments.index.is_unique
                and not mig.segments[["segment_t0", "segment_t1"]].isin([UNMATCHED]).any().any())
    sec.say("Check: the segments are mutually exclusive and complete. Each of the {g} (R, F, M) score combinations "
            "matches exactly one rule, so {verdict}{same}", g=len(grid),
            verdict=(f"on both dates each of the {n:,} customers is in exactly one segment (the matrix adds up to "
                     f"{n:,}; nobody is unmatched or counted twice)" if complete
                     else "**but the matrix does not add up**"),
            same=("; the segments on the as-of date are those of the RFM section above." if same_t1 else
                  ". **The segments on the as-of date differ from the RFM section above.**"))
    rep.out.table("segment_migration", cells.assign(t0=t0, t1=t1),
                  description=f"RFM segment migration from {d0} to {d1}: customers "
                  "and net revenue per (segment on t0, segment on t1), with the move's direction",
                  units={"customers": "count", "share_of_t0": "share of the t0 segment's customers",
                         "revenue": f"{cur}, net revenue dated after t0 up to t1"})
    return sec


def _migration_moves(sec: Section[Any], cells: pd.DataFrame, n: int, d0: str, d1: str, cur: str) -> None:
    """How many customers stayed, moved up, slipped, moved sideways or joined; the largest move."""
    moves = cells.groupby("direction")["customers"].sum()
    rev = cells.groupby("direction")["revenue"].sum()
    known = n - int(moves.get("joined", 0))
    sec.say("Of the **{known}** customers known on {d0}, **{st}** ({st_p}) stayed in their segment by {d1}, **{im}** "
            "({im_p}) moved up to a higher-ranked segment and **{sl}** ({sl_p}) slipped to a lower one" +
            ("; {sw} moved between segments of equal rank" if moves.get("sideways", 0) else "") +
            ("; **{new}** customers joined after {d0}" if moves.get("joined", 0) else "") + ". In the period the "
            "customers who moved up brought {rim} of net revenue, those who slipped {rsl}.", known=fmt_int(known),
            d0=d0, d1=d1, st=fmt_int(moves.get("stayed", 0)), st_p=fmt_pct(moves.get("stayed", 0) / max(known, 1)),
            im=fmt_int(moves.get("improved", 0)), im_p=fmt_pct(moves.get("improved", 0) / max(known, 1)),
            sl=fmt_int(moves.get("slipped", 0)), sl_p=fmt_pct(moves.get("slipped", 0) / max(known, 1)),
            sw=fmt_int(moves.get("sideways", 0)), new=fmt_int(moves.get("joined", 0)),
            rim=f"{rev.get('improved', 0):,.0f} {cur}", rsl=f"{rev.get('slipped', 0):,.0f} {cur}")
    flows = cells.loc[cells["direction"].isin(["improved", "slipped", "sideways"])].sort_values("customers",
                                                                                                ascending=False)
    if len(flows):
        f0 = flows.iloc[0]
        sec.say("The largest move is **{a}** to **{b}**: {k} customers, {p} of the segment.", a=f0["segment_t0"],
                b=f0["segment_t1"], k=fmt_int(f0["customers"]), p=fmt_pct(f0["share_of_t0"]))


def _migration_of_the_best(sec: Section[Any], cells: pd.DataFrame, counts: pd.DataFrame, rank: pd.Series,
                           d0: str) -> None:
    """What became of the customers of the highest-ranked segment."""
    best = rank.idxmax()
    if best not in counts.index:
        return
    out_best = cells.loc[(cells["segment_t0"] == best) & (cells["direction"] == "slipped")]
    row = counts.loc[best]
    sec.say("Of the {n0} **{b}** on {d0}, {k} ({p}) still are; {sl} slipped" +
            (", most of them to **{to}** ({to_n})." if len(out_best) else "."), n0=fmt_int(row.sum()),
            b=best, d0=d0, k=fmt_int(row.get(best, 0)), p=fmt_pct(row.get(best, 0) / max(row.sum(), 1)),
            sl=fmt_int(out_best["customers"].sum()),
            to=out_best.sort_values("customers").iloc[-1]["segment_t1"] if len(out_best) else "",
            to_n=fmt_int(out_best["customers"].max()) if len(out_best) else "")


# ------------------------------------------------------------------------------------------- value tiers
def value_tiers(rep: ReportContext, tier_cutoffs: Sequence[float] | None, seg: Segmentation) -> Section[pd.DataFrame]:
    """High / mid / low value tiers and the share of value each brings; publishes ``tier_summary``.
    ``value``: the tier summary."""
    cur, cfg = money_unit(rep), seg.config
    labels = list(cfg["tiers"]["labels"])
    cust = seg.customers
    table = sg.tier_summary(cust["value_tier"], cust["value"], labels + [cfg["tiers"].get("no_purchase", "none")])
    rep.out.table("tier_summary", table.reset_index(), description=f"Value tiers by {seg.value_basis}",
                  units={"value": cur})
    cuts = tier_cutoffs if tier_cutoffs is not None else cfg["tiers"]["cutoffs"]
    fig = sp.plot_tiers(table.loc[table["customers"] > 0], seg.value_basis)
    sec: Section[pd.DataFrame] = Section(value=table)
    sec.table(table, f"Value tiers by {seg.value_basis} (cut-offs at {_shares(cuts)} of buyers ranked by value)",
              units={"customers": "count", "customer_share / value_share": "share of customers / of total value",
                     "value / mean_value / min_value / max_value": cur})
    hi = table.iloc[0]
    sec.say("The **{t}** tier — {cs} of customers — brings **{vs}** of {basis}; the lowest tier brings {ls}.",
            t=table.index[0], cs=fmt_pct(hi["customer_share"]), vs=fmt_pct(hi["value_share"]), basis=seg.value_basis,
            ls=fmt_pct(table.loc[labels[-1], "value_share"]))
    return sec.figure(fig)


# --------------------------------------------------------------------------- customer type and lifecycle
def types_and_stages(rep: ReportContext, seg: Segmentation) -> Section[pd.DataFrame]:
    """Customers by type and by lifecycle stage, with the stage definitions; ``value``: the stages."""
    cur, cust, lc = money_unit(rep), seg.customers, seg.config["lifecycle"]
    stages = sg.stage_summary(cust, cust["lifecycle_stage"])
    fig = sp.plot_stages(stages)
    sec: Section[pd.DataFrame] = Section(value=stages)
    sec.table(sg.profile_by(cust, cust["customer_type"]), "Customers by type",
              units={"customers": "count", "customer_share / revenue_share": "share", "revenue / median_monetary": cur,
                     "median_frequency": "orders", "median_recency_days": "days"})
    sec.table(stages, "Customers by lifecycle stage",
              units={"customers": "count", "customer_share / revenue_share": "share", "revenue / revenue_12m": cur})
    sec.say("Definitions: *new* = first purchase at most {new} days ago; *at risk* = no purchase for more than "
            "{risk} days (or {rg:g} times the customer's usual gap between orders, if longer); *churned* = an explicit "
            "churn date or no purchase for more than {churn} days (or {cg:g} times the usual gap); *potential* = "
            "registered without any transaction.", new=lc["new_days"], risk=lc["at_risk_days"], rg=lc["at_risk_gaps"],
            churn=lc["churned_days"], cg=lc["churned_gaps"])
    share = stages["customer_share"]
    sec.say("{active} of customers are active, {risk} at risk and {churned} churned; the at-risk customers hold "
            "{risk_rev} of net revenue to date.", active=fmt_pct(share.get("active", 0)),
            risk=fmt_pct(share.get("at risk", 0)), churned=fmt_pct(share.get("churned", 0)),
            risk_rev=fmt_pct(stages["revenue_share"].get("at risk", 0)))
    return sec.figure(fig)


# ------------------------------------------------------------------------------------------ demographics
def demographics(rep: ReportContext, seg: Segmentation) -> Section[list[str]]:
    """Customers and net revenue per demographic band, or that the data have none.
    ``value``: the demographic columns shown."""
    cur, cust, bands = money_unit(rep), seg.customers, seg.config["demographics"]
    cols = [c for c in DEMOGRAPHICS if c in cust.columns]
    sec: Section[list[str]] = Section(value=cols)
    if not cols:
        return sec.say("The dataset has no demographic attributes (age, income, gender, occupation), so there are "
                       "no demographic segments.")
    figures = []
    for col in cols:
        prof = sg.profile_by(cust, cust[col].rename(col))
        if col == "age_band":
            prof = prof.reindex([b for b in bands["age_labels"] if b in prof.index])
        if col == "income_band":
            prof = prof.reindex([b for b in bands["income_labels"] if b in prof.index])
            prof = prof.join(sg.income_band_ranges(cust, cust[col]))
        name = col.replace("_", " ")
        figures.append(sp.plot_demographic(prof, name))
        money = "revenue / median_monetary" + (" / min_income / max_income" if col == "income_band" else "")
        sec.table(prof, f"Customers by {name}",
                  units={"customers": "count", "customer_share / revenue_share": "share of customers with a value",
                         money: cur, "median_frequency": "orders", "median_recency_days": "days"})
    sec.say("Demographics are known for {k} of customers (typically individuals only).",
            k=fmt_pct(cust[cols[0]].notna().mean()))
    for fig in figures:
        sec.figure(fig)
    return sec


# ------------------------------------------------------------------------------ clusters and personas
def clusters(rep: ReportContext, seg: Segmentation) -> Section[pd.DataFrame]:
    """The choice of the number of clusters, their stability, and the personas describing them;
    publishes ``personas``. ``value``: the persona table (one row per cluster)."""
    cur = money_unit(rep)
    cf, sm, pers = seg.cluster_features, seg.segmenter, seg.personas
    rep.out.table("personas", pers.reset_index(), description="One profile per behavioural cluster",
                  units={"revenue": cur})
    sec: Section[pd.DataFrame] = Section(value=pers)
    sec.say("Features: **{f}** (log-transformed: {l}). Customers clustered: {n}.",
            f=", ".join(cf.get_feature_names_out()), l=", ".join(cf.log_columns_) or "none", n=fmt_int(len(seg.X)))
    selection_figures = [sp.plot_selection(sm.selection_, sm.k_silhouette_, sm.k_bic_)]
    sec.table(sm.selection_, "Evidence for the number of clusters",
              units={"silhouette": "mean silhouette, -1 to 1", "inertia": "within-cluster sum of squares",
                     "bic": "Bayesian information criterion"}, precision=3)
    if len(sm.stability_):
        selection_figures.append(sp.plot_stability(sm.stability_))
    sec.say("The silhouette score is highest at **k = {k}** ({s:.3f}); the mixture's BIC is lowest at k = {kb}{why}. "
            "The {method} solution with k = {k} is used. Bootstrap stability: mean adjusted Rand index "
            "**{ari:.3f}** (5th percentile {p5:.3f}) over {nb} refits; KMeans and the mixture agree at "
            "ARI {agr:.3f}.", k=sm.n_clusters_, s=sm.selection_.loc[sm.k_silhouette_, "silhouette"], kb=sm.k_bic_,
            why=(" — BIC keeps rewarding extra components for the long tails of the spend distribution"
                 if sm.k_bic_ > sm.k_silhouette_ else ""),
            method="KMeans" if sm.method == "kmeans" else "Gaussian-mixture", ari=sm.stability_mean_,
            p5=float(np.quantile(sm.stability_, 0.05)) if len(sm.stability_) else float("nan"),
            nb=len(sm.stability_), agr=sm.agreement_)
    if sm.agreement_ < 0.5:
        sec.say("KMeans and the Gaussian mixture split the customers differently (agreement {a:.2f}): the boundaries "
                "are not sharp in these data, so read the personas as a description of a continuum rather than as "
                "natural groups.", a=sm.agreement_)
    for fig in selection_figures:
        sec.figure(fig)
    persona_figures = [sp.plot_clusters(seg.X, sm.labels_, list(pers["persona"]), list(cf.get_feature_names_out())),
                       sp.plot_persona_value(pers)]
    sec.table(pers, "Personas: one profile per cluster",
              units={"customers": "count", "customer_share / revenue_share / enterprise_share / churn_rate": "share",
                     "revenue / median_monetary / median_order_value": cur, "median_recency_days": "days",
                     "median_frequency": "orders", "top_regions / top_categories": "share of customers / of revenue"})
    lead, big = pers["revenue_share"].idxmax(), pers.index[0]
    sec.say("The largest cluster, **{bn}**, holds {bs} of the clustered customers and {br} of net revenue.",
            bn=pers.loc[big, "persona"], bs=fmt_pct(pers.loc[big, "customer_share"]),
            br=fmt_pct(pers.loc[big, "revenue_share"]))
    if lead != big:
        sec.say("The most valuable, **{top}**, brings {ts} of net revenue with {tc} of the customers.",
                top=pers.loc[lead, "persona"], ts=fmt_pct(pers.loc[lead, "revenue_share"]),
                tc=fmt_pct(pers.loc[lead, "customer_share"]))
    sec.say("Names are generated from each cluster's most distinctive medians (value, order size, frequency, recency) "
            "and its dominant customer type.")
    for fig in persona_figures:
        sec.figure(fig)
    return sec


# -------------------------------------------------------------------------------- regional differences
@dataclass
class RegionalTests:
    """The regional comparison: customers with small regions pooled, the segmentation schemes
    compared, the chi-square test of the persona mix and the Kruskal-Wallis test of spend (NaN when
    the data have one region)."""

    customers: pd.DataFrame
    schemes: list[str]
    mix_test: pd.Series
    spend_test: dict[str, float]

    @property
    def has_regions(self) -> bool:
        return self.customers["region"].nunique() > 1


NO_MIX_TEST = {"chi2": np.nan, "dof": 0, "p_value": np.nan, "cramers_v": np.nan, "low_expected_share": np.nan}
NO_SPEND_TEST = {"H": np.nan, "p_value": np.nan, "epsilon_squared": np.nan}


def regional_differences(rep: ReportContext, seg: Segmentation) -> Section[RegionalTests]:
    """Segment mix and spend per region with significance tests and effect sizes; publishes
    ``region_segment_mix``. ``value``: the tests (:class:`RegionalTests`)."""
    cur, cust = money_unit(rep), seg.customers
    min_n = int(seg.config["clustering"].get("min_region_customers", 20))
    reg = cust.assign(region=sg.pool_regions(cust["region"], min_n))
    schemes = [s for s in SCHEMES if s in cust.columns and cust[s].nunique() > 1]
    rep.out.table("region_segment_mix", sg.region_mix_all(cust, schemes),
                  description="Customers and net revenue per region and segment, for several segmentation schemes",
                  units={"revenue": cur})
    result = RegionalTests(reg, schemes, pd.Series(NO_MIX_TEST), dict(NO_SPEND_TEST))
    sec: Section[RegionalTests] = Section(value=result)
    if not result.has_regions:
        return sec.say("The dataset has no regional breakdown (every customer is in region **{r}**), so the regional "
                       "comparison is skipped.", r=reg["region"].iloc[0])
    pooled = sorted(set(cust["region"]) - set(reg["region"]))
    if pooled:
        sec.say("{n} regions with fewer than {m} customers are pooled as *other regions*.", n=len(pooled), m=min_n)
    mix = sg.region_segment_table(reg, "persona")
    order = list(seg.personas["persona"])
    mix_figure = sp.plot_region_mix(sg.crosstab(mix, "customer_share", order), "customers", "persona")
    sec.table(sg.crosstab(mix, "customers", order).astype(int), "Customers per region and persona", units="customers")
    sec.table(sg.crosstab(mix, "revenue_share", order), "Share of each region's net revenue by persona",
              units="share of the region's net revenue")
    tests = sg.mix_tests(reg, schemes)
    sec.table(tests, "Chi-square tests: does the segment mix differ between regions?",
              units={"chi2": "statistic", "p_value": "probability", "cramers_v": "0-1", "n": "customers",
                     "low_expected_share": "share of cells with expected count below 5"}, precision=4)
    t0 = result.mix_test = tests.loc["persona"]
    sec.say("Persona mix across regions: chi-square {chi:.1f} on {dof} degrees of freedom, p = {p:.2g}, Cramér's V "
            "{v:.3f} — {verdict}.{warn}", chi=t0["chi2"], dof=int(t0["dof"]), p=t0["p_value"], v=t0["cramers_v"],
            verdict="the regions differ in their segment mix" if t0["p_value"] < 0.05
            else "no evidence that the mix differs between regions",
            warn=(f" Caution: {t0['low_expected_share']:.0%} of cells have an expected count below 5, so the "
                  "p-value is only approximate." if t0["low_expected_share"] > 0.2 else ""))
    sec.figure(mix_figure)
    buyers = reg.loc[reg["is_buyer"]]
    kw = result.spend_test = sg.spend_by_region_test(buyers)
    spend = sg.spend_by_region(buyers)
    spend_figure = sp.plot_spend_by_region(buyers, currency=cur)
    sec.table(spend, "Net revenue per customer by region (buyers)",
              units={"customers": "count", "median_spend / mean_spend / revenue": cur,
                     "mean_rank": "rank (1 = lowest)"})
    sec.say("Kruskal-Wallis: H = {h:.1f} on {dof} degrees of freedom, p = {p:.2g}, epsilon-squared {e:.3f} — "
            "{verdict}. Median spend per customer is highest in **{top}** ({tm:,.0f} {cur}) and lowest in **{low}** "
            "({lm:,.0f} {cur}).", h=kw["H"], dof=kw["dof"], p=kw["p_value"], e=kw["epsilon_squared"],
            verdict="spend per customer differs between regions" if kw["p_value"] < 0.05
            else "no evidence that spend per customer differs between regions",
            top=spend.index[0], tm=spend["median_spend"].iloc[0], low=spend.index[-1],
            lm=spend["median_spend"].iloc[-1], cur=cur)
    sec.table(sg.leading_segments(mix), "Each region's leading personas", units=LEADING_UNITS)
    sec.table(sg.leading_segments(sg.region_segment_table(reg, "rfm_segment")), "Each region's leading RFM segments",
              units=LEADING_UNITS)
    return sec.figure(spend_figure)


# ------------------------------------------------------------------------------- customer-base audit
@dataclass
class Audit:
    """Revenue concentration: deciles of buyers by net revenue, the Gini coefficient, the top-20% share."""

    deciles: pd.DataFrame
    gini: float
    top20_share: float


def customer_base_audit(rep: ReportContext, seg: Segmentation, totals: dict[str, Any]) -> Section[Audit]:
    """Deciles, Lorenz curve and Gini of net revenue, and the C3 chart of revenue by acquisition cohort
    (quarters when the data span more than three years, months otherwise). ``value``: :class:`Audit`."""
    cur, cust = money_unit(rep), seg.customers
    values = cust.loc[cust["is_buyer"], "monetary"]
    dec = sg.decile_table(values)
    g, top20 = sg.gini(values), sg.top_share(values, 0.2)
    figures = [sp.plot_deciles(dec), sp.plot_lorenz(sg.lorenz_curve(values), g)]
    sec: Section[Audit] = Section(value=Audit(dec, g, top20))
    sec.table(dec, "Net revenue by customer decile (1 = top 10%)",
              units={"customers": "count", "revenue / mean_revenue / min_revenue / max_revenue": cur,
                     "revenue_share / cumulative_share": "share of net revenue"})
    sec.say("The top 10% of customers bring **{d1}** of net revenue and the top 20% **{t20}**; the Gini coefficient "
            "is **{g:.2f}**.", d1=fmt_pct(dec["revenue_share"].iloc[0]), t20=fmt_pct(top20), g=g)
    quarterly = (seg.as_of - totals["first_date"]).days > 3 * 365
    coh = sg.cohort_revenue(rep.ds.transaction_log, cust["first_purchase"], seg.as_of, period="Q" if quarterly else "M")
    figures.append(sp.plot_cohorts(coh, cur))
    last, first_cohort = coh.iloc[-1], coh.columns[0]
    sec.say("In the last complete period ({per}) the first cohort ({c0}) still brought {s0} of net revenue.",
            per=str(last.name), c0=str(first_cohort),
            s0=fmt_pct(last[first_cohort] / last.sum()) if last.sum() else "–")
    for fig in figures:
        sec.figure(fig)
    return sec


# ------------------------------------------------------------------------------------------- strategy
def strategy(rep: ReportContext, seg: Segmentation) -> Section[pd.DataFrame]:
    """Actions and contact cadence per value tier and RFM segment with the revenue at stake; publishes
    ``strategy``. ``value``: the plan (one row per tier and segment)."""
    cur, cust, cfg = money_unit(rep), seg.customers, seg.config["strategy"]
    units = {"customers": "count", "revenue / revenue_12m": cur, "revenue_share": "share of net revenue",
             "cadence_days": "days between contacts"}
    plan = sg.strategy_table(cust, cfg)
    rep.out.table("strategy", plan, description="Actions and contact cadence per value tier and RFM segment",
                  units={"revenue": cur, "cadence_days": "days"})
    sec: Section[pd.DataFrame] = Section(value=plan)
    sec.table(sg.tier_strategy(cust, cfg), "Strategy per value tier", units=units)
    sec.table(plan, "Actions per value tier and RFM segment, with customers and revenue at stake", units=units,
              index=False, max_rows=40)
    stake = plan.sort_values("revenue_12m", ascending=False).iloc[0]
    sec.say("The largest revenue at stake over the last 12 months sits with **{seg_}** customers in the **{tier}** "
            "tier: {n} customers, {rev:,.0f} {cur}; they are to be contacted every {cad:.0f} days by {contact}.",
            seg_=stake["rfm_segment"], tier=stake["value_tier"], n=fmt_int(stake["customers"]),
            rev=stake["revenue_12m"], cur=cur, cad=stake["cadence_days"], contact=stake["contact"])
    return sec


# ------------------------------------------------------------------------------------------ published
def published(rep: ReportContext, seg: Segmentation, rfm: pd.DataFrame, tiers: pd.DataFrame,
              regions: RegionalTests, audit: Audit) -> Section[pd.DataFrame]:
    """Publishes the per-customer ``customer_segments`` export and the headline ``segmentation``
    metrics, and lists what the report published. ``value``: the exported table."""
    cur, sm = money_unit(rep), seg.segmenter
    table = seg.export_table()
    rep.out.export("customer_segments", table,
                   description="One row per customer: RFM scores and segment, value tier, lifecycle stage, cluster, "
                               "persona, demographic bands, contact cadence",
                   units={"monetary": cur, "value": cur, "recency_days": "days", "cadence_days": "days"})
    t0, kw = regions.mix_test, regions.spend_test
    rep.out.metrics("segmentation", {
        "dataset": rep.ds.name, "as_of": str(seg.as_of.date()), "n_customers": int(len(seg.customers)),
        "n_buyers": int(seg.customers["is_buyer"].sum()),
        "gini": audit.gini, "top20_revenue_share": audit.top20_share,
        "top10_revenue_share": float(audit.deciles["revenue_share"].iloc[0]),
        "chi2_p": float(t0["p_value"]), "chi2_cramers_v": float(t0["cramers_v"]),
        "kruskal_p": float(kw["p_value"]), "kruskal_epsilon_squared": float(kw["epsilon_squared"]),
        "chosen_k": int(sm.n_clusters_), "k_bic": int(sm.k_bic_), "method": sm.method,
        "ari_stability": sm.stability_mean_, "value_basis": seg.value_basis,
        "tier_value_share": tiers["value_share"].to_dict(),
        "rfm_segment_customers": rfm["customers"].to_dict(),
    }, description="Headline segmentation figures", units={"gini": "0-1", "top20_revenue_share": "share"})
    sec: Section[pd.DataFrame] = Section(value=table)
    sec.say("Published: per-customer segments ({n} rows), region x segment mix, tier summary, personas, strategy, "
            "the segment migration and the headline metrics.", n=fmt_int(len(table)))
    return sec


degrade_on_data_limits(globals())
