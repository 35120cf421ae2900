"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), estimated as in Fader & Hardie's notes.

Purchases while alive: Poisson with rate lambda ~ Gamma(r, alpha); lifetime: exponential with
rate mu ~ Gamma(s, beta). With x repeat purchases, recency t_x and age T,

    L = C [ (alpha+T)^-(r+x) (beta+T)^-s + s * (J(t_x) - J(T)) ],
    C = Gamma(r+x) alpha^r beta^s / Gamma(r),
    J(t) = int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du.

J is the tail integral behind the paper's 2F1 terms. With B = max(alpha, beta), S = min, e_S the
exponent on S's factor, e_B the other one, k = r+s+x and z = (B-S)/(B+t) in [0, 1):

    J(t) = (B+t)^-k (1-z)^(1-e_S) 2F1(1, e_B; k+1; z) / k.

Everything is computed in logs, so recency and T of any size give finite values:
``log L = log C + log A + log(1 + e^u1 - e^u2)`` with ``A = (alpha+T)^-(r+x) (beta+T)^-s``,
``u1 = log(s J(t_x)/A)`` and ``u2 = log(s J(T)/A)``. P(alive) is ``1 / (1 + e^u1 - e^u2)``.

For the fit, J and its gradient are evaluated at the distinct (x, t_x) and (x, T) pairs: by the
2F1 power series with its parameter derivatives where z <= 1/2, and where z > 1/2 (alpha and beta
far apart, small t) by splitting the integral at the point where z = 1/2: the near part is
integrated with composite Gauss-Legendre in log(S+u) (smooth there), the rest by the series.
The gradient is analytic: derivatives of the integrand under the integral sign. Predictions use
``special.log_hyp2f1`` (scipy's 2F1 with transformations and a quadrature fallback).
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from toolkit.clv.models.base import (ArrayLike, RFMData, RFMInput, TransactionModel, _limits_note,
                   customer_arrays, log_poch, unique_rows, wdot)
from toolkit.clv.models.bgnbd import inv1p_exp, log_nbd_pmf, safe_exp
from toolkit.clv.models.special import hyp2f1_a1, log_hyp2f1

__all__ = ["ParetoNBD"]

_Z0 = 0.5                        # series below, split integral above
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_PANELS = 4


def _branch(alpha: float, beta: float):
    """Which of alpha, beta is B (the larger); unit vectors of d(param) in (r, alpha, s, beta)."""
    big_alpha = alpha >= beta
    B, S = (alpha, beta) if big_alpha else (beta, alpha)
    dB = np.array([0.0, 1.0, 0.0, 0.0]) if big_alpha else np.array([0.0, 0.0, 0.0, 1.0])
    dS = np.array([0.0, 0.0, 0.0, 1.0]) if big_alpha else np.array([0.0, 1.0, 0.0, 0.0])
    return big_alpha, B, S, dB, dS


def log_tail(x: np.ndarray, t: np.ndarray, r: float, alpha: float, s: float, beta: float,
             grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """log J(t) for each (x, t) and, with ``grad``, its gradient in (r, alpha, s, beta): shape (n, 4)."""
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    _, B, S, _, _ = _branch(alpha, beta)
    z = (B - S) / (B + t)
    out = np.empty_like(x)
    g = np.empty((len(x), 4)) if grad else None
    ser = z <= _Z0
    if ser.any():
        v, d = _log_tail_series(x[ser], t[ser], r, alpha, s, beta, grad)
        out[ser] = v
        if grad:
            g[ser] = d
    knee = ~ser
    if knee.any():
        v, d = _log_tail_split(x[knee], t[knee], r, alpha, s, beta, grad)
        out[knee] = v
        if grad:
            g[knee] = d
    return out, g


def _param_derivs(x, big_alpha):
    """d k, d e_B, d e_S with respect to (r, alpha, s, beta), as (n, 4) arrays."""
    n = len(x)
    dk = np.tile([1.0, 0.0, 1.0, 0.0], (n, 1))
    d_rx = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))    # d(r + x)
    d_s1 = np.tile([0.0, 0.0, 1.0, 0.0], (n, 1))    # d(s + 1)
    return (dk, d_rx, d_s1) if big_alpha else (dk, d_s1, d_rx)


