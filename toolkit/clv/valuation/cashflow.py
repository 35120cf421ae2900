"""Unit-safe CLV: expected purchases per future period, DERT, cash flows per segment and margins.

One time unit is declared for the models (the unit of the RFM summary, ``rfm.attrs["time_unit"]``);
horizons are given in any unit (day, week, month, quarter, year) and converted by fixed day
lengths; discount rates are given per year and converted (:mod:`toolkit.clv.valuation.units`).

* :func:`period_purchases` — expected purchases of each customer in each of ``horizon`` future
  periods ``((i-1) P, i P]`` after the end of the data, ``E[Y(iP)] - E[Y((i-1)P)]``;
* :func:`dert` — discounted expected residual transactions: all future purchases, continuously
  discounted at ``delta`` per model time unit, ``int_0^inf e^(-delta t) dE[Y(t)]
  = int_0^inf e^(-u) E[Y(u / delta)] du`` (integration by parts), by Gauss-Laguerre quadrature
  for any transaction model; Pareto/NBD also has the closed form of Fader, Hardie & Lee (2005)
  with the confluent hypergeometric function U, :func:`dert_paretonbd`;
* :func:`cash_flow_table` — per segment and future period: expected purchases, revenue, margin,
  discount factor, discounted margin and its running total;
* :func:`customer_margin` — one margin for everyone, one per customer (a column of the customer
  table), or one per product category (revenue-weighted over each customer's purchases).
"""
from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import special

from toolkit.clv.models.base import customer_arrays
from toolkit.clv.summary import unit_days
from toolkit.clv.valuation.units import continuous_rate, normalize_unit, period_rate

__all__ = ["period_purchases", "dert", "dert_paretonbd", "cash_flow_table", "customer_margin"]

_LAG_X, _LAG_W = np.polynomial.laguerre.laggauss(48)


def _model_unit(rfm, model) -> str:
    unit = (rfm.attrs.get("time_unit") if isinstance(rfm, pd.DataFrame) else None) or getattr(model, "time_unit_", None)
    if unit is None:
        raise ValueError("the model time unit is unknown: summarise with rfm_summary (it records the unit)")
    return normalize_unit(unit)


def period_purchases(model, rfm: pd.DataFrame, horizon: int, unit: str = "M") -> np.ndarray:
    """Expected purchases per customer (columns) in each of ``horizon`` periods of ``unit`` (rows)."""
    if int(horizon) < 1:
        raise ValueError("horizon must be at least one period")
    factor = unit_days(normalize_unit(unit)) / unit_days(_model_unit(rfm, model))
    t = (np.arange(1, int(horizon) + 1, dtype=float) * factor)[:, None]
    cum = np.asarray(model.conditional_expected_purchases(t, rfm), float)
    return np.diff(cum, axis=0, prepend=0.0)


def dert(model, rfm: pd.DataFrame, discount_rate: float) -> np.ndarray:
    """Discounted expected residual transactions per customer at a yearly ``discount_rate``
    (continuously compounded per model time unit), for any transaction model."""
    delta = continuous_rate(discount_rate, _model_unit(rfm, model))
    if delta <= 0:
        raise ValueError("DERT needs a positive discount rate (without discounting it is infinite or undefined)")
    t = (_LAG_X / delta)[:, None]
    cum = np.asarray(model.conditional_expected_purchases(t, rfm), float)      # (nodes, n)
    return (_LAG_W[:, None] * cum).sum(axis=0)


def dert_paretonbd(model, frequency, recency=None, T=None, delta: float = 0.0) -> np.ndarray:
    """Pareto/NBD DERT in closed form at continuous rate ``delta`` per model time unit:
    ``P(alive) (r + x) / (alpha + T) (beta + T)^s delta^(s-1) U(s, s; delta (beta + T))``."""
    r, alpha, s, beta = model._theta()
    x, tx, T_ = customer_arrays(frequency, recency, T)
    c = beta + T_
    pa = np.asarray(model.prob_alive(x, tx, T_), float)
    return pa * (r + x) / (alpha + T_) * np.exp(s * np.log(c) + (s - 1) * np.log(delta)) * special.hyperu(s, s, delta * c)


def cash_flow_table(table: pd.DataFrame, purchases: np.ndarray, segments: pd.Series | None = None,
                    discount_rate: float = 0.10, unit: str = "M", start=None,
                    returns_factor: float = 1.0) -> pd.DataFrame:
    """Discounted cash flows per segment and period.

    ``table`` has one row per customer with ``expected_spend`` and ``margin`` (as
    :func:`toolkit.clv.report.customer_value` returns); ``purchases`` the (periods, customers) array
    of :func:`period_purchases` in the same customer order. Each period's flows are discounted at
    its end at the yearly ``discount_rate`` converted to ``unit``. ``start`` (a date) labels the
    periods with their first day. Rows: segment x period; columns customers, expected_purchases,
    expected_revenue, expected_margin, discount_factor, discounted_margin, cumulative_discounted_margin.
    """
    H, n = purchases.shape
    if n != len(table):
        raise ValueError("purchases must have one column per row of table")
    u = normalize_unit(unit)
    disc = (1.0 + period_rate(discount_rate, u)) ** -np.arange(1, H + 1, dtype=float)
    spend = table["expected_spend"].to_numpy(float) * float(returns_factor)
    margin = table["margin"].to_numpy(float)
    seg = (segments.reindex(table.index).astype(object).fillna("unknown").astype(str).to_numpy()
           if segments is not None else np.full(n, "all customers"))
    order = list(pd.unique(seg))
    if segments is not None and isinstance(segments.dtype, pd.CategoricalDtype):
        order = [str(c) for c in segments.cat.categories if str(c) in set(order)] + \
            [c for c in order if c not in {str(k) for k in segments.cat.categories}]
    rows = []
    for name in order:
        sel = seg == name
        p = purchases[:, sel]
        rev = (p * spend[sel]).sum(axis=1)
        mar = (p * spend[sel] * margin[sel]).sum(axis=1)
        for i in range(H):
            rows.append({"segment": name, "period": i + 1, "customers": int(sel.sum()),
                         "expected_purchases": float(p[i].sum()), "expected_revenue": float(rev[i]),
                         "expected_margin": float(mar[i]), "discount_factor": float(disc[i]),
                         "discounted_margin": float(mar[i] * disc[i])})
    out = pd.DataFrame(rows)
    out["cumulative_discounted_margin"] = out.groupby("segment")["discounted_margin"].cumsum()
    if start is not None:
        days = unit_days(u)
        out.insert(2, "period_start", pd.Timestamp(start).normalize()
                   + pd.to_timedelta(np.round((out["period"] - 1) * days), unit="D"))
    return out


