"""Calibration / holdout validation of the transaction models.

The models are fitted on the calibration period (up to ``calibration_end``) and judged on the
holdout period ``(calibration_end, observation_end]`` that they have not seen:

* :func:`tracking_series` — cumulative repeat transactions of the calibration cohort over calendar
  time, actual against ``sum_i E[X(t - t_i)]`` where ``t_i`` is customer i's first purchase (the
  tracking plot of Fader, Hardie & Lee 2005); the same unconditional expectation runs through both
  periods, so the holdout part is an out-of-sample check of the whole cohort's purchasing;
* :func:`holdout_predictions` — per customer, the conditional expectation ``E[Y(t) | x, t_x, T]``
  of holdout purchases, ``t`` = holdout length;
* :func:`holdout_by_frequency` — actual and predicted mean holdout purchases by the number of
  calibration repeat purchases (0, 1, ..., ``max_frequency``+);
* :func:`holdout_errors` — per-customer mean absolute and root mean squared errors and the
  aggregate percentage error of the holdout total.

A purchase occasion is a customer-day, as in :func:`toolkit.clv.rfm_summary`; "repeat" means every
occasion after the customer's first.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from toolkit.engine.core import day_to_date

from toolkit.clv.summary import unit_days

__all__ = ["default_calibration_end", "tracking_series", "holdout_predictions", "holdout_by_frequency",
           "holdout_errors"]

def default_calibration_end(first_date, observation_end, holdout_weeks: float = 26,
                            max_share: float = 1 / 3) -> pd.Timestamp:
    """``observation_end`` minus a holdout of ``holdout_weeks`` weeks, shortened to at most
    ``max_share`` of the span from ``first_date`` (the first transaction) to ``observation_end``."""
    first, obs = pd.Timestamp(first_date).normalize(), pd.Timestamp(observation_end).normalize()
    span = (obs - first).days
    if span < 3:
        raise ValueError(f"the data span only {span} days: too short for a calibration and a holdout period")
    days = int(min(round(holdout_weeks * 7), np.floor(span * max_share)))
    return obs - pd.Timedelta(days=max(days, 1))


def _model_unit(model, time_unit: str | None) -> str:
    unit = getattr(model, "time_unit_", None) or time_unit
    if unit is None:
        raise ValueError("the model's time unit is unknown: pass time_unit")
    return unit


def tracking_series(transactions: Any, models: Mapping[str, object], calibration_end,
                    observation_end, time_unit: str | None = None, step_days: int = 7,
                    engine: str | None = None) -> pd.DataFrame:
    """Cumulative repeat transactions of the calibration cohort, actual and expected per model.

    The cohort is every customer whose first occasion is on or before ``calibration_end``. Points
    are every ``step_days`` days, anchored at ``calibration_end`` (so one point is the end of the
    calibration period), from the first step after the cohort's first purchase to
    ``observation_end`` (always included). Returns a frame indexed by ``period_end`` with columns
    ``period`` ("calibration" / "holdout"), ``actual`` and one column per model, all cumulative
    counts at the end of the day ``period_end``; ``.diff()`` gives the counts per step. Models are
    fitted models with ``expected_purchases(t)``; their time unit is ``model.time_unit_`` (or
    ``time_unit``). ``transactions`` is a pandas frame or a LazyFrame (counted by its engine).
    """
    from toolkit.engine import as_day, as_log, collect, tracking_counts
    cal_d, obs_d = as_day(calibration_end), as_day(observation_end)
    if cal_d > obs_d:
        raise ValueError("calibration_end must not be after observation_end")
    per_day = collect(tracking_counts(as_log(transactions, engine, columns=()), cal_d, obs_d), sort=["d"])
    if per_day.empty or per_day["first"].sum() == 0:
        raise ValueError("no customer made a first purchase by calibration_end")
    days = per_day["d"].to_numpy(np.int64)
    n_first = per_day["first"].to_numpy(float)
    day0 = int(days[n_first > 0].min())
    step = int(step_days)
    back = np.arange(cal_d, day0, -step)[::-1]                       # ... cal_d - step, cal_d (> day0)
    fwd = np.arange(cal_d + step, obs_d + 1, step)
    grid = np.concatenate([back, fwd]).astype(np.int64)
    if len(grid) == 0 or grid[-1] < obs_d:
        grid = np.append(grid, obs_d)
    out = pd.DataFrame(index=pd.DatetimeIndex([day_to_date(d) for d in grid], name="period_end"))
    out["period"] = np.where(grid <= cal_d, "calibration", "holdout")
    cum_repeats = np.concatenate([[0.0], np.cumsum(per_day["repeat"].to_numpy(float))])
    out["actual"] = cum_repeats[np.searchsorted(days, grid, side="right")]
    # expected(c) = sum over first days f <= c of n_f E[X((c - f) / unit)]: a convolution over days
    n_days = obs_d - day0 + 1
    counts = np.bincount(days - day0, weights=n_first, minlength=n_days)
    ages = np.arange(n_days, dtype=float)
    for name, model in models.items():
        ex = np.asarray(model.expected_purchases(ages / unit_days(_model_unit(model, time_unit))), float)
        cum = np.convolve(counts, ex)[:n_days]
        out[name] = cum[grid - day0]
    out.attrs.update({"calibration_end": str(day_to_date(cal_d).date()),
                      "observation_end": str(day_to_date(obs_d).date()),
                      "cohort": int(n_first.sum()), "step_days": step})
    return out


def holdout_predictions(rfm: pd.DataFrame, models: Mapping[str, object] | pd.DataFrame) -> pd.DataFrame:
    """Expected holdout purchases per customer (rows as ``rfm``), one column per model.

    ``rfm`` is an :func:`~toolkit.clv.rfm_summary` with ``calibration_end`` (it carries
    ``duration_holdout``); a DataFrame of predictions is passed through (aligned to ``rfm``).
    """
    if isinstance(models, pd.DataFrame):
        return models.reindex(rfm.index)
    if "duration_holdout" not in rfm.columns:
        raise ValueError("rfm has no holdout period: summarise with calibration_end")
    t = rfm["duration_holdout"].to_numpy(float)
    return pd.DataFrame({name: np.asarray(m.conditional_expected_purchases(t, rfm), float)
                         for name, m in models.items()}, index=rfm.index)


def holdout_by_frequency(rfm: pd.DataFrame, models: Mapping[str, object] | pd.DataFrame,
                         max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per customer, by calibration repeat purchases.

    Rows ``0, 1, ..., max_frequency-1`` and ``"{max_frequency}+"``; columns ``customers``,
    ``actual`` and one per model (means per customer).
    """
    pred = holdout_predictions(rfm, models)
    x = rfm["frequency"].to_numpy(float)
    band = np.minimum(x, max_frequency).astype(int)
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    frame = pred.assign(actual=rfm["frequency_holdout"].to_numpy(float), customers=1.0)
    g = frame.groupby(pd.Categorical.from_codes(band, labels), observed=False)
    out = g[["actual", *pred.columns]].mean()
    out.insert(0, "customers", g["customers"].sum().astype(int))
    out.index.name = "calibration_frequency"
    return out


def holdout_errors(rfm: pd.DataFrame, models: Mapping[str, object] | pd.DataFrame) -> pd.DataFrame:
    """Per-customer holdout errors of each model's purchase forecast.

    Columns: ``mae`` and ``rmse`` (purchases per customer), ``actual`` and ``predicted`` (holdout
    totals) and ``aggregate_error`` = predicted / actual - 1.
    """
    pred = holdout_predictions(rfm, models)
    actual = rfm["frequency_holdout"].to_numpy(float)
    rows = {}
    for name in pred.columns:
        err = pred[name].to_numpy(float) - actual
        tot = float(actual.sum())
        rows[name] = {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
                      "actual": tot, "predicted": float(pred[name].sum()),
                      "aggregate_error": float(pred[name].sum()) / tot - 1 if tot > 0 else float("nan")}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "model"
    return out
