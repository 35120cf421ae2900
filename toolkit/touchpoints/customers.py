"""Who the contacted customers are: region, type, value tier, RFM segment and the policy cadence,
and on which days they bought.

Tiers, segments and cadences come from their one home, :mod:`toolkit.segmentation` (the per-customer
features, :func:`~toolkit.segmentation.rfm_scores`, :func:`~toolkit.segmentation.assign_segments`,
:func:`~toolkit.segmentation.value_tiers` and :func:`~toolkit.segmentation.contact_cadence` with the
settings of ``config/segmentation.yaml``), computed exactly as the segmentation report computes them
at the same as-of date (net revenue as the value). Purchase days are distinct customer-days with a
row of positive amount, aggregated by the engine; a log without amounts counts rows of positive
quantity (or every row when it has no quantities either).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

DAY0 = pd.Timestamp("1970-01-01")


def to_day(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a Series of dates (time of day ignored); NaT gives a missing value (float)."""
    d = pd.to_datetime(dates)
    out = (d.dt.normalize() - DAY0).dt.days
    return out.to_numpy(dtype=float)


def purchase_days(transactions: Any, as_of, has_money: bool = True, engine: str | None = None) -> pd.DataFrame:
    """Distinct (customer_id, day) of purchases on or before ``as_of``; ``day`` is days since 1970."""
    from toolkit.engine import as_day, as_log, collect, day_number, has_values, log_columns

    lf = as_log(transactions, engine)
    rows = lf.filter(~nw.col("customer_id").is_null(), ~nw.col("date").is_null())
    if has_money:
        rows = rows.filter(nw.col("amount") > 0)
    elif "quantity" in log_columns(lf) and has_values(lf, "quantity"):
        rows = rows.filter(nw.col("quantity") > 0)
    rows = rows.with_columns(day_number("date").alias("day")).filter(nw.col("day") <= as_day(as_of))
    out = collect(rows.select("customer_id", "day").unique(), sort=["customer_id", "day"])
    return pd.DataFrame({"customer_id": out["customer_id"].astype(str).to_numpy(dtype=object),
                         "day": out["day"].to_numpy(dtype=np.int64)})


class PurchaseIndex:
    """Purchase days per customer code, for vectorised queries at (customer, day) pairs."""

    def __init__(self, codes: np.ndarray, days: np.ndarray) -> None:
        o = np.lexsort((days, codes))
        self.code = np.asarray(codes, np.int64)[o]
        self.day = np.asarray(days, np.int64)[o]
        self._key = self.code * 10**7 + self.day

    def _pos(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._key, code * 10**7 + day, side="left")

    def count_before(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Purchase days of each customer strictly before ``day``."""
        first = np.searchsorted(self._key, code * 10**7, side="left")
        return self._pos(code, day) - first

    def last_before(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The last purchase day strictly before ``day`` (NaN when none)."""
        i = self._pos(code, day) - 1
        ok = (i >= 0) & (self.code[np.maximum(i, 0)] == code) if len(self.code) else np.zeros(len(code), bool)
        out = np.full(len(code), np.nan)
        if len(self.code):
            out[ok] = self.day[i[ok]]
        return out

    def bought_within(self, code: np.ndarray, day: np.ndarray, within_days: int) -> np.ndarray:
        """A purchase on ``day`` or in the ``within_days - 1`` days after it."""
        if not len(self.code):
            return np.zeros(len(code), bool)
        i = self._pos(code, day)
        j = np.minimum(i, len(self.code) - 1)
        return (i < len(self.code)) & (self.code[j] == code) & (self.day[j] <= day + within_days - 1)


def customer_profile(transactions: Any, customers: pd.DataFrame | None, as_of,
                     seg_config: Mapping | None = None, has_money: bool = True) -> pd.DataFrame:
    """One row per customer known at ``as_of`` (index customer_id): region, customer_type, start
    (acquisition date, else first purchase), first_purchase, churn_date (NaT unless churned by
    ``as_of``), value_tier, rfm_segment and cadence_days (None when the data hold no amounts)."""
    from toolkit.segmentation import (assign_segments, contact_cadence, customer_features, load_config,
                                      rfm_scores, value_tiers)

    as_of = pd.Timestamp(as_of).normalize()
    cfg = dict(seg_config or load_config())
    if transactions is None:
        cu = customers.drop_duplicates("customer_id").set_index("customer_id")
        if "acquisition_date" in cu.columns:
            cu = cu.loc[~(cu["acquisition_date"] > as_of)]
        out = pd.DataFrame(index=cu.index.astype(str))
        out["region"] = cu["region"].fillna("unknown").astype(str).to_numpy() if "region" in cu else "unknown"
        if "customer_type" in cu:
            out["customer_type"] = cu["customer_type"].astype(object).where(cu["customer_type"].notna(),
                                                                            "unknown").to_numpy()
        else:
            out["customer_type"] = "unknown"
        out["first_purchase"] = pd.NaT
        out["start"] = pd.to_datetime(cu["acquisition_date"]).to_numpy() if "acquisition_date" in cu else pd.NaT
        churn = pd.to_datetime(cu["churn_date"]) if "churn_date" in cu else pd.Series(pd.NaT, index=cu.index)
        out["churn_date"] = churn.where(churn <= as_of).to_numpy()
        out["frequency"] = 0
        out["value_tier"] = None
        out["rfm_segment"] = None
        out["cadence_days"] = np.nan
        out.index.name = "customer_id"
        return out
    feats = customer_features(transactions, customers, as_of)
    feats.index = feats.index.astype(str)
    out = pd.DataFrame(index=feats.index)
    out["region"] = feats["region"]
    out["customer_type"] = feats["customer_type"]
    out["first_purchase"] = feats["first_purchase"]
    acq = (pd.to_datetime(feats["acquisition_date"]) if "acquisition_date" in feats
           else pd.Series(pd.NaT, index=feats.index))
    out["start"] = acq.where(acq.notna(), feats["first_purchase"])
    churn = feats["churn_date"] if "churn_date" in feats else pd.Series(pd.NaT, index=feats.index)
    out["churn_date"] = pd.to_datetime(churn).where(feats["churned"].astype(bool))
    out["frequency"] = feats["frequency"]
    if has_money:
        buyer = feats["is_buyer"]
        scores = rfm_scores(feats, int(cfg["rfm"].get("bins", 5)))
        t = cfg["tiers"]
        out["value_tier"] = value_tiers(feats["monetary"].where(buyer), list(t["cutoffs"]), t["labels"],
                                        t.get("no_purchase", "none"))
        out["rfm_segment"] = assign_segments(scores, cfg["rfm"]["segments"])
        out["cadence_days"] = contact_cadence(out["value_tier"], out["rfm_segment"], cfg["strategy"])
    else:
        out["value_tier"] = None
        out["rfm_segment"] = None
        out["cadence_days"] = np.nan
    out.index.name = "customer_id"
    return out


def tier_order(seg_config: Mapping | None = None) -> list[str]:
    """Tier labels from highest to lowest, then the label of customers who never bought."""
    from toolkit.segmentation import load_config

    t = dict(seg_config or load_config())["tiers"]
    return list(t["labels"]) + [t.get("no_purchase", "none")]


def policy_cadence(seg_config: Mapping | None = None) -> pd.Series:
    """Days between contacts the segmentation strategy sets per tier (before segment factors)."""
    from toolkit.segmentation import load_config

    st = dict(seg_config or load_config())["strategy"]["tiers"]
    return pd.Series({t: float(row["cadence_days"]) for t, row in st.items()}, name="cadence_days")