def _ratio(frame: pd.DataFrame) -> pd.Series:
    """weighted / amount per customer from a :func:`toolkit.engine.weighted_rate` result."""
    index = pd.Index(frame["customer_id"].astype(object).to_numpy(), name="customer_id")
    return pd.Series(frame["weighted"].to_numpy(float) / frame["amount"].to_numpy(float), index=index)


def _with_date(transactions: Any) -> Any:
    """A pandas frame without a ``date`` column gets an empty one: :func:`~toolkit.engine.as_log`
    needs it, the margins never read it."""
    if isinstance(transactions, pd.DataFrame) and "date" not in transactions.columns:
        return transactions.assign(date=pd.NaT)
    return transactions


def customer_margin(customer_ids: pd.Index, margin: float = 0.3, transactions: Any = None,
                    category_margins: dict | None = None, customers: pd.DataFrame | None = None,
                    margin_column: str | None = None) -> tuple[pd.Series, str]:
    """Margin (share of revenue) per customer and a sentence saying where it came from.

    * ``margin_column`` naming a column of ``customers``: that value per customer (missing ones get
      ``margin``); naming a column of ``transactions``: the revenue-weighted mean over the
      customer's purchase rows;
    * ``category_margins`` ({category: margin}) with a ``category`` column in ``transactions``: the
      revenue-weighted mean of the margins of the categories the customer bought (purchase rows,
      amount > 0); categories not listed get ``margin``;
    * otherwise ``margin`` for everyone.

    ``transactions`` is a pandas frame or a LazyFrame; the engine computes the weighted sums. A
    pandas frame needs no ``date`` column (margins do not depend on it).
    """
    from toolkit.engine import as_log, collect, engine_of, has_values, log_columns, scan, weighted_rate

    ids = pd.Index(customer_ids)
    if not 0 <= float(margin) <= 1:
        raise ValueError(f"margin is a share of revenue between 0 and 1, not {margin!r}")
    flat = pd.Series(float(margin), index=ids, name="margin")
    lf = as_log(_with_date(transactions)) if transactions is not None and (margin_column or category_margins) else None
    if margin_column:
        if customers is not None and margin_column in customers.columns:
            m = customers.drop_duplicates("customer_id").set_index("customer_id")[margin_column].astype(float)
            out = m.reindex(ids)
            missing = int(out.isna().sum())
            return (out.fillna(float(margin)).rename("margin"),
                    f"margin per customer from column {margin_column!r} of the customer table"
                    + (f" ({missing} customers without a value get {margin:.0%})" if missing else ""))
        if lf is not None and margin_column in log_columns(lf):
            out = _ratio(collect(weighted_rate(lf, nw.col(margin_column)))).reindex(ids)
            return (out.fillna(float(margin)).rename("margin"),
                    f"margin per customer: revenue-weighted mean of column {margin_column!r} over their purchases")
        raise ValueError(f"margin_column {margin_column!r} is neither a customer-table nor a transactions column")
    if category_margins:
        if lf is None or not has_values(lf, "category"):
            return flat, (f"one margin of {margin:.0%} for everyone (category margins were given, but the "
                          "transactions have no product category)")
        bad = {k: v for k, v in category_margins.items() if not 0 <= float(v) <= 1}
        if bad:
            raise ValueError(f"category margins must be shares between 0 and 1: {bad}")
        rates = {str(k): float(v) for k, v in category_margins.items()}
        cat = nw.col("category").cast(nw.String)
        table = scan(pd.DataFrame({"_category": list(rates), "_rate": list(rates.values())}), engine_of(lf))
        rows = lf.with_columns(cat.alias("_category")).join(table, on="_category", how="left")
        out = _ratio(collect(weighted_rate(rows, nw.col("_rate").fill_null(float(margin)))))
        bought = collect(lf.filter(nw.col("amount") > 0, ~nw.col("category").is_null())
                         .select(cat.alias("category")).unique())["category"]
        unknown = sorted(set(bought.astype(str)) - set(rates))
        out = out.reindex(ids).fillna(float(margin))
        text = ("margin per customer: revenue-weighted over the product categories they bought ("
                + ", ".join(f"{k} {float(v):.0%}" for k, v in category_margins.items()) + ")")
        if unknown:
            text += f"; categories without a margin ({', '.join(unknown[:8])}) get {margin:.0%}"
        return out.rename("margin"), text
    return flat, f"one margin of {margin:.0%} of revenue for every customer"