def _log_tail_series(x, t, r, alpha, s, beta, grad):
    big_alpha, B, S, dB, dS = _branch(alpha, beta)
    k = r + s + x
    eB = r + x if big_alpha else np.full_like(x, s + 1.0)
    eS = np.full_like(x, s + 1.0) if big_alpha else r + x
    Bt = B + t
    z = (B - S) / Bt
    F, Fb, Fc, Fz = hyp2f1_a1(eB, k + 1.0, z)
    l1mz = np.log1p(-z)
    val = -k * np.log(Bt) + (1.0 - eS) * l1mz - np.log(k) + np.log(F)
    if not grad:
        return val, None
    dk, deB, deS = _param_derivs(x, big_alpha)
    dz = (np.outer(S + t, dB) - np.outer(Bt, dS)) / (Bt ** 2)[:, None]
    d = (-dk * np.log(Bt)[:, None] - np.outer(k / Bt, dB) - deS * l1mz[:, None]
         - ((1.0 - eS) / (1.0 - z))[:, None] * dz - dk / k[:, None]
         + (Fb[:, None] * deB + Fc[:, None] * dk + Fz[:, None] * dz) / F[:, None])
    return val, d


def _log_tail_split(x, t, r, alpha, s, beta, grad):
    """J(t) = int_t^tau* + J(tau*) where z(tau*) = 1/2; the first part by Gauss-Legendre."""
    big_alpha, B, S, dB, dS = _branch(alpha, beta)
    k = r + s + x
    eB = r + x if big_alpha else np.full_like(x, s + 1.0)
    eS = np.full_like(x, s + 1.0) if big_alpha else r + x
    tau = np.full_like(t, (B - S) / _Z0 - B)
    vstar, dstar = _log_tail_series(x, tau, r, alpha, s, beta, grad)
    St = S + t
    log_St = np.log(St)
    log_delta = np.log(B - S) - log_St                       # delta = (B-S)/(S+t) > 1
    lstar = np.log((B - S) * (1.0 / _Z0 - 1.0)) - log_St      # end of the near part in l
    a_rate = eS - 1.0
    with np.errstate(divide="ignore"):
        L = np.where(a_rate > 0, np.minimum(lstar, 46.0 / np.where(a_rate > 0, a_rate, 1.0)), lstar)
    # composite Gauss-Legendre nodes on [0, L]: shape (n, P*m)
    base = (np.arange(_PANELS)[:, None] + (_GL_X[None, :] + 1.0) / 2.0).ravel() / _PANELS
    wts = np.tile(_GL_W / 2.0, _PANELS) / _PANELS
    ell = L[:, None] * base[None, :]
    W = L[:, None] * wts[None, :]
    sp = np.logaddexp(0.0, log_delta[:, None] - ell)          # log(1 + delta e^-l)
    logh = -k[:, None] * ell - eB[:, None] * sp + np.log(W)
    # J(t) (S+t)^k = sum_j W h_j + J(tau*) (S+t)^k
    extra = vstar + k * log_St
    M = np.maximum(logh.max(axis=1), extra)
    eh = np.exp(logh - M[:, None])
    ex = np.exp(extra - M)
    tot = eh.sum(axis=1) + ex
    val = -k * log_St + M + np.log(tot)
    if not grad:
        return val, None
    dk, deB, deS = _param_derivs(x, big_alpha)
    log_Su = log_St[:, None] + ell                            # log(S + u)
    log_Bu = log_Su + sp                                      # log(B + u)
    inv_Su = np.exp(-log_Su)
    inv_Bu = np.exp(-log_Bu)
    # d log f(u) = -deS log(S+u) - eS dS/(S+u) - deB log(B+u) - eB dB/(B+u), summed with weights eh
    m_lS = (eh * log_Su).sum(axis=1)
    m_lB = (eh * log_Bu).sum(axis=1)
    m_iS = (eh * inv_Su).sum(axis=1)
    m_iB = (eh * inv_Bu).sum(axis=1)
    d_near = (-deS * m_lS[:, None] - np.outer(eS * m_iS, dS)
              - deB * m_lB[:, None] - np.outer(eB * m_iB, dB))
    d = (d_near + ex[:, None] * dstar) / tot[:, None]
    return val, d


