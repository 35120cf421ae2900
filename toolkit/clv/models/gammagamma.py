"""Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

Transaction values of a customer are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers.
The data per customer are x (number of transactions averaged; the repeat purchases) and m_x
(their mean value). The likelihood of m_x is

    Gamma(p x + q) / (Gamma(p x) Gamma(q)) * gamma^q * m_x^(p x - 1) * x^(p x) / (gamma + m_x x)^(p x + q)

summed in logs over customers with x > 0 (no constant dropped; the value depends on the money unit).

Fitted on the individual transaction values instead (:meth:`GammaGamma.fit_transactions`), a
customer with n values z_1..z_n (total S) contributes the marginal likelihood of all of them,

    prod z_i^(p-1) / Gamma(p)^n * gamma^q / Gamma(q) * Gamma(p n + q) / (gamma + S)^(p n + q),

which also uses the spread of each customer's values (sum of log z), so p is better determined.

``q_min`` constrains q > q_min through the parameter transform q = q_min + exp(phi) (q_min = 1:
a finite population mean spend p gamma / (q - 1)); the standard error of q is then that of q - q_min.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from toolkit.clv.models.base import ArrayLike, BaseModel, RFMInput, _column, _dedupe, _limits_note, wdot
from toolkit.clv.valuation.value import customer_lifetime_value as _clv

__all__ = ["GammaGamma"]


@dataclass
class _TransactionSpendData:
    """Per customer (rows with the same values merged): number of values, their sum and sum of logs."""

    n: np.ndarray
    S: np.ndarray
    L: np.ndarray
    w: np.ndarray

    @property
    def x(self) -> np.ndarray:      # the shared fitting code reads x (customers' counts)
        return self.n

    def subsample(self, k: int, rng: np.random.Generator) -> "_TransactionSpendData":
        idx = np.sort(rng.choice(len(self.n), size=k, replace=False))
        return _TransactionSpendData(self.n[idx], self.S[idx], self.L[idx], self.w[idx] * len(self.n) / k)


@dataclass
class _SpendData:
    x: np.ndarray
    m: np.ndarray
    w: np.ndarray

    def subsample(self, n: int, rng: np.random.Generator) -> "_SpendData":
        idx = np.sort(rng.choice(len(self.x), size=n, replace=False))
        return _SpendData(self.x[idx], self.m[idx], self.w[idx] * len(self.x) / n)


def _spend_arrays(frequency, monetary_value):
    if isinstance(frequency, pd.DataFrame):
        f = frequency
        return _column(f, ["frequency", "frequency_cal"]), _column(f, ["monetary_value", "monetary_value_cal"])
    if monetary_value is None:
        raise TypeError("give frequency and monetary_value (or an rfm_summary DataFrame)")
    x, m = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, monetary_value)))
    return x, m


class GammaGamma(BaseModel):
    """Gamma-Gamma spend model. ``fit(frequency, monetary_value)`` or ``fit(rfm_summary_frame)``.

    Only customers with ``frequency > 0`` enter the fit. Their mean spend must be positive:
    ``nonpositive="raise"`` (default) raises otherwise, ``"drop"`` leaves those customers out
    (their number is kept in ``n_dropped_``). ``q_min`` (e.g. 1) keeps q above that value, so that
    the population mean spend is finite; ``None``: q > 0 only.
    """

    param_names = ("p", "q", "gamma")
    model_name = "Gamma-Gamma"
    _boundary_ok = True

    def __init__(self, nonpositive: str = "raise", q_min: float | None = None, n_starts: int = 3,
                 max_iter: int = 500, tol: float = 1e-6, subsample: int | None = 20_000,
                 random_state: int | None = 0) -> None:
        super().__init__(n_starts, max_iter, tol, subsample, random_state)
        self.nonpositive = nonpositive
        self.q_min = q_min

    # -- the q > q_min transform: the shared optimiser works on (p, q - q_min, gamma) -------------
    def _q_shift(self) -> float:
        return float(self.q_min or 0.0)

    def _internal(self) -> np.ndarray:
        th = self._theta().copy()
        th[1] -= self._q_shift()
        return th

    @staticmethod
    def _spend_scale(data) -> float:
        """A power of ten that brings the mean spend near 1 when it is far from it (amounts of 1e-6
        or 1e12): the scale parameter gamma then stays inside the fitting range (1e-7 to 1e7).
        p and q do not depend on the unit of money, and gamma scales with it, so the fit is done
        in that unit and gamma converted back. Spend between 0.01 and 100,000 is fitted as it is."""
        if isinstance(data, _TransactionSpendData):
            mean = float(wdot(data.w, data.S) / wdot(data.w, data.n))
        else:
            mean = float(wdot(data.w, data.m) / data.w.sum())
        if not np.isfinite(mean) or 1e-2 <= mean <= 1e5:
            return 1.0
        return float(10.0 ** np.round(np.log10(mean)))

    @staticmethod
    def _rescaled(data, c: float):
        if isinstance(data, _TransactionSpendData):
            return _TransactionSpendData(data.n, data.S / c, data.L - data.n * np.log(c), data.w)
        return _SpendData(data.x, data.m / c, data.w)

    def _fit(self, data):
        shift = self._q_shift()
        if shift < 0:
            raise ValueError("q_min must be non-negative")
        c = self._spend_scale(data)
        super()._fit(self._rescaled(data, c) if c != 1.0 else data)
        self.spend_scale_ = c
        if c != 1.0:   # back to the data's unit of money: gamma scales, and the density by 1/c per value
            self.params_["gamma"] *= c
            self.se_["gamma"] *= c
            self.confidence_intervals_.loc["gamma"] *= c
            for d in (self.diagnostics_.best_params, self.diagnostics_.start_params):
                if "gamma" in d:
                    d["gamma"] *= c
            values = data.n if isinstance(data, _TransactionSpendData) else np.ones_like(data.x)
            self.log_likelihood_ -= float(wdot(data.w, values)) * float(np.log(c))
        if shift:
            self.params_["q"] += shift
            self.confidence_intervals_.loc["q"] += shift
            self.diagnostics_.best_params["q"] = self.diagnostics_.best_params.get("q", 0.0) + shift
            self.diagnostics_.start_params["q"] = self.diagnostics_.start_params.get("q", 0.0) + shift
        return self

    def fit(self, frequency: RFMInput, monetary_value: ArrayLike | None = None,
            weights: ArrayLike | None = None) -> "GammaGamma":
        """Maximum-likelihood fit on the customers with repeat purchases."""
        if self.nonpositive not in ("raise", "drop"):
            raise ValueError("nonpositive must be 'raise' or 'drop'")
        x, m = _spend_arrays(frequency, monetary_value)
        w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float), x.shape)
        rep = x > 0
        x, m, w = x[rep], m[rep], w[rep]
        bad = ~(m > 0) | ~np.isfinite(m)
        if bad.any() and self.nonpositive == "raise":
            raise ValueError(f"{int(bad.sum())} repeat customers have a non-positive or missing mean "
                             "spend; the Gamma-Gamma model needs positive values (nonpositive='drop' "
                             "leaves them out)")
        self.n_dropped_ = int(bad.sum())
        x, m, w = x[~bad], m[~bad], w[~bad]
        if len(x) == 0:
            from toolkit.data.errors import InsufficientDataError   # a ValueError: a limit of the data

            raise InsufficientDataError("no customer with repeat purchases and positive spend: the Gamma-Gamma "
                                        "spend model needs at least one")
        (xu, mu), wu = _dedupe([x, m], w)
        self.time_unit_ = None
        self.fitted_on_ = "customer means"
        return self._fit(_SpendData(xu, mu, wu))

    def fit_transactions(self, customer: ArrayLike, value: ArrayLike) -> "GammaGamma":
        """Maximum-likelihood fit on individual transaction values (one row per transaction, the
        customer's id in ``customer``), e.g. the values of every repeat purchase occasion.
        Non-positive values follow ``nonpositive``: raise, or drop those transactions."""
        if self.nonpositive not in ("raise", "drop"):
            raise ValueError("nonpositive must be 'raise' or 'drop'")
        z = np.asarray(value, float).ravel()
        ids = np.asarray(customer).ravel()
        if len(z) != len(ids):
            raise ValueError("customer and value must have the same length")
        bad = ~(z > 0) | ~np.isfinite(z)
        if bad.any() and self.nonpositive == "raise":
            raise ValueError(f"{int(bad.sum())} transactions have a non-positive or missing value; the "
                             "Gamma-Gamma model needs positive values (nonpositive='drop' leaves them out)")
        self.n_dropped_ = int(bad.sum())
        z, ids = z[~bad], ids[~bad]
        if len(z) == 0:
            raise ValueError("no transaction with a positive value")
        codes, _ = pd.factorize(ids)
        n = np.bincount(codes).astype(float)
        S = np.bincount(codes, weights=z)
        L = np.bincount(codes, weights=np.log(z))
        (nu, Su, Lu), wu = _dedupe([n, S, L], None)
        self.time_unit_ = None
        self.fitted_on_ = "transactions"
        return self._fit(_TransactionSpendData(nu, Su, Lu, wu))

    def _boundary_note(self, theta, at_lo, at_hi) -> str:
        return _limits_note(theta, at_lo, at_hi, {
            ("q", "gamma"): "every customer has the same mean spend per transaction (q and gamma very large)"},
            {("p", "hi"): "each customer spends practically the same on every transaction (p very large)",
             ("q", "lo"): (f"q at its lower limit q_min = {self.q_min:g}: the constraint binds" if self.q_min
                           else "mean spend differs without limit between customers (q near 0)")})

    def _loglik_grad(self, theta, data, grad=True, per_row=False):
        p, q, g = (float(v) for v in theta)
        if self.q_min:
            q += float(self.q_min)      # theta holds q - q_min; dq is the same
        if isinstance(data, _TransactionSpendData):
            return self._loglik_grad_tx(p, q, g, data, grad, per_row)
        x, m, w = data.x, data.m, data.w
        px = p * x
        lgm = np.log(g + m * x)
        lm, lx = np.log(m), np.log(x)
        ll_row = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
                  + (px - 1) * lm + px * lx - (px + q) * lgm)
        if per_row:
            return ll_row
        ll = float(wdot(w, ll_row))
        if not grad:
            return ll, None
        dpq = digamma(px + q)
        dp = wdot(w, x * (dpq - digamma(px) + lm + lx - lgm))
        dq = wdot(w, dpq - digamma(q) + np.log(g) - lgm)
        dg = wdot(w, q / g - (px + q) / (g + m * x))
        return ll, np.array([dp, dq, dg])

    @staticmethod
    def _loglik_grad_tx(p, q, g, data, grad, per_row):
        n, S, L, w = data.n, data.S, data.L, data.w
        pn = p * n
        lgS = np.log(g + S)
        ll_row = ((p - 1) * L - n * gammaln(p) + q * np.log(g) - gammaln(q) + gammaln(pn + q)
                  - (pn + q) * lgS)
        if per_row:
            return ll_row
        ll = float(wdot(w, ll_row))
        if not grad:
            return ll, None
        dpq = digamma(pn + q)
        dp = wdot(w, L - n * digamma(p) + n * dpq - n * lgS)
        dq = wdot(w, np.log(g) - digamma(q) + dpq - lgS)
        dg = wdot(w, q / g - (pn + q) / (g + S))
        return ll, np.array([dp, dq, dg])

    def _start_values(self, data) -> list[np.ndarray]:
        if isinstance(data, _TransactionSpendData):
            mean_m = float(wdot(data.w, data.S) / wdot(data.w, data.n))
        else:
            mean_m = float(wdot(data.w, data.m) / data.w.sum())
        shift = self._q_shift()
        out = []
        for p in (1.0, 4.0, 15.0):
            for q in (2.0, 4.0, 10.0):
                q = q + shift if shift >= 2.0 else q          # starts above q_min
                out.append(np.array([p, q - shift, mean_m * (q - 1) / p]))
        return out

    # --------------------------------------------------------------------------- predictions
    def loglik(self, frequency: RFMInput, monetary_value: ArrayLike | None = None) -> np.ndarray:
        """Per-customer log-likelihood of the mean spend (customers with x > 0 and m > 0)."""
        x, m = _spend_arrays(frequency, monetary_value)
        return self._loglik_grad(self._internal(), _SpendData(x, m, np.ones_like(x)), per_row=True)

    def loglik_transactions(self, customer: ArrayLike, value: ArrayLike) -> pd.Series:
        """Per-customer log-likelihood of their individual transaction values (index: customer)."""
        z = np.asarray(value, float).ravel()
        codes, uniq = pd.factorize(np.asarray(customer).ravel())
        data = _TransactionSpendData(np.bincount(codes).astype(float), np.bincount(codes, weights=z),
                                     np.bincount(codes, weights=np.log(z)), np.ones(len(uniq)))
        return pd.Series(self._loglik_grad(self._internal(), data, per_row=True), index=uniq)

    def expected_average_value(self, frequency: RFMInput,
                               monetary_value: ArrayLike | None = None) -> np.ndarray:
        """E[spend per transaction | x, m_x] = p (gamma + m_x x) / (p x + q - 1); population mean at x = 0."""
        p, q, g = self._theta()
        x, m = _spend_arrays(frequency, monetary_value)
        m = np.where(x > 0, m, 0.0)
        return p * (g + m * x) / (p * x + q - 1)

    @property
    def mean_value_(self) -> float:
        """Population mean spend per transaction, p gamma / (q - 1) (infinite for q <= 1)."""
        p, q, g = self._theta()
        return p * g / (q - 1) if q > 1 else float("inf")

    def customer_lifetime_value(self, transaction_model: BaseModel, frequency: RFMInput,
                                recency: ArrayLike | None = None, T: ArrayLike | None = None,
                                monetary_value: ArrayLike | None = None, horizon: int = 12,
                                discount_rate: float = 0.01, margin: float = 1.0,
                                time_unit: str = "M") -> "np.ndarray | pd.Series":
        """Discounted CLV per customer; see :func:`toolkit.clv.valuation.value.customer_lifetime_value`."""
        return _clv(transaction_model, self, frequency, recency, T, monetary_value,
                    horizon=horizon, discount_rate=discount_rate, margin=margin, time_unit=time_unit)
