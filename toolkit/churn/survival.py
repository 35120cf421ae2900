"""Survival analysis of customer lifetimes: Kaplan-Meier curves with log-rank tests, and a Cox
proportional-hazards model (statsmodels ``PHReg``) with hazard ratios and a check of the
proportional-hazards assumption from scaled Schoenfeld residuals.

Durations come from :func:`toolkit.churn.labels.churn_labels` (days since acquisition, or tenure
in months for snapshots); the event is ``churned``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.iolib.summary2 import Summary

from toolkit.data.errors import InsufficientDataError
from toolkit.design import OTHER, Design, as_text, top_levels
from toolkit.churn.features import DEFAULT_EXCLUDE, discover_attributes
from toolkit.churn.labels import customer_table

GROUPINGS = ("region", "segment", "contract", "customer_type", "acquisition_channel")


def survival_frame(labels: pd.DataFrame) -> pd.DataFrame:
    """Rows with a usable duration, with ``duration`` and ``event`` (0/1) plus the label attributes."""
    frame = labels.loc[labels["duration"].notna() & (labels["duration"] >= 0)].copy()
    frame["event"] = frame["churned"].astype(int)
    frame.attrs.update(labels.attrs)
    return frame


@dataclass
class LogRankResult:
    """Log-rank test of equal survival across groups."""

    statistic: float
    df: int
    p_value: float
    groups: int

    def __str__(self) -> str:
        return f"log-rank chi2 = {self.statistic:.2f} on {self.df} df, p = {self.p_value:.3g}"


def logrank(durations: pd.Series, events: pd.Series, groups: pd.Series) -> LogRankResult:
    """Log-rank test (statsmodels ``survdiff``) across the values of ``groups``."""
    g = as_text(groups).to_numpy()
    k = len(np.unique(g))
    if k < 2 or np.asarray(events, int).sum() == 0:  # one group, or no events: nothing to compare
        return LogRankResult(np.nan, max(k - 1, 0), np.nan, k)
    chi2, p = survdiff(np.asarray(durations, float), np.asarray(events, int), g)
    return LogRankResult(float(chi2), k - 1, float(p), k)


@dataclass
class KaplanMeierResult:
    """Kaplan-Meier curves per group, a group summary and the log-rank test across groups."""

    curves: pd.DataFrame
    groups: pd.DataFrame
    logrank: LogRankResult | None
    by: str | None
    time_unit: str
    attrs: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        return self.groups

    def survival_at(self, times: list[float]) -> pd.DataFrame:
        """Survival probability per group at the given times (step function, NaN past the group's last
        follow-up time)."""
        out = {}
        for g, c in self.curves.groupby("group", sort=False):
            t, s = c["time"].to_numpy(), c["survival"].to_numpy()
            idx = np.searchsorted(t, times, side="right") - 1
            vals = np.where(idx >= 0, s[np.clip(idx, 0, None)], 1.0)
            vals = np.where(np.asarray(times) > t.max(), np.nan, vals)
            out[g] = vals
        return pd.DataFrame(out, index=pd.Index(times, name=f"time ({self.time_unit})")).T


def _km_curve(t: np.ndarray, e: np.ndarray, alpha: float) -> pd.DataFrame:
    sf = SurvfuncRight(t, e)
    s, se = sf.surv_prob, sf.surv_prob_se
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # pointwise interval on the log(-log S) scale, which stays inside (0, 1)
        se_ll = se / (s * np.abs(np.log(s)))
        lower = s ** np.exp(z * se_ll)
        upper = s ** np.exp(-z * se_ll)
    lower = np.where(np.isfinite(lower), lower, s)
    upper = np.where(np.isfinite(upper), upper, s)
    curve = pd.DataFrame({"time": sf.surv_times, "survival": s, "lower": lower, "upper": upper,
                          "at_risk": sf.n_risk, "events": sf.n_events})
    # the curve starts at time 0 with everyone at risk; churn at time 0 is that row's step (S(0) = P(T > 0))
    if len(curve) and curve["time"].iloc[0] == 0:
        head = curve.iloc[:1].assign(time=0.0)
    else:
        head = pd.DataFrame({"time": [0.0], "survival": [1.0], "lower": [1.0], "upper": [1.0],
                             "at_risk": [len(t)], "events": [0]})
    parts = [head, curve.loc[curve["time"] > 0]]
    # the curve runs on, flat, from the last churn to the last follow-up (censored durations)
    last = float(t.max()) if len(t) else 0.0
    ends_at = max(float(curve["time"].iloc[-1]), 0.0) if len(curve) else 0.0
    if last > ends_at:
        tail = (curve.iloc[-1:] if len(curve) else head).assign(time=last, at_risk=int((t >= last).sum()), events=0)
        parts.append(tail)
    return pd.concat(parts, ignore_index=True)


def kaplan_meier(frame: pd.DataFrame, by: str | None = None, duration: str = "duration", event: str = "event",
                 max_groups: int = 8, min_count: int = 20, alpha: float = 0.05) -> KaplanMeierResult:
    """Kaplan-Meier survival per value of ``by`` (the ``max_groups`` largest; the rest pooled)."""
    groups = (top_levels(frame[by], max_groups, min_count) if by else pd.Series("all customers", index=frame.index))
    curves, rows = [], []
    t_all, e_all = frame[duration].to_numpy(float), frame[event].to_numpy(int)
    for g in groups.value_counts().index:
        m = (groups == g).to_numpy()
        c = _km_curve(t_all[m], e_all[m], alpha)
        c.insert(0, "group", g)
        curves.append(c)
        below = c.loc[c["survival"] <= 0.5, "time"]
        rows.append({"group": g, "customers": int(m.sum()), "churned": int(e_all[m].sum()),
                     "median_lifetime": float(below.iloc[0]) if len(below) else np.nan,
                     "survival_at_end": float(c["survival"].iloc[-1]), "last_time": float(c["time"].iloc[-1])})
    test = logrank(frame[duration], frame[event], groups) if by else None
    unit = frame.attrs.get("time_unit", "days")
    return KaplanMeierResult(pd.concat(curves, ignore_index=True), pd.DataFrame(rows).set_index("group"), test,
                             by, unit)


def km_groupings(frame: pd.DataFrame, candidates: tuple[str, ...] = GROUPINGS, max_groups: int = 8) -> list[str]:
    """Candidate columns with at least two groups, skipping a column that repeats an earlier one."""
    out: list[str] = []
    for c in candidates:
        if c not in frame.columns:
            continue
        g = top_levels(frame[c], max_groups)
        if g.nunique() < 2 or any((top_levels(frame[o], max_groups) == g).all() for o in out):
            continue
        out.append(c)
    return out


def cox_data(ds: Any, labels: pd.DataFrame, exclude: tuple[str, ...] | list[str] = DEFAULT_EXCLUDE,
             max_rank_corr: float = 0.5, min_level: int = 20) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Survival frame joined with the customer attributes usable as Cox covariates.

    Attributes are discovered as for the churn model (ids, dates, labels, ``exclude`` removed). Numeric
    attributes whose rank correlation with the duration reaches ``max_rank_corr`` are left out: they
    grow with the time survived (e.g. total charges) and would explain churn by survival itself; so
    are categorical attributes whose levels (with ``min_level`` customers or more) each cover a narrow
    band of durations for at least a quarter of the customers (e.g. offers given at a set tenure).
    Returns (frame, covariates, left out with reasons).
    """
    frame = survival_frame(labels)
    cu = customer_table(ds)
    attrs = [a for a in discover_attributes(cu, exclude, dated=True) if a != "tenure"]
    covs, left_out = [], {"tenure": "is the duration itself"} if "tenure" in cu.columns else {}
    d = frame["duration"]
    iqr = float(d.quantile(0.75) - d.quantile(0.25)) or 1.0
    for a in attrs:
        col = cu[a].reindex(frame.index)
        if pd.api.types.is_numeric_dtype(col) and col.notna().sum() > 2:
            rho = stats.spearmanr(col, d, nan_policy="omit").statistic
            if np.isfinite(rho) and abs(rho) >= max_rank_corr:
                left_out[a] = f"grows with time as a customer (rank correlation {rho:.2f} with the duration)"
                continue
        elif not pd.api.types.is_numeric_dtype(col):
            # levels confined to a narrow band of durations (e.g. offers tied to tenure) mark a proxy of time
            g = d.groupby(as_text(col))
            spread = (g.quantile(0.75) - g.quantile(0.25)) / iqr
            size = g.size()
            narrow = size[(spread < 0.3) & (size >= min_level)].sum()
            if narrow >= 0.25 * len(d):
                left_out[a] = (f"tied to time as a customer ({narrow / len(d):.0%} of customers are in levels "
                               "covering a narrow band of durations)")
                continue
        frame[a] = col.to_numpy()
        covs.append(a)
    return frame, covs, left_out


