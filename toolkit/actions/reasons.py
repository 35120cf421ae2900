"""Why a customer is on the plan: one candidate row per customer and reason that applies, with the
value at stake and the evidence.

Reasons (their settings are ``reasons.<reason>`` of ``config/action_plan.yaml``):

* **unresolved complaint** — a complaint case (:func:`toolkit.touchpoints.complaint_cases`) opened in
  the last ``within_days`` and still open or unresolved; stake: annual value x ``loss_share``;
* **early warning** — an active customer (not churned, not potential) whose churn probability from
  the churn report's model is at least ``min_probability``; stake: annual value x probability;
* **detractor call-back** — the latest survey answer at most ``within_days`` old gave NPS at most
  ``max_nps``; stake: annual value x ``loss_share``;
* **win-back** — churned at most ``within_days`` ago (:func:`win_back_list`); stake: the annual value lost;
* **overdue follow-up** — a customer in a contact-worthy stage (new, active, at risk) whose last
  contact *made by the team* (kinds in ``contact_kinds``: a customer's own complaint does not count)
  is older than the tier's cadence, or who was never contacted for longer than the cadence since the
  first purchase; stake: annual value x ``loss_share``;
* **upgrade candidate** — a mid-tier customer whose predicted CLV (else 12-month value, else
  purchases per year) reaches the ``high_tier_quantile`` quantile of the high tier
  (:func:`upgrade_candidates`); stake: the gap to the high tier's median annual value;
* **first-purchase conversion** — registered, never bought (stage potential); stake: the median
  annual value of the buyers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

CONTACT_STAGES = ("new", "active", "at risk")
COLUMNS = ["customer_id", "reason", "value_at_stake", "evidence"]


def _day(dates: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(dates).dt.normalize() - pd.Timestamp("1970-01-01")).dt.days).to_numpy(np.int64)


def _fmt(v: float, unit: str) -> str:
    return f"{v:,.0f} {unit}" if abs(v) >= 10 else f"{v:,.2f} {unit}"


def last_contacts(contacts: pd.DataFrame, as_of, kinds: Sequence[str]) -> pd.DataFrame:
    """Per customer: the last contact of ``kinds`` (``last_contact``), the last contact of any kind
    (``last_any``) and its kind (``last_any_kind``), on or before ``as_of``."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    c = contacts.loc[pd.to_datetime(contacts["date"]) < end].sort_values(["customer_id", "date"], kind="stable")
    c = c.assign(customer_id=c["customer_id"].astype(str))
    last_any = c.groupby("customer_id").tail(1).set_index("customer_id")
    made = c.loc[c["kind"].isin(list(kinds))].groupby("customer_id")["date"].max()
    return pd.DataFrame({"last_contact": made, "last_any": last_any["date"],
                         "last_any_kind": last_any["kind"].astype(object)})


