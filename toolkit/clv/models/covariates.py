"""Time-invariant customer attributes in the purchase, dropout and spend processes.

BG/NBD with covariates (:class:`BetaGeoCovariates`), following the covariate extension of the
buy-till-you-die models (Fader & Hardie's note on time-invariant covariates): for customer i with
attributes z_i (dummy-coded categories, numeric columns as they are)

* purchase rate while active: lambda_i ~ Gamma(r, alpha_i), ``alpha_i = alpha0 exp(-g_purchase' z_i)``.
  A gamma rate scales with 1/alpha, so the whole distribution of purchase rates of customers with
  z_i is exp(g_purchase' z_i) times that of the reference customers: **the purchase multiplier is
  exp(g)** (exactly);
* dropout after each repeat purchase: p_i ~ Beta(a, b_i), ``b_i = b0 exp(-g_dropout' z_i)`` (the
  ratio a/b, and for small p the dropout probability itself, scales by exp(g)). **The dropout
  multiplier reported is the ratio of mean dropout probabilities** E[p | z] / E[p | reference]
  = (a + b0) / (a + b0 exp(-g)) (other attributes at their reference), with a delta-method interval.

Gamma-Gamma with covariates (:class:`GammaGammaCovariates`): transaction values Gamma(p, nu_i),
nu_i ~ Gamma(q, gamma_i), ``gamma_i = gamma0 exp(+g_spend' z_i)``. The customer's mean spend p/nu_i
scales with gamma_i, so in this model the spend multiplier is exp(g) (note the sign: with
``gamma0 exp(-g'z)`` spend would scale by exp(-g'z)). The model is used for per-customer spend
predictions (:meth:`GammaGammaCovariates.expected_average_value`).

**The spend multiplier reported** is not that exp(g): a single gamma heterogeneity per attribute
level is often wrong (e.g. two customer segments of very different spend inside one customer type),
and then the maximum-likelihood exp(g) estimates something other than a ratio of mean spend, with an
interval that does not cover it. The reported spend multiplier is the **ratio of mean spend per
purchase**: the mean, over the repeat customers with the level, of each customer's expected spend
per purchase, divided by the same mean for the reference level (other attributes held fixed, the
ratio taken as multiplicative). It is estimated by :class:`MeanSpendRegression`, a log-link
quasi-likelihood regression (the estimating equations of a gamma-family GLM with log link) of each
repeat customer's average spend per purchase on the attributes, with heteroscedasticity-robust
(sandwich, HC1) standard errors. Its coefficients are consistent for log ratios of the mean spend
whatever the distribution of spend between and within customers, and the sandwich interval stays
valid when the gamma assumptions are wrong. When the Gamma-Gamma model is right the two coincide:
E[p/nu_i | z] = p gamma_i / (q - 1) scales by exp(g).

Estimation of the BG/NBD and Gamma-Gamma models: maximum likelihood over (log base parameters,
coefficients) with analytic gradients, on the models' shared fitting machinery
(:class:`~toolkit.clv.models.base.BaseModel`: multi-start L-BFGS-B from the fit without covariates,
Newton polish on a Hessian from central differences of the gradient, the optimality check, boundary
and singular-Hessian flags); standard errors from that Hessian.
``multipliers()`` gives each covariate's multiplier with its interval and a sentence in plain words.

:func:`simulate_covariates` draws data with known effects (used to check interval coverage).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import digamma, gammaln

from toolkit.clv.models.base import BaseModel, ConvergenceError, customer_arrays, unique_rows
from toolkit.clv.models.bgnbd import BetaGeo
from toolkit.clv.models.gammagamma import GammaGamma
from toolkit.design import CovariateDesign

__all__ = ["BetaGeoCovariates", "GammaGammaCovariates", "MeanSpendRegression",
           "covariate_effects", "simulate_covariates"]

_LOG_BOUNDS = (math.log(1e-7), math.log(1e7))
_COEF_BOUNDS = (-30.0, 30.0)


def _col(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The first of ``names`` present in ``frame`` as a float array."""
    for n in names:
        if n in frame.columns:
            return frame[n].to_numpy(dtype=float)
    raise KeyError(f"none of the columns {names} found in the data")


