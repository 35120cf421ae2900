"""Figures of the churn report, in the toolkit's one style: every figure titled, axes labelled."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter
from sklearn.metrics import precision_recall_curve, roc_curve

from toolkit.plotting import PALETTE, label, new_figure


def _pct(ax, axis: str = "y", xmax: float = 1.0) -> None:
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    decimals = 0 if hi - lo >= 0.1 else 1
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(xmax=xmax, decimals=decimals))


def _ratio_axis(ax, values: np.ndarray) -> None:
    """Log-scaled ratio axis with plain tick labels (0.25, 0.5, 1, 2, ...)."""
    ax.set_xscale("log")
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.5, 2.0)
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20, 50, 100)
             if lo / 1.3 <= t <= hi * 1.3]
    if len(ticks) > 9:
        ticks = [t for t in ticks if t not in (0.25, 0.75, 1.5, 3)]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _money_axis(ax, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))


def plot_rates_by_period(rates: pd.DataFrame, by: str | None = None, title: str = "Churn rate per period"):
    """Line chart of churn rate per period (one line per group); incomplete periods drawn hollow."""
    period = rates.attrs.get("period", "period")
    if not rates["complete"].all():
        title += f" (hollow: {period} not yet complete)"
    fig, ax = new_figure(title, period.capitalize(), f"Churn rate (% of customers at the start of the {period})")
    groups = [(None, rates)] if not by else list(rates.groupby(by, sort=True))
    for i, (g, f) in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        ax.plot(f["period"], f["churn_rate"], marker="o", color=color, label=str(g) if g is not None else "all")
        inc = f.loc[~f["complete"].astype(bool)]
        ax.plot(inc["period"], inc["churn_rate"], marker="o", ls="none", mfc="white", color=color)
    ax.set_ylim(0, None)
    _pct(ax)
    if by:
        ax.legend(title=by.replace("_", " "), ncol=2, fontsize=9)
    return fig


def plot_rate_bars(table: pd.DataFrame, title: str, group_label: str, overall: float | None = None):
    """Horizontal bars of ``churn_rate`` per group with the customer count at the start."""
    t = table.sort_values("churn_rate")
    fig, ax = new_figure(title, "Churn rate (% of customers at the start)", group_label,
                         figsize=(9, max(2.5, 0.42 * len(t) + 1.2)))
    ax.barh([str(i) for i in t.index], t["churn_rate"], color=PALETTE[0])
    for y, (rate, n) in enumerate(zip(t["churn_rate"], t["at_start"])):
        if np.isfinite(rate):
            ax.text(rate, y, f"  {rate:.1%} of {n:,}", va="center", fontsize=9)
    if overall is not None and np.isfinite(overall):
        ax.axvline(overall, color=PALETTE[1], ls="--", lw=1.2, label=f"all customers {overall:.1%}")
        ax.legend(loc="lower right", fontsize=9)
    _pct(ax, "x")
    top = float(t["churn_rate"].max())   # NaN when no group has customers at the start
    ax.set_xlim(0, max(top * 1.35 if np.isfinite(top) else 0.0, 0.01))
    return fig


def plot_cohort_heatmap(matrix: pd.DataFrame, title: str = "Retention by acquisition cohort"):
    """Heat map of the share of each cohort still a customer k periods after acquisition."""
    m = matrix.copy()
    m.index = [d.strftime("%Y-%m") for d in m.index]
    fig, ax = new_figure(title, str(matrix.columns.name).capitalize(), "Acquisition cohort (first month)",
                         figsize=(10, max(3.5, 0.4 * len(m) + 1.5)))
    sns.heatmap(m, annot=True, fmt=".0%", cmap="Blues", vmin=max(0.0, float(np.nanmin(m.to_numpy())) - 0.05),
                vmax=1, cbar_kws={"label": "Share still a customer"}, ax=ax, annot_kws={"fontsize": 8})
    label(ax, title, str(matrix.columns.name).capitalize(), "Acquisition cohort (first month)")
    return fig


def plot_retention_curves(matrix: pd.DataFrame, title: str = "Retention curves by acquisition cohort"):
    """One line per cohort: share still a customer against periods since acquisition."""
    fig, ax = new_figure(title, str(matrix.columns.name).capitalize(), "Share still a customer")
    colors = sns.color_palette("viridis", len(matrix))
    for (cohort, row), color in zip(matrix.iterrows(), colors):
        r = row.dropna()
        ax.plot(r.index, r.values, marker=".", color=color, label=cohort.strftime("%Y-%m"))
    _pct(ax)
    ax.legend(title="cohort", fontsize=8, ncol=2)
    return fig


def plot_km(km, title: str, xlabel: str | None = None):
    """Kaplan-Meier step curves with pointwise 95% bands, one per group."""
    unit = km.time_unit
    fig, ax = new_figure(title, xlabel or f"Time since acquisition ({unit})", "Share still a customer (survival)")
    for i, (g, c) in enumerate(km.curves.groupby("group", sort=False)):
        color = PALETTE[i % len(PALETTE)]
        ax.step(c["time"], c["survival"], where="post", color=color, label=str(g))
        ax.fill_between(c["time"], c["lower"], c["upper"], step="post", color=color, alpha=0.12)
    _pct(ax)
    if km.by:
        ax.legend(title=km.by.replace("_", " "), fontsize=9)
    return fig


def plot_forest(table: pd.DataFrame, estimate: str, title: str, xlabel: str, max_rows: int = 30):
    """Forest plot: point estimates with intervals (``lower``/``upper``) on a log axis, 1 marked."""
    t = table.head(max_rows).iloc[::-1]
    fig, ax = new_figure(title, xlabel, "Term", figsize=(9, max(3, 0.36 * len(t) + 1.4)))
    y = np.arange(len(t))
    ax.errorbar(t[estimate], y, xerr=[t[estimate] - t["lower"], t["upper"] - t[estimate]], fmt="o",
                color=PALETTE[0], ecolor=PALETTE[6], capsize=3)
    ax.axvline(1.0, color=PALETTE[1], ls="--", lw=1)
    ax.set_yticks(y, [str(i) for i in t.index])
    _ratio_axis(ax, np.concatenate([t["lower"].to_numpy(float), t["upper"].to_numpy(float), [1.0]]))
    return fig


def plot_roc_pr(y: np.ndarray, p: np.ndarray, title: str):
    """ROC and precision-recall curves side by side."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    fpr, tpr, _ = roc_curve(y, p)
    a1.plot(fpr, tpr, color=PALETTE[0])
    a1.plot([0, 1], [0, 1], color=PALETTE[6], ls="--", lw=1)
    label(a1, "ROC curve", "False positive rate (stayers flagged)", "True positive rate (churners caught)")
    prec, rec, _ = precision_recall_curve(y, p)
    a2.plot(rec, prec, color=PALETTE[0])
    a2.axhline(np.mean(y), color=PALETTE[6], ls="--", lw=1, label=f"base rate {np.mean(y):.1%}")
    a2.legend(fontsize=9)
    label(a2, "Precision-recall curve", "Recall (share of churners caught)", "Precision (share of flagged who churn)")
    fig.suptitle(title[:1].upper() + title[1:], fontweight="bold")
    return fig


