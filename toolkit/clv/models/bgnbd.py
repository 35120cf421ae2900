"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007).

Purchases while alive follow a Poisson process with rate lambda ~ Gamma(r, alpha); after each
repeat purchase (BG/NBD), or also at time 0 (MBG/NBD), the customer drops out with probability
p ~ Beta(a, b). Data per customer: x repeat purchases, recency t_x, age T, all in one time unit.

Per-customer likelihood (BG/NBD), as in the paper:

    L = B(a, b+x)/B(a, b) * G * (alpha+T)^-(r+x)
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G * (alpha+t_x)^-(r+x),   G = Gamma(r+x) alpha^r / Gamma(r)

The log-likelihood is the sum of log L over customers with nothing dropped (no constants are
omitted), so with weekly units it is directly comparable with the published -9582.4 for CDNOW.
"""
from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaln, gammaln

from toolkit.clv.models.base import (ArrayLike, RFMInput, TransactionModel, _limits_note,
                   customer_arrays, log_poch, unique_rows, wdot)
from toolkit.clv.models.special import hyp2f1, log_hyp2f1

__all__ = ["BetaGeo", "ModifiedBetaGeo"]

_EXP_MAX = 700.0   # |argument| beyond which exp is exactly 0 or inf (no underflow / overflow flag)


def safe_exp(v: np.ndarray) -> np.ndarray:
    """exp(v) that gives exact 0 below e^-700 and inf above e^700 without floating-point flags, so
    predictions run clean under ``np.errstate(all="raise")``."""
    v = np.asarray(v, float)
    return np.exp(np.where(v < -_EXP_MAX, -np.inf, np.where(v > _EXP_MAX, np.inf, v)))


def inv1p_exp(v: np.ndarray) -> np.ndarray:
    """1 / (1 + e^v) for any v (0 for v = +inf, 1 for v = -inf), without floating-point flags."""
    return 1.0 / (1.0 + safe_exp(v))


def log_nbd_pmf(k: np.ndarray, t: np.ndarray, r, alpha) -> np.ndarray:
    """log P(N(t) = k) for the NBD (Poisson counts with rate ~ Gamma(r, alpha)); -inf where impossible."""
    k, t, r, alpha = np.broadcast_arrays(*(np.asarray(v, float) for v in (k, t, r, alpha)))
    pos = t > 0
    lu = np.where(pos, np.log(np.where(pos, t, 1.0)) - np.log(alpha + t), 0.0)   # log(t / (alpha + t))
    kl = np.where(k > 0, k * lu, 0.0)
    out = gammaln(r + k) - gammaln(r) - gammaln(k + 1) - r * np.log1p(t / alpha) + kl
    return np.where(pos | (k == 0), out, -np.inf)


def nbd_tail(k: np.ndarray, t: np.ndarray, r, alpha) -> np.ndarray:
    """P(N(t) >= k) for the NBD: the regularised incomplete beta I_u(k, r), u = t / (alpha + t); 1 at k = 0."""
    k, t, r, alpha = np.broadcast_arrays(*(np.asarray(v, float) for v in (k, t, r, alpha)))
    u = t / (alpha + t)
    return np.where(k > 0, betainc(np.maximum(k, 1.0), r, u), 1.0)


def _bg_count_pmf(k, t, r, alpha, a, b, modified: bool) -> np.ndarray:
    """P(X(t) = k) of a customer who just purchased, with dropout only after purchases (BG/NBD, Fader,
    Hardie & Lee 2005, eq. 8) or also right away (MBG/NBD): alive with k purchases, or dropped out
    after the k-th (which needs N(t) >= k)."""
    k = np.asarray(k, float)
    base = betaln(a, b)
    e = 1.0 if modified else 0.0
    alive = safe_exp(betaln(a, b + k + e) - base + log_nbd_pmf(k, t, r, alpha))
    with np.errstate(divide="ignore", invalid="ignore"):
        ldead = np.where((k > 0) | modified, betaln(a + 1, np.maximum(b + k - 1 + e, 1e-300)) - base, -np.inf)
    return alive + safe_exp(ldead) * nbd_tail(k, t, r, alpha)


class BetaGeo(TransactionModel):
    """BG/NBD model. ``fit(frequency, recency, T)`` or ``fit(rfm_summary_frame)``."""

    _boundary_ok = True

    param_names = ("r", "alpha", "a", "b")
    model_name = "BG/NBD"
    _modified = False

    def _boundary_note(self, theta, at_lo, at_hi) -> str:
        return _limits_note(theta, at_lo, at_hi, {
            ("r", "alpha"): "purchase rates are the same for every customer ({mean:.4g} per unit of time)",
            ("a", "b"): "the dropout probability is the same for every customer (p = {mean:.4g}, "
                        "a / (a + b) with a and b very large)"},
            {("a", "lo"): "practically no customer drops out (a near 0): the model reduces to the NBD",
             ("b", "hi"): "dropout after a purchase is practically impossible (b very large)",
             ("a", "hi"): "almost every customer drops out after a repeat purchase (a very large)",
             ("r", "lo"): "purchase rates are near 0 for almost every customer (r near 0)",
             ("alpha", "hi"): "purchase rates are near 0 (alpha very large)"},
            {(("a", "lo"), ("b", "hi")): "practically no customer drops out (a near 0, b very large): the model "
                                         "reduces to the NBD"})

    # ------------------------------------------------------------------ likelihood pieces per x
    def _x_terms(self, xu: np.ndarray, a: float, b: float):
        """log B-ratios of the 'alive' (3) and 'dropped after last purchase' (4) terms, per x."""
        if not self._modified:
            lb, db_ = log_poch(b, xu)
            lab, dab_ = log_poch(a + b, xu)
            g3 = lb - lab
            d3a = -dab_
            d3b = db_ - dab_
            pos = xu > 0
            bx1 = np.where(pos, b + xu - 1, 1.0)
            g4 = np.where(pos, g3 + np.log(a) - np.log(bx1), -np.inf)
            d4a = np.where(pos, d3a + 1 / a, 0.0)
            d4b = np.where(pos, d3b - 1 / bx1, 0.0)
        else:
            lb1, db1 = log_poch(b, xu + 1)
            lab1, dab1 = log_poch(a + b, xu + 1)
            lb, db_ = log_poch(b, xu)
            g3 = lb1 - lab1
            d3a = -dab1
            d3b = db1 - dab1
            g4 = np.log(a) + lb - lab1
            d4a = 1 / a - dab1
            d4b = db_ - dab1
        return g3, g4, d3a, d3b, d4a, d4b

    def _loglik_grad(self, theta, data, grad=True, per_row=False):
        r, alpha, a, b = (float(v) for v in theta)
        xu, xi, tu, ti, Tu, Ti = data.factors()
        x, w = data.x, data.w
        g3, g4, d3a, d3b, d4a, d4b = self._x_terms(xu, a, b)
        lr_, dr_ = log_poch(r, xu)
        # r log(alpha) - (r + x) log(alpha + T) written as -r log1p(T / alpha) - x log(alpha + T): exact also
        # for huge r and alpha (purchase rates nearly the same for every customer)
        lT = np.log(alpha + Tu)[Ti]
        lt = np.log(alpha + tu)[ti]
        l1T = np.log1p(Tu / alpha)[Ti]
        l1t = np.log1p(tu / alpha)[ti]
        A3 = g3[xi] - r * l1T - x * lT
        A4 = g4[xi] - r * l1t - x * lt
        m = np.maximum(A3, A4)
        with np.errstate(invalid="ignore"):
            e4 = safe_exp(A4 - m)
            s = safe_exp(A3 - m) + e4
        ll_row = lr_[xi] + m + np.log(s)
        if per_row:
            return ll_row
        ll = float(wdot(w, ll_row))
        if not grad:
            return ll, None
        p4 = e4 / s   # posterior weight of "dropped out after the last purchase"
        p3 = 1.0 - p4
        wx = np.bincount(xi, weights=w, minlength=len(xu))
        dr = wdot(wx, dr_) - wdot(w, p3 * l1T + p4 * l1t)
        aT, at = (alpha + Tu)[Ti], (alpha + tu)[ti]
        dalpha = wdot(w, p3 * (r * Tu[Ti] / (alpha * aT) - x / aT) + p4 * (r * tu[ti] / (alpha * at) - x / at))
        wp4 = np.bincount(xi, weights=w * p4, minlength=len(xu))
        wp3 = wx - wp4
        da = wdot(wp3, d3a) + wdot(wp4, d4a)
        db = wdot(wp3, d3b) + wdot(wp4, d4b)
        return ll, np.array([dr, dalpha, da, db])

    def _start_values(self, data) -> list[np.ndarray]:
        rate_all, rate_rep = self._rates(data)
        out = []
        for r in (0.25, 1.0, 3.0):
            for rate in (rate_all, rate_rep):
                for a, b in ((1.0, 3.0), (0.5, 1.0), (2.0, 8.0)):
                    out.append(np.array([r, r / rate, a, b]))
        return out

    # ------------------------------------------------------------------------------ predictions

    def _dropout_odds_log(self, x, tx, T_):
        """log of P(dropped after last purchase)/P(alive) for each customer."""
        r, alpha, a, b = self._theta()
        lr = (r + x) * (np.log(alpha + T_) - np.log(alpha + tx))
        if self._modified:
            return np.log(a) - np.log(b + x) + lr
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + lr, -np.inf)

    def prob_alive(self, frequency: RFMInput, recency: ArrayLike | None = None,
                   T: ArrayLike | None = None) -> np.ndarray:
        """P(customer still active at T | x, t_x, T)."""
        x, tx, T_ = customer_arrays(frequency, recency, T)
        return inv1p_exp(self._dropout_odds_log(x, tx, T_))

    def _bracket(self, t, x, T_):
        """1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b'; c'; t/(alpha+T+t)), b', c' per model."""
        r, alpha, a, b = self._theta()
        t, x, T_ = np.broadcast_arrays(np.asarray(t, float), x, T_)
        z = t / (alpha + T_ + t)
        bb = b + x + (1 if self._modified else 0)
        cc = a + b + x - (0 if self._modified else 1)
        lv = (r + x) * np.log1p(-z) + log_hyp2f1(r + x, bb, cc, z)
        out = -np.expm1(lv)
        bad = ~np.isfinite(lv)
        if bad.any():   # 2F1 not positive (a + b < 1 and x = 0): use its value directly
            out[bad] = 1.0 - (1 - z[bad]) ** (r + x[bad]) * hyp2f1(r + x[bad], bb[bad], cc[bad], z[bad])
        return out

    def _by_x_T(self, t, x, T_):
        """The bracket over distinct (x, T) pairs; t may be a scalar or an (H, 1) column."""
        t = np.asarray(t, float)
        if t.ndim == 0 or (t.ndim == 2 and t.shape[1] == 1):
            (xu, Tu), inv = unique_rows(x, T_)
            return self._bracket(t, xu, Tu)[..., inv]
        return self._bracket(t, x, T_)

    def expected_purchases(self, t: ArrayLike) -> np.ndarray:
        """E[X(t)]: expected repeat purchases in (0, t] of a customer who made a first purchase at 0."""
        r, alpha, a, b = self._theta()
        t = np.asarray(t, float)
        zero = np.zeros_like(t)
        pref = (b if self._modified else a + b - 1) / (a - 1)
        out = pref * self._bracket(t, zero, zero)
        return out

    def conditional_expected_purchases(self, t: ArrayLike, frequency: RFMInput,
                                       recency: ArrayLike | None = None,
                                       T: ArrayLike | None = None) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t]; ``t`` broadcasts against customers
        (scalar, per customer, or an (H, 1) column giving an (H, n) array)."""
        r, alpha, a, b = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        pref = (a + b + x - (0 if self._modified else 1)) / (a - 1)
        return self.prob_alive(x, tx, T_) * pref * self._by_x_T(t, x, T_)

    def probability_of_n_purchases_up_to_time(self, t: ArrayLike, n: ArrayLike) -> np.ndarray:
        """P(X(t) = n): probability of exactly n repeat purchases in (0, t] (t and n broadcast)."""
        r, alpha, a, b = self._theta()
        return _bg_count_pmf(n, t, r, alpha, a, b, self._modified)

    def conditional_probability_of_n_purchases_up_to_time(self, n: ArrayLike, t: ArrayLike,
                                                          frequency: RFMInput, recency: ArrayLike | None = None,
                                                          T: ArrayLike | None = None) -> np.ndarray:
        """P(Y(t) = n | x, t_x, T): probability of exactly n purchases in (T, T + t], per customer.

        A customer alive at T has lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x) (MBG/NBD:
        b + x + 1) and from then on drops out only after purchases; a dropped-out customer buys nothing."""
        r, alpha, a, b = self._theta()
        x, tx, T_ = customer_arrays(frequency, recency, T)
        pa = self.prob_alive(x, tx, T_)
        n = np.asarray(n, float)
        alive = _bg_count_pmf(n, t, r + x, alpha + T_, a, b + x + (1 if self._modified else 0), False)
        return pa * alive + (1.0 - pa) * (n == 0)


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD: as BG/NBD, but a customer may also drop out right after the first purchase."""

    model_name = "MBG/NBD"
    _modified = True
