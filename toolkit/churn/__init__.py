"""Churn analysis and early warning.

* :mod:`~toolkit.churn.labels`     churn labels: explicit (flag or date), inactivity, P(alive)
* :mod:`~toolkit.churn.rates`      churn rates by period and group, cohort retention
* :mod:`~toolkit.churn.survival`   Kaplan-Meier with log-rank tests, Cox model with PH check
* :mod:`~toolkit.churn.features`   features as of a date (nothing from after it)
* :mod:`~toolkit.churn.models`     logistic regression / tuned, calibrated gradient boosting, drivers
* :mod:`~toolkit.churn.evaluation` ROC-AUC, PR-AUC, Brier, calibration, gains and lift, CV
* :mod:`~toolkit.churn.pipeline`   dataset -> evaluated model and scores (:func:`predict_churn`)
* :mod:`~toolkit.churn.warning`    value at risk, early-warning list, targeting by budget
* :mod:`~toolkit.churn.reasons`    churn-reason Pareto, by group, satisfaction before leaving
* :mod:`~toolkit.churn.plots`      the report's figures
"""
from toolkit.design import Design, top_levels
from toolkit.churn.evaluation import (CVResult, calibration_table, classification_metrics, cross_validate,
                                      gains_table)
from toolkit.churn.features import DEFAULT_EXCLUDE, build_features, discover_attributes, is_engineered
from toolkit.churn.labels import DEFINITIONS, churn_labels, customer_table, is_dated, window_labels
from toolkit.churn.models import (HGB_GRID, ChurnModel, HGBChurn, LogitChurn, TunedHGBChurn, choose_kind, driver_of,
                                  make_estimator, permutation_importance, setting_text, tuning_table, tuning_text)
from toolkit.churn.pipeline import ChurnPrediction, predict_churn
from toolkit.churn.rates import churn_rate, churn_rates_by_period, cohort_column, cohort_retention, tenure_bands
from toolkit.churn.reasons import (has_reasons, reason_pareto, reasons_by, satisfaction_before_churn,
                                   satisfaction_trajectory)
from toolkit.churn.survival import (CoxPH, KaplanMeierResult, LogRankResult, cox_data, kaplan_meier, km_groupings,
                                   logrank, survival_frame)
from toolkit.churn.warning import (customer_value, early_warning_list, suggest_action, targeting_comparison,
                                   targeting_curve, value_tiers)

__all__ = [
    "CVResult", "ChurnModel", "HGB_GRID", "ChurnPrediction", "CoxPH", "DEFAULT_EXCLUDE", "DEFINITIONS", "Design",
    "HGBChurn", "KaplanMeierResult", "LogRankResult", "LogitChurn", "build_features", "calibration_table",
    "choose_kind", "churn_labels", "churn_rate", "churn_rates_by_period", "classification_metrics",
    "cohort_column", "cohort_retention", "cox_data", "cross_validate", "customer_table", "customer_value",
    "discover_attributes", "driver_of", "early_warning_list", "gains_table", "has_reasons", "is_dated",
    "is_engineered", "kaplan_meier", "km_groupings", "logrank", "make_estimator", "permutation_importance",
    "predict_churn", "reason_pareto", "reasons_by", "satisfaction_before_churn", "satisfaction_trajectory",
    "setting_text", "suggest_action", "survival_frame", "targeting_comparison", "targeting_curve", "tenure_bands",
    "top_levels", "TunedHGBChurn", "tuning_table", "tuning_text", "value_tiers", "window_labels",
]
