"""The churn report's headline figures (published as the ``churn`` metrics, read by later reports)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from toolkit.churn.pipeline import ChurnPrediction
from toolkit.reports.churn.how_many import ChurnBasis, ChurnRates
from toolkit.reports.churn.who_leaves import EarlyWarning
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int
from toolkit.reports.section import Section


def headline_metrics(rep: ReportContext, basis: ChurnBasis, rates: ChurnRates, pred: ChurnPrediction,
                     warning: EarlyWarning, targeting: pd.DataFrame, contact_budget: int) -> dict[str, Any]:
    """The headline churn figures: rates, the model and its quality, value at risk and what targeting saves."""
    per_region = rates.by_region["churn_rate"].dropna()
    return {
        "dataset": rep.ds.name, "as_of": str(basis.as_of.date()), "definition": basis.definition,
        "overall_churn_rate": rates.overall_rate,
        "overall_churn_rate_period": "12 months to as_of" if basis.dated else "share flagged as churned",
        "churn_rate_by_region": {str(k): float(v) for k, v in per_region.items()},
        "highest_churn_region": str(per_region.idxmax()) if len(per_region) else "",
        "model": pred.kind, "evaluation": "cross-validation" if pred.mode == "snapshot" else "time-based split",
        "horizon_days": pred.horizon_days,
        "auc": float(pred.metrics["roc_auc"]), "brier": float(pred.metrics["brier"]),
        "value_at_risk_total": warning.total, "value_basis": warning.description,
        "top_risk_region": warning.top_risk_region,
        "contact_budget": int(contact_budget),
        "expected_revenue_saved_by_value_at_risk": float(targeting.loc["by value at risk", "expected_revenue_saved"]),
        "expected_revenue_saved_by_probability": float(targeting.loc["by churn probability", "expected_revenue_saved"]),
    }


def published(rep: ReportContext, basis: ChurnBasis, rates: ChurnRates, pred: ChurnPrediction,
              warning: EarlyWarning, targeting: pd.DataFrame, contact_budget: int) -> Section[dict[str, Any]]:
    """Publishes the ``churn`` headline metrics and lists what the report published."""
    values = headline_metrics(rep, basis, rates, pred, warning, targeting, contact_budget)
    rep.out.metrics("churn", values, description="Headline churn figures",
                    units={"value_at_risk_total": warning.unit, "overall_churn_rate": "share"})
    return Section(value=values).say(
        "Published: churn rates by region, Cox hazard ratios, the sBG cohort table, model metrics, the boosting "
        "search, reasons by region, the headline churn metrics and the churn scores of the {n} active customers "
        "(`churn_scores`, read by the action plan).", n=fmt_int(len(warning.warning)))
