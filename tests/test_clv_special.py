"""The Gauss hypergeometric function and the Pareto/NBD tail integral on hard inputs."""
from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pytest

from toolkit.clv import ParetoNBD, hyp2f1, log_hyp2f1
from toolkit.clv.models.paretonbd import _log_tail_closed, log_tail
from toolkit.clv.models.special import hyp2f1_a1


def series_2f1(a: float, b: float, c: float, z: float, tol: str = "1e-22") -> float:
    """Reference: the defining power series summed in 40-digit decimal arithmetic (0 <= z < 1)."""
    getcontext().prec = 40
    a_, b_, c_, z_ = (Decimal(repr(v)) for v in (a, b, c, z))
    term, total, n, eps = Decimal(1), Decimal(1), 0, Decimal(tol)
    while True:
        term = term * (a_ + n) * (b_ + n) / ((c_ + n) * (n + 1)) * z_
        total += term
        n += 1
        if n > 10 and abs(term) < eps * abs(total):
            return float(total)


@pytest.mark.parametrize("a,b,c,z", [
    (0.5, 1.5, 2.5, 0.3), (1.0, 2.0, 3.5, 0.9), (0.243, 2.426, 2.219, 0.99),   # c - a - b < 0 (Euler)
    (1.0, 120.0, 121.6, 0.999), (1.0, 250.3, 251.9, 0.9995),                   # scipy NaN / inexact here
    (30.5, 32.4, 62.1, 0.97), (2.0, 3.0, 40.0, 0.999),
])
def test_hyp2f1_matches_the_series(a, b, c, z):
    ref = series_2f1(a, b, c, z)
    assert hyp2f1(a, b, c, z) == pytest.approx(ref, rel=1e-11)
    assert log_hyp2f1(a, b, c, z) == pytest.approx(np.log(ref), rel=1e-11, abs=1e-12)


def test_hyp2f1_identities_and_negative_argument():
    z = np.array([-50.0, -3.0, -0.7, 0.0, 0.4, 0.95, 0.999999])
    np.testing.assert_allclose(hyp2f1(1.0, 1.0, 2.0, np.where(z == 0, 1e-300, z)),
                               np.where(z == 0, 1.0, -np.log1p(-z) / np.where(z == 0, 1, z)), rtol=1e-12)
    np.testing.assert_allclose(hyp2f1(0.7, 2.5, 2.5, z), (1 - z) ** -0.7, rtol=1e-12)
    with pytest.raises(ValueError):
        hyp2f1(1.0, 1.0, 2.0, 1.0)


def test_log_hyp2f1_stays_finite_where_the_value_overflows():
    # 2F1(r+x, b+x; a+b+x-1; z) ~ (1-z)^(a-1-r-x): astronomically large for big x near z = 1
    lv = log_hyp2f1(300.24, 302.4, 302.2, 1 - 1e-9)
    assert np.isfinite(lv) and lv > 300 * np.log(1e9) * 0.9


def test_series_with_derivatives():
    b = np.array([0.3, 5.0, 80.0])
    c = b + np.array([1.6, 2.3, 1.1])
    z = np.array([0.0, 0.25, 0.5])
    F, Fb, Fc, Fz = hyp2f1_a1(b, c, z)
    np.testing.assert_allclose(F, hyp2f1(1.0, b, c, z), rtol=1e-14)
    h = 1e-6
    np.testing.assert_allclose(Fb, (hyp2f1(1.0, b + h, c, z) - hyp2f1(1.0, b - h, c, z)) / (2 * h), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(Fc, (hyp2f1(1.0, b, c + h, z) - hyp2f1(1.0, b, c - h, z)) / (2 * h), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(Fz, (hyp2f1(1.0, b, c, z + h) - hyp2f1(1.0, b, c, z - h)) / (2 * h), rtol=1e-7)


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669),   # CDNOW
                                    (0.8, 40.0, 0.3, 0.05),           # alpha >> beta
                                    (2.0, 0.02, 1.7, 30.0)])          # alpha << beta
def test_tail_integral_fit_path_equals_closed_form(params):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 200, 400).astype(float)
    t = np.concatenate([np.zeros(50), 10 ** rng.uniform(-3, 4, 350)])
    fit_path, _ = log_tail(x, t, *params, grad=False)
    np.testing.assert_allclose(fit_path, _log_tail_closed(x, t, *params), rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669), (0.8, 40.0, 0.3, 0.05),
                                    (2.0, 0.02, 1.7, 30.0), (0.2, 5.0, 3.0, 5.0)])
def test_paretonbd_prob_alive_has_no_nan_for_large_recency_and_T(params):
    model = ParetoNBD.from_params(**dict(zip(("r", "alpha", "s", "beta"), params)))
    T = np.array([1.0, 10.0, 100.0, 1e3, 1e4])
    x = np.array([0.0, 1, 5, 50, 500])
    share = np.array([0.0, 1e-6, 0.01, 0.5, 0.999, 1.0])
    X, TT, S = (a.ravel() for a in np.meshgrid(x, T, share, indexing="ij"))
    tx = np.where(X == 0, 0.0, TT * S)
    pa = model.prob_alive(X, tx, TT)
    assert np.all(np.isfinite(pa)) and np.all((pa >= 0) & (pa <= 1))
    np.testing.assert_allclose(pa[(tx == TT) & (X > 0)], 1.0)                # bought at T: alive
    ce = model.conditional_expected_purchases(52.0, X, tx, TT)
    assert np.all(np.isfinite(ce)) and np.all(ce >= 0)
    ll = model.loglik(X, tx, TT)
    assert np.all(np.isfinite(ll))
