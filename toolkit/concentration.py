"""How concentrated value is across customers: Lorenz curve, Gini coefficient, top-share.

One place for these figures; the segmentation audit (revenue) and the CLV report (predicted value)
both use them. Missing values are ignored and negative values count as 0 in the curve and Gini.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _values(values: pd.Series | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v[~np.isnan(v)]


def lorenz_curve(values: pd.Series | np.ndarray, value_name: str = "value_share") -> pd.DataFrame:
    """Cumulative share of customers (lowest value first) against cumulative share of value."""
    v = np.sort(np.clip(_values(values), 0, None))
    cum = np.concatenate([[0.0], np.cumsum(v)])
    total = cum[-1] if cum[-1] > 0 else 1.0
    return pd.DataFrame({"customer_share": np.linspace(0, 1, len(v) + 1), value_name: cum / total})


def gini(values: pd.Series | np.ndarray) -> float:
    """Gini coefficient (0 = everyone equal, 1 = one customer holds everything); NaN without value."""
    v = np.sort(np.clip(_values(values), 0, None))
    n = len(v)
    if n == 0 or v.sum() == 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(2 * (i * v).sum() / (n * v.sum()) - (n + 1) / n)


def top_share(values: pd.Series | np.ndarray, share: float = 0.2) -> float:
    """Share of the total held by the top ``share`` of customers."""
    v = np.sort(_values(values))[::-1]
    k = int(np.ceil(share * len(v)))
    total = v.sum()
    return float(v[:k].sum() / total) if total else float("nan")
