"""Value tiers (high / mid / low by revenue or predicted CLV), customer type and demographic bands.

:func:`value_tiers` is the one tier rule of the toolkit: ``toolkit.clv.value_tiers`` and
``toolkit.churn.value_tiers`` are this function (re-exported), so a customer has the same tier in
every report that tiers the same values.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


#: The tier label of customers without a value (registered but never bought, no CLV prediction):
#: the same in every report (``tiers.no_purchase`` in config/segmentation.yaml).
NO_VALUE = "none"
#: The default cut-offs: the top 20% of the customers with a value are high, the next 30% mid.
CUTOFFS = (0.2, 0.5)
LABELS = ("high", "mid", "low")


def value_tiers(values: pd.Series | np.ndarray, cutoffs: Sequence[float] = CUTOFFS,
                labels: Sequence[str] = LABELS, missing_label: str = NO_VALUE) -> pd.Series:
    """The value-tier rule of every report (segmentation, CLV, churn, touchpoints, action plan).

    Customers with a value are ranked highest value first; **ties are broken by customer id**
    (ascending, compared as text, so the result does not depend on the row order). With ``n`` such
    customers, the one at position ``p`` (0 = best) sits at the share ``(p + 0.5) / n`` of the
    ranking (the middle of its slot) and gets ``labels[i]`` for the first cumulative cut-off
    ``cutoffs[i]`` above that share, the last label past the last cut-off: with the defaults the
    top 20% are "high", the next 30% "mid", the rest "low". So ``round(cutoffs[i] * n)`` customers
    (halves rounded down) are above cut-off ``i``. Customers with a missing value get ``missing_label`` ("none")
    and do not count in ``n``. ``values`` is indexed by customer id (an array gets positions).
    Returns text labels (object dtype) named ``value_tier``, in the order of ``values``.
    """
    if len(labels) != len(cutoffs) + 1:
        raise ValueError(f"{len(cutoffs)} cut-offs need {len(cutoffs) + 1} labels")
    cuts = np.asarray(cutoffs, dtype=float)
    if ((cuts < 0) | (cuts > 1)).any() or (np.diff(cuts) <= 0).any():
        raise ValueError(f"cut-offs {list(cutoffs)} must be cumulative shares that increase within [0, 1]")
    values = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=float))
    ok = values.notna()
    v = values[ok]
    frame = pd.DataFrame({"v": v.to_numpy(), "id": v.index.astype(str)}, index=v.index)
    order = frame.sort_values(["v", "id"], ascending=[False, True], kind="stable").index
    position = pd.Series(np.arange(len(order)), index=order)
    share = (position + 0.5) / max(len(order), 1)  # the middle of each customer's slot
    idx = np.searchsorted(cuts, share.to_numpy(), side="right")
    tier = pd.Series(np.asarray(labels, dtype=object)[idx], index=order)
    out = pd.Series(missing_label, index=values.index, dtype=object, name="value_tier")
    out[tier.index] = tier
    return out


def tier_summary(tiers: pd.Series, values: pd.Series, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Per tier: customers, share of customers, value, share of value, mean and minimum value."""
    df = pd.DataFrame({"tier": tiers, "value": values.fillna(0)})
    g = df.groupby("tier", sort=False)["value"]
    out = pd.DataFrame({"customers": g.size(), "value": g.sum(), "mean_value": g.mean(),
                        "min_value": g.min(), "max_value": g.max()})
    out.insert(1, "customer_share", out["customers"] / out["customers"].sum())
    total = df["value"].sum()
    out.insert(3, "value_share", out["value"] / total if total else np.nan)
    if order is not None:
        out = out.reindex([t for t in order if t in out.index] + [t for t in out.index if t not in order])
    out.index.name = "value_tier"
    return out


def customer_types(features: pd.DataFrame) -> pd.Series:
    """Enterprise / individual from the customers table; ``unknown`` where the data does not say."""
    if "customer_type" not in features.columns:
        return pd.Series("unknown", index=features.index, name="customer_type", dtype=object)
    t = features["customer_type"].astype(object)
    return t.where(t.notna(), "unknown").rename("customer_type")


DEMOGRAPHIC_COLUMNS = ("age", "income", "gender", "occupation")


def has_demographics(features: pd.DataFrame) -> list[str]:
    """Demographic columns with at least one value."""
    return [c for c in DEMOGRAPHIC_COLUMNS if c in features.columns and features[c].notna().any()]


def demographic_segments(features: pd.DataFrame, config: Mapping) -> pd.DataFrame:
    """Age band, income band (by quantile), gender and occupation for the columns the data has.

    ``config`` is the ``demographics`` section of the segmentation config. The result has one
    column per available attribute (possibly none).
    """
    out = pd.DataFrame(index=features.index)
    present = has_demographics(features)
    if "age" in present:
        out["age_band"] = pd.cut(features["age"], bins=config["age_edges"], labels=config["age_labels"],
                                 right=False).astype(object)
    if "income" in present:
        inc = features["income"]
        edges = np.unique(inc.quantile(config["income_quantiles"]).to_numpy())
        labels = list(config["income_labels"])
        if len(edges) - 1 == len(labels):
            out["income_band"] = pd.cut(inc, bins=edges, labels=labels, include_lowest=True).astype(object)
        else:  # too few distinct incomes for the bands
            out["income_band"] = pd.cut(inc, bins=edges, include_lowest=True).astype(str).where(inc.notna())
    for c in ("gender", "occupation"):
        if c in present:
            out[c] = features[c].astype(object)
    return out


def income_band_ranges(features: pd.DataFrame, bands: pd.Series) -> pd.DataFrame:
    """The income range of each income band (for the table's caption)."""
    g = features["income"].groupby(bands)
    return pd.DataFrame({"min_income": g.min(), "max_income": g.max()})


def profile_by(features: pd.DataFrame, groups: pd.Series, value: str = "monetary") -> pd.DataFrame:
    """Customers, share, revenue share and median spend, frequency and recency per group."""
    df = features.assign(_g=groups.to_numpy())
    df = df.loc[df["_g"].notna()]
    g = df.groupby("_g", sort=True)
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g[value].sum(),
        "median_monetary": g[value].median(),
        "median_frequency": g["frequency"].median(),
        "median_recency_days": g["recency_days"].median(),
    })
    out.insert(1, "customer_share", out["customers"] / out["customers"].sum())
    total = df[value].sum()
    out.insert(3, "revenue_share", out["revenue"] / total if total else np.nan)
    out.index.name = groups.name
    return out