def plot_calibration(table: pd.DataFrame, title: str = "Calibration: predicted vs observed churn"):
    """Observed churn rate against mean predicted probability per score group."""
    fig, ax = new_figure(title, "Mean predicted churn probability", "Observed churn rate")
    top = float(max(table["mean_predicted"].max(), table["observed_rate"].max())) * 1.05
    ax.plot([0, top], [0, top], color=PALETTE[6], ls="--", lw=1, label="perfect calibration")
    ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", color=PALETTE[0], label="score groups")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    _pct(ax)
    _pct(ax, "x")
    ax.legend(fontsize=9)
    return fig


def plot_gains(gains: pd.DataFrame, title: str = "Cumulative gains and lift by score decile"):
    """Cumulative share of churners captured, and lift per decile."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    x = np.concatenate([[0], gains["share_targeted"]])
    a1.plot(x, np.concatenate([[0], gains["share_of_churners_captured"]]), marker="o", color=PALETTE[0],
            label="model")
    a1.plot([0, 1], [0, 1], color=PALETTE[6], ls="--", lw=1, label="random")
    a1.legend(fontsize=9)
    _pct(a1)
    _pct(a1, "x")
    label(a1, "Cumulative gains", "Customers targeted (highest scores first)", "Share of churners captured")
    a2.bar(gains.index, gains["lift"], color=PALETTE[0])
    a2.axhline(1, color=PALETTE[6], ls="--", lw=1)
    a2.set_xticks(gains.index)
    label(a2, "Lift per decile", "Score decile (1 = highest risk)", "Churn rate / overall churn rate")
    fig.suptitle(title, fontweight="bold")
    return fig


def plot_importance(table: pd.DataFrame, column: str, title: str, xlabel: str, max_rows: int = 15):
    """Horizontal bars of a driver-importance column (largest on top)."""
    t = table.head(max_rows).iloc[::-1]
    fig, ax = new_figure(title, xlabel, "Driver", figsize=(9, max(3, 0.36 * len(t) + 1.4)))
    ax.barh([str(i) for i in t.index], t[column], color=PALETTE[0],
            xerr=t["sd"] if "sd" in t and t["sd"].notna().any() else None, ecolor=PALETTE[6])
    return fig


def plot_targeting(curve: pd.DataFrame, budget: int, currency: str,
                   title: str = "Value at risk reached by the number of customers contacted"):
    """Cumulative value at risk reached per targeting strategy, with the contact budget marked."""
    fig, ax = new_figure(title, "Customers contacted", f"Value at risk reached ({currency})")
    for i, c in enumerate(curve.columns):
        ax.plot(curve.index, curve[c], color=PALETTE[i], ls="--" if "random" in c else "-", label=c)
    ax.axvline(budget, color=PALETTE[6], ls=":", lw=1.2, label=f"budget: {budget:,} contacts")
    ax.legend(fontsize=9)
    _money_axis(ax)
    _money_axis(ax, "x")
    return fig


def plot_pareto(pareto: pd.DataFrame, title: str = "Why customers left: churn reasons (Pareto)"):
    """Bars of churned customers per reason with the cumulative share on a second axis."""
    fig, ax = new_figure(title, "Churn reason", "Churned customers")
    names = [str(i).replace("_", " ") for i in pareto.index]
    ax.bar(names, pareto["churned_customers"], color=PALETTE[0])
    ax2 = ax.twinx()
    ax2.plot(names, pareto["cumulative_share"], color=PALETTE[1], marker="o")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("Cumulative share of churned customers")
    ax2.grid(False)
    _pct(ax2)
    return fig


def plot_reasons_by(table: pd.DataFrame, title: str, group_label: str):
    """Stacked horizontal bars: share of each churn reason within each group."""
    table = table.iloc[::-1]  # largest group on top
    shares = table.drop(columns=["churned_customers"])
    fig, ax = new_figure(title, "Share of the group's churned customers", group_label,
                         figsize=(10, max(3, 0.42 * len(shares) + 1.5)))
    left = np.zeros(len(shares))
    ylabels = [f"{i} (n={n:,})" for i, n in zip(shares.index, table["churned_customers"])]
    for i, c in enumerate(shares.columns):
        ax.barh(ylabels, shares[c], left=left, color=PALETTE[i % len(PALETTE)], label=str(c).replace("_", " "))
        left += shares[c].fillna(0).to_numpy()
    ax.set_xlim(0, 1)
    _pct(ax, "x")
    ax.legend(title="reason", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9)
    return fig


def plot_satisfaction_trajectory(traj: pd.DataFrame, title: str = "Satisfaction of churned customers before they left"):
    """Mean overall satisfaction by time before leaving, against customers who stayed."""
    fig, ax = new_figure(title, "Days before leaving (start of bin)", "Mean overall satisfaction (1-5)")
    ax.plot(traj.index, traj["mean_satisfaction"], marker="o", color=PALETTE[1], label="customers who left")
    ax.axhline(traj["stayers_mean"].iloc[0], color=PALETTE[0], ls="--", label="customers who stayed (all responses)")
    ax.invert_xaxis()
    ax.legend(fontsize=9)
    return fig
