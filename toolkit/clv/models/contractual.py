"""Contractual (subscription) customers: the shifted-beta-geometric retention model (sBG).

Fader & Hardie (2007, "How to project customer retention"): at the end of every period a customer
cancels with probability theta, constant for the customer; theta ~ Beta(gamma, delta) across
customers. Time is counted in whole periods from acquisition (t = 0). ``T`` is the period at the
end of which the customer cancels (T = 1, 2, ...), so the customer is active in periods 1..T:

    P(T = t) = B(gamma + 1, delta + t - 1) / B(gamma, delta)
    S(t) = P(T > t) = B(gamma, delta + t) / B(gamma, delta)       (S(0) = 1)
    r(t) = S(t) / S(t - 1) = (delta + t - 1) / (gamma + delta + t - 1)   (retention rate, rising in t)

Data conventions (right-censored durations):

* a churned customer with duration ``t`` (t >= 1) contributes ``P(T = t)``;
* an active customer with duration ``t`` has renewed at the end of periods 1..t and contributes
  ``S(t)`` (so the Telco ``tenure`` of a current customer counts completed months);
* a cohort's survivor counts ``n_0, n_1, ..., n_k`` give ``n_{t-1} - n_t`` churn events at t and
  ``n_k`` customers censored at k (:meth:`ShiftedBetaGeometric.fit_survivors`).

Value (payments at the start of each period the customer is active, discounted per period at
``d``, ``z = 1 / (1 + d)``):

* discounted expected lifetime of a new customer, ``DEL = sum_{t>=0} S(t) z^t = 2F1(1, delta;
  gamma + delta; z)`` (the payment at acquisition counts; CLV = margin x payment x DEL);
* discounted expected residual transactions of a customer active with tenure n,
  ``DERT = sum_{k>=1} S(n+k)/S(n) z^k = 2F1(1, delta + n; gamma + delta + n; z) - 1``
  (future payments only);
* expected lifetime ``E[T] = (gamma + delta - 1) / (gamma - 1)`` periods, infinite for gamma <= 1
  (then use a horizon: ``E[min(T, H)] = sum_{t<H} S(t)``, or the median).

The Kaplan-Meier comparison (:func:`km_comparison`) uses statsmodels' ``SurvfuncRight`` on the same
durations; its estimate at period t is directly comparable with S(t).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import betaln, digamma

from toolkit.clv.models.base import WITHHELD, ArrayLike, BaseModel, ConvergenceError, FitDiagnostics, fit_flag, wdot

__all__ = ["ShiftedBetaGeometric", "CohortRetention", "fit_cohorts", "km_comparison",
           "survivors_to_durations", "durations_from_dates"]


@dataclass
class _DurationData:
    """Distinct (duration, churned) pairs and the number of customers with each."""

    t: np.ndarray
    event: np.ndarray
    w: np.ndarray

    def subsample(self, n: int, rng: np.random.Generator) -> "_DurationData":
        idx = np.sort(rng.choice(len(self.t), size=n, replace=False))
        return _DurationData(self.t[idx], self.event[idx], self.w[idx] * len(self.t) / n)


def _as_durations(durations: ArrayLike, churned: ArrayLike, weights: ArrayLike | None = None) -> _DurationData:
    t = np.asarray(pd.to_numeric(pd.Series(np.ravel(np.asarray(durations, dtype=object))), errors="coerce"), float)
    e = np.ravel(np.asarray(pd.Series(np.ravel(np.asarray(churned, dtype=object))).astype("boolean")
                            .fillna(False), dtype=bool))
    if len(t) != len(e):
        raise ValueError("durations and churned must have the same length")
    w = np.ones_like(t) if weights is None else np.broadcast_to(np.asarray(weights, float), t.shape).copy()
    ok = np.isfinite(t)
    if not ok.all():
        raise ValueError(f"{int((~ok).sum())} durations are missing or not numeric")
    if np.any(t < 0) or np.any(np.abs(t - np.round(t)) > 1e-9):
        raise ValueError("durations must be whole numbers of periods >= 0 (see durations_from_dates)")
    if np.any(e & (t < 1)):
        raise ValueError("a churned customer needs a duration of at least one period (churn happens at the end "
                         "of a period)")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    keep = w > 0
    frame = pd.DataFrame({"t": np.round(t[keep]), "e": e[keep], "w": w[keep]})
    if frame.empty:
        raise ValueError("no customers to fit")
    g = frame.groupby(["t", "e"], sort=True)["w"].sum().reset_index()
    return _DurationData(g["t"].to_numpy(float), g["e"].to_numpy(bool), g["w"].to_numpy(float))


def survivors_to_durations(survivors: Sequence[float]) -> pd.DataFrame:
    """A cohort's survivor counts n_0..n_k as weighted right-censored durations.

    Columns ``duration``, ``churned``, ``customers``: n_{t-1} - n_t churned at t = 1..k and n_k
    active at k.
    """
    s = np.asarray(survivors, float)
    if s.ndim != 1 or len(s) < 2:
        raise ValueError("give at least two survivor counts (period 0 and later)")
    lost = -np.diff(s)
    if np.any(lost < 0):
        raise ValueError("survivor counts cannot increase")
    k = len(s) - 1
    return pd.DataFrame({"duration": np.r_[np.arange(1, k + 1), k].astype(float),
                         "churned": np.r_[np.ones(k, bool), False],
                         "customers": np.r_[lost, s[-1]]})


def durations_from_dates(start: pd.Series, end: pd.Series, as_of, time_unit: str = "M") -> pd.DataFrame:
    """Whole periods from ``start`` to ``end`` (churn date) or to ``as_of`` (active customers).

    Returns ``duration`` (floor of elapsed periods) and ``churned`` (an end date on or before
    ``as_of``); customers starting after ``as_of`` are dropped. Periods use the day lengths of
    :data:`toolkit.clv.summary.TIME_UNITS`.
    """
    from toolkit.clv.summary import unit_days

    as_of = pd.Timestamp(as_of)
    start = pd.to_datetime(start)
    end = pd.to_datetime(end)
    churned = end.notna() & (end <= as_of)
    stop = end.where(churned, as_of)
    keep = start.notna() & (start <= as_of)
    days = (stop[keep] - start[keep]).dt.days.astype(float)
    dur = np.floor(days / unit_days(time_unit))
    churned = churned[keep] & (dur >= 1)
    return pd.DataFrame({"duration": dur, "churned": churned.astype(bool)}, index=start.index[keep])


class ShiftedBetaGeometric(BaseModel):
    """Shifted-beta-geometric retention model. ``fit(durations, churned)`` or ``fit_survivors(counts)``."""

    param_names = ("gamma", "delta")
    model_name = "sBG retention"

    def fit(self, durations: ArrayLike, churned: ArrayLike, weights: ArrayLike | None = None,
            time_unit: str | None = None) -> "ShiftedBetaGeometric":
        """Maximum likelihood on right-censored whole-period durations (churned=False: still active)."""
        data = _as_durations(durations, churned, weights)
        self.time_unit_ = time_unit
        self.n_churned_ = int(round(float(data.w[data.event].sum())))
        self.max_duration_ = float(data.t.max())
        self.heterogeneity_ = True
        return self._fit(data)

    def fit_survivors(self, survivors: Sequence[float], time_unit: str | None = None) -> "ShiftedBetaGeometric":
        """Fit to a cohort's survivor counts n_0, n_1, ..., n_k (n_0 customers acquired at period 0)."""
        d = survivors_to_durations(survivors)
        return self.fit(d["duration"], d["churned"], d["customers"], time_unit=time_unit)

    def _limit_label(self, at_lo: list[str], at_hi: list[str]) -> str:
        """gamma and delta both at their upper limit: no heterogeneity (one churn probability for all)."""
        if {"gamma", "delta"} <= set(at_hi):
            return "at the no-heterogeneity boundary (one churn probability for every customer)"
        return super()._limit_label(at_lo, at_hi)

    # ------------------------------------------------------------------------------- likelihood
    def _loglik_grad(self, theta, data, grad=True):
        g, d = (float(v) for v in theta)
        t, ev, w = data.t, data.event, data.w
        b0 = betaln(g, d)
        # churned at t: B(g+1, d+t-1)/B(g, d); active at t: B(g, d+t)/B(g, d)
        tt = np.where(ev, t, 1.0)
        ll_row = np.where(ev, betaln(g + 1, d + tt - 1), betaln(g, d + t)) - b0
        ll = wdot(w, ll_row)
        if not grad:
            return ll, None
        dgd = digamma(g + d)
        gdt = digamma(g + d + t)
        dg = np.where(ev, digamma(g + 1) - digamma(g), 0.0) + dgd - gdt
        dd = np.where(ev, digamma(d + tt - 1), digamma(d + t)) - digamma(d) + dgd - gdt
        return ll, np.array([wdot(w, dg), wdot(w, dd)])

    def _start_values(self, data) -> list[np.ndarray]:
        return [np.array([g, d]) for g in (0.3, 1.0, 3.0) for d in (0.5, 2.0, 8.0)]

    # ------------------------------------------------------------------------------ predictions
    def survival(self, t: ArrayLike) -> np.ndarray:
        """S(t) = P(still a customer after t periods); S(0) = 1."""
        g, d = self._theta()
        t = np.asarray(t, float)
        return np.exp(betaln(g, d + t) - betaln(g, d))

    def churn_probability(self, t: ArrayLike) -> np.ndarray:
        """P(T = t): cancelling at the end of period t (t >= 1)."""
        g, d = self._theta()
        t = np.asarray(t, float)
        return np.exp(betaln(g + 1, d + t - 1) - betaln(g, d))

    def retention_rate(self, t: ArrayLike) -> np.ndarray:
        """r(t) = S(t)/S(t-1): share of those active in period t who renew for period t+1."""
        g, d = self._theta()
        t = np.asarray(t, float)
        return (d + t - 1) / (g + d + t - 1)

    def retention_curve(self, horizon: int, n0: float = 1.0) -> pd.DataFrame:
        """Per period t = 0..horizon: survival S(t), expected survivors n0 S(t), retention rate, churn P(T=t)."""
        t = np.arange(horizon + 1, dtype=float)
        out = pd.DataFrame({"survival": self.survival(t), "retention_rate": np.r_[np.nan, self.retention_rate(t[1:])],
                            "churn_probability": np.r_[0.0, self.churn_probability(t[1:])]},
                           index=pd.Index(t.astype(int), name="period"))
        out.insert(1, "expected_survivors", n0 * out["survival"])
        return out

    def expected_lifetime(self, horizon: int | None = None) -> float:
        """Mean number of periods a new customer stays, E[T] (inf when gamma <= 1), or E[min(T, horizon)]."""
        g, d = self._theta()
        if horizon is None:
            return float((g + d - 1) / (g - 1)) if g > 1 else float("inf")
        return float(self.survival(np.arange(int(horizon))).sum())

    def median_lifetime(self, max_periods: int = 10_000) -> float:
        """Smallest t with S(t) <= 1/2 (inf if beyond ``max_periods``)."""
        s = self.survival(np.arange(max_periods + 1))
        hit = np.nonzero(s <= 0.5)[0]
        return float(hit[0]) if len(hit) else float("inf")

    def _discounted_sum(self, tenure: np.ndarray, discount_rate: float) -> np.ndarray:
        """sum_{k>=0} S(n+k)/S(n) z^k for each tenure n, summed term by term until the rest is < 1e-15.

        Equals 2F1(1, delta + n; gamma + delta + n; z); the direct sum stays accurate for the huge
        gamma and delta of nearly homogeneous cohorts, where the 2F1 routines lose digits.
        """
        g, d = self._theta()
        if discount_rate <= 0:
            raise ValueError("discount_rate must be positive (the undiscounted sum may diverge)")
        lz = -np.log1p(discount_rate)
        n_u, inv = np.unique(np.asarray(tenure, float).ravel(), return_inverse=True)
        k_max = int(np.ceil(np.log(1e-16) / lz)) + 2     # z^k alone is below 1e-16 after this
        total = np.zeros(len(n_u))
        log_term = np.zeros(len(n_u))
        step = 4096
        for k0 in range(0, k_max, step):
            k = np.arange(k0, min(k0 + step, k_max), dtype=float)
            # log of S(n+k)/S(n) z^k, accumulated from log r(n+j) = log((d+n+j-1)/(g+d+n+j-1)), j = 1..k
            j = n_u[:, None] + k[None, :]
            inc = np.log(d + j - 1) - np.log(g + d + j - 1) + lz
            inc[:, 0] = 0.0 if k0 == 0 else inc[:, 0]
            lt = log_term[:, None] + np.cumsum(inc, axis=1)
            total += np.exp(lt).sum(axis=1)
            log_term = lt[:, -1]
            if np.all(log_term < np.log(1e-16) + np.log(np.maximum(total, 1e-300))):
                break
        return total[inv].reshape(np.shape(tenure))

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL = sum_{t>=0} S(t) (1+d)^-t, the discounted number of payments of a new customer."""
        if discount_rate == 0:
            return self.expected_lifetime()
        return float(self._discounted_sum(np.zeros(1), discount_rate)[0])

    def dert(self, tenure: ArrayLike, discount_rate: float) -> np.ndarray:
        """Discounted expected residual transactions (future payments) of customers active with ``tenure``."""
        return self._discounted_sum(np.asarray(tenure, float), discount_rate) - 1.0

    def customer_lifetime_value(self, payment: float | ArrayLike, discount_rate: float, margin: float = 1.0,
                                tenure: ArrayLike | None = None) -> np.ndarray | float:
        """CLV of a new customer (``margin x payment x DEL``), or with ``tenure`` the residual value of
        active customers (``margin x payment x DERT``; payment per period, e.g. the monthly charge)."""
        if tenure is None:
            return margin * np.asarray(payment, float) * self.discounted_expected_lifetime(discount_rate)
        return margin * np.asarray(payment, float) * self.dert(tenure, discount_rate)


def _geometric_limit(t, e, w, time_unit: str | None) -> ShiftedBetaGeometric:
    """The sBG's limit without heterogeneity (gamma, delta -> inf at fixed theta = gamma/(gamma+delta)).

    Used when the likelihood keeps rising along that ridge (retention does not improve with tenure,
    e.g. churn concentrated at contract ends): a geometric with theta = churns / periods at risk.
    Standard errors are for theta only (binomial); gamma and delta get no interval.
    """
    data = _as_durations(t, e, w)
    exposure = float(wdot(data.w, data.t))
    churns = float(data.w[data.event].sum())
    theta = churns / exposure
    scale = 1e6
    m = ShiftedBetaGeometric.from_params(time_unit=time_unit, gamma=theta * scale, delta=(1 - theta) * scale)
    m.n_ = int(round(float(data.w.sum())))
    m.n_churned_ = int(round(churns))
    m.max_duration_ = float(data.t.max())
    m.n_distinct_ = len(data.w)
    m.log_likelihood_ = churns * np.log(theta) + (exposure - churns) * np.log1p(-theta)
    m.se_ = pd.Series(np.nan, index=list(m.param_names))
    m.confidence_intervals_ = pd.DataFrame({"lower": np.nan, "upper": np.nan}, index=list(m.param_names))
    m.converged_ = False
    m.diagnostics_ = FitDiagnostics(False, float("nan"), 0, 0, [], "no heterogeneity: geometric limit "
                                    f"with theta = {theta:.4g}", flag="boundary",
                                    flag_reason="at the no-heterogeneity boundary (one churn probability for every "
                                                f"customer, gamma and delta infinite): {WITHHELD}")
    m.intervals_withheld_ = m.diagnostics_.flag_reason
    m.heterogeneity_ = False
    m.theta_ = theta
    return m


# ----------------------------------------------------------------------------------- cohorts
@dataclass
class CohortRetention:
    """One sBG per acquisition cohort (or any grouping such as contract type)."""

    models_: dict[Any, ShiftedBetaGeometric]
    time_unit: str | None = None

    def summary_frame(self, horizon: int = 24, discount_rate: float | None = None) -> pd.DataFrame:
        """Per cohort: customers, churned, gamma, delta (95% CI), retention after ``horizon`` periods,
        expected lifetime (inf when gamma <= 1), mean lifetime within ``horizon``, median lifetime and,
        with ``discount_rate``, the discounted expected lifetime. ``fit_flag`` / ``interval_note``: a fit
        at the parameter boundary or with a nearly singular Hessian, whose intervals are withheld (NaN)."""
        rows = []
        for k, m in self.models_.items():
            ci = m.confidence_intervals_
            row = {"cohort": k, "customers": m.n_, "churned": m.n_churned_,
                   "gamma": m.params_["gamma"], "gamma_lower": ci.loc["gamma", "lower"],
                   "gamma_upper": ci.loc["gamma", "upper"], "delta": m.params_["delta"],
                   "delta_lower": ci.loc["delta", "lower"], "delta_upper": ci.loc["delta", "upper"],
                   f"survival_{horizon}": float(m.survival(horizon)),
                   "expected_lifetime": m.expected_lifetime(),
                   f"lifetime_within_{horizon}": m.expected_lifetime(horizon),
                   "median_lifetime": m.median_lifetime(),
                   "heterogeneity": getattr(m, "heterogeneity_", True),
                   "fit_flag": fit_flag(m)[0], "interval_note": fit_flag(m)[1]}
            if discount_rate is not None:
                row["discounted_expected_lifetime"] = m.discounted_expected_lifetime(discount_rate)
            rows.append(row)
        return pd.DataFrame(rows).set_index("cohort")

    def retention_curves(self, horizon: int) -> pd.DataFrame:
        """Survival by period (rows) and cohort (columns)."""
        t = np.arange(horizon + 1)
        return pd.DataFrame({k: m.survival(t) for k, m in self.models_.items()},
                            index=pd.Index(t, name="period"))


def fit_cohorts(durations: ArrayLike, churned: ArrayLike, cohort: ArrayLike, weights: ArrayLike | None = None,
                min_customers: int = 30, time_unit: str | None = None, **model_kwargs: Any) -> CohortRetention:
    """Fit one :class:`ShiftedBetaGeometric` per value of ``cohort`` (cohorts smaller than
    ``min_customers`` or without any churn are skipped)."""
    frame = pd.DataFrame({"t": np.asarray(durations, float), "e": np.asarray(churned, dtype=bool),
                          "c": np.asarray(cohort, dtype=object),
                          "w": 1.0 if weights is None else np.asarray(weights, float)})
    models: dict[Any, ShiftedBetaGeometric] = {}
    for key, part in frame.groupby("c", sort=True):
        if part["w"].sum() < min_customers or not part["e"].any():
            continue
        try:
            models[key] = ShiftedBetaGeometric(**model_kwargs).fit(part["t"], part["e"], part["w"], time_unit)
        except ConvergenceError:
            models[key] = _geometric_limit(part["t"], part["e"], part["w"], time_unit)
    if not models:
        raise ValueError("no cohort has enough customers and at least one churn")
    return CohortRetention(models, time_unit)


# ----------------------------------------------------------------------------------- Kaplan-Meier
def _km_at_periods(t: np.ndarray, e: np.ndarray, w: np.ndarray, periods: np.ndarray, alpha: float) -> pd.DataFrame:
    from statsmodels.duration.survfunc import SurvfuncRight

    sf = SurvfuncRight(t, e.astype(int), freq_weights=w)
    times = np.asarray(sf.surv_times, float)
    s, se = np.asarray(sf.surv_prob, float), np.asarray(sf.surv_prob_se, float)
    idx = np.searchsorted(times, periods, side="right") - 1       # step function, right-continuous
    km = np.where(idx >= 0, s[np.clip(idx, 0, None)], 1.0)
    km_se = np.where(idx >= 0, se[np.clip(idx, 0, None)], 0.0)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_ll = km_se / (km * np.abs(np.log(km)))       # log(-log S) scale keeps the band inside (0, 1)
        lower = np.where(np.isfinite(se_ll), km ** np.exp(z * se_ll), km)
        upper = np.where(np.isfinite(se_ll), km ** np.exp(-z * se_ll), km)
    at_risk = np.array([w[t >= p].sum() for p in periods])
    events = np.array([w[(t == p) & e].sum() for p in periods])
    return pd.DataFrame({"at_risk": at_risk, "churned": events, "km": km, "km_lower": lower, "km_upper": upper},
                        index=pd.Index(periods.astype(int), name="period"))


def km_comparison(durations: ArrayLike, churned: ArrayLike, model: ShiftedBetaGeometric | CohortRetention | None = None,
                  cohort: ArrayLike | None = None, weights: ArrayLike | None = None, max_period: int | None = None,
                  alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier against sBG retention by period, for plotting (e.g. in the churn report).

    Columns: ``at_risk``, ``churned`` (events at the period), ``km`` with its pointwise
    ``1 - alpha`` band ``km_lower``/``km_upper``, ``sbg`` (model survival) and ``difference``
    (sbg - km), for periods 0..max_period (default: the longest observed duration). With
    ``cohort`` a long table with a ``cohort`` column (``model`` then a :class:`CohortRetention`,
    fitted here when missing). Without ``model`` an sBG is fitted to the data.
    """
    t = np.asarray(durations, float)
    e = np.asarray(pd.Series(np.asarray(churned, dtype=object)).astype("boolean").fillna(False), dtype=bool)
    w = np.ones_like(t) if weights is None else np.broadcast_to(np.asarray(weights, float), t.shape)
    top = int(np.nanmax(t)) if max_period is None else int(max_period)
    periods = np.arange(top + 1, dtype=float)
    if cohort is None:
        if model is None:
            model = ShiftedBetaGeometric().fit(t, e, w)
        if not isinstance(model, ShiftedBetaGeometric):
            raise TypeError("without cohort, model must be a ShiftedBetaGeometric")
        out = _km_at_periods(t, e, w, periods, alpha)
        out["sbg"] = model.survival(periods)
        out["difference"] = out["sbg"] - out["km"]
        return out
    c = np.asarray(cohort, dtype=object)
    if model is None:
        model = fit_cohorts(t, e, c, w)
    if not isinstance(model, CohortRetention):
        raise TypeError("with cohort, model must be a CohortRetention (see fit_cohorts)")
    parts = []
    for key, m in model.models_.items():
        sel = c == key
        part = _km_at_periods(t[sel], e[sel], w[sel], periods, alpha)
        part["sbg"] = m.survival(periods)
        part["difference"] = part["sbg"] - part["km"]
        part.insert(0, "cohort", key)
        parts.append(part.reset_index())
    return pd.concat(parts, ignore_index=True)

