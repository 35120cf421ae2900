"""Figures of the segmentation report, in the toolkit's one style (titled, axes labelled)."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.ticker import StrMethodFormatter
import seaborn as sns

from toolkit.plotting import FIGSIZE, PALETTE, label, new_figure
from toolkit.plotting import plot_lorenz as lorenz_figure


def _cur(currency: str) -> str:
    return f" ({currency})" if currency else ""


def plot_segment_sizes(summary: pd.DataFrame, title: str = "RFM segments: share of customers and of revenue"):
    """Horizontal bars: customer share and revenue share per named segment."""
    s = summary.iloc[::-1]
    fig, ax = new_figure(title, "Share (%)", "RFM segment", figsize=(9, 0.35 * len(s) + 1.8))
    y = np.arange(len(s))
    ax.barh(y + 0.2, 100 * s["customer_share"], height=0.4, color=PALETTE[0], label="customers")
    ax.barh(y - 0.2, 100 * s["revenue_share"].clip(lower=0), height=0.4, color=PALETTE[1], label="net revenue")
    ax.set_yticks(y, s.index.astype(str))
    ax.legend(loc="best")
    return fig


def plot_rfm_grid(scores: pd.DataFrame):
    """Heatmap of customers by recency score (rows) and frequency-monetary score (columns)."""
    ct = pd.crosstab(scores["R"], scores["FM"]).sort_index(ascending=False)
    fig, ax = new_figure("Customers by recency score and frequency-monetary score",
                         "Frequency-monetary score (FM, 5 = best)", "Recency score (R, 5 = most recent)",
                         figsize=(7, 4.8))
    im = ax.imshow(ct.to_numpy(), cmap="Blues", aspect="auto")
    ax.set_xticks(range(ct.shape[1]), ct.columns.astype(str))
    ax.set_yticks(range(ct.shape[0]), ct.index.astype(str))
    ax.grid(False)
    vmax = ct.to_numpy().max()
    for i in range(ct.shape[0]):
        for j in range(ct.shape[1]):
            v = ct.iat[i, j]
            ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=9, color="white" if v > vmax / 2 else "black")
    fig.colorbar(im, ax=ax, label="Customers")
    return fig


def plot_tiers(summary: pd.DataFrame, basis: str = "net revenue"):
    """Grouped bars per value tier: share of customers and share of value."""
    fig, ax = new_figure(f"Value tiers: share of customers and of {basis}", "Value tier", "Share (%)",
                         figsize=(7, 4.2))
    x = np.arange(len(summary))
    ax.bar(x - 0.2, 100 * summary["customer_share"], width=0.4, color=PALETTE[0], label="customers")
    ax.bar(x + 0.2, 100 * summary["value_share"], width=0.4, color=PALETTE[1], label=basis)
    ax.set_xticks(x, summary.index.astype(str))
    ax.legend()
    return fig


def plot_stages(summary: pd.DataFrame):
    """Customers per lifecycle stage."""
    fig, ax = new_figure("Customers by lifecycle stage", "Lifecycle stage", "Customers", figsize=(7, 4))
    ax.bar(summary.index.astype(str), summary["customers"], color=PALETTE[0])
    return fig


def plot_selection(selection: pd.DataFrame, k_silhouette: int, k_bic: int):
    """Evidence for the number of clusters: silhouette (KMeans) and BIC (Gaussian mixture) per k."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    a, b = axes
    a.plot(selection.index, selection["silhouette"], marker="o", color=PALETTE[0])
    a.axvline(k_silhouette, color=PALETTE[1], ls="--", label=f"best k = {k_silhouette}")
    label(a, "KMeans: silhouette score by k", "Number of clusters k", "Mean silhouette (higher is better)")
    a.legend()
    b.plot(selection.index, selection["bic"], marker="o", color=PALETTE[0])
    b.axvline(k_bic, color=PALETTE[1], ls="--", label=f"lowest BIC at k = {k_bic}")
    label(b, "Gaussian mixture: BIC by k", "Number of components k", "BIC (lower is better)")
    b.legend()
    for ax in axes:
        ax.set_xticks(selection.index)
    fig.suptitle("Choosing the number of clusters", fontweight="bold")
    return fig


