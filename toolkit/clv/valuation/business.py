"""Business figures beside the models: formula CLTV, CAC, CLV/CAC and value tiers.

* formula CLTV = average purchase frequency (orders per customer per period)
  x average order value (revenue / orders) x average customer lifespan (periods);
* CAC = acquisition marketing spend / new customers, per period, region and channel;
* CLV/CAC = mean predicted CLV of the customers acquired in a cell / that cell's CAC;

The formulas themselves (CLTV, CAC, CLV/CAC) live in :mod:`toolkit.kpi.formulas`, the scorecard's
home: this module groups raw tables into cells and applies them, so the CLV and KPI reports' CAC of
the same region and period are the same number.
* value tiers: customers ranked by predicted CLV, top 20% "high", next 30% "mid", rest "low", by the
  one tier rule :func:`toolkit.segmentation.tiers.value_tiers` (re-exported here: ties broken by
  customer id, customers without a prediction "none").
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.kpi import formulas
from toolkit.segmentation.tiers import value_tiers  # noqa: F401  (the one tier rule, re-exported)

from toolkit.clv.summary import unit_days

__all__ = ["formula_cltv", "cac", "clv_cac", "value_tiers"]

_FREQ = {"M": "M", "Q": "Q", "Y": "Y"}


def _period_start(dates: pd.Series, freq: str) -> pd.Series:
    if freq not in _FREQ:
        raise ValueError(f"freq must be one of {sorted(_FREQ)}, not {freq!r}")
    return pd.to_datetime(dates).dt.to_period(_FREQ[freq]).dt.start_time


def _order_groups(transactions: Any, by: str | None,
                  customers: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """customers, orders and revenue per group of ``by`` (or one group), and the span of the data in
    days, aggregated by the engine (:func:`toolkit.engine.order_groups`) from a pandas frame or a
    LazyFrame."""
    from toolkit.engine import as_log, collect, date_bounds, engine_of, order_groups, scan

    lf = as_log(transactions)
    bounds = collect(date_bounds(lf)).iloc[0]
    span = (pd.Timestamp(bounds["last"]) - pd.Timestamp(bounds["first"])).days + 1
    groups = scan(customers[["customer_id", by]], engine_of(lf)) if by else None
    key = by or "_all"
    out = collect(order_groups(lf, groups, by))
    out[key] = out[key].astype(object).where(out[key].notna(), np.nan)
    if by:   # the column's type, as a left join gives it (customers without a value: NaN)
        like = customers[by] if out[key].notna().all() else customers[by].iloc[:0].reindex([0])
        out[key] = out[key].astype(like.dtype)
    out = out.sort_values(key, kind="stable", na_position="last").set_index(key)
    out = out[["customers", "orders", "revenue"]].astype({"customers": np.int64, "orders": np.int64,
                                                          "revenue": np.float64})
    return out, span


def formula_cltv(transactions: Any, lifespan: float | Mapping[str, float] | pd.Series,
                 period: str = "Y", by: str | None = None,
                 customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Formula CLTV = purchase frequency x average order value x lifespan, overall or per group.

    ``transactions`` has customer_id, date, amount (and order_id if orders span several rows;
    otherwise a customer-day is an order). Purchase frequency is orders per customer per
    ``period`` ("D", "W", "M", "Q", "Y"; lengths as in rfm_summary) over the span of the data.
    ``lifespan`` is in the same periods: one number, or one per group when ``by`` names a
    column of ``customers`` (e.g. "region"). Typical lifespan: 1 / yearly churn rate.
    ``transactions`` is a pandas frame or a LazyFrame; the engine aggregates the orders.
    """
    days = unit_days(period)
    if by is not None and (customers is None or by not in customers.columns):
        raise ValueError(f"grouping by {by!r} needs a customers table with that column")
    out, span = _order_groups(transactions, by, customers)
    n_periods = span / days
    out["periods"] = n_periods
    out["purchase_frequency"] = out["orders"] / out["customers"] / n_periods
    out["average_order_value"] = out["revenue"] / out["orders"]
    if isinstance(lifespan, (Mapping, pd.Series)):
        if not by:
            raise ValueError("a lifespan per group needs `by`")
        out["lifespan"] = out.index.map(lambda k: dict(lifespan).get(k, np.nan))
    else:
        out["lifespan"] = float(lifespan)
    out["cltv"] = formulas.cltv(out["purchase_frequency"], out["average_order_value"], out["lifespan"])
    out.index.name = by or None
    return out.reset_index(drop=not by)


