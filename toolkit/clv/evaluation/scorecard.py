"""Holdout scorecard: every fitted transaction model judged on the holdout period, ranked, one recommended.

``holdout_scorecard(rfm, models, spend=..., transactions=...)`` evaluates each model on the
customers of an :func:`~toolkit.clv.rfm_summary` with ``calibration_end`` (so it carries the
holdout columns):

* per-customer **MAE** and **RMSE** of holdout purchases (``E[Y(t) | x, t_x, T]``, t = holdout
  length) and of holdout spend (expected purchases x expected spend per transaction, against the
  customer's actual holdout revenue = ``frequency_holdout x monetary_value_holdout``);
* the **aggregate percentage error** of the holdout totals (predicted / actual - 1);
* **Brier score** and **reliability curve** of the probability of holdout activity (any purchase
  in the holdout) against what happened. Two probabilities are scored: ``P(active)``, the model's
  probability of at least one purchase in the holdout, which is the calibrated forecast of that
  event, and ``P(alive)`` at the end of calibration, which is not (an alive customer may still not
  buy within a finite holdout) and is shown because it is the figure people use;
* **decile lift**: customers ranked by expected holdout purchases in ten equal groups; lift = the
  group's mean actual purchases / the overall mean (top-decile lift is the headline);
* **cumulative tracking**: from :func:`toolkit.clv.evaluation.holdout.tracking_series` (when the
  transactions are given), the mean absolute percentage error of the cumulative holdout purchases
  over the holdout weeks.

Models are ranked on each criterion (1 = best; ties share the mean rank) and recommended by mean
rank, ties broken by calibration BIC. :attr:`Scorecard.reason` says why in words.

Flagged fits (:func:`toolkit.clv.models.base.fit_flag`: a maximum at the boundary of the parameter range,
such as "no dropout", or a nearly singular Hessian) are marked in ``fit_flag`` / ``fit_note``.
Among models that are practically as good a regular fit is preferred to a flagged one, and the
reason says so; a flagged model that is recommended is named as such. When every model is
flagged, or the calibration log-likelihoods of all models lie within :data:`LOGLIK_TIE` of each
other, the data do not separate the models: :attr:`Scorecard.caveat` says so and names the rule
that made the choice.

P(active) for a customer alive at T with purchase rate lambda: BG/NBD and MBG/NBD (dropout only at
purchases) ``P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x))``; Pareto/NBD, with lifetime rate mu,
``P(alive) (1 - E[e^-(lambda+mu)t + mu/(lambda+mu) (1 - e^-(lambda+mu)t)])`` under the posterior
``lambda ~ Gamma(r+x, alpha+T)``, ``mu ~ Gamma(s, beta+T)``, which is
``A(t) B(t) + int_0^t s (beta+T)^s / (beta+T+u)^(s+1) A(u) du`` with ``A(u) = ((alpha+T)/(alpha+T+u))^(r+x)``,
``B(u) = ((beta+T)/(beta+T+u))^s`` (Gauss-Legendre on geometric panels).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from toolkit.clv.models.base import customer_arrays, fit_flag, unique_rows
from toolkit.clv.models.bgnbd import BetaGeo
from toolkit.clv.evaluation.holdout import holdout_predictions, tracking_series
from toolkit.clv.models.paretonbd import ParetoNBD

__all__ = ["Scorecard", "holdout_scorecard", "prob_active", "brier_score", "reliability_table",
           "lift_table", "tolerant_rank", "CRITERIA", "EQUIVALENT_MEAN_RANK", "LOGLIK_TIE", "CHOICE_RULE"]

#: Ranking criteria: column of :attr:`Scorecard.metrics`, label, whether lower is better, and the
#: difference below which two models count as equally good ("rel": share of the better value,
#: "abs": absolute, for criteria that are themselves shares).
CRITERIA = {
    "mae_purchases": ("per-customer MAE of purchases", True, ("rel", 0.02)),
    "rmse_purchases": ("per-customer RMSE of purchases", True, ("rel", 0.02)),
    "abs_aggregate_error": ("error of the total holdout purchases", True, ("abs", 0.01)),
    "mae_spend": ("per-customer MAE of spend", True, ("rel", 0.02)),
    "brier_active": ("Brier score of P(active)", True, ("rel", 0.02)),
    "top_decile_lift": ("top-decile lift", False, ("rel", 0.02)),
    "tracking_mape": ("cumulative tracking error", True, ("abs", 0.01)),
}
#: Models whose mean rank is within this of the best count as equally good; among them the one
#: with the lowest calibration BIC is recommended.
EQUIVALENT_MEAN_RANK = 0.5
#: Calibration log-likelihoods within this of each other count as tied (a likelihood-ratio of
#: e^0.5 ~ 1.6, far below any test's threshold: the data do not tell the models apart).
LOGLIK_TIE = 0.5
#: The recommendation rule, in words.
CHOICE_RULE = (f"the best mean rank over the holdout criteria; models within {EQUIVALENT_MEAN_RANK} of it count as "
               "equally good, and among them a regular fit is preferred to a flagged one, then the lowest calibration "
               "BIC, then the order in which the models were given")


def tolerant_rank(values: pd.Series, lower_is_better: bool = True, tolerance: tuple[str, float] = ("rel", 0.02)) -> pd.Series:
    """1 + the number of models better by more than the tolerance (equal within it share a rank)."""
    v = values.to_numpy(float)
    kind, tol = tolerance
    out = []
    for x in v:
        margin = tol * abs(x) if kind == "rel" else tol
        better = (v < x - margin) if lower_is_better else (v > x + margin)
        out.append(1 + int(better.sum()))
    return pd.Series(out, index=values.index, dtype=float)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_PANELS = np.array([0.0, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0])


def _pareto_no_purchase_if_alive(model: ParetoNBD, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(no purchase in (T, T+t] | alive at T, x, T) under Pareto/NBD (vectorised over rows)."""
    r, alpha, s, beta = model._theta()
    aT, bT, rx = alpha + T, beta + T, r + x
    lo, hi = _PANELS[:-1], _PANELS[1:]
    frac = ((hi - lo)[:, None] * (_GL_X[None, :] + 1) / 2 + lo[:, None]).ravel()      # nodes in [0, 1]
    wts = ((hi - lo)[:, None] * _GL_W[None, :] / 2).ravel()
    u = t[:, None] * frac[None, :]
    log_A = -rx[:, None] * np.log1p(u / aT[:, None])
    log_dens = np.log(s) + s * np.log(bT)[:, None] - (s + 1) * np.log(bT[:, None] + u)
    integral = (np.exp(log_A + log_dens) * wts[None, :]).sum(axis=1) * t
    ends = np.exp(-rx * np.log1p(t / aT) - s * np.log1p(t / bT))
    return np.clip(ends + integral, 0.0, 1.0)