def open_complaints(contacts: pd.DataFrame, as_of, within_days: float, resolved_outcomes: Sequence[str] = ("resolved",),
                    follow_up_days: int = 60) -> pd.DataFrame:
    """Complaint cases opened in the last ``within_days`` that are open or unresolved, the latest per
    customer (index customer_id): opened (date), channel, contacts and status."""
    from toolkit.touchpoints import complaint_cases

    as_of = pd.Timestamp(as_of).normalize()
    c = contacts.loc[pd.to_datetime(contacts["date"]) <= as_of]
    c = c.assign(customer_id=c["customer_id"].astype(str), day=_day(c["date"]),
                 outcome=c["outcome"] if "outcome" in c else None)
    if not len(c):
        return pd.DataFrame(columns=["opened", "channel", "contacts", "status"])
    cases = complaint_cases(c, resolved_outcomes, follow_up_days, int(_day(pd.Series([as_of]))[0]))
    cases = cases.loc[cases["status"].isin(["open", "unresolved"]) &
                      (cases["opened"] >= int(_day(pd.Series([as_of]))[0]) - within_days)]
    cases = cases.sort_values(["customer_id", "opened"]).groupby("customer_id").tail(1).set_index("customer_id")
    cases["opened"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(cases["opened"], unit="D")
    return cases[["opened", "channel", "contacts", "status"]]


def detractors(surveys: pd.DataFrame, as_of, within_days: float, max_nps: float) -> pd.DataFrame:
    """The customers whose latest survey answer up to ``as_of`` (at most ``within_days`` old, when answers
    are dated) gave an NPS of at most ``max_nps``: the detractor call-back list, one row per customer
    (index: customer_id as text; the answer's columns)."""
    as_of = pd.Timestamp(as_of)
    s = surveys.dropna(subset=["nps"]).assign(customer_id=lambda x: x["customer_id"].astype(str))
    if "response_date" in s and s["response_date"].notna().any():
        s = s.loc[pd.to_datetime(s["response_date"]) <= as_of]
        s = s.sort_values(["customer_id", "response_date"], kind="stable").groupby("customer_id").tail(1)
        s = s.loc[(as_of - pd.to_datetime(s["response_date"])).dt.days <= within_days]
    else:
        s = s.groupby("customer_id").tail(1)
    s = s.set_index("customer_id")
    return s.loc[s["nps"] <= max_nps]


def win_back_list(basis: pd.DataFrame, as_of, within_days: float, unit: str) -> pd.DataFrame:
    """Churned customers who left at most ``within_days`` ago, most value lost first: value_lost
    (annual value), left (churn date, else last purchase), days_since_leaving, last_purchase, reason
    (stated churn reason, or "not recorded"), value_tier and evidence."""
    as_of = pd.Timestamp(as_of).normalize()
    b = basis.loc[basis["lifecycle_stage"] == "churned"]
    left = b["churn_date"].fillna(b["last_purchase"])
    days = (as_of - pd.to_datetime(left)).dt.days
    keep = left.notna() & (days <= within_days) & (b["annual_value"] > 0)
    b, left, days = b.loc[keep], left[keep], days[keep]
    reason = b["churn_reason"].astype(object).where(b["churn_reason"].notna(), "not recorded") \
        if "churn_reason" in b else pd.Series("not recorded", index=b.index)
    out = pd.DataFrame({"value_lost": b["annual_value"], "left": left, "days_since_leaving": days.astype("int64"),
                        "last_purchase": b["last_purchase"], "reason": reason, "value_tier": b["value_tier"],
                        "region": b["region"]}, index=b.index)
    how = np.where(b["churn_date"].notna(), "left on", "last bought on")
    out["evidence"] = [f"{h} {d.date()} ({n} days ago); stated reason: {r}; value lost {_fmt(v, unit)} a year"
                       for h, d, n, r, v in zip(how, out["left"], out["days_since_leaving"], out["reason"],
                                                out["value_lost"])]
    out = out.assign(_id=out.index.astype(str)).sort_values(["value_lost", "_id"], ascending=[False, True])
    return out.drop(columns="_id")


def upgrade_candidates(basis: pd.DataFrame, clv: pd.Series | None, quantile: float, unit: str) -> pd.DataFrame:
    """Mid-tier customers (not churned) whose predicted CLV — else 12-month value, else annual value —
    reaches the ``quantile`` of the high tier's; columns: measure, value, high_tier_threshold,
    gap_to_high_median (annual value), value_tier, region and evidence."""
    b = basis.loc[basis["lifecycle_stage"] != "churned"]
    if clv is not None and clv.reindex(b.index).notna().any():
        measure, values, name = "predicted CLV", clv.reindex(b.index).astype(float), "predicted CLV"
    elif b["value_12m"].notna().any():
        measure, values, name = "value in the last 12 months", b["value_12m"], "12-month value"
    else:
        measure, values, name = "value per year", b["annual_value"], "annual value"
    high = b["value_tier"] == "high"
    cols = ["measure", "value", "high_tier_threshold", "gap_to_high_median", "value_tier", "region", "evidence"]
    if not high.any() or not values[high].notna().any():
        return pd.DataFrame(columns=cols)
    threshold = float(values[high].quantile(quantile))
    median_high = float(b.loc[high, "annual_value"].median())
    pick = (b["value_tier"] == "mid") & (values >= threshold)
    out = pd.DataFrame({"measure": measure, "value": values[pick], "high_tier_threshold": threshold,
                        "gap_to_high_median": (median_high - b.loc[pick, "annual_value"]).clip(lower=0),
                        "value_tier": b.loc[pick, "value_tier"], "region": b.loc[pick, "region"]})
    out["evidence"] = [f"{name} {_fmt(v, unit)} reaches the high tier's {quantile:.0%} quantile "
                       f"({_fmt(threshold, unit)}); gap to the high tier's median annual value {_fmt(g, unit)}"
                       for v, g in zip(out["value"], out["gap_to_high_median"])]
    out = out.assign(_id=out.index.astype(str)).sort_values(["value", "_id"], ascending=[False, True])
    return out.drop(columns="_id")[cols]


def candidates(basis: pd.DataFrame, cfg: Mapping, as_of, unit: str, contacts: pd.DataFrame | None = None,
               surveys: pd.DataFrame | None = None, scores: pd.DataFrame | None = None,
               clv: pd.Series | None = None, resolved_outcomes: Sequence[str] = ("resolved",)) -> pd.DataFrame:
    """Every (customer, reason) that applies: customer_id, reason, value_at_stake (in ``unit``) and evidence.

    ``contacts``: the contact log (None: no complaint or follow-up reasons); ``surveys``: answers with
    customer_id, response_date and nps (None: no call-backs); ``scores``: churn_probability (and
    top_drivers) per customer id (None: no early warning); ``clv``: predicted CLV per customer id."""
    as_of = pd.Timestamp(as_of).normalize()
    r = cfg["reasons"]
    parts: list[pd.DataFrame] = []
    annual = basis["annual_value"]
    stage = basis["lifecycle_stage"]

    def add(reason: str, idx: pd.Index, stake: pd.Series, evidence: Sequence[str]) -> None:
        parts.append(pd.DataFrame({"customer_id": idx.astype(str), "reason": reason,
                                   "value_at_stake": np.asarray(stake, float), "evidence": list(evidence)}))

    if contacts is not None and len(contacts):
        oc = open_complaints(contacts, as_of, r["unresolved_complaint"]["within_days"], resolved_outcomes)
        oc = oc.loc[oc.index.isin(basis.index)]
        share = r["unresolved_complaint"]["loss_share"]
        add("unresolved_complaint", oc.index, annual.reindex(oc.index) * share,
            [f"complaint opened {d.date()} by {ch} ({n} contact{'s' if n > 1 else ''}), {s}"
             for d, ch, n, s in zip(oc["opened"], oc["channel"], oc["contacts"], oc["status"])])
    if scores is not None and len(scores):
        p = scores["churn_probability"].reindex(basis.index)
        pick = p.notna() & (p >= r["early_warning"]["min_probability"]) & stage.isin(CONTACT_STAGES)
        drivers = scores["top_drivers"].reindex(basis.index) if "top_drivers" in scores else pd.Series(None, index=basis.index)
        add("early_warning", basis.index[pick], annual[pick] * p[pick],
            [f"churn probability {q:.0%}" + (f"; drivers: {d}" if isinstance(d, str) and d else "")
             for q, d in zip(p[pick], drivers[pick])])
    if surveys is not None and len(surveys) and "nps" in surveys and surveys["nps"].notna().any():
        s = detractors(surveys, as_of, r["detractor_call_back"]["within_days"], r["detractor_call_back"]["max_nps"])
        s = s.loc[s.index.isin(basis.index)]
        s = s.loc[~stage.reindex(s.index).isin(["churned"])]
        when = (pd.to_datetime(s["response_date"]).dt.date.astype(str) if "response_date" in s
                else pd.Series("undated", index=s.index))
        add("detractor_call_back", s.index, annual.reindex(s.index) * r["detractor_call_back"]["loss_share"],
            [f"NPS {n:.0f} in the survey of {w}" for n, w in zip(s["nps"], when)])
    wb = win_back_list(basis, as_of, r["win_back"]["within_days"], unit)
    add("win_back", wb.index, wb["value_lost"], wb["evidence"])
    if contacts is not None:
        lc = last_contacts(contacts, as_of, cfg["contact_kinds"]).reindex(basis.index)
        b = basis.loc[stage.isin(CONTACT_STAGES) & basis["cadence_days"].notna()]
        lc = lc.reindex(b.index)
        since = lc["last_contact"].where(lc["last_contact"].notna(), b["first_purchase"])
        days = (as_of - pd.to_datetime(since)).dt.days
        pick = days > b["cadence_days"]
        own = (lc["last_any_kind"] == "complaint") & (lc["last_contact"].isna() | (lc["last_any"] > lc["last_contact"]))
        ev = [(f"last contacted {d.date()} ({n:.0f} days ago)" if pd.notna(d) else
               f"never contacted since the first purchase ({n:.0f} days ago)") +
              f"; cadence {c:.0f} days" + ("; the later contact was the customer's own complaint" if o else "")
              for d, n, c, o in zip(lc["last_contact"][pick], days[pick], b["cadence_days"][pick], own[pick])]
        add("overdue_follow_up", b.index[pick], annual.reindex(b.index[pick]) * r["overdue_follow_up"]["loss_share"], ev)
    up = upgrade_candidates(basis, clv, r["upgrade_candidate"]["high_tier_quantile"], unit)
    add("upgrade_candidate", up.index, up["gap_to_high_median"], up["evidence"])
    pot = basis.index[stage == "potential"]
    buyers = basis.loc[basis["frequency"] > 0, "annual_value"]
    med = float(buyers.median()) if len(buyers) else 0.0
    add("first_purchase_conversion", pot, np.full(len(pot), med),
        [f"registered, no purchase yet; a buyer's median annual value is {_fmt(med, unit)}"] * len(pot))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
    out["value_at_stake"] = out["value_at_stake"].fillna(0.0).astype(float)
    return out[COLUMNS]