def _cells(frame: pd.DataFrame, columns: Mapping[str, str], by: Sequence[str], freq: str) -> pd.DataFrame:
    """The cell keys ``by`` (period, region, channel) of each row of ``frame``; ``columns`` names the
    column of ``frame`` holding each key. Only the keys in ``by`` are read."""
    out = pd.DataFrame(index=frame.index)
    for key in by:
        col = frame[columns[key]]
        out[key] = (_period_start(col, freq) if key == "period" else col.astype(str)).to_numpy()
    return out


def _acquisitions(customers: pd.DataFrame, by: Sequence[str], freq: str) -> pd.DataFrame:
    """The cell keys and customer_id of the customers with an acquisition date (the acquisitions)."""
    dated = customers.loc[pd.to_datetime(customers["acquisition_date"]).notna()]
    out = _cells(dated, {"period": "acquisition_date", "region": "region", "channel": "acquisition_channel"}, by, freq)
    out["customer_id"] = dated["customer_id"].to_numpy()
    return out


def cac(marketing_spend: pd.DataFrame, customers: pd.DataFrame, freq: str = "M",
        by: Sequence[str] = ("period", "region", "channel")) -> pd.DataFrame:
    """Customer acquisition cost per cell: spend / new customers.

    ``marketing_spend``: period, region, channel, spend. ``customers``: customer_id, region,
    acquisition_date, acquisition_channel. Periods are the starts of ``freq`` ("M", "Q", "Y")
    periods; ``by`` is any subset of period, region, channel. Customers without an acquisition date
    are not acquisitions. Cells without new customers get CAC NaN (spend without acquisitions),
    cells without spend CAC 0 (:func:`toolkit.kpi.formulas.cac`).
    """
    by = list(by)
    if not set(by) <= {"period", "region", "channel"}:
        raise ValueError("by must be a subset of period, region, channel")
    sp = _cells(marketing_spend, {"period": "period", "region": "region", "channel": "channel"}, by, freq)
    sp["spend"] = marketing_spend["spend"].to_numpy(float)
    cu = _acquisitions(customers, by, freq)
    if not by:
        spend = pd.DataFrame({"spend": [sp["spend"].sum()]})
        new = pd.DataFrame({"new_customers": [cu["customer_id"].nunique()]})
        out = pd.concat([spend, new], axis=1)
    else:
        spend = sp.groupby(by)["spend"].sum()
        new = cu.groupby(by)["customer_id"].nunique().rename("new_customers")
        out = pd.concat([spend, new], axis=1).fillna({"spend": 0.0, "new_customers": 0}).reset_index()
    out["new_customers"] = out["new_customers"].astype(int)
    out["cac"] = formulas.cac(out["spend"], out["new_customers"])
    return out


def clv_cac(clv: pd.Series, customers: pd.DataFrame, marketing_spend: pd.DataFrame, freq: str = "M",
            by: Sequence[str] = ("region", "channel")) -> pd.DataFrame:
    """Mean predicted CLV of the customers acquired in each cell, the cell's CAC and their ratio.

    ``clv`` is indexed by customer_id. Customers without a CLV prediction do not count towards
    the mean but do count as acquisitions in CAC. The ratio is :func:`toolkit.kpi.formulas.clv_cac`
    (NaN where CAC is missing or 0).
    """
    by = list(by)
    table = cac(marketing_spend, customers, freq=freq, by=by)
    cu = _acquisitions(customers, by, freq)
    cu["clv"] = cu["customer_id"].map(clv).to_numpy(float)
    if by:
        mean_clv = cu.groupby(by)["clv"].agg(mean_clv="mean", customers_with_clv="count").reset_index()
        out = table.merge(mean_clv, on=by, how="left")
    else:
        out = table.assign(mean_clv=cu["clv"].mean(), customers_with_clv=cu["clv"].count())
    out["clv_cac"] = formulas.clv_cac(out["mean_clv"], out["cac"])
    return out
