"""Why customers leave: the churn reasons (price, competitor, service quality, product quality, other;
mapped by the dataset spec) as a Pareto table, by region and value tier, and churned customers'
satisfaction in the surveys before they left."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.data.schema import CHURN_REASONS

NOT_RECORDED = "(not recorded)"
REASON_LABELS = {"price": "Price", "competitor": "Competitor", "service_quality": "Service quality",
                 "product_quality": "Product quality", "other": "Other", NOT_RECORDED: "Not recorded"}


def _reasons(frame: pd.DataFrame, reason: str) -> pd.Series:
    churned = frame.loc[frame["churned"].astype(bool)]
    if reason not in churned.columns:
        return pd.Series(NOT_RECORDED, index=churned.index, name=reason)
    r = churned[reason].astype("object")
    return r.where(r.notna() & (r != "(missing)"), NOT_RECORDED).astype(str)


def has_reasons(frame: pd.DataFrame, reason: str = "churn_reason") -> bool:
    """True when at least one churned customer has a recorded reason."""
    return bool(reason in frame.columns and (_reasons(frame, reason) != NOT_RECORDED).any())


def reason_pareto(frame: pd.DataFrame, reason: str = "churn_reason") -> pd.DataFrame:
    """Churned customers per reason, largest first, with share and cumulative share."""
    r = _reasons(frame, reason)
    counts = r.value_counts()
    order = [c for c in counts.index if c != NOT_RECORDED] + ([NOT_RECORDED] if NOT_RECORDED in counts else [])
    counts = counts.reindex(order)
    out = pd.DataFrame({"churned_customers": counts.astype(int)})
    out["share"] = out["churned_customers"] / max(int(out["churned_customers"].sum()), 1)
    out["cumulative_share"] = out["share"].cumsum()
    out.index.name = "reason"
    return out


def reasons_by(frame: pd.DataFrame, by: str, reason: str = "churn_reason", max_groups: int = 12) -> pd.DataFrame:
    """Share of each reason among a group's churned customers (rows: groups, largest first) plus
    ``churned_customers``. Groups beyond the ``max_groups`` largest are pooled as '(other)'."""
    r = _reasons(frame, reason)
    g = frame.loc[r.index, by].astype("object").where(frame.loc[r.index, by].notna(), "(missing)").astype(str)
    top = g.value_counts().index[:max_groups]
    g = g.where(g.isin(top), "(other)")
    table = pd.crosstab(g, r)
    cols = [c for c in CHURN_REASONS if c in table.columns] + [c for c in table.columns if c not in CHURN_REASONS]
    table = table[cols]
    n = table.sum(axis=1)
    out = table.div(n, axis=0)
    out.insert(0, "churned_customers", n)
    out = out.sort_values("churned_customers", ascending=False)
    out.index.name = by
    out.columns.name = None
    return out


def satisfaction_before_churn(ds: Any, labels: pd.DataFrame, window_days: int = 365,
                              reason: str = "churn_reason") -> pd.DataFrame | None:
    """Latest survey answer within ``window_days`` before leaving (churned) or before ``as_of`` (stayed).

    Rows: 'churned' (and one per churn reason), 'stayed'; columns: customers with a response, mean
    overall satisfaction (1-5), share dissatisfied (1-2), mean NPS answer (0-10) and median days
    between the response and the churn / as-of date. None when the dataset has no dated surveys.
    """
    sv = getattr(ds, "surveys", None)
    if sv is None or "response_date" not in sv.columns or sv["response_date"].isna().all():
        return None
    as_of = pd.Timestamp(labels.attrs.get("as_of", ds.as_of))
    end = labels["churn_date"].where(labels["churned"], as_of).fillna(as_of)
    s = sv.loc[sv["customer_id"].isin(labels.index), ["customer_id", "response_date", "overall_satisfaction"]
               + (["nps"] if "nps" in sv.columns else [])].copy()
    s["end"] = s["customer_id"].map(end)
    s["days_before"] = (s["end"] - s["response_date"].dt.normalize()).dt.days
    s = s.loc[(s["days_before"] >= 0) & (s["days_before"] <= window_days) & s["overall_satisfaction"].notna()]
    last = s.sort_values("response_date", kind="stable").groupby("customer_id").tail(1).set_index("customer_id")
    last["group"] = np.where(labels["churned"].reindex(last.index), "churned", "stayed")
    if reason in labels.columns:
        last["reason"] = labels[reason].reindex(last.index)

    def summarise(f: pd.DataFrame) -> dict[str, float]:
        return {"customers_with_response": len(f), "mean_satisfaction": f["overall_satisfaction"].mean(),
                "share_dissatisfied": (f["overall_satisfaction"] <= 2).mean() if len(f) else np.nan,
                "mean_nps_answer": f["nps"].mean() if "nps" in f else np.nan,
                "median_days_before": f["days_before"].median()}

    rows = {"churned": summarise(last.loc[last["group"] == "churned"])}
    if "reason" in last:
        ch = last.loc[last["group"] == "churned"]
        for r, f in ch.groupby(ch["reason"].astype("object").where(ch["reason"].notna(), NOT_RECORDED).astype(str)):
            rows[f"churned: {REASON_LABELS.get(r, r)}"] = summarise(f)
    rows["stayed"] = summarise(last.loc[last["group"] == "stayed"])
    out = pd.DataFrame(rows).T
    out["customers_with_response"] = out["customers_with_response"].astype(int)
    out.index.name = "customers"
    out.attrs["window_days"] = window_days
    return out


def satisfaction_trajectory(ds: Any, labels: pd.DataFrame, bin_days: int = 60,
                            max_days: int = 540) -> pd.DataFrame | None:
    """Mean satisfaction of churned customers' responses by time before they left (bins of
    ``bin_days``), next to the mean of customers who stayed. None without dated surveys."""
    sv = getattr(ds, "surveys", None)
    if sv is None or "response_date" not in sv.columns:
        return None
    churn = labels["churn_date"].where(labels["churned"])
    s = sv.loc[sv["customer_id"].isin(churn.dropna().index), ["customer_id", "response_date",
                                                             "overall_satisfaction"]].copy()
    s["days_before"] = (s["customer_id"].map(churn) - s["response_date"].dt.normalize()).dt.days
    s = s.loc[(s["days_before"] >= 0) & (s["days_before"] < max_days)]
    if s.empty:
        return None
    s["bin"] = (s["days_before"] // bin_days) * bin_days
    out = s.groupby("bin")["overall_satisfaction"].agg(["mean", "count"]).rename(
        columns={"mean": "mean_satisfaction", "count": "responses"})
    stayers = sv.loc[sv["customer_id"].isin(labels.index[~labels["churned"]]), "overall_satisfaction"]
    out["stayers_mean"] = stayers.mean()
    out.index.name = "days before leaving (bin start)"
    return out
