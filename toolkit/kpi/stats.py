"""Intervals and two-sample tests on summary statistics, vectorised over groups.

Every function takes arrays (one element per group) so a whole region x period table is
tested in one call. Conventions: ``alpha`` is the two-sided error rate of intervals and tests;
p-values are two-sided; NaN goes in wherever a group is too small for the statistic.

* proportions — Wilson score interval; pooled two-proportion z-test;
* means — t interval; Welch's unequal-variance t-test from means, variances and counts; a ratio of
  sums over customers (average order value) gets a delta-method standard error and a Welch-type test;
* NPS — bootstrap (multinomial resampling of promoter / passive / detractor counts, which is
  the ordinary bootstrap for a three-category variable): percentile interval; the test divides
  the difference by its bootstrap standard error;
* rates (new customers per unit of spend, i.e. CAC) — exact Poisson interval of the count and
  a Wald test of the log rate ratio;
* :func:`adjust` — Holm or Benjamini-Hochberg across a family (statsmodels.stats.multitest).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def wilson(count, nobs, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``count / nobs`` (NaN where ``nobs == 0``)."""
    count, nobs = _f(count), _f(nobs)
    ok = nobs > 0
    lo, hi = np.full(count.shape, np.nan), np.full(count.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(count[ok], nobs[ok], alpha=alpha, method="wilson")
        # the closed form leaves rounding dust at 0 and n successes (a lower bound of 3e-17
        # for 0 of 7); the interval always holds the observed share
        share = count[ok] / nobs[ok]
        lo[ok], hi[ok] = np.minimum(lo[ok], share), np.maximum(hi[ok], share)
    return lo, hi


def two_proportion_z(count1, n1, count2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z-test of p1 = p2: returns (z, two-sided p)."""
    c1, n1, c2, n2 = _f(count1), _f(n1), _f(count2), _f(n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (c1 + c2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (c1 / n1 - c2 / n2) / se
    z = np.where((n1 > 0) & (n2 > 0) & (se > 0), z, np.nan)
    return z, 2 * st.norm.sf(np.abs(z))


def mean_interval(mean, var, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """t interval of a mean from its sample variance and count (NaN for n < 2)."""
    mean, var, n = _f(mean), _f(var), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = st.t.ppf(1 - alpha / 2, n - 1) * np.sqrt(var / n)
    half = np.where(n >= 2, half, np.nan)
    return mean - half, mean + half


def welch(mean1, var1, n1, mean2, var2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Welch's t-test from summary statistics: returns (t, two-sided p); NaN for n < 2."""
    m1, v1, n1, m2, v2, n2 = map(_f, (mean1, var1, n1, mean2, var2, n2))
    ok = (n1 >= 2) & (n2 >= 2) & ((v1 > 0) | (v2 > 0))
    t, p = np.full(m1.shape, np.nan), np.full(m1.shape, np.nan)
    if ok.any():
        res = st.ttest_ind_from_stats(m1[ok], np.sqrt(v1[ok]), n1[ok], m2[ok], np.sqrt(v2[ok]), n2[ok],
                                      equal_var=False)
        t[ok], p[ok] = res.statistic, res.pvalue
    return t, p


def ratio_se(n, x, y, sxx, sxy, syy) -> tuple[np.ndarray, np.ndarray]:
    """Ratio R = sum(y) / sum(x) over ``n`` independent units and its delta-method standard error.

    Used for the average order value with customers as units (orders of one customer are not
    independent): se(R)^2 = n / X^2 * var(y_i - R x_i), from the sums X, Y, sum x^2, sum xy, sum y^2.
    """
    n, x, y, sxx, sxy, syy = map(_f, (n, x, y, sxx, sxy, syy))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = y / x
        resid = np.maximum(syy - 2 * r * sxy + r * r * sxx, 0.0) / (n - 1)
        se = np.sqrt(n * resid) / x
    return np.where(x > 0, r, np.nan), np.where((n > 1) & (x > 0), se, np.nan)


def estimate_interval(est, se, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """t interval (n - 1 degrees of freedom) of an estimate with a standard error."""
    est, se, n = _f(est), _f(se), _f(n)
    with np.errstate(invalid="ignore"):
        half = st.t.ppf(1 - alpha / 2, n - 1) * se
    return est - half, est + half


def welch_se(est1, se1, n1, est2, se2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Welch-type t-test of two independent estimates with standard errors (Satterthwaite df)."""
    e1, s1, n1, e2, s2, n2 = map(_f, (est1, se1, n1, est2, se2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        v1, v2 = s1 * s1, s2 * s2
        t = (e1 - e2) / np.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
        p = 2 * st.t.sf(np.abs(t), df)
    ok = (n1 > 1) & (n2 > 1) & (v1 + v2 > 0)
    return np.where(ok, t, np.nan), np.where(ok, p, np.nan)


def mean_var(n, total, sumsq) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample variance from count, sum and sum of squares (for rest-of-company groups)."""
    n, total, sumsq = _f(n), _f(total), _f(sumsq)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        var = (sumsq - n * mean * mean) / (n - 1)
    return np.where(n > 0, mean, np.nan), np.where(n > 1, np.maximum(var, 0.0), np.nan)


def nps_value(promoters, detractors, n) -> np.ndarray:
    """Net promoter score in points (-100..100): 100 * (promoters - detractors) / n."""
    p, d, n = _f(promoters), _f(detractors), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, 100 * (p - d) / n, np.nan)


def _nps_draws(promoters, passives, detractors, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    counts = np.stack([_f(promoters), _f(passives), _f(detractors)], axis=-1)
    n = counts.sum(axis=-1)
    safe = np.where(n > 0, n, 1)
    pvals = np.where(n[:, None] > 0, counts / safe[:, None], 1 / 3)
    draws = rng.multinomial(safe.astype(np.int64), pvals, size=(n_boot, len(n)))
    with np.errstate(invalid="ignore"):
        nps = 100 * (draws[..., 0] - draws[..., 2]) / safe
    return np.where(n > 0, nps, np.nan)


def nps_bootstrap(promoters, passives, detractors, alpha: float = 0.05, n_boot: int = 2000,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of NPS per group."""
    rng = np.random.default_rng(seed)
    d = _nps_draws(promoters, passives, detractors, rng, n_boot)
    lo, hi = np.full(d.shape[1], np.nan), np.full(d.shape[1], np.nan)
    ok = np.isfinite(d).any(axis=0)
    if ok.any():
        lo[ok], hi[ok] = np.nanquantile(d[:, ok], [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi


def nps_bootstrap_test(group1: tuple, group2: tuple, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Two-sided bootstrap test of NPS1 = NPS2 for independent samples.

    ``group1`` and ``group2`` are (promoters, passives, detractors) arrays. Each group is resampled
    ``n_boot`` times; the standard deviation of the resampled differences is the standard error
    of the observed difference, and p = 2 * (1 - Phi(|d| / se)). (A p-value counted from the
    resamples could not go below 1 / (B + 1), which no multiple-comparison correction over
    dozens of tests would let through.)
    """
    rng = np.random.default_rng(seed)
    d1 = _nps_draws(*group1, rng, n_boot)
    d2 = _nps_draws(*group2, rng, n_boot)
    obs = nps_value(group1[0], group1[2], sum(map(_f, group1))) - nps_value(group2[0], group2[2],
                                                                            sum(map(_f, group2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.std(d1 - d2, axis=0, ddof=1)
        z = np.where(se > 0, obs / se, np.where(obs == 0, 0.0, np.inf))
    p = 2 * st.norm.sf(np.abs(z))
    return np.where(np.isfinite(obs), p, np.nan)


def poisson_interval(count, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval of a Poisson count."""
    k = _f(count)
    lo = np.where(k > 0, st.chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
    hi = st.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return lo, hi


def cac_interval(spend, new, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Interval of CAC = spend / new, treating the number of new customers as Poisson."""
    spend, new = _f(spend), _f(new)
    lo, hi = poisson_interval(new, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = spend / hi, np.where(lo > 0, spend / lo, np.inf)
    ok = (new > 0) & np.isfinite(spend)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def rate_ratio_test(count1, exposure1, count2, exposure2) -> tuple[np.ndarray, np.ndarray]:
    """Wald test of equal Poisson rates (count per exposure) on the log scale: (z, two-sided p)."""
    c1, e1, c2, e2 = map(_f, (count1, exposure1, count2, exposure2))
    ok = (c1 > 0) & (c2 > 0) & (e1 > 0) & (e2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(c1 / e1) - np.log(c2 / e2)) / np.sqrt(1 / c1 + 1 / c2)
    z = np.where(ok, z, np.nan)
    return z, 2 * st.norm.sf(np.abs(z))


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values (same result as multipletests(method="holm")).

    Computed here because statsmodels' Holm branch runs a full garbage collection on every call,
    which costs ~0.1 s per family in a notebook process; the tests check both agree.
    """
    p = _f(p)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def adjust(p, method: str = "holm") -> np.ndarray:
    """Adjusted p-values across one family; NaN entries are left out of the family."""
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, not {method!r}")
    p = _f(p)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    if method == "none":
        out[ok] = p[ok]
    elif method == "holm":
        out[ok] = holm(p[ok])
    else:
        out[ok] = multipletests(p[ok], method=method)[1]
    return out
