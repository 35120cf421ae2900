"""Lifecycle stages: potential, new, active, at risk, churned.

Stages in order of precedence (``config`` is the ``lifecycle`` section of the segmentation config):

* **potential** — registered but no transaction up to the as-of date (customers whose only
  transactions are returns are staged by the days since their last return instead of their last
  purchase);
* **churned** — an explicit churn date on or before the as-of date, or no purchase for more than
  ``max(churned_days, churned_gaps x own mean gap between orders)`` days;
* **new** — first purchase at most ``new_days`` ago;
* **at risk** — no purchase for more than ``max(at_risk_days, at_risk_gaps x own mean gap)`` days;
* **active** — everyone else.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

STAGES = ("potential", "new", "active", "at risk", "churned")


def lifecycle_thresholds(features: pd.DataFrame, config: Mapping) -> pd.DataFrame:
    """Per-customer at-risk and churned thresholds in days (the gap rule applied)."""
    gap = features["mean_gap_days"].fillna(0).to_numpy()
    return pd.DataFrame({
        "at_risk_after_days": np.maximum(config["at_risk_days"], config.get("at_risk_gaps", 0) * gap),
        "churned_after_days": np.maximum(config["churned_days"], config.get("churned_gaps", 0) * gap),
    }, index=features.index)


def lifecycle_stage(features: pd.DataFrame, config: Mapping) -> pd.Series:
    """The lifecycle stage of every customer (see the module docstring for the definitions)."""
    th = lifecycle_thresholds(features, config)
    rec = features["recency_days"].fillna(features["days_since_activity"]).to_numpy(dtype="float64")
    explicit = features["churned"].fillna(False).to_numpy(dtype=bool) if "churned" in features else False
    stage = np.select(
        [features["last_activity"].isna().to_numpy(),
         explicit | (rec > th["churned_after_days"].to_numpy()),
         features["tenure_days"].to_numpy(dtype="float64") <= config["new_days"],
         rec > th["at_risk_after_days"].to_numpy()],
        ["potential", "churned", "new", "at risk"], default="active")
    return pd.Series(stage, index=features.index, name="lifecycle_stage").astype(object)


def stage_summary(features: pd.DataFrame, stages: pd.Series) -> pd.DataFrame:
    """Customers, shares and revenue (to date and last 12 months) per stage, in stage order."""
    df = features.assign(stage=stages)
    g = df.groupby("stage")
    out = pd.DataFrame({"customers": g.size(), "revenue": g["monetary"].sum(),
                        "revenue_12m": g["revenue_12m"].sum()}).reindex(list(STAGES)).dropna(how="all")
    out["customers"] = out["customers"].astype("int64")
    out.insert(1, "customer_share", out["customers"] / out["customers"].sum())
    out.insert(3, "revenue_share", out["revenue"] / df["monetary"].sum())
    out.index.name = "lifecycle_stage"
    return out
