"""The business formulas of the scorecard: CAC, formula CLTV and CLV/CAC (element-wise on arrays).

``toolkit.clv.business`` holds the same formulas for raw tables (``cac``, ``formula_cltv``): they
aggregate transactions and spend per calendar cell. The scorecard needs them on its additive sums
(regions, the rest of the company, trailing windows, previous periods), so it applies them here
element-wise; tests/test_kpi.py checks the scorecard's CAC against ``toolkit.clv.business.cac``.
Definitions differ in one respect: ``business.formula_cltv`` measures purchase frequency as orders
per buying customer per period over the whole data span, the scorecard as orders per active
customer within each period.

* ``cac = marketing spend / new customers`` of the same region and period (NaN without new customers);
* ``cltv = purchase frequency x average order value x customer lifespan``, with frequency in
  orders per active customer per period, AOV in currency per order and lifespan in periods,
  estimated as ``1 / churn rate per period`` (NaN when no customer churned: lifespan unknown);
* ``clv_cac = cltv / cac``.

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
