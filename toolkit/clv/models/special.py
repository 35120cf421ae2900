"""Gauss hypergeometric function 2F1 for real arguments, stable where the CLV models need it.

``hyp2f1(a, b, c, z)`` evaluates 2F1 for real ``z < 1``:

* ``z < 0`` is mapped into ``[0, 1)`` with Pfaff's transformation
  ``2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1))``;
* on ``[0, 1)`` scipy.special.hyp2f1 is used where it returns a finite value; when the series
  diverges at ``z = 1`` (``c - a - b < 0``) Euler's transformation
  ``2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)`` is applied first, so scipy only ever sees
  a function that stays bounded near ``z = 1`` and the diverging factor is carried in logs;
* where scipy still fails (it returns NaN for large parameters very close to ``z = 1``), Euler's
  integral ``Gamma(c)/(Gamma(b)Gamma(c-b)) int_0^1 t^(b-1)(1-t)^(c-b-1)(1-zt)^-a dt`` is evaluated
  with tanh-sinh quadrature in log space.

``log_hyp2f1`` returns the logarithm (for positive values), which is what the likelihoods use.
``hyp2f1_a1`` is the series of ``2F1(1, b; c; z)`` with its partial derivatives in ``b``, ``c``
and ``z`` (used for the analytic Pareto/NBD gradient; valid for ``0 <= z <= 0.5``).
"""
from __future__ import annotations

import numpy as np
from scipy import special as sc

__all__ = ["hyp2f1", "log_hyp2f1", "hyp2f1_a1"]


def _euler_integral_log(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray,
                        step: float = 1.0 / 64, umax: float = 4.5) -> np.ndarray:
    """log 2F1 from Euler's integral by tanh-sinh quadrature; needs c > b > 0 and z < 1."""
    u = np.arange(-umax, umax + step / 2, step)
    v = 0.5 * np.pi * np.sinh(u)
    log_t = -np.logaddexp(0.0, -2.0 * v)          # log t,     t = (1 + tanh v) / 2
    log_1mt = -np.logaddexp(0.0, 2.0 * v)         # log(1 - t)
    log_jac = np.log(np.pi * np.cosh(u)) + log_t + log_1mt
    a, b, c, z = (np.asarray(v_, float)[..., None] for v_ in (a, b, c, z))
    one_m_zt = (1.0 - z) + z * np.exp(log_1mt)     # 1 - z t, accurate near t = 1 and z = 1
    terms = (b - 1) * log_t + (c - b - 1) * log_1mt - a * np.log(one_m_zt) + log_jac
    terms = np.where(np.isfinite(terms), terms, -np.inf)
    m = terms.max(axis=-1, keepdims=True)
    log_int = (m + np.log(np.exp(terms - m).sum(axis=-1, keepdims=True)) + np.log(step))[..., 0]
    a, b, c = a[..., 0], b[..., 0], c[..., 0]
    return sc.gammaln(c) - sc.gammaln(b) - sc.gammaln(c - b) + log_int


_SCIPY_MAX_PARAM = 30.0   # |a| or |b| above this: scipy's 2F1 loses digits (or NaN) for z > 0.9
_SCIPY_MAX_Z = 0.9