# ------------------------------------------------------------------------------------------ Cox model
class CoxPH:
    """Cox proportional-hazards model of churn on customer attributes (statsmodels ``PHReg``).

    Numeric covariates are centred (median unless ``centre`` says otherwise) and expressed per a round
    unit (``scale``: e.g. age per 10 years); a missing value is set to the centre and flagged;
    categorical covariates are compared with their most frequent level (or ``reference``).

    After ``fit``: ``design_``, ``result_`` (PHRegResults), ``hazard_ratios_`` (coef, se, HR and
    interval per design column), ``ph_test_`` (proportional-hazards check per column), ``n_``,
    ``n_events_``.
    """

    def __init__(self, covariates: list[str] | None = None, max_levels: int = 8, min_count: int = 20,
                 scale: str | dict[str, float] = "auto", centre: str | dict[str, float] = "median",
                 reference: dict[str, str] | None = None, ties: str = "efron", alpha: float = 0.05) -> None:
        self.covariates = covariates
        self.max_levels = max_levels
        self.min_count = min_count
        self.scale = scale
        self.centre = centre
        self.reference = reference
        self.ties = ties
        self.alpha = alpha

    def fit(self, frame: pd.DataFrame, duration: str = "duration", event: str = "event") -> "CoxPH":
        covs = self.covariates if self.covariates is not None else [
            c for c in frame.columns if c not in (duration, event)]
        self.design_ = Design(max_levels=self.max_levels, min_count=self.min_count, scale=self.scale,
                              centre=self.centre, reference=self.reference).fit(frame[covs])
        x = self.design_.transform(frame[covs])
        t = frame[duration].to_numpy(float)
        e = frame[event].to_numpy(int)
        if x.shape[1] == 0:
            raise InsufficientDataError("no covariate varies enough to enter the Cox model")
        if e.sum() < 2 or e.sum() == len(e):
            raise InsufficientDataError(f"the Cox model needs churned and surviving customers; {int(e.sum())} of "
                                        f"{len(e)} customers churned")
        self.model_ = PHReg(t, x.to_numpy(float), status=e, ties=self.ties)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.result_ = self.model_.fit(disp=False)
            if not (np.isfinite(self.result_.params).all() and np.isfinite(self.result_.llf)):
                # Newton steps can overshoot on strong covariates; quasi-Newton from zero is steadier
                self.result_ = self.model_.fit(method="bfgs", maxiter=500, disp=False)
        params = np.asarray(self.result_.params)
        bse = np.asarray(self.result_.bse)
        z = stats.norm.ppf(1 - self.alpha / 2)
        self.hazard_ratios_ = pd.DataFrame({
            "covariate": [self.design_.source_[c] for c in x.columns],
            "unit": [self.design_.units_[c] for c in x.columns],
            "coef": params, "se": bse,
            "hazard_ratio": np.exp(params), "lower": np.exp(params - z * bse), "upper": np.exp(params + z * bse),
            "p_value": 2 * stats.norm.sf(np.abs(params / bse)),
        }, index=pd.Index(x.columns, name="term"))
        self.n_, self.n_events_ = len(t), int(e.sum())
        self.ph_test_ = schoenfeld_test(self.result_, t, e, list(x.columns))
        return self

    def predict_log_hazard(self, frame: pd.DataFrame) -> pd.Series:
        """Linear predictor x'beta (log relative hazard against the reference customer)."""
        x = self.design_.transform(frame)
        return pd.Series(x.to_numpy(float) @ np.asarray(self.result_.params), index=frame.index, name="log_hazard")

    def summary(self) -> Summary:
        """A statsmodels ``Summary`` with the model facts, hazard ratios and the PH check."""
        s = Summary()
        s.add_title("Cox proportional-hazards model of churn")
        s.add_dict({"customers": str(self.n_), "churned (events)": str(self.n_events_), "ties": self.ties,
                    "log-likelihood": f"{self.result_.llf:.2f}"})
        s.add_df(self.hazard_ratios_.drop(columns=["covariate"]).round(4))
        s.add_df(self.ph_test_.round(4))
        return s


