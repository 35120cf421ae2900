"""Additive statistics per region and period, from which every KPI and its test is derived.

:func:`period_stats` returns one row per (region, period) holding only counts and sums (plus
sums of squares for the means), so the company is the sum over regions and the *rest of the
company* is the company minus the region — exactly, without recomputation. All aggregation is
groupby / bincount over whole columns; nothing loops over customers.

Definitions (period k = ``[start_k, start_{k+1})``):

* ``customers`` — the base at the start of the period. Contractual data (a churn date column):
  acquired before the start and not churned before it. Otherwise (``basis="activity"``): customers
  with a purchase in the previous period.
* ``new`` — acquired in the period; ``churned`` — churn date in the period (any customer);
  ``lost`` — of ``customers``, those who churned in the period (activity basis: those with no
  purchase in the period). ``churn_rate = lost / customers``; ``retention_rate = 1 - churn_rate``.
* ``active`` — customers with at least one order of positive value in the period; ``orders`` —
  such orders. An order is an ``order_id``; its value is the sum of its lines (returns negative).
* ``revenue`` — net revenue of all rows dated in the period (returns included).
* ``aov`` — mean value of the positive orders (a ratio of sums over active customers, who are the
  independent units); ``frequency`` — orders per active customer;
  ``revenue_per_customer`` — mean net revenue per active customer in the period.
* ``spend`` — marketing spend of the period; surveys: responses dated in the period, ``csat_top2``
  answers in the top two points of the satisfaction scale, NPS promoters (9-10), passives (7-8)
  and detractors (0-6).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.kpi.periods import Periods

UNKNOWN = "unknown"
STAT_COLUMNS = (
    "customers", "new", "churned", "lost", "active", "orders", "revenue",
    "aov_sum", "aov_yy", "aov_xy", "freq_sumsq", "rpc_sum", "rpc_sumsq", "spend",
    "csat_n", "csat_top2", "nps_n", "promoters", "passives", "detractors",
)


def churn_basis(ds) -> str:
    """"contractual" when the customers table has churn dates, else "activity"."""
    cu = ds.customers
    if cu is not None and "churn_date" in cu.columns and cu["acquisition_date"].notna().any():
        return "contractual"
    return "activity"


def customer_regions(ds) -> pd.Series:
    """Region per customer id (``unknown`` where the dataset has none)."""
    cu = ds.customers
    if cu is None or "region" not in cu.columns:
        return pd.Series(dtype=object)
    return cu.set_index("customer_id")["region"].fillna(UNKNOWN).astype(str)


def _region_of(ids: pd.Series, regions: pd.Series) -> np.ndarray:
    if regions.empty:
        return np.full(len(ids), "all", dtype=object)
    return ids.map(regions).fillna(UNKNOWN).astype(str).to_numpy()


def _count(region: np.ndarray, k: np.ndarray, n: int, weights=None, name: str = "x") -> pd.Series:
    """Sum of ``weights`` (or a count) per (region, period) for rows with 0 <= k < n."""
    ok = (k >= 0) & (k < n)
    w = np.ones(ok.sum()) if weights is None else np.asarray(weights, dtype=float)[ok]
    frame = pd.DataFrame({"region": region[ok], "k": k[ok], name: w})
    return frame.groupby(["region", "k"])[name].sum()


def _base_counts(ds, periods: Periods, regions: pd.Series) -> pd.DataFrame:
    """customers, new, churned, lost per (region, k) from acquisition and churn dates."""
    cu = ds.customers
    n = len(periods)
    cu = cu.loc[cu["acquisition_date"].notna()]
    reg = _region_of(cu["customer_id"], regions)
    a = periods.index(cu["acquisition_date"])
    if "churn_date" in cu:
        churn = cu["churn_date"].where(cu["churn_date"] <= ds.as_of)
    else:
        churn = pd.Series(pd.NaT, index=cu.index)
    c = periods.index(churn)
    c = np.where(c == -2, n, c)                      # never churned (by the as-of date)
    # In the base at the start of k  <=>  a < k <= c. Add +1 at max(a+1, 0), -1 at c+1 (clipped).
    lo = np.clip(a + 1, 0, n)
    hi = np.clip(c + 1, 0, n)
    keep = hi > lo
    codes, uniq = pd.factorize(reg)
    diff = np.zeros((len(uniq), n + 1))
    np.add.at(diff, (codes[keep], lo[keep]), 1)
    np.add.at(diff, (codes[keep], hi[keep]), -1)
    base = np.cumsum(diff, axis=1)[:, :n]
    out = pd.DataFrame(base, index=pd.Index(uniq, name="region"), columns=pd.RangeIndex(n, name="k")).stack()
    out = out.rename("customers").to_frame()
    out["new"] = _count(reg, a, n)
    out["churned"] = _count(reg, c, n)
    out["lost"] = _count(reg, np.where(a < c, c, -1), n)
    return out.fillna(0.0)


def _transaction_stats(ds, periods: Periods, regions: pd.Series, basis: str) -> pd.DataFrame:
    """The transaction columns per (region, k), aggregated by the dataset's engine
    (:func:`toolkit.engine.period_transaction_stats`)."""
    from toolkit.engine import as_log, collect, engine_of, period_transaction_stats, scan, transaction_log

    tx = as_log(transaction_log(ds), columns=("order_id",))
    reg = None
    if not regions.empty:
        reg = scan(pd.DataFrame({"customer_id": regions.index.to_numpy(), "region": regions.to_numpy()}),
                   engine_of(tx))
    out = collect(period_transaction_stats(tx, reg, list(periods.edges), basis == "activity"))
    out = out.loc[out["k"].between(0, len(periods) - 1)]
    out["k"] = out["k"].astype(np.int64)
    out = out.set_index(["region", "k"]).sort_index().astype("float64")
    if basis == "activity":
        out["churned"] = out["lost"]
    return out


def _spend(ds, periods: Periods) -> pd.Series:
    ms = ds.marketing_spend
    k = periods.index(ms["period"])
    return _count(ms["region"].fillna(UNKNOWN).astype(str).to_numpy(), k, len(periods), ms["spend"], "spend")


def survey_scale(ds) -> tuple[float, float]:
    """The satisfaction scale of the surveys table (spec ``scale``; default 1-5)."""
    ts = ds.spec.tables.get("surveys")
    scale = (ts.raw.get("scale") if ts is not None else None) or [1, 5]
    return float(scale[0]), float(scale[1])


def _survey_stats(ds, periods: Periods, regions: pd.Series) -> pd.DataFrame:
    sv = ds.surveys
    n = len(periods)
    if "response_date" not in sv.columns or sv["response_date"].isna().all():
        return pd.DataFrame()
    reg = _region_of(sv["customer_id"], regions)
    k = periods.index(sv["response_date"])
    _, hi = survey_scale(ds)
    sat = sv["overall_satisfaction"]
    out = pd.DataFrame({"csat_n": _count(reg, k, n, sat.notna(), "n"),
                        "csat_top2": _count(reg, k, n, sat >= hi - 1, "t")})
    if "nps" in sv.columns and sv["nps"].notna().any():
        nps = sv["nps"]
        out["nps_n"] = _count(reg, k, n, nps.notna(), "n")
        out["promoters"] = _count(reg, k, n, nps >= 9, "p")
        out["passives"] = _count(reg, k, n, (nps >= 7) & (nps < 9), "q")
        out["detractors"] = _count(reg, k, n, nps <= 6, "d")
    return out


def period_stats(ds, periods: Periods) -> pd.DataFrame:
    """Additive statistics per (region, period label); columns :data:`STAT_COLUMNS` (NaN = no data)."""
    regions = customer_regions(ds)
    basis = churn_basis(ds)
    parts = []
    if basis == "contractual":
        parts.append(_base_counts(ds, periods, regions))
    elif ds.customers is not None and "acquisition_date" in ds.customers.columns:
        parts.append(_base_counts(ds, periods, regions)[["new"]])
    if ds.has("transactions"):
        parts.append(_transaction_stats(ds, periods, regions, basis))
    if ds.marketing_spend is not None:
        parts.append(_spend(ds, periods).to_frame())
    if ds.surveys is not None:
        parts.append(_survey_stats(ds, periods, regions))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["region", "period", *STAT_COLUMNS])
    out = pd.concat(parts, axis=1)
    out = out.reindex(columns=list(STAT_COLUMNS))
    # Zero, not missing, for counts of a table that exists but had no rows in a cell.
    have = {"customers": basis == "contractual" or ds.has("transactions"),
            "new": ds.customers is not None and "acquisition_date" in ds.customers.columns,
            "transactions": ds.has("transactions"), "spend": ds.marketing_spend is not None,
            "surveys": ds.surveys is not None}
    full = pd.MultiIndex.from_product([sorted(set(out.index.get_level_values(0))), range(len(periods))],
                                      names=["region", "k"])
    out = out.reindex(full)
    groups = {"customers": ["customers", "churned", "lost"], "new": ["new"],
              "transactions": ["active", "orders", "revenue", "aov_sum", "aov_yy", "aov_xy", "freq_sumsq",
                               "rpc_sum", "rpc_sumsq"],
              "spend": ["spend"], "surveys": ["csat_n", "csat_top2"]}
    for key, cols in groups.items():
        if have[key]:
            out[cols] = out[cols].fillna(0.0)
    if have["surveys"] and out["nps_n"].notna().any():
        out[["nps_n", "promoters", "passives", "detractors"]] = out[["nps_n", "promoters", "passives",
                                                                     "detractors"]].fillna(0.0)
    if basis == "activity":   # no previous period to measure the first one's base against
        out.loc[out.index.get_level_values("k") == 0, ["customers", "churned", "lost"]] = np.nan
    out = out.reset_index()
    out.insert(1, "period", np.asarray(periods.labels, dtype=object)[out["k"].to_numpy()])
    out["basis"] = basis
    return out.drop(columns="k")
