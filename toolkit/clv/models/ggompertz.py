"""GGompertz/NBD (Bemmaor & Glady 2012, "Modeling Purchasing Behavior with Sudden 'Death': A Flexible
Customer Lifetime Model", Management Science 58(5)).

Purchases while alive: Poisson with rate lambda ~ Gamma(r, alpha), as in the Pareto/NBD. Lifetimes:
Gompertz with hazard eta b e^(b tau), eta ~ Gamma(s, beta) across customers (b is common), so the
population survival and lifetime density are

    S(tau) = (beta / (beta + e^(b tau) - 1))^s,
    f(tau) = b s beta^s e^(b tau) (beta + e^(b tau) - 1)^-(s+1).

With x repeat purchases, recency t_x and age T,

    L = Gamma(r+x) alpha^r / Gamma(r) [ (alpha+T)^-(r+x) S(T) + int_{t_x}^T (alpha+y)^-(r+x) f(y) dy ]

(alive at T, or dead at some y between the last purchase and T). The integral has no closed form and
is computed by composite Gauss-Legendre quadrature in u = log((alpha+y)/(alpha+t_x)), where the
factor (alpha+y)^-(r+x) becomes e^-(r+x)u and the integrand is smooth also for large x; e^(b y) - 1
is always ``expm1`` (b is often tiny). The gradient is the quadrature of the analytic derivatives of
the integrand. b -> 0 with beta / b fixed is the Pareto/NBD with lifetime scale beta / b (the
Gompertz lifetimes become exponential): on CDNOW the maximum lies there.

Predictions: P(alive) is the first term over L; given alive at T, lambda ~ Gamma(r+x, alpha+T)
and the residual lifetime survives u more with probability S(T+u) / S(T), so

    E[X(t)] = r/alpha int_0^t S(u) du,
    E[Y(t) | x, t_x, T] = P(alive) (r+x)/(alpha+T) int_0^t S(T+u)/S(T) du.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from toolkit.clv.models.base import (ArrayLike, RFMData, RFMInput, TransactionModel, _limits_note,
                   customer_arrays, log_poch, unique_rows, wdot)
from toolkit.clv.models.bgnbd import safe_exp

__all__ = ["GGompertzNBD"]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_PANELS = 2
_BASE = (np.arange(_PANELS)[:, None] + (_GL_X[None, :] + 1.0) / 2.0).ravel() / _PANELS   # nodes on [0, 1]
_WTS = np.tile(_GL_W / 2.0, _PANELS) / _PANELS


def log_beta_expm1(beta: float, by: np.ndarray) -> np.ndarray:
    """log(beta + e^(by) - 1) without overflow or cancellation (by >= 0)."""
    by = np.asarray(by, float)
    big = by > 30.0
    if not big.any():
        return np.log(beta + np.expm1(by))
    small = np.log(beta + np.expm1(np.where(big, 0.0, by)))
    large = by + np.log1p((beta - 1.0) * safe_exp(-np.where(big, by, 30.0)))
    return np.where(big, large, small)


def _log_survival(beta: float, b: float, s: float, t: np.ndarray) -> np.ndarray:
    """log S(t) = s (log beta - log(beta + e^(bt) - 1))."""
    return s * (np.log(beta) - log_beta_expm1(beta, b * np.asarray(t, float)))


class GGompertzNBD(TransactionModel):
    """GGompertz/NBD model. ``fit(frequency, recency, T)`` or ``fit(rfm_summary_frame)``; the same
    interface as :class:`~toolkit.clv.ParetoNBD` (prob_alive, expected_purchases,
    conditional_expected_purchases, loglik)."""

    _boundary_ok = True

    param_names = ("r", "alpha", "b", "s", "beta")
    model_name = "GGompertz/NBD"

    def _limit_label(self, at_lo: list[str], at_hi: list[str]) -> str:
        if "b" in at_lo:
            return "at the Pareto/NBD limit (b near 0, lifetime scale beta / b)"
        if "s" in at_lo or "beta" in at_hi:
            return "at the no-dropout boundary"
        return super(TransactionModel, self)._limit_label(at_lo, at_hi)

    def _boundary_note(self, theta, at_lo, at_hi) -> str:
        note = _limits_note(theta, at_lo, at_hi, {
            ("r", "alpha"): "purchase rates are the same for every customer ({mean:.4g} per unit of time)"},
            {("b", "lo"): "b near 0: the model reduces to the Pareto/NBD with lifetime scale beta / b = "
                          + f"{theta['beta'] / theta['b']:.4g}",
             ("beta", "lo"): "beta near 0",
             ("s", "lo"): "practically no customer drops out (s near 0)",
             ("beta", "hi"): "practically no customer drops out (beta very large)"})
        return note

    # --------------------------------------------------------------------------- likelihood
    @staticmethod
    def _nodes(x, tx, T, r, alpha, b, s, beta):
        """Quadrature over [t_x, T] in z = log((c+y)/(c+t_x)), c = min(alpha, min(beta, 1)/b) the
        smallest scale on which the integrand changes (that of (alpha+y)^-(r+x), or of the lifetime
        density near 0); the range stops where the integrand has fallen below e^-60 of its scale
        (the purchase factor for large x, the lifetime density for large b). Returns y at the nodes
        and log weights including dy = (c+y) dz, shape (n, K)."""
        c = min(alpha, min(beta, 1.0) / b)
        rate = r + x - 1.0
        with np.errstate(over="ignore", divide="ignore"):
            y_buy = np.where(rate > 0, (alpha + tx) * np.exp(np.minimum(60.0 / np.where(rate > 0, rate, 1.0), 700.0))
                             - alpha, np.inf)
        y_life = tx + (np.log1p(beta) + 60.0 / s) / b
        hi = np.minimum(T, np.minimum(y_buy, y_life))
        Z = np.log(c + hi) - np.log(c + tx)
        z = Z[:, None] * _BASE[None, :]
        y = np.minimum((c + tx)[:, None] * np.exp(z) - c, T[:, None])
        with np.errstate(divide="ignore"):
            lw = np.log(Z[:, None] * _WTS[None, :]) + np.log(c + y)
        return y, lw

    def _loglik_grad(self, theta, data, grad=True, per_row=False):
        # exp of very negative (positive) logs is exactly 0 (inf) by intent: no floating-point flags
        with np.errstate(under="ignore", over="ignore"):
            return self._loglik_grad_impl(theta, data, grad, per_row)

    def _loglik_grad_impl(self, theta, data, grad, per_row):
        r, alpha, b, s, beta = (float(v) for v in theta)
        x, tx, T, w = data.x, data.tx, data.T, data.w
        xu, xi, _, _, _, _ = data.factors()
        lr_, dr_ = log_poch(r, xu)
        lbT = log_beta_expm1(beta, b * T)
        laT = np.log(alpha + T)
        logA = -(r + x) * laT + s * (np.log(beta) - lbT)
        y, lw = self._nodes(x, tx, T, r, alpha, b, s, beta)
        lay = np.log(alpha + y)
        lby = log_beta_expm1(beta, b * y)
        lg = -(r + x)[:, None] * lay + b * y - (s + 1.0) * lby + lw      # log of g(y) dy at the nodes
        has = tx < T
        lg = np.where(has[:, None], lg, -np.inf)
        top = np.max(lg, axis=1)
        top = np.where(np.isfinite(top), top, 0.0)
        eg = np.exp(lg - top[:, None])
        I = eg.sum(axis=1)
        with np.errstate(divide="ignore"):
            logI = np.where(I > 0, np.log(np.where(I > 0, I, 1.0)) + top, -np.inf)
        logB = np.log(b) + np.log(s) + s * np.log(beta) + logI
        m = np.maximum(logA, logB)
        eA = np.exp(logA - m)
        eB = np.exp(logB - m)
        D = eA + eB
        ll_row = lr_[xi] + r * np.log(alpha) + m + np.log(D)
        if per_row:
            return ll_row
        ll = float(wdot(w, ll_row))
        if not grad:
            return ll, None
        pA, pB = eA / D, eB / D
        wx = np.bincount(xi, weights=w, minlength=len(xu))
        Iinv = 1.0 / np.where(I > 0, I, 1.0)

        def share(v):                      # the integral's weighted mean of v over the nodes
            return np.einsum("ij,ij->i", eg, v) * Iinv

        ibT = np.exp(-lbT)
        iby = np.exp(-lby)                 # 1 / (beta + e^(by) - 1); e^(by) times it is 1 + (1 - beta) iby
        eT = 1.0 + (1.0 - beta) * ibT
        y_iby = y * iby
        # d log A and d log(b s beta^s I) per customer, parameters (r, alpha, b, s, beta)
        dA = np.column_stack([-laT, -(r + x) / (alpha + T), -s * T * eT, np.log(beta) - lbT, s * (1 / beta - ibT)])
        dI = np.column_stack([
            -share(lay),
            -(r + x) * share(1.0 / (alpha + y)),
            1.0 / b - s * share(y) - (s + 1.0) * (1.0 - beta) * share(y_iby),
            1.0 / s + np.log(beta) - share(lby),
            s / beta - (s + 1.0) * share(iby)])
        g = (w[:, None] * (pA[:, None] * dA + pB[:, None] * dI)).sum(axis=0)
        g[0] += wdot(wx, dr_) + w.sum() * np.log(alpha)
        g[1] += w.sum() * r / alpha
        return ll, g

    def _start_values(self, data) -> list[np.ndarray]:
        rate_all, rate_rep = self._rates(data)
        meanT = wdot(data.w, data.T) / data.w.sum()
        out = []
        for r in (0.25, 1.0):
            for rate in (rate_all, rate_rep):
                for s, life in ((0.5, 1.0), (1.5, 0.5)):
                    for bT in (0.1, 1.0):
                        b = bT / meanT
                        kappa = s * life * meanT            # Pareto-type lifetime scale beta / b
                        out.append(np.array([r, r / rate, b, s, b * kappa]))
        return out

    # --------------------------------------------------------------------------- predictions

    def prob_alive(self, frequency: RFMInput, recency: ArrayLike | None = None,
                   T: ArrayLike | None = None) -> np.ndarray:
        """P(customer still alive at T | x, t_x, T)."""
        r, alpha, b, s, beta = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        tx = np.minimum(tx, T_)
        ll = self._loglik_grad(self._theta(), RFMData(x, tx, T_, np.ones_like(x)), grad=False, per_row=True)
        logA = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T_)
                + _log_survival(beta, b, s, T_))
        return np.minimum(safe_exp(logA - ll), 1.0)

    def _residual_life(self, t, T_) -> np.ndarray:
        """int_0^t S(T+u)/S(T) du for arrays t, T (broadcast), by Gauss-Legendre in log(1 + u/c),
        c the residual-life scale 1 / max(hazard at T, its limit s b)."""
        r, alpha, b, s, beta = self._theta()
        t, T_ = np.broadcast_arrays(np.asarray(t, float), np.asarray(T_, float))
        lbT = log_beta_expm1(beta, b * T_)
        hazard = s * b * safe_exp(b * T_ - lbT)                 # population hazard at T given alive
        c = 1.0 / np.maximum(np.maximum(hazard, s * b), 1e-300)    # the hazard tends to s b as e^(bt) grows
        c = np.minimum(c, np.maximum(t, 1e-300))
        wmax = np.log1p(t / c)
        v = wmax[..., None] * _BASE
        u = c[..., None] * np.expm1(v)
        lratio = s * (lbT[..., None] - log_beta_expm1(beta, b * (T_[..., None] + u)))
        with np.errstate(divide="ignore"):
            lw = np.log(wmax[..., None] * _WTS) + np.log(c[..., None]) + v
        return np.where(t > 0, safe_exp(lratio + lw).sum(axis=-1), 0.0)

    def expected_purchases(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)] = r / alpha * int_0^t S(u) du: expected repeat purchases in (0, t]."""
        r, alpha, b, s, beta = self._theta()
        t = np.asarray(t, float)
        return r / alpha * self._residual_life(t, np.zeros_like(t))

    def conditional_expected_purchases(self, t: ArrayLike, frequency: RFMInput,
                                       recency: ArrayLike | None = None,
                                       T: ArrayLike | None = None) -> np.ndarray:
        """E[Y(t) | x, t_x, T]; ``t`` broadcasts (scalar, per customer, or an (H, 1) column)."""
        r, alpha, b, s, beta = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        pa = self.prob_alive(x, tx, T_)
        t = np.asarray(t, float)
        (Tu,), inv = unique_rows(T_)
        if t.ndim == 0 or (t.ndim == 2 and t.shape[1] == 1):
            life = self._residual_life(t, Tu)[..., inv]
        else:
            life = self._residual_life(t, T_)
        return pa * (r + x) / (alpha + T_) * life

    # ------------------------------------------------------------------ counts (P(exactly n purchases))
    def _count_given_alive(self, n, t, r_, a_, T_) -> np.ndarray:
        """P(n purchases in (T, T+t] | alive at T) with lambda ~ Gamma(r_, a_): alive throughout, or
        dead at T+u (density f(T+u)/S(T)) after n purchases in (T, T+u]."""
        from toolkit.clv.models.bgnbd import log_nbd_pmf

        r, alpha, b, s, beta = self._theta()
        n, t, r_, a_, T_ = np.broadcast_arrays(*(np.asarray(v, float) for v in (n, t, r_, a_, T_)))
        lbT = log_beta_expm1(beta, b * T_)
        alive = safe_exp(log_nbd_pmf(n, t, r_, a_) + s * (lbT - log_beta_expm1(beta, b * (T_ + t))))
        hazard = s * b * safe_exp(b * T_ - lbT)
        c = 1.0 / np.maximum(np.maximum(hazard, s * b), 1e-300)
        c = np.minimum(c, np.maximum(t, 1e-300))
        wmax = np.log1p(t / c)
        nodes = (np.arange(8)[:, None] + (_GL_X[None, :] + 1.0) / 2.0).ravel() / 8
        wts = np.tile(_GL_W / 2.0, 8) / 8
        v = wmax[..., None] * nodes
        u = c[..., None] * np.expm1(v)

        def e(a):
            return a[..., None]

        ldens = (np.log(b * s) + b * (e(T_) + u) - (s + 1) * log_beta_expm1(beta, b * (e(T_) + u)) + s * e(lbT))
        with np.errstate(divide="ignore"):
            lw = np.log(e(wmax) * wts) + np.log(e(c)) + v
        dead = safe_exp(log_nbd_pmf(e(n), u, e(r_), e(a_)) + ldens + lw).sum(axis=-1)
        return alive + np.where(t > 0, dead, 0.0)

    def probability_of_n_purchases_up_to_time(self, t: ArrayLike, n: ArrayLike) -> np.ndarray:
        """P(X(t) = n): probability of exactly n repeat purchases in (0, t] (t and n broadcast)."""
        r, alpha, b, s, beta = self._theta()
        return self._count_given_alive(n, t, r, alpha, 0.0)

    def conditional_probability_of_n_purchases_up_to_time(self, n: ArrayLike, t: ArrayLike,
                                                          frequency: RFMInput, recency: ArrayLike | None = None,
                                                          T: ArrayLike | None = None) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): exactly n purchases in (T, T + t], per customer (n = 0 gives
        1 - P(active) for a holdout scorecard)."""
        r, alpha, b, s, beta = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        pa = self.prob_alive(x, tx, T_)
        n = np.asarray(n, float)
        return pa * self._count_given_alive(n, t, r + x, alpha + T_, T_) + (1.0 - pa) * (n == 0)