def prob_active(model, t, frequency, recency=None, T=None) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | x, t_x, T) for BG/NBD, MBG/NBD, Pareto/NBD (closed form and
    quadrature, see the module docstring) and GGompertz/NBD (one minus its probability of no purchase)."""
    x, tx, T_ = customer_arrays(frequency, recency, T)
    t = np.broadcast_to(np.asarray(t, float), x.shape).astype(float)
    pa = np.asarray(model.prob_alive(x, tx, T_), float)
    if isinstance(model, BetaGeo):
        r, alpha, _, _ = model._theta()
        none = np.exp(-(r + x) * np.log1p(t / (alpha + T_)))
    elif isinstance(model, ParetoNBD):
        (xu, Tu, tu), inv = unique_rows(x, T_, t)
        none = _pareto_no_purchase_if_alive(model, tu, xu, Tu)[inv]
    elif hasattr(model, "conditional_probability_of_n_purchases_up_to_time"):
        # any other model with count probabilities (GGompertz/NBD): 1 - P(no purchase in (T, T + t])
        (xu, txu, Tu, tu), inv = unique_rows(x, tx, T_, t)
        p0 = model.conditional_probability_of_n_purchases_up_to_time(0, tu, xu, txu, Tu)[inv]
        return np.clip(1.0 - p0, 0.0, 1.0)
    else:
        raise TypeError(f"P(active) is not available for {type(model).__name__}")
    return pa * (1.0 - none)


def brier_score(prob: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared difference between predicted probabilities and 0/1 outcomes (lower is better)."""
    p, y = np.asarray(prob, float), np.asarray(outcome, float)
    return float(np.mean((p - y) ** 2))


