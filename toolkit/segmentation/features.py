"""The one per-customer summary every segmentation view is built from.

:func:`customer_features` computes recency, frequency and monetary value (and a few companions)
once, vectorised, from the transactions up to and including the as-of date; nothing dated after
it is used. Definitions (``as_of`` is a calendar day; amounts are net revenue, returns negative):

* ``frequency`` — distinct orders with a positive amount (purchase occasions); 0 for customers
  who never bought (``potential``).
* ``recency_days`` — whole days from the last purchase to the as-of date.
* ``monetary`` — net revenue to date (purchases minus returns).
* ``avg_order_value`` — gross purchase revenue per order (returns excluded).
* ``tenure_days`` — days from the first purchase to the as-of date.
* ``mean_gap_days`` — mean days between orders for repeat buyers, ``(last - first) / (frequency - 1)``.
* ``revenue_12m`` — net revenue of the 365 days up to the as-of date.
* ``purchase_rate`` (orders per year of tenure, at least 90 days), ``lines_per_order``,
  ``n_categories`` and ``return_share`` (returns / gross revenue) — further clustering candidates.
* ``last_activity`` — the last day with any transaction, purchases or returns (customers whose
  only rows in the period are returns have a last activity but no purchase) and
  ``days_since_activity`` counted from it.

Customer attributes (region, customer type, demographics, explicit churn) are joined from the
customers table when there is one; customers acquired after the as-of date are left out.

The transactions are a pandas frame or a LazyFrame (e.g. a dataset's ``transaction_log``); every
aggregation of them runs on an engine either way (:mod:`toolkit.engine`).
"""
from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

CUSTOMER_ATTRIBUTES = ("region", "customer_type", "acquisition_date", "acquisition_channel", "age", "gender",
                       "income", "occupation", "segment", "churn_date")
ZERO_FILL = ("frequency", "gross_revenue", "monetary", "revenue_12m", "returns_value", "n_lines")
MIN_RATE_DAYS = 90  # purchase rate of customers younger than this is measured over this many days


def _day(as_of) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize()


def _aggregate(tx: Any, as_of: pd.Timestamp, engine: str | None) -> pd.DataFrame:
    """Per-customer sums and dates of rows on or before ``as_of``, by the engine
    (:func:`toolkit.engine.segmentation_features`)."""
    from toolkit.engine import as_day, as_log, collect, day_to_date, has_values, log_columns, segmentation_features

    lf = as_log(tx, engine)
    if "order_id" not in log_columns(lf):
        raise KeyError("transactions lack columns ['order_id']")
    has_category = has_values(lf, "category")
    lf = as_log(lf, engine, columns=("order_id", "category") if has_category else ("order_id",))
    out = collect(segmentation_features(lf, as_day(as_of), has_category), sort=["customer_id"])
    out = out.set_index("customer_id")
    for c in ("first_purchase", "last_purchase", "last_activity"):
        out[c] = day_to_date(out.pop(f"{c}_d"))
    if has_category:
        out["n_categories"] = out["n_categories"].where(out["n_lines"] > 0)
    else:
        out["n_categories"] = np.nan
    for c in ("gross_revenue", "monetary", "revenue_12m", "returns_value"):
        out[c] = out[c].round(6)  # sums of purchases and returns that cancel leave float noise like 1e-14
    out["frequency"] = out["frequency"].astype("int64")
    return out[["first_purchase", "last_purchase", "frequency", "gross_revenue", "n_lines", "monetary",
                "last_activity", "revenue_12m", "returns_value", "n_categories"]]


def _without_outliers(transactions: Any, engine: str | None = None) -> Any:
    """The rows the loader did not flag in ``is_outlier`` (all rows without that column), as a
    LazyFrame on ``engine``."""
    from toolkit.engine import as_log, log_columns

    lf = as_log(transactions, engine)
    flagged = nw.col("is_outlier").fill_null(False).cast(nw.Boolean)
    return lf.filter(~flagged) if "is_outlier" in log_columns(lf) else lf


def _last_date(transactions: Any, engine: str | None = None) -> pd.Timestamp:
    from toolkit.engine import as_log, collect, date_bounds

    return pd.Timestamp(collect(date_bounds(as_log(transactions, engine)))["last"].iloc[0])


