"""The action plan report (notebooks/08_action_plan.ipynb): who to contact, why, by whom and at what cost.

One function per section: :func:`inputs` (the data, the results of earlier reports and every
assumption), :func:`strategy` (service, offer and channels per tier, region and customer type),
:func:`win_back` and :func:`upgrades` (the two lists that feed the plan), :func:`action_plan` (one
reason per customer, owners, capacity, exports) and :func:`budget`. The domain logic is
:mod:`toolkit.actions`; results of other reports are read through :mod:`toolkit.contract`
(``churn_scores`` of the churn report, ``customer_clv`` of the CLV report), each optional: without
one, the reason that needs it is left out and the report says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import toolkit.actions as act
from toolkit import contract
from toolkit.data.errors import InsufficientDataError
from toolkit.privacy import protect, pseudonym
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int, fmt_pct
from toolkit.reports.section import Section, degrade_on_data_limits

NAME = "action_plan"
EXPORT = "action_plan_contacts"   # the plan's rows; NAME is its headline metrics
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class PlanInputs:
    """Everything the plan is built from."""

    basis: pd.DataFrame              # one row per customer (toolkit.actions.customer_basis)
    config: act.PlanConfig
    as_of: pd.Timestamp
    money: bool
    unit: str                        # unit of values: the currency, or "expected purchases"
    contacts: pd.DataFrame | None
    surveys: pd.DataFrame | None
    scores: pd.DataFrame | None      # churn_probability, top_drivers by customer id
    clv: pd.Series | None
    resolved_outcomes: tuple[str, ...]


def _path(p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() or q.exists() else ROOT / q


def _value(x: float, unit: str) -> str:
    return f"{x:,.0f} {unit}"


def by_real_id(table: pd.DataFrame, ids: pd.Index, privacy: bool) -> pd.DataFrame:
    """A published per-customer table re-indexed by the dataset's customer ids (published ids are
    pseudonyms when the run pseudonymises: matched through :func:`toolkit.privacy.pseudonym`)."""
    key = pseudonym(pd.Series(ids, index=ids).astype(str)) if privacy else pd.Series(ids.astype(str), index=ids)
    t = table.drop_duplicates("customer_id").set_index("customer_id")
    out = t.reindex(key.to_numpy())
    out.index = ids
    return out.loc[out.notna().any(axis=1)]


def _read(rep: ReportContext, name: str) -> tuple[pd.DataFrame | None, str]:
    try:
        return contract.read(rep.out, name), ""
    except contract.ResultUnavailable as missing:
        return None, missing.reason


def inputs(rep: ReportContext, as_of: Any = None, config_path: str = "config/action_plan.yaml") -> Section[PlanInputs]:
    """The customers (tiers and stages by the segmentation's rules), the contact log, surveys, the churn
    scores and predicted CLV, and the plan config checked against the data; states every assumption."""
    from toolkit.segmentation import features_from_dataset, load_config
    from toolkit.touchpoints import load_config as touchpoint_config

    ds = rep.ds
    if not ds.has("transactions"):
        raise InsufficientDataError("the action plan needs the transactions (value tiers, lifecycle stages and "
                                    "values come from them); this dataset has none")
    cfg = act.load_plan_config(_path(config_path))
    cfg.source = str(config_path)
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    money = bool(ds.has_money and rep.currency)
    unit = rep.currency if money else "expected purchases"
    feats = features_from_dataset(ds, as_of)
    basis = act.customer_basis(feats, ds.customers if ds.has("customers") else None, as_of, load_config(),
                               has_money=money, owner=cfg["owner"]["column"])
    contacts = ds.interactions if ds.has("interactions") else None
    cust_cols = list(ds.customers.columns) if ds.has("customers") else []
    act.check_against_data(cfg, basis["region"].unique(), None if contacts is None else contacts["channel"].unique(),
                           cust_cols)
    surveys = ds.surveys if ds.has("surveys") else None
    sec: Section[PlanInputs] = Section()
    sec.say("Customers: **{n}** at {d} ({b} buyers). Value tiers and lifecycle stages follow the segmentation's "
            "rules (`config/segmentation.yaml`), by {basis}.", n=fmt_int(len(basis)), d=str(as_of.date()),
            b=fmt_int(int((basis["frequency"] > 0).sum())),
            basis="net revenue" if money else "purchases (the data hold no amounts, so values are in purchases, "
                                               "not money)")
    ids = basis.index
    scores_t, why_scores = _read(rep, "churn_scores")
    scores = by_real_id(scores_t, ids, rep.out.pseudonymise) if scores_t is not None else None
    clv_t, why_clv = _read(rep, "customer_clv")
    clv = by_real_id(clv_t, ids, rep.out.pseudonymise)["clv"].astype(float) if clv_t is not None else None
    if scores is None:
        sec.say("- No early warnings: {r}.", r=why_scores)
    else:
        sec.say("- Early warnings from the churn report's scores (`churn_scores`, {n} active customers).",
                n=fmt_int(len(scores)))
    if clv is None:
        sec.say("- Upgrade candidates by behaviour, not predicted value: {r}.", r=why_clv)
    else:
        sec.say("- Upgrade candidates by the CLV report's predicted CLV (`customer_clv`).")
    if contacts is None:
        sec.say("- No contact log (interactions table): no unresolved complaints and no overdue follow-ups.")
    if surveys is None or "nps" not in surveys or not surveys["nps"].notna().any():
        sec.say("- No survey answers with NPS: no detractor call-backs.")
    src = basis.attrs.get("owner_source", "region")
    sec.text(f"Owners: the customer table's `{src.replace('`', '')}` column (customers without one: their region)."
             if src != "region" else "Owners: the region (the customer table has no `account_manager` or `owner` "
                                     "column).")
    regions = basis["region"].nunique()
    if regions == 1:
        sec.say("The data have one region ({r}): one owner unless the customer table names account managers.",
                r=str(basis["region"].iloc[0]))
    sec.table(assumptions(cfg, unit), f"Assumptions ({config_path}; edit them there)", index=False, max_rows=60)
    sec.value = PlanInputs(basis, cfg, as_of, money, unit, contacts, surveys, scores, clv,
                           tuple(touchpoint_config().resolved_outcomes))
    return sec


def assumptions(cfg: act.PlanConfig, unit: str) -> pd.DataFrame:
    """Every setting of the plan config as a row: setting, value."""
    rows: list[tuple[str, str]] = [("plan.weeks", str(cfg["plan"]["weeks"])),
                                   ("precedence", " > ".join(act.REASON_LABELS[r] for r in cfg["precedence"]))]
    for r, s in cfg["reasons"].items():
        for k, v in s.items():
            rows.append((f"reasons.{r}.{k}", f"{v:g}" if isinstance(v, float) else str(v)))
    rows.append(("contact_kinds (count as contacts made)", ", ".join(cfg["contact_kinds"])))
    for c, v in cfg["channels"]["cost"].items():
        rows.append((f"channels.cost.{c}", f"{v:g}"))
    rows.append(("channels.max_cost_share", f"{cfg['channels']['max_cost_share']:g}"))
    rows.append(("capacity.per_week", f"{cfg['capacity']['per_week']:g}"))
    for o, v in cfg["capacity"]["by_owner"].items():
        rows.append((f"capacity.by_owner.{o}", f"{v:g}"))
    return pd.DataFrame(rows, columns=["setting", "value"])


def strategy(rep: ReportContext, data: PlanInputs) -> Section[pd.DataFrame]:
    """Service level, offer and channels per value tier, and the rules for regions and customer types."""
    st = data.config["strategy"]
    rows = [{"tier": t, "region": "any", "customer_type": "any", "service": s["service"], "offer": s["offer"],
             "channels": ", ".join(s["channels"])} for t, s in st["default"].items()]
    for r in st["rules"]:
        d = st["default"][r["tier"]]
        rows.append({"tier": r["tier"], "region": r.get("region", "any"), "customer_type": r.get("customer_type", "any"),
                     "service": r.get("service", d["service"]), "offer": r.get("offer", d["offer"]),
                     "channels": ", ".join(r.get("channels", d["channels"]))})
    table = pd.DataFrame(rows)
    strat = act.strategy_for(data.basis, data.config)
    mix = data.basis.assign(service=strat["service_level"]).groupby(["value_tier", "service"]).size()
    sec: Section[pd.DataFrame] = Section(value=table)
    sec.table(table, "Strategy per value tier; later rows override the tier's default for a region or customer type "
              "(first matching rule)", index=False, units={"channels": "in order of preference"})
    sec.table(mix.rename("customers").reset_index(), "Customers per value tier and service level", index=False,
              units={"customers": "count"})
    return sec


def win_back(rep: ReportContext, data: PlanInputs) -> Section[pd.DataFrame]:
    """Churned customers worth winning back (value lost, recency, stated reason, evidence); exports
    ``win_back_list``."""
    within = data.config["reasons"]["win_back"]["within_days"]
    wb = act.win_back_list(data.basis, data.as_of, within, data.unit)
    rep.out.export("win_back_list", wb.reset_index(), description=f"Customers who left in the last {within:g} days, "
                   "most value lost first, with the stated reason and evidence", units={"value_lost": data.unit + " a year"})
    sec: Section[pd.DataFrame] = Section(value=wb)
    if wb.empty:
        return sec.say("No customer left in the last {d:g} days with any value: there is no one to win back.", d=within)
    reasons = wb["reason"].value_counts()
    sec.say("**{n}** customers left in the last {d:g} days; together they brought **{v}** a year. The most common "
            "stated reason is **{r}** ({s} of them).", n=fmt_int(len(wb)), d=within,
            v=_value(wb["value_lost"].sum(), data.unit), r=str(reasons.index[0]), s=fmt_pct(reasons.iloc[0] / len(wb)))
    shown = protect(wb.head(20).reset_index(), enabled=rep.out.pseudonymise)
    return sec.table(shown[["customer_id", "region", "value_tier", "value_lost", "days_since_leaving", "reason",
                            "evidence"]], "Win-back list: the 20 with the most value lost", index=False,
                     units={"value_lost": f"{data.unit} a year", "days_since_leaving": "days"})


def upgrades(rep: ReportContext, data: PlanInputs) -> Section[pd.DataFrame]:
    """Mid-value customers who resemble the high tier (evidence per row); exports ``upgrade_candidates``."""
    q = data.config["reasons"]["upgrade_candidate"]["high_tier_quantile"]
    up = act.upgrade_candidates(data.basis, data.clv, q, data.unit)
    rep.out.export("upgrade_candidates", up.reset_index(), description="Mid-value customers whose predicted value or "
                   "behaviour reaches the high tier", units={"value": data.unit, "gap_to_high_median": data.unit})
    sec: Section[pd.DataFrame] = Section(value=up)
    if up.empty:
        return sec.say("No mid-value customer reaches the high tier's {q:.0%} quantile: no upgrade candidates.", q=q)
    mid = int((data.basis["value_tier"] == "mid").sum())
    sec.say("**{n}** of {m} mid-value customers reach the high tier's {q:.0%} quantile by {what}; lifting them to the "
            "high tier's median would add **{g}** a year.", n=fmt_int(len(up)), m=fmt_int(mid), q=q,
            what=str(up["measure"].iloc[0]), g=_value(up["gap_to_high_median"].sum(), data.unit))
    shown = protect(up.head(20).reset_index(), enabled=rep.out.pseudonymise)
    return sec.table(shown, "Upgrade candidates: the 20 closest to the high tier", index=False,
                     units={"value / high_tier_threshold / gap_to_high_median": data.unit})


def action_plan(rep: ReportContext, data: PlanInputs) -> Section[act.ActionPlan]:
    """One reason per customer, priority, owner, channel and due date within capacity; exports
    ``action_plan_contacts`` (CSV and XLSX with the CRM columns), ``action_plan_not_fitted`` and, with privacy on,
    the pseudonym key in ``restricted/`` for the data owner."""
    cands = act.candidates(data.basis, data.config, data.as_of, data.unit, data.contacts, data.surveys, data.scores,
                           data.clv, data.resolved_outcomes)
    plan = act.build_plan(cands, data.basis, data.config, data.as_of, data.money, data.unit)
    privacy = rep.out.pseudonymise
    crm = act.crm_frame(plan.plan, data.unit)
    csv = rep.out.export(EXPORT, crm, description="The action plan: one row per customer to contact (CRM columns)",
                         units={"value_at_stake": data.unit, "budget": rep.currency or "cost units"})
    act.write_xlsx(protect(crm, enabled=privacy), Path(csv).with_suffix(".xlsx"))
    rep.out.export("action_plan_not_fitted", act.crm_frame(plan.overflow, data.unit).drop(columns="due_date"),
                   description="Customers who qualified but did not fit the owners' capacity", units={})
    sec: Section[act.ActionPlan] = Section(value=plan)
    multi = int(cands["customer_id"].duplicated().sum())
    sec.say("**{n}** customers qualify for a contact ({m} for more than one reason: each gets the first in the "
            "precedence). **{p}** fit the owners' capacity over {w} weeks from {s}.", n=fmt_int(len(plan.plan) +
            len(plan.overflow)), m=fmt_int(cands.groupby("customer_id").size().gt(1).sum()) if multi else "none",
            p=fmt_int(len(plan.plan)), w=plan.weeks, s=str(plan.start.date()))
    if len(plan.overflow):
        sec.say("**{o}** did not fit, with **{v}** of value at stake; raise `capacity` in the config or accept the "
                "loss. The owners and reasons are in the tables below and in `action_plan_not_fitted`.",
                o=fmt_int(len(plan.overflow)), v=_value(plan.overflow["value_at_stake"].sum(), data.unit))
    else:
        sec.say("Everyone who qualifies fits the capacity.")
    sec.table(plan.by_reason(), "Contacts per reason (in order of precedence)", units={
        "customers": "planned", "value_at_stake / expected_value": data.unit,
        "budget": rep.currency or "cost units", "not_fitted": "customers over capacity",
        "value_not_fitted": data.unit})
    sec.table(plan.by_owner(), "Capacity per owner", units={"capacity_per_week": "contacts a week",
                                                            "planned / not_fitted": "customers",
                                                            "value_planned / value_not_fitted": data.unit})
    shown = protect(plan.plan.head(25), enabled=privacy)
    sec.table(shown[["customer_id", "priority", "reason_label", "owner", "due_date", "channel", "offer",
                     "value_at_stake", "evidence"]], "The plan's 25 most valuable contacts", index=False,
              units={"value_at_stake": data.unit})
    if privacy:
        act.write_key(plan.plan["customer_id"], rep.out.run_dir, EXPORT)
        sec.say("Customer ids in the exports (`exports/action_plan_contacts.csv`, `.xlsx`) are pseudonyms; the key that maps "
                "them back is `restricted/action_plan_contacts_id_key.csv`, for the data owner only.")
    else:
        sec.say("Customer ids in the exports (`exports/action_plan_contacts.csv`, `.xlsx`) are the real ids (privacy is off).")
    cols = pd.DataFrame({"column": list(act.CRM_COLUMNS), "meaning": list(act.CRM_COLUMNS.values())})
    return sec.table(cols, "Export columns (CRM import)", index=False, max_rows=40)


def budget(rep: ReportContext, plan: act.ActionPlan) -> Section[dict[str, Any]]:
    """The plan's budget (contact cost + offer cost x take-up), the expected revenue saved and the ROI;
    publishes the ``action_plan`` metrics."""
    cur = rep.currency or "cost units"
    values = {"dataset": rep.ds.name, "customers_planned": int(len(plan.plan)),
              "customers_not_fitted": int(len(plan.overflow)), "value_unit": plan.unit,
              "value_at_stake": float(plan.plan["value_at_stake"].sum()),
              "value_not_fitted": float(plan.overflow["value_at_stake"].sum()), "budget": plan.budget,
              "expected_value": plan.expected_value, "roi": plan.roi, "weeks": plan.weeks}
    rep.out.metrics(NAME, values, description="Headline figures of the action plan",
                    units={"budget": cur, "value_at_stake": plan.unit, "expected_value": plan.unit, "roi": "ratio"})
    sec: Section[dict[str, Any]] = Section(value=values)
    contact, offers = float(plan.plan["contact_cost"].sum()), float((plan.plan["offer_cost"] *
                                                                     plan.plan["take_up"]).sum())
    if plan.money:
        sec.say("Budget: **{b}** ({c} for the contacts, {o} for the offers at the assumed take-up). Expected revenue "
                "saved or won: **{e}**; return on the budget **{r}**.", b=_value(plan.budget, cur),
                c=_value(contact, cur), o=_value(offers, cur), e=_value(plan.expected_value, cur),
                r=f"{plan.roi:.1f}x" if plan.roi is not None else "not defined (no budget)")
    else:
        sec.say("Budget: **{b}** ({c} for the contacts, {o} for the offers). The data hold no amounts, so the value "
                "at stake is counted in purchases (**{e}** expected) and no return in money can be computed.",
                b=_value(plan.budget, cur), c=_value(contact, cur), o=_value(offers, cur),
                e=f"{plan.expected_value:,.1f} {plan.unit}")
    return sec.say("Every figure rests on the assumptions listed above (take-up, offer and contact costs, the share "
                   "of value at stake); change them in the config and rerun.")


degrade_on_data_limits(globals())
