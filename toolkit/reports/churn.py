"""Sentences of the churn report."""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.reports.format import esc, fmt_int, fmt_pct


def yearly_rate_sentence(overall: pd.DataFrame, as_of: pd.Timestamp) -> str:
    """The churn rate over the 12 months to ``as_of`` (``overall``: one row of ``churn_rate``,
    ``lost``, ``at_start``, ``attrs["start"]``), or why there is none."""
    start = pd.Timestamp(overall.attrs["start"]).date()
    n, lost = int(overall["at_start"].iloc[0]), int(overall["lost"].iloc[0])
    if n == 0:
        return (f"No customer was active on {start}, so there is no churn rate over the 12 months to "
                f"{as_of.date()} (the data start later).")
    return (f"Over the 12 months to {as_of.date()} the churn rate was **{fmt_pct(lost / n)}**: {fmt_int(lost)} of "
            f"the {fmt_int(n)} customers active on {start} left within the year.")


def logrank_sentence(grouping: str, chi2: float, df: float, p_value: float, alpha: float = 0.05) -> str:
    """One line on a log-rank test of equal survival across the groups of ``grouping``."""
    if not (np.isfinite(chi2) and np.isfinite(p_value)) or df < 1:
        why = "fewer than two groups have customers" if df < 1 else "no group has a churned customer to compare"
        return f"- Survival by **{esc(grouping)}**: not tested ({why})."
    verdict = "the groups differ" if p_value < alpha else "no difference beyond chance"
    return f"- Survival by **{esc(grouping)}**: {verdict} (chi-square {chi2:.1f} on {int(df)} df, p = {p_value:.2g})."
