"""Differentiated strategy per value tier and RFM segment, and the contact follow-up list.

The actions come from the ``strategy`` section of the segmentation config: per tier an objective,
product, price and channel action, a contact channel and a cadence in days; per RFM segment an
extra action and a ``cadence_factor`` that scales the tier's cadence (e.g. 0.5 for customers at
risk: contact twice as often).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

TIER_FIELDS = ("objective", "product", "price", "channel", "contact", "cadence_days")


def _tier_frame(config: Mapping) -> pd.DataFrame:
    t = pd.DataFrame.from_dict(config["tiers"], orient="index")
    t.index.name = "value_tier"
    return t[list(TIER_FIELDS)]


def _segment_frame(config: Mapping) -> pd.DataFrame:
    s = pd.DataFrame.from_dict(config.get("segments") or {}, orient="index")
    for col, default in (("action", ""), ("cadence_factor", 1.0)):
        if col not in s.columns:
            s[col] = default
    s.index.name = "rfm_segment"
    return s[["action", "cadence_factor"]]


def contact_cadence(tiers: pd.Series, segments: pd.Series, config: Mapping) -> pd.Series:
    """Days between contacts per customer: the tier's cadence times the segment's factor."""
    base = tiers.map(_tier_frame(config)["cadence_days"]).astype(float)
    factor = segments.map(_segment_frame(config)["cadence_factor"]).astype(float).fillna(1.0)
    return (base * factor).round().rename("cadence_days")


def strategy_table(frame: pd.DataFrame, config: Mapping, value: str = "monetary") -> pd.DataFrame:
    """One row per value tier x RFM segment present: customers and revenue at stake, actions, cadence.

    ``frame`` needs ``value_tier``, ``rfm_segment``, ``value`` and ``revenue_12m`` per customer.
    """
    g = frame.groupby(["value_tier", "rfm_segment"], sort=False)
    out = pd.DataFrame({"customers": g.size(), "revenue": g[value].sum(),
                        "revenue_12m": g["revenue_12m"].sum()}).reset_index()
    total = frame[value].sum()
    out.insert(4, "revenue_share", out["revenue"] / total if total else np.nan)
    tiers, segs = _tier_frame(config), _segment_frame(config)
    out = out.join(tiers, on="value_tier").join(segs, on="rfm_segment")
    out["segment_action"] = out.pop("action").fillna("")
    out["cadence_days"] = (out["cadence_days"].astype(float) * out.pop("cadence_factor").fillna(1.0)).round()
    tier_rank = {t: i for i, t in enumerate(tiers.index)}
    out["_t"] = out["value_tier"].map(tier_rank)
    out = out.sort_values(["_t", "revenue", "rfm_segment"], ascending=[True, False, True]).drop(columns="_t")
    cols = ["value_tier", "rfm_segment", "customers", "revenue", "revenue_share", "revenue_12m", "objective",
            "segment_action", "product", "price", "channel", "contact", "cadence_days"]
    return out[cols].reset_index(drop=True)


def tier_strategy(frame: pd.DataFrame, config: Mapping, value: str = "monetary") -> pd.DataFrame:
    """One row per value tier: customers, revenue at stake and the tier's actions and cadence."""
    g = frame.groupby("value_tier", sort=False)
    stake = pd.DataFrame({"customers": g.size(), "revenue": g[value].sum(), "revenue_12m": g["revenue_12m"].sum()})
    total = frame[value].sum()
    stake["revenue_share"] = stake["revenue"] / total if total else np.nan
    tiers = _tier_frame(config)
    out = tiers.join(stake, how="inner")
    return out[["customers", "revenue", "revenue_share", "revenue_12m", *TIER_FIELDS]]


def last_contacts(interactions: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per customer: date and channel of the last contact on or before ``as_of``, and contacts in the last year."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    ia = interactions.loc[interactions["date"] < end]
    last = ia.sort_values(["customer_id", "date"], kind="stable").groupby("customer_id").tail(1)
    out = last.set_index("customer_id")[["date", "channel"]].rename(
        columns={"date": "last_contact", "channel": "last_contact_channel"})
    recent = ia["date"] >= end - pd.Timedelta(days=365)
    out["contacts_12m"] = ia.loc[recent].groupby("customer_id").size()
    out["contacts_12m"] = out["contacts_12m"].fillna(0).astype("int64")
    return out


def followup_list(frame: pd.DataFrame, interactions: pd.DataFrame, as_of, config: Mapping,
                  value: str = "monetary") -> pd.DataFrame:
    """Customers whose last contact is older than their cadence, highest value first.

    ``frame`` needs ``value_tier``, ``rfm_segment``, ``lifecycle_stage``, ``cadence_days``,
    ``first_purchase`` and ``value``. Customers never contacted count from their first purchase.
    Lifecycle stages listed under ``followup.exclude_stages`` are left out.
    """
    as_of = pd.Timestamp(as_of).normalize()
    lc = last_contacts(interactions, as_of)
    df = frame.join(lc, how="left")
    exclude = list((config.get("followup") or {}).get("exclude_stages") or [])
    df = df.loc[~df["lifecycle_stage"].isin(exclude) & df["cadence_days"].notna()]
    since = df["last_contact"].where(df["last_contact"].notna(), df["first_purchase"])
    df = df.assign(days_since_contact=(as_of - since.dt.normalize()).dt.days.astype("float64"),
                   never_contacted=df["last_contact"].isna())
    df["days_overdue"] = df["days_since_contact"] - df["cadence_days"]
    df = df.loc[df["days_overdue"] > 0]
    df["contact"] = df["value_tier"].map(_tier_frame(config)["contact"])
    df = df.assign(_id=df.index.astype(str)).sort_values([value, "days_overdue", "_id"],
                                                         ascending=[False, False, True]).drop(columns="_id")
    cols = ["value_tier", "rfm_segment", "lifecycle_stage", "region", "customer_type", value, "last_contact",
            "never_contacted", "days_since_contact", "cadence_days", "days_overdue", "contact"]
    return df[[c for c in cols if c in df.columns]]
