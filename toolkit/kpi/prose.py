"""Sentences that read the scorecard's numbers (plain text; the notebook escapes them)."""
from __future__ import annotations

import pandas as pd

from toolkit.kpi.metrics import METRICS


def fmt(value: float, metric: str, currency: str = "") -> str:
    """A metric value in its unit: shares in %, currency with the code, NPS in points."""
    if pd.isna(value):
        return "n/a"
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit.startswith("share"):
        return f"{100 * value:.1f}%"
    if unit.startswith("currency"):
        return f"{currency + ' ' if currency else ''}{value:,.0f}" if abs(value) >= 100 else \
            f"{currency + ' ' if currency else ''}{value:,.2f}"
    if unit.startswith("points"):
        return f"{value:+.1f} points"
    if unit == "customers":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def flag_sentence(row: pd.Series, currency: str = "") -> str:
    """'East: churn rate 32.2% vs 18.5% in the rest of the company (higher; adjusted p = 4.8e-09, two-proportion z).'"""
    m = row["metric"]
    ref = row["reference_label"] or "previous period"
    return (f"{row['region']}: {METRICS[m].label} {fmt(row['value'], m, currency)} vs "
            f"{fmt(row['reference'], m, currency)} ({ref}) — {row['direction']}; adjusted p = {row['p_adj']:.2g} "
            f"({row['test']}).")
