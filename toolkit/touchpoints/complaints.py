"""Complaint handling: complaint cases, their rate and resolution, and churn after them.

**Cases.** A complaint case opens with a complaint contact. Further complaint contacts of the same
customer within ``follow_up_days`` of the case's last contact, while it is unresolved, belong to
the case (a chase or the reply that settles it). A case is *resolved* when one of its contacts has
an outcome in ``resolved_outcomes``; the time to resolve is the days from its first contact to that
contact (0: resolved at the first contact). A case without a resolving contact is *unresolved* once
``follow_up_days`` have passed since its last contact, and *open* before that (it may still be
resolved). A case none of whose contacts has an outcome is *unknown* (the log does not say).

**Rates.** Complaints per 1,000 customers: cases opened in the window per 1,000 customers with an
account open at some time in it (customers with a start date: acquisition or first purchase);
per 1,000 customer-years divides by the customers' days in the window instead. The resolution rate
is resolved / (resolved + unresolved) over the cases opened at least ``follow_up_days`` before the
as-of date (a later case may still be resolved), with a Wilson interval.

**Churn after a complaint.** Each customer's first complaint case (opened on or before the as-of
date, resolved or unresolved) starts a clock that ends at the customer's churn date or the as-of
date. Kaplan-Meier curves of unresolved and resolved cases and a Cox model with one covariate
(unresolved: 1) give the hazard ratio; both come from :mod:`toolkit.churn.survival`. A resolved case
counts as resolved from the day it opened, so a customer who left before the reply counts as
unresolved.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.data.errors import InsufficientDataError
from toolkit.kpi.stats import wilson
from toolkit.touchpoints.basis import TouchpointBasis

YEAR_DAYS = 365.25
STATUSES = ("resolved", "unresolved", "open", "unknown")


def complaint_cases(contacts: pd.DataFrame, resolved_outcomes: Sequence[str], follow_up_days: int,
                    as_of_day: int) -> pd.DataFrame:
    """One row per complaint case: customer_id, opened and last (days), contacts, channel (of the
    first contact), status (resolved / unresolved / open / unknown) and days_to_resolve."""
    c = contacts.loc[contacts["kind"] == "complaint"].sort_values(["customer_id", "day"], kind="stable")
    ids, days = c["customer_id"].to_numpy(), c["day"].to_numpy(np.int64)
    outcome = c["outcome"].to_numpy(dtype=object)
    chans = c["channel"].to_numpy(dtype=object)
    good = set(resolved_outcomes)
    rows: list[list] = []
    case = None
    for cid, d, out, ch in zip(ids.tolist(), days.tolist(), outcome.tolist(), chans.tolist()):
        known = out is not None and not (isinstance(out, float) and np.isnan(out))
        if case is not None and case[0] == cid and case[6] is None and d - case[2] <= follow_up_days:
            case[2] = d
            case[3] += 1
            case[5] |= known
            if known and out in good:
                case[6] = d - case[1]
            continue
        case = [cid, d, d, 1, ch, known, (0 if known and out in good else None)]
        rows.append(case)
    frame = pd.DataFrame(rows, columns=["customer_id", "opened", "last", "contacts", "channel", "has_outcome",
                                        "days_to_resolve"])
    status = np.where(frame["days_to_resolve"].notna(), "resolved",
                      np.where(~frame["has_outcome"].astype(bool), "unknown",
                               np.where(frame["last"] + follow_up_days >= as_of_day, "open", "unresolved")))
    frame["status"] = status
    frame["days_to_resolve"] = frame["days_to_resolve"].astype(float)
    return frame.drop(columns="has_outcome").astype({"opened": "int64", "last": "int64", "contacts": "int64"})


def complaint_rates(cases: pd.DataFrame, basis: TouchpointBasis) -> pd.DataFrame:
    """Per region and for all regions: customers, customer-years, complaint cases opened in the
    window, complaints per 1,000 customers and customer-years; of the cases opened at least
    ``follow_up_days`` before the as-of date: resolved and unresolved cases, the resolution rate with
    a Wilson interval, the share resolved at the first contact and the median and mean days to
    resolve (resolved cases); ``recent``: cases opened since (their outcome may not be settled)."""
    prof = basis.profile
    active = basis.active_in_window().to_numpy()
    start = np.nan_to_num(basis.start_days(), nan=basis.window_start_day)
    lo = np.maximum(start, basis.window_start_day)
    hi = np.minimum(basis.stop_days(), basis.as_of_day)
    years = np.where(active, np.maximum(hi - lo + 1, 0), 0) / YEAR_DAYS
    pop = pd.DataFrame({"region": prof["region"].to_numpy(), "active": active, "years": years}, index=prof.index)
    w = cases.loc[cases["opened"] >= basis.window_start_day].copy()
    w["region"] = prof["region"].reindex(w["customer_id"]).fillna("unknown").to_numpy()

    settled_by = basis.as_of_day - basis.config.follow_up_days   # cases opened since may still be resolved

    def row(p: pd.DataFrame, k: pd.DataFrame) -> dict:
        n, yrs, m = int(p["active"].sum()), float(p["years"].sum()), len(k)
        old = k.loc[k["opened"] <= settled_by]
        res, unres = int((old["status"] == "resolved").sum()), int((old["status"] == "unresolved").sum())
        resolved = old.loc[old["status"] == "resolved", "days_to_resolve"]
        lo_w, hi_w = wilson([res], [res + unres])
        return {"customers": n, "customer_years": yrs, "complaints": m,
                "per_1000_customers": 1000 * m / n if n else np.nan,
                "per_1000_customer_years": 1000 * m / yrs if yrs > 0 else np.nan,
                "resolved": res, "unresolved": unres, "recent": int(len(k) - len(old)),
                "unknown": int((k["status"] == "unknown").sum()),
                "resolution_rate": res / (res + unres) if res + unres else np.nan,
                "resolution_lower": float(lo_w[0]), "resolution_upper": float(hi_w[0]),
                "first_contact_share": float((resolved == 0).mean()) if len(resolved) else np.nan,
                "median_days_to_resolve": float(resolved.median()) if len(resolved) else np.nan,
                "mean_days_to_resolve": float(resolved.mean()) if len(resolved) else np.nan}

    regions = sorted(pop["region"].unique())
    out = {r: row(pop.loc[pop["region"] == r], w.loc[w["region"] == r]) for r in regions}
    if len(regions) != 1:
        out["all regions"] = row(pop, w)
    t = pd.DataFrame.from_dict(out, orient="index")
    t.index.name = "region"
    return t


@dataclass
class ComplaintChurn:
    """Churn after a customer's first complaint, by how it ended (resolved / unresolved)."""

    frame: pd.DataFrame                 # customer_id, complaint (resolved / unresolved), duration (days), event
    km: object | None                   # toolkit.churn.survival.KaplanMeierResult
    hazard_ratio: float
    lower: float
    upper: float
    p_value: float
    reason: str = ""                    # why there is no hazard ratio (empty when there is one)

    @property
    def groups(self) -> pd.DataFrame:
        return self.km.groups if self.km is not None else pd.DataFrame()


