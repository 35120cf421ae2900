"""BG/BB: the beta-geometric / beta-Bernoulli model for discrete transaction opportunities
(Fader, Hardie & Shang 2010, "Customer-Base Analysis in a Discrete-Time Noncontractual Setting",
Marketing Science 29(6)).

Opportunities 1, 2, ... (a yearly appeal, a conference, a weekly draw). A customer alive at an
opportunity transacts with probability p, p ~ Beta(alpha, beta); at the beginning of every
opportunity a customer still alive dies with probability theta, theta ~ Beta(gamma, delta).
Data per customer: x repeat transactions in the first n opportunities after the first, t_x the
opportunity of the last one (0 when x = 0). With B-ratios Bp(m) = B(alpha+x, beta+m-x)/B(alpha, beta)
and Bt(k, m) = B(gamma+k, delta+m)/B(gamma, delta):

    L = Bp(n) Bt(0, n) + sum_{m = t_x}^{n-1} Bp(m) Bt(1, m)

(alive through n, or alive for exactly m opportunities and dead at the beginning of m + 1). The
log-likelihood is the sum of log L over customers (nothing dropped; it has no units).

Predictions (the paper's expressions):

* P(alive at opportunity n + k) = Bp(n) Bt(0, n + k) / L (k = 1: the paper's Table 6);
* E[X(n)] = alpha/(alpha+beta) * delta/(gamma-1) * [1 - G(n)/G(0)], G(m) = Gamma(1+delta+m)/Gamma(gamma+delta+m);
* E[X(n, n+n*) | x, t_x, n] = B(alpha+x+1, beta+n-x)/B(alpha, beta) * delta/(gamma-1)
  * [G(n) - G(n+n*)]/G(0) / L;
* DERT(d) = B(alpha+x+1, beta+n-x)/B(alpha, beta) * Bt(0, n+1) / (1+d)
  * 2F1(1, delta+n+1; gamma+delta+n+1; 1/(1+d)) / L, with d the discount rate per opportunity;
* P(X(n) = x) = C(n, x) Bp(n) Bt(0, n) + sum_{m=x}^{n-1} C(m, x) Bp(m) Bt(1, m).

gamma = 1 is handled by the limit of delta/(gamma-1) [1 - G(b)/G(a)] (a digamma difference).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from toolkit.clv.models.base import ArrayLike, BaseModel, ConvergenceError, _column, _dedupe, _limits_note, wdot
from toolkit.clv.models.bgnbd import safe_exp
from toolkit.clv.models.special import log_hyp2f1

__all__ = ["BetaGeoBetaBinom"]

_PERIOD_COLUMNS = ["n_periods", "periods", "n", "n_cal", "T"]


@dataclass
class _BGBBData:
    """Distinct (x, t_x, n) rows with the number of customers sharing each."""

    x: np.ndarray
    tx: np.ndarray
    n: np.ndarray
    w: np.ndarray

    def subsample(self, k: int, rng: np.random.Generator) -> "_BGBBData":
        idx = np.sort(rng.choice(len(self.x), size=k, replace=False))
        return _BGBBData(self.x[idx], self.tx[idx], self.n[idx], self.w[idx] * len(self.x) / k)

    def terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One likelihood term per row and alive count m = t_x..n (cached): row index, x, m, dead flag
        (m < n) and the first term of each row."""
        if not hasattr(self, "_terms"):
            counts = (self.n - self.tx + 1).astype(np.int64)
            row = np.repeat(np.arange(len(self.x)), counts)
            start = np.cumsum(counts) - counts
            m = self.tx[row] + (np.arange(counts.sum()) - start[row])
            dead = (m < self.n[row]).astype(float)
            self._terms = (row, self.x[row], m.astype(float), dead, start)
        return self._terms


def _arrays(frequency, recency, n_periods) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(frequency, pd.DataFrame):
        f = frequency
        return (_column(f, ["frequency", "frequency_cal", "x"]), _column(f, ["recency", "recency_cal", "t_x"]),
                _column(f, _PERIOD_COLUMNS))
    if recency is None or n_periods is None:
        raise TypeError("give frequency, recency and n_periods (or a DataFrame holding them)")
    x, tx, n = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, recency, n_periods)))
    return x, tx, n


def _validate(x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> None:
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(tx)) and np.all(np.isfinite(n))):
        raise ValueError("frequency, recency and n_periods must be finite")
    for name, v in (("frequency", x), ("recency", tx), ("n_periods", n)):
        if np.any(v < 0) or np.any(v != np.round(v)):
            raise ValueError(f"{name} must be a non-negative whole number of opportunities")
    if np.any(tx > n) or np.any(x > tx):
        raise ValueError("need frequency <= recency <= n_periods (recency is the opportunity of the last "
                         "transaction)")
    if np.any((x == 0) != (tx == 0)):
        raise ValueError("recency must be 0 exactly for customers without repeat transactions")


