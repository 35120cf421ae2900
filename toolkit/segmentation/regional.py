"""Regional analysis and customer-base audit views.

Region x segment counts and revenue shares, a chi-square test of the segment mix across regions
(with Cramér's V), Kruskal-Wallis on spend per customer across regions (with epsilon-squared),
each region's leading segments; decile table, Lorenz curve and Gini coefficient of revenue, and
revenue by acquisition-quarter cohort over time (the layered "C3" chart).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scipy import stats

from toolkit import concentration
from toolkit.concentration import gini, top_share  # noqa: F401  (re-exported)

OTHER_REGIONS = "other regions"


def pool_regions(regions: pd.Series, min_customers: int = 20, label: str = OTHER_REGIONS) -> pd.Series:
    """Regions with fewer than ``min_customers`` customers pooled into one ``label``."""
    counts = regions.value_counts()
    small = counts.index[counts < min_customers]
    if len(small) < 2:  # pooling a single region changes nothing but its name
        return regions.copy()
    return regions.where(~regions.isin(small), label)


def region_segment_table(frame: pd.DataFrame, segment: str, region: str = "region",
                         value: str = "monetary") -> pd.DataFrame:
    """Long table: customers and revenue per region and segment, with shares within the region.

    ``customer_share`` / ``revenue_share`` are shares of the region's customers / revenue;
    ``index`` is the segment's customer share in the region divided by its share overall.
    """
    df = frame[[region, segment, value]].copy()
    df[segment] = df[segment].astype(object).where(df[segment].notna(), "missing")
    g = df.groupby([region, segment], sort=True)
    out = pd.DataFrame({"customers": g.size(), "revenue": g[value].sum()}).reset_index()
    out.columns = ["region", "segment", "customers", "revenue"]
    reg_n = out.groupby("region")["customers"].transform("sum")
    reg_rev = out.groupby("region")["revenue"].transform("sum")
    out["customer_share"] = out["customers"] / reg_n
    out["revenue_share"] = (out["revenue"] / reg_rev).where(reg_rev != 0)
    overall = out.groupby("segment")["customers"].sum() / out["customers"].sum()
    out["index"] = out["customer_share"] / out["segment"].map(overall)
    return out


def crosstab(table: pd.DataFrame, values: str = "customers", order: list | None = None) -> pd.DataFrame:
    """Wide region x segment view of a :func:`region_segment_table` column (segments in ``order`` first)."""
    wide = table.pivot(index="region", columns="segment", values=values).fillna(0)
    if order is not None:
        wide = wide[[c for c in order if c in wide.columns] + [c for c in wide.columns if c not in order]]
    return wide


def segment_mix_test(frame: pd.DataFrame, segment: str, region: str = "region") -> dict:
    """Chi-square test of independence of segment and region (customer counts), with Cramér's V.

    ``low_expected_share`` is the share of cells with an expected count below 5 (the test's
    approximation is doubtful above about 20%).
    """
    ct = pd.crosstab(frame[region], frame[segment])
    ct = ct.loc[ct.sum(axis=1) > 0, ct.sum(axis=0) > 0]
    if ct.shape[0] < 2 or ct.shape[1] < 2:
        return {"chi2": np.nan, "dof": 0, "p_value": np.nan, "cramers_v": np.nan, "n": int(ct.to_numpy().sum()),
                "regions": ct.shape[0], "segments": ct.shape[1], "low_expected_share": np.nan}
    chi2, p, dof, expected = stats.chi2_contingency(ct.to_numpy())
    n = ct.to_numpy().sum()
    v = np.sqrt(chi2 / (n * (min(ct.shape) - 1)))
    return {"chi2": float(chi2), "dof": int(dof), "p_value": float(p), "cramers_v": float(v), "n": int(n),
            "regions": int(ct.shape[0]), "segments": int(ct.shape[1]),
            "low_expected_share": float((expected < 5).mean())}


def spend_by_region_test(frame: pd.DataFrame, value: str = "monetary", region: str = "region") -> dict:
    """Kruskal-Wallis H test of spend per customer across regions, with epsilon-squared = H / (n - 1)."""
    df = frame[[region, value]].dropna()
    groups = [g.to_numpy(dtype=float) for _, g in df.groupby(region, sort=True)[value]]
    groups = [g for g in groups if len(g)]
    n = sum(len(g) for g in groups)
    if len(groups) < 2 or n < 3 or np.ptp(df[value].to_numpy(dtype=float)) == 0:
        return {"H": np.nan, "dof": len(groups) - 1, "p_value": np.nan, "epsilon_squared": np.nan, "n": n,
                "regions": len(groups)}
    h, p = stats.kruskal(*groups)
    return {"H": float(h), "dof": len(groups) - 1, "p_value": float(p), "epsilon_squared": float(h / (n - 1)),
            "n": int(n), "regions": len(groups)}


def spend_by_region(frame: pd.DataFrame, value: str = "monetary", region: str = "region") -> pd.DataFrame:
    """Customers, median, mean and total spend per region, with the mean rank used by Kruskal-Wallis."""
    df = frame[[region, value]].dropna()
    rank = df[value].rank()
    g = df.groupby(region, sort=True)[value]
    out = pd.DataFrame({"customers": g.size(), "median_spend": g.median(), "mean_spend": g.mean(),
                        "revenue": g.sum(), "mean_rank": rank.groupby(df[region]).mean()})
    out.index.name = "region"
    return out.sort_values("median_spend", ascending=False)


def leading_segments(table: pd.DataFrame, n: int = 2) -> pd.DataFrame:
    """Each region's ``n`` largest segments by customers, with share and over-representation index."""
    t = table.sort_values(["region", "customers", "segment"], ascending=[True, False, True])
    top = t.groupby("region", sort=True).head(n).copy()
    top["rank"] = top.groupby("region").cumcount() + 1
    top["text"] = (top["segment"].astype(str) + " " + (100 * top["customer_share"]).round().astype(int).astype(str)
                   + "% (index " + top["index"].round(2).map("{:.2f}".format) + ")")
    over = t.loc[t["customers"] >= 5].sort_values(["region", "index"], ascending=[True, False])
    most_over = over.groupby("region").head(1).set_index("region")
    out = top.pivot(index="region", columns="rank", values="text")
    out.columns = [f"segment_{i}" for i in out.columns]
    out["most_over_represented"] = most_over["segment"].astype(str) + " (index " + most_over["index"].round(2).map(
        "{:.2f}".format) + ")"
    return out