def reliability_table(prob: np.ndarray, outcome: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Customers, mean predicted probability and observed share per equal-width probability bin
    (empty bins left out)."""
    p, y = np.asarray(prob, float), np.asarray(outcome, float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": idx, "p": p, "y": y})
    g = frame.groupby("bin")
    out = pd.DataFrame({"customers": g.size(), "mean_predicted": g["p"].mean(), "observed_share": g["y"].mean()})
    out.index = [f"{i / bins:.2f}-{(i + 1) / bins:.2f}" for i in out.index]
    out.index.name = "probability_bin"
    return out


def lift_table(predicted: np.ndarray, actual: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Customers ranked by predicted value (highest first, ties by position) in ``groups`` equal
    groups: customers, mean predicted, mean actual, share of all actual, lift = mean actual / overall
    mean actual, and the cumulative share of actual (gains)."""
    pred, act = np.asarray(predicted, float), np.asarray(actual, float)
    order = np.argsort(-pred, kind="stable")
    n = len(pred)
    decile = np.empty(n, dtype=int)
    decile[order] = np.arange(n) * groups // n + 1
    frame = pd.DataFrame({"decile": decile, "pred": pred, "act": act})
    g = frame.groupby("decile")
    total, mean = act.sum(), act.mean()
    out = pd.DataFrame({"customers": g.size(), "mean_predicted": g["pred"].mean(), "mean_actual": g["act"].mean()})
    out["share_of_actual"] = g["act"].sum() / total if total else np.nan
    out["lift"] = out["mean_actual"] / mean if mean else np.nan
    out["cumulative_share"] = out["share_of_actual"].cumsum()
    return out


@dataclass
class Scorecard:
    """Holdout evaluation of several models (see the module docstring)."""

    metrics: pd.DataFrame                 # one row per model, the criteria and their ranks
    reliability: pd.DataFrame             # model, probability, bin, customers, mean_predicted, observed_share
    lift: pd.DataFrame                    # model, decile, customers, mean_predicted, mean_actual, ...
    predictions: pd.DataFrame             # per customer: actual purchases / spend / activity and each model's
    tracking: pd.DataFrame | None = None
    recommended: str = ""
    reason: str = ""
    criteria: list[str] = field(default_factory=list)
    caveat: str = ""                      # set when the data do not separate the models (all flagged, or tied)
    flags: dict[str, str] = field(default_factory=dict)   # model -> why its fit is flagged (flagged ones only)

    def ranking(self) -> pd.DataFrame:
        """Rank per criterion and the mean rank, best model first."""
        cols = [f"rank_{c}" for c in self.criteria] + ["mean_rank"]
        return self.metrics[cols].sort_values("mean_rank")


def _tracking_mape(track: pd.DataFrame, models) -> dict[str, float]:
    hold = track.loc[track["period"] == "holdout"]
    cal = track.loc[track["period"] == "calibration"]
    if hold.empty or cal.empty:
        return {m: float("nan") for m in models}
    base = cal.iloc[-1]
    act = hold["actual"] - base["actual"]
    ok = act > 0
    return {m: float(np.mean(np.abs((hold[m] - base[m] - act)[ok] / act[ok]))) if ok.any() else float("nan")
            for m in models}


def holdout_scorecard(rfm: pd.DataFrame, models: Mapping[str, object], spend: pd.Series | None = None,
                      transactions: Any = None, bic: Mapping[str, float] | None = None,
                      bins: int = 10) -> Scorecard:
    """Evaluate, rank and recommend (see the module docstring).

    ``spend`` is the expected spend per transaction per customer (e.g. from
    :func:`toolkit.clv.report.expected_spend` with a spend model fitted on the calibration period);
    without it the spend criteria are left out. ``transactions`` (the log the summary came from: a
    pandas frame or a LazyFrame) adds the cumulative tracking criterion. ``bic`` defaults to each model's ``bic_``.
    """
    if "frequency_holdout" not in rfm.columns:
        raise ValueError("rfm has no holdout period: summarise with calibration_end")
    names = list(models)
    t = rfm["duration_holdout"].to_numpy(float)
    actual = rfm["frequency_holdout"].to_numpy(float)
    active = (actual > 0).astype(float)
    pred = holdout_predictions(rfm, models)
    per_cust = pd.DataFrame({"actual_purchases": actual, "active": active}, index=rfm.index)
    actual_spend = None
    if spend is not None:
        s = spend.reindex(rfm.index).to_numpy(float)
        actual_spend = actual * rfm["monetary_value_holdout"].to_numpy(float)
        per_cust["actual_spend"] = actual_spend
    track = tracking_series(transactions, models, rfm.attrs.get("calibration_end"), rfm.attrs.get("observation_end")) \
        if transactions is not None and rfm.attrs.get("calibration_end") else None
    track_err = _tracking_mape(track, names) if track is not None else {}
    rows, rel, lifts = {}, [], []
    for name, m in models.items():
        p = pred[name].to_numpy(float)
        err = p - actual
        pact = prob_active(m, t, rfm)
        palive = np.asarray(m.prob_alive(rfm), float)
        per_cust[f"{name} purchases"] = p
        per_cust[f"{name} P(active)"] = pact
        row = {"mae_purchases": float(np.mean(np.abs(err))), "rmse_purchases": float(np.sqrt(np.mean(err ** 2))),
               "predicted_purchases": float(p.sum()), "actual_purchases": float(actual.sum()),
               "aggregate_error": float(p.sum() / actual.sum() - 1) if actual.sum() else float("nan"),
               "brier_active": brier_score(pact, active), "brier_alive": brier_score(palive, active),
               "mean_p_active": float(pact.mean()), "mean_p_alive": float(palive.mean()),
               "observed_active": float(active.mean())}
        if spend is not None:
            ps = p * s
            per_cust[f"{name} spend"] = ps
            e2 = ps - actual_spend
            row.update({"mae_spend": float(np.mean(np.abs(e2))), "rmse_spend": float(np.sqrt(np.mean(e2 ** 2))),
                        "aggregate_spend_error": float(ps.sum() / actual_spend.sum() - 1)
                        if actual_spend.sum() else float("nan")})
        lt = lift_table(p, actual)
        row["top_decile_lift"] = float(lt["lift"].iloc[0])
        row["top_decile_share"] = float(lt["share_of_actual"].iloc[0])
        if track is not None:
            row["tracking_mape"] = track_err[name]
        row["bic"] = float((bic or {}).get(name, getattr(m, "bic_", np.nan)))
        row["log_likelihood"] = float(getattr(m, "log_likelihood_", np.nan))
        row["fit_flag"], row["fit_note"] = fit_flag(m)
        rows[name] = row
        for what, prob in (("P(active)", pact), ("P(alive)", palive)):
            rt = reliability_table(prob, active, bins).reset_index()
            rt.insert(0, "probability", what)
            rt.insert(0, "model", name)
            rel.append(rt)
        lt = lt.reset_index()
        lt.insert(0, "model", name)
        lifts.append(lt)
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    metrics.index.name = "model"
    metrics["abs_aggregate_error"] = metrics["aggregate_error"].abs()
    criteria = [c for c in CRITERIA if c in metrics.columns and metrics[c].notna().all()]
    for c in criteria:
        metrics[f"rank_{c}"] = tolerant_rank(metrics[c], CRITERIA[c][1], CRITERIA[c][2])
    metrics["mean_rank"] = metrics[[f"rank_{c}" for c in criteria]].mean(axis=1)
    metrics["equivalent"] = metrics["mean_rank"] <= metrics["mean_rank"].min() + EQUIVALENT_MEAN_RANK
    metrics["flagged"] = metrics["fit_flag"] != ""
    order = metrics.sort_values(["equivalent", "flagged", "bic", "mean_rank"],
                                ascending=[False, True, True, True], kind="stable").index
    best = order[0]
    card = Scorecard(metrics, pd.concat(rel, ignore_index=True), pd.concat(lifts, ignore_index=True), per_cust,
                     track, best, "", criteria)
    card.flags = {n: metrics.loc[n, "fit_note"] for n in metrics.index if metrics.loc[n, "flagged"]}
    card.caveat = _caveat(metrics)
    card.reason = " ".join(t for t in (card.caveat, _reason(metrics, criteria, list(order)),
                                       _flag_text(metrics, list(order))) if t)
    return card


def _names(models: list[str]) -> str:
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " and " + models[-1]


def _by_note(metrics: pd.DataFrame, models: list[str]) -> str:
    """"A and B at the no-dropout boundary: intervals withheld; C ..." (models with the same note together)."""
    groups: dict[str, list[str]] = {}
    for m in models:
        groups.setdefault(metrics.loc[m, "fit_note"], []).append(m)
    return "; ".join(f"{_names(ms)} {note}" for note, ms in groups.items())


def _caveat(metrics: pd.DataFrame) -> str:
    """Why the data do not separate the models (every fit flagged, or tied log-likelihoods), or ""."""
    if len(metrics) < 2:
        return ""
    ll = metrics["log_likelihood"]
    tied = bool(ll.notna().all() and ll.max() - ll.min() <= LOGLIK_TIE)
    all_flagged = bool(metrics["flagged"].all())
    if not (tied or all_flagged):
        return ""
    parts = []
    if all_flagged:
        parts.append(f"every model is flagged ({_by_note(metrics, list(metrics.index))})")
    if tied:
        parts.append(f"the calibration log-likelihoods of all models are within {LOGLIK_TIE} of each other ("
                     + ", ".join(f"{m} {ll[m]:,.2f}" for m in metrics.index) + ")")
    text = " and ".join(parts)
    return ("No model can be preferred on its merits: " + text + ", so these data do not tell the models apart. "
            "The choice below is by rule only: " + CHOICE_RULE + ".")


def _flag_text(metrics: pd.DataFrame, order: list[str]) -> str:
    """Sentences on flagged fits: the recommended one, and flagged ones passed over in the tie-break
    (nothing when every model is flagged: the caveat says so)."""
    if metrics["flagged"].all():
        return ""
    best = order[0]
    out = []
    if metrics.loc[best, "flagged"]:
        out.append(f"Note: the recommended {best} fit is {metrics.loc[best, 'fit_note']}.")
    passed = [m for m in order[1:] if metrics.loc[m, "flagged"] and metrics.loc[m, "equivalent"]
              and not metrics.loc[best, "flagged"]]
    if passed:
        out.append(f"{_names(passed)} {'was' if len(passed) == 1 else 'were'} practically as good on the holdout "
                   f"but flagged ({_by_note(metrics, passed)}), so the regular fit of {best} is preferred.")
    others = [m for m in order[1:] if metrics.loc[m, "flagged"] and m not in passed]
    if others:
        out.append(f"Flagged: {_by_note(metrics, others)}.")
    return " ".join(out)


def _fmt(c: str, v: float) -> str:
    if c in ("abs_aggregate_error", "tracking_mape"):
        return f"{v:.1%}"
    if c == "top_decile_lift":
        return f"{v:.2f}x"
    return f"{v:.3g}"


def _bic_text(metrics: pd.DataFrame, best: str, pool: list[str], among: str) -> str:
    """Which of the equally good models the BIC picks, or that the BIC ties too (then the order given)."""
    bic = metrics.loc[pool, "bic"]
    values = f"{metrics.loc[best, 'bic']:,.1f}" + "".join(f", {m} {bic[m]:,.1f}" for m in pool if m != best)
    if len(pool) > 1 and bic.max() - bic.min() <= 0.05:
        values = ", ".join(f"{m} {bic[m]:,.1f}" for m in pool)
        return (f"{among} the calibration BIC is the same too ({values}), so {best} is taken as the first of them "
                "in the order the models were given.")
    return f"{among} {best} has the lowest calibration BIC ({values})."


def _reason(metrics: pd.DataFrame, criteria: list[str], order: list[str]) -> str:
    best = order[0]
    if len(order) == 1:
        return f"{best} is the only model fitted."
    mr = metrics["mean_rank"]
    by_rank = list(mr.sort_values(kind="stable").index)
    eq = [m for m in order if metrics.loc[m, "equivalent"]]
    ranks = ", ".join(f"{m} {mr[m]:.2f}" for m in by_rank)
    flagged = metrics["flagged"] if "flagged" in metrics.columns else pd.Series(False, index=metrics.index)
    pool = [m for m in eq if not flagged[m]] if not flagged[best] else eq
    among = "among them" if len(pool) == len(eq) else "among the regular (unflagged) fits"
    if len(eq) == 1:
        text = (f"{best} is recommended: it has the best mean rank over {len(criteria)} holdout criteria "
                f"({ranks}; 1 = best, models within the tolerance of each criterion share a rank).")
    else:
        text = (f"{best} is recommended. On the holdout, {', '.join(eq)} are practically as good (mean ranks "
                f"within {EQUIVALENT_MEAN_RANK} over {len(criteria)} criteria: {ranks}; 1 = best, models within "
                f"the tolerance of each criterion share a rank); " + _bic_text(metrics, best, pool, among))
    wins = [c for c in criteria if metrics.loc[best, f"rank_{c}"] == 1
            and (metrics[f"rank_{c}"] > 1).any()]
    if wins:
        text += " It is among the best on " + "; ".join(
            f"{CRITERIA[c][0]} ({_fmt(c, metrics.loc[best, c])} against "
            + ", ".join(f"{_fmt(c, metrics.loc[m, c])} for {m}" for m in order[1:]) + ")" for c in wins) + "."
    losses = [c for c in criteria if metrics.loc[best, f"rank_{c}"] > 1]
    if losses:
        text += " It is behind on " + "; ".join(
            f"{CRITERIA[c][0]} ({_fmt(c, metrics.loc[best, c])}; best {metrics[c].idxmin() if CRITERIA[c][1] else metrics[c].idxmax()} "
            f"{_fmt(c, metrics[c].min() if CRITERIA[c][1] else metrics[c].max())})" for c in losses) + "."
    ties = [CRITERIA[c][0] for c in criteria if (metrics[f"rank_{c}"] == 1).all()]
    if ties:
        text += " All models are within the tolerance on " + ", ".join(ties) + "."
    return text
