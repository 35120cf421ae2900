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

__all__ = ["ConvergenceError", "FitDiagnostics", "BaseModel", "RFMData", "as_rfm", "customer_arrays",
           "unique_rows"]

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


def _dedupe(columns: list[np.ndarray], weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equally long float columns and the summed weight of each (hash based)."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    mult = 1
    for col in columns:
        codes, uniq = pd.factorize(col)
        key = key + codes.astype(np.int64) * mult
        mult *= max(len(uniq), 1)
        if mult > 2**62:
            raise OverflowError("too many distinct values to combine into one key")
    codes, uniq_keys = pd.factorize(key)
    w = np.bincount(codes, weights=weights, minlength=len(uniq_keys)).astype(float)
    rep = np.empty(len(uniq_keys), dtype=np.int64)
    rep[codes] = np.arange(n)          # any member represents its group: all are identical
    return [c[rep] for c in columns], w


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equally long 1-d columns and the index of each input row's distinct row."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    mult = 1
    for col in columns:
        codes, uniq = pd.factorize(np.asarray(col))
        key = key + codes.astype(np.int64) * mult
        mult *= max(len(uniq), 1)
    inv, uniq_keys = pd.factorize(key)
    rep = np.empty(len(uniq_keys), dtype=np.int64)
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
    if np.any(T_ <= 0):
        raise ValueError("T (customer age) must be positive")
    if np.any(tx < 0) or np.any(tx > T_ * (1 + 1e-12)):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x == 0) & (tx != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")
    (x, tx, T_), w = _dedupe([np.round(x), np.minimum(tx, T_), T_], weights)
    keep = w > 0
    return RFMData(x[keep], tx[keep], T_[keep], w[keep], time_unit)


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

    def _theta(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.params_[list(self.param_names)].to_numpy(dtype=float)

    # -- maximum likelihood ----------------------------------------------------------------------
    def _objective(self, data: Any, n_obs: float):
        def f(phi: np.ndarray) -> tuple[float, np.ndarray]:
            theta = np.exp(phi)
            ll, g = self._loglik_grad(theta, data)
            if not np.isfinite(ll) or not np.all(np.isfinite(g)):
                return 1e10, np.zeros_like(phi)
            return -ll / n_obs, -(g * theta) / n_obs
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
            f, phi0, jac=True, method="L-BFGS-B", bounds=[self._bounds] * len(phi0),
            options={"maxiter": self.max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20})

    def _fit(self, data: Any) -> "BaseModel":
        if threadpool_limits is None:
            return self._fit_impl(data)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_impl(data)

    def _fit_impl(self, data: Any) -> "BaseModel":
        n_obs = self._n_obs(data)
        work, subsampled = data, False
        if self.subsample is not None and self._n_rows(data) > self.subsample:
            rng = np.random.default_rng(self.random_state)
            work, subsampled = self._subsample(data, self.subsample, rng), True
        n_work = self._n_obs(work)
        f_work = self._objective(work, n_work)

        # Rank the data-driven candidates by their log-likelihood, keep the best distinct ones.
        cands = [np.log(np.clip(np.asarray(c, float), 1e-6, 1e6)) for c in self._start_values(data)]
        vals = [f_work(c)[0] for c in cands]
        order = np.argsort(vals)
        starts: list[np.ndarray] = []
        for i in order:
            if all(np.max(np.abs(cands[i] - s)) > 1e-3 for s in starts):
                starts.append(cands[i])
            if len(starts) >= self.n_starts:
                break

        results = []
        iterations = 0
        for s in starts:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = self._minimize(f_work, s)
            iterations += int(res.nit)
            if np.isfinite(res.fun) and res.fun < 1e9:
                results.append(res)
        if not results:
            raise ConvergenceError(f"{type(self).__name__}: the log-likelihood was not finite at any "
                                   f"of {len(starts)} starting points; check the data")
        results.sort(key=lambda r: r.fun)
        start_lls = [-r.fun * n_obs for r in results]
        phi = results[0].x

        f_full = self._objective(data, n_obs)
        if subsampled:
            res = self._minimize(f_full, phi)
            iterations += int(res.nit)
            phi = res.x
        # Newton polish: L-BFGS-B stops on relative function change; make the gradient vanish.
        fun, g = f_full(phi)
        H = self._hessian(phi, data, n_obs)
        for _ in range(8):
            if np.linalg.norm(g) < 1e-10:
                break
            try:
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            t = 1.0
            improved = False
            while t > 1e-4:
                cand = np.clip(phi - t * step, *self._bounds)
                fc, gc = f_full(cand)
                if fc <= fun + 1e-14 * abs(fun):
                    phi, fun, g = cand, fc, gc
                    improved = True
                    break
                t /= 2
            iterations += 1
            if not improved:
                break
            H = self._hessian(phi, data, n_obs)

        grad_norm = float(np.linalg.norm(g))
        eig = np.linalg.eigvalsh(H) if np.all(np.isfinite(H)) else np.array([np.nan])
        pos_def = bool(np.all(eig > 0))
        at_bound = bool(np.any(np.isclose(phi, self._bounds[0]) | np.isclose(phi, self._bounds[1])))
        converged = bool(np.isfinite(fun) and grad_norm <= self.tol and pos_def and not at_bound)
        theta = np.exp(phi)
        msg = "maximum found" if converged else (
            f"gradient norm {grad_norm:.3g} > tol {self.tol:g}" if grad_norm > self.tol else
            "Hessian not positive definite" if not pos_def else "a parameter is at its bound")
        self.diagnostics_ = FitDiagnostics(converged, grad_norm, iterations, len(starts), start_lls,
                                           msg, pos_def, subsampled)
        if not converged:
            raise ConvergenceError(
                f"{type(self).__name__}: no maximum found ({msg}); best parameters "
                + ", ".join(f"{n}={v:.4g}" for n, v in zip(self.param_names, theta)))

        self.params_ = pd.Series(theta, index=list(self.param_names), dtype=float)
        cov_phi = np.linalg.inv(H * n_obs)
        se_phi = np.sqrt(np.diag(cov_phi))
        self.covariance_log_ = pd.DataFrame(cov_phi, index=self.param_names, columns=self.param_names)
        self.se_ = pd.Series(theta * se_phi, index=list(self.param_names))
        self.confidence_intervals_ = pd.DataFrame(
            {"lower": np.exp(phi - Z95 * se_phi), "upper": np.exp(phi + Z95 * se_phi)},
            index=list(self.param_names))
        self.log_likelihood_ = float(-fun * n_obs)
        self.n_ = int(round(n_obs))
        self.n_distinct_ = self._n_rows(data)
        self.converged_ = converged
        self.grad_norm_ = grad_norm
        self.n_iter_ = iterations
        return self

    # -- information criteria and the summary table ----------------------------------------------
    @property
    def aic_(self) -> float:
        return 2 * len(self.param_names) - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        return len(self.param_names) * math.log(self.n_) - 2 * self.log_likelihood_

    def summary_frame(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% intervals as a DataFrame."""
        return pd.DataFrame({
            "estimate": self.params_,
            "std_err": self.se_,
            "ci_lower": self.confidence_intervals_["lower"],
            "ci_upper": self.confidence_intervals_["upper"],
        })

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
        for name, row in tab.iterrows():
            lines.append(f"{name:<8}{row.estimate:>12.4f}{row.std_err:>12.4f}"
                         f"{row.ci_lower:>14.4f}{row.ci_upper:>12.4f}")
        d = self.diagnostics_
        lines += ["-" * width,
                  f"converged: {d.converged} (gradient norm {d.grad_norm:.2e}, {d.iterations} "
                  f"iterations, {d.n_starts} starts)",
                  "SE by the delta method on log-parameters; CI = exp(log est +/- 1.96 SE_log).",
                  "=" * width]
        return "\n".join(lines)

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({ps})"
        return f"{type(self).__name__}()"
