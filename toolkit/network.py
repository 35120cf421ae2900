"""The wider customer network: scorecards of the partners who sell for the company and of the
suppliers who deliver to it (the optional ``partners`` and ``suppliers`` tables of
:mod:`toolkit.data.schema`).

:func:`partner_scorecard` gives each partner's sales, target, attainment, share of its region's
partner sales and sales trend over the periods; :func:`region_partner_scorecard` the same per
region; :func:`supplier_scorecard` each supplier's on-time share, defect rate and price index,
flagged against :class:`SupplierThresholds`. Shares and rates are fractions (0.95 = 95%); money is
in the dataset's currency.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ON_TARGET = 1.0   # attainment a partner needs to count as on target (1 = the whole target)


@dataclass(frozen=True)
class SupplierThresholds:
    """Where a supplier counts as outside the norm: on-time share below ``on_time_min``
    (default 95%), defect rate above ``defect_max`` (default 2%) or price index above
    ``price_index_max`` (default 110, i.e. 10% dearer than the market at 100)."""

    on_time_min: float = 0.95
    defect_max: float = 0.02
    price_index_max: float = 110.0


def period_name(periods: pd.Series | pd.Index) -> str:
    """"month", "quarter" or "year" from the typical gap between the distinct periods, else "period"."""
    p = pd.DatetimeIndex(pd.Series(periods).dropna().unique()).sort_values()
    if len(p) < 2:
        return "period"
    gap = float(np.median(np.diff(p.to_numpy().astype("datetime64[D]").astype(np.int64))))   # days
    for name, lo, hi in (("month", 27, 32), ("quarter", 88, 93), ("year", 360, 370)):
        if lo <= gap <= hi:
            return name
    return "period"


def _names(frame: pd.DataFrame, id_col: str, name_col: str) -> pd.Series:
    names = frame[name_col] if name_col in frame.columns else pd.Series(np.nan, index=frame.index)
    return names.where(names.notna() & (names.astype(str).str.strip() != ""), frame[id_col]).astype(str)


def _trend(per_period: pd.DataFrame, value: str, order: dict) -> float:
    """Average relative change per period of ``value`` (log-linear least squares over the period
    positions); NaN with fewer than two periods or a value not above zero."""
    v = per_period[value].to_numpy(dtype=float)
    if len(v) < 2 or not (v > 0).all():
        return float("nan")
    x = per_period["period"].map(order).to_numpy(dtype=float)
    slope = np.polyfit(x, np.log(v), 1)[0]
    return float(np.round(np.expm1(slope), 12))   # flat sales give 0, not a rounding error's -1e-17


def partner_scorecard(partners: pd.DataFrame, on_target: float = ON_TARGET) -> pd.DataFrame:
    """One row per partner and region (a partner selling in two regions has two): ``partner``
    (name, else id), ``partner_type`` (when given), ``periods``, ``sales`` and ``target`` summed
    over the periods, ``attainment`` (sales / target; NaN for a zero target),
    ``share_of_region_sales`` (the partner's share of its region's partner sales),
    ``latest_attainment`` (in the partner's latest period), ``sales_trend`` (average relative
    change of sales per period) and ``below_target`` (attainment below ``on_target``). Sorted by
    region, then attainment."""
    df = partners.copy()
    df["partner"] = _names(df, "partner_id", "partner_name")
    has_period = "period" in df.columns and df["period"].notna().any()
    if not has_period:
        df["period"] = pd.NaT
    order = {pd.Timestamp(p): i for i, p in enumerate(sorted(pd.DatetimeIndex(df["period"].dropna().unique())))}
    keys = ["partner_id", "region"]
    rows = []
    for (pid, region), g in df.groupby(keys, sort=True, dropna=False):
        per = g.groupby("period", dropna=False)[["sales", "target"]].sum(min_count=1).reset_index()
        per = per.sort_values("period")
        sales, target = float(g["sales"].sum()), float(g["target"].sum())
        last = per.iloc[-1]
        row = {"partner_id": pid, "partner": g["partner"].iloc[0], "region": region,
               "periods": int(per["period"].notna().sum()) if has_period else 1,
               "sales": sales, "target": target,
               "attainment": sales / target if target > 0 else np.nan,
               "latest_attainment": (float(last["sales"] / last["target"]) if has_period and last["target"] > 0
                                     else np.nan),
               "sales_trend": _trend(per.dropna(subset=["period"]), "sales", order) if has_period else np.nan}
        if "partner_type" in g.columns and g["partner_type"].notna().any():
            row["partner_type"] = g["partner_type"].dropna().iloc[0]
        rows.append(row)
    out = pd.DataFrame(rows)
    region_sales = out.groupby("region", dropna=False)["sales"].transform("sum")
    out["share_of_region_sales"] = np.where(region_sales > 0, out["sales"] / region_sales.where(region_sales > 0),
                                            np.nan)
    out["below_target"] = out["attainment"] < on_target
    cols = ["partner_id", "partner"] + (["partner_type"] if "partner_type" in out.columns else []) + \
        ["region", "periods", "sales", "target", "attainment", "share_of_region_sales", "latest_attainment",
         "sales_trend", "below_target"]
    return out[cols].sort_values(["region", "attainment"], na_position="last").reset_index(drop=True)


def region_partner_scorecard(card: pd.DataFrame) -> pd.DataFrame:
    """Per region (index) from :func:`partner_scorecard`: ``partners``, ``below_target`` (partners
    below target), ``sales``, ``target``, ``attainment`` and ``share_of_partner_sales`` (the
    region's share of all sales through partners)."""
    g = card.groupby("region", dropna=False)
    out = pd.DataFrame({"partners": g["partner_id"].nunique(), "below_target": g["below_target"].sum().astype(int),
                        "sales": g["sales"].sum(), "target": g["target"].sum()})
    out["attainment"] = out["sales"] / out["target"].where(out["target"] > 0)
    total = out["sales"].sum()
    out["share_of_partner_sales"] = out["sales"] / total if total > 0 else np.nan
    return out.sort_values("attainment", na_position="last")


def supplier_scorecard(suppliers: pd.DataFrame, thresholds: SupplierThresholds = SupplierThresholds()) -> pd.DataFrame:
    """One row per supplier: ``supplier`` (name, else id), ``category`` and ``region`` when given,
    ``periods``, the mean over its rows of ``on_time_share``, ``defect_rate`` and ``price_index``,
    and the flags ``late``, ``defective``, ``expensive`` and ``outside_thresholds`` (any of them)
    against ``thresholds``. Sorted with the suppliers outside the thresholds first."""
    df = suppliers.copy()
    df["supplier"] = _names(df, "supplier_id", "supplier_name")
    if "price_index" not in df.columns:
        df["price_index"] = np.nan
    g = df.groupby("supplier_id", sort=True)
    out = pd.DataFrame({"supplier": g["supplier"].first()})
    for col in ("category", "region"):
        if col in df.columns and df[col].notna().any():
            out[col] = g[col].agg(lambda s: ", ".join(sorted(s.dropna().astype(str).unique())) or np.nan)
    out["periods"] = (g["period"].nunique() if "period" in df.columns and df["period"].notna().any()
                      else g.size()).astype(int)
    for col in ("on_time_share", "defect_rate", "price_index"):
        out[col] = g[col].mean()
    t = thresholds
    out["late"] = out["on_time_share"] < t.on_time_min
    out["defective"] = out["defect_rate"] > t.defect_max
    out["expensive"] = out["price_index"] > t.price_index_max
    out["outside_thresholds"] = out[["late", "defective", "expensive"]].any(axis=1)
    out = out.reset_index()
    return out.sort_values(["outside_thresholds", "on_time_share"], ascending=[False, True]).reset_index(drop=True)


__all__ = ["ON_TARGET", "SupplierThresholds", "partner_scorecard", "period_name", "region_partner_scorecard",
           "supplier_scorecard"]
