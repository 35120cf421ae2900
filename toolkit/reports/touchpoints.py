"""The touchpoint report (notebooks/07_touchpoints.ipynb): which channels reach which customers, what
contacts lead to, how complaints are handled, what contacts cost, whether the tier policy's cadence
is kept, the contact sequences before a first purchase and before churn, and the wider network of
partners and suppliers.

One function per section, in the report's order: :func:`contact_log`, :func:`contacts_by_channel`,
:func:`conversion`, :func:`complaints`, :func:`complaint_churn`, :func:`contact_costs`, :func:`cadence`,
:func:`sequences` and :func:`partners_and_suppliers` (which needs no contact log).
Each takes the report's context ``rep`` (:func:`toolkit.reports.open_report`), its parameters and
earlier sections' values, publishes the tables it is the source of and returns the section. The
analyses live in :mod:`toolkit.touchpoints`; every section says what the data cannot show and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import toolkit.network as net
import toolkit.touchpoints as tp
from toolkit.data.errors import DataError
from toolkit.plotting import PALETTE, new_figure
from toolkit.reports.context import ReportContext
from toolkit.reports.format import esc, fmt_int, fmt_money, fmt_pct
from toolkit.reports.section import NotComputed, Section, degrade_on_data_limits
from toolkit.touchpoints.basis import TouchpointBasis
from toolkit.touchpoints.conversion import ALL, ConversionResult

CONTACTS_UNITS = {"contacts": "contacts", "customers": "customers contacted"}


def _date(day: int | float) -> str:
    return str((pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(day))).date())


def _names(items: list[str]) -> str:
    items = [f"**{esc(i)}**" for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _interval(lo: float, hi: float, fmt) -> str:
    return "–" if not (np.isfinite(lo) and np.isfinite(hi)) else f"{fmt(lo)} to {fmt(hi)}"


def _count(n: int | float, one: str, many: str | None = None) -> str:
    """A count with its noun: "1 customer", "2 customers"."""
    return f"{fmt_int(n)} {one if int(n) == 1 else (many or one + 's')}"


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


def _odds_ratio(x: float) -> str:
    """An odds ratio in words: its value, or why it has none."""
    if np.isfinite(x):
        return f"odds ratio {x:.2f}"
    return ("the odds ratio is undefined (the two-by-two table of contacts and comparison days against "
            "purchase has an empty cell)")


def money_unit(rep: ReportContext) -> str:
    return rep.currency or "currency units"


# ----------------------------------------------------------------------------------------------- basis
def contact_log(rep: ReportContext, as_of: str | None = None, window_days: int = 365,
                churn_definition: str = "explicit", inactivity_days: int = 180,
                config_path: str | None = None) -> Section[TouchpointBasis]:
    """The contacts, customers, purchases and churn every later section reads, and one paragraph on
    what the data hold and what they cannot show. Without an interactions table it stops (a data
    limit), unless the data hold partners or suppliers: then the contact sections say they are not
    shown and the partner and supplier scorecard still runs."""
    from toolkit.churn import churn_labels
    from toolkit.engine import transaction_log

    ds = rep.ds
    if not ds.has("interactions") and (ds.has("partners") or ds.has("suppliers")):
        reason = "the data hold no contact log (interactions table)"
        return Section(value=NotComputed(reason)).say("**Not computed: the data cannot support this part.** {r}; "
                                                      "the partner and supplier scorecard is at the end.", r=reason)
    ds.require("interactions")
    cfg = tp.load_config(config_path)
    day = pd.Timestamp(as_of).normalize() if as_of else pd.Timestamp(ds.as_of).normalize()
    has_tx = ds.has("transactions")
    churn, note = None, ""
    if ds.has("customers") or has_tx:
        try:
            labels = churn_labels(ds, churn_definition, as_of=day, inactivity_days=inactivity_days, attributes=())
            if labels.attrs.get("dated"):
                churn = labels
            else:
                note = "the customer table flags churned customers but gives no churn dates"
        except (DataError, ValueError) as exc:
            note = str(exc)
    else:
        note = "the dataset has neither a customer table nor transactions"
    b = tp.touchpoint_basis(ds.interactions, transaction_log(ds) if has_tx else None,
                            ds.customers if ds.has("customers") else None, day, window_days, cfg,
                            churn=churn, churn_note=note, has_money=bool(has_tx and ds.has_money),
                            engine=getattr(ds, "engine", None))
    sec: Section[TouchpointBasis] = Section(value=b)
    c, w = b.contacts, b.contacts_window
    if len(c):
        sec.say("Dataset **{title}**, analysed as of **{as_of}**. The contact log holds **{n}** contacts of **{m}** "
                "{cust} from {first} to {last}; this report counts the **{days}** days from {start} to {as_of}, "
                "which hold **{nw}** contacts of {mw}.", title=ds.title, as_of=str(day.date()),
                n=fmt_int(len(c)), m=fmt_int(c["customer_id"].nunique()),
                cust="customer" if c["customer_id"].nunique() == 1 else "customers", first=_date(c["day"].min()),
                last=_date(c["day"].max()), days=fmt_int(b.window_days), start=str(b.window_start.date()),
                nw=fmt_int(len(w)), mw=_count(w["customer_id"].nunique(), "customer"))
    else:
        sec.say("Dataset **{title}**, analysed as of **{as_of}**: the contact log holds no contact dated on or before "
                "that day, so none of the sections below has anything to show.", title=ds.title, as_of=str(day.date()))
    if b.dropped_future:
        sec.say("{n} contacts dated after the as-of date are left out.", n=fmt_int(b.dropped_future))
    if b.unknown_customers:
        sec.say("{n} contacts belong to customers who are not in the customer table as of that day; they are counted "
                "by channel and kind, not by region, tier or segment.", n=fmt_int(b.unknown_customers))
    if not has_tx:
        sec.say("The dataset has no transactions: purchases after contacts, value tiers and RFM segments, the cadence "
                "against the tier policy, the cost per converted customer and the sequences before a first purchase "
                "cannot be shown.")
    elif not b.has_money:
        sec.say("The transactions carry no amounts: there are no value tiers or RFM segments (both rank customers by "
                "revenue), so contacts are not shown by tier or segment nor compared with the tier policy, and contact "
                "costs are not stated (there is no currency). A purchase is a day with a transaction row.")
    if not b.has_customers:
        sec.say("The dataset has no customer table: contacts are not shown by region.")
    if churn is None:
        sec.say("Churn after a complaint and the sequences before churn cannot be shown: {why}.", why=note.rstrip("."))
    else:
        sec.say("A customer counts as churned by the **{d}** definition ({n} churned by the as-of date).",
                d=churn_definition, n=fmt_int(int(churn["churned"].sum())))
    sec.say("Settings: `{src}` — outbound contact kinds (the team's own contacts): {kinds}.",
            src=cfg.source or "built-in defaults", kinds=", ".join(cfg.outbound_kinds))
    return sec


# ------------------------------------------------------------------------------------------- contacts
def _contact_figure(table: pd.DataFrame, start: str, end: str):
    t = table.drop(index=["all channels"], errors="ignore").drop(columns=["all kinds", "share"], errors="ignore")
    fig, ax = new_figure(f"Contacts by channel and kind, {start} to {end}", "Contacts", "Channel")
    left = np.zeros(len(t))
    for i, kind in enumerate(t.columns):
        ax.barh(t.index.astype(str), t[kind].to_numpy(), left=left, color=PALETTE[i % len(PALETTE)], label=str(kind))
        left += t[kind].to_numpy()
    ax.invert_yaxis()
    ax.legend(title="kind", fontsize=9)
    return fig


def contacts_by_channel(rep: ReportContext, b: TouchpointBasis) -> Section[pd.DataFrame]:
    """Contacts by channel x kind, by region, and per customer by value tier and RFM segment;
    publishes ``touchpoint_contacts`` (region x channel x kind) and, with tiers, ``touchpoint_contacts_by_tier``
    and ``touchpoint_contacts_by_segment``. ``value``: the channel x kind table."""
    w = b.contacts_window
    start, end = str(b.window_start.date()), str(b.as_of.date())
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if w.empty:
        sec.say("No contact falls in the window ({start} to {end}), so there is nothing to count.", start=start,
                end=end)
        return sec
    t = tp.channel_kind_table(w)
    sec.value = t
    kinds = [k for k in t.columns if k not in ("all kinds", "share")]
    rep.out.table("touchpoint_contacts", tp.contacts_long(w, b.profile),
                  description=f"Contacts and contacted customers per region, channel and kind, {start} to {end}",
                  units=CONTACTS_UNITS)
    sec.table(t, f"Contacts by channel and kind, {start} to {end}",
              units={" / ".join(kinds + ["all kinds"]): "contacts", "share": "share of all contacts"})
    chans = t.drop(index="all channels")
    top = chans["all kinds"].idxmax()
    complaints = int(t.loc["all channels", "complaint"]) if "complaint" in t.columns else 0
    sec.say("Of the **{n}** contacts in the window, **{top}** carries the most ({share}); complaints are {c} of them "
            "({cs}).", n=fmt_int(len(w)), top=str(top), share=fmt_pct(chans.loc[top, "share"]), c=fmt_int(complaints),
            cs=fmt_pct(complaints / len(w)))
    sec.figure(_contact_figure(t, start, end))

    regions = b.regions
    active = b.active_in_window()
    if not b.has_customers:
        pass
    elif len(regions) < 2:
        sec.say("All customers are in one region ({r}), so contacts are not compared by region.",
                r=regions[0] if regions else "unknown")
    else:
        per_region = active.groupby(b.profile["region"]).sum()
        rt = tp.region_channel_table(w, b.profile, per_region)
        chan_cols = [c for c in rt.columns if c not in ("customers", "contacts")]
        sec.table(rt, "Contacts per customer by region and channel",
                  units={"customers": "customers with an account open in the window", "contacts": "contacts",
                         " / ".join(chan_cols): "contacts per customer"})
        per = rt["all channels"].dropna()
        if len(per) >= 2:
            sec.say("Contacts per customer range from {lo:.1f} in **{rl}** to {hi:.1f} in **{rh}**.",
                    lo=per.min(), rl=str(per.idxmin()), hi=per.max(), rh=str(per.idxmax()))

    if not b.has_tiers:
        why = ("the data hold no transactions" if not b.has_purchases else "the transactions carry no amounts")
        sec.say("Contacts by value tier and RFM segment cannot be shown: {why}, so there are no tiers or segments.",
                why=why)
        return sec
    pop = b.profile.loc[active.to_numpy()]
    order = tp.tier_order(b.seg_config)
    by_tier = tp.group_channel_table(w, pop["value_tier"].rename("value_tier"), order)
    chan_cols = [c for c in by_tier.columns if c not in ("customers", "contacted_share")]
    group_units = {"customers": "customers with an account open in the window",
                   "contacted_share": "share of the group contacted at least once",
                   " / ".join(chan_cols): "contacts per customer"}
    rep.out.table("touchpoint_contacts_by_tier", by_tier,
                  description="Contacts per customer by value tier and channel in the window", units=group_units)
    sec.table(by_tier.rename_axis("value tier"), "Contacts per customer by value tier and channel", units=group_units)
    from toolkit.segmentation.rfm import segment_order
    by_seg = tp.group_channel_table(w, pop["rfm_segment"].rename("rfm_segment"),
                                    segment_order(b.seg_config["rfm"]["segments"]))
    rep.out.table("touchpoint_contacts_by_segment", by_seg,
                  description="Contacts per customer by RFM segment and channel in the window", units=group_units)
    sec.table(by_seg.rename_axis("RFM segment"), "Contacts per customer by RFM segment and channel", units=group_units)
    tiers = by_tier.loc[by_tier["customers"] > 0, "all channels"]
    if len(tiers) >= 2:
        sec.say("Per customer, the **{t1}** tier received {v1:.1f} contacts in the window and the **{t2}** tier "
                "{v2:.1f}.",
                t1=str(tiers.index[0]), v1=tiers.iloc[0], t2=str(tiers.index[-1]), v2=tiers.iloc[-1])
    return sec


# ----------------------------------------------------------------------------------------- conversion
CONVERSION_UNITS = {"contacts / followed_by_purchase / compared_contacts": "outbound contacts",
                    "customers_converted": "customers",
                    "followed_share / followed_lower / followed_upper / purchase_rate / rate_lower / rate_upper / "
                    "baseline_rate / baseline_lower / baseline_upper": "share of contacts (comparison days)",
                    "uplift / uplift_lower / uplift_upper": "difference of shares",
                    "odds_ratio / odds_ratio_lower / odds_ratio_upper": "odds ratio"}


def _conversion_figure(t: pd.DataFrame, n: int):
    t = t.loc[t["compared_contacts"] > 0]
    fig, ax = new_figure(f"Purchase within {n} days: contacts against the baseline",
                         f"Share followed by a purchase within {n} days (%)", "Channel")
    y = np.arange(len(t))
    ax.errorbar(100 * t["purchase_rate"], y + 0.15, xerr=[100 * (t["purchase_rate"] - t["rate_lower"]),
                                                          100 * (t["rate_upper"] - t["purchase_rate"])],
                fmt="o", color=PALETTE[0], capsize=3, label="contacts compared")
    lo = (t["baseline_rate"] - t["baseline_lower"]).fillna(0)
    hi = (t["baseline_upper"] - t["baseline_rate"]).fillna(0)
    ax.errorbar(100 * t["baseline_rate"], y - 0.15, xerr=[100 * lo, 100 * hi], fmt="s", color=PALETTE[1], capsize=3,
                label="baseline: comparable days without contact")
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.invert_yaxis()
    ax.legend(fontsize=9)
    return fig


def conversion(rep: ReportContext, b: TouchpointBasis, purchase_within_days: int = 30,
               seed: int = 0) -> Section[ConversionResult | None]:
    """Contact -> purchase within N days by channel against the matched baseline
    (:func:`toolkit.touchpoints.conversion_by_channel`); publishes ``touchpoint_conversion``."""
    n = int(purchase_within_days)
    sec: Section[ConversionResult | None] = Section(value=None)
    if not b.has_purchases:
        sec.say("Contact -> purchase cannot be shown: the dataset has no transactions.")
        return sec
    r = tp.conversion_by_channel(b, n, seed)
    ex = r.excluded
    if ex["outbound_in_window"] == 0:
        sec.say("No outbound contact ({kinds}) falls in the window, so there is no contact to follow to a purchase.",
                kinds=", ".join(b.config.outbound_kinds))
        return sec
    sec.value = r
    t = r.table
    rep.out.table("touchpoint_conversion", t,
                  description=f"Outbound contacts followed by a purchase within {n} days, by channel, against "
                              "comparable days without contact", units=CONVERSION_UNITS)
    counted = int(t.loc[ALL, "contacts"])
    followed = int(t.loc[ALL, "followed_by_purchase"])
    sec.say("Of the **{n_out}** outbound contacts in the window, **{counted}** have their full {n} days before the "
            "as-of date{incomplete}; **{followed}** of them ({share}) {verb} followed by a purchase within {n} days.",
            n_out=fmt_int(ex["outbound_in_window"]), counted=fmt_int(counted), n=n,
            incomplete=f" ({fmt_int(ex['window_incomplete'])} later ones have not)" if ex["window_incomplete"] else "",
            followed=fmt_int(followed), verb="was" if followed == 1 else "were",
            share=fmt_pct(t.loc[ALL, "followed_share"]) if counted else "–")
    compared = int(t.loc[ALL, "compared_contacts"])
    if compared == 0:
        sec.say("None of them could be compared with a baseline: {ni} near another contact of the customer (within {g} "
                "days either side), {bf} before the customer's first purchase and {nc} in groups with fewer than {mc} "
                "comparison days.", ni=fmt_int(ex["not_isolated"]), g=n - 1, bf=fmt_int(ex["before_first_purchase"]),
                nc=fmt_int(ex["no_comparison"]), mc=b.config.min_controls)
        return sec
    sec.say("**{c}** contacts were the customer's only contact within {g} days either side and came after a first "
            "purchase; they are compared with **{d}** days of comparable customers without any contact in the same "
            "span, sampled every {step} days, within {k} groups of recency, frequency and value tier "
            "(left out: {ni} contacts near another contact, {bf} before a first purchase, {nc} in groups with fewer "
            "than {mc} comparison days).", c=fmt_int(compared), g=n - 1, d=fmt_int(r.control_days),
            step=r.control_step_days,
            k=fmt_int(r.groups_compared), ni=fmt_int(ex["not_isolated"]), bf=fmt_int(ex["before_first_purchase"]),
            nc=fmt_int(ex["no_comparison"]), mc=b.config.min_controls)
    shown = pd.DataFrame({
        "contacts": t["contacts"], "followed_share": t["followed_share"], "compared_contacts": t["compared_contacts"],
        "purchase_rate": t["purchase_rate"], "baseline_rate": t["baseline_rate"],
        "uplift_points": 100 * t["uplift"],
        "uplift_interval": [_interval(lo, hi, _points) for lo, hi in zip(t["uplift_lower"], t["uplift_upper"])],
        "odds_ratio": t["odds_ratio"],
        "odds_ratio_interval": [_interval(lo, hi, lambda x: f"{x:.2f}") for lo, hi in
                                zip(t["odds_ratio_lower"], t["odds_ratio_upper"])]}, index=t.index)
    sec.table(shown, f"Outbound contacts followed by a purchase within {n} days, against the baseline",
              units={"contacts / compared_contacts": "outbound contacts",
                     "followed_share": "share of all counted contacts",
                     "purchase_rate / baseline_rate": "share of compared contacts / of comparison days",
                     "uplift_points / uplift_interval": "percentage points (95% bootstrap interval)",
                     "odds_ratio / odds_ratio_interval": "odds ratio (95% bootstrap interval)"})
    ch = t.drop(index=ALL)
    ch = ch.loc[ch["compared_contacts"] > 0]
    if r.bootstrap == 0:
        sec.say("No bootstrap was asked for (`conversion.bootstrap: 0`), so the uplifts have no intervals and no "
                "channel is called different from its baseline.")
    else:
        above = ch.loc[ch["uplift_lower"] > 0].sort_values("uplift", ascending=False)
        below = ch.loc[ch["uplift_upper"] < 0]
        level = ch.loc[~ch.index.isin(above.index) & ~ch.index.isin(below.index)]
        for name, row in above.iterrows():
            sec.say("- **{ch}**: {r} of contacts were followed by a purchase, against {p} on comparable days: "
                    "{u} points more (95% interval {lo} to {hi}), {o}.", ch=str(name),
                    r=fmt_pct(row["purchase_rate"]), p=fmt_pct(row["baseline_rate"]), u=_points(row["uplift"]),
                    lo=_points(row["uplift_lower"]), hi=_points(row["uplift_upper"]),
                    o=_odds_ratio(row["odds_ratio"]))
        if len(level):
            sec.text(f"- No difference from the baseline beyond chance: {_names([str(i) for i in level.index])}.")
        if len(below):
            sec.text("- Followed by a purchase less often than comparable days without contact: "
                     f"{_names([str(i) for i in below.index])}.")
    if r.randomised:
        sec.say("The configuration states that contacts were assigned at random (`conversion.randomised: true`), so "
                "the uplift can be read as the effect of a contact.")
    else:
        sec.say("**This is an association, not the effect of a contact.** Contacts were not assigned at random "
                "(`conversion.randomised: false`): the comparison holds recency, frequency and value tier equal, but "
                "customers can still differ in what made the team contact them and what made them buy.")
    sec.figure(_conversion_figure(t, n))
    return sec


# ----------------------------------------------------------------------------------------- complaints
@dataclass
class ComplaintResult:
    """The complaint cases and their rates by region (None without complaints)."""

    cases: pd.DataFrame
    rates: pd.DataFrame | None


RATE_UNITS = {"customers": "customers with an account open in the window", "customer_years": "customer-years",
              "complaints": "complaint cases opened in the window",
              "resolved / unresolved / recent / unknown": "complaint cases",
              "per_1000_customers": "complaints per 1,000 customers", "per_1000_customer_years":
              "complaints per 1,000 customer-years", "resolution_rate / resolution_lower / resolution_upper":
              "share of settled cases (95% Wilson interval)", "first_contact_share": "share of resolved cases",
              "median_days_to_resolve / mean_days_to_resolve": "days"}


def complaints(rep: ReportContext, b: TouchpointBasis) -> Section[ComplaintResult]:
    """Complaints per 1,000 customers, resolution rate and time to resolve by region; publishes
    ``touchpoint_complaints`` and ``touchpoint_complaint_metrics``."""
    cfg = b.config
    cases = tp.complaint_cases(b.contacts, cfg.resolved_outcomes, cfg.follow_up_days, b.as_of_day)
    sec: Section[ComplaintResult] = Section(value=ComplaintResult(cases, None))
    if cases.empty:
        sec.say("The contact log holds no complaint up to the as-of date, so there is no complaint handling to show.")
        return sec
    outcomes = tp.has_outcomes(b.contacts, "complaint")
    sec.say("A complaint case opens with a complaint contact; complaint contacts of the customer within {f} days of "
            "the case's last contact, while it is unresolved, belong to the same case. A case counts as **resolved** "
            "when one of its contacts has the outcome {res}; its time to resolve runs from its first contact to that "
            "one (0 days: resolved at the first contact). Without such a contact it is unresolved once {f} days have "
            "passed.",
            f=cfg.follow_up_days, res=", ".join(f"'{o}'" for o in cfg.resolved_outcomes))
    rates = tp.complaint_rates(cases, b)
    sec.value.rates = rates
    rep.out.table("touchpoint_complaints", rates, description="Complaint cases, rates and resolution by region in the "
                  "window", units=RATE_UNITS)
    cols = ["customers", "complaints", "per_1000_customers", "per_1000_customer_years"]
    shown = rates[cols].copy()
    if outcomes:
        shown["resolved"], shown["unresolved"] = rates["resolved"], rates["unresolved"]
        shown["resolution_rate"] = rates["resolution_rate"]
        shown["resolution_interval"] = [_interval(lo, hi, fmt_pct) for lo, hi in
                                        zip(rates["resolution_lower"], rates["resolution_upper"])]
        shown["first_contact_share"] = rates["first_contact_share"]
        shown["median_days_to_resolve"] = rates["median_days_to_resolve"]
    sec.table(shown, "Complaints and their resolution by region",
              units={k: v for k, v in {**RATE_UNITS, "resolved / unresolved": "settled complaint cases",
                                       "resolution_rate / resolution_interval": "share of settled cases (95% Wilson "
                                       "interval)", "median_days_to_resolve": "days"}.items()
                     if all(c in shown.columns for c in k.split(" / "))})
    total = rates.iloc[-1]
    metrics: dict[str, Any] = {"complaints": int(total["complaints"]),
                               "per_1000_customers": total["per_1000_customers"],
                               "per_1000_customer_years": total["per_1000_customer_years"]}
    if total["customers"] == 0:
        sec.say("No customer had an account open in the window with a known start date, so there is no complaint rate.")
    else:
        sec.say("In the window, customers made **{m}** complaints: **{r:.1f} per 1,000 customers** ({ry:.1f} per 1,000 "
                "customer-years).", m=fmt_int(total["complaints"]), r=total["per_1000_customers"],
                ry=total["per_1000_customer_years"])
    settled = int(total["resolved"] + total["unresolved"])
    if not outcomes:
        sec.say("The complaints carry no outcomes, so whether and how fast they were resolved cannot be shown, and "
                "neither can churn after an unresolved complaint.")
    elif settled == 0:
        sec.say("No complaint case opened in the window at least {f} days before the as-of date, so no resolution rate "
                "can be read yet.", f=cfg.follow_up_days)
    else:
        sec.say("Of the **{s}** cases opened at least {f} days before the as-of date, **{rr}** were resolved (95% "
                "interval {lo} to {hi}){fc}.", s=fmt_int(settled), f=cfg.follow_up_days,
                rr=fmt_pct(total["resolution_rate"]),
                lo=fmt_pct(total["resolution_lower"]), hi=fmt_pct(total["resolution_upper"]),
                fc="" if not np.isfinite(total["median_days_to_resolve"]) else
                f", {fmt_pct(total['first_contact_share'])} of them at the first contact; resolved cases took a median "
                f"of {total['median_days_to_resolve']:.0f} days (mean {total['mean_days_to_resolve']:.1f})")
        metrics.update(resolution_rate=total["resolution_rate"], median_days_to_resolve=total["median_days_to_resolve"])
    regions = [r for r in rates.index if r != "all regions"]
    if len(regions) == 1 and b.has_customers:
        sec.say("All customers are in one region ({r}), so complaints are not compared by region.", r=str(regions[0]))
    rep.out.metrics("touchpoint_complaint_metrics", metrics, description="Complaint headline figures",
                    units={"per_1000_customers": "complaints per 1,000 customers", "median_days_to_resolve": "days"})
    return sec


def complaint_churn(rep: ReportContext, b: TouchpointBasis) -> Section[tp.ComplaintChurn | None]:
    """Churn after an unresolved vs a resolved first complaint: Kaplan-Meier curves and the Cox
    hazard ratio (:func:`toolkit.touchpoints.churn_after_complaint`); publishes
    ``touchpoint_complaint_churn`` (table) and ``touchpoint_complaint_hazard`` (metrics)."""
    cfg = b.config
    sec: Section[tp.ComplaintChurn | None] = Section(value=None)
    cases = tp.complaint_cases(b.contacts, cfg.resolved_outcomes, cfg.follow_up_days, b.as_of_day)
    if cases.empty:
        sec.say("There is no complaint, so there is no churn after one to show.")
        return sec
    if not tp.has_outcomes(b.contacts, "complaint"):
        sec.say("The complaints carry no outcomes, so churn after an unresolved and after a resolved complaint cannot "
                "be compared.")
        return sec
    if b.churn is None:
        sec.say("Churn after a complaint cannot be shown: {why}.", why=b.churn_note.rstrip("."))
        return sec
    cc = tp.churn_after_complaint(cases, b)
    sec.value = cc
    if cc.km is None:
        sec.say("Churn after a complaint cannot be shown: {why}.", why=cc.reason)
        return sec
    g = cc.km.groups.copy()
    for days in (90, 180, 365):
        g[f"still_customer_{days}d"] = cc.km.survival_at([float(days)]).reindex(g.index).iloc[:, 0]
    g = g.drop(columns=["last_time"])
    g.index.name = "first complaint"
    units = {"customers / churned": "customers", "median_lifetime": "days from the complaint until half have left",
             "survival_at_end": "share still a customer at the last follow-up",
             "still_customer_90d / still_customer_180d / still_customer_365d": "share still a customer (Kaplan-Meier)"}
    rep.out.table("touchpoint_complaint_churn", g, description="Churn after a first complaint, resolved vs unresolved",
                  units=units)
    sec.table(g, "Customers after their first complaint, by how it ended", units=units)
    if np.isfinite(cc.hazard_ratio):
        verdict = ("a higher" if cc.lower > 1 else "a lower" if cc.upper < 1 else "no clearly different")
        sec.say("After an **unresolved** first complaint customers leave at **{hr:.2f} times** the rate of customers "
                "whose complaint was resolved (Cox hazard ratio, 95% interval {lo:.2f} to {hi:.2f}, p = {p:.2g}): "
                "{verdict} risk of leaving. Time runs from the complaint; {n} customers, {e} of whom left.",
                hr=cc.hazard_ratio, lo=cc.lower, hi=cc.upper, p=cc.p_value, verdict=verdict,
                n=fmt_int(len(cc.frame)), e=fmt_int(int(cc.frame["event"].sum())))
        sec.say("Resolution is not assigned at random either: customers whose complaints stay unresolved can differ "
                "in other ways, so this too is an association. A resolved case counts from the day it was opened; a "
                "customer who left before the reply counts as unresolved.")
        rep.out.metrics("touchpoint_complaint_hazard", {
            "hazard_ratio_unresolved": cc.hazard_ratio, "lower": cc.lower, "upper": cc.upper, "p_value": cc.p_value,
            "customers": len(cc.frame), "churned": int(cc.frame["event"].sum())},
            description="Cox hazard ratio of churn after an unresolved vs a resolved first complaint")
    else:
        sec.say("There is no hazard ratio of churn after an unresolved complaint: {why}.", why=cc.reason)
    sec.figure(_km_figure(cc))
    return sec


def _km_figure(cc: tp.ComplaintChurn):
    from toolkit.churn.plots import plot_km

    return plot_km(cc.km, "Customers still there after their first complaint, by how it ended",
                   "Days since the first complaint")


# ----------------------------------------------------------------------------------------------- costs
def contact_costs(rep: ReportContext, b: TouchpointBasis,
                  conv: ConversionResult | None) -> Section[pd.DataFrame | None]:
    """Cost per contact, per converted customer and per purchase beyond the baseline by channel, from
    the configured costs per contact (assumptions); publishes ``touchpoint_costs``."""
    cfg, cur = b.config, rep.currency
    sec: Section[pd.DataFrame | None] = Section(value=None)
    w = b.contacts_window
    if not cfg.costs:
        src = f"`{esc(cfg.source)}`" if cfg.source else "the touchpoint config"
        sec.text(f"No cost per contact is given (`costs.per_contact` in {src}), so contact costs cannot be shown.")
        return sec
    if not b.has_money or not cur:
        sec.say("Contact costs are not shown: the dataset's amounts carry no currency to state them in.")
        return sec
    if w.empty:
        sec.say("No contact falls in the window, so there is nothing to cost.")
        return sec
    t = tp.channel_costs(w, cfg.costs, conv, cfg.outbound_kinds)
    used = [c for c in t.index if c != ALL]
    if not any(c in cfg.costs for c in used):
        sec.text(f"No contact in the window uses a channel with a cost per contact (costs are given for "
                 f"{_names(list(cfg.costs))}), so contact costs cannot be shown.")
        return sec
    sec.value = t
    priced = {c: v for c, v in cfg.costs.items()}
    src = f"`{esc(cfg.source)}`" if cfg.source else "the touchpoint config"
    costs = "; ".join(f"{esc(c)} {esc(fmt_money(v, cur))}" for c, v in priced.items())
    sec.text(f"The costs per contact are **assumptions** from {src}, not measurements; edit them there: {costs}.")
    missing = [c for c in used if c not in cfg.costs]
    if missing:
        sec.text(f"No cost is given for {_names(missing)}: their costs are left blank and out of the totals.")
    unused = [c for c in cfg.costs if c not in used]
    if unused:
        sec.text(f"A cost is given for {_names(unused)}, which no contact in the window uses.")
    money_cols = [c for c in ("cost_per_contact", "total_cost", "outbound_cost", "cost_per_converted_customer",
                              "cost_per_extra_purchase") if c in t.columns]
    units = {"contacts / outbound_contacts": "contacts", " / ".join(money_cols): cur}
    if "customers_converted" in t.columns:
        units["customers_converted"] = "customers"
    rep.out.table("touchpoint_costs", t, description="Contact costs by channel in the window (costs per contact are "
                  "assumptions of config/touchpoints.yaml)", units=units)
    sec.table(t, "What contacts cost by channel", units=units)
    sec.say("In the window the contacts cost **{tot}** in all, {out} of it for outbound contacts.",
            tot=fmt_money(t.loc[ALL, "total_cost"], cur), out=fmt_money(t.loc[ALL, "outbound_cost"], cur))
    if conv is None:
        sec.say("Without purchases there is no cost per converted customer.")
        return sec
    per = t.drop(index=ALL)["cost_per_converted_customer"].dropna()
    if len(per) == 1:
        sec.say("Per customer who bought within {n} days of an outbound contact, **{ch}** costs {v}. This credits the "
                "contacts with purchases that would have happened anyway.", n=conv.within_days, ch=str(per.index[0]),
                v=fmt_money(per.iloc[0], cur))
    elif len(per):
        sec.say("Per customer who bought within {n} days of an outbound contact, **{lo}** is cheapest ({vlo}) and "
                "**{hi}** dearest ({vhi}). These costs credit the contacts with purchases that would have happened "
                "anyway.",
                n=conv.within_days, lo=str(per.idxmin()), vlo=fmt_money(per.min(), cur), hi=str(per.idxmax()),
                vhi=fmt_money(per.max(), cur))
    extra = t.drop(index=ALL)["cost_per_extra_purchase"].dropna() if "cost_per_extra_purchase" in t else pd.Series()
    if len(extra):
        items = ", ".join(f"{esc(fmt_money(v, cur))} by {esc(c)}" for c, v in extra.sort_values().items())
        sec.text(f"Counting only the purchases above the baseline, one extra purchase costs {items} (cost per contact "
                 "divided by the uplift; an association, see above).")
    else:
        sec.say("No channel's uplift over the baseline is clearly above zero, so there is no cost per extra purchase.")
    return sec


# --------------------------------------------------------------------------------------------- cadence
CADENCE_UNITS = {"customers": "active customers", "quarters": "customer-quarters counted",
                 "contacts": "outbound contacts",
                 "contacts_per_quarter / policy_per_quarter": "outbound contacts per customer per quarter",
                 "policy_ratio": "actual / policy", "on_policy_share / never_contacted_share": "share of the customers"}


def _cadence_figure(t: pd.DataFrame):
    fig, ax = new_figure("Outbound contacts per customer per quarter: actual against the tier policy", "Value tier",
                         "Contacts per customer per quarter")
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["contacts_per_quarter"], width=0.4, color=PALETTE[0], label="actual")
    ax.bar(x + 0.2, t["policy_per_quarter"], width=0.4, color=PALETTE[6], label="policy (segmentation strategy)")
    ax.set_xticks(x, [str(i) for i in t.index])
    ax.legend(fontsize=9)
    return fig


def cadence(rep: ReportContext, b: TouchpointBasis) -> Section[pd.DataFrame | None]:
    """Outbound contacts per customer per quarter against the cadence the segmentation strategy sets
    (``config/segmentation.yaml``) by value tier and RFM segment; publishes ``touchpoint_cadence``."""
    sec: Section[pd.DataFrame | None] = Section(value=None)
    if not b.has_tiers:
        why = "the data hold no transactions" if not b.has_purchases else "the transactions carry no amounts"
        sec.say("Contact frequency cannot be compared with the tier policy: {why}, so there are no value tiers.",
                why=why)
        return sec
    cust = tp.customer_cadence(b)
    if cust.empty:
        sec.say("No customer is active at the as-of date, so contact frequency is not compared with the tier policy.")
        return sec
    t = tp.cadence_table(cust, "value_tier", tp.tier_order(b.seg_config))
    sec.value = t
    policy = tp.policy_cadence(b.seg_config)
    every = [f"{d:.0f} days for tier {esc(k)}" for k, d in policy.items()]
    every = every[0] if len(every) == 1 else ", ".join(every[:-1]) + " and " + every[-1]
    sec.text(f"The policy: one contact every {every}, scaled per RFM segment by its cadence factor. Counted are the "
             f"outbound contacts ({esc(', '.join(b.config.outbound_kinds))}) of the {_count(len(cust), 'customer')} "
             "active at the as-of date, over the window or from their start.")
    rep.out.table("touchpoint_cadence", t, description="Outbound contacts per customer per quarter against the tier "
                  "policy", units=CADENCE_UNITS)
    sec.table(t.rename_axis("value tier"), "Contact frequency against the tier policy", units=CADENCE_UNITS)
    ok = t.loc[t["customers"] > 0]
    for name, row in ok.iterrows():
        if not np.isfinite(row["policy_ratio"]):
            continue
        ratio = row["policy_ratio"]
        verdict = ("as often as the policy says" if 0.8 <= ratio <= 1.25 else
                   "less often than the policy says" if ratio < 0.8 else "more often than the policy says")
        sec.say("- **{t}** tier: {a:.2f} contacts per quarter against {p:.2f} by the policy ({r}): {v}; {on} of its "
                "customers are on policy, {never} had no outbound contact.", t=str(name), a=row["contacts_per_quarter"],
                p=row["policy_per_quarter"], r=fmt_pct(row["policy_ratio"], 0), v=verdict,
                on=(fmt_pct(row["on_policy_share"]) if np.isfinite(row["on_policy_share"])
                    else "none counted long enough"),
                never=fmt_pct(row["never_contacted_share"]))
    seg = tp.cadence_table(cust, "rfm_segment")
    rep.out.table("touchpoint_cadence_by_segment", seg, description="Outbound contacts per customer per quarter "
                  "against the policy by RFM segment", units=CADENCE_UNITS)
    sec.table(seg.sort_values("policy_ratio").rename_axis("RFM segment"),
              "Contact frequency against the policy by RFM segment (least contacted first)", units=CADENCE_UNITS)
    sec.figure(_cadence_figure(ok))
    return sec


# ------------------------------------------------------------------------------------------- sequences
SEQUENCE_UNITS = {"customers": "customers", "share": "share of the customers with a sequence",
                  "share_of_active": "share of active customers with the same last contacts",
                  "ratio_to_active": "share / share of active"}


def sequences(rep: ReportContext, b: TouchpointBasis) -> Section[dict[str, pd.DataFrame]]:
    """The most common last contacts before a first purchase and before churn; publishes
    ``touchpoint_sequences``."""
    cfg = b.config
    sec: Section[dict[str, pd.DataFrame]] = Section(value={})
    c = b.contacts
    L, look = cfg.sequence_length, cfg.lookback_days
    sec.say("A sequence is a customer's last {L} contacts within the {d} days before the event, oldest first.", L=L,
            d=look)
    frames = []
    if c.empty:
        sec.say("The contact log is empty, so there are no sequences.")
        return sec
    log_start = int(c["day"].min())
    if not b.has_purchases:
        sec.say("Sequences before a first purchase cannot be shown: the dataset has no transactions.")
    else:
        first = b.purchases.groupby("customer_id")["day"].min()
        first = first.loc[first > log_start]
        seqs = tp.last_contacts(c, first, L, look, inclusive=False)
        if first.empty:
            sec.say("No customer made a first purchase after the contact log starts, so there are no sequences before "
                    "one.")
        elif seqs.empty:
            sec.say("Of the {n} customers whose first purchase came after the contact log starts, none had a contact "
                    "before it (contacts on the day of the purchase are not counted).", n=fmt_int(len(first)))
        else:
            t = tp.sequence_table(seqs, cfg.top_sequences)
            sec.value["first_purchase"] = t
            frames.append(t.assign(before="first purchase"))
            sec.say("Of the **{n}** customers whose first purchase came after the contact log starts, **{k}** ({s}) "
                    "had contacts in the {d} days before it. Their most common last contacts were **{top}** ({ts} of "
                    "them).",
                    n=fmt_int(len(first)), k=fmt_int(len(seqs)), s=fmt_pct(len(seqs) / len(first)), d=look,
                    top=t.index[0], ts=fmt_pct(t["share"].iloc[0]))
            sec.table(t, "Most common last contacts before a first purchase", units=SEQUENCE_UNITS)
    if b.churn is None:
        sec.say("Sequences before churn cannot be shown: {why}.", why=b.churn_note.rstrip("."))
    else:
        churn = pd.Series(b.churn_dates(), index=b.profile.index).dropna()
        churn = churn.loc[churn > log_start]
        active = pd.Series(b.as_of_day, index=b.profile.index[np.isnan(b.churn_dates())])
        if churn.empty:
            sec.say("No customer churned after the contact log starts, so there are no sequences before churn.")
        else:
            seqs = tp.last_contacts(c, churn, L, look, inclusive=True)
            if seqs.empty:
                sec.say("None of the {n} customers who churned after the contact log starts had a contact in the {d} "
                        "days before leaving.", n=fmt_int(len(churn)), d=look)
            else:
                comparison = tp.last_contacts(c, active, L, look, inclusive=True)
                t = tp.sequence_table(seqs, cfg.top_sequences, comparison)
                sec.value["churn"] = t
                frames.append(t.assign(before="churn"))
                sec.say("Of the **{n}** customers who churned after the contact log starts, **{k}** had contacts in "
                        "the {d} days before leaving; the most common last contacts were **{top}** ({ts} of them{vs}).",
                        n=fmt_int(len(churn)), k=fmt_int(len(seqs)), d=look, top=t.index[0],
                        ts=fmt_pct(t["share"].iloc[0]),
                        vs=f", against {fmt_pct(t['share_of_active'].iloc[0])} of active customers' last contacts"
                        if len(comparison) else "")
                sec.table(t, "Most common last contacts before churn, against active customers' last contacts",
                          units=SEQUENCE_UNITS)
    if frames:
        out = pd.concat(frames).reset_index()
        rep.out.table("touchpoint_sequences", out[["before"] + [col for col in out.columns if col != "before"]],
                      description="Most common last contacts before a first purchase and before churn",
                      units=SEQUENCE_UNITS)
    return sec


# ------------------------------------------------------------------------------- partners and suppliers
@dataclass
class NetworkResult:
    """The partner and supplier scorecards (None for a table the dataset does not have)."""

    partners: pd.DataFrame | None
    regions: pd.DataFrame | None
    suppliers: pd.DataFrame | None
    thresholds: net.SupplierThresholds


FIGURE_PARTNERS = 30   # partners drawn in the attainment figure at most (the lowest attainment first)


def _attainment_figure(card: pd.DataFrame, on_target: float):
    t = card.sort_values("attainment", na_position="first").head(FIGURE_PARTNERS)
    title = "Partner sales against target" + (f" (the {len(t)} lowest of {len(card)})" if len(card) > len(t) else "")
    fig, ax = new_figure(title, "Attainment of target (%)", "Partner", figsize=(9, max(3.0, 1.2 + 0.3 * len(t))))
    labels = [f"{p} ({r})" for p, r in zip(t["partner"], t["region"])]
    below = t["below_target"].to_numpy(dtype=bool)
    y = np.arange(len(t))
    for mask, colour, name in ((below, PALETTE[3], "below target"), (~below, PALETTE[0], "on target")):
        if mask.any():
            ax.barh(y[mask], 100 * t["attainment"].fillna(0).to_numpy()[mask], color=colour, label=name)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.axvline(100 * on_target, color=PALETTE[6], ls="--", label=f"target ({100 * on_target:.0f}%)")
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _supplier_figure(card: pd.DataFrame, th: net.SupplierThresholds):
    fig, ax = new_figure("Suppliers: on-time delivery against defect rate", "Deliveries on time (%)",
                         "Defect rate (%)")
    ax.scatter(100 * card["on_time_share"], 100 * card["defect_rate"], color=PALETTE[0])
    for _, r in card.iterrows():
        ax.annotate(str(r["supplier"]), (100 * r["on_time_share"], 100 * r["defect_rate"]), fontsize=8)
    ax.axvline(100 * th.on_time_min, color=PALETTE[6], ls="--", label=f"on-time minimum ({fmt_pct(th.on_time_min, 0)})")
    ax.axhline(100 * th.defect_max, color=PALETTE[3], ls=":", label=f"defect maximum ({fmt_pct(th.defect_max, 0)})")
    ax.legend(fontsize=9)
    return fig


def _partner_part(rep: ReportContext, sec: Section, partners: pd.DataFrame, on_target: float) -> tuple:
    cur = str(getattr(rep.ds, "currency", "") or "")   # sales and targets are money whatever the transactions
    money = cur or "currency units"
    card = net.partner_scorecard(partners, on_target)
    regions = net.region_partner_scorecard(card)
    per = net.period_name(partners["period"]) if "period" in partners.columns else "period"
    units = {"sales / target": money, "attainment": "share of target (1 = target reached)",
             "share_of_region_sales": "share of the region's sales through partners",
             "latest_attainment": f"share of target in the partner's latest {per}",
             "sales_trend": f"relative change of sales per {per}", "periods": f"{per}s"}
    rep.out.table("network_partners", card, description="Sales through each partner against its target", units=units)
    reg_units = {"partners": "partners", "below_target": "partners below target", "sales / target": money,
                 "attainment": "share of target (1 = target reached)",
                 "share_of_partner_sales": "share of all sales through partners"}
    rep.out.table("network_partner_regions", regions, description="Sales through partners against targets by region",
                  units=reg_units)
    sales, target = card["sales"].sum(), card["target"].sum()
    periods = partners["period"].dropna() if "period" in partners.columns else pd.Series(dtype="datetime64[ns]")
    span = (f" over {_count(periods.nunique(), per)} (the first starting {periods.min().date()}, the last "
            f"{periods.max().date()})" if periods.nunique() > 1 else
            f" in the {per} starting {periods.min().date()}" if len(periods) else "")
    sec.say("Sales through **{n}** were **{s}** against targets of {t}{span}: **{a}** of target.",
            n=_count(card["partner_id"].nunique(), "partner"), s=fmt_money(sales, cur), t=fmt_money(target, cur),
            span=span,
            a=fmt_pct(sales / target) if target > 0 else "–")
    shown = regions.assign(**{"attainment (%)": 100 * regions["attainment"]}).drop(columns="attainment")
    sec.table(shown.rename_axis("region"), "Sales through partners against target by region",
              units={**{k: v for k, v in reg_units.items() if k != "attainment"}, "attainment (%)": "% of target"})
    below = card.loc[card["below_target"]].sort_values("attainment")
    if below.empty:
        sec.say("All {n} partners reached their target ({pct} or more of it).", n=fmt_int(len(card)),
                pct=fmt_pct(on_target, 0))
    else:
        items = ", ".join(f"**{esc(r.partner)}** in {esc(r.region)} ({fmt_pct(r.attainment)})"
                          for r in below.itertuples())
        sec.text(f"{_count(len(below), 'partner')} of {fmt_int(len(card))} {'is' if len(below) == 1 else 'are'} below "
                 f"target: {items}.")
    falling = card.loc[(card["sales_trend"] < 0)].sort_values("sales_trend")
    if len(falling):
        items = ", ".join(f"**{esc(r.partner)}** ({r.sales_trend:+.1%} per {per}; {fmt_pct(r.latest_attainment)} of "
                          f"target in the latest {per})" for r in falling.itertuples())
        sec.text(f"Sales are falling through {items}.")
    elif card["sales_trend"].notna().any():
        sec.say("Sales through every partner grew or held over the {per}s.", per=per)
    shown = card.assign(**{"attainment (%)": 100 * card["attainment"],
                           "latest attainment (%)": 100 * card["latest_attainment"]})
    shown = shown.drop(columns=["attainment", "latest_attainment", "below_target"])
    sec.table(shown, "Partner scorecard (by region, lowest attainment first)", index=False,
              units={**{k: v for k, v in units.items() if "attainment" not in k},
                     "attainment (%)": "% of target", "latest attainment (%)": f"% of target in the latest {per}"})
    fig = _attainment_figure(card, on_target)
    sec.figure(fig, fig.axes[0].get_title())
    return card, regions


def _supplier_part(rep: ReportContext, sec: Section, suppliers: pd.DataFrame, th: net.SupplierThresholds,
                   figure: bool) -> pd.DataFrame:
    card = net.supplier_scorecard(suppliers, th)
    per = net.period_name(suppliers["period"]) if "period" in suppliers.columns else "period"
    units = {"periods": f"{per}s", "on_time_share": "share of deliveries on time",
             "defect_rate": "share of delivered units defective", "price_index": "index, 100 = market price"}
    rep.out.table("network_suppliers", card, description="Supplier scorecard: on-time delivery, defects and price "
                  "against the thresholds", units=units)
    rule = (f"on time at least {fmt_pct(th.on_time_min, 0)}, defects at most {fmt_pct(th.defect_max, 0)}, "
            f"price index at most {th.price_index_max:g}")
    out = card.loc[card["outside_thresholds"]]
    if out.empty:
        sec.say("All {n} suppliers are within the thresholds ({rule}).", n=fmt_int(len(card)), rule=rule)
    else:
        def why(r) -> str:
            parts = []
            if r.late:
                parts.append(f"on time {fmt_pct(r.on_time_share)}")
            if r.defective:
                parts.append(f"defects {fmt_pct(r.defect_rate)}")
            if r.expensive:
                parts.append(f"price index {r.price_index:.1f}")
            return "; ".join(parts)
        items = ", ".join(f"**{esc(r.supplier)}** ({why(r)})" for r in out.itertuples())
        sec.text(f"{_count(len(out), 'supplier')} of {fmt_int(len(card))} {'is' if len(out) == 1 else 'are'} outside "
                 f"the thresholds ({esc(rule)}): {items}.")
    flags = {"late": "late deliveries", "defective": "defects", "expensive": "price"}
    shown = card.assign(outside_thresholds=[", ".join(v for k, v in flags.items() if r[k]) or "–"
                                            for _, r in card.iterrows()]).drop(columns=list(flags))
    sec.table(shown, "Supplier scorecard (outside the thresholds first)", units=units, index=False, precision=1)
    if figure:
        fig = _supplier_figure(card, th)
        sec.figure(fig, fig.axes[0].get_title())
    return card


def partners_and_suppliers(rep: ReportContext, on_target: float = net.ON_TARGET,
                           on_time_min: float = 0.95, defect_max: float = 0.02,
                           price_index_max: float = 110.0) -> Section[NetworkResult | None]:
    """Scorecards of the optional ``partners`` and ``suppliers`` tables (:mod:`toolkit.network`):
    sales through each partner and region against target (a partner below ``on_target`` of its
    target is named), and each supplier's on-time share, defect rate and price index against the
    thresholds (defaults: on time at least 95%, defects at most 2%, price index at most 110).
    Publishes ``network_partners``, ``network_partner_regions`` and ``network_suppliers``. Without
    either table the section is one sentence saying so."""
    ds = rep.ds
    has_p, has_s = ds.has("partners"), ds.has("suppliers")
    sec: Section[NetworkResult | None] = Section(value=None)
    if not (has_p or has_s):
        sec.say("The data hold no partner or supplier table, so there is no partner or supplier scorecard.")
        return sec
    th = net.SupplierThresholds(on_time_min, defect_max, price_index_max)
    result = NetworkResult(None, None, None, th)
    if has_p and len(ds.partners):
        result.partners, result.regions = _partner_part(rep, sec, ds.partners, on_target)
    elif has_p:
        sec.say("The partner table holds no valid row, so there is no partner scorecard.")
    else:
        sec.say("The data hold no partner table, so there is no partner scorecard.")
    if has_s and len(ds.suppliers):
        result.suppliers = _supplier_part(rep, sec, ds.suppliers, th, figure=result.partners is None)
    elif has_s:
        sec.say("The supplier table holds no valid row, so there is no supplier scorecard.")
    else:
        sec.say("The data hold no supplier table, so there is no supplier scorecard.")
    sec.value = result
    return sec


__all__ = ["ComplaintResult", "NetworkResult", "cadence", "complaint_churn", "complaints", "contact_costs",
           "contact_log", "contacts_by_channel", "conversion", "partners_and_suppliers", "sequences"]


degrade_on_data_limits(globals())