def _attributes(rfm: pd.DataFrame, covariates: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    """The covariate columns for the customers of ``rfm`` (from ``covariates``, matched on the index)."""
    if covariates is None:
        missing = [c for c in columns if c not in rfm.columns]
        if missing:
            raise KeyError(f"covariate columns {missing} are neither in the data nor given as covariates")
        return rfm[list(columns)]
    absent = ~rfm.index.isin(covariates.index)
    if absent.any():
        raise ValueError(f"{int(absent.sum())} customers have no row in covariates")
    return covariates.loc[rfm.index, list(columns)]


# ----------------------------------------------------------------------------------- engine
class _CovariateModel(BaseModel):
    """Maximum likelihood over phi = (log base parameters, coefficient blocks), on the shared
    machinery of :class:`~toolkit.clv.models.base.BaseModel` (multi-start, polish, optimality check,
    flags, standard errors); fitted ``phi_`` and its covariance ``covariance_`` besides ``params_``
    (base parameters, then the coefficients on the log scale), ``se_`` and ``confidence_intervals_``."""

    base_names: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()            # coefficient blocks, e.g. ("purchase", "dropout")
    model_name = ""
    _multiplier_note = ""

    def __init__(self, n_starts: int = 2, max_iter: int = 3000, tol: float = 1e-5) -> None:
        super().__init__(n_starts=n_starts, max_iter=max_iter, tol=tol, subsample=None, random_state=0)

    # to provide: _loglik_phi(phi, data) -> (log-likelihood, its gradient in phi)
    def _names(self) -> list[str]:
        out = list(self.base_names)
        for b in self.blocks:
            out += [f"{b}: {n}" for n in self.designs_[b].names_]
        return out

    def _is_log(self, k: int) -> np.ndarray:
        return np.arange(k) < len(self.base_names)

    def _box(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        log = self._is_log(k)
        return np.where(log, _LOG_BOUNDS[0], _COEF_BOUNDS[0]), np.where(log, _LOG_BOUNDS[1], _COEF_BOUNDS[1])

    def _objective(self, data, n_obs):
        def f(phi):
            with np.errstate(all="ignore"):
                ll, g = self._loglik_phi(phi, data)
            if not np.isfinite(ll) or not np.all(np.isfinite(g)):
                return 1e10, np.zeros_like(phi)
            return -ll / n_obs, -g / n_obs
        return f

    def _n_rows(self, data) -> int:
        return len(data["w"])

    def _n_obs(self, data) -> float:
        return float(data["w"].sum())

    def _start_values(self, data) -> list[np.ndarray]:
        return [self._to_theta(phi) for phi in self._phi_starts]

    def _advice(self, state: dict, bound: list[str]) -> str:
        return ("A covariate level may be too rare or perfectly separate buyers from non-buyers: pool rare "
                "levels or leave the covariate out. " + super()._advice(state, bound))

    def _estimate(self, data, starts: list[np.ndarray]) -> None:
        """Fit from ``starts`` (in phi) with the shared machinery; keep phi and its covariance."""
        self._phi_starts = starts
        self._fit(data)
        theta = self.params_.to_numpy(float)
        log = self._is_log(len(theta))
        self.phi_ = pd.Series(np.where(log, np.log(np.where(log, theta, 1.0)), theta), index=self.params_.index)
        self.covariance_ = self.covariance_log_

    # -- reporting ---------------------------------------------------------------------------
    def summary_frame(self) -> pd.DataFrame:
        """Estimates (base parameters; coefficients on the log scale), SE, z, p and 95% CI."""
        k = len(self.base_names)
        se_phi = np.sqrt(np.diag(self.covariance_.to_numpy()))
        z = np.r_[np.full(k, np.nan), self.phi_.to_numpy()[k:] / se_phi[k:]]
        return pd.DataFrame({"estimate": self.params_, "std_err": self.se_, "z": z,
                             "p_value": 2 * stats.norm.sf(np.abs(z)),
                             "ci_lower": self.confidence_intervals_["lower"],
                             "ci_upper": self.confidence_intervals_["upper"]})

    def summary(self) -> str:
        """Text table: base parameters, coefficients with their multipliers, fit statistics."""
        if not hasattr(self, "phi_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        tab = self.summary_frame()
        width = 100
        nw = max(20, min(48, max(len(n) for n in tab.index) + 2))
        lines = [f"{self.model_name} with covariates — maximum likelihood".center(width), "=" * width,
                 f"{'customers:':<14}{self.n_:>12,}    {'log-lik:':<10}{self.log_likelihood_:>14.3f}    "
                 f"{'AIC:':<6}{self.aic_:>12.3f}  {'BIC:':<6}{self.bic_:>12.3f}", "-" * width,
                 f"{'parameter':<{nw}}{'estimate':>11}{'std.err':>10}{'z':>8}{'P>|z|':>8}{'[0.025':>8}{'0.975]':>8}",
                 "-" * width]
        for name, r in tab.iterrows():
            z = "" if np.isnan(r.z) else f"{r.z:.2f}"
            p = "" if np.isnan(r.p_value) else f"{r.p_value:.3f}"
            lines.append(f"{name[:nw]:<{nw}}{r.estimate:>11.4f}{r.std_err:>10.4f}{z:>8}{p:>8}"
                         f"{r.ci_lower:>8.3f}{r.ci_upper:>8.3f}")
        lines += ["-" * width, "Multipliers (95% CI):"]
        for _, r in self.multipliers().iterrows():
            lines.append(f"  {r.process:<9}{r.term[:nw - 11]:<{nw - 11}}{r.multiplier:>10.3f}x  "
                         f"[{r.ci_lower:.3f}, {r.ci_upper:.3f}]")
        lines += ["-" * width,
                  f"converged: {self.converged_} (gradient norm {self.grad_norm_:.2e}); coefficients on the log scale, "
                  "SE from the observed information.",
                  self._multiplier_note, "=" * width]
        return "\n".join(lines)

    def _coef(self, block: str, term: str) -> tuple[float, float]:
        name = f"{block}: {term}"
        return float(self.phi_[name]), float(np.sqrt(self.covariance_.loc[name, name]))

    def _multiplier_rows(self, level: float) -> list[dict]:
        raise NotImplementedError

    def _exp_rows(self, block: str, coefs: Sequence[tuple[float, float]], level: float, verb: str) -> list[dict]:
        """Rows for log-scale coefficients (g, se) of ``block``'s terms: multiplier exp(g) with
        its Wald interval and p-value (p = 0 or 1 when the standard error is 0)."""
        z = stats.norm.ppf(0.5 + level / 2)
        rows = []
        for j, (g, se) in enumerate(coefs):
            p = 2 * stats.norm.sf(abs(g / se)) if se > 0 else (1.0 if g == 0 else 0.0)
            rows.append(self._row(block, j, math.exp(g), math.exp(g - z * se), math.exp(g + z * se), p, level, verb))
        return rows

    def multipliers(self, level: float = 0.95) -> pd.DataFrame:
        """One row per covariate term and process: multiplier, interval, p-value and a sentence."""
        return pd.DataFrame(self._multiplier_rows(level))

    def _row(self, block: str, term_idx: int, mult: float, lo: float, hi: float, p: float, level: float,
             verb: str) -> dict:
        col, lev = self.designs_[block].terms_[term_idx]
        ref = self.designs_[block].references_.get(col)
        label = col.replace("_", " ")
        pct = f"{level:.0%}"
        p_txt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        if lev is None:
            who = f"Each extra unit of {label}"
            sentence = (f"{who} multiplies {verb} by {mult:.2f} ({pct} CI {lo:.2f} to {hi:.2f}; {p_txt}).")
        else:
            phrase = {"purchase": "buy {m}x as often as",
                      "dropout": "are {m}x as likely to drop out after a purchase as",
                      "spend": "spend {m}x as much per purchase as"}[block]
            sentence = (f"Customers whose {label} is {lev} " + phrase.format(m=f"{mult:.2f}")
                        + f" those whose {label} is {ref} ({pct} CI {lo:.2f}x to {hi:.2f}x; {p_txt}).")
        return {"process": block, "term": self.designs_[block].names_[term_idx], "covariate": col,
                "level": lev, "reference": ref, "multiplier": mult, "ci_lower": lo, "ci_upper": hi,
                "p_value": p, "sentence": sentence}


def _dedupe_frame(cols: dict[str, np.ndarray], w: np.ndarray) -> dict[str, np.ndarray]:
    """Identical rows (over all columns, design columns included) merged with summed weights."""
    keys = list(cols)
    arrays = [cols[k] if cols[k].ndim == 1 else None for k in keys]
    flat: list[np.ndarray] = []
    layout: list[tuple[str, int]] = []
    for k, a in zip(keys, arrays):
        if a is not None:
            flat.append(a)
            layout.append((k, -1))
        else:
            for j in range(cols[k].shape[1]):
                flat.append(cols[k][:, j])
                layout.append((k, j))
    uniq, inv = unique_rows(*flat)
    wu = np.bincount(inv, weights=w, minlength=len(uniq[0]))
    out: dict[str, np.ndarray] = {}
    for (k, j), col in zip(layout, uniq):
        if j < 0:
            out[k] = col
        else:
            out.setdefault(k, np.empty((len(col), cols[k].shape[1])))[:, j] = col
    for k in keys:
        if k not in out:           # a block without terms
            out[k] = np.empty((len(wu), 0))
    out["w"] = wu
    keep = wu > 0
    return {k: v[keep] for k, v in out.items()}


# ----------------------------------------------------------------------------------- BG/NBD
class BetaGeoCovariates(_CovariateModel):
    """BG/NBD with time-invariant covariates in the purchase rate and in the dropout probability.

    ``purchase`` / ``dropout``: attribute columns entering each process (``None``: all columns of
    the covariates frame given to ``fit``; ``[]``: none). ``reference``: reference level per column.
    """

    base_names = ("r", "alpha0", "a", "b0")
    blocks = ("purchase", "dropout")
    model_name = "BG/NBD"
    _multiplier_note = ("Multipliers: purchase rate exp(coef); dropout the ratio of mean dropout probabilities "
                        "(others at reference).")

    def __init__(self, purchase: Sequence[str] | None = None, dropout: Sequence[str] | None = None,
                 reference: Mapping[str, Any] | None = None, n_starts: int = 2, max_iter: int = 3000,
                 tol: float = 1e-5) -> None:
        super().__init__(n_starts, max_iter, tol)
        self.purchase = purchase
        self.dropout = dropout
        self.reference = reference

    def fit(self, rfm: pd.DataFrame, covariates: pd.DataFrame | None = None,
            weights: np.ndarray | None = None) -> "BetaGeoCovariates":
        """Fit to an rfm_summary frame; attributes from ``covariates`` (indexed like ``rfm``) or from ``rfm``."""
        cols = self._columns(rfm, covariates)
        attrs = _attributes(rfm, covariates, sorted(set(cols["purchase"]) | set(cols["dropout"]), key=str))
        self.designs_ = {b: CovariateDesign(cols[b], self.reference).fit(attrs) for b in self.blocks}
        x, tx, T = customer_arrays(rfm)
        w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float), x.shape)
        data = _dedupe_frame({"x": x, "tx": np.minimum(tx, T), "T": T,
                              "Xp": self.designs_["purchase"].transform(attrs),
                              "Xd": self.designs_["dropout"].transform(attrs)}, w)
        self.time_unit_ = rfm.attrs.get("time_unit")
        base = BetaGeo().fit(rfm, weights=weights)
        self.base_model_ = base
        phi0 = np.r_[np.log(base.params_.to_numpy(float)), np.zeros(data["Xp"].shape[1] + data["Xd"].shape[1])]
        alt = phi0.copy()
        alt[:4] = np.log([1.0, base.params_["alpha"] / base.params_["r"], 1.0, 3.0])
        self._estimate(data, [phi0, alt])
        return self

    def _columns(self, rfm, covariates) -> dict[str, list[str]]:
        pool = list(covariates.columns) if covariates is not None else []
        out = {}
        for b in self.blocks:
            sel = getattr(self, b)
            if sel is None:
                if covariates is None:
                    raise ValueError(f"name the {b} covariates or pass a covariates frame")
                sel = pool
            out[b] = list(sel)
        return out

    def _loglik_phi(self, phi, data):
        kp = data["Xp"].shape[1]
        r, alpha0, a, b0 = np.exp(phi[:4])
        gp, gd = phi[4:4 + kp], phi[4 + kp:]
        x, tx, T, w = data["x"], data["tx"], data["T"], data["w"]
        al = alpha0 * np.exp(-(data["Xp"] @ gp)) if kp else np.full_like(x, alpha0)
        b = b0 * np.exp(-(data["Xd"] @ gd)) if len(gd) else np.full_like(x, b0)
        rx = r + x
        lT = np.log(al + T)
        lt = np.log(al + tx)
        pos = x > 0
        bx1 = np.where(pos, b + x - 1, 1.0)
        u3 = -rx * lT
        u4 = np.where(pos, np.log(a) - np.log(bx1) - rx * lt, -np.inf)
        m = np.maximum(u3, u4)
        e3, e4 = np.exp(u3 - m), np.exp(u4 - m)
        s = e3 + e4
        ll_row = (gammaln(rx) - gammaln(r) + r * np.log(al) + gammaln(a + b) + gammaln(b + x) - gammaln(b)
                  - gammaln(a + b + x) + m + np.log(s))
        ll = float(np.sum(w * ll_row))
        p4 = e4 / s
        p3 = 1.0 - p4
        d_r = digamma(rx) - digamma(r) + np.log(al) - p3 * lT - p4 * lt
        d_al = r / al - rx * (p3 / (al + T) + p4 / (al + tx))
        dab, dabx = digamma(a + b), digamma(a + b + x)
        d_a = dab - dabx + p4 / a
        d_b = dab + digamma(b + x) - digamma(b) - dabx - np.where(pos, p4 / bx1, 0.0)
        g_al = w * d_al * al
        g_b = w * d_b * b
        grad = np.r_[r * np.sum(w * d_r), np.sum(g_al), a * np.sum(w * d_a), np.sum(g_b),
                     -(data["Xp"].T @ g_al), -(data["Xd"].T @ g_b)]
        return ll, grad

    # -- predictions --------------------------------------------------------------------------
    def customer_params(self, rfm: pd.DataFrame, covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per customer: r, alpha_i, a, b_i."""
        cols = sorted({c for b in self.blocks for c in self.designs_[b].columns}, key=str)
        attrs = _attributes(rfm, covariates, cols)
        ph = self.phi_.to_numpy()
        kp = len(self.designs_["purchase"].names_)
        Xp, Xd = self.designs_["purchase"].transform(attrs), self.designs_["dropout"].transform(attrs)
        r, alpha0, a, b0 = np.exp(ph[:4])
        return pd.DataFrame({"r": r, "alpha": alpha0 * np.exp(-(Xp @ ph[4:4 + kp])), "a": a,
                             "b": b0 * np.exp(-(Xd @ ph[4 + kp:]))}, index=rfm.index)

    def _by_group(self, rfm, covariates, fn) -> np.ndarray:
        cp = self.customer_params(rfm, covariates)
        x, tx, T = customer_arrays(rfm)
        out = np.empty(len(x))
        (al, bb), inv = unique_rows(cp["alpha"].to_numpy(), cp["b"].to_numpy())
        r, a = float(cp["r"].iloc[0]), float(cp["a"].iloc[0])
        for g in range(len(al)):
            sel = inv == g
            m = BetaGeo.from_params(time_unit=self.time_unit_, r=r, alpha=al[g], a=a, b=bb[g])
            out[sel] = fn(m, x[sel], tx[sel], T[sel])
        return out

    def prob_alive(self, rfm: pd.DataFrame, covariates: pd.DataFrame | None = None) -> np.ndarray:
        """P(alive at T | x, t_x, T, attributes)."""
        return self._by_group(rfm, covariates, lambda m, x, tx, T: m.prob_alive(x, tx, T))

    def conditional_expected_purchases(self, t: float, rfm: pd.DataFrame,
                                       covariates: pd.DataFrame | None = None) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T, attributes]."""
        return self._by_group(rfm, covariates,
                              lambda m, x, tx, T: m.conditional_expected_purchases(t, x, tx, T))

    def _multiplier_rows(self, level: float) -> list[dict]:
        z = stats.norm.ppf(0.5 + level / 2)
        rows = self._exp_rows("purchase", [self._coef("purchase", t) for t in self.designs_["purchase"].names_],
                              level, "the purchase rate")
        a, b0 = math.exp(self.phi_["a"]), math.exp(self.phi_["b0"])
        for j, term in enumerate(self.designs_["dropout"].names_):
            g, se = self._coef("dropout", term)
            bz = b0 * math.exp(-g)
            log_ratio = math.log(a + b0) - math.log(a + bz)
            # delta method on log ratio in (log a, log b0, g)
            grad = np.array([a / (a + b0) - a / (a + bz), b0 / (a + b0) - bz / (a + bz), bz / (a + bz)])
            names = ["a", "b0", f"dropout: {term}"]
            V = self.covariance_.loc[names, names].to_numpy()
            se_lr = float(np.sqrt(grad @ V @ grad))
            p = 2 * stats.norm.sf(abs(g / se))
            rows.append(self._row("dropout", j, math.exp(log_ratio), math.exp(log_ratio - z * se_lr),
                                  math.exp(log_ratio + z * se_lr), p, level, "the mean dropout probability"))
        return rows


# ----------------------------------------------------------------------------------- Gamma-Gamma
class GammaGammaCovariates(_CovariateModel):
    """Gamma-Gamma spend model with ``gamma_i = gamma0 exp(g' z_i)`` (per-customer predictions), and
    the robust ratio of mean spend per purchase (:class:`MeanSpendRegression`, attribute
    ``spend_regression_``) as the reported spend multiplier.

    ``multipliers()`` reports the ratio of mean spend per purchase with its sandwich interval;
    ``model_multipliers()`` the Gamma-Gamma exp(g), which equals it only when the model's single gamma
    heterogeneity per attribute level is right.
    """

    base_names = ("p", "q", "gamma0")
    blocks = ("spend",)
    model_name = "Gamma-Gamma"
    _multiplier_note = ("Spend multiplier: ratio of mean spend per purchase over repeat customers (log-link "
                        "quasi-likelihood regression of each customer's average spend, robust HC1 interval); the "
                        "'spend:' coefficients above are the Gamma-Gamma model's (used for predictions).")

    def __init__(self, spend: Sequence[str] | None = None, reference: Mapping[str, Any] | None = None,
                 n_starts: int = 2, max_iter: int = 3000, tol: float = 1e-5) -> None:
        super().__init__(n_starts, max_iter, tol)
        self.spend = spend
        self.reference = reference

    def fit(self, rfm: pd.DataFrame, covariates: pd.DataFrame | None = None,
            weights: np.ndarray | None = None) -> "GammaGammaCovariates":
        """Fit to the customers with repeat purchases and positive mean spend."""
        cols = list(self.spend) if self.spend is not None else (
            list(covariates.columns) if covariates is not None else None)
        if cols is None:
            raise ValueError("name the spend covariates or pass a covariates frame")
        x = _col(rfm, ["frequency", "frequency_cal"])
        m = _col(rfm, ["monetary_value", "monetary_value_cal"])
        w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float), x.shape)
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        sub = rfm.loc[keep]
        attrs = _attributes(sub, None if covariates is None else covariates.reindex(sub.index), cols)
        self.designs_ = {"spend": CovariateDesign(cols, self.reference).fit(attrs)}
        self.n_dropped_ = int(((x > 0) & ~keep).sum())
        X = self.designs_["spend"].transform(attrs)
        self.spend_regression_ = MeanSpendRegression().fit(m[keep], X, w[keep], names=self.designs_["spend"].names_)
        data = _dedupe_frame({"x": x[keep], "m": m[keep], "X": X}, w[keep])
        base = GammaGamma(nonpositive="drop").fit(x[keep], m[keep], w[keep])
        self.base_model_ = base
        phi0 = np.r_[np.log(base.params_.to_numpy(float)), np.zeros(data["X"].shape[1])]
        alt = phi0.copy()
        alt[:3] = np.log([4.0, 4.0, float(np.average(data["m"], weights=data["w"])) * 3.0 / 4.0])
        self._estimate(data, [phi0, alt])
        return self

    def _loglik_phi(self, phi, data):
        p, q, g0 = np.exp(phi[:3])
        gs = phi[3:]
        x, m, w, X = data["x"], data["m"], data["w"], data["X"]
        gi = g0 * np.exp(X @ gs) if len(gs) else np.full_like(x, g0)
        px = p * x
        lgm = np.log(gi + m * x)
        lm, lx = np.log(m), np.log(x)
        ll_row = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gi) + (px - 1) * lm + px * lx
                  - (px + q) * lgm)
        ll = float(np.sum(w * ll_row))
        dpq = digamma(px + q)
        d_p = x * (dpq - digamma(px) + lm + lx - lgm)
        d_q = dpq - digamma(q) + np.log(gi) - lgm
        d_g = w * (q / gi - (px + q) / (gi + m * x)) * gi
        return ll, np.r_[p * np.sum(w * d_p), q * np.sum(w * d_q), np.sum(d_g), X.T @ d_g]

    def expected_average_value(self, rfm: pd.DataFrame, covariates: pd.DataFrame | None = None) -> np.ndarray:
        """E[spend per transaction | x, m_x, attributes] (the attribute group's mean at x = 0)."""
        attrs = _attributes(rfm, covariates, self.designs_["spend"].columns)
        p, q, g0 = np.exp(self.phi_.to_numpy()[:3])
        gi = g0 * np.exp(self.designs_["spend"].transform(attrs) @ self.phi_.to_numpy()[3:])
        x = _col(rfm, ["frequency", "frequency_cal"])
        m = np.where(x > 0, _col(rfm, ["monetary_value", "monetary_value_cal"]), 0.0)
        return p * (gi + m * x) / (p * x + q - 1)

    def _multiplier_rows(self, level: float) -> list[dict]:
        """The reported spend multipliers: ratios of mean spend per purchase (robust regression)."""
        reg = self.spend_regression_
        return self._exp_rows("spend", [(float(reg.coef_[t]), float(reg.se_[t])) for t in self.designs_["spend"].names_],
                              level, "the mean spend per purchase")

    def model_multipliers(self, level: float = 0.95) -> pd.DataFrame:
        """The Gamma-Gamma model's own spend multipliers exp(g) (model-based intervals).

        They estimate the ratio of mean spend only when a single gamma heterogeneity per attribute
        level is right; ``multipliers()`` reports the robust ratio of mean spend per purchase.
        """
        return pd.DataFrame(self._exp_rows("spend", [self._coef("spend", t) for t in self.designs_["spend"].names_],
                                           level, "the spend per purchase"))


