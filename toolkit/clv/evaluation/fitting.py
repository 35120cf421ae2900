"""The CLV models fitted side by side: transaction models, the spend model, their estimates and comparison.

* :func:`fit_models` — each transaction model of :data:`TRANSACTION_MODELS` by maximum likelihood;
  a fit without a maximum is returned with its error message, never dropped silently;
* :func:`parameter_table` — estimates with standard errors and 95% intervals, with ``interval_note``
  saying why they are withheld for a flagged fit (at the parameter boundary or with a nearly
  singular Hessian, :func:`toolkit.clv.models.base.fit_flag`);
* :func:`model_comparison` — log-likelihood, AIC, BIC, fit diagnostics and, when given, holdout errors;
* :func:`fit_spend_model` — Gamma-Gamma on the repeat customers.
"""
from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import pandas as pd

from toolkit.clv.models.base import BoundaryWarning, ConvergenceError, fit_flag
from toolkit.clv.models.bgnbd import BetaGeo, ModifiedBetaGeo
from toolkit.clv.models.gammagamma import GammaGamma
from toolkit.clv.models.ggompertz import GGompertzNBD
from toolkit.clv.models.paretonbd import ParetoNBD

__all__ = ["TRANSACTION_MODELS", "fit_models", "parameter_table", "parameter_units", "model_comparison",
           "fit_spend_model"]

#: The transaction models the CLV report compares, by display name (in this order, the last tie-break
#: of the holdout scorecard).
TRANSACTION_MODELS = {"BG/NBD": BetaGeo, "Pareto/NBD": ParetoNBD, "MBG/NBD": ModifiedBetaGeo,
                      "GGompertz/NBD": GGompertzNBD}


def fit_models(rfm: pd.DataFrame, names: Sequence[str] | None = None,
               **fit_options) -> tuple[dict[str, object], dict[str, str]]:
    """Fit each transaction model (default: all of :data:`TRANSACTION_MODELS`).

    Returns the fitted models by name and, for the ones without a maximum, the error message (a
    failed fit is reported, never silently dropped). A maximum at the boundary is not warned about
    here: it is in each model's :func:`~toolkit.clv.models.base.fit_flag`, which the tables and the
    scorecard state in words.
    """
    fitted, failed = {}, {}
    for name in names or TRANSACTION_MODELS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", BoundaryWarning)
                fitted[name] = TRANSACTION_MODELS[name](**fit_options).fit(rfm)
        except (ConvergenceError, ValueError, FloatingPointError) as exc:
            failed[name] = str(exc)
    return fitted, failed


def parameter_units(model_names: Sequence[str], units: str) -> dict[str, str]:
    """The units legend of a parameter table of these models (names of :data:`TRANSACTION_MODELS`),
    ``units`` the plural time unit: alpha and Pareto/NBD's beta are times, GGompertz/NBD's b is a rate
    per unit of time, every other parameter (shapes, and GGompertz/NBD's beta) is dimensionless."""
    names = [n for n in TRANSACTION_MODELS if n in set(model_names)]
    gg = "GGompertz/NBD" in names
    if not gg:
        return {"r, a, b, s": "dimensionless", "alpha, beta": units}
    singular = units[:-1] if units.endswith("s") else units
    times = "alpha" + (", beta of Pareto/NBD" if "Pareto/NBD" in names else "")
    others = sorted({p for n in names for p in TRANSACTION_MODELS[n].param_names} - {"alpha", "beta", "b"},
                    key="rabs".index)
    if {"BG/NBD", "MBG/NBD"} & set(names):
        others.append("b of BG/NBD and MBG/NBD")
    others.append("beta of GGompertz/NBD")
    return {times: units, "b of GGompertz/NBD": f"per {singular}", ", ".join(others): "dimensionless"}


def parameter_table(models: Mapping[str, object]) -> pd.DataFrame:
    """One row per model and parameter: estimate, standard error, 95% interval and ``interval_note``
    (why the error and interval are withheld for a flagged fit; "" otherwise)."""
    rows = []
    for name, m in models.items():
        tab = m.summary_frame()
        note = fit_flag(m)[1]
        for par, r in tab.iterrows():
            rows.append({"model": name, "parameter": par, "estimate": r["estimate"], "std_err": r["std_err"],
                         "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"], "interval_note": note})
    return pd.DataFrame(rows, columns=["model", "parameter", "estimate", "std_err", "ci_lower", "ci_upper",
                                       "interval_note"])


def model_comparison(models: Mapping[str, object], errors: pd.DataFrame | None = None) -> pd.DataFrame:
    """Log-likelihood, AIC, BIC (and their distance to the best), fit diagnostics (with ``fit_flag`` /
    ``fit_note``: a fit at the parameter boundary or with a nearly singular Hessian) and, when
    given, the holdout errors of :func:`toolkit.clv.evaluation.holdout.holdout_errors`."""
    rows = []
    for name, m in models.items():
        rows.append({"model": name, "parameters": len(m.param_names), "customers": m.n_,
                     "log_likelihood": m.log_likelihood_, "aic": m.aic_, "bic": m.bic_,
                     "converged": bool(m.converged_), "grad_norm": m.grad_norm_,
                     "iterations": int(m.n_iter_), "fit_flag": fit_flag(m)[0], "fit_note": fit_flag(m)[1]})
    out = pd.DataFrame(rows)
    if len(out):
        out["delta_aic"] = out["aic"] - out["aic"].min()
        out["delta_bic"] = out["bic"] - out["bic"].min()
    if errors is not None and len(out):
        err = errors.rename(columns={"mae": "holdout_mae", "rmse": "holdout_rmse",
                                     "aggregate_error": "holdout_aggregate_error"})
        keep = [c for c in ("holdout_mae", "holdout_rmse", "holdout_aggregate_error") if c in err.columns]
        out = out.merge(err[keep], left_on="model", right_index=True, how="left")
    return out




def fit_spend_model(rfm: pd.DataFrame, **fit_options) -> GammaGamma:
    """Gamma-Gamma on the repeat customers; those with a non-positive mean spend (returns exceeding
    purchases) are left out of the fit and counted in ``n_dropped_``."""
    return GammaGamma(nonpositive="drop", **fit_options).fit(rfm)