class ParetoNBD(TransactionModel):
    """Pareto/NBD model. ``fit(frequency, recency, T)`` or ``fit(rfm_summary_frame)``."""

    _boundary_ok = True

    param_names = ("r", "alpha", "s", "beta")
    model_name = "Pareto/NBD"

    def _boundary_note(self, theta, at_lo, at_hi) -> str:
        return _limits_note(theta, at_lo, at_hi, {
            ("r", "alpha"): "purchase rates are the same for every customer ({mean:.4g} per unit of time)",
            ("s", "beta"): "the dropout rate is the same for every customer ({mean:.4g} per unit of time)"},
            {("s", "lo"): "practically no customer drops out (s near 0): the model reduces to the NBD",
             ("beta", "hi"): "practically no customer drops out (beta very large): the model reduces to the NBD",
             ("r", "lo"): "purchase rates are near 0 for almost every customer (r near 0)",
             ("alpha", "hi"): "purchase rates are near 0 (alpha very large)"},
            {(("s", "lo"), ("beta", "hi")): "practically no customer drops out (s near 0, beta very large): the "
                                            "model reduces to the NBD"})

    # --------------------------------------------------------------------------- likelihood
    @staticmethod
    def _points(data: RFMData):
        """Distinct (x, t) evaluation points for J: the (x, t_x) and (x, T) pairs (cached)."""
        if not hasattr(data, "_pnbd_points"):
            (x1, t1), i1 = unique_rows(data.x, data.tx)
            (x2, t2), i2 = unique_rows(data.x, data.T)
            data._pnbd_points = (np.concatenate([x1, x2]), np.concatenate([t1, t2]), i1, i2 + len(x1))
        return data._pnbd_points

    def _loglik_grad(self, theta, data, grad=True, per_row=False, closed_form=False):
        r, alpha, s, beta = (float(v) for v in theta)
        x, tx, T, w = data.x, data.tx, data.T, data.w
        px, pt, i1, i2 = self._points(data)
        if closed_form:
            lj = _log_tail_closed(px, pt, r, alpha, s, beta)
            dj = None
            grad = False
        else:
            lj, dj = log_tail(px, pt, r, alpha, s, beta, grad)
        xu, xi, tu, ti, Tu, Ti = data.factors()
        laT = np.log(alpha + Tu)[Ti]
        lbT = np.log(beta + Tu)[Ti]
        lr_, dr_ = log_poch(r, xu)
        logC = lr_[xi] + r * np.log(alpha) + s * np.log(beta)
        logA = -(r + x) * laT - s * lbT
        u1 = np.log(s) + lj[i1] - logA
        u2 = np.log(s) + lj[i2] - logA
        m = np.maximum(u1, 0.0)
        e1 = safe_exp(u1 - m)
        diff = -np.expm1(u2 - u1)                 # 1 - e^(u2 - u1) >= 0
        D = safe_exp(-m) + e1 * diff
        ll_row = logC + logA + m + np.log(D)
        if per_row:
            return ll_row
        ll = float(wdot(w, ll_row))
        if not grad:
            return ll, None
        wx = np.bincount(xi, weights=w, minlength=len(xu))
        g_C = np.array([wdot(wx, dr_) + w.sum() * np.log(alpha),
                        w.sum() * r / alpha, w.sum() * np.log(beta), w.sum() * s / beta])
        dlogA = np.column_stack([-laT, -(r + x) * np.exp(-laT), -lbT, -s * np.exp(-lbT)])
        e_s = np.array([0.0, 0.0, 1.0 / s, 0.0])
        du1 = e_s + dj[i1] - dlogA
        du2 = e_s + dj[i2] - dlogA
        e2 = e1 * safe_exp(u2 - u1)
        dD = (e1[:, None] * du1 - e2[:, None] * du2) / D[:, None]
        g = g_C + (w[:, None] * (dlogA + dD)).sum(axis=0)
        return ll, g

    def _start_values(self, data) -> list[np.ndarray]:
        rate_all, rate_rep = self._rates(data)
        meanT = wdot(data.w, data.T) / data.w.sum()
        out = []
        for r in (0.25, 1.0, 3.0):
            for rate in (rate_all, rate_rep):
                for s, life in ((0.5, 1.0), (1.5, 0.5)):
                    # mean lifetime ~ life * mean age: beta / (s - 1) roughly, use s * life * T
                    out.append(np.array([r, r / rate, s, s * life * meanT]))
        return out

    # --------------------------------------------------------------------------- predictions
    def loglik(self, frequency: RFMInput, recency: ArrayLike | None = None,
               T: ArrayLike | None = None) -> np.ndarray:
        """Per-customer log-likelihood (closed form with 2F1) at the fitted parameters."""
        return self._loglik_grad(self._theta(), self._customer_rows(frequency, recency, T), grad=False,
                                 per_row=True, closed_form=True)

    def _log_odds(self, x, tx, T_):
        """log(1/P(alive) - 1) = log(e^u1 - e^u2) with the closed-form tails."""
        r, alpha, s, beta = self._theta()
        (x1, t1), i1 = unique_rows(x, tx)
        (x2, t2), i2 = unique_rows(x, T_)
        l1 = _log_tail_closed(x1, t1, r, alpha, s, beta)[i1]
        l2 = _log_tail_closed(x2, t2, r, alpha, s, beta)[i2]
        logA = -(r + x) * np.log(alpha + T_) - s * np.log(beta + T_)
        u1 = np.log(s) + l1 - logA
        u2 = np.log(s) + l2 - logA
        with np.errstate(divide="ignore"):
            return u1 + np.log(-np.expm1(np.minimum(u2 - u1, 0.0)))

    def prob_alive(self, frequency: RFMInput, recency: ArrayLike | None = None,
                   T: ArrayLike | None = None) -> np.ndarray:
        """P(customer still alive at T | x, t_x, T); finite for any recency and T."""
        x, tx, T_ = customer_arrays(frequency, recency, T)
        lo = self._log_odds(x, tx, np.maximum(T_, tx))
        return inv1p_exp(lo)

    def expected_purchases(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (s = 1: log form)."""
        r, alpha, s, beta = self._theta()
        t = np.asarray(t, float)
        return r * beta / alpha * _pow_ratio(s - 1.0, np.log1p(t / beta))

    def conditional_expected_purchases(self, t: ArrayLike, frequency: RFMInput,
                                       recency: ArrayLike | None = None,
                                       T: ArrayLike | None = None) -> np.ndarray:
        """E[Y(t) | x, t_x, T]; ``t`` broadcasts (scalar, per customer, or an (H, 1) column)."""
        r, alpha, s, beta = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        t = np.asarray(t, float)
        pa = self.prob_alive(x, tx, T_)
        return pa * (r + x) * (beta + T_) / (alpha + T_) * _pow_ratio(s - 1.0, np.log1p(t / (beta + T_)))

    def probability_of_n_purchases_up_to_time(self, t: ArrayLike, n: ArrayLike) -> np.ndarray:
        """P(X(t) = n): probability of exactly n repeat purchases in (0, t] (t and n broadcast)."""
        r, alpha, s, beta = self._theta()
        return pnbd_count_pmf(n, t, r, alpha, s, beta)

    def conditional_probability_of_n_purchases_up_to_time(self, n: ArrayLike, t: ArrayLike,
                                                          frequency: RFMInput, recency: ArrayLike | None = None,
                                                          T: ArrayLike | None = None) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): probability of exactly n purchases in (T, T + t], per customer.

        Alive at T, lambda ~ Gamma(r + x, alpha + T) and mu ~ Gamma(s, beta + T), and the process
        starts afresh (memoryless lifetimes); a customer who is no longer alive buys nothing."""
        r, alpha, s, beta = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        pa = self.prob_alive(x, tx, T_)
        n = np.asarray(n, float)
        return pa * pnbd_count_pmf(n, t, r + x, alpha + T_, s, beta + T_) + (1.0 - pa) * (n == 0)


_CP_PANELS = 12
_CP_X, _CP_W = np.polynomial.legendre.leggauss(24)


def _log_sigmoid(w: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -w)


def pnbd_count_pmf(k, t, r, alpha, s, beta) -> np.ndarray:
    """P(X(t) = k) under the Pareto/NBD (arrays broadcast): alive at t with k purchases, plus dead at
    tau < t with k purchases by then,

        NB(k; t) (beta/(beta+t))^s + int_0^t NB(k; tau) s beta^s (beta+tau)^-(s+1) dtau.

    With u = tau/(alpha+tau) = sigmoid(w), w = log(tau/alpha), the integrand is
    C_k s beta^s alpha u^(k+1) (1-u)^(r+s) (beta + (alpha-beta) u)^-(s+1): a single smooth hump in w
    of width O(1) for any k, integrated by composite Gauss-Legendre over the range that holds it.
    """
    k, t, r, alpha, s, beta = (np.asarray(v, float) for v in np.broadcast_arrays(k, t, r, alpha, s, beta))
    alive = safe_exp(log_nbd_pmf(k, t, r, alpha) - s * np.log1p(t / beta))
    pos = t > 0
    w_end = np.log(np.where(pos, t, 1.0)) - np.log(alpha)
    rs = r + s
    peak = np.log(k + 1) - np.log(rs)                        # maximum of u^(k+1) (1-u)^(r+s)
    curv = (k + 1) * rs / (k + 1 + rs)
    spread = 14.0 / np.sqrt(curv) + np.abs(np.log(alpha) - np.log(beta))
    hi = np.minimum(w_end, peak + spread + 40.0 / rs)
    lo = np.minimum(peak, hi) - spread - 40.0 / (k + 1)
    base = (np.arange(_CP_PANELS)[:, None] + (_CP_X[None, :] + 1.0) / 2.0).ravel() / _CP_PANELS
    wts = np.tile(_CP_W / 2.0, _CP_PANELS) / _CP_PANELS
    span = (hi - lo)[..., None]
    w = lo[..., None] + span * base
    ls, lc = _log_sigmoid(w), _log_sigmoid(-w)
    def e(v):
        return v[..., None]

    lmix = np.logaddexp(np.log(e(beta)) + lc, np.log(e(alpha)) + ls)     # log(beta (1-u) + alpha u)
    lf = (e(gammaln(r + k) - gammaln(r) - gammaln(k + 1) + np.log(s) + s * np.log(beta) + np.log(alpha))
          + e(k + 1) * ls + e(rs) * lc - e(s + 1) * lmix + np.log(span * wts))
    dead = np.where(pos, safe_exp(lf).sum(axis=-1), 0.0)
    return alive + dead


def _pow_ratio(c: float, L: np.ndarray) -> np.ndarray:
    """(1 - e^(-c L)) / c, with the limit L at c = 0."""
    if abs(c) < 1e-10:
        return L + 0.0 * L
    return -np.expm1(-c * L) / c


def _log_tail_closed(x, t, r, alpha, s, beta) -> np.ndarray:
    """log J(t) from the closed form with special.log_hyp2f1 (used for predictions and reporting)."""
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    big_alpha, B, S, _, _ = _branch(alpha, beta)
    k = r + s + x
    eB = r + x if big_alpha else s + 1.0 + 0 * x
    eS = s + 1.0 + 0 * x if big_alpha else r + x
    z = (B - S) / (B + t)
    # 2F1(1, eB; k+1; z) diverges like (1-z)^(eS-1) when eS < 1: log_hyp2f1 applies Euler's
    # transformation and keeps that factor in logs.
    return -k * np.log(B + t) + (1.0 - eS) * np.log1p(-z) - np.log(k) + log_hyp2f1(1.0, eB, k + 1.0, z)
