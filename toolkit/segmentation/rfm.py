"""RFM scores (quantiles 1..bins) and named RFM segments from an editable rule table.

Scoring rule, deterministic and independent of row order: a customer's score is
``1 + floor(bins * w / n)`` where ``w`` is the number of scored customers with a strictly worse
value and ``n`` the number scored. Tied customers therefore share a score (for example every
one-time buyer gets the same frequency score). Worse means longer ago for recency and lower for
frequency and monetary value. Only buyers are scored; customers without a purchase get missing
scores and the segment ``"No purchase"``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

NO_PURCHASE = "No purchase"
UNMATCHED = "Other"


def quantile_score(values: pd.Series, bins: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..bins by the share of values strictly worse than each one (ties share a score)."""
    v = values.astype("float64")
    ok = v.notna()
    x = v[ok] if higher_is_better else -v[ok]
    worse = x.rank(method="min") - 1  # number of values strictly below
    n = int(ok.sum())
    score = pd.Series(np.nan, index=values.index, dtype="float64")
    if n:
        score[ok] = 1 + np.floor(bins * worse.to_numpy() / n)
    return score.astype("Int64")


def rfm_scores(features: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """R, F, M and FM scores (nullable ints), the code ``"RFM"`` (e.g. ``"545"``) and their sum."""
    buyer = features["frequency"] > 0
    f = features.loc[buyer]
    out = pd.DataFrame(index=features.index)
    out["R"] = quantile_score(f["recency_days"], bins, higher_is_better=False).reindex(features.index)
    out["F"] = quantile_score(f["frequency"], bins).reindex(features.index)
    out["M"] = quantile_score(f["monetary"], bins).reindex(features.index)
    out["FM"] = ((out["F"] + out["M"] + 1) // 2).astype("Int64")
    code = out["R"].astype("string") + out["F"].astype("string") + out["M"].astype("string")
    out["rfm_code"] = code.astype(object).where(buyer, None)
    out["rfm_total"] = (out["R"] + out["F"] + out["M"]).astype("Int64")
    return out


def assign_segments(scores: pd.DataFrame, rules: Sequence[Mapping]) -> pd.Series:
    """Name each customer by the first rule whose score ranges all contain their scores."""
    names = pd.Series(UNMATCHED, index=scores.index, dtype=object)
    todo = scores["R"].notna().to_numpy().copy()
    cols = {"r": "R", "f": "F", "m": "M", "fm": "FM"}
    for rule in rules:
        hit = todo.copy()
        for key, col in cols.items():
            if key in rule:
                lo, hi = rule[key]
                s = scores[col].to_numpy(dtype="float64", na_value=np.nan)
                hit &= (s >= lo) & (s <= hi)
        names[hit] = rule["name"]
        todo &= ~hit
    names[scores["R"].isna().to_numpy()] = NO_PURCHASE
    return names.rename("rfm_segment")


def check_coverage(rules: Sequence[Mapping], bins: int = 5) -> list[tuple[int, int, int]]:
    """Score combinations (R, F, M) no rule matches (empty when the table covers every case)."""
    grid = np.array(np.meshgrid(*[np.arange(1, bins + 1)] * 3, indexing="ij")).reshape(3, -1).T
    s = pd.DataFrame(grid, columns=["R", "F", "M"]).astype("Int64")
    s["FM"] = (s["F"] + s["M"] + 1) // 2
    names = assign_segments(s, rules)
    return [tuple(int(v) for v in row) for row in s.loc[names == UNMATCHED, ["R", "F", "M"]].to_numpy()]


def segment_order(rules: Sequence[Mapping]) -> list[str]:
    """Segment names in rule-table order (for tables and plots), then the fall-back labels."""
    seen: list[str] = []
    for r in rules:
        if r["name"] not in seen:
            seen.append(r["name"])
    return seen + [UNMATCHED, NO_PURCHASE]


def segment_summary(features: pd.DataFrame, segments: pd.Series, rules: Sequence[Mapping] = ()) -> pd.DataFrame:
    """Per named segment: customers, share, net revenue, revenue share and median R/F/M."""
    df = features.assign(rfm_segment=segments)
    g = df.groupby("rfm_segment", sort=False)
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["monetary"].sum(),
        "median_recency_days": g["recency_days"].median(),
        "median_frequency": g["frequency"].median(),
        "median_monetary": g["monetary"].median(),
    })
    out.insert(1, "customer_share", out["customers"] / out["customers"].sum())
    out.insert(3, "revenue_share", out["revenue"] / df["monetary"].sum())
    desc = {r["name"]: r.get("description", "") for r in rules}
    out["description"] = [desc.get(i, "") for i in out.index]
    known = segment_order(rules)
    order = [s for s in known if s in out.index] + [s for s in out.index if s not in known]
    out = out.loc[order]
    out.index.name = "rfm_segment"
    return out
