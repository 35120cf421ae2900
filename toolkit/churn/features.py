"""Churn-model features for every customer known at a date, computed from nothing dated after it.

* attributes discovered from the customer table (extras included), excluding ids, identifiers,
  dates, the churn labels and declared leakage columns (:data:`DEFAULT_EXCLUDE`);
* tenure at the date (from the acquisition date; the ``tenure`` column only for undated snapshots);
* purchase behaviour up to the date (orders, revenue, recency, recent activity and its trend);
* the contact log up to the date (days since last contact, complaints, service and sales contacts,
  unresolved contacts);
* the latest survey answer before the date (overall satisfaction, NPS);
* engineered terms: log tenure, tenure bands, totals per month of tenure, the number of yes-flags
  (services), contract
  interactions (contract x tenure, contract x monthly charge, contract x internet service) and
  monthly-charge quintiles when those columns exist.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from toolkit.churn.labels import DAYS_PER_MONTH, has_transactions, customer_table
from toolkit.churn.rates import tenure_bands
from toolkit.privacy import identifier_columns

#: Columns that are (or leak) the churn outcome and never become features.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    "churned", "churn_date", "churn_reason", "churn_category", "churn_label", "churn_value", "churn_score",
    "churn_flag", "customer_status", "status", "satisfaction_score", "cltv", "clv",
)
_ALWAYS_OUT = ("customer_id", "acquisition_date", "churned", "churn_date", "churn_reason")  # whatever the list says
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_MAX_CATEGORIES_SHARE = 0.5  # a text column with more distinct values than this share of rows is an id


def _tenure_column(cu: pd.DataFrame) -> str | None:
    return "tenure" if "tenure" in cu.columns else None


def _contract_column(frame: pd.DataFrame) -> str | None:
    for c in ("contract", "segment"):
        if c in frame.columns and not pd.api.types.is_numeric_dtype(frame[c]):
            return c
    return None


def discover_attributes(customers: pd.DataFrame, exclude: tuple[str, ...] | list[str] = DEFAULT_EXCLUDE,
                        dated: bool = False) -> list[str]:
    """Customer-table columns usable as features (ids, identifiers, dates, labels and ``exclude`` removed).

    With ``dated`` the snapshot ``tenure`` column is dropped too: it is measured at the dataset's own
    date and would look past an earlier as-of date (tenure is recomputed from the acquisition date).
    """
    drop = set(_ALWAYS_OUT) | {c.lower() for c in exclude} | set(identifier_columns(customers.columns))
    if dated:
        drop.add("tenure")
    out = []
    n = max(len(customers), 1)
    for c in customers.columns:
        s = customers[c]
        if c.lower() in drop or pd.api.types.is_datetime64_any_dtype(s) or re.search(r"(^|_)(date|id)$", c):
            continue
        if s.notna().sum() == 0 or s.nunique(dropna=True) < 2:
            continue
        if not pd.api.types.is_numeric_dtype(s) and s.nunique() > _MAX_CATEGORIES_SHARE * n and n > 20:
            continue
        out.append(c)
    return out


def is_engineered(feature: str) -> bool:
    """True for the terms :func:`build_features` derives from other features (bands, ratios, interactions)."""
    return (feature in ("log_tenure", "tenure_band", "yes_flags") or " x " in feature
            or feature.endswith(("_per_month", "_band")))


def _yes_flags(frame: pd.DataFrame, cols: list[str]) -> pd.Series | None:
    flags = []
    for c in cols:
        s = frame[c]
        if pd.api.types.is_numeric_dtype(s):
            continue
        vals = {str(v).strip().lower() for v in s.dropna().unique()}
        if vals and vals & _YES and all(v in _YES or v in _NO or v.startswith("no ") for v in vals):
            flags.append(s.astype("object").map(lambda v: str(v).strip().lower() in _YES))
    return pd.concat(flags, axis=1).sum(axis=1).astype(float) if flags else None


def quantile_bands(values: pd.Series, k: int = 5) -> pd.Series:
    """Equal-count bands of a numeric column, labelled by their range (``(missing)`` for NaN)."""
    edges = np.unique(np.nanquantile(values.to_numpy(float), np.linspace(0, 1, k + 1)))
    if len(edges) < 3:
        return pd.Series("all", index=values.index)
    cut = pd.cut(values, bins=edges, include_lowest=True, duplicates="drop")
    return cut.astype(str).where(values.notna(), "(missing)")


def _engineer(frame: pd.DataFrame, attrs: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    if "tenure_months" in frame:
        t = frame["tenure_months"].astype(float)
        out["log_tenure"] = np.log1p(t.clip(lower=0))
        out["tenure_band"] = tenure_bands(t)
        per = t.clip(lower=1)
        totals = [c for c in attrs if c.startswith("total_") and pd.api.types.is_numeric_dtype(frame[c])]
        for c in totals:
            out[f"{c}_per_month"] = frame[c].astype(float) / per
        monthly = [c for c in attrs if c.startswith("monthly_") and pd.api.types.is_numeric_dtype(frame[c])]
        contract = _contract_column(frame)
        if contract:
            lv = frame[contract].astype("object").where(frame[contract].notna(), "(missing)").map(str)
            for level in sorted(lv.unique()):
                out[f"log_tenure x {contract} = {level}"] = out["log_tenure"] * (lv == level)
                if monthly:
                    out[f"{monthly[0]} x {contract} = {level}"] = frame[monthly[0]].astype(float) * (lv == level)
    monthly = [c for c in attrs if c.startswith("monthly_") and pd.api.types.is_numeric_dtype(frame[c])]
    if monthly:
        out[f"{monthly[0]}_band"] = quantile_bands(frame[monthly[0]].astype(float), 5)
    yes = _yes_flags(frame, attrs)
    if yes is not None:
        out["yes_flags"] = yes
    contract = _contract_column(frame)
    internet = [c for c in attrs if "internet" in c and not pd.api.types.is_numeric_dtype(frame[c])]
    if contract and internet:
        a = frame[contract].astype("object").map(str)
        out[f"{contract} x {internet[0]}"] = a + " / " + frame[internet[0]].astype("object").map(str)
    return out


def _purchase_features(tx: Any, as_of: pd.Timestamp, engine: str | None = None) -> pd.DataFrame:
    """Order features per customer at ``as_of`` (:func:`toolkit.engine.purchase_features`) from a
    transactions frame or LazyFrame."""
    from toolkit.engine import as_day, as_log, collect, purchase_features

    lf = as_log(tx, engine, columns=("order_id",))
    out = collect(purchase_features(lf, as_day(as_of)), sort=["customer_id"]).set_index("customer_id")
    return out[["orders", "revenue", "days_since_last_purchase", "days_since_first_purchase",
                "average_order_value", "orders_90d", "revenue_90d", "orders_365d", "revenue_365d",
                "orders_trend_90d"]]


def _contact_features(ia: pd.DataFrame, as_of: pd.Timestamp, window: int = 180) -> pd.DataFrame:
    ia = ia.loc[ia["date"] < as_of + pd.Timedelta(days=1)]
    age = (as_of - ia["date"].dt.normalize()).dt.days
    recent = age < window
    kind = ia["kind"].astype("object").map(str).str.lower()
    outcome = ia["outcome"].astype("object").map(str).str.lower() if "outcome" in ia else pd.Series("", index=ia.index)
    frame = pd.DataFrame({
        "customer_id": ia["customer_id"].to_numpy(), "age": age.to_numpy(),
        "contacts": 1.0,
        f"contacts_{window}d": recent.astype(float).to_numpy(),
        "complaints": (kind == "complaint").astype(float).to_numpy(),
        f"complaints_{window}d": ((kind == "complaint") & recent).astype(float).to_numpy(),
        f"service_contacts_{window}d": ((kind == "service") & recent).astype(float).to_numpy(),
        f"sales_contacts_{window}d": ((kind == "sales") & recent).astype(float).to_numpy(),
        f"unresolved_{window}d": ((outcome == "unresolved") & recent).astype(float).to_numpy(),
    })
    g = frame.groupby("customer_id")
    out = g[[c for c in frame.columns if c not in ("customer_id", "age")]].sum()
    out.insert(0, "days_since_last_contact", g["age"].min().astype(float))
    comp = frame.loc[frame["complaints"] > 0].groupby("customer_id")["age"].min()
    out["days_since_last_complaint"] = comp.reindex(out.index).astype(float)
    return out


def _survey_features(sv: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    if "response_date" not in sv.columns:
        return pd.DataFrame()
    sv = sv.loc[sv["response_date"] < as_of + pd.Timedelta(days=1)]
    last = sv.sort_values("response_date", kind="stable").groupby("customer_id").tail(1).set_index("customer_id")
    out = pd.DataFrame(index=last.index)
    out["last_satisfaction"] = last["overall_satisfaction"].astype(float)
    if "nps" in last:
        out["last_nps"] = last["nps"].astype(float)
    out["days_since_last_survey"] = (as_of - last["response_date"].dt.normalize()).dt.days.astype(float)
    return out


def build_features(ds: Any, as_of: Any = None, exclude: tuple[str, ...] | list[str] = DEFAULT_EXCLUDE,
                   customers: pd.Index | list | None = None, engineer: bool = True,
                   tables: tuple[str, ...] = ("transactions", "interactions", "surveys")) -> pd.DataFrame:
    """One row per customer known at ``as_of`` (acquired by then, or undated), indexed by customer_id.

    Only rows dated on or before ``as_of`` are read from transactions, interactions and surveys; the
    customer attributes are the table's static columns minus :func:`discover_attributes` exclusions.
    ``customers`` restricts the rows returned. ``frame.attrs['groups']`` maps feature -> source.
    """
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp(ds.as_of).normalize()
    cu = customer_table(ds)
    acq = pd.to_datetime(cu["acquisition_date"]) if "acquisition_date" in cu else pd.Series(pd.NaT, index=cu.index)
    dated = bool(acq.notna().any())
    cu = cu.loc[acq.isna() | (acq <= as_of)]
    if customers is not None:
        cu = cu.loc[cu.index.intersection(pd.Index(customers))]
    attrs = discover_attributes(cu, exclude, dated=dated)
    frame = cu[attrs].copy()
    for c in attrs:
        if not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].astype("object").where(frame[c].notna(), None)
        elif pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].astype(float)
    groups = {c: "attributes" for c in attrs}
    if dated:
        frame["tenure_months"] = (as_of - acq.reindex(frame.index)).dt.days / DAYS_PER_MONTH
    elif _tenure_column(cu):
        frame["tenure_months"] = pd.to_numeric(cu["tenure"], errors="coerce").astype(float)
        frame = frame.drop(columns=["tenure"], errors="ignore")
        groups.pop("tenure", None)
        attrs = [a for a in attrs if a != "tenure"]
    if "tenure_months" in frame:
        groups["tenure_months"] = "tenure"
    parts = []
    if "transactions" in tables and has_transactions(ds):
        from toolkit.engine import transaction_log
        parts.append(("purchases", _purchase_features(transaction_log(ds), as_of), True))
    if "interactions" in tables and getattr(ds, "interactions", None) is not None:
        parts.append(("contacts", _contact_features(ds.interactions, as_of), True))
    if "surveys" in tables and getattr(ds, "surveys", None) is not None:
        parts.append(("surveys", _survey_features(ds.surveys, as_of), False))
    for name, part, zero_fill in parts:
        part = part.reindex(frame.index)
        for c in part.columns:
            col = part[c]
            if zero_fill and not (c.startswith("days_since") or c == "average_order_value"):
                col = col.fillna(0.0)
            frame[c] = col
            groups[c] = name
    if engineer:
        eng = _engineer(frame, attrs)
        for c in eng.columns:
            frame[c] = eng[c]
            groups[c] = "engineered"
    frame.index.name = "customer_id"
    frame.attrs["groups"] = groups
    frame.attrs["as_of"] = as_of
    return frame