def schoenfeld_test(result: Any, durations: np.ndarray, events: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Proportional-hazards check per covariate (Grambsch-Therneau style).

    Scaled Schoenfeld residuals of each covariate should not trend with time if its hazard ratio is
    constant. For each covariate the statistic is d * (sum_k (g_k - mean g) (r_k V)_j)^2 /
    (V_jj * sum_k (g_k - mean g)^2), chi-square with 1 df, where r_k are the Schoenfeld residuals at the
    d event times, V the coefficient covariance and g the rank of the event time. ``rho`` is the
    correlation of the scaled residuals with that rank. A ``GLOBAL`` row tests all covariates together.
    """
    resid = np.asarray(result.schoenfeld_residuals, dtype=float)
    rows = np.isfinite(resid).all(axis=1) & (np.asarray(events) == 1)
    r = resid[rows]
    d = r.shape[0]
    v = np.asarray(result.cov_params(), dtype=float)
    beta = np.asarray(result.params, dtype=float)
    g = stats.rankdata(np.asarray(durations, float)[rows])
    gc = g - g.mean()
    rv = r @ v
    scaled = d * rv + beta
    num = gc @ rv
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = d * num ** 2 / (np.diag(v) * (gc @ gc))
        rho = np.array([np.corrcoef(gc, scaled[:, j])[0, 1] if scaled[:, j].std() > 0 else np.nan
                        for j in range(r.shape[1])])
    out = pd.DataFrame({"rho": rho, "chi2": chi2, "df": 1, "p_value": stats.chi2.sf(chi2, 1)},
                       index=pd.Index(names, name="term"))
    # global: all covariates at once, d * U'VU / sum (g - mean g)^2 with U = sum_k (g_k - mean g) r_k
    u = gc @ r
    glob = float(d * u @ v @ u / (gc @ gc))
    out.loc["GLOBAL"] = [np.nan, glob, len(names), stats.chi2.sf(glob, len(names))]
    out["df"] = out["df"].astype(int)
    out["ph_holds_5pct"] = out["p_value"] >= 0.05
    return out
