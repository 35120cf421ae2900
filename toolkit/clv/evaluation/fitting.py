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

from typing import Mapping, Sequence

import pandas as pd

from toolkit.clv.models.base import ConvergenceError, fit_flag
from toolkit.clv.models.bgnbd import BetaGeo, ModifiedBetaGeo
from toolkit.clv.models.gammagamma import GammaGamma
from toolkit.clv.models.paretonbd import ParetoNBD

__all__ = ["TRANSACTION_MODELS", "fit_models", "parameter_table", "model_comparison", "fit_spend_model"]

#: The transaction models the CLV report compares, by display name.
TRANSACTION_MODELS = {"BG/NBD": BetaGeo, "Pareto/NBD": ParetoNBD, "MBG/NBD": ModifiedBetaGeo}


def fit_models(rfm: pd.DataFrame, names: Sequence[str] | None = None,
               **fit_options) -> tuple[dict[str, object], dict[str, str]]:
    """Fit each transaction model (default: all of :data:`TRANSACTION_MODELS`).

    Returns the fitted models by name and, for the ones without a maximum, the error message (a
    failed fit is reported, never silently dropped).
    """
    fitted, failed = {}, {}
    for name in names or TRANSACTION_MODELS:
        try:
            fitted[name] = TRANSACTION_MODELS[name](**fit_options).fit(rfm)
        except (ConvergenceError, ValueError, FloatingPointError) as exc:
            failed[name] = str(exc)
    return fitted, failed


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
