"""The churn report (notebooks/04_churn.ipynb), one function per section.

The report answers three questions, and so does this package, one module each, with the
contractual retention model beside them (it is the largest section):

* :mod:`~toolkit.reports.churn.how_many`    who counts as churned, churn rates, cohort retention,
  Kaplan-Meier survival, the Cox model;
* :mod:`~toolkit.reports.churn.contractual` the shifted-beta-geometric model per cohort;
* :mod:`~toolkit.reports.churn.who_leaves`  the churn model, its drivers, the value at risk (the
  scores the action plan reads), targeting a contact budget;
* :mod:`~toolkit.reports.churn.why`         churn reasons and satisfaction before leaving;
* :mod:`~toolkit.reports.churn.summary`     the headline metrics later reports read.

Sections take the report context (``rep``), the notebook's parameters and earlier sections'
values (:class:`ChurnBasis` from :func:`who_churned`, the :class:`~toolkit.churn.ChurnPrediction`
from :func:`churn_model`, :class:`EarlyWarning` ...), publish what the notebook published and
return a :class:`~toolkit.reports.section.Section`.
"""
from toolkit.reports.churn.contractual import contractual_retention
from toolkit.reports.churn.how_many import (ChurnBasis, ChurnRates, churn_rates, cohort_retention, cox_model,
                                            logrank_sentence, survival, who_churned, yearly_rate_sentence)
from toolkit.reports.churn.summary import headline_metrics, published
from toolkit.reports.churn.who_leaves import EarlyWarning, churn_model, drivers, targeting, value_at_risk
from toolkit.reports.churn.why import churn_reasons, satisfaction
from toolkit.reports.section import degrade_on_data_limits

__all__ = ["ChurnBasis", "ChurnRates", "EarlyWarning", "churn_model", "churn_rates", "churn_reasons",
           "cohort_retention", "contractual_retention", "cox_model", "drivers", "headline_metrics",
           "logrank_sentence", "published", "satisfaction", "survival", "targeting", "value_at_risk", "who_churned",
           "yearly_rate_sentence"]

degrade_on_data_limits(globals())   # a data limit in one section is said there; the others still run
