"""The CLV report (notebooks/03_clv.ipynb): one function per section, in reading order.

The report has seventeen sections (about a thousand lines with their conditional wording), so it is
a small package rather than one module: ``model_choice`` (the data the models see, the fits, the
holdout check, the chosen model, the demo ground truth), ``value`` (spend, discounting, CLV,
intervals, cash flows, groups, drivers, lapsed customers), ``published`` (what the report
publishes) and ``wording`` (the sentences about flagged fits and small groups those sections share).

Each section takes the report context, its parameters and earlier sections' values and returns a
:class:`~toolkit.reports.section.Section` whose ``value`` later sections take::

    data = report.data_used(rep, calibration_end, observation_end, time_unit, clv_method)
    fits = report.models(rep, data.value)
    holdout = report.tracking(rep, data.value, fits.value)
"""
from toolkit.reports.clv.model_choice import (CLVData, FinalModel, Fits, Holdout, alive_path, chosen_model,
                                              data_used, ground_truth, holdout_by_frequency, models, scorecard,
                                              tracking)
from toolkit.reports.clv.published import published
from toolkit.reports.section import degrade_on_data_limits
from toolkit.reports.clv.value import (CashFlows, Groups, Independence, SpendModel, Valuation, by_region_and_type,
                                       cash_flows, drivers, intervals, lapsed_customers, lifetime_value, spend,
                                       spend_independence, units_and_discounting)

__all__ = [
    "CLVData", "CashFlows", "FinalModel", "Fits", "Groups", "Holdout", "Independence", "SpendModel", "Valuation",
    "data_used", "models", "tracking", "holdout_by_frequency", "scorecard", "chosen_model", "alive_path", "spend",
    "spend_independence", "units_and_discounting", "lifetime_value", "intervals", "cash_flows",
    "by_region_and_type", "drivers", "lapsed_customers", "ground_truth", "published",
]

degrade_on_data_limits(globals())   # a data limit in one section is said there; the others still run
