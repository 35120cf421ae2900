"""The CLV report's building blocks: purchase occasions, model fits and tables, CLV per customer.

* :func:`purchase_occasions` — the transaction rows the models see: customer-days that hold only
  returns (negative rows) are not purchases and are left out, and counted;
* :func:`fit_models`, :func:`parameter_table`, :func:`model_comparison` — the transaction models
  fitted side by side, their estimates with 95% intervals, log-likelihood, AIC and BIC; fits at the
  parameter boundary or with a nearly singular Hessian are flagged there (``fit_note``, intervals
  withheld), and :func:`flag_sentences`, :func:`bic_sentence`, :func:`final_fit_note`,
  :func:`prob_alive_sentence` and :func:`intervals_withheld` put the flags into the report's words;
* :func:`expected_spend` and :func:`customer_value` — Gamma-Gamma spend and discounted CLV per
  customer over a horizon, with a yearly discount rate converted per period, a margin (one number
  or one per customer) and explicit churn (customers who closed their account are worth 0);
* :func:`value_by_group`, :func:`region_cac`, :func:`lorenz_curve`, :func:`gini`,
  :func:`top_share`, :func:`value_at_risk` — summaries for the report; groups smaller than
  ``min_group_size`` customers are marked "too few customers" and never ranked first or last
  (:func:`group_ranking_sentence`, :func:`top_group_sentence`, :func:`cac_sentence`);
* :func:`ground_truth_recovery` — on the demo data, the fitted per-segment BG/NBD parameters
  against the generating ones.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.concentration import gini, lorenz_curve, top_share  # noqa: F401  (used by the CLV report)

from .base import WITHHELD, ConvergenceError, fit_flag
from .bgnbd import BetaGeo, ModifiedBetaGeo
from .gammagamma import GammaGamma
from .paretonbd import ParetoNBD
from .summary import rfm_summary
from .units import normalize_unit, period_rate

__all__ = ["TRANSACTION_MODELS", "PurchaseLog", "purchase_occasions", "purchases_until", "fit_models",
           "parameter_table", "first_purchase_amount", "model_comparison", "fit_spend_model", "expected_spend",
           "customer_value", "value_by_group", "region_cac", "lorenz_curve", "gini", "top_share", "value_at_risk",
           "ground_truth_recovery", "ground_truth_files", "explicit_churn", "flag_sentences", "bic_sentence",
           "final_fit_note", "prob_alive_sentence", "intervals_withheld", "group_ranking_sentence",
           "top_group_sentence", "cac_sentence", "alive_caveat", "without_empty_notes", "TOO_FEW", "MIN_GROUP_SIZE"]

#: The transaction models the report compares, by display name.
TRANSACTION_MODELS = {"BG/NBD": BetaGeo, "Pareto/NBD": ParetoNBD, "MBG/NBD": ModifiedBetaGeo}
#: Groups (regions, customer types) with fewer customers than this are not ranked.
MIN_GROUP_SIZE = 30
TOO_FEW = "too few customers"


# ----------------------------------------------------------------------------- purchase occasions
@dataclass
class PurchaseLog:
    """Transactions the models use, and what was left out."""

    transactions: Any                # customer_id, date, amount (and the other columns) kept: a pandas
                                     # frame, or a LazyFrame when the log was one
    rows_in: int
    return_rows: int                 # rows with a negative amount (all of them, kept or not)
    return_only_days: int            # customer-days holding only returns: not purchase occasions
    return_only_value: float         # their (negative) net amount
    net_value: float                 # net amount of the rows kept
    notes: list[str] = field(default_factory=list)

    @property
    def returns_share(self) -> float:
        """Value returned on return-only days as a share of the net value of the purchase days."""
        return float(-self.return_only_value / self.net_value) if self.net_value > 0 else 0.0


def purchase_occasions(transactions: Any) -> PurchaseLog:
    """Leave out customer-days whose rows are all returns (negative amounts), and count them.

    A return is not a purchase: counted as an occasion it would add a "repeat purchase" with
    negative spend. Returns on a day with purchases stay (they net against that day's amount).
    Zero amounts are purchases (free items). Rows without a customer id or date are left out.
    ``transactions`` is a pandas frame or a LazyFrame (e.g. a dataset's ``transaction_log``); the
    engine counts and selects either way. The log's ``transactions`` are the kept rows in the form
    given: a LazyFrame, or the pandas frame's own rows (its columns, types, index and order). The
    return-only customer-days (one row each) come back once, so every later query of the kept rows
    anti-joins that small table.
    """
    from toolkit.engine import collect, drop_customer_days, engine_of, occasion_counts, return_only_days, scan

    lf, frame = _engine_rows(transactions)
    c = collect(occasion_counts(lf)).iloc[0]
    days = scan(collect(return_only_days(lf)), engine_of(lf)) if int(c["return_only_days"]) else None
    log = PurchaseLog(_rows_kept(drop_customer_days(lf, days), frame), int(c["rows_in"]), int(c["return_rows"]),
                      int(c["return_only_days"]), float(c["return_only_value"]), float(c["net_value"]))
    return _with_notes(log, int(c["dropped"]))


_ROW = "_custkit_row"   # a pandas frame's row positions, carried through an engine query


def _engine_rows(transactions: Any) -> tuple[Any, pd.DataFrame | None]:
    """``transactions`` as a LazyFrame (:func:`~toolkit.engine.as_log`) and the pandas frame they came
    from (None for anything else). A frame's rows carry their position in ``_ROW`` and only the
    model's columns are scanned: :func:`_rows_kept` takes the rows a query keeps back out of the frame."""
    from toolkit.engine import as_log

    if isinstance(transactions, pd.DataFrame):
        rows = transactions.assign(**{_ROW: np.arange(len(transactions), dtype=np.int64)})
        return as_log(rows, columns=(_ROW,)), transactions
    return as_log(transactions), None


def _rows_kept(kept: Any, frame: pd.DataFrame | None) -> Any:
    """The rows of the LazyFrame ``kept`` (a query of :func:`_engine_rows`' LazyFrame): as they are,
    or for a pandas ``frame`` its own rows, in their original order."""
    from toolkit.engine import collect

    if frame is None:
        return kept
    return frame.iloc[collect(kept.select(_ROW), sort=[_ROW])[_ROW].to_numpy(np.int64)]


def _with_notes(log: PurchaseLog, dropped: int) -> PurchaseLog:
    n_days = log.return_only_days
    if dropped:
        log.notes.append(f"{dropped:,} rows without a customer id or date were left out")
    if n_days:
        log.notes.append(f"{n_days:,} customer-days held only returns ({-log.return_only_value:,.2f} in value); "
                         "they are not purchase occasions and were left out of the models")
    return log


def purchases_until(transactions: Any, end) -> Any:
    """The rows dated on or before the day ``end``, selected by the engine: a pandas frame (its own
    rows) or a LazyFrame, as given."""
    from toolkit.engine import as_day, day_number

    lf, frame = _engine_rows(transactions)
    return _rows_kept(lf.filter(day_number("date") <= as_day(end)), frame)


# --------------------------------------------------------------------------------- model fitting
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
    given, the holdout errors of :func:`toolkit.clv.holdout.holdout_errors`."""
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


def _where(reason: str) -> str:
    """The flag's reason without the trailing ": intervals withheld" (e.g. "at the no-dropout boundary")."""
    return reason[: -len(": " + WITHHELD)] if reason.endswith(": " + WITHHELD) else reason


def without_empty_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its note columns (interval_note, fit_note, fit_flag; note of value_by_group) when
    they are all empty: on regular data the tables look as they did before the flags existed."""
    cols = [c for c in ("interval_note", "fit_note", "fit_flag", "note") if c in frame.columns
            and not frame[c].astype(str).ne("").any()]
    return frame.drop(columns=cols)


def alive_caveat(model) -> str:
    """" (1 by construction: the fit lets nobody drop out)" for a no-dropout fit, else ""."""
    return " (1 by construction: the fit is at the no-dropout boundary)" if "no-dropout" in fit_flag(model)[1] else ""


def flag_sentences(models: Mapping[str, object]) -> list[str]:
    """One plain sentence per flagged model: what the flag means and that its intervals are withheld."""
    out = []
    for name, m in models.items():
        flag, reason = fit_flag(m)
        if not flag:
            continue
        what = m.diagnostics_.boundary_note if flag == "boundary" and m.diagnostics_.boundary_note else \
            "the likelihood is nearly flat in some direction, so the data cannot pin those parameters down"
        out.append(f"{name} is flagged, {reason}. {what[0].upper() + what[1:]}. The estimates describe that limiting "
                   "case; its standard errors and intervals would suggest a precision the data do not have, so they "
                   "are not shown.")
    return out


def bic_sentence(comparison: pd.DataFrame, tie: float | None = None) -> str:
    """Which model the calibration BIC prefers, with the others' distance, saying when that model is
    flagged and when all log-likelihoods tie (within ``tie``, default the scorecard's LOGLIK_TIE)."""
    from .scorecard import LOGLIK_TIE

    tie = LOGLIK_TIE if tie is None else tie
    best = comparison.sort_values("bic", kind="stable").iloc[0]
    others = ", ".join(f"{r.model} {r.delta_bic:,.1f} BIC points behind" for r in comparison.itertuples()
                       if r.model != best["model"]) or "not available"
    text = (f"By BIC the calibration data are described best by {best['model']} (log-likelihood "
            f"{best['log_likelihood']:,.1f}); the others are {others}.")
    ll = comparison["log_likelihood"]
    if len(comparison) > 1 and ll.max() - ll.min() <= tie:
        text += (f" The log-likelihoods are all within {tie} of each other, so the data do not tell the models apart "
                 "and this order means nothing.")
    note = best.get("fit_note", "") if hasattr(best, "get") else ""
    if note:
        text += f" That fit is flagged ({note})."
    return text


def final_fit_note(name: str, model) -> str:
    """A sentence for the refitted model when its fit is flagged ("" when it is a regular maximum)."""
    flag, reason = fit_flag(model)
    if not flag:
        return ""
    return (f"The {name} fit on all data is flagged ({reason}). The table shows the point estimates only; they "
            "describe a limiting case of the model, not precisely known values.")


def prob_alive_sentence(model, prob_alive: pd.Series) -> str:
    """Mean P(alive) and the share of customers more likely gone, or, for a fit at the no-dropout
    boundary, that P(alive) is 1 by construction (the model lets nobody drop out), not a finding."""
    pa = pd.Series(prob_alive, dtype=float)
    flag, reason = fit_flag(model)
    if flag and "no-dropout" in reason:
        return (f"Mean P(alive) across customers is {pa.mean():.2f}, but only because the fit is at the no-dropout "
                "boundary: the model then lets no customer drop out, so P(alive) is 1 by construction and says "
                "nothing about who is still active. Use recency (time since the last purchase) to judge that instead.")
    text = (f"Mean P(alive) across customers: {pa.mean():.2f}; {(pa < 0.5).sum():,.0f} customers "
            f"({100 * (pa < 0.5).mean():.1f}%) are more likely gone than active (P(alive) below 0.5).")
    if flag:
        text += f" These come from a flagged fit ({reason}): read them with care."
    return text


def intervals_withheld(name: str, model, spend_model=None) -> str:
    """Why the CLV intervals are not computed ("" when both fits are regular): parameter draws from a
    flagged fit would ignore the direction in which the likelihood is flat or bounded."""
    parts = [f"the {name} fit is {_where(fit_flag(model)[1])}"] if fit_flag(model)[0] else []
    if spend_model is not None and fit_flag(spend_model)[0]:
        parts.append(f"the Gamma-Gamma fit is {_where(fit_flag(spend_model)[1])}")
    if not parts:
        return ""
    return ("No intervals are given for the values: " + " and ".join(parts) + ". Intervals from parameter draws "
            "would leave out the uncertainty along the boundary and look far more precise than the data allow.")


# ------------------------------------------------------------------------------------ spend & CLV
def fit_spend_model(rfm: pd.DataFrame, **fit_options) -> GammaGamma:
    """Gamma-Gamma on the repeat customers; those with a non-positive mean spend (returns exceeding
    purchases) are left out of the fit and counted in ``n_dropped_``."""
    return GammaGamma(nonpositive="drop", **fit_options).fit(rfm)


def first_purchase_amount(transactions: Any, observation_end=None) -> pd.Series:
    """Net amount of each customer's first purchase day (up to ``observation_end``), summed by the
    engine; ``transactions`` is a pandas frame (the result then has its id and amount types) or a
    LazyFrame."""
    from toolkit.engine import as_day, as_log, collect, first_day_amount

    last_d = as_day(observation_end) if observation_end is not None else None
    got = collect(first_day_amount(as_log(transactions), last_d))
    ids, amounts = got["customer_id"].astype(object).to_numpy(), got["amount"].astype(float)
    if isinstance(transactions, pd.DataFrame):   # the types a group-by of the frame gives (integer sums are exact)
        ids = got["customer_id"].astype(transactions["customer_id"].dtype).infer_objects()
        amounts = amounts.astype(transactions["amount"].dtype)
    out = pd.Series(amounts.to_numpy(), index=pd.Index(ids, name="customer_id"), name="first_amount")
    return out.sort_index(kind="stable")


def expected_spend(spend_model: GammaGamma, rfm: pd.DataFrame,
                   first_amount: pd.Series | None = None) -> tuple[pd.Series, dict]:
    """Expected spend per future transaction for every customer, with what needed special handling.

    * a repeat customer with a non-positive mean spend is treated as mean spend 0 (the estimate
      shrinks towards 0 the more such transactions there are) — counted in ``nonpositive``;
    * when the model's population mean is infinite (q <= 1: very unequal spend between customers)
      the Gamma-Gamma expectation does not exist for customers without repeat purchases. They
      are then updated with their first purchase as if it were one transaction of the spend
      process, ``p (gamma + z) / (p + q - 1)`` with ``z`` = first amount (clipped at 0), when
      ``first_amount`` is given and ``p + q > 1``; otherwise they get the observed mean spend per
      repeat transaction — counted in ``fallback``.
    """
    p, q, g = spend_model.params_[["p", "q", "gamma"]].to_numpy(float)
    x = rfm["frequency"].to_numpy(float)
    m = rfm["monetary_value"].to_numpy(float)
    nonpos = (x > 0) & ~(m > 0)
    m = np.where((x > 0) & (m > 0), m, 0.0)
    denom = p * x + q - 1
    ok = denom > 0
    value = np.where(ok, p * (g + m * x) / np.where(ok, denom, 1.0), np.nan)
    rep = (x > 0) & (m > 0)
    observed_mean = float((x[rep] * m[rep]).sum() / x[rep].sum()) if rep.any() else float("nan")
    how = "none"
    if not ok.all():
        if first_amount is not None and p + q > 1:
            z = np.clip(first_amount.reindex(rfm.index).to_numpy(float), 0, None)
            alt = np.where(np.isnan(z), observed_mean, p * (g + np.nan_to_num(z)) / (p + q - 1))
            how = "first purchase"
        else:
            alt = np.full(len(x), observed_mean)
            how = "observed mean"
        value = np.where(ok, value, alt)
    notes = {"nonpositive": int(nonpos.sum()), "fallback": int((~ok).sum()), "fallback_basis": how,
             "observed_mean": observed_mean, "population_mean": float(spend_model.mean_value_)}
    return pd.Series(value, index=rfm.index, name="expected_spend"), notes


def customer_value(rfm: pd.DataFrame, model, spend_model: GammaGamma, horizon: int = 12,
                   discount_rate: float = 0.10, margin: float | pd.Series = 0.3, horizon_unit: str = "M",
                   returns_factor: float = 1.0, churned: pd.Series | None = None,
                   first_amount: pd.Series | None = None, method: str = "horizon") -> pd.DataFrame:
    """CLV per customer (one row per row of ``rfm``).

    ``method="horizon"``: over ``horizon`` periods of ``horizon_unit`` (day, week, month, quarter,
    year); ``discount_rate`` is per year, converted to the period (``(1 + d) ** (1 / periods a
    year) - 1``) and each period's purchases are discounted at its end. ``method="dert"``: all
    future purchases, continuously discounted at the same yearly rate (discounted expected residual
    transactions, :func:`toolkit.clv.cashflow.dert`); ``horizon`` is then not used.
    ``margin`` is one number or a Series per customer id. ``returns_factor`` scales spend for
    returns made on later days (1 - returns share). Customers flagged in ``churned`` (explicit
    churn, e.g. a closed account) get P(alive) 0 and CLV 0. Columns: frequency, recency, T,
    monetary_value, prob_alive, expected_purchases (over the horizon, undiscounted; with DERT the
    discounted expected purchases), expected_spend, margin, clv, clv_if_alive (CLV / P(alive)).
    """
    from .cashflow import dert, period_purchases

    unit = rfm.attrs.get("time_unit") or getattr(model, "time_unit_", None)
    if unit is None:
        raise ValueError("the summary's time unit is unknown (rfm.attrs['time_unit'])")
    hu = normalize_unit(horizon_unit)
    if method == "horizon":
        inc = period_purchases(model, rfm, horizon, hu)
        H = inc.shape[0]
        disc = (1.0 + period_rate(discount_rate, hu)) ** -np.arange(1, H + 1, dtype=float)
        units = (disc[:, None] * inc).sum(axis=0)
        purchases = inc.sum(axis=0)
    elif method == "dert":
        units = dert(model, rfm, discount_rate)
        purchases = units
        H = None
    else:
        raise ValueError("method must be 'horizon' or 'dert'")
    spend, notes = expected_spend(spend_model, rfm, first_amount)
    if isinstance(margin, pd.Series):
        mg = margin.reindex(rfm.index).astype(float)
        if mg.isna().any():
            raise ValueError(f"no margin for {int(mg.isna().sum())} customers")
        mg = mg.to_numpy()
    else:
        mg = np.full(len(rfm), float(margin))
    pa = np.asarray(model.prob_alive(rfm), float)
    clv = mg * spend.to_numpy() * float(returns_factor) * units
    out = pd.DataFrame({"frequency": rfm["frequency"].to_numpy(float), "recency": rfm["recency"].to_numpy(float),
                        "T": rfm["T"].to_numpy(float), "monetary_value": rfm["monetary_value"].to_numpy(float),
                        "prob_alive": pa, "expected_purchases": purchases, "expected_spend": spend.to_numpy(),
                        "margin": mg, "clv": clv}, index=rfm.index)
    if churned is not None:
        gone = churned.reindex(rfm.index).fillna(False).astype(bool).to_numpy()
        out.loc[gone, ["prob_alive", "expected_purchases", "clv"]] = 0.0
        out["explicitly_churned"] = gone
    with np.errstate(divide="ignore", invalid="ignore"):
        out["clv_if_alive"] = np.where(out["prob_alive"] > 0, out["clv"] / out["prob_alive"], 0.0)
    out.attrs.update({"method": method, "horizon": H, "horizon_unit": hu,
                      "discount_rate_yearly": float(discount_rate),
                      "discount_rate_period": period_rate(discount_rate, hu), "time_unit": unit,
                      "spend_notes": notes})
    return out


def explicit_churn(customers: pd.DataFrame | None, observation_end) -> pd.Series | None:
    """True for customers whose ``churn_date`` is on or before ``observation_end`` (None without data)."""
    if customers is None or "churn_date" not in customers.columns or customers["churn_date"].isna().all():
        return None
    cd = pd.to_datetime(customers["churn_date"])
    flag = cd.notna() & (cd <= pd.Timestamp(observation_end))
    return pd.Series(flag.to_numpy(), index=customers["customer_id"].to_numpy(), name="churned")


# -------------------------------------------------------------------------------------- summaries
def value_by_group(table: pd.DataFrame, groups: pd.Series, cac: pd.Series | None = None,
                   name: str = "group", min_group_size: int | None = None) -> pd.DataFrame:
    """Customers, mean / median / total CLV, share of total CLV, mean P(alive) per group, and
    with ``cac`` (per group) the CAC and the ratio mean CLV / CAC. With ``min_group_size`` a
    ``note`` column says "too few customers" for groups smaller than that (they are not ranked)."""
    grp = groups.reindex(table.index).astype(object).fillna("unknown").astype(str)
    g = table.groupby(grp.to_numpy())
    out = pd.DataFrame({"customers": g.size(), "mean_clv": g["clv"].mean(), "median_clv": g["clv"].median(),
                        "total_clv": g["clv"].sum(), "mean_prob_alive": g["prob_alive"].mean()})
    total = out["total_clv"].sum()
    out["clv_share"] = out["total_clv"] / total if total else np.nan
    if cac is not None:
        out["cac"] = cac.reindex(out.index).astype(float)
        out["clv_cac"] = out["mean_clv"] / out["cac"]
    out.index.name = name
    if min_group_size is not None:
        out["note"] = np.where(out["customers"] < min_group_size, TOO_FEW, "")
    return out.sort_values("total_clv", ascending=False).reset_index()


def _rankable(by_group: pd.DataFrame, min_group_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    big = by_group["customers"] >= min_group_size
    return by_group.loc[big], by_group.loc[~big]


def _small_text(small: pd.DataFrame, name: str, min_group_size: int) -> str:
    if small.empty:
        return ""
    listed = ", ".join(f"{g} ({n:,})" for g, n in zip(small[name].astype(str), small["customers"]))
    return (f" {len(small)} {'group has' if len(small) == 1 else 'groups have'} fewer than {min_group_size} customers "
            f"({listed}): shown as {TOO_FEW} and not ranked.")


def group_ranking_sentence(by_group: pd.DataFrame, name: str, currency: str,
                           min_group_size: int = MIN_GROUP_SIZE, label: str | None = None) -> str:
    """"Mean CLV is highest in A (...) and lowest in B (...)" over the groups with at least
    ``min_group_size`` customers; smaller groups are named as too few customers and never ranked."""
    label = label or name.replace("_", " ")
    big, small = _rankable(by_group, min_group_size)
    tail = _small_text(small, name, min_group_size)
    if len(big) < 2:
        only = f"only {big[name].iloc[0]} has" if len(big) == 1 else f"no {label} has"
        return f"Mean CLV is not ranked by {label}: {only} {min_group_size} or more customers." + tail
    top = big.sort_values("mean_clv", ascending=False, kind="stable").iloc[0]
    low = big.sort_values("mean_clv", kind="stable").iloc[0]
    return (f"Mean CLV is highest in {top[name]} ({top['mean_clv']:,.0f} {currency}) and lowest in {low[name]} "
            f"({low['mean_clv']:,.0f} {currency})" + (f" among the {label}s with at least {min_group_size} customers."
                                                     if len(small) else ".") + tail)


def top_group_sentence(by_group: pd.DataFrame, name: str, currency: str,
                       min_group_size: int = MIN_GROUP_SIZE) -> str:
    """The group holding the largest share of total CLV among those with ``min_group_size`` customers."""
    big, small = _rankable(by_group, min_group_size)
    tail = _small_text(small, name, min_group_size)
    if big.empty:
        return f"No {name.replace('_', ' ')} has {min_group_size} or more customers, so none is singled out." + tail
    t = big.sort_values("total_clv", ascending=False, kind="stable").iloc[0]
    return (f"{t[name]} customers hold {100 * t['clv_share']:.1f}% of total CLV with a mean of "
            f"{t['mean_clv']:,.0f} {currency}." + tail)


def cac_sentence(by_group: pd.DataFrame, horizon: int, min_group_size: int = MIN_GROUP_SIZE,
                 name: str = "region") -> str:
    """The range of mean CLV / CAC over the groups with ``min_group_size`` customers, and those below 1."""
    big, small = _rankable(by_group.loc[by_group["clv_cac"].notna()], min_group_size)
    if big.empty:
        return (f"CAC is the acquisition spend per customer won over the whole period; no {name} has "
                f"{min_group_size} or more customers, so CLV / CAC is not compared.")
    weak = big.loc[big["clv_cac"] < 1, name].astype(str).tolist()
    text = (f"CAC is the acquisition spend per customer won over the whole period. Mean {horizon}-month CLV / CAC "
            f"ranges from {big['clv_cac'].min():.2f} to {big['clv_cac'].max():.2f}")
    text += (f"; in {', '.join(weak)} the next {horizon} months of margin do not pay back what winning a customer costs"
             if weak else f"; every {name}'s customers earn back their acquisition cost within the horizon")
    if len(small):
        text += f" ({name}s with fewer than {min_group_size} customers left out: {', '.join(small[name].astype(str))})"
    return text + "."


def region_cac(marketing_spend: pd.DataFrame | None, customers: pd.DataFrame | None) -> pd.Series | None:
    """Acquisition spend / customers acquired per region over all periods (None without the data)."""
    if marketing_spend is None or customers is None:
        return None
    if not {"region", "acquisition_date"} <= set(customers.columns) or customers["acquisition_date"].isna().all():
        return None
    spend = marketing_spend.groupby(marketing_spend["region"].astype(str))["spend"].sum()
    won = customers.loc[customers["acquisition_date"].notna()]
    new = won.groupby(won["region"].astype(str))["customer_id"].nunique()
    out = (spend / new.reindex(spend.index)).where(new.reindex(spend.index) > 0)
    out.name = "cac"
    return out


def value_at_risk(table: pd.DataFrame, top: float = 0.2, max_prob_alive: float = 0.5) -> pd.DataFrame:
    """Valuable customers who may have lapsed: in the top ``top`` by CLV if still active
    (``clv_if_alive``) with P(alive) below ``max_prob_alive``, most value at risk first.

    ``value_at_risk`` = clv_if_alive - clv = clv_if_alive x (1 - P(alive)): what is lost if they
    have indeed left.
    """
    t = table.loc[table["prob_alive"] > 0]
    if t.empty:
        return t.assign(value_at_risk=[])
    cut = t["clv_if_alive"].quantile(1 - top)
    risk = t.loc[(t["clv_if_alive"] >= cut) & (t["prob_alive"] < max_prob_alive)].copy()
    risk["value_at_risk"] = risk["clv_if_alive"] - risk["clv"]
    return risk.sort_values("value_at_risk", ascending=False)


# ---------------------------------------------------------------------------- demo ground truth
def ground_truth_files(transactions_path: str | Path | None) -> tuple[Path, Path] | None:
    """``ground_truth.json`` and ``truth_customers.csv`` next to the transactions file, if both exist."""
    if transactions_path is None:
        return None
    folder = Path(transactions_path).parent
    gt, tc = folder / "ground_truth.json", folder / "truth_customers.csv"
    return (gt, tc) if gt.exists() and tc.exists() else None


def ground_truth_recovery(transactions: Any, observation_end, files: tuple[Path, Path],
                          customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-segment BG/NBD fits on the customers without explicit churn, against the generating
    parameters (weekly units, as the ground truth); ``transactions`` is anything
    :func:`~toolkit.clv.rfm_summary` accepts. One row per segment and parameter:
    ``truth``, ``estimate``, ``ci_lower``, ``ci_upper``, ``covered``, ``customers``; a segment
    whose fit finds no maximum gets NaN estimates and the reason in ``note``, a flagged fit (at the
    boundary, intervals withheld) its estimates, NaN intervals and the flag in ``note``.
    """
    gt_path, tc_path = files
    truth = json.loads(Path(gt_path).read_text(encoding="utf-8"))
    segs = {k: v["bgnbd"] for k, v in truth.get("segments", {}).items() if "bgnbd" in v}
    tc = pd.read_csv(tc_path, dtype={"customer_id": str})
    segment = tc.set_index("customer_id")["segment"]
    if customers is not None and "churn_date" in customers.columns:
        churned = set(customers.loc[customers["churn_date"].notna(), "customer_id"].astype(str))
    else:
        churned = set(tc.loc[tc["churn_date_explicit"].notna(), "customer_id"].astype(str))
    rfm = rfm_summary(transactions, observation_end, None, "W")
    ids = rfm.index.astype(str)
    seg = segment.reindex(ids).to_numpy()
    keep = ~np.isin(ids, list(churned))
    rows = []
    for name, params in segs.items():
        sub = rfm.loc[(seg == name) & keep]
        base = {"segment": name, "customers": len(sub)}
        try:
            m = BetaGeo().fit(sub)
            ci = m.confidence_intervals_
            for par, true in params.items():
                lo, hi = float(ci.loc[par, "lower"]), float(ci.loc[par, "upper"])
                rows.append({**base, "parameter": par, "truth": float(true), "estimate": float(m.params_[par]),
                             "ci_lower": lo, "ci_upper": hi, "covered": bool(lo <= true <= hi),
                             "note": fit_flag(m)[1]})
        except (ConvergenceError, ValueError) as exc:
            for par, true in params.items():
                rows.append({**base, "parameter": par, "truth": float(true), "estimate": np.nan, "ci_lower": np.nan,
                             "ci_upper": np.nan, "covered": False, "note": str(exc)})
    return pd.DataFrame(rows, columns=["segment", "parameter", "customers", "truth", "estimate", "ci_lower",
                                       "ci_upper", "covered", "note"])
