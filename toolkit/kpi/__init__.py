"""Regional KPI scorecard: KPIs per region x period, compared with the rest of the company and
with the previous period, with intervals, suitable tests and multiple-comparison control
(across regions, and by default also across the metrics of a period: ``family="period"``).

    from toolkit.kpi import build_scorecard
    res = build_scorecard(ds, period="Q", alpha=0.05, correction="holm")
    res.table        # wide: one row per region (and "Company") x period, one column per metric
    res.scorecard    # long: value, interval, reference, test, p, adjusted p, significant, direction
    res.flags()      # significant differences from the rest of the company in the trailing 12 months
"""
from toolkit.kpi.aggregate import churn_basis, period_stats, survey_scale
from toolkit.kpi.formulas import cac, clv_cac, cltv, lifespan
from toolkit.kpi.metrics import METRICS, Metric
from toolkit.kpi.periods import Periods, calendar_periods, trailing_window
from toolkit.kpi.scorecard import COMPANY, KPIResult, build_scorecard

__all__ = ["build_scorecard", "KPIResult", "COMPANY", "METRICS", "Metric", "period_stats", "churn_basis",
           "survey_scale", "Periods", "calendar_periods", "trailing_window", "cac", "cltv", "clv_cac", "lifespan"]
