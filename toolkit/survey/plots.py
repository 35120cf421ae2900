"""Survey figures in the toolkit's one style: diverging Likert bars, intervals by group, IPA matrix."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from matplotlib.ticker import FuncFormatter

from toolkit.plotting import label, new_figure


def plot_diverging(dist: pd.DataFrame, scale: tuple[int, int], title: str, item_labels: dict[str, str] | None = None):
    """Diverging stacked bars: disagreeing answers left of zero, agreeing right, a neutral midpoint split."""
    points = list(range(int(scale[0]), int(scale[1]) + 1))
    shares = dist[points].fillna(0.0).to_numpy() * 100
    mid = (points[0] + points[-1]) / 2
    colours = plt.get_cmap("RdBu")(np.linspace(0.1, 0.9, len(points)))
    height = max(3.0, 0.38 * len(dist) + 1.6)
    fig, ax = new_figure(title, "Share of answers (%) — left of 0: below the scale midpoint, right: above",
                         "Item", figsize=(10, height))
    y = np.arange(len(dist))
    below = np.array([p < mid for p in points])
    neutral = np.array([p == mid for p in points])
    left = -(shares[:, below].sum(axis=1) + shares[:, neutral].sum(axis=1) / 2)
    for j, p in enumerate(points):
        ax.barh(y, shares[:, j], left=left, color=colours[j], edgecolor="white", linewidth=0.5, label=str(p))
        left = left + shares[:, j]
    ax.axvline(0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(v):.0f}"))
    names = [(item_labels or {}).get(i, i) for i in dist.index]
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.legend(title="Answer", ncol=min(len(points), 10), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              fontsize=8, frameon=False)
    return fig, ax


def plot_intervals(table: pd.DataFrame, value: str, title: str, xlabel: str, overall: float | None = None,
                   scale: float = 1.0):
    """Point estimate and interval per group (rows of ``table``), significant groups highlighted."""
    t = table.sort_values(value)
    fig, ax = new_figure(title, xlabel, str(t.index.name or "group").capitalize(),
                         figsize=(9, max(3.0, 0.45 * len(t) + 1.5)))
    y = np.arange(len(t))
    v, lo, hi = t[value] * scale, t["ci_low"] * scale, t["ci_high"] * scale
    sig = t.get("significant", pd.Series(False, index=t.index)).fillna(False).astype(bool).to_numpy()
    ax.errorbar(v, y, xerr=[v - lo, hi - v], fmt="none", ecolor="#7f7f7f", capsize=3)
    ax.scatter(v[~sig], y[~sig], color="#1f4e79", zorder=3, label="not different from the rest")
    ax.scatter(v[sig], y[sig], color="#c0504d", zorder=3, label="differs from the rest (adjusted)")
    if overall is not None:
        ax.axvline(overall * scale, color="black", linestyle="--", linewidth=0.8, label="all respondents")
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.legend(fontsize=8, loc="best")
    return fig, ax


def plot_drivers(kd: pd.DataFrame, title: str):
    """Relative importance (share of R^2) per driver, with the standardised coefficient annotated."""
    t = kd.sort_values("importance")
    fig, ax = new_figure(title, "Share of explained variance (R²) — relative importance (%)", "Driver",
                         figsize=(9, max(3.0, 0.5 * len(t) + 1.5)))
    ax.barh(t["label"], t["importance"] * 100, color="#1f4e79")
    for i, (imp, b) in enumerate(zip(t["importance"] * 100, t["beta"])):
        ax.annotate(f"β = {b:.2f}", (imp, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    return fig, ax


def plot_ipa(ipa: pd.DataFrame, title: str):
    """Importance x performance matrix with quadrant lines at the drivers' means."""
    fig, ax = new_figure(title, "Performance: mean score rescaled to 0-100", "Importance: share of R² (%)")
    ax.scatter(ipa["performance"], ipa["importance"] * 100, s=60, color="#1f4e79", zorder=3)
    ax.margins(x=0.25, y=0.2)
    for _, r in ipa.iterrows():
        ax.annotate(str(r["label"]), (r["performance"], r["importance"] * 100), xytext=(5, 4),
                    textcoords="offset points", fontsize=9)
    ic, pc = ipa.attrs.get("importance_cut", ipa["importance"].mean()), ipa.attrs.get(
        "performance_cut", ipa["performance"].mean())
    ax.axhline(ic * 100, color="#7f7f7f", linestyle="--", linewidth=0.8)
    ax.axvline(pc, color="#7f7f7f", linestyle="--", linewidth=0.8)
    xl, yl = ax.get_xlim(), ax.get_ylim()
    for (x, y, text, ha, va) in ((xl[0], yl[1], "Concentrate here", "left", "top"),
                                 (xl[1], yl[1], "Keep up the good work", "right", "top"),
                                 (xl[0], yl[0], "Low priority", "left", "bottom"),
                                 (xl[1], yl[0], "Possible overkill", "right", "bottom")):
        ax.text(x, y, text, ha=ha, va=va, fontsize=9, color="#7f7f7f")
    label(ax, title, "Performance: mean score rescaled to 0-100", "Importance: share of R² (%)")
    return fig, ax
