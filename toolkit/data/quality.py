"""Data-quality summaries of a loaded dataset: sizes, date ranges, missingness, distributions.

Figures about the transactions are aggregated by the dataset's engine from
:attr:`~toolkit.data.Dataset.transaction_log` (see :mod:`toolkit.engine`), so none of these
functions reads the transaction rows into pandas.
"""
from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.data import Dataset
from toolkit.engine import (activity_by_month, collect, histogram, log_columns, median, null_counts, period_index,
                            quantiles, transaction_log, transaction_totals)
from toolkit.plotting import label, new_figure

DATE_COLUMNS = {"transactions": "date", "customers": "acquisition_date", "marketing_spend": "period",
                "surveys": "response_date", "interactions": "date", "market": "period", "partners": "period",
                "suppliers": "period"}


def _transactions_overview(ds: Dataset) -> dict:
    lf = transaction_log(ds)
    tot = transaction_totals(lf)
    first, last = tot["first_date"], tot["last_date"]
    return {"table": "transactions", "rows": tot["rows"], "columns": len(log_columns(lf)),
            "customers": tot["customers"], "first date": first.date() if pd.notna(first) else None,
            "last date": last.date() if pd.notna(last) else None}


def table_overview(ds: Dataset) -> pd.DataFrame:
    """One row per table: rows, columns, distinct customers, first and last date."""
    rows = []
    for name in ds.table_names:
        if name == "transactions":
            rows.append(_transactions_overview(ds))
            continue
        df = getattr(ds, name)
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
    for name in ds.table_names:
        if name == "transactions":
            counts = collect(null_counts(transaction_log(ds))).iloc[0]
            missing = {c: int(counts[c]) for c in counts.index if c != "rows"}
            n_rows = int(counts["rows"])
        else:
            df = getattr(ds, name)
            missing, n_rows = {c: int(df[c].isna().sum()) for c in df.columns}, len(df)
        for col, n in missing.items():
            if n:
                rows.append({"table": name, "column": col, "missing": n, "share missing": n / n_rows})
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
    agg = collect(activity_by_month(transaction_log(ds)), sort=["month"])
    month = period_index(agg["month"], "M").to_timestamp()
    return pd.DataFrame({"orders": agg["orders"].to_numpy(np.int64), "customers": agg["customers"].to_numpy(np.int64),
                         "revenue": agg["revenue"].to_numpy(np.float64)},
                        index=pd.DatetimeIndex(month.to_numpy(), name="month"))


def amount_summary(ds: Dataset) -> dict[str, float]:
    """Row amounts of the transactions: ``median`` and 99th percentile ``p99`` (as pandas computes
    them, exactly), ``negative_rows`` (returns) and their total ``negative_value``."""
    lf = transaction_log(ds)
    tot = transaction_totals(lf)
    return {"median": median(lf), "p99": quantiles(lf, [0.99])[0], "negative_rows": tot["negative_rows"],
            "negative_value": tot["negative_value"]}


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
    """Distribution of positive row amounts on a log scale (the histogram is counted by the engine)."""
    pos = transaction_log(ds).filter(nw.col("amount") > 0)
    lo, hi = collect(pos.select(nw.col("amount").min().alias("lo"), nw.col("amount").max().alias("hi"))).iloc[0]
    fig, ax = new_figure("Distribution of transaction amounts (positive rows, log scale)",
                         f"Amount per row{f' ({currency})' if currency else ''}", "Rows")
    bins = np.logspace(np.log10(max(lo, 0.01)), np.log10(hi), 60)
    ax.hist(bins[:-1], bins=bins, weights=histogram(pos, bins), color="#1f4e79")
    ax.set_xscale("log")
    return fig


def plot_counts(counts: pd.Series, title: str, xlabel: str):
    fig, ax = new_figure(title, xlabel, "Customers", figsize=(7, 3.6))
    counts.sort_values().plot.barh(ax=ax, color="#1f4e79")
    label(ax, title, "Customers", xlabel)
    return fig
