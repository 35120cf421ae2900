"""Internal consistency of multi-item constructs: Cronbach's alpha and item statistics.

alpha = k / (k - 1) * (1 - sum of item variances / variance of the sum score), on the respondents
who answered every item of the construct (listwise deletion; the count is reported). The formula is
:func:`toolkit.reliability.cronbach_alpha` (re-exported here), which the demo's ground truth uses too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.reliability import cronbach_alpha

__all__ = ["cronbach_alpha", "item_statistics", "reliability"]


def reliability(frame: pd.DataFrame, constructs: dict[str, list[str]],
                labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per construct: items, complete responses, alpha, mean inter-item correlation."""
    rows = []
    for name, cols in constructs.items():
        x = frame[cols].dropna()
        corr = x.corr().to_numpy() if len(cols) > 1 and len(x) > 2 else np.array([[1.0]])
        off = corr[~np.eye(len(corr), dtype=bool)]
        rows.append({"construct": name, "label": (labels or {}).get(name, name), "items": len(cols),
                     "complete_responses": len(x), "alpha": cronbach_alpha(frame[cols]),
                     "mean_inter_item_r": float(np.nanmean(off)) if off.size else np.nan})
    return pd.DataFrame(rows).set_index("construct")


def item_statistics(frame: pd.DataFrame, constructs: dict[str, list[str]]) -> pd.DataFrame:
    """Per item: mean, SD, corrected item-total correlation and alpha if the item were deleted."""
    rows = []
    for name, cols in constructs.items():
        x = frame[cols].dropna()
        for c in cols:
            others = [o for o in cols if o != c]
            r = x[c].corr(x[others].sum(axis=1)) if others and len(x) > 2 else np.nan
            rows.append({"construct": name, "item": c, "mean": frame[c].mean(), "sd": frame[c].std(),
                         "item_total_r": r, "alpha_if_deleted": cronbach_alpha(frame[others]) if len(others) > 1
                         else np.nan})
    return pd.DataFrame(rows).set_index(["construct", "item"])
