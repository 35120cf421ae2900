"""Data-quality summaries of a loaded dataset: sizes, date ranges, missingness, distributions."""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.data import Dataset
from toolkit.plotting import label, new_figure

DATE_COLUMNS = {"transactions": "date", "customers": "acquisition_date", "marketing_spend": "period",
                "surveys": "response_date", "interactions": "date", "market": "period"}


def table_overview(ds: Dataset) -> pd.DataFrame:
    """One row per table: rows, columns, distinct customers, first and last date."""
    rows = []
    for name, df in ds.tables.items():
        dcol = DATE_COLUMNS.get(name)
        dates = df[dcol] if dcol in df.columns else pd.Series(dtype="datetime64[ns]")
        rows.append({
            "table": name,
            "rows": len(df),
            "columns": df.shape[1],
            "customers": df["customer_id"].nunique() if "customer_id" in df.columns else np.nan,
            "first date": dates.min().date() if dates.notna().any() else None,
            "last date": dates.max().date() if dates.notna().any() else None,
        })
    return pd.DataFrame(rows).set_index("table")


def missingness(ds: Dataset) -> pd.DataFrame:
    """Share of missing values per table and column (columns with any missing value)."""
    rows = []
    for name, df in ds.tables.items():
        for col in df.columns:
            n = int(df[col].isna().sum())
            if n:
                rows.append({"table": name, "column": col, "missing": n, "share missing": n / len(df)})
    return pd.DataFrame(rows, columns=["table", "column", "missing", "share missing"])


def rule_summary(ds: Dataset) -> pd.DataFrame:
    """The load report: rows dropped, repaired, flagged or kept per rule (info lines left out)."""
    rep = ds.report.to_frame()
    rep = rep.loc[rep["action"] != "info"]
    return rep[["table", "rule", "action", "rows", "column", "detail", "examples", "lines"]].reset_index(drop=True)


def notes(ds: Dataset) -> list[str]:
    """The informational lines of the load report (derived columns, columns absent from the source)."""
    rep = ds.report.to_frame()
    return [f"{r.table}.{r.column}: {r.detail}" for r in rep.itertuples() if r.action == "info"]


def monthly_activity(ds: Dataset) -> pd.DataFrame:
    """Transactions: orders, active customers and net revenue per month."""
    tx = ds.transactions
    m = tx["date"].dt.to_period("M").dt.to_timestamp()
    out = tx.groupby(m).agg(orders=("order_id", "nunique"), customers=("customer_id", "nunique"),
                            revenue=("amount", "sum"))
    out.index.name = "month"
    return out


def categorical_profile(ds: Dataset, table: str = "customers", max_levels: int = 12) -> dict[str, pd.Series]:
    """Counts of each low-cardinality text column of a table."""
    df = getattr(ds, table)
    out = {}
    for col in df.columns:
        if col == "customer_id" or pd.api.types.is_numeric_dtype(df[col]) or \
                pd.api.types.is_datetime64_any_dtype(df[col]):
            continue
        vc = df[col].astype("string").fillna("(missing)").value_counts()
        if 1 < len(vc) <= max_levels:
            out[col] = vc
    return out


def plot_monthly(activity: pd.DataFrame, currency: str = ""):
    fig, ax = new_figure("Net revenue and active customers per month", "Month",
                         f"Net revenue{f' ({currency})' if currency else ''}")
    ax.bar(activity.index, activity["revenue"], width=20, color="#1f4e79", alpha=0.8, label="net revenue")
    ax2 = ax.twinx()
    ax2.plot(activity.index, activity["customers"], color="#c0504d", marker="o", ms=3, label="active customers")
    ax2.set_ylabel("Active customers")
    ax2.grid(False)
    fig.legend(loc="upper left", bbox_to_anchor=(0.08, 0.92))
    return fig


def plot_amounts(ds: Dataset, currency: str = ""):
    """Distribution of positive row amounts on a log scale."""
    amt = ds.transactions["amount"]
    pos = amt[amt > 0]
    fig, ax = new_figure("Distribution of transaction amounts (positive rows, log scale)",
                         f"Amount per row{f' ({currency})' if currency else ''}", "Rows")
    bins = np.logspace(np.log10(max(pos.min(), 0.01)), np.log10(pos.max()), 60)
    ax.hist(pos, bins=bins, color="#1f4e79")
    ax.set_xscale("log")
    return fig


def plot_counts(counts: pd.Series, title: str, xlabel: str):
    fig, ax = new_figure(title, xlabel, "Customers", figsize=(7, 3.6))
    counts.sort_values().plot.barh(ax=ax, color="#1f4e79")
    label(ax, title, "Customers", xlabel)
    return fig
