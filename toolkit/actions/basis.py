"""One row per customer for the action plan: who they are, their value tier and lifecycle stage (the
segmentation's own rules), their annual value, their owner and their contact cadence.

Tiers, stages and cadences come from their one home, :mod:`toolkit.segmentation`
(:func:`~toolkit.segmentation.value_tiers`, :func:`~toolkit.segmentation.lifecycle_stage`,
:func:`~toolkit.segmentation.contact_cadence` with ``config/segmentation.yaml``), computed as the
segmentation report computes them at the same as-of date: tiers by net revenue to date, or by
purchases when the data hold no amounts.

**Annual value** is net revenue (purchases without amounts) per year as a customer: the customer's
total divided by the years from the first purchase to the churn date (churned customers: the last
purchase when no churn date is recorded) or the as-of date, at least one year.

**Owner**: the customer table's ``account_manager`` column, else ``owner`` (neither is in the data
model: a dataset spec keeps them as ``extra`` columns of the customers table), else the region;
``owner.column`` in the plan config names another column or forces the region. A customer without
an owner value falls back to the region.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

OWNER_COLUMNS = ("account_manager", "owner")
YEAR = 365.25


def owner_column(customer_columns, configured: str = "auto") -> str | None:
    """The customer-table column that names owners, or None (the region owns)."""
    if configured == "region":
        return None
    if configured != "auto":
        return configured
    return next((c for c in OWNER_COLUMNS if c in set(customer_columns)), None)


def annual_value(total: pd.Series, first: pd.Series, end: pd.Series) -> pd.Series:
    """``total`` per year from ``first`` to ``end``, at least one year (0 without a first purchase)."""
    days = (pd.to_datetime(end) - pd.to_datetime(first)).dt.days.astype(float)
    years = np.maximum(days.fillna(0).to_numpy() / YEAR, 1.0)
    out = pd.Series(total.fillna(0).to_numpy(float) / years, index=total.index, name="annual_value")
    return out.where(pd.to_datetime(first).notna(), 0.0)


def customer_basis(features: pd.DataFrame, customers: pd.DataFrame | None, as_of, seg_config: Mapping[str, Any],
                   has_money: bool = True, owner: str = "auto") -> pd.DataFrame:
    """The plan's per-customer frame from the segmentation features (:func:`toolkit.segmentation.customer_features`).

    Columns: region, customer_type, value_tier, lifecycle_stage, rfm_segment, cadence_days,
    first_purchase, last_purchase, churn_date, churn_reason, frequency, value_to_date,
    value_12m, annual_value, owner."""
    from toolkit.segmentation import (assign_segments, contact_cadence, lifecycle_stage, rfm_scores,
                                      value_tiers)

    as_of = pd.Timestamp(as_of).normalize()
    f = features.copy()
    f.index = f.index.astype(str)
    buyer = f["is_buyer"].astype(bool)
    t = seg_config["tiers"]
    total = f["monetary"] if has_money else f["frequency"].astype(float)
    out = pd.DataFrame(index=f.index)
    out["region"] = f["region"].astype(str)
    out["customer_type"] = f["customer_type"].astype(object)
    out["value_tier"] = value_tiers(total.where(buyer), list(t["cutoffs"]), t["labels"], t.get("no_purchase", "none"))
    out["lifecycle_stage"] = lifecycle_stage(f, seg_config["lifecycle"])
    if has_money:
        scores = rfm_scores(f, int(seg_config["rfm"].get("bins", 5)))
        out["rfm_segment"] = assign_segments(scores, seg_config["rfm"]["segments"])
    else:
        out["rfm_segment"] = None
    out["cadence_days"] = contact_cadence(out["value_tier"], out["rfm_segment"], seg_config["strategy"])
    out["first_purchase"] = f["first_purchase"]
    out["last_purchase"] = f["last_purchase"]
    churn = pd.to_datetime(f["churn_date"]) if "churn_date" in f else pd.Series(pd.NaT, index=f.index)
    out["churn_date"] = churn.where(churn <= as_of)
    out["frequency"] = f["frequency"].astype("int64")
    out["value_to_date"] = total.fillna(0).astype(float)
    out["value_12m"] = (f["revenue_12m"] if has_money and "revenue_12m" in f else
                        pd.Series(np.nan, index=f.index)).astype(float)
    churned = out["lifecycle_stage"] == "churned"
    end = pd.Series(as_of, index=f.index)
    end = end.where(~churned, out["churn_date"].fillna(out["last_purchase"]))
    out["annual_value"] = annual_value(out["value_to_date"], out["first_purchase"], end)
    cu = customers.drop_duplicates("customer_id").set_index("customer_id") if customers is not None else None
    if cu is not None:
        cu.index = cu.index.astype(str)
    out["churn_reason"] = (cu["churn_reason"].reindex(out.index).astype(object) if cu is not None and
                           "churn_reason" in cu else None)
    col = owner_column(cu.columns if cu is not None else [], owner)
    own = cu[col].reindex(out.index).astype(object) if col is not None else pd.Series(None, index=out.index)
    own = own.where(own.notna() & (own.astype(str).str.strip() != ""), out["region"])
    out["owner"] = own.astype(str)
    out.index.name = "customer_id"
    out.attrs["owner_source"] = col or "region"
    return out