def plot_stability(ari: np.ndarray):
    """Histogram of the bootstrap adjusted Rand indices."""
    fig, ax = new_figure("Cluster stability: bootstrap refits against the final clusters",
                         "Adjusted Rand index (1 = identical clustering)", "Bootstrap samples", figsize=(7, 3.8))
    lo = float(np.floor(20 * (np.min(ari) - 0.05)) / 20) if len(ari) else 0.0
    ax.hist(ari, bins=np.linspace(min(lo, 0.9), 1, 21), color=PALETTE[0])
    return fig


def plot_clusters(X: np.ndarray, labels: np.ndarray, names: Sequence[str], feature_names: Sequence[str]):
    """Customers in the clustering space: the first two features, or the first two principal components."""
    from sklearn.decomposition import PCA

    if X.shape[1] > 2:
        pca = PCA(n_components=2, random_state=0).fit(X)
        Z = pca.transform(X)
        ev = pca.explained_variance_ratio_
        xl, yl = f"Principal component 1 ({ev[0]:.0%} of variance)", f"Principal component 2 ({ev[1]:.0%} of variance)"
    elif X.shape[1] == 2:
        Z = X
        xl, yl = (f"{feature_names[0]} (scaled)", f"{feature_names[1]} (scaled)")
    else:
        Z = np.column_stack([X[:, 0], np.zeros(len(X))])
        xl, yl = f"{feature_names[0]} (scaled)", "-"
    fig, ax = new_figure("Customers in the clustering space, coloured by persona", xl, yl, figsize=(9, 5.5))
    cmap = colormaps["tab10"]
    for k, name in enumerate(names):
        m = labels == k
        ax.scatter(Z[m, 0], Z[m, 1], s=6, alpha=0.5, color=cmap(k % 10), label=f"{k}: {name}")
    ax.legend(loc="best", fontsize=8, markerscale=3)
    return fig


