"""The CLV report's last section: what it publishes for later reports and for analysts.

Published (names, frames, units and descriptions as before the report layer): the export
``customer_clv`` (one row per customer), the tables ``model_comparison``, ``holdout_scorecard``,
``clv_cash_flows``, ``clv_covariate_effects`` (when the covariate models found effects),
``clv_by_region`` (when there are regions) and the metrics ``clv``.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from toolkit.clv.evaluation.attribute_effects import AttributeEffects
from toolkit.clv.valuation.units import period_rate
from toolkit.clv.valuation.value_intervals import ValueIntervals
from toolkit.reports.clv.model_choice import CLVData, Fits, Holdout
from toolkit.reports.clv.value import CashFlows, Groups, Independence, SpendModel, Valuation
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int
from toolkit.reports.section import Section

__all__ = ["published", "customer_export", "headline_metrics"]

EXPORT_COLUMNS = ["customer_id", "clv", "prob_alive", "expected_purchases", "expected_spend", "margin", "frequency",
                  "recency", "T", "monetary_value", "clv_if_alive"]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy without pandas attrs (they would be written into the parquet metadata)."""
    frame = frame.copy()
    frame.attrs = {}
    return frame


def customer_export(data: CLVData, value: Valuation, flows: CashFlows, intervals: ValueIntervals | None) -> pd.DataFrame:
    """One row per customer: CLV, P(alive), expected purchases and spend, the RFM summary, region and
    customer type (when known), segment of the cash-flow table and, when computed, the CLV interval."""
    ds = data.ds
    export = value.table.reset_index()[EXPORT_COLUMNS]
    if ds.has("customers"):
        cust = ds.customers.set_index("customer_id")
        for col in ("region", "customer_type"):
            if col in cust.columns:
                export[col] = cust[col].reindex(export["customer_id"]).to_numpy()
    export["segment"] = flows.segments.reindex(export["customer_id"]).astype(str).to_numpy()
    if intervals is not None and intervals.with_clv:
        bounds = intervals.customers[["clv_lower", "clv_upper"]].rename_axis("customer_id").reset_index()
        export = export.merge(bounds, on="customer_id", how="left")
    return export


def headline_metrics(data: CLVData, fits: Fits, holdout: Holdout, spend: SpendModel, independence: Independence,
                     value: Valuation, intervals: ValueIntervals | None, drivers: AttributeEffects,
                     recovery: pd.DataFrame | None) -> dict[str, Any]:
    """The metrics ``clv``: the run's settings, CLV totals and concentration, the chosen model and its
    holdout scores, the spend-frequency test, and the interval, covariate and ground-truth figures."""
    table, card, chosen = value.table, holdout.card, holdout.chosen
    clv = table["clv"]
    test = independence.test
    metrics = {
        "dataset": data.ds.name, "observation_end": str(data.observation_end.date()),
        "calibration_end": str(data.calibration_end.date()), "time_unit": data.unit, "clv_method": value.method,
        "horizon_months": int(value.horizon) if value.method == "horizon" else None,
        "discount_rate_yearly": float(value.discount_rate),
        "discount_rate_monthly": period_rate(value.discount_rate, "M"),
        "mean_margin": float(table["margin"].mean()), "margin_basis": value.margin_text, "customers": int(len(table)),
        "mean_clv": float(clv.mean()), "median_clv": float(clv.median()), "total_clv": float(clv.sum()),
        "top20_clv_share": value.top20, "gini_clv": value.gini, "chosen_model": chosen, "chosen_reason": card.reason,
        "holdout_mae": float(card.metrics.loc[chosen, "mae_purchases"]),
        "holdout_rmse": float(card.metrics.loc[chosen, "rmse_purchases"]),
        "holdout_aggregate_error": float(card.metrics.loc[chosen, "aggregate_error"]),
        "holdout_brier_active": float(card.metrics.loc[chosen, "brier_active"]),
        "holdout_top_decile_lift": float(card.metrics.loc[chosen, "top_decile_lift"]),
        "mean_prob_alive": float(table["prob_alive"].mean()), "models_failed": sorted(fits.failed),
        "spend_frequency_spearman": float(test.loc["spearman", "statistic"]),
        "spend_frequency_p": float(test.loc["spearman", "p_value"]),
        "spend_independence_fails": bool(independence.dependent),
        "returns_share": data.log.returns_share, "gamma_gamma_dropped_nonpositive": int(spend.model.n_dropped_),
    }
    if intervals is not None:
        metrics.update(intervals.metrics())
    metrics["covariate_customers"] = int(drivers.n_used) if drivers.applicable else None
    metrics["covariate_customers_dropped"] = int(drivers.n_dropped) if drivers.applicable else None
    if recovery is not None:
        metrics["ground_truth_coverage"] = float(recovery["covered"].mean())
    return metrics


