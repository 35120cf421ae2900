"""The scorecard's metrics: definition, unit, the interval and test that suit each, all from sums.

Every function here takes frames of additive statistics (see :mod:`toolkit.kpi.aggregate`), one
row per group, so the same code serves regions, the rest of the company, the whole company and
previous periods.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.kpi import formulas
from toolkit.kpi import stats as S
from toolkit.value_terms import CLTV_LABEL


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    kind: str          # count | total | proportion | mean | ratio | nps | cac | derived
    better: str = ""   # "higher" | "lower" | "" (neither)
    test: str = ""     # the test used for comparisons ("" = descriptive only)


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("customers", "Customers at start of period", "customers", "count"),
    Metric("new", "New customers", "customers", "count", "higher"),
    Metric("active", "Active customers", "customers", "count", "higher"),
    Metric("churned", "Churned customers", "customers", "count", "lower"),
    Metric("revenue", "Net revenue", "currency", "total", "higher"),
    Metric("aov", "Average order value", "currency per order", "ratio", "higher",
           "Welch t (delta method, customers as units)"),
    Metric("purchase_frequency", "Purchase frequency", "orders per active customer", "mean", "higher", "Welch t"),
    Metric("revenue_per_customer", "Revenue per customer", "currency per active customer", "mean", "higher",
           "Welch t"),
    Metric("retention_rate", "Retention rate", "share of customers at start", "proportion", "higher",
           "two-proportion z"),
    Metric("churn_rate", "Churn rate", "share of customers at start", "proportion", "lower", "two-proportion z"),
    Metric("cac", "Customer acquisition cost", "currency per new customer", "cac", "lower",
           "Poisson rate ratio (new customers per spend)"),
    Metric("cltv", CLTV_LABEL, "currency per customer", "derived", "higher"),
    Metric("clv_cac", "CLV / CAC", "ratio", "derived", "higher"),
    Metric("nps", "Net promoter score", "points (-100..100)", "nps", "higher", "bootstrap z"),
    Metric("csat", "CSAT (top-2-box)", "share of responses", "proportion", "higher", "two-proportion z"),
)}

_PROPORTION = {"churn_rate": ("lost", "customers"), "csat": ("csat_top2", "csat_n")}
_RATIO = {"aov": ("active", "orders", "aov_sum", "freq_sumsq", "aov_xy", "aov_yy")}
_MEAN = {"purchase_frequency": ("active", "orders", "freq_sumsq"),
         "revenue_per_customer": ("active", "rpc_sum", "rpc_sumsq")}
_COUNT = {"customers": "customers", "new": "new", "active": "active", "churned": "churned", "revenue": "revenue"}


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=float) if name in frame.columns else np.full(len(frame), np.nan)


def _proportion_counts(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "retention_rate":
        lost, n = _proportion_counts(frame, "churn_rate")
        return n - lost, n
    k, n = _PROPORTION[name]
    return _col(frame, k), _col(frame, n)


def values(frame: pd.DataFrame) -> pd.DataFrame:
    """Point value of every metric for each row of a statistics frame (index kept)."""
    out = pd.DataFrame(index=frame.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        for m, col in _COUNT.items():
            out[m] = _col(frame, col)
        out["aov"] = S.ratio_se(*(_col(frame, c) for c in _RATIO["aov"]))[0]
        for m in ("purchase_frequency", "revenue_per_customer"):
            n, total, _ = (_col(frame, c) for c in _MEAN[m])
            out[m] = np.where(n > 0, total / n, np.nan)
        for m in ("retention_rate", "churn_rate", "csat"):
            k, n = _proportion_counts(frame, m)
            out[m] = np.where(n > 0, k / n, np.nan)
        out["cac"] = formulas.cac(_col(frame, "spend"), _col(frame, "new"))
        out["cltv"] = formulas.cltv(out["purchase_frequency"], out["aov"], formulas.lifespan(out["churn_rate"]))
        out["clv_cac"] = formulas.clv_cac(out["cltv"], out["cac"])
        out["nps"] = S.nps_value(_col(frame, "promoters"), _col(frame, "detractors"), _col(frame, "nps_n"))
    return out[list(METRICS)]


def interval(frame: pd.DataFrame, metric: str, alpha: float = 0.05, n_boot: int = 2000,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, n) of one metric per row; NaN bounds for descriptive metrics."""
    kind = METRICS[metric].kind
    nan = np.full(len(frame), np.nan)
    if kind == "proportion":
        k, n = _proportion_counts(frame, metric)
        lo, hi = S.wilson(k, n, alpha)
        return lo, hi, n
    if kind == "ratio":
        cols = [_col(frame, c) for c in _RATIO[metric]]
        est, se = S.ratio_se(*cols)
        lo, hi = S.estimate_interval(est, se, cols[0], alpha)
        return lo, hi, cols[1]
    if kind == "mean":
        n, total, sumsq = (_col(frame, c) for c in _MEAN[metric])
        mean, var = S.mean_var(n, total, sumsq)
        lo, hi = S.mean_interval(mean, var, n, alpha)
        return lo, hi, n
    if kind == "nps":
        lo, hi = S.nps_bootstrap(_col(frame, "promoters"), _col(frame, "passives"), _col(frame, "detractors"),
                                 alpha, n_boot, seed)
        return lo, hi, _col(frame, "nps_n")
    if kind == "cac":
        lo, hi = S.cac_interval(_col(frame, "spend"), _col(frame, "new"), alpha)
        return lo, hi, _col(frame, "new")
    n = {"customers": "customers", "churned": "customers", "new": "new", "active": "active",
         "revenue": "orders", "cltv": "active", "clv_cac": "new"}.get(metric)
    return nan, nan, _col(frame, n) if n else nan


def test(a: pd.DataFrame, b: pd.DataFrame, metric: str, n_boot: int = 2000,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(statistic, two-sided p) comparing rows of ``a`` with the aligned rows of ``b``."""
    kind = METRICS[metric].kind
    if kind == "proportion":
        k1, n1 = _proportion_counts(a, metric)
        k2, n2 = _proportion_counts(b, metric)
        return S.two_proportion_z(k1, n1, k2, n2)
    if kind == "ratio":
        c1 = [_col(a, c) for c in _RATIO[metric]]
        c2 = [_col(b, c) for c in _RATIO[metric]]
        return S.welch_se(*S.ratio_se(*c1), c1[0], *S.ratio_se(*c2), c2[0])
    if kind == "mean":
        n1, t1, q1 = (_col(a, c) for c in _MEAN[metric])
        n2, t2, q2 = (_col(b, c) for c in _MEAN[metric])
        m1, v1 = S.mean_var(n1, t1, q1)
        m2, v2 = S.mean_var(n2, t2, q2)
        return S.welch(m1, v1, n1, m2, v2, n2)
    if kind == "nps":
        g1 = tuple(_col(a, c) for c in ("promoters", "passives", "detractors"))
        g2 = tuple(_col(b, c) for c in ("promoters", "passives", "detractors"))
        p = S.nps_bootstrap_test(g1, g2, n_boot, seed)
        return np.full(len(a), np.nan), p
    if kind == "cac":
        # Fewer new customers per unit of spend = higher CAC; sign so that z > 0 means higher CAC.
        z, p = S.rate_ratio_test(_col(b, "new"), _col(b, "spend"), _col(a, "new"), _col(a, "spend"))
        return z, p
    nan = np.full(len(a), np.nan)
    return nan, nan