class MeanSpendRegression:
    """Log-link quasi-likelihood regression of customers' average spend per purchase, robust intervals.

    Model for the mean only: E[m_i | z_i] = exp(b0 + b' z_i), where m_i is customer i's average spend
    per purchase. The estimating equations are those of a gamma-family GLM with log link,
    ``sum_i w_i z_i (m_i / mu_i - 1) = 0`` (each customer counts once, whatever their number of
    purchases); they are unbiased whenever the mean model holds, whatever the distribution of m_i, so
    exp(b_j) is consistent for the ratio of mean spend per purchase between customers with and without
    the attribute (other attributes fixed). With categorical attributes only, one column, the fitted
    group means are the plain averages of m_i. The covariance is the sandwich
    ``H^-1 B H^-1 n / (n - k)`` (HC1; H = sum w z z' m/mu, minus the derivative of the estimating
    equations, B = sum w z z' (m/mu - 1)^2), which does not rely on the gamma variance (statsmodels' ``GLM(family=Gamma(link=Log())).fit(cov_type="HC0")``
    times n / (n - k)). Weights are frequency weights (customers with identical rows merged).

    Fitted attributes: ``coef_`` / ``se_`` (log scale, intercept first), ``covariance_``,
    ``intercept_`` (log mean spend of the reference customers), ``n_``, ``n_iter_``.
    """

    def __init__(self, max_iter: int = 100, tol: float = 1e-10) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, m: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None,
            names: Sequence[str] | None = None) -> "MeanSpendRegression":
        y = np.asarray(m, float)
        X = np.asarray(X, float).reshape(len(y), -1)
        w = np.ones_like(y) if weights is None else np.broadcast_to(np.asarray(weights, float), y.shape).copy()
        if np.any(~np.isfinite(y)) or np.any(y <= 0):
            raise ValueError("average spend must be positive and finite")
        D = np.column_stack([np.ones(len(y)), X])
        names = ["intercept"] + (list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])])
        n, k = float(w.sum()), D.shape[1]
        if n <= k:
            raise ValueError(f"{n:.0f} customers for {k} coefficients: too few for the spend regression")
        A = D.T @ (w[:, None] * D)
        if np.linalg.matrix_rank(A) < k:
            raise ValueError("the spend design is singular (a level without repeat customers, or collinear columns)")

        def quasi(beta):                     # gamma quasi-log-likelihood (up to constants)
            eta = D @ beta
            return float(np.sum(w * (-y * np.exp(-eta) - eta)))

        beta = np.zeros(k)
        beta[0] = math.log(float(np.average(y, weights=w)))
        q = quasi(beta)
        it = 0
        for it in range(1, self.max_iter + 1):
            score = D.T @ (w * (y * np.exp(-(D @ beta)) - 1.0))
            step = np.linalg.solve(A, score)            # Fisher scoring (expected information A)
            t = 1.0
            while t > 1e-8:
                cand = beta + t * step
                qc = quasi(cand)
                if np.isfinite(qc) and qc >= q - 1e-12 * abs(q):
                    break
                t /= 2
            beta, q = cand, qc
            if np.max(np.abs(t * step)) < self.tol:
                break
        u = y * np.exp(-(D @ beta)) - 1.0
        if np.max(np.abs(np.linalg.solve(A, D.T @ (w * u)))) > 1e-6:
            raise ConvergenceError("MeanSpendRegression: the estimating equations were not solved")
        # bread: minus the derivative of the estimating equations, sum w z z' m/mu (observed information)
        Ainv = np.linalg.inv(D.T @ ((w * (u + 1.0))[:, None] * D))
        B = D.T @ ((w * u * u)[:, None] * D)
        V = Ainv @ B @ Ainv * n / (n - k)
        self.coef_ = pd.Series(beta, index=names)
        self.covariance_ = pd.DataFrame(V, index=names, columns=names)
        self.se_ = pd.Series(np.sqrt(np.clip(np.diag(V), 0.0, None)), index=names)
        self.intercept_ = float(beta[0])
        self.n_ = int(round(n))
        self.n_iter_ = it
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Fitted mean spend per purchase for design rows ``X``."""
        X = np.asarray(X, float).reshape(-1, len(self.coef_) - 1)
        return np.exp(self.coef_.iloc[0] + X @ self.coef_.to_numpy()[1:])

    def multipliers(self, level: float = 0.95) -> pd.DataFrame:
        """exp(coefficient) with its interval per term (the intercept left out)."""
        z = stats.norm.ppf(0.5 + level / 2)
        b, se = self.coef_.iloc[1:], self.se_.iloc[1:]
        return pd.DataFrame({"multiplier": np.exp(b), "ci_lower": np.exp(b - z * se), "ci_upper": np.exp(b + z * se),
                             "p_value": 2 * stats.norm.sf(np.abs(b / se))})


def covariate_effects(*models: _CovariateModel, level: float = 0.95) -> pd.DataFrame:
    """The multipliers of several fitted covariate models in one table."""
    return pd.concat([m.multipliers(level) for m in models], ignore_index=True)


# ----------------------------------------------------------------------------------- simulation
def _log_effects(attrs: pd.DataFrame, effects: Mapping[str, Any] | None) -> np.ndarray:
    """sum of log multipliers per customer: {column: {level: multiplier}} or {column: per-unit multiplier}."""
    out = np.zeros(len(attrs))
    for col, eff in (effects or {}).items():
        if isinstance(eff, Mapping):
            out += np.log(attrs[col].map(lambda v: eff.get(v, 1.0)).to_numpy(float))
        else:
            out += attrs[col].to_numpy(float) * math.log(float(eff))
    return out


def simulate_covariates(attributes: pd.DataFrame, r: float, alpha: float, a: float, b: float, *,
                        purchase: Mapping[str, Any] | None = None, dropout: Mapping[str, Any] | None = None,
                        spend: tuple[float, float, float] | None = None, spend_effects: Mapping[str, Any] | None = None,
                        T=52.0, seed: int | np.random.Generator | None = None) -> pd.DataFrame:
    """BG/NBD (and Gamma-Gamma) customers whose parameters depend on their attributes.

    Effects are multipliers: ``purchase={"customer_type": {"enterprise": 1.8}}`` multiplies the
    purchase rate (alpha_i = alpha / 1.8), ``dropout={...: {...: k}}`` sets b_i = b / k (a/b times k),
    ``spend_effects`` multiplies gamma_i (spend). A numeric column takes a per-unit multiplier.
    Returns frequency, recency, T (and monetary_value with ``spend`` = (p, q, gamma)), the
    attributes and the latent lambda, p, alive.
    """
    rng = np.random.default_rng(seed)
    n = len(attributes)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    al = alpha * np.exp(-_log_effects(attributes, purchase))
    bi = b * np.exp(-_log_effects(attributes, dropout))
    lam = rng.gamma(r, 1.0 / al)
    p = rng.beta(a, bi)
    potential = rng.poisson(lam * T)
    drop_after = rng.geometric(p)
    x = np.minimum(potential, drop_after)
    # recency: the x-th earliest of `potential` uniform times on (0, T)
    pos = x > 0
    tx = np.zeros(n)
    tx[pos] = T[pos] * rng.beta(x[pos], potential[pos] - x[pos] + 1)
    out = pd.DataFrame({"frequency": x.astype(float), "recency": tx, "T": T}, index=attributes.index)
    if spend is not None:
        ps, qs, gs = spend
        gi = gs * np.exp(_log_effects(attributes, spend_effects))
        nu = rng.gamma(qs, 1.0 / gi)
        mv = np.zeros(n)
        mv[pos] = rng.gamma(ps * x[pos], 1.0 / nu[pos]) / x[pos]
        out["monetary_value"] = mv
    out = out.join(attributes)
    out["lambda"], out["p"], out["alive"] = lam, p, potential < drop_after
    return out