def customer_features(transactions: Any, customers: pd.DataFrame | None = None, as_of=None, *,
                      exclude_outliers: bool = False, engine: str | None = None) -> pd.DataFrame:
    """One row per customer (index ``customer_id``): RFM and companion features at ``as_of``.

    ``transactions`` is a pandas frame or a LazyFrame (anything :func:`toolkit.engine.as_log`
    accepts). ``as_of`` defaults to the last transaction day. With ``exclude_outliers`` rows the
    loader flagged in ``is_outlier`` are left out. The per-customer aggregation runs on ``engine``
    (see :mod:`toolkit.engine`; a LazyFrame stays on its own engine by default).
    """
    as_of = _day(as_of if as_of is not None else _last_date(transactions, engine))
    tx = _without_outliers(transactions, engine) if exclude_outliers else transactions
    out = _aggregate(tx, as_of, engine)
    out["recency_days"] = (as_of - out["last_purchase"]).dt.days.astype("float64")
    out["tenure_days"] = (as_of - out["first_purchase"]).dt.days.astype("float64")
    out["days_since_activity"] = (as_of - out["last_activity"]).dt.days.astype("float64")
    span = (out["last_purchase"] - out["first_purchase"]).dt.days
    out["mean_gap_days"] = (span / (out["frequency"] - 1)).where(out["frequency"] > 1)
    out["avg_order_value"] = (out["gross_revenue"] / out["frequency"]).where(out["frequency"] > 0)
    out["lines_per_order"] = (out["n_lines"] / out["frequency"]).where(out["frequency"] > 0)
    out["purchase_rate"] = (out["frequency"] / np.maximum(out["tenure_days"], MIN_RATE_DAYS) * 365.25).where(
        out["frequency"] > 0)
    out["return_share"] = (out["returns_value"] / out["gross_revenue"]).where(out["gross_revenue"] > 0)

    if customers is not None:
        cu = customers.drop_duplicates("customer_id").set_index("customer_id")
        if "acquisition_date" in cu.columns:
            cu = cu.loc[~(cu["acquisition_date"] >= as_of + pd.Timedelta(days=1))]
        attrs = [c for c in CUSTOMER_ATTRIBUTES if c in cu.columns]
        out = cu[attrs].join(out, how="outer")
        out.index.name = "customer_id"
        for c in ZERO_FILL:
            out[c] = out[c].fillna(0)
        out["frequency"] = out["frequency"].astype("int64")
        if "churn_date" in out.columns:
            out["churned"] = out["churn_date"].notna() & (out["churn_date"] <= as_of)
            out.loc[out["churn_date"] > as_of, "churn_date"] = pd.NaT
        elif "churned" in cu.columns:  # a flag without a date cannot be placed in time: taken as is
            out["churned"] = cu["churned"].reindex(out.index).fillna(False).astype(bool)
    if "churned" not in out.columns:
        out["churned"] = False
    if "region" not in out.columns:
        out["region"] = "unknown"
    out["region"] = out["region"].fillna("unknown").astype(str)
    if "customer_type" in out.columns:
        out["customer_type"] = out["customer_type"].astype(object).where(out["customer_type"].notna(), "unknown")
    else:
        out["customer_type"] = "unknown"
    out["is_buyer"] = out["frequency"] > 0
    return out.sort_index()


def category_revenue(transactions: Any, as_of=None, column: str = "category", *,
                     engine: str | None = None) -> pd.DataFrame:
    """Gross purchase revenue per customer and category (customers x categories); empty without categories.

    ``transactions`` is a pandas frame (ids and categories then keep its types) or a LazyFrame;
    the engine computes the sums."""
    from toolkit.engine import as_day, as_log, category_amounts, collect, has_values

    lf = as_log(transactions, engine)
    if not has_values(lf, column):
        return pd.DataFrame()
    tx = collect(category_amounts(lf, as_day(as_of) if as_of is not None else None, column))
    keys = ["customer_id", column]
    tx = tx.astype(transactions.dtypes[keys].to_dict() if isinstance(transactions, pd.DataFrame)
                   else dict.fromkeys(keys, object))
    return tx.pivot_table(index="customer_id", columns=column, values="amount", aggfunc="sum",
                          fill_value=0.0, observed=True)


def features_from_dataset(ds, as_of=None, **kwargs) -> pd.DataFrame:
    """:func:`customer_features` for a loaded :class:`~toolkit.data.Dataset` (``as_of`` defaults to ``ds.as_of``)."""
    from toolkit.engine import transaction_log

    ds.require("transactions")
    return customer_features(transaction_log(ds), ds.customers, as_of if as_of is not None else ds.as_of, **kwargs)


def feature_summary(features: pd.DataFrame,
                    columns: tuple[str, ...] = ("recency_days", "frequency", "monetary", "avg_order_value",
                                                "revenue_12m", "tenure_days")) -> pd.DataFrame:
    """Distribution of the main features over the buyers: mean, quartiles, 90th percentile, maximum."""
    b = features.loc[features["frequency"] > 0, [c for c in columns if c in features.columns]]
    q = b.quantile([0.25, 0.5, 0.75, 0.9]).T
    q.columns = ["p25", "median", "p75", "p90"]
    out = pd.concat([b.count().rename("customers"), b.mean().rename("mean"), q, b.max().rename("max")], axis=1)
    out.index.name = "feature"
    return out
