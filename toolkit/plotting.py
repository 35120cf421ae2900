"""The one plotting style of the toolkit: every figure titled, axes labelled, readable at 1280 px."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

PALETTE = ["#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f", "#2c7a7b"]
FIGSIZE = (9, 4.8)


def apply_style() -> None:
    """Set the toolkit's seaborn/matplotlib style (call once per notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update({
        "figure.figsize": FIGSIZE,
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
        "axes.labelsize": 11,
        "figure.autolayout": True,
    })


def label(ax, title: str, xlabel: str, ylabel: str):
    """Title and label an axis in one call; returns the axis."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def new_figure(title: str, xlabel: str, ylabel: str, figsize: tuple[float, float] | None = None):
    """A single-axis figure, already titled and labelled."""
    fig, ax = plt.subplots(figsize=figsize or FIGSIZE)
    label(ax, title, xlabel, ylabel)
    return fig, ax