def churn_after_complaint(cases: pd.DataFrame, basis: TouchpointBasis) -> ComplaintChurn:
    """Kaplan-Meier curves and the Cox hazard ratio of churn after an unresolved vs a resolved first
    complaint (see the module docstring). Needs churn dates (``basis.churn``)."""
    from toolkit.churn.survival import CoxPH, kaplan_meier

    first = cases.sort_values(["customer_id", "opened"], kind="stable").drop_duplicates("customer_id")
    first = first.loc[first["status"].isin(["resolved", "unresolved"])]
    first = first.loc[first["customer_id"].isin(basis.profile.index)]
    churn = pd.Series(basis.churn_dates(), index=basis.profile.index).reindex(first["customer_id"]).to_numpy()
    end = np.where(np.isnan(churn), basis.as_of_day, churn)
    keep = end >= first["opened"].to_numpy()
    f = pd.DataFrame({"customer_id": first["customer_id"].to_numpy(), "complaint": first["status"].to_numpy(),
                      "duration": (end - first["opened"].to_numpy()).astype(float),
                      "event": (~np.isnan(churn)).astype(int)}).loc[keep].reset_index(drop=True)
    f["unresolved"] = (f["complaint"] == "unresolved").astype(float)
    nan = float("nan")
    if f.empty:
        return ComplaintChurn(f, None, nan, nan, nan, nan,
                              "no customer has a settled (resolved or unresolved) complaint")
    km = kaplan_meier(f, by="complaint", min_count=1)
    counts = f.groupby("complaint")["event"].agg(["size", "sum"])
    missing = [s for s in ("resolved", "unresolved") if s not in counts.index]
    if missing:
        return ComplaintChurn(f, km, nan, nan, nan, nan, f"no first complaint is {missing[0]}")
    if int(f["event"].sum()) < 2:
        return ComplaintChurn(f, km, nan, nan, nan, nan,
                              f"{int(f['event'].sum())} of {len(f)} customers left after their first complaint")
    try:
        cox = CoxPH(covariates=["unresolved"], min_count=1).fit(f[["duration", "event", "unresolved"]])
    except InsufficientDataError as exc:
        return ComplaintChurn(f, km, nan, nan, nan, nan, str(exc))
    hr = cox.hazard_ratios_.iloc[0]
    if not np.isfinite(hr["hazard_ratio"]) or not np.isfinite(hr["upper"]):
        return ComplaintChurn(f, km, nan, nan, nan, nan, "the Cox model of churn after a complaint did not converge")
    return ComplaintChurn(f, km, float(hr["hazard_ratio"]), float(hr["lower"]), float(hr["upper"]),
                          float(hr["p_value"]))
