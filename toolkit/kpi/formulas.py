"""The business formulas of the toolkit: CAC, formula CLTV and CLV/CAC (element-wise on arrays).

This is their one home. The scorecard applies them to its additive sums (regions, the rest of the
company, trailing windows, previous periods); ``toolkit.clv.valuation.business`` (``cac``, ``clv_cac``,
``formula_cltv``) and ``toolkit.clv.valuation.per_customer.region_cac`` group raw tables into cells (period,
region, channel) and apply them, so the CLV and KPI reports' CAC of the same region and period agree
(tests/test_one_home.py, tests/test_kpi.py). The inputs differ in two respects: ``business.formula_cltv``
measures purchase frequency as orders per buying customer per period over the whole data span, the
scorecard as orders per active customer within each period; and the CLV report's CAC per region spans
all periods of the data, the scorecard's one period.

* ``cac = marketing spend / new customers`` of the same region and period (NaN without new customers);
* ``cltv = purchase frequency x average order value x customer lifespan``, with frequency in
  orders per active customer per period, AOV in currency per order and lifespan in periods,
  estimated as ``1 / churn rate per period`` (NaN when no customer churned: lifespan unknown);
* ``clv_cac = cltv / cac`` (or mean predicted CLV / CAC on the CLV side; NaN where CAC is missing or 0).

The formula CLTV is revenue-based (no margin, no discounting): a rule-of-thumb figure to compare
regions, not a forecast (the CLV report's model-based CLV is that).
"""
from __future__ import annotations

import numpy as np


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def cac(spend, new_customers) -> np.ndarray:
    """Customer acquisition cost: spend / new customers (NaN without new customers)."""
    spend, new = _f(spend), _f(new_customers)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(new > 0, spend / new, np.nan)


def lifespan(churn_rate) -> np.ndarray:
    """Average customer lifespan in periods: 1 / churn rate per period (NaN for a zero rate)."""
    r = _f(churn_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, 1.0 / r, np.nan)


def cltv(frequency, aov, lifespan_periods) -> np.ndarray:
    """Formula CLTV = purchase frequency x average order value x average lifespan."""
    return _f(frequency) * _f(aov) * _f(lifespan_periods)


def clv_cac(clv, cac_value) -> np.ndarray:
    """CLV / CAC ratio (NaN where CAC is missing or zero)."""
    clv, c = _f(clv), _f(cac_value)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, clv / c, np.nan)
