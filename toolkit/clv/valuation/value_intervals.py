"""Intervals for the CLV table from parameter uncertainty, on the table's own margins, returns and churn.

:func:`value_intervals` draws parameter sets of the transaction and spend models
(:func:`toolkit.clv.valuation.intervals.customer_intervals`) and scales each customer's bounds to the CLV
table of :func:`toolkit.clv.valuation.per_customer.customer_value` (:class:`ValueIntervals`: population totals
and per-customer bounds). A flagged fit (at the parameter boundary or with a nearly singular
Hessian) gets no intervals: :func:`intervals_withheld` says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.clv.models.base import WITHHELD, fit_flag
from toolkit.clv.valuation.intervals import IntervalResult, customer_intervals
from toolkit.clv.valuation.units import period_rate

__all__ = ["ValueIntervals", "intervals_withheld", "value_intervals"]


@dataclass
class ValueIntervals:
    """Intervals shaped for the report.

    ``population``: one row per total (quantity, estimate, lower, upper, unit). ``customers``: per
    customer of the CLV table (same index): clv, clv_lower, clv_upper (on the report's margins,
    returns and explicit churn), expected_purchases / prob_alive with their bounds. ``notes``:
    sentences on what was approximated or left out. ``result``: the raw IntervalResult.
    """

    population: pd.DataFrame
    customers: pd.DataFrame
    level: float
    n_draws: int
    result: IntervalResult
    with_clv: bool
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """Population figures as flat metrics: <name>, <name>_lower, <name>_upper per total."""
        out: dict[str, float] = {"interval_level": float(self.level), "interval_draws": int(self.n_draws)}
        for row in self.population.itertuples():
            key = row.key
            out[f"{key}_estimate"] = float(row.estimate)
            out[f"{key}_lower"] = float(row.lower)
            out[f"{key}_upper"] = float(row.upper)
        return out


class _UnitSpend:
    """A spend "model" worth exactly 1 per purchase, without uncertainty: with it the intervals give
    discounted purchases, which are scaled to the report's spend per customer."""

    param_names = ("unit",)

    def __init__(self) -> None:
        self.params_ = pd.Series({"unit": 1.0})
        self.covariance_log_ = pd.DataFrame([[1e-300]], index=["unit"], columns=["unit"])

    @classmethod
    def from_params(cls, time_unit=None, **params):
        return cls()

    def expected_average_value(self, x, m):
        return np.ones_like(np.asarray(x, float))