def _gamma_one_ratio(g: float, d: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(1 - G(hi)/G(lo)) / (gamma - 1), G(m) = Gamma(1+delta+m)/Gamma(gamma+delta+m); its limit at gamma = 1."""
    if abs(g - 1.0) < 1e-8:
        return digamma(1 + d + hi) - digamma(1 + d + lo)
    lg = (gammaln(1 + d + hi) - gammaln(1 + d + lo)) - (gammaln(g + d + hi) - gammaln(g + d + lo))
    return -np.expm1(lg) / (g - 1.0)


class BetaGeoBetaBinom(BaseModel):
    """BG/BB model. ``fit(frequency, recency, n_periods, weights)`` or ``fit(frame, weights=...)``
    (columns frequency, recency and n_periods, or periods / n)."""

    param_names = ("alpha", "beta", "gamma", "delta")
    model_name = "BG/BB"
    _boundary_ok = True

    def fit(self, frequency, recency: ArrayLike | None = None, n_periods: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> "BetaGeoBetaBinom":
        """Maximum-likelihood fit on the sufficient statistics; ``weights`` counts customers per row."""
        x, tx, n = _arrays(frequency, recency, n_periods)
        _validate(x, tx, n)
        w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float), x.shape)
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ValueError("weights must be finite and non-negative")
        (x, tx, n), w = _dedupe([x, tx, n], w)
        keep = w > 0
        if not keep.any():
            raise ValueError("no customers to fit")
        self.time_unit_ = None
        return self._fit(_BGBBData(x[keep], tx[keep], n[keep], w[keep]))

    def _check_data(self, data) -> None:
        if wdot(data.w, data.x) <= 0:
            raise ConvergenceError("BetaGeoBetaBinom: no maximum — not one customer made a repeat transaction")
        if wdot(data.w, (data.x < data.n).astype(float)) <= 0:
            raise ConvergenceError("BetaGeoBetaBinom: no maximum — every customer transacted at every opportunity")

    def _boundary_note(self, theta, at_lo, at_hi) -> str:
        return _limits_note(theta, at_lo, at_hi, {
            ("alpha", "beta"): "every customer transacts with the same probability ({mean:.4g} per opportunity)",
            ("gamma", "delta"): "every customer has the same dropout probability ({mean:.4g} per opportunity)"},
            {("gamma", "lo"): "practically no customer drops out (gamma near 0)",
             ("delta", "hi"): "practically no customer drops out (delta very large)"})

    # ------------------------------------------------------------------------------ likelihood
    def _loglik_grad(self, theta, data, grad=True, per_row=False):
        a, b, g, d = (float(v) for v in theta)
        row, x, m, dead, start = data.terms()
        lt = betaln(a + x, b + m - x) - betaln(a, b) + betaln(g + dead, d + m) - betaln(g, d)
        mx = np.maximum.reduceat(lt, start)
        e = safe_exp(lt - mx[row])
        s = np.add.reduceat(e, start)
        ll_row = mx + np.log(s)
        if per_row:
            return ll_row
        ll = float(wdot(data.w, ll_row))
        if not grad:
            return ll, None
        pw = data.w[row] * e / s[row]           # customer weight times the term's posterior share
        dab = digamma(a + b + m)
        dgd = digamma(g + d + m + dead)
        tot = data.w.sum()
        da = wdot(pw, digamma(a + x) - dab) - tot * (digamma(a) - digamma(a + b))
        db = wdot(pw, digamma(b + m - x) - dab) - tot * (digamma(b) - digamma(a + b))
        dg = wdot(pw, digamma(g + dead) - dgd) - tot * (digamma(g) - digamma(g + d))
        dd = wdot(pw, digamma(d + m) - dgd) - tot * (digamma(d) - digamma(g + d))
        return ll, np.array([da, db, dg, dd])

    def _start_values(self, data) -> list[np.ndarray]:
        rate = float(np.clip(wdot(data.w, data.x) / max(wdot(data.w, data.tx), 1e-9), 0.05, 0.95))
        out = []
        for conc in (0.5, 2.0, 8.0):
            for g, d in ((0.5, 2.0), (1.0, 1.0), (2.0, 8.0)):
                out.append(np.array([conc * rate, conc * (1 - rate), g, d]))
        return out

    # ----------------------------------------------------------------------------- predictions
    def _rows(self, frequency, recency, n_periods):
        x, tx, n = _arrays(frequency, recency, n_periods)
        _validate(x, tx, n)
        return _BGBBData(x, tx, n, np.ones_like(x))

    def loglik(self, frequency, recency: ArrayLike | None = None, n_periods: ArrayLike | None = None) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters."""
        return self._loglik_grad(self._theta(), self._rows(frequency, recency, n_periods), per_row=True)

    def _log_alive_num(self, x, n, k):
        """log Bp(n) Bt(0, n + k)."""
        a, b, g, d = self._theta()
        return betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + k) - betaln(g, d)

    def prob_alive(self, frequency, recency: ArrayLike | None = None, n_periods: ArrayLike | None = None,
                   periods_ahead: int = 1) -> np.ndarray:
        """P(alive at opportunity n + periods_ahead | x, t_x, n); the paper's P(alive in n + 1) by default."""
        rows = self._rows(frequency, recency, n_periods)
        ll = self._loglik_grad(self._theta(), rows, per_row=True)
        return safe_exp(self._log_alive_num(rows.x, rows.n, float(periods_ahead)) - ll)

    def expected_purchases(self, n_periods: ArrayLike) -> np.ndarray:
        """E[X(n)]: expected repeat transactions in the first n opportunities of a new customer."""
        a, b, g, d = self._theta()
        n = np.asarray(n_periods, float)
        return a / (a + b) * d * _gamma_one_ratio(g, d, np.zeros_like(n), n)

    def conditional_expected_purchases(self, t: ArrayLike, frequency, recency: ArrayLike | None = None,
                                       n_periods: ArrayLike | None = None) -> np.ndarray:
        """E[X(n, n + t) | x, t_x, n]: expected transactions in the next ``t`` opportunities."""
        a, b, g, d = self._theta()
        rows = self._rows(frequency, recency, n_periods)
        x, n = rows.x, rows.n
        ll = self._loglik_grad(self._theta(), rows, per_row=True)
        t = np.asarray(t, float)
        lg_n = (gammaln(1 + d + n) - gammaln(1 + d)) - (gammaln(g + d + n) - gammaln(g + d))   # log G(n)/G(0)
        lead = betaln(a + x + 1, b + n - x) - betaln(a, b) + lg_n - ll
        return safe_exp(lead) * d * _gamma_one_ratio(g, d, n, n + t)

    def dert(self, discount_rate: float, frequency, recency: ArrayLike | None = None,
             n_periods: ArrayLike | None = None) -> np.ndarray:
        """Discounted expected residual transactions from opportunity n + 1 on, at ``discount_rate``
        per opportunity (a transaction at n + k is worth (1 + d)^-k)."""
        if not discount_rate > 0:
            raise ValueError("DERT needs a positive discount rate per opportunity")
        a, b, g, d = self._theta()
        rows = self._rows(frequency, recency, n_periods)
        x, n = rows.x, rows.n
        ll = self._loglik_grad(self._theta(), rows, per_row=True)
        z = 1.0 / (1.0 + discount_rate)
        with np.errstate(under="ignore"):     # negligible quadrature terms of 2F1 round to 0
            lf = log_hyp2f1(1.0, d + n + 1, g + d + n + 1, np.full_like(n, z))
        lv = (betaln(a + x + 1, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
              + np.log(z) + lf - ll)
        return safe_exp(lv)

    def probability_of_n_purchases_up_to_time(self, n_periods: int, k: ArrayLike) -> np.ndarray:
        """P(X(n) = k): probability of exactly k repeat transactions in the first n opportunities."""
        a, b, g, d = self._theta()
        n = int(n_periods)
        k = np.atleast_1d(np.asarray(k, float))
        m = np.arange(n + 1, dtype=float)
        out = np.zeros(k.shape)
        for i, kk in enumerate(k):
            if kk < 0 or kk > n or kk != round(kk):
                continue
            mm = m[m >= kk]
            dead = (mm < n).astype(float)
            lt = (gammaln(mm + 1) - gammaln(kk + 1) - gammaln(mm - kk + 1)
                  + betaln(a + kk, b + mm - kk) - betaln(a, b) + betaln(g + dead, d + mm) - betaln(g, d))
            top = lt.max()
            out[i] = float(safe_exp(top + np.log(safe_exp(lt - top).sum())))
        return out

    def expected_customers_by_frequency(self, n_periods: int, customers: float) -> pd.Series:
        """Expected number of customers with 0..n repeat transactions in n opportunities (in-sample fit)."""
        k = np.arange(int(n_periods) + 1)
        return pd.Series(customers * self.probability_of_n_purchases_up_to_time(n_periods, k), index=k,
                         name="expected_customers")