def _covariate_table(effects: pd.DataFrame) -> pd.DataFrame:
    """The effects as published in ``clv_covariate_effects``: text columns as str, no pandas attrs."""
    out = effects.copy()
    for c in ("covariate", "term", "process", "sentence", "level", "reference"):
        out[c] = out[c].astype(str)
    out.attrs = {}
    return out


def published(rep: ReportContext, data: CLVData, fits: Fits, holdout: Holdout, spend: SpendModel,
              independence: Independence, value: Valuation, intervals: ValueIntervals | None, flows: CashFlows,
              groups: Groups, drivers: AttributeEffects, recovery: pd.DataFrame | None) -> Section[None]:
    """Publish the per-customer CLV, the model comparison, the holdout scorecard, the cash flows, the
    covariate effects, the CLV by region and the headline metrics, and say what was published."""
    out, cur, units, card, chosen = rep.out, data.currency, data.units, holdout.card, holdout.chosen
    export = customer_export(data, value, flows, intervals)
    out.export("customer_clv", _plain(export),
               description=f"One row per customer: CLV over {value.basis} ({chosen} x Gamma-Gamma), P(alive), "
                           "expected purchases and spend",
               units={"clv": cur, "clv_lower / clv_upper": f"{cur}, 90% interval from parameter uncertainty",
                      "expected_spend": cur, "recency": units, "T": units})
    comparison = fits.comparison.merge(card.metrics[["brier_active", "top_decile_lift", "tracking_mape", "mae_spend",
                                                     "mean_rank"]], left_on="model", right_index=True, how="left")
    comparison["recommended"] = comparison["model"] == chosen
    out.table("model_comparison", _plain(comparison),
              description="Transaction models: calibration log-likelihood, AIC, BIC; holdout errors and scorecard rank")
    out.table("holdout_scorecard", _plain(card.metrics.reset_index()),
              description="Holdout scorecard of the transaction models (criteria, ranks, recommendation)")
    out.table("clv_cash_flows", _plain(flows.flows), description=f"Expected and discounted monthly cash flows by "
              f"{flows.segment_name}", units={"expected_revenue": cur, "expected_margin": cur, "discounted_margin": cur})
    if drivers.effects is not None:
        out.table("clv_covariate_effects", _covariate_table(drivers.effects),
                  description="Multipliers of the purchase rate, mean dropout probability and spend per purchase by "
                              "customer attribute level against the reference level (BG/NBD and Gamma-Gamma with "
                              "covariates, calibration period; associations, not causal effects)",
                  units={"multiplier": "ratio to the reference level", "ci_lower / ci_upper": "95% interval"})
    if groups.by_region is not None:
        out.table("clv_by_region", _plain(groups.by_region).assign(basis=value.basis),
                  description=f"Predicted CLV per region ({value.basis})",
                  units={"mean_clv": cur, "total_clv": cur, "cac": cur, "basis": "the CLV's horizon"})
    out.metrics("clv", headline_metrics(data, fits, holdout, spend, independence, value, intervals, drivers, recovery),
                description="Headline CLV figures",
                units={"mean_clv": cur, "total_clv": cur, "total_clv_estimate / lower / upper": cur,
                       "expected_purchases_*": "purchases", "customers_alive_*": "customers"})
    return Section().say(
        "Published: per-customer CLV ({n} rows, ids {ids}), model comparison, holdout scorecard, cash flows{reg}{cov} "
        "and the headline metrics.", n=fmt_int(len(export)),
        ids="pseudonymised" if out.pseudonymise else "as in the data",
        reg=", CLV by region" if groups.by_region is not None else "",
        cov=", covariate effects" if drivers.effects is not None else "")