def value_intervals(model, rfm: pd.DataFrame, spend_model, table: pd.DataFrame, *, horizon: int = 12,
                    discount_rate: float = 0.10, clv_method: str = "horizon", currency: str = "currency units",
                    level: float = 0.9, n_draws: int = 300, seed: int = 0) -> ValueIntervals:
    """Intervals for the report's CLV table ``table`` (from :func:`toolkit.clv.valuation.per_customer.customer_value`).

    ``model``: the fitted transaction model (BG/NBD, MBG/NBD or Pareto/NBD), ``spend_model`` the
    Gamma-Gamma fit, ``rfm`` the summary the table was computed from; ``discount_rate`` is yearly.
    Customers flagged as explicitly churned in the table are worth 0 in every draw. The draws give
    the discounted revenue per customer; each customer's bounds are scaled by the factor that turns
    the model's revenue at the estimate into the table's CLV (margin x returns factor), exact per
    customer. Customers whose Gamma-Gamma expectation does not exist (q <= 1 and no repeat purchase;
    the report then values them by their first purchase) get intervals from the purchase process
    only, their spend held fixed. The same seed gives every group the same transaction-model draws,
    so the population totals add up draw by draw; the total CLV interval is exact when the scaling
    factor is one number per group, otherwise an approximation (said in ``notes``). With
    ``clv_method="dert"`` only purchases and P(alive) get intervals. A flagged fit (at the parameter
    boundary or with a nearly singular Hessian, :func:`toolkit.clv.models.base.fit_flag`) gets none: ValueError
    with the reason (:func:`intervals_withheld`).
    """
    withheld = intervals_withheld(getattr(model, "model_name", type(model).__name__), model, spend_model)
    if withheld:
        raise ValueError(withheld)
    notes: list[str] = []
    gone = table["explicitly_churned"].to_numpy(bool) if "explicitly_churned" in table.columns \
        else np.zeros(len(table), bool)
    with_clv = clv_method == "horizon" and spend_model is not None
    if clv_method != "horizon":
        notes.append("CLV is computed over all future purchases (DERT) here, which the interval method does not "
                     f"cover; intervals are given for the purchases of the next {horizon} months and for P(alive) "
                     "only")
    rfm = rfm.loc[table.index]
    groups = [(np.ones(len(table), bool) & ~gone, spend_model if with_clv else None)]
    if with_clv:
        p, q = float(spend_model.params_["p"]), float(spend_model.params_["q"])
        no_mean = p * rfm["frequency"].to_numpy(float) + q - 1 <= 0
        if (no_mean & ~gone).any():
            groups = [(~gone & ~no_mean, spend_model), (~gone & no_mean, _UnitSpend())]
            notes.append(f"{int((no_mean & ~gone).sum()):,} customers without repeat purchases have no Gamma-Gamma "
                         "expected spend (q at or below 1) and are valued by their first purchase; their intervals "
                         "hold that spend fixed and cover the purchase process only")
    cols = ["expected_purchases", "expected_purchases_lower", "expected_purchases_upper", "prob_alive",
            "prob_alive_lower", "prob_alive_upper"] + (["clv", "clv_lower", "clv_upper"] if with_clv else [])
    cust = pd.DataFrame(0.0, index=table.index, columns=cols)
    totals = None
    estimates: dict[str, float] = {}
    first: IntervalResult | None = None
    approx = False
    for mask, sm in groups:
        if not mask.any():
            continue
        res = customer_intervals(model, rfm.loc[mask], sm, horizon=horizon,
                                 discount_rate=period_rate(discount_rate, "M"), margin=1.0, time_unit="M",
                                 level=level, n_draws=n_draws, seed=seed)
        first = first or res
        part = res.customers.copy()
        by_draw = res.info["totals_by_draw"].copy()
        est = {"expected_purchases": float(part["expected_purchases"].sum()),
               "prob_alive": float(part["prob_alive"].sum())}
        if with_clv:
            revenue = part["clv"].to_numpy(float)
            target = table.loc[mask, "clv"].to_numpy(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(revenue > 0, target / revenue, 0.0)
            part["clv"] = target
            part["clv_lower"] = part["clv_lower"].to_numpy(float) * factor
            part["clv_upper"] = part["clv_upper"].to_numpy(float) * factor
            rev_total = float(revenue.sum())
            by_draw["clv"] = by_draw["clv"] * (float(target.sum()) / rev_total if rev_total > 0 else 0.0)
            est["clv"] = float(target.sum())
            f = factor[revenue > 0]
            approx = approx or bool(len(f) and np.ptp(f) > 1e-9 * max(float(np.abs(f).max()), 1e-300))
        cust.loc[mask, cols] = part[cols].to_numpy(float)
        totals = by_draw if totals is None else totals + by_draw
        for k, v in est.items():
            estimates[k] = estimates.get(k, 0.0) + v
    if first is None:
        raise ValueError("no customer left to compute intervals for (all explicitly churned)")
    if approx:
        notes.append("the spend or margin per customer differs from the model's, so the interval of the total CLV "
                     "scales the spread of the total discounted revenue to the report's total (an approximation; "
                     "each customer's own interval is exact)")
    if gone.any():
        notes.append(f"{int(gone.sum()):,} customers with a closed account count as 0 in every draw")
    lo_p, hi_p = (1 - level) / 2, 1 - (1 - level) / 2
    spec = [("expected_purchases", f"Expected purchases over the next {horizon} months", "purchases",
             "expected_purchases"),
            ("prob_alive", "Expected customers still active (now)", "customers", "customers_alive")]
    if with_clv:
        spec.append(("clv", f"Total CLV over the next {horizon} months", currency, "total_clv"))
    pop = pd.DataFrame([{"quantity": label, "estimate": estimates[q], "lower": float(np.quantile(totals[q], lo_p)),
                         "upper": float(np.quantile(totals[q], hi_p)), "unit": unit, "key": key}
                        for q, label, unit, key in spec])
    return ValueIntervals(pop, cust, level, n_draws, first, with_clv, notes)



def _where(reason: str) -> str:
    """The flag's reason without the trailing ": intervals withheld" (e.g. "at the no-dropout boundary")."""
    return reason[: -len(": " + WITHHELD)] if reason.endswith(": " + WITHHELD) else reason




def intervals_withheld(name: str, model, spend_model=None) -> str:
    """Why the CLV intervals are not computed ("" when both fits are regular): parameter draws from a
    flagged fit would ignore the direction in which the likelihood is flat or bounded."""
    parts = [f"the {name} fit is {_where(fit_flag(model)[1])}"] if fit_flag(model)[0] else []
    if spend_model is not None and fit_flag(spend_model)[0]:
        parts.append(f"the Gamma-Gamma fit is {_where(fit_flag(spend_model)[1])}")
    if not parts:
        return ""
    return ("No intervals are given for the values: " + " and ".join(parts) + ". Intervals from parameter draws "
            "would leave out the uncertainty along the boundary and look far more precise than the data allow.")