def _log_hyp2f1_unit(a, b, c, z):
    """log 2F1 for 0 <= z < 1 and a positive result; Euler transform + scipy + quadrature fallback."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, float) for v in (a, b, c, z)))
    out = np.full(a.shape, np.nan)
    euler = (c - a - b) < 0
    aa = np.where(euler, c - a, a)
    bb = np.where(euler, c - b, b)
    pref = np.where(euler, (c - a - b) * np.log1p(-z), 0.0)
    big = np.maximum(np.abs(aa), np.abs(bb)) > _SCIPY_MAX_PARAM
    with np.errstate(all="ignore"):
        val = np.asarray(sc.hyp2f1(aa, bb, c, z), dtype=float)
        ok = np.isfinite(val) & (val > 0) & ~(big & (z > _SCIPY_MAX_Z))
        out[ok] = pref[ok] + np.log(val[ok])
    bad = ~ok
    if bad.any():
        a_, b_, c_, z_ = aa[bad], bb[bad], c[bad], z[bad]
        # Euler's integral needs c > b > 0; 2F1 is symmetric in a and b.
        swap = ~((c_ > b_) & (b_ > 0))
        a2 = np.where(swap, b_, a_)
        b2 = np.where(swap, a_, b_)
        usable = (c_ > b2) & (b2 > 0.05)   # tiny b spreads the integrand over too many scales
        res = np.full(a_.shape, np.nan)
        if usable.any():
            res[usable] = pref[bad][usable] + _euler_integral_log(
                a2[usable], b2[usable], c_[usable], z_[usable])
        # Not representable by the integral: keep scipy's value if it is usable at all.
        v_ = val[bad]
        keep = ~usable & np.isfinite(v_) & (v_ > 0)
        res[keep] = pref[bad][keep] + np.log(v_[keep])
        out[bad] = res
    return out


def log_hyp2f1(a, b, c, z) -> np.ndarray:
    """Natural log of 2F1(a, b; c; z) for real z < 1 where the function is positive.

    Positive parameters and ``0 <= z < 1`` always give a positive value; the result stays finite
    when 2F1 itself would overflow (large parameters, z close to 1).
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, float) for v in (a, b, c, z)))
    if np.any(z >= 1):
        raise ValueError("hyp2f1 is only implemented for real z < 1")
    neg = z < 0
    if not neg.any():
        return _log_hyp2f1_unit(a, b, c, z)
    # Pfaff: 2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1)), argument in (0, 1).
    w = np.where(neg, z / (z - 1.0), z)
    bb = np.where(neg, c - b, b)
    pref = np.where(neg, -a * np.log1p(-z), 0.0)
    return pref + _log_hyp2f1_unit(a, bb, c, w)


def hyp2f1(a, b, c, z) -> np.ndarray:
    """Gauss hypergeometric function 2F1(a, b; c; z) for real z < 1 (vectorised, see module doc)."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, float) for v in (a, b, c, z)))
    if np.any(z >= 1):
        raise ValueError("hyp2f1 is only implemented for real z < 1")
    with np.errstate(all="ignore"):
        direct = np.asarray(sc.hyp2f1(a, b, c, z), dtype=float)
    # Fast path: scipy is accurate for |z| <= 0.5 with moderate parameters, and for any z when the
    # series converges at 1.  Elsewhere use the log-space route.
    small = np.maximum(np.abs(a), np.abs(b)) <= _SCIPY_MAX_PARAM
    safe = np.isfinite(direct) & (
        (np.abs(z) <= 0.5) | ((z >= 0) & (c - a - b > 0) & (small | (z <= _SCIPY_MAX_Z))))
    if safe.all():
        return direct
    out = direct.copy()
    idx = ~safe
    lv = log_hyp2f1(a[idx], b[idx], c[idx], z[idx])
    with np.errstate(over="ignore"):
        repl = np.exp(lv)
    # Keep scipy's value where the log route is not applicable (negative 2F1 values).
    out[idx] = np.where(np.isfinite(lv), repl, direct[idx])
    return out


def hyp2f1_a1(b, c, z, tol: float = 1e-17, max_terms: int = 200):
    """2F1(1, b; c; z) and its partial derivatives (d/db, d/dc, d/dz) by the power series.

    Meant for ``0 <= z <= 0.5`` and ``c > b > 0``, where every term is positive and the series
    converges at least like 2^-n; all arguments are 1-d arrays of the same length.
    Returns ``(F, dF_db, dF_dc, dF_dz)``.
    """
    b, c, z = np.broadcast_arrays(*(np.asarray(v, float) for v in (b, c, z)))
    term = np.ones_like(z)
    F = np.ones_like(z)
    Fb = np.zeros_like(z)
    Fc = np.zeros_like(z)
    Fz = np.zeros_like(z)   # sum n t_n / z, accumulated without dividing by z
    hb = np.zeros_like(z)   # sum_{j<n} 1/(b+j)
    hc = np.zeros_like(z)   # sum_{j<n} 1/(c+j)
    prev = np.ones_like(z)  # t_{n-1}
    for n in range(1, max_terms + 1):
        ratio = (b + n - 1) / (c + n - 1)
        dterm = n * prev * ratio      # n t_n / z
        term = prev * ratio * z
        hb = hb + 1.0 / (b + n - 1)
        hc = hc + 1.0 / (c + n - 1)
        F = F + term
        Fb = Fb + term * hb
        Fc = Fc - term * hc
        Fz = Fz + dterm
        prev = term
        if n % 8 == 0 and np.all((term <= tol * F) & (dterm * z <= tol * F)):
            break
    return F, Fb, Fc, Fz
