"""Shared machinery of the CLV models: input handling, maximum likelihood, results and summary.

Every model maximises its log-likelihood over the logarithms of its (positive) parameters with
L-BFGS-B and an analytic gradient, from several data-driven starting points, then polishes the
best optimum with Newton steps on a Hessian obtained by central differences of the analytic
gradient. Standard errors come from that Hessian: ``se(theta) = theta * se(log theta)``
(delta method); 95% intervals are ``exp(log theta +/- 1.96 se(log theta))``, which keeps them
positive and is what the log-parametrisation supports.
"""
from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence, Union

import numpy as np
import pandas as pd
from scipy import optimize

try:  # BLAS threads only add start-up and spin-wait costs to the tiny linear algebra of a fit
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

__all__ = ["BoundaryWarning", "ConvergenceError", "FitDiagnostics", "BaseModel", "RFMData", "as_rfm", "customer_arrays",
           "fit_flag", "unique_rows", "WITHHELD"]

Z95 = 1.959963984540054

#: Per-customer inputs: an array, a Series, a list or a scalar (broadcast against the others).
ArrayLike = Union[np.ndarray, pd.Series, Sequence[float], float]
#: ``frequency`` may instead be an rfm_summary DataFrame holding all the columns.
RFMInput = Union[pd.DataFrame, np.ndarray, pd.Series, Sequence[float]]


