"""The early-warning list: active customers ranked by value at risk (churn probability x value),
with region, value tier, top drivers and a suggested action, and what a contact budget buys when
customers are targeted by value at risk rather than by churn probability alone."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from toolkit.churn.labels import has_transactions, customer_table
from toolkit.engine import as_day, collect, engine_of, net_revenue, scan, transaction_log
from toolkit.segmentation.tiers import value_tiers  # noqa: F401  (the one tier rule, re-exported)

ACTIONS = ("win-back", "service call", "retention offer")
_CLV_COLUMNS = ("clv", "cltv", "customer_lifetime_value", "lifetime_value")
_SERVICE = re.compile(r"complain|service_contact|unresolved|support|satisf|nps|contact|security|tech", re.I)


def customer_value(ds: Any, as_of: Any = None, months: int = 12, clv: pd.Series | None = None,
                   end: pd.Series | None = None) -> pd.Series:
    """Value per customer, the first available of: ``clv`` (given), a CLV column of the customer table,
    net revenue in the ``months`` months up to each customer's ``end`` date (default ``as_of``; dates
    count as calendar days), a monthly charge x 12. ``series.attrs['description']`` says which;
    ``attrs['unit']`` the currency. Revenue is summed per customer by the dataset's engine.
    """
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp(ds.as_of).normalize()
    cu = customer_table(ds)
    unit = ds.currency or "currency units"
    if clv is not None:
        out, what = clv.reindex(cu.index).astype(float), "customer lifetime value (CLV)"
    elif any(c in cu.columns for c in _CLV_COLUMNS):
        col = next(c for c in _CLV_COLUMNS if c in cu.columns)
        out, what = pd.to_numeric(cu[col], errors="coerce").astype(float), f"customer lifetime value ({col})"
    elif has_transactions(ds) and getattr(ds, "has_money", True):   # a log without amounts holds no value
        stop = (end.reindex(cu.index) if end is not None else pd.Series(as_of, index=cu.index)).fillna(as_of)
        stop = pd.to_datetime(stop.clip(upper=as_of))
        last = as_day(stop)
        span = int(round(months * 30.4375))
        lf = transaction_log(ds)
        bounds = pd.DataFrame({"customer_id": cu.index.to_numpy(), "first_d": last - span + 1, "last_d": last})
        got = collect(net_revenue(lf, bounds=scan(bounds, engine_of(lf))))
        out = pd.Series(got["amount"].to_numpy(float), index=got["customer_id"].astype(object).to_numpy())
        out = out.reindex(cu.index).fillna(0.0).clip(lower=0)
        what = f"net revenue in the {months} months before {'leaving or ' if end is not None else ''}{as_of.date()}"
    else:
        monthly = [c for c in cu.columns if c.startswith("monthly_") and pd.api.types.is_numeric_dtype(cu[c])]
        if monthly:
            out, what = 12 * cu[monthly[0]].astype(float), f"annual revenue ({monthly[0]} x 12)"
        else:
            out, what, unit = pd.Series(1.0, index=cu.index), "one per customer (no value data)", "customers"
    out = out.rename("value")
    out.attrs.update(description=what, unit=unit)
    return out


def suggest_action(features: pd.DataFrame, drivers: pd.Series, win_back_days: float = 90) -> pd.Series:
    """'win-back' for customers whose purchases have lapsed (no purchase for ``win_back_days`` and for
    more than twice their own average gap between orders), 'service call' for recent complaints /
    unresolved contacts or service-related top drivers, otherwise 'retention offer' (price, contract
    and product drivers)."""
    idx = features.index
    since = features.get("days_since_last_purchase", pd.Series(np.nan, index=idx)).fillna(-1)
    lapsed = since >= win_back_days
    if "days_since_first_purchase" in features and "orders" in features:
        gap = features["days_since_first_purchase"] / (features["orders"] - 1).where(features["orders"] > 1)
        lapsed &= ~(since <= 2 * gap).fillna(False)
    issues = pd.Series(False, index=idx)
    for c in ("complaints_180d", "unresolved_180d"):
        if c in features:
            issues |= features[c].fillna(0) > 0
    first = drivers.reindex(idx).fillna("").str.split(",").str[0]
    issues |= first.str.contains(_SERVICE)
    action = np.select([lapsed.to_numpy(), issues.to_numpy()], ["win-back", "service call"], "retention offer")
    return pd.Series(action, index=idx, name="suggested_action")


def early_warning_list(probability: pd.Series, value: pd.Series, attributes: pd.DataFrame | None = None,
                       drivers: pd.Series | None = None, actions: pd.Series | None = None) -> pd.DataFrame:
    """Customers ranked by value at risk = churn probability x value (rank 1 = most at stake)."""
    out = pd.DataFrame({"churn_probability": probability.astype(float)})
    out["value"] = value.reindex(out.index).fillna(0.0).astype(float)
    out["value_at_risk"] = out["churn_probability"] * out["value"]
    if attributes is not None:
        out = out.join(attributes.reindex(out.index))
    if drivers is not None:
        out["top_drivers"] = drivers.reindex(out.index)
    if actions is not None:
        out["suggested_action"] = actions.reindex(out.index)
    out = out.sort_values(["value_at_risk", "churn_probability"], ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.index.name = "customer_id"
    return out


def targeting_comparison(probability: pd.Series, value: pd.Series, budget: int,
                         save_rate: float = 0.25) -> pd.DataFrame:
    """For a budget of ``budget`` contacts: value at risk reached and expected revenue saved (``save_rate``
    of it: the share of reached at-risk value a contact keeps) when contacting the top customers by
    value at risk, by churn probability alone, and at random (expected)."""
    v = value.reindex(probability.index).fillna(0.0).to_numpy(float)
    p = probability.to_numpy(float)
    n = len(p)
    b = int(min(max(budget, 0), n))
    var = p * v
    rows = []
    for name, order in (("by value at risk", np.argsort(-var, kind="stable")),
                        ("by churn probability", np.argsort(-p, kind="stable"))):
        pick = order[:b]
        rows.append({"strategy": name, "customers_contacted": b, "expected_churners_reached": p[pick].sum(),
                     "value_at_risk_reached": var[pick].sum()})
    share = b / n if n else 0.0
    rows.append({"strategy": "at random (expected)", "customers_contacted": b,
                 "expected_churners_reached": p.sum() * share, "value_at_risk_reached": var.sum() * share})
    out = pd.DataFrame(rows).set_index("strategy")
    out["expected_revenue_saved"] = save_rate * out["value_at_risk_reached"]
    total = var.sum()
    out["share_of_total_value_at_risk"] = out["value_at_risk_reached"] / total if total > 0 else np.nan
    out.attrs.update(save_rate=save_rate, budget=b)
    return out


def targeting_curve(probability: pd.Series, value: pd.Series, points: int = 50) -> pd.DataFrame:
    """Cumulative value at risk reached against the number of customers contacted, per strategy."""
    v = value.reindex(probability.index).fillna(0.0).to_numpy(float)
    p = probability.to_numpy(float)
    var = p * v
    n = len(p)
    ks = np.unique(np.linspace(0, n, min(points, n) + 1).astype(int))
    out = pd.DataFrame({"customers_contacted": ks})
    for name, order in (("by value at risk", np.argsort(-var, kind="stable")),
                        ("by churn probability", np.argsort(-p, kind="stable"))):
        cum = np.concatenate([[0.0], np.cumsum(var[order])])
        out[name] = cum[ks]
    out["at random (expected)"] = var.sum() * ks / max(n, 1)
    return out.set_index("customers_contacted")