# ------------------------------------------------------------------------------- customer-base audit
def decile_table(values: pd.Series) -> pd.DataFrame:
    """Customers ranked by value (highest first, ties by id) in ten equal groups: revenue and shares."""
    v = values.dropna()
    frame = pd.DataFrame({"v": v.to_numpy(), "id": v.index.astype(str)})
    frame = frame.sort_values(["v", "id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    frame["decile"] = np.arange(len(frame)) * 10 // max(len(frame), 1) + 1
    g = frame.groupby("decile")["v"]
    out = pd.DataFrame({"customers": g.size(), "revenue": g.sum(), "mean_revenue": g.mean(),
                        "min_revenue": g.min(), "max_revenue": g.max()})
    total = frame["v"].sum()
    out.insert(2, "revenue_share", out["revenue"] / total if total else np.nan)
    out.insert(3, "cumulative_share", out["revenue_share"].cumsum())
    out.index.name = "decile"
    return out


def lorenz_curve(values: pd.Series) -> pd.DataFrame:
    """Cumulative share of customers (poorest first) against cumulative share of revenue (negatives as 0)."""
    return concentration.lorenz_curve(values, value_name="revenue_share")


def _engine_cohort_rows(transactions: Any, first_purchase: pd.Series, as_of, period: str,
                        cohort: str) -> pd.DataFrame:
    """Net amount per (``_period``, ``_cohort``) of the rows (a pandas frame or a LazyFrame), summed by the engine."""
    from toolkit.engine import as_day, as_log, collect, engine_of, period_cohort_revenue, period_index, scan

    lf = as_log(transactions)
    known = first_purchase.dropna()
    cohorts = pd.DataFrame({"customer_id": known.index.to_numpy(),
                            "cohort": pd.to_datetime(known).dt.to_period(cohort).astype(str).to_numpy(object)})
    got = collect(period_cohort_revenue(lf, scan(cohorts, engine_of(lf)), period,
                                        as_day(as_of) if as_of is not None else None))
    periods = period_index(got["period"], period)
    return pd.DataFrame({"_period": periods, "_cohort": got["cohort"].to_numpy(),
                         "amount": got["amount"].to_numpy(float)})


def cohort_revenue(transactions: Any, first_purchase: pd.Series, as_of=None,
                   period: str = "Q", cohort: str = "Q", complete_only: bool = True) -> pd.DataFrame:
    """Net revenue per period (rows) and acquisition cohort (columns, e.g. ``2024Q1``) up to ``as_of``.

    The cohort is the quarter of the customer's first purchase. With ``complete_only`` a last
    period that ends after ``as_of`` (only partly observed) is left out. ``transactions`` is a
    pandas frame or a LazyFrame; the engine computes the sums (``period`` "M", "Q" or "Y").
    """
    tx = _engine_cohort_rows(transactions, first_purchase, as_of, period, cohort)
    if isinstance(transactions, pd.DataFrame):   # its amount type (sums of integers are exact in floats)
        tx["amount"] = tx["amount"].astype(transactions["amount"].dtype)
    out = tx.pivot_table(index="_period", columns="_cohort", values="amount", aggfunc="sum", fill_value=0.0)
    full = pd.period_range(out.index.min(), out.index.max(), freq=out.index.freq)
    out = out.reindex(full, fill_value=0.0)
    if complete_only and as_of is not None and len(out) > 1:
        out = out.loc[[p.end_time.normalize() <= pd.Timestamp(as_of).normalize() for p in out.index]]
    out.index.name = "period"
    out.columns.name = "cohort"
    return out


def region_mix_all(frame: pd.DataFrame, schemes: list[str], region: str = "region",
                   value: str = "monetary") -> pd.DataFrame:
    """:func:`region_segment_table` for several segment columns, stacked with a ``scheme`` column.

    Schemes that are not columns of ``frame`` are skipped; with none left the table is empty (no rows,
    the same columns)."""
    parts = [region_segment_table(frame, s, region, value).assign(scheme=s) for s in schemes if s in frame.columns]
    if not parts:
        return pd.DataFrame({"scheme": pd.Series(dtype=object), "region": pd.Series(dtype=object),
                             "segment": pd.Series(dtype=object), "customers": pd.Series(dtype="int64"),
                             "revenue": pd.Series(dtype=float), "customer_share": pd.Series(dtype=float),
                             "revenue_share": pd.Series(dtype=float), "index": pd.Series(dtype=float)})
    out = pd.concat(parts, ignore_index=True)
    return out[["scheme"] + [c for c in out.columns if c != "scheme"]]


def mix_tests(frame: pd.DataFrame, schemes: list[str], region: str = "region") -> pd.DataFrame:
    """:func:`segment_mix_test` per segment column (one row per scheme)."""
    rows = {s: segment_mix_test(frame, s, region) for s in schemes if s in frame.columns}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "scheme"
    return out
