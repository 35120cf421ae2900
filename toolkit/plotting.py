"""The one plotting style of the toolkit: every figure titled, axes labelled, readable at 1280 px."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

PALETTE = ["#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6", "#7f7f7f", "#2c7a7b"]
FIGSIZE = (9, 4.8)


def apply_style() -> None:
    """Set the toolkit's seaborn/matplotlib style (call once per notebook); figures show inline."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
            shell.run_line_magic("matplotlib", "inline")
    except ImportError:  # pragma: no cover - IPython is a dependency
        pass
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


def plot_lorenz(curve, gini_value: float, what: str, value_col: str, axis_label: str, lowest: str):
    """Lorenz curve (from :func:`toolkit.concentration.lorenz_curve`) with the line of equality.

    ``what`` names the value in the title and legend, ``axis_label`` the y axis, ``lowest`` the
    ordering word on the x axis ("value", "revenue").
    """
    fig, ax = new_figure(f"Concentration of {what}: Lorenz curve (Gini {gini_value:.2f})",
                         f"Cumulative share of customers, lowest {lowest} first (%)",
                         f"Cumulative share of {axis_label} (%)", figsize=(6.5, 5.5))
    x, y = 100 * curve["customer_share"], 100 * curve[value_col]
    ax.plot(x, y, color=PALETTE[0], label="Lorenz curve")
    ax.plot([0, 100], [0, 100], color=PALETTE[6], ls="--", label=f"equal {lowest} per customer")
    ax.fill_between(x, y, x, color=PALETTE[0], alpha=0.1)
    ax.legend(loc="upper left")
    return fig
