"""Small display helpers of the churn report's tables (what ``toolkit.reports.format`` does not do)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for display with yes/no instead of True/False in boolean columns."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = np.where(out[col], "yes", "no")
    return out


def share_text(values: pd.Series, digits: int = 1) -> pd.Series:
    """Shares (0-1) as percentage text ("53.5%"), "–" where missing: for probabilities a table shows
    beside amounts, whose decimals a table-wide precision would otherwise set."""
    return pd.Series([f"{100 * v:.{digits}f}%" if pd.notna(v) and np.isfinite(v) else "–" for v in values],
                     index=values.index, name=values.name, dtype=object)


def with_shares(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], digits: int = 1) -> pd.DataFrame:
    """A copy with ``columns`` (those present) shown as percentages."""
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            out[col] = share_text(out[col].astype(float), digits)
    return out