def wdot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of a*b without BLAS (np.dot's thread start-up costs ms on busy machines)."""
    return float(np.add.reduce(a * b))


class ConvergenceError(RuntimeError):
    """The likelihood maximisation found no maximum (no start reached a zero gradient)."""


class BoundaryWarning(UserWarning):
    """The maximum lies on the boundary of the parameter range: a limiting case of the model."""


_AT_BOUND = 1e-6   # log-parameters this close to a bound count as at the bound
_FLAT = 1e-7       # Hessian eigenvalues below this share of the largest: the likelihood is flat there
_SAME = 1e-10      # relative change of the mean log-likelihood treated as no change (rounding level)
WITHHELD = "intervals withheld"


def fit_flag(model: Any) -> tuple[str, str]:
    """(flag, reason) of a fitted model: ("", "") for a regular interior maximum.

    ``"boundary"``: a parameter is at a limit of the allowed range (1e-7 to 1e7), a limiting case of
    the model such as "no dropout"; ``"singular"``: the Hessian is (nearly) singular, so that the 95%
    interval of some parameter would run past those limits — the data cannot tell the estimate from
    the limiting case. Either way the standard errors and intervals are withheld (NaN) and the
    reason says so in words. Models fitted elsewhere (e.g. from_params) count as regular.
    """
    d = getattr(model, "diagnostics_", None)
    return (d.flag, d.flag_reason) if d is not None else ("", "")


@dataclass
class FitDiagnostics:
    """How the optimiser got to the reported estimates."""

    converged: bool
    grad_norm: float          # Euclidean norm of the gradient of the mean log-likelihood (log-params)
    iterations: int           # optimiser iterations summed over starts, full-data refits and polish
    n_starts: int
    start_log_likelihoods: list[float] = field(default_factory=list)
    message: str = ""
    hessian_positive_definite: bool = True
    subsampled: bool = False
    start_index: int = 0      # which of the ranked starting points the estimate came from (0 = best-ranked)
    start_params: dict = field(default_factory=dict)   # that starting point's parameter values
    method: str = "L-BFGS-B"  # optimiser(s) that produced the estimate
    at_bound: list[str] = field(default_factory=list)  # parameters at a limit of the allowed range
    boundary_note: str = ""   # what a maximum on the boundary means for this model, in words
    starts: list[dict] = field(default_factory=list)   # every run: start values, log-likelihood, iterations
    best_params: dict = field(default_factory=dict)    # where the optimiser ended (also when it failed)
    flag: str = ""            # "" (a regular interior maximum), "boundary" or "singular": see fit_flag
    flag_reason: str = ""     # the flag in plain words, e.g. "at the no-dropout boundary: intervals withheld"

    @property
    def flagged(self) -> bool:
        """True when the estimates are a limiting case or barely identified (intervals withheld)."""
        return bool(self.flag)


def log_poch(c: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log Gamma(c + x) - log Gamma(c)`` and ``digamma(c + x) - digamma(c)`` for a scalar ``c > 0``.

    For large ``c`` (1e3 and more) and whole-number ``x`` the differences of gammaln / digamma lose
    digits (both terms are huge); there they are the exact finite sums of ``log(c + i)`` and
    ``1 / (c + i)``, ``i < x``, which keeps the likelihood smooth far out along ridges.
    """
    from scipy.special import digamma, gammaln

    x = np.asarray(x, float)
    if c >= 1e3 and x.size and np.all(x >= 0) and np.all(x == np.round(x)) and x.max() <= 1e5:
        i = np.arange(int(x.max()), dtype=float)
        lp = np.concatenate([[0.0], np.cumsum(np.log(c + i))])
        dp = np.concatenate([[0.0], np.cumsum(1.0 / (c + i))])
        k = x.astype(np.int64)
        return lp[k], dp[k]
    return gammaln(c + x) - gammaln(c), digamma(c + x) - digamma(c)


# ----------------------------------------------------------------------------------- RFM inputs
@dataclass
class RFMData:
    """Distinct (frequency, recency, T) rows with the number of customers sharing each."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    w: np.ndarray
    time_unit: str | None = None

    @property
    def n_customers(self) -> float:
        return float(self.w.sum())

    def factors(self) -> tuple[np.ndarray, ...]:
        """Distinct values of x, t_x and T with index arrays (cached): logs are taken per value."""
        if not hasattr(self, "_factors"):
            out = []
            for col in (self.x, self.tx, self.T):
                codes, uniq = pd.factorize(col)
                out += [np.asarray(uniq, dtype=float), codes]
            self._factors = tuple(out)
        return self._factors

    def subsample(self, n: int, rng: np.random.Generator) -> "RFMData":
        """Uniform sample of ``n`` distinct rows, reweighted so the sample LL is unbiased."""
        idx = np.sort(rng.choice(len(self.x), size=n, replace=False))
        scale = len(self.x) / n
        return RFMData(self.x[idx], self.tx[idx], self.T[idx], self.w[idx] * scale, self.time_unit)


def _column(frame: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    for n in names:
        if n in frame.columns:
            return frame[n].to_numpy(dtype=float)
    raise KeyError(f"none of the columns {list(names)} found in the data")


def _row_codes(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Code of each row's distinct row (0, 1, ... in order of first appearance) and how many there are.

    The columns are combined one at a time, ``key * levels + code``; whenever the number of possible
    keys passes 2**31 the keys are re-densified to the distinct ones seen (fewer than the number of
    rows), so a key stays below 2**62 whatever the number of columns and levels. NaN is a value.
    """
    n = len(columns[0])
    if n >= 2**31:
        raise ValueError("unique_rows: 2**31 rows or more")
    key = np.zeros(n, dtype=np.int64)
    k = 1                                   # keys lie in [0, k); k <= 2**31 before each column
    for col in columns:
        codes, uniq = pd.factorize(np.asarray(col), use_na_sentinel=False)
        m = max(len(uniq), 1)               # m <= n < 2**31, so key * m + code < 2**62
        key = key * m + codes.astype(np.int64)
        k *= m
        if k > 2**31:
            key, seen = pd.factorize(key)
            key, k = key.astype(np.int64), len(seen)
    inv, uniq_keys = pd.factorize(key)
    return inv.astype(np.int64), len(uniq_keys)


def _dedupe(columns: list[np.ndarray], weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equally long float columns and the summed weight of each (hash based)."""
    n = len(columns[0])
    codes, k = _row_codes(columns)
    w = np.bincount(codes, weights=weights, minlength=k).astype(float)
    rep = np.empty(k, dtype=np.int64)
    rep[codes] = np.arange(n)          # any member represents its group: all are identical
    return [c[rep] for c in columns], w


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equally long 1-d columns and the index of each input row's distinct row."""
    n = len(columns[0])
    inv, k = _row_codes(columns)
    rep = np.empty(k, dtype=np.int64)
    rep[inv] = np.arange(n)
    return [np.asarray(c)[rep] for c in columns], inv


def customer_arrays(frequency: RFMInput, recency: ArrayLike | None = None,
                    T: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """frequency, recency, T as float arrays, from arrays or an rfm_summary DataFrame."""
    if isinstance(frequency, pd.DataFrame):
        f = frequency
        return (_column(f, ["frequency", "frequency_cal"]), _column(f, ["recency", "recency_cal"]),
                _column(f, ["T", "T_cal"]))
    if recency is None or T is None:
        raise TypeError("give frequency, recency and T (or an rfm_summary DataFrame)")
    x, tx, T_ = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (frequency, recency, T)))
    return x, tx, T_


def as_rfm(frequency: RFMInput, recency: ArrayLike | None = None, T: ArrayLike | None = None,
           weights: ArrayLike | None = None, time_unit: str | None = None) -> RFMData:
    """Validate RFM inputs (arrays or an rfm_summary DataFrame) and collapse identical rows."""
    if isinstance(frequency, pd.DataFrame):
        frame = frequency
        time_unit = time_unit or frame.attrs.get("time_unit")
        x = _column(frame, ["frequency", "frequency_cal"])
        tx = _column(frame, ["recency", "recency_cal"])
        T_ = _column(frame, ["T", "T_cal"])
    else:
        if recency is None or T is None:
            raise TypeError("give frequency, recency and T (or an rfm_summary DataFrame)")
        x, tx, T_ = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
        x, tx, T_ = np.broadcast_arrays(x, tx, T_)
    if weights is not None:
        weights = np.broadcast_to(np.asarray(weights, dtype=float), x.shape)
        if np.any(weights < 0):
            raise ValueError("weights must be non-negative")
    if len(x) == 0:
        raise ValueError("no customers to fit")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(tx)) and np.all(np.isfinite(T_))):
        raise ValueError("frequency, recency and T must be finite")
    if np.any(x < 0) or np.any(np.abs(x - np.round(x)) > 1e-9):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    if np.any(T_ < 0) or np.any((T_ == 0) & (x > 0)):
        raise ValueError("T (customer age) must be positive (0 only for a customer first seen at the very end, "
                         "without repeat purchases)")
    if np.any(tx < 0) or np.any(tx > T_ * (1 + 1e-12)):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x == 0) & (tx != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")
    (x, tx, T_), w = _dedupe([np.round(x), np.minimum(tx, T_), T_], weights)
    keep = w > 0
    return RFMData(x[keep], tx[keep], T_[keep], w[keep], time_unit)


def _limits_note(theta: pd.Series, at_lo: list[str], at_hi: list[str], pairs: dict, singles: dict,
                 combos: dict | None = None) -> str:
    """Words for the limiting cases: ``combos`` maps a set of (name, "lo"/"hi") to one sentence when all
    of them hold; ``pairs`` maps (shape, rate) to a sentence about homogeneity (both at the upper
    bound, or the rate there with a large shape); ``singles`` maps (name, "lo"/"hi") to a sentence.
    Sentences may use {mean} (shape / rate) and the parameter names as format fields."""
    done, out = set(), []
    vals = {k: float(v) for k, v in theta.items()}
    sides = {(n, "lo") for n in at_lo} | {(n, "hi") for n in at_hi}
    for need, text in (combos or {}).items():
        if set(need) <= sides:
            out.append(text.format(**vals))
            done |= {n for n, _ in need}
    for (shape, rate), text in pairs.items():
        if rate in at_hi and rate not in done and (shape in at_hi or vals[shape] > 1e3):
            out.append(text.format(mean=vals[shape] / vals[rate], **vals))
            done |= {shape, rate}
    for name, side in [(n, "lo") for n in at_lo] + [(n, "hi") for n in at_hi]:
        if name in done:
            continue
        text = singles.get((name, side))
        out.append(text.format(**vals) if text else f"{name} at its {'lower' if side == 'lo' else 'upper'} limit")
    return "maximum on the boundary, a limiting case of the model: " + "; ".join(out)


# ----------------------------------------------------------------------------------- the models
class BaseModel:
    """Maximum-likelihood fitting shared by the models (scikit-learn conventions).

    Parameters
    ----------
    n_starts : optimiser runs from the best data-driven starting points.
    max_iter : L-BFGS-B iterations per run.
    tol : largest acceptable norm of the gradient of the mean log-likelihood (in log-parameters)
        at the reported maximum.
    subsample : with more distinct rows than this, the starts are optimised on a random sample of
        rows and only the best is refined on all data (``None``: never).
    random_state : seed for that sample.
    """

    param_names: tuple[str, ...] = ()
    model_name: str = ""
    _bounds = (math.log(1e-7), math.log(1e7))
    #: Whether a maximum on the boundary of the parameter range (a limiting case such as "no
    #: dropout") is an acceptable fit. Models that name their limiting cases set it; otherwise a
    #: parameter at a bound means no maximum (ConvergenceError).
    _boundary_ok: bool = False

    def __init__(self, n_starts: int = 3, max_iter: int = 500, tol: float = 1e-6,
                 subsample: int | None = 20_000, random_state: int | None = 0) -> None:
        self.n_starts = n_starts
        self.max_iter = max_iter
        self.tol = tol
        self.subsample = subsample
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def set_params(self, **params: Any) -> "BaseModel":
        """Set constructor parameters (scikit-learn convention); returns self."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}")
            setattr(self, k, v)
        return self

    # -- to be provided by each model ---------------------------------------------------------
    def _loglik_grad(self, theta: np.ndarray, data: Any, grad: bool = True) -> tuple[float, np.ndarray | None]:
        raise NotImplementedError

    def _start_values(self, data: Any) -> list[np.ndarray]:
        raise NotImplementedError

    def _n_rows(self, data: Any) -> int:
        return len(data.w)

    def _n_obs(self, data: Any) -> float:
        return float(data.w.sum())

    def _subsample(self, data: Any, n: int, rng: np.random.Generator) -> Any:
        return data.subsample(n, rng)

    # -- construction from known parameters ------------------------------------------------------
    @classmethod
    def from_params(cls, time_unit: str | None = None, **params: float):
        """A model with given parameters (no fit), e.g. to predict with published estimates."""
        missing = set(cls.param_names) - set(params)
        if missing:
            raise TypeError(f"missing parameters: {sorted(missing)}")
        m = cls()
        m.params_ = pd.Series({k: float(params[k]) for k in cls.param_names}, dtype=float)
        m.time_unit_ = time_unit
        return m

    # -- the optimiser's parameters phi: log-parameters by default ---------------------------------
    def _names(self) -> list[str]:
        """Parameter names, in the order of phi (hook: models with coefficient blocks name theirs)."""
        return list(self.param_names)

    def _box(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of phi (hook; by default log-parameters in log 1e-7 to log 1e7)."""
        return np.full(k, self._bounds[0]), np.full(k, self._bounds[1])

    def _box_list(self, k: int) -> list[tuple[float, float]]:
        lo, hi = self._box(k)
        return list(zip(lo.tolist(), hi.tolist()))

    def _is_log(self, k: int) -> np.ndarray:
        """Which entries of phi are log-parameters (the rest are taken as they are, e.g. coefficients)."""
        return np.ones(k, dtype=bool)

    def _to_theta(self, phi: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.where(self._is_log(len(phi)), np.exp(phi), phi)

    def _to_phi(self, theta: np.ndarray) -> np.ndarray:
        """A start on the natural scale as phi (log-parameters clipped to 1e-6 to 1e6)."""
        theta = np.asarray(theta, float)
        log = self._is_log(len(theta))
        lo, hi = self._box(len(theta))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(log, np.log(np.clip(theta, 1e-6, 1e6)), np.clip(theta, lo, hi))

    def _theta(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.params_[list(self.param_names)].to_numpy(dtype=float)

    # -- maximum likelihood ----------------------------------------------------------------------
    def _objective(self, data: Any, n_obs: float):
        log = self._is_log(len(self._names()))

        def f(phi: np.ndarray) -> tuple[float, np.ndarray]:
            theta = self._to_theta(phi)
            ll, g = self._loglik_grad(theta, data)
            if not np.isfinite(ll) or not np.all(np.isfinite(g)):
                return 1e10, np.zeros_like(phi)
            return -ll / n_obs, -(g * np.where(log, theta, 1.0)) / n_obs
        return f

    def _hessian(self, phi: np.ndarray, data: Any, n_obs: float, h: float = 1e-5) -> np.ndarray:
        """Hessian of the mean negative log-likelihood in log-parameters (central differences)."""
        f = self._objective(data, n_obs)
        k = len(phi)
        H = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            H[:, j] = (f(phi + e)[1] - f(phi - e)[1]) / (2 * h)
        return 0.5 * (H + H.T)

    def _minimize(self, f, phi0: np.ndarray) -> optimize.OptimizeResult:
        return optimize.minimize(
            f, phi0, jac=True, method="L-BFGS-B", bounds=self._box_list(len(phi0)),
            options={"maxiter": self.max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20})

    def _fit(self, data: Any) -> "BaseModel":
        if threadpool_limits is None:
            return self._fit_impl(data)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_impl(data)

    def _check_data(self, data: Any) -> None:
        """Raise ConvergenceError when the data cannot identify the model (hook for the models)."""

    def _boundary_note(self, theta: pd.Series, at_lo: list[str], at_hi: list[str]) -> str:
        """Plain words for a maximum on the boundary (hook; the models name their limiting cases)."""
        parts = [f"{n} at its lower limit" for n in at_lo] + [f"{n} at its upper limit" for n in at_hi]
        return ("the likelihood is highest in a limiting case of the model (" + ", ".join(parts) + ")") if parts else ""

    def _limit_label(self, at_lo: list[str], at_hi: list[str]) -> str:
        """Short words for where on the boundary the fit is (hook: models name their limiting cases)."""
        parts = [f"{n} at its lower limit" for n in at_lo] + [f"{n} at its upper limit" for n in at_hi]
        return "at the parameter boundary (" + ", ".join(parts) + ")"

    def _flag(self, phi: np.ndarray, se_phi: np.ndarray, free: np.ndarray, at_lo: list[str],
              at_hi: list[str]) -> tuple[str, str]:
        """Flag a maximum on the boundary, or one whose intervals would run past the allowed range."""
        if at_lo or at_hi:
            return "boundary", f"{self._limit_label(at_lo, at_hi)}: {WITHHELD}"
        lo, hi = self._box(len(phi))
        names = self._names()
        with np.errstate(invalid="ignore"):
            wide = free & ~((phi - Z95 * se_phi >= lo) & (phi + Z95 * se_phi <= hi))
        if wide.any():
            which = ", ".join(n for n, w in zip(names, wide) if w)
            return "singular", (f"nearly singular Hessian: the data barely identify {which} (95% intervals would run "
                                f"past the limits of the parameter range, 1e-7 to 1e7): {WITHHELD}")
        return "", ""

    def _polish(self, phi: np.ndarray, f, data: Any, n_obs: float, steps: int = 12):
        """Newton steps on the parameters not at a bound (L-BFGS-B stops on relative function change;
        this makes the gradient vanish). Directions in which the likelihood is practically flat
        (Hessian eigenvalue below 1e-7 of the largest) are left alone: ridges are followed by
        :meth:`_push_ridge`. A step is taken when it lowers the objective, or leaves it unchanged
        within rounding while shrinking the gradient. Returns phi, value, gradient, Hessian, steps."""
        lo, hi = self._box(len(phi))
        fun, g = f(phi)
        H = self._hessian(phi, data, n_obs)
        taken = 0
        for _ in range(steps):
            free = (phi > lo + _AT_BOUND) & (phi < hi - _AT_BOUND)
            if not free.any() or np.linalg.norm(g[free]) < 1e-10 or not np.all(np.isfinite(H)):
                break
            eig, vec = np.linalg.eigh(H[np.ix_(free, free)])
            big = np.abs(eig) > _FLAT * max(float(np.max(np.abs(eig))), 1e-300)
            coef = (vec.T @ g[free]) / np.where(big, np.abs(eig), 1.0)
            step = np.zeros_like(phi)
            step[free] = vec @ np.where(big, coef, 0.0)
            if not np.any(step):
                break
            t, improved, gnorm = 1.0, False, np.linalg.norm(g[free])
            while t > 1e-4:
                cand = np.clip(phi - t * step, lo, hi)
                fc, gc = f(cand)
                if fc <= fun + 1e-14 * abs(fun) or (fc <= fun + 1e-11 * max(1.0, abs(fun))
                                                     and np.linalg.norm(gc[free]) < 0.5 * gnorm):
                    phi, fun, g = cand, fc, gc
                    improved = True
                    break
                t /= 2
            taken += 1
            if not improved:
                break
            H = self._hessian(phi, data, n_obs)
        return phi, fun, g, H, taken

    def _assess(self, phi: np.ndarray, g: np.ndarray, H: np.ndarray) -> dict:
        """Optimality on the box of allowed log-parameters (Karush-Kuhn-Tucker): the gradient vanishes
        in the free parameters, points outwards at the bounds, and the Hessian of the free ones is
        positive definite."""
        lo, hi = self._box(len(phi))
        at_lo, at_hi = phi <= lo + _AT_BOUND, phi >= hi - _AT_BOUND
        free = ~(at_lo | at_hi)
        pg = g.copy()
        pg[at_lo & (g > 0)] = 0.0          # minimising: a positive slope at the lower bound pushes outwards
        pg[at_hi & (g < 0)] = 0.0
        grad_norm = float(np.linalg.norm(pg))
        if free.any() and np.all(np.isfinite(H)):
            Hf = H[np.ix_(free, free)]
            eig, vec = np.linalg.eigh(Hf)
            scale = max(float(np.max(np.abs(eig))), 1e-300)
            pos_def = bool(eig[0] > _FLAT * scale)
        else:
            eig, vec, pos_def = np.array([]), np.empty((0, 0)), bool(np.all(np.isfinite(H)))
        ok = bool(np.isfinite(grad_norm) and grad_norm <= self.tol and pos_def and free.any())
        return {"ok": ok, "grad_norm": grad_norm, "pos_def": pos_def, "free": free, "at_lo": at_lo,
                "at_hi": at_hi, "eig": eig, "vec": vec}

    def _push_ridge(self, phi, fun, g, state, f) -> tuple[np.ndarray, float] | None:
        """Follow a flat, rising ridge of the likelihood to the edge of the allowed range.

        The parameter that moves most along the flattest direction is set to the bound that
        direction points to, the others are re-optimised with it held there (the profile
        likelihood, which follows a curved ridge). The move is kept when the likelihood is at
        least as high there: the maximum lies at infinity, in a limiting case of the model.
        """
        lo, hi = self._box(len(phi))
        free = state["free"]
        if len(state["eig"]) == 0:
            return None
        v = np.zeros_like(phi)
        v[free] = state["vec"][:, 0]
        slope = float(g @ v)
        # downhill along the ridge; both ways when the slope there is below the tolerance (rounding)
        dirs = [-np.sign(slope) * v] if abs(slope) > self.tol else [v, -v]
        best = None
        for d in dirs:
            big = np.abs(d) > 0.1 * np.max(np.abs(d))
            with np.errstate(divide="ignore", invalid="ignore"):
                reach = np.where(big & (d > 0), (hi - phi) / d, np.where(big & (d < 0), (lo - phi) / d, np.inf))
            j = int(np.argmin(reach))          # the parameter that reaches its bound first
            if not np.isfinite(reach[j]):
                continue
            target = float(hi[j] if d[j] > 0 else lo[j])
            start = np.clip(phi + reach[j] * d, lo, hi)
            start[j] = target
            bounds = self._box_list(len(phi))
            bounds[j] = (target, target)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = optimize.minimize(f, start, jac=True, method="L-BFGS-B", bounds=bounds,
                                        options={"maxiter": self.max_iter, "ftol": 1e-15, "gtol": 1e-10})
            if np.isfinite(res.fun) and res.fun <= fun + _SAME * max(1.0, abs(fun)):
                if best is None or res.fun < best[1]:
                    best = (res.x, float(res.fun))
        return best

    def _optimise_from(self, f, phi, data, n_obs, method: str = "L-BFGS-B"):
        """One local optimisation (L-BFGS-B, or bounded Nelder-Mead then L-BFGS-B), then the polish."""
        iters = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if method == "Nelder-Mead":
                k = len(phi)
                res = optimize.minimize(lambda p: f(p)[0], phi, method="Nelder-Mead",
                                        bounds=self._box_list(k),
                                        options={"maxiter": 100 * k, "xatol": 1e-9, "fatol": 1e-15})
                iters += int(res.nit)
                phi = res.x
            res = self._minimize(f, phi)
        iters += int(res.nit)
        phi = res.x
        phi, fun, g, H, taken = self._polish(phi, f, data, n_obs)
        return phi, fun, g, H, iters + taken

    def _settle(self, f, phi, data, n_obs, method):
        """Optimise from ``phi``, then follow rising ridges to the boundary until optimal or stuck."""
        phi, fun, g, H, iters = self._optimise_from(f, phi, data, n_obs, method)
        state = self._assess(phi, g, H)
        for _ in range(2 * len(phi)):
            if state["ok"]:
                break
            pushed = self._push_ridge(phi, fun, g, state, f) if not state["pos_def"] or \
                state["grad_norm"] <= 1e3 * self.tol else None
            if pushed is None:
                break
            phi, fun, g, H, more = self._optimise_from(f, pushed[0], data, n_obs)
            iters += more
            state = self._assess(phi, g, H)
        return phi, fun, g, H, iters, state

    def _fit_impl(self, data: Any) -> "BaseModel":
        self._check_data(data)
        n_obs = self._n_obs(data)
        work, subsampled = data, False
        if self.subsample is not None and self._n_rows(data) > self.subsample:
            rng = np.random.default_rng(self.random_state)
            work, subsampled = self._subsample(data, self.subsample, rng), True
        n_work = self._n_obs(work)
        f_work = self._objective(work, n_work)

        # Rank the data-driven candidates by their log-likelihood, keep the best distinct ones.
        cands = [self._to_phi(c) for c in self._start_values(data)]
        vals = [f_work(c)[0] for c in cands]
        order = np.argsort(vals)
        starts: list[np.ndarray] = []
        for i in order:
            if all(np.max(np.abs(cands[i] - s)) > 1e-3 for s in starts):
                starts.append(cands[i])
            if len(starts) >= self.n_starts:
                break

        runs = []
        iterations = 0
        for idx, s in enumerate(starts):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = self._minimize(f_work, s)
            iterations += int(res.nit)
            runs.append({"start": idx, "method": "L-BFGS-B", "x": res.x, "fun": float(res.fun), "nit": int(res.nit)})
        finite = [r for r in runs if np.isfinite(r["fun"]) and r["fun"] < 1e9]
        method = "L-BFGS-B"
        if not finite:       # fallback: a derivative-free search from every start
            method = "Nelder-Mead + L-BFGS-B"
            for idx, s in enumerate(starts):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    res = optimize.minimize(lambda p: f_work(p)[0], s, method="Nelder-Mead",
                                            bounds=self._box_list(len(s)), options={"maxiter": 400 * len(s)})
                iterations += int(res.nit)
                runs.append({"start": idx, "method": "Nelder-Mead", "x": res.x, "fun": float(res.fun),
                             "nit": int(res.nit)})
            finite = [r for r in runs if np.isfinite(r["fun"]) and r["fun"] < 1e9]
        if not finite:
            raise ConvergenceError(
                f"{type(self).__name__}: no maximum found — the log-likelihood was not finite at any of "
                f"{len(starts)} starting points, with L-BFGS-B or Nelder-Mead. Check the data for impossible "
                "values (recency above T, negative or missing values) and the time unit.")
        finite.sort(key=lambda r: r["fun"])
        best = finite[0]
        start_lls = [-r["fun"] * n_obs for r in finite]

        f_full = self._objective(data, n_obs)
        phi, fun, g, H, more, state = self._settle(f_full, best["x"], data, n_obs, "L-BFGS-B")
        iterations += more
        if not state["ok"] and state["grad_norm"] > 1e3 * self.tol:   # stuck: derivative-free restart
            phi2, fun2, g2, H2, more, state2 = self._settle(f_full, phi, data, n_obs, "Nelder-Mead")
            iterations += more
            if state2["ok"] or fun2 < fun - 1e-12 * abs(fun):
                phi, fun, g, H, state = phi2, fun2, g2, H2, state2
                method = "L-BFGS-B, then Nelder-Mead + L-BFGS-B"

        theta = self._to_theta(phi)
        names = self._names()
        at_lo = [n for n, b in zip(names, state["at_lo"]) if b]
        at_hi = [n for n, b in zip(names, state["at_hi"]) if b]
        free = state["free"]
        converged = bool(state["ok"] and (free.all() or self._boundary_ok))
        if converged:
            msg = "maximum found" if free.all() else "maximum found on the boundary"
        elif not free.any():
            msg = "every parameter is at a limit of its range"
        elif state["ok"]:
            msg = "a parameter is at its bound"
        elif state["grad_norm"] > self.tol:
            msg = f"gradient norm {state['grad_norm']:.3g} > tol {self.tol:g}"
        else:
            msg = "Hessian not positive definite: the likelihood is flat in some direction"
        note = self._boundary_note(pd.Series(theta, index=names), at_lo, at_hi) if (at_lo or at_hi) else ""
        start_params = dict(zip(names, self._to_theta(starts[best["start"]])))
        self.diagnostics_ = FitDiagnostics(
            converged, state["grad_norm"], iterations, len(starts), start_lls, msg, state["pos_def"], subsampled,
            start_index=best["start"], start_params=start_params, method=method, at_bound=at_lo + at_hi,
            boundary_note=note, best_params=dict(zip(names, theta)),
            starts=[{"start": r["start"], "method": r["method"], "log_likelihood": -r["fun"] * n_obs
                     if np.isfinite(r["fun"]) else float("nan"), "iterations": r["nit"],
                     **{f"start_{n}": float(v) for n, v in zip(names, self._to_theta(starts[r["start"]]))}}
                    for r in runs])
        if not converged:
            raise ConvergenceError(
                f"{type(self).__name__}: no maximum found ({msg}); best parameters "
                + ", ".join(f"{n}={v:.4g}" for n, v in zip(names, theta))
                + (f"; {note}" if note else "") + ". " + self._advice(state, at_lo + at_hi))
        if note:
            warnings.warn(f"{type(self).__name__}: {note}", BoundaryWarning, stacklevel=3)

        self.params_ = pd.Series(theta, index=names, dtype=float)
        k = len(phi)
        cov_phi = np.zeros((k, k))
        try:
            cov_phi[np.ix_(free, free)] = np.linalg.inv(H[np.ix_(free, free)] * n_obs)
        except np.linalg.LinAlgError:
            cov_phi[np.ix_(free, free)] = np.nan
        se_phi = np.sqrt(np.clip(np.diag(cov_phi), 0, None))
        self.covariance_log_ = pd.DataFrame(cov_phi, index=names, columns=names)
        flag, reason = self._flag(phi, se_phi, free, at_lo, at_hi)
        self.diagnostics_.flag, self.diagnostics_.flag_reason = flag, reason
        shown = free & (not flag)             # a flagged fit has no standard errors or intervals at all
        se = np.where(shown, np.where(self._is_log(k), theta, 1.0) * se_phi, np.nan)
        self.se_ = pd.Series(se, index=names)
        with np.errstate(over="ignore"):
            lower = np.where(shown, self._to_theta(phi - Z95 * se_phi), np.nan)
            upper = np.where(shown, self._to_theta(phi + Z95 * se_phi), np.nan)
        self.confidence_intervals_ = pd.DataFrame({"lower": lower, "upper": upper}, index=names)
        self.intervals_withheld_ = reason
        self.log_likelihood_ = float(-fun * n_obs)
        self.n_ = int(round(n_obs))
        self.n_distinct_ = self._n_rows(data)
        self.converged_ = converged
        self.grad_norm_ = state["grad_norm"]
        self.n_iter_ = iterations
        return self

    def _advice(self, state: dict, bound: list[str]) -> str:
        """What to try when no maximum was found."""
        tips = []
        if bound:
            tips.append(f"{', '.join(bound)} ran to the edge of the allowed range (1e-7 to 1e7): the data may "
                        "not identify them (too few repeat customers, or no sign of dropout); compare with a "
                        "simpler model or use more data")
        if not state["pos_def"]:
            tips.append("the likelihood is flat in some direction: some parameters are not identified by these "
                        "data; a longer calibration period or more customers help")
        if state["grad_norm"] > self.tol:
            tips.append(f"the optimiser stopped short: try n_starts=10 and max_iter=2000, or check for extreme "
                        "customers (thousands of purchases, ages far beyond the others)")
        tips.append("a time unit that puts purchase rates near 1 per unit (weeks for most retail) also helps")
        return "What to try: " + "; ".join(tips) + "."

    # -- information criteria and the summary table ----------------------------------------------
    @property
    def aic_(self) -> float:
        return 2 * len(self.params_) - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        return len(self.params_) * math.log(self.n_) - 2 * self.log_likelihood_

    def summary_frame(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% intervals as a DataFrame. For a flagged fit (see
        :func:`fit_flag`) the errors and intervals are NaN and an ``interval_note`` column (and
        ``attrs["intervals_withheld"]``) gives the reason."""
        out = pd.DataFrame({
            "estimate": self.params_,
            "std_err": self.se_,
            "ci_lower": self.confidence_intervals_["lower"],
            "ci_upper": self.confidence_intervals_["upper"],
        })
        flag, reason = fit_flag(self)
        if flag:
            out["interval_note"] = reason
            out.attrs["intervals_withheld"] = reason
        return out

    def summary(self) -> str:
        """A readable text table: estimates, SE, 95% CI, log-likelihood, AIC, BIC, n."""
        if not hasattr(self, "log_likelihood_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        tab = self.summary_frame()
        width = 64
        lines = [f"{self.model_name} — maximum likelihood".center(width), "=" * width,
                 f"{'customers:':<14}{self.n_:>12,}    {'distinct rows:':<16}{self.n_distinct_:>10,}",
                 f"{'log-lik:':<14}{self.log_likelihood_:>12.3f}    {'time unit:':<16}"
                 f"{str(getattr(self, 'time_unit_', None) or '-'):>10}",
                 f"{'AIC:':<14}{self.aic_:>12.3f}    {'BIC:':<16}{self.bic_:>10.3f}",
                 "-" * width,
                 f"{'param':<8}{'estimate':>12}{'std.err':>12}{'[0.025':>14}{'0.975]':>12}",
                 "-" * width]
        def num(v: float, w: int) -> str:
            return f"{v:>{w}.4f}" if np.isfinite(v) else f"{'-':>{w}}"

        for name, row in tab.iterrows():
            lines.append(f"{name:<8}{row.estimate:>12.4f}{num(row.std_err, 12)}"
                         f"{num(row.ci_lower, 14)}{num(row.ci_upper, 12)}")
        d = self.diagnostics_
        lines += ["-" * width,
                  f"converged: {d.converged} (gradient norm {d.grad_norm:.2e}, {d.iterations} "
                  f"iterations, {d.n_starts} starts)",
                  f"best from start {d.start_index + 1} of {d.n_starts} ({d.method})",
                  "SE by the delta method on log-parameters; CI = exp(log est +/- 1.96 SE_log)."]
        if d.boundary_note or d.flag_reason:
            import textwrap
            if d.boundary_note:
                lines += textwrap.wrap(f"{d.boundary_note}.", width)
            if d.flag_reason:
                lines += textwrap.wrap(f"Fit flagged, {d.flag_reason}.", width)
        lines.append("=" * width)
        return "\n".join(lines)

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({ps})"
        return f"{type(self).__name__}()"


class TransactionModel(BaseModel):
    """Shared by the purchase-count models (BG/NBD, MBG/NBD, Pareto/NBD): fit on (frequency,
    recency, T) and refuse data without any repeat purchase."""

    def fit(self, frequency: RFMInput, recency: ArrayLike | None = None, T: ArrayLike | None = None,
            weights: ArrayLike | None = None):
        """Maximum-likelihood fit; identical (frequency, recency, T) rows are weighted, not repeated."""
        data = as_rfm(frequency, recency, T, weights)
        self.time_unit_ = data.time_unit
        return self._fit(data)

    def _limit_label(self, at_lo: list[str], at_hi: list[str]) -> str:
        """"at the no-dropout boundary" when the dropout parameters (the last two: a, b or s, beta)
        are at the side where nobody drops out (shape at its lower or the second at its upper limit)."""
        shape, second = self.param_names[2], self.param_names[3]
        if shape in at_lo or second in at_hi:
            rest = [n for n in at_lo if n not in (shape, second)] + [n for n in at_hi if n not in (shape, second)]
            return "at the no-dropout boundary" + (f" ({', '.join(rest)} also at a limit)" if rest else "")
        return super()._limit_label(at_lo, at_hi)

    @staticmethod
    def _rates(data) -> tuple[float, float]:
        """Start values' purchase rates: repeat purchases per unit of T over all customers, and per
        unit of recency over the repeat buyers (at least the first)."""
        x, tx, T, w = data.x, data.tx, data.T, data.w
        rate_all = max(wdot(w, x) / wdot(w, T), 1e-4)
        rep = x > 0
        rate_rep = max(wdot(w[rep], x[rep]) / max(wdot(w[rep], tx[rep]), 1e-9), rate_all) if rep.any() else rate_all
        return rate_all, rate_rep

    @staticmethod
    def _customer_rows(frequency: RFMInput, recency: ArrayLike | None, T: ArrayLike | None) -> RFMData:
        """One unweighted row per customer, recency capped at T, for per-customer likelihoods."""
        x, tx, T_ = customer_arrays(frequency, recency, T)
        return RFMData(x, np.minimum(tx, T_), T_, np.ones_like(x))

    def loglik(self, frequency: RFMInput, recency: ArrayLike | None = None,
               T: ArrayLike | None = None) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (aligned with the input)."""
        return self._loglik_grad(self._theta(), self._customer_rows(frequency, recency, T), grad=False,
                                 per_row=True)

    def _check_data(self, data) -> None:
        if wdot(data.w, data.x) <= 0:
            raise ConvergenceError(
                f"{type(self).__name__}: no maximum — not one customer made a repeat purchase, so the "
                "likelihood keeps rising as the purchase rate goes to 0. What to try: a longer calibration "
                "period, or check that the customer ids identify the same customer across purchases.")
