"""Key-driver analysis of overall satisfaction and the importance x performance matrix.

Drivers are construct scores (the mean of a respondent's answered items, when at least half of the
construct's items were answered). On the complete cases:

* standardised OLS coefficients (z-scored outcome and drivers) with t-based intervals;
* relative importance as the Shapley / LMG decomposition of R^2 (each driver's average gain in R^2
  over all orders of entry; exact enumeration of the 2^p subsets, p <= 12), and Johnson's (2000)
  relative weights as a cross-check; both sum to the model R^2.

Importance x performance: importance = the driver's share of R^2, performance = its mean score
rescaled to 0-100 on the answer scale; the quadrants split at the mean importance and mean
performance of the drivers.
"""
from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd
import statsmodels.api as sm

MAX_SHAPLEY = 12
QUADRANTS = {(True, False): "Concentrate here", (True, True): "Keep up the good work",
             (False, False): "Low priority", (False, True): "Possible overkill"}


def construct_scores(frame: pd.DataFrame, constructs: dict[str, list[str]], min_share: float = 0.5) -> pd.DataFrame:
    """Mean answer per construct and respondent (NaN when fewer than ``min_share`` of items answered)."""
    out = {}
    for name, cols in constructs.items():
        x = frame[cols]
        enough = x.notna().sum(axis=1) >= max(1, int(np.ceil(min_share * len(cols))))
        out[name] = x.mean(axis=1).where(enough)
    return pd.DataFrame(out, index=frame.index)


def _r2(corr: np.ndarray, mask: int, p: int) -> float:
    idx = [j for j in range(p) if mask >> j & 1]
    if not idx:
        return 0.0
    rxx = corr[np.ix_(idx, idx)]
    rxy = corr[idx, p]
    return float(rxy @ np.linalg.solve(rxx, rxy))


def shapley_r2(corr: np.ndarray) -> np.ndarray:
    """LMG / Shapley shares of R^2 from the correlation matrix of (drivers..., outcome)."""
    p = corr.shape[0] - 1
    if p > MAX_SHAPLEY:
        raise ValueError(f"exact Shapley decomposition needs at most {MAX_SHAPLEY} drivers, got {p}")
    masks = np.arange(1 << p)
    r2 = np.array([_r2(corr, int(m), p) for m in masks])
    size = np.array([bin(int(m)).count("1") for m in masks])
    weight = np.array([factorial(s) * factorial(p - s - 1) / factorial(p) if s < p else 0.0 for s in size])
    out = np.zeros(p)
    for j in range(p):
        without = masks[(masks >> j & 1) == 0]
        out[j] = np.sum(weight[without] * (r2[without | (1 << j)] - r2[without]))
    return out


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's relative weights from the correlation matrix of (drivers..., outcome)."""
    p = corr.shape[0] - 1
    rxx, rxy = corr[:p, :p], corr[:p, p]
    ev, vec = np.linalg.eigh(rxx)
    lam = vec @ np.diag(np.sqrt(np.clip(ev, 0, None))) @ vec.T
    beta = np.linalg.solve(lam, rxy)
    return (lam ** 2) @ (beta ** 2)


def key_drivers(scores: pd.DataFrame, outcome: pd.Series, drivers: list[str], alpha: float = 0.05,
                labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Standardised OLS and relative importance of ``drivers`` for ``outcome`` (complete cases).

    The returned frame carries ``attrs`` r2, adj_r2 and n.
    """
    data = pd.concat([scores[drivers], outcome.rename("_y")], axis=1).dropna()
    if len(data) < len(drivers) + 3:
        raise ValueError(f"only {len(data)} complete responses for {len(drivers)} drivers")
    z = (data - data.mean()) / data.std(ddof=1)
    fit = sm.OLS(z["_y"], sm.add_constant(z[drivers])).fit()
    ci = fit.conf_int(alpha).loc[drivers]
    corr = z.corr().to_numpy()
    out = pd.DataFrame({
        "label": [(labels or {}).get(d, d) for d in drivers],
        "r": corr[:-1, -1],
        "beta": fit.params[drivers].to_numpy(), "ci_low": ci[0].to_numpy(), "ci_high": ci[1].to_numpy(),
        "p_value": fit.pvalues[drivers].to_numpy(),
        "relative_weight": relative_weights(corr),
    }, index=pd.Index(drivers, name="driver"))
    if len(drivers) <= MAX_SHAPLEY:
        out["lmg"] = shapley_r2(corr)
    else:
        out["lmg"] = np.nan
    share_of = out["lmg"] if out["lmg"].notna().all() else out["relative_weight"]
    out["importance"] = share_of / share_of.sum()
    out.attrs.update(r2=float(fit.rsquared), adj_r2=float(fit.rsquared_adj), n=int(len(data)),
                     method="LMG (Shapley)" if out["lmg"].notna().all() else "relative weights")
    return out.sort_values("importance", ascending=False)


def importance_performance(drivers: pd.DataFrame, scores: pd.DataFrame, scale: tuple[float, float]) -> pd.DataFrame:
    """Importance (share of R^2) against performance (mean score, 0-100) with quadrant names."""
    lo, hi = scale
    perf = (scores[drivers.index].mean() - lo) / (hi - lo) * 100
    out = pd.DataFrame({"label": drivers["label"], "importance": drivers["importance"], "performance": perf})
    imp_cut, perf_cut = out["importance"].mean(), out["performance"].mean()
    out["quadrant"] = [QUADRANTS[(i >= imp_cut, p >= perf_cut)] for i, p in zip(out["importance"], out["performance"])]
    out.attrs.update(importance_cut=float(imp_cut), performance_cut=float(perf_cut))
    return out