def plot_persona_value(table: pd.DataFrame):
    """Customer share against revenue share per persona."""
    t = table.iloc[::-1]
    fig, ax = new_figure("Personas: share of customers and of net revenue", "Share (%)", "Persona",
                         figsize=(9, 0.45 * len(t) + 1.8))
    y = np.arange(len(t))
    ax.barh(y + 0.2, 100 * t["customer_share"], height=0.4, color=PALETTE[0], label="customers")
    ax.barh(y - 0.2, 100 * t["revenue_share"], height=0.4, color=PALETTE[1], label="net revenue")
    ax.set_yticks(y, [f"{i}: {n}" for i, n in zip(t.index, t["persona"])])
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def plot_region_mix(wide: pd.DataFrame, what: str = "customers", scheme: str = "segment"):
    """Stacked horizontal bars: composition of each region (rows of ``wide`` sum to 1)."""
    fig, ax = new_figure(f"Share of each region's {what} by {scheme}", f"Share of the region's {what} (%)", "Region",
                         figsize=(10, 0.4 * len(wide) + 2.2))
    left = np.zeros(len(wide))
    cmap = colormaps["tab20"] if wide.shape[1] > 10 else colormaps["tab10"]
    for j, col in enumerate(wide.columns):
        vals = 100 * wide[col].to_numpy()
        ax.barh(wide.index.astype(str), vals, left=left, color=cmap(j % cmap.N), label=str(col))
        left += vals
    ax.set_xlim(0, 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return fig


def plot_spend_by_region(frame: pd.DataFrame, value: str = "monetary", currency: str = ""):
    """Box plots of net revenue per customer by region (log scale, positive values)."""
    df = frame.loc[frame[value] > 0]
    order = df.groupby("region")[value].median().sort_values(ascending=False).index
    fig, ax = new_figure("Net revenue per customer by region (boxes: quartiles, whiskers: 5th-95th percentile)",
                         "Region", f"Net revenue per customer{_cur(currency)}, log scale", figsize=(10, 4.8))
    ax.boxplot([df.loc[df["region"] == r, value].to_numpy() for r in order], whis=(5, 95), showfliers=False)
    ax.set_xticks(range(1, len(order) + 1), [str(r) for r in order], rotation=30, ha="right")
    ax.set_yscale("log")
    return fig


def plot_deciles(table: pd.DataFrame):
    """Revenue share per customer decile (1 = top 10% of customers)."""
    fig, ax = new_figure("Share of net revenue by customer decile", "Customer decile (1 = top 10% by revenue)",
                         "Share of net revenue (%)", figsize=(8, 4))
    ax.bar(table.index.astype(str), 100 * table["revenue_share"], color=PALETTE[0])
    return fig


def plot_lorenz(curve: pd.DataFrame, gini_value: float):
    """Lorenz curve of revenue per customer with the line of equality."""
    return lorenz_figure(curve, gini_value, "revenue", "revenue_share", "net revenue", "revenue")


def plot_cohorts(table: pd.DataFrame, currency: str = ""):
    """The C3 chart: stacked area of net revenue per period, layered by acquisition cohort."""
    fig, ax = new_figure("Net revenue by acquisition cohort over time (C3 chart)", "Period",
                         f"Net revenue{_cur(currency)}", figsize=(10, 5))
    x = table.index.to_timestamp() if isinstance(table.index, pd.PeriodIndex) else table.index
    cmap = colormaps["viridis"]
    n = table.shape[1]
    colors = [cmap(i / max(n - 1, 1)) for i in range(n)]
    ax.stackplot(x, table.clip(lower=0).to_numpy().T, labels=[str(c) for c in table.columns], colors=colors,
                 alpha=0.9)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.legend(title="Acquired in", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              ncol=1 if n <= 16 else 2)
    return fig


def plot_demographic(profile: pd.DataFrame, name: str):
    """Customer share and revenue share per demographic band."""
    fig, ax = new_figure(f"Customers and net revenue by {name}", name.capitalize(), "Share (%)",
                         figsize=FIGSIZE if len(profile) > 4 else (7, 4))
    x = np.arange(len(profile))
    ax.bar(x - 0.2, 100 * profile["customer_share"], width=0.4, color=PALETTE[0], label="customers")
    ax.bar(x + 0.2, 100 * profile["revenue_share"], width=0.4, color=PALETTE[1], label="net revenue")
    ax.set_xticks(x, profile.index.astype(str), rotation=20 if len(profile) > 5 else 0)
    ax.legend()
    return fig


def plot_migration(counts: pd.DataFrame, d0: str, d1: str):
    """Heat map of a migration matrix as row shares (rows: segment at ``d0``, with customer counts)."""
    shares = counts.div(counts.sum(axis=1), axis=0)
    annot = shares.map(lambda v: f"{v:.0%}" if v >= 0.005 else ("<1%" if v > 0 else ""))
    rows = [f"{i} ({n:,})" for i, n in counts.sum(axis=1).items()]
    title = f"Segment migration {d0} to {d1}: where each segment's customers went"
    fig, ax = new_figure(title, f"RFM segment on {d1}", f"RFM segment on {d0} (customers)",
                         figsize=(11, 0.45 * len(shares) + 2.8))
    sns.heatmap(shares.set_axis(rows), annot=annot.to_numpy(), fmt="", cmap="Blues", vmin=0, vmax=1, ax=ax,
                cbar_kws={"label": "Share of the row segment's customers"}, annot_kws={"fontsize": 8})
    label(ax, title, f"RFM segment on {d1}", f"RFM segment on {d0} (customers)")
    ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right", rotation_mode="anchor")
    return fig
