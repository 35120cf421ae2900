"""KPI figures in the toolkit style: a metric by region with intervals, and trends over periods."""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.kpi.metrics import METRICS
from toolkit.kpi.scorecard import COMPANY
from toolkit.plotting import PALETTE, new_figure


def _scale(metric: str) -> tuple[float, str]:
    unit = METRICS[metric].unit
    if unit.startswith("share"):
        return 100.0, f"{METRICS[metric].label} (%)"
    return 1.0, f"{METRICS[metric].label} ({unit})"


def plot_by_region(scorecard: pd.DataFrame, metric: str, period: str, title: str, currency: str = ""):
    """One metric per region with its interval; red = differs significantly from the rest of the company."""
    sc = scorecard.loc[(scorecard["period"] == period) & (scorecard["metric"] == metric)
                       & (scorecard["comparison"] == "rest")].sort_values("value")
    company = scorecard.loc[(scorecard["period"] == period) & (scorecard["metric"] == metric)
                            & (scorecard["region"] == COMPANY), "value"]
    k, xlabel = _scale(metric)
    xlabel = xlabel.replace("currency", currency or "currency")
    fig, ax = new_figure(title, xlabel, "Region", figsize=(9, max(3.0, 0.5 * len(sc) + 1.5)))
    y = np.arange(len(sc))
    v = sc["value"].to_numpy(float) * k
    lo, hi = sc["ci_low"].to_numpy(float) * k, sc["ci_high"].to_numpy(float) * k
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    if has_ci.any():
        ax.errorbar(v[has_ci], y[has_ci], xerr=[np.clip(v[has_ci] - lo[has_ci], 0, None), np.clip(hi[has_ci] - v[has_ci], 0, None)], fmt="none",
                    ecolor="#7f7f7f", capsize=3, label="interval")
    sig = sc["significant"].fillna(False).to_numpy(bool)
    ax.scatter(v[~sig], y[~sig], color=PALETTE[0], zorder=3, label="not different from the rest of the company")
    ax.scatter(v[sig], y[sig], color=PALETTE[1], zorder=3, label="differs from the rest (adjusted p < alpha)")
    if len(company):
        ax.axvline(float(company.iloc[0]) * k, color="black", linestyle="--", linewidth=0.8, label="company")
    ax.set_yticks(y, sc["region"].astype(str).tolist())
    ax.legend(fontsize=8, loc="best")
    return fig, ax


def plot_trend(table: pd.DataFrame, metric: str, title: str, currency: str = "", periods: list[str] | None = None):
    """A metric over the calendar periods, one line per region and a thick line for the company."""
    t = table.loc[table["period"].isin(periods)] if periods is not None else table
    k, ylabel = _scale(metric)
    ylabel = ylabel.replace("currency", currency or "currency")
    fig, ax = new_figure(title, "Period (first day)", ylabel, figsize=(10, 4.8))
    wide = t.pivot_table(index="period_start", columns="region", values=metric, sort=True) * k
    for i, region in enumerate([c for c in wide.columns if c != COMPANY]):
        ax.plot(wide.index, wide[region], marker="o", markersize=3, linewidth=1.2,
                color=PALETTE[i % len(PALETTE)], label=str(region))
    if COMPANY in wide.columns:
        ax.plot(wide.index, wide[COMPANY], color="black", linewidth=2.4, label=COMPANY)
    ax.legend(fontsize=8, ncol=4, loc="best")
    return fig, ax
