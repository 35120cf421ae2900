"""The CLV report, first part: the data the models see, the fits, the holdout check and the chosen model.

Sections in reading order: :func:`data_used`, :func:`models`, :func:`tracking`,
:func:`holdout_by_frequency`, :func:`scorecard`, :func:`chosen_model`, :func:`alive_path`; and, on the demo data only,
:func:`ground_truth` (near the end of the report).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from toolkit.clv.evaluation import holdout as ho
from toolkit.clv import plots as cplt
from toolkit.clv import rfm_summary
from toolkit.clv.evaluation.fitting import (fit_models, fit_spend_model, model_comparison, parameter_table,
                                            parameter_units)
from toolkit.clv.evaluation.ground_truth import ground_truth_files, ground_truth_recovery
from toolkit.clv.occasions import (PurchaseLog, first_purchase_amount, purchase_days, purchase_occasions,
                                   purchases_until)
from toolkit.clv.evaluation.scorecard import Scorecard, holdout_scorecard
from toolkit.clv.valuation.units import normalize_unit, unit_name
from toolkit.clv.valuation.per_customer import expected_spend
from toolkit.data import InsufficientDataError
from toolkit.engine import transaction_totals
from toolkit.reports.clv.wording import (alive_caveat, bic_sentence, final_fit_note, flag_sentences,
                                         prob_alive_sentence, without_empty_notes)
from toolkit.reports.context import ReportContext
from toolkit.privacy import protect
from toolkit.reports.format import fmt_int, fmt_pct
from toolkit.reports.section import Section

__all__ = ["CLVData", "Fits", "Holdout", "FinalModel", "data_used", "models", "tracking", "holdout_by_frequency",
           "scorecard", "chosen_model", "alive_path", "path_customer", "ground_truth"]

CLV_METHODS = ("horizon", "dert")


@dataclass
class CLVData:
    """What the models see: purchase occasions up to the observation end, split at the calibration end.

    ``log``: the purchase occasions (returns left out and counted); ``transactions``: its rows up to
    ``observation_end``; ``rfm_cal`` / ``rfm``: the RFM summaries of the calibration period (with the
    holdout) and of all data, in ``unit`` (``units``: its plural name); ``currency``: the dataset's
    currency, or "currency units"; ``method``: the CLV method (horizon or dert).
    """

    ds: Any
    log: PurchaseLog
    transactions: Any
    observation_end: pd.Timestamp
    calibration_end: pd.Timestamp
    unit: str
    units: str
    currency: str
    method: str
    rfm_cal: pd.DataFrame
    rfm: pd.DataFrame


@dataclass
class Fits:
    """The transaction models fitted on the calibration period.

    ``models`` by name (the fits that found a maximum), ``failed``: why the others found none;
    ``comparison``: log-likelihood, AIC, BIC, fit diagnostics and holdout errors.
    """

    models: dict[str, Any]
    failed: dict[str, str]
    comparison: pd.DataFrame


@dataclass
class Holdout:
    """The models judged on the holdout: the scorecard (:func:`toolkit.clv.evaluation.scorecard.holdout_scorecard`)
    and the spend forecast ``spend_cal`` of a Gamma-Gamma fitted on the calibration period."""

    card: Scorecard
    spend_cal: pd.Series

    @property
    def chosen(self) -> str:
        """The model the scorecard recommends, used for the CLV."""
        return self.card.recommended


@dataclass
class FinalModel:
    """The chosen transaction model refitted on all data (or its calibration fit when that finds no maximum)."""

    name: str
    model: Any


# ------------------------------------------------------------------------------------------- data used
def data_used(rep: ReportContext, calibration_end: str | None = None, observation_end: str | None = None,
              time_unit: str = "W", clv_method: str = "horizon") -> Section[CLVData]:
    """The transactions the models see, the calibration and holdout periods, returns and outliers.

    Stops (MissingTableError) when the dataset has no transactions or no amounts; ValueError for a
    CLV method other than horizon or dert and for a calibration end outside the data."""
    ds = rep.ds
    ds.require("transactions")
    ds.require_money()
    currency = rep.currency or "currency units"
    unit = normalize_unit(time_unit)        # the one declared model time unit; everything else converts
    units = unit_name(unit, plural=True)
    if clv_method not in CLV_METHODS:
        raise ValueError(f"clv_method must be 'horizon' or 'dert', not {clv_method!r}")
    log = purchase_occasions(ds.transaction_log)  # counted by the engine; the rows stay there
    obs = pd.Timestamp(observation_end).normalize() if observation_end else pd.Timestamp(ds.as_of).normalize()
    tx = purchases_until(log.transactions, obs)
    totals = transaction_totals(tx)
    first_tx = totals["first_date"].normalize()
    cal = pd.Timestamp(calibration_end).normalize() if calibration_end else ho.default_calibration_end(first_tx, obs)
    if not first_tx < cal < obs:
        raise ValueError(f"calibration_end {cal.date()} must lie between the first transaction ({first_tx.date()}) "
                         f"and the observation end ({obs.date()})")
    rfm_cal = rfm_summary(tx, obs, cal, unit)
    rfm = rfm_summary(tx, obs, None, unit)
    data = CLVData(ds, log, tx, obs, cal, unit, units, currency, clv_method, rfm_cal, rfm)
    sec: Section[CLVData] = Section(value=data)
    hold_len = float(rfm_cal["duration_holdout"].iloc[0])
    sec.say("Transactions from **{first}** to **{obs}**: {rows} rows of {n} customers, {occ} purchase occasions (an "
            "occasion is a customer-day: several invoices on one day count once, their amounts are added). Time is "
            "measured in **{units}**.", first=str(first_tx.date()), obs=str(obs.date()), rows=fmt_int(totals["rows"]),
            n=fmt_int(len(rfm)), occ=fmt_int(rfm["frequency"].sum() + len(rfm)), units=units)
    sec.say("Calibration period: up to **{cal}**; holdout: the following **{h:.1f} {units}** to {obs}{why}. "
            "{nc} customers made their first purchase in the calibration period; they are the ones the models are "
            "tested on.", cal=str(cal.date()), h=hold_len, units=units, obs=str(obs.date()),
            nc=fmt_int(len(rfm_cal)), why="" if calibration_end else " (default: 26 weeks, at most a third of the span)")
    if log.return_rows:
        sec.say("Returns: {r} rows have a negative amount. {d} customer-days held only returns ({v} {cur}, {s} of the "
                "net value of the purchase days); a return is not a purchase, so these days are left out of the models "
                "and the CLV is reduced by that share. Returns made on a purchase day are netted into that day's "
                "amount.", r=fmt_int(log.return_rows), d=fmt_int(log.return_only_days),
                v=f"{-log.return_only_value:,.0f}", cur=currency, s=fmt_pct(log.returns_share))
    else:
        sec.say("No row has a negative amount: there are no returns to account for.")
    for note in log.notes:
        if "only returns" not in note:
            sec.say("- {n}", n=note)
    if totals["outlier_rows"]:
        sec.say("The loader flagged {k} unusually large rows and kept them; they enter the spend model as recorded.",
                k=fmt_int(totals["outlier_rows"]))
    reconciled = reconciliation(ds, log, totals, len(rfm), obs)
    if reconciled:
        sec.text(reconciled)   # numbers and dates only: nothing to escape
    return sec


def reconciliation(ds: Any, log: Any, totals: dict, customers_used: int, obs: pd.Timestamp) -> str:
    """How the rows and customers used here follow from the load report's (and the data-quality
    report's) counts: rows left out above, rows after the observation end, customers of the customer
    table without a purchase. "" when the models use every loaded row and customer."""
    kept = transaction_totals(log.transactions)["rows"] if log.rows_in != totals["rows"] else totals["rows"]
    left_out, after = log.rows_in - kept, kept - totals["rows"]
    listed = 0
    table = ds.report.tables.get("customers")
    if ds.has("customers") and table is not None and not table.derived:
        listed = len(ds.customers)
    without = max(listed - customers_used, 0)
    if not (left_out or after or without):
        return ""
    parts = [f"{fmt_int(left_out)} left out as above"] if left_out else []
    if after:
        parts.append(f"{fmt_int(after)} dated after the observation end {obs.date()}")
    text = ""
    if parts:
        text = (f"Against the load report: of its {fmt_int(log.rows_in)} transaction rows (the data-quality report's "
                f"count), {' and '.join(parts)}, leaving the {fmt_int(totals['rows'])} rows used here.")
    if without:
        text += (" " if text else "Against the load report: ") + (
            f"{fmt_int(without)} of the customer table's {fmt_int(listed)} customers have no purchase up to "
            f"{obs.date()} and get no CLV here.")
    return text


# ---------------------------------------------------------------------------------------------- models
def models(rep: ReportContext, data: CLVData) -> Section[Fits]:
    """The transaction models fitted on the calibration period: estimates, comparison, how each maximum
    was found, flagged fits and the BIC ranking.

    Stops (InsufficientDataError) when no model can be fitted."""
    models_, failed = fit_models(data.rfm_cal)
    sec: Section[Fits] = Section()
    for name, msg in failed.items():
        sec.say("**{m} could not be fitted**: {msg}", m=name, msg=msg)
    if not models_:
        raise InsufficientDataError("no transaction model could be fitted to these data: " + "; ".join(failed.values()))
    params = parameter_table(models_)
    sec.table(without_empty_notes(params).set_index(["model", "parameter"]),
              "Parameter estimates on the calibration period",
              units=parameter_units(list(models_), data.units), precision=4)
    errors = ho.holdout_errors(data.rfm_cal, models_)
    comparison = model_comparison(models_, errors)
    comp_cols = ["parameters", "customers", "log_likelihood", "aic", "bic", "delta_bic", "converged", "grad_norm",
                 "fit_note"]
    sec.table(without_empty_notes(comparison.set_index("model")[comp_cols]), "Model comparison on the calibration data",
              units={"log_likelihood / aic / bic": "log-likelihood units",
                     "grad_norm": "gradient norm at the optimum"}, precision=2)
    sec.table(_diagnostics(models_), "How each maximum was found",
              units={"gradient_norm": "norm of the gradient of the mean log-likelihood (log-parameters)"}, precision=3)
    for sentence in flag_sentences(models_):
        sec.say("**Flagged fit:** {s}", s=sentence)
    sec.say("{s}", s=bic_sentence(comparison))
    sec.value = Fits(models_, failed, comparison)
    return sec


def _diagnostics(models_: dict[str, Any]) -> pd.DataFrame:
    """One row per model: converged, gradient norm, iterations, the start it came from, optimiser, note."""
    rows = [{"model": n, "converged": m.diagnostics_.converged, "gradient_norm": m.diagnostics_.grad_norm,
             "iterations": m.diagnostics_.iterations,
             "best_start": f"{m.diagnostics_.start_index + 1} of {m.diagnostics_.n_starts}",
             "optimiser": m.diagnostics_.method, "note": m.diagnostics_.boundary_note or m.diagnostics_.message}
            for n, m in models_.items()]
    return pd.DataFrame(rows).set_index("model")


# -------------------------------------------------------------------------------------------- holdout
def tracking(rep: ReportContext, data: CLVData, fits: Fits) -> Section[Holdout]:
    """Cumulative repeat purchases of the calibration cohort, actual against each model, and the holdout
    total; the holdout scorecard (with a spend model fitted on the calibration period) is its value."""
    gg_cal = fit_spend_model(data.rfm_cal)
    spend_cal, _ = expected_spend(gg_cal, data.rfm_cal, first_purchase_amount(data.transactions, data.calibration_end))
    card = holdout_scorecard(data.rfm_cal, fits.models, spend_cal, data.transactions)
    sec: Section[Holdout] = Section(value=Holdout(card, spend_cal))
    track = card.tracking
    fig = cplt.plot_tracking(track)
    at_cal = track.loc[track["period"] == "calibration"].iloc[-1]
    end = track.iloc[-1]
    act = end["actual"] - at_cal["actual"]
    lines = []
    for m in fits.models:
        pred = end[m] - at_cal[m]
        lines.append(f"{m} {pred:,.0f} ({pred / act - 1:+.1%})" if act else f"{m} {pred:,.0f}")
    sec.say("In the holdout the cohort made **{a}** repeat purchases; the models expected {l}.",
            a=fmt_int(act), l="; ".join(lines))
    return sec.figure(fig)


def holdout_by_frequency(rep: ReportContext, data: CLVData, fits: Fits) -> Section[pd.DataFrame]:
    """Mean holdout purchases per customer by calibration repeat purchases, actual and per model."""
    by_freq = ho.holdout_by_frequency(data.rfm_cal, fits.models, max_frequency=7)
    fig = cplt.plot_by_frequency(by_freq)
    sec: Section[pd.DataFrame] = Section(value=by_freq)
    sec.table(by_freq, "Mean holdout purchases per customer by calibration repeat purchases",
              units={"customers": "count", "actual and models": "purchases per customer in the holdout"}, precision=3)
    return sec.figure(fig)


ERROR_COLUMNS = ["mae_purchases", "rmse_purchases", "aggregate_error", "mae_spend", "rmse_spend",
                 "aggregate_spend_error"]
SCORE_COLUMNS = ["brier_active", "brier_alive", "top_decile_lift", "tracking_mape", "mean_rank", "bic"]


def scorecard(rep: ReportContext, data: CLVData, fits: Fits, holdout: Holdout) -> Section[None]:
    """The holdout scorecard (split in two tables to fit the page: forecast errors; probabilities, lift
    and rank), the rank per criterion (a row per criterion), reliability and lift, and the choice."""
    card, cur = holdout.card, data.currency
    sec: Section[None] = Section()
    sec.table(card.metrics[ERROR_COLUMNS], "Holdout scorecard: errors of the purchase and spend forecasts",
              units={"mae / rmse purchases": "purchases per customer", "mae / rmse spend": f"{cur} per customer",
                     "aggregate errors": "predicted / actual - 1"}, precision=3)
    sec.table(card.metrics[SCORE_COLUMNS], "Holdout scorecard: probabilities, lift, tracking and rank",
              units={"brier": "0 best, 0.25 coin flip", "top_decile_lift": "x the average customer",
                     "tracking_mape": "mean absolute % error, holdout weeks", "mean_rank": "1 best"}, precision=3)
    sec.table(card.ranking().T.rename_axis("criterion"),
              "Rank of each model per criterion (1 = best; equal within the tolerance)", precision=2)
    figs = [cplt.plot_reliability(card.reliability, "P(active)"), cplt.plot_reliability(card.reliability, "P(alive)"),
            cplt.plot_lift(card.lift)]
    chosen = holdout.chosen
    sec.say(("**The data do not separate the models.** " if card.caveat else "") + "{reason}", reason=card.reason)
    sec.say("Customers active in the holdout: {o}; mean P(active) {pa} and mean P(alive) {pl} ({m}). **{c}** is used "
            "for the CLV below.", o=fmt_pct(card.metrics["observed_active"].iloc[0]),
            pa=fmt_pct(card.metrics.loc[chosen, "mean_p_active"]),
            pl=fmt_pct(card.metrics.loc[chosen, "mean_p_alive"]) + alive_caveat(fits.models[chosen]), m=chosen,
            c=chosen)
    for fig in figs:
        sec.figure(fig)
    return sec


# --------------------------------------------------------------------------------------- chosen model
def chosen_model(rep: ReportContext, data: CLVData, fits: Fits, holdout: Holdout) -> Section[FinalModel]:
    """The chosen model refitted on all data (its calibration fit when that finds no maximum), its
    estimates, the P(alive) heat map for a customer of typical age and the mean P(alive)."""
    chosen = holdout.chosen
    sec: Section[FinalModel] = Section()
    fitted, failed = fit_models(data.rfm, [chosen])
    final = fitted.get(chosen)
    if final is None:
        sec.say("Refitting {m} on all data found no maximum ({e}); the calibration fit is used.", m=chosen,
                e=failed[chosen])
        final = fits.models[chosen]
    sec.table(final.summary_frame(), f"{chosen} fitted on all data to {data.observation_end.date()}",
              units=parameter_units([chosen], data.units), precision=4)
    if final_fit_note(chosen, final):
        sec.say("**Flagged fit:** {s}", s=final_fit_note(chosen, final))
    rfm = data.rfm
    fig = cplt.plot_prob_alive_heatmap(final, float(rfm["T"].median()),
                                       max_frequency=int(min(max(rfm["frequency"].quantile(0.95), 5), 30)),
                                       unit_label=data.units, model_name=chosen)
    sec.say("{s}", s=prob_alive_sentence(final, pd.Series(final.prob_alive(rfm), index=rfm.index)))
    sec.value = FinalModel(chosen, final)
    return sec.figure(fig)


#: The example customer of :func:`alive_path` is among the customers with at least this quantile of repeat
#: purchases (among repeat buyers): a frequent buyer, so the path shows several purchases.
PATH_FREQUENCY_QUANTILE = 0.9


def path_customer(rfm: pd.DataFrame, prob_alive: pd.Series) -> Any:
    """The customer whose P(alive) path the report draws: among the frequent repeat buyers (at least the
    :data:`PATH_FREQUENCY_QUANTILE` of repeat purchases among customers with any), the one whose P(alive)
    now is nearest one half (a valuable customer who may be lapsing: the case to act on); ties go to the
    first id in sorted order. None when no customer has a repeat purchase."""
    repeat = rfm["frequency"] > 0
    if not repeat.any():
        return None
    cut = rfm.loc[repeat, "frequency"].quantile(PATH_FREQUENCY_QUANTILE, interpolation="lower")
    pool = prob_alive.reindex(rfm.index)[rfm["frequency"] >= cut].sort_index(kind="stable")
    return (pool - 0.5).abs().idxmin()


def alive_path(rep: ReportContext, data: CLVData, final: FinalModel) -> Section[pd.DataFrame | None]:
    """One customer's P(alive) under the chosen model from the first purchase to the observation end
    (:func:`path_customer` picks a frequent buyer who may be lapsing): the decay between purchases and
    the jump at each one. The path is the value (None without a repeat buyer)."""
    rfm = data.rfm
    sec: Section[pd.DataFrame | None] = Section()
    who = path_customer(rfm, pd.Series(final.model.prob_alive(rfm), index=rfm.index))
    if who is None:
        sec.say("No customer has a repeat purchase, so there is no history to trace.")
        return sec
    days = purchase_days(data.transactions, who, data.observation_end)
    path = cplt.prob_alive_path(final.model, days, data.observation_end, time_unit=data.unit)
    label = str(protect(pd.DataFrame({"customer_id": [who]}), enabled=rep.out.pseudonymise,
                        salt=rep.out.salt)["customer_id"].iloc[0])
    fig = cplt.plot_prob_alive_path(path, data.units, customer=label, model_name=final.name)
    row = rfm.loc[who]
    end = path.iloc[-1]
    sec.say("Customer **{c}** made {n} purchases on different days between {a} and {b}; {m} puts the chance that "
            "they are still a customer at **{p}** on {e}, {g} {u} after their last purchase. Each purchase lifts "
            "P(alive); the longer the silence after it, the lower it falls.", c=label, n=fmt_int(len(days)),
            a=days.iloc[0].date(), b=days.iloc[-1].date(), m=final.name, p=fmt_pct(end["prob_alive"]),
            e=data.observation_end.date(), g=f"{row['T'] - row['recency']:,.1f}", u=data.units)
    sec.value = path
    return sec.figure(fig)


# ---------------------------------------------------------------------------------- demo ground truth
def ground_truth(rep: ReportContext, data: CLVData) -> Section[pd.DataFrame | None]:
    """On the demo data (its generating parameters next to the transactions): per-segment BG/NBD fits
    against the generating values, and which lie outside their 95% intervals. Empty on other data."""
    truth_files = ground_truth_files(data.ds.spec.tables["transactions"].path)
    if truth_files is None:
        return Section()
    sec: Section[pd.DataFrame | None] = Section("Demo data: recovering the generating parameters")
    sec.say("The demo data were generated from known BG/NBD parameters per customer segment (weekly units). "
            "Explicit churn was drawn independently of the purchase process, so fitting BG/NBD to each segment's "
            "customers without explicit churn, over the whole observation period, should recover the generating "
            "values: about 95% of the 95% intervals should contain them.")
    recovery = ground_truth_recovery(data.transactions, data.observation_end, truth_files, data.ds.customers)
    sec.value = recovery
    fig = cplt.plot_recovery(recovery)
    sec.table(recovery.set_index(["segment", "parameter"]).drop(columns="note"),
              "Fitted per-segment BG/NBD parameters against the generating values (weeks)",
              units={"alpha": "weeks", "others": "dimensionless", "customers": "count"}, precision=3)
    ok = recovery["ci_lower"].notna()        # fits without a maximum or flagged (intervals withheld) left out
    if ok.any():
        sec.say("**{c} of {n}** generating values lie inside their 95% interval ({s}).",
                c=int(recovery["covered"].sum()), n=int(ok.sum()), s=fmt_pct(recovery.loc[ok, "covered"].mean()))
    else:
        sec.say("No per-segment fit gave a 95% interval, so no generating value could be checked.")
    for r in recovery.loc[ok & ~recovery["covered"]].itertuples():
        sec.say("- {seg}, {p}: estimate {e:.3f}, interval {lo:.3f} to {hi:.3f}, true {t:.3f}.", seg=r.segment,
                p=r.parameter, e=r.estimate, lo=r.ci_lower, hi=r.ci_upper, t=r.truth)
    for seg_name in recovery.loc[~ok, "segment"].unique():
        seg = recovery.loc[recovery["segment"] == seg_name]
        note = seg["note"].iloc[0]
        sec.say("- {s}: {e}.", s=seg_name, e=note if seg["estimate"].notna().all() else f"no maximum found ({note})")
    return sec.figure(fig)
