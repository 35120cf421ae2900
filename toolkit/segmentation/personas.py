"""Personas: a readable profile per cluster and a name built from its most distinctive traits.

A trait is distinctive when the cluster's median lies far from the middle of all clustered
customers: its position ``p`` (share of customers below the median, ties counted half) is at most
``1 - threshold`` or at least ``threshold`` (graded again at 0.1 and 0.9). The two strongest traits
become adjectives in a fixed order (e.g. "Top-value, very frequent"), followed by the dominant
customer type when one type makes up at least 75% of the cluster.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# feature -> words for a cluster median at position >= 0.9, >= threshold, <= 1 - threshold, <= 0.1
TRAITS: dict[str, tuple[str, str, str, str]] = {
    "monetary": ("top-value", "high-value", "low-value", "lowest-value"),
    "avg_order_value": ("very large-order", "large-order", "small-order", "very small-order"),
    "frequency": ("very frequent", "frequent", "infrequent", "one-off"),
    "recency_days": ("long-lapsed", "lapsed", "recently active", "very recently active"),
    "purchase_rate": ("very fast-buying", "fast-buying", "slow-buying", "very slow-buying"),
}
NO_PURCHASE_PERSONA = "Not clustered (no purchase)"


def _mix(values: pd.Series, groups: pd.Series, top: int = 2) -> pd.Series:
    """'A 40%, B 25%' per group: the most common values and their shares."""
    ct = pd.crosstab(groups, values, normalize="index")
    return _top_shares(ct, top)


def _top_shares(shares: pd.DataFrame, top: int) -> pd.Series:
    long = shares.stack().rename("share").reset_index()
    long.columns = ["group", "value", "share"]
    long = long.loc[long["share"] > 0].sort_values(["group", "share", "value"], ascending=[True, False, True])
    long = long.groupby("group", sort=False).head(top)
    text = long["value"].astype(str) + " " + (100 * long["share"]).round().astype(int).astype(str) + "%"
    return text.groupby(long["group"]).agg(", ".join)


def trait_positions(features: pd.DataFrame, clusters: pd.Series, traits: Sequence[str]) -> pd.DataFrame:
    """Position (0..1) of each cluster's median among all clustered customers, per trait."""
    ok = clusters.notna()
    f, c = features.loc[ok], clusters[ok]
    med = f[list(traits)].groupby(c.to_numpy()).median()
    out = pd.DataFrame(index=med.index)
    for t in traits:
        v = np.sort(f[t].dropna().to_numpy(dtype=float))
        lo = np.searchsorted(v, med[t].to_numpy(), side="left")
        hi = np.searchsorted(v, med[t].to_numpy(), side="right")
        out[t] = (lo + hi) / 2 / max(len(v), 1)
    return out


def _word(trait: str, p: float, threshold: float) -> str | None:
    top, high, low, bottom = TRAITS[trait]
    if p >= 0.9:
        return top
    if p >= threshold:
        return high
    if p <= 0.1:
        return bottom
    if p <= 1 - threshold:
        return low
    return None


def persona_names(positions: pd.DataFrame, enterprise_share: pd.Series | None = None,
                  threshold: float = 0.65) -> pd.Series:
    """Names from the most distinctive traits (graded, in a fixed order) plus the dominant customer type.

    Two traits are used; clusters whose names coincide get a third and further traits, and
    a number as the last resort.
    """
    strength = (positions - 0.5).abs()
    canonical = list(positions.columns)

    def build(k, n_traits: int) -> str:
        chosen = strength.loc[k].sort_values(ascending=False, kind="stable").index[:n_traits]
        words = [w for t in canonical if t in chosen
                 for w in [_word(t, positions.loc[k, t], threshold)] if w is not None]
        kind = "customers"
        if enterprise_share is not None and not np.isnan(enterprise_share.get(k, np.nan)):
            e = enterprise_share[k]
            kind = "enterprise customers" if e >= 0.75 else "individual customers" if e <= 0.25 else kind
        if not words:  # nothing stands out: say where the value lies
            words = ["mid-value"] if "monetary" in canonical else ["typical"]
        text = ", ".join(words) + " " + kind
        return text[0].upper() + text[1:]

    names = {k: build(k, 2) for k in positions.index}
    for n_traits in range(3, len(canonical) + 1):
        dup = pd.Series(names).duplicated(keep=False)
        for k in dup[dup].index:
            names[k] = build(k, n_traits)
    s = pd.Series(names)
    dup = s.duplicated(keep=False)
    s[dup] = s[dup] + " (" + (s[dup].groupby(s[dup]).cumcount() + 1).astype(str) + ")"
    return s


def personas(features: pd.DataFrame, clusters: pd.Series, stages: pd.Series | None = None,
             categories: pd.DataFrame | None = None, traits: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per cluster: size, revenue share, medians, region and type mix, top categories, churn rate, name.

    ``clusters`` holds a cluster number per customer (missing for customers not clustered);
    ``stages`` the lifecycle stage (churn rate = share ``churned``; else the explicit churn flag);
    ``categories`` gross revenue per customer and category (:func:`~toolkit.segmentation.features.category_revenue`).
    """
    traits = [t for t in (traits or TRAITS) if t in features.columns]
    ok = clusters.notna()
    f, c = features.loc[ok], clusters[ok].astype(int)
    g = f.groupby(c.to_numpy())
    total_rev = f["monetary"].sum()
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["monetary"].sum(),
        "median_recency_days": g["recency_days"].median(),
        "median_frequency": g["frequency"].median(),
        "median_monetary": g["monetary"].median(),
        "median_order_value": g["avg_order_value"].median(),
    })
    out.insert(1, "customer_share", out["customers"] / out["customers"].sum())
    out.insert(3, "revenue_share", out["revenue"] / total_rev if total_rev else np.nan)
    types = f["customer_type"].astype(str) if "customer_type" in f.columns else None
    ent = None
    if types is not None and types.isin(["enterprise", "individual"]).any():
        ent = (types == "enterprise").groupby(c.to_numpy()).mean()
        out["enterprise_share"] = ent
    out["top_regions"] = _mix(f["region"].astype(str), pd.Series(c.to_numpy(), index=f.index))
    if categories is not None and len(categories):
        cat = categories.reindex(f.index).fillna(0).groupby(c.to_numpy()).sum()
        out["top_categories"] = _top_shares(cat.div(cat.sum(axis=1).replace(0, np.nan), axis=0).fillna(0), 2)
    if stages is not None:
        out["churn_rate"] = (stages[ok] == "churned").groupby(c.to_numpy()).mean()
    elif "churned" in f.columns:
        out["churn_rate"] = f["churned"].astype(float).groupby(c.to_numpy()).mean()
    pos = trait_positions(f, c, traits)
    out.insert(0, "persona", persona_names(pos, ent))
    out.index.name = "cluster"
    return out


def persona_labels(clusters: pd.Series, table: pd.DataFrame) -> pd.Series:
    """Persona name per customer (:data:`NO_PURCHASE_PERSONA` for customers who were not clustered)."""
    names = clusters.map(table["persona"])
    return names.astype(object).where(clusters.notna(), NO_PURCHASE_PERSONA).rename("persona")
