"""Glue for two sections of the CLV report (notebooks/03_clv.ipynb): how certain the values are
(intervals from parameter uncertainty, :mod:`toolkit.clv.intervals`) and what drives purchasing,
loyalty and spend (covariate models, :mod:`toolkit.clv.covariates`).

The notebook only calls these functions and shows their tables; the selection of covariates,
the merge onto the customers, the scaling of CLV intervals to the report's margins and the
published tables are built here.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .base import BoundaryWarning, ConvergenceError
from .covariates import BetaGeoCovariates, GammaGammaCovariates
from .intervals import IntervalResult, customer_intervals
from .units import period_rate

__all__ = ["COVARIATE_CANDIDATES", "CovariateReport", "ValueIntervals", "attach_attributes", "covariate_columns",
           "covariate_report", "plot_interval_width", "value_intervals"]

COVARIATE_CANDIDATES = ("region", "customer_type", "acquisition_channel")


# ----------------------------------------------------------------------------------- intervals
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
    """Intervals for the report's CLV table ``table`` (from :func:`toolkit.clv.report.customer_value`).

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
    boundary or with a nearly singular Hessian, :func:`toolkit.clv.base.fit_flag`) gets none: ValueError
    with the reason (:func:`toolkit.clv.report.intervals_withheld`).
    """
    from .report import intervals_withheld

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


def plot_interval_width(customers: pd.DataFrame, currency: str, level: float = 0.9):
    """Scatter of each customer's CLV against the width of its interval."""
    from toolkit.plotting import new_figure

    width = customers["clv_upper"] - customers["clv_lower"]
    fig, ax = new_figure(f"How uncertain is each customer's CLV? ({level:.0%} intervals)",
                         f"CLV estimate ({currency})", f"width of the {level:.0%} interval ({currency})")
    ax.scatter(customers["clv"], width, s=6, alpha=0.35)
    return fig, ax


# ----------------------------------------------------------------------------------- covariates
def covariate_columns(customers: pd.DataFrame | None, candidates=COVARIATE_CANDIDATES,
                      min_levels: int = 2) -> list[str]:
    """The candidate attribute columns present in ``customers`` with at least ``min_levels`` levels."""
    if customers is None:
        return []
    return [c for c in candidates if c in customers.columns and customers[c].dropna().nunique() >= min_levels]


def attach_attributes(rfm: pd.DataFrame, customers: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame,
                                                                                                pd.DataFrame, int]:
    """The customers of ``rfm`` (indexed by customer id) that have every attribute in ``columns``.

    Returns (rfm rows kept, their attributes indexed like them, number of customers dropped).
    """
    attrs = customers.drop_duplicates("customer_id").set_index("customer_id")[columns] \
        if "customer_id" in customers.columns else customers[columns]
    attrs = attrs.reindex(rfm.index)
    keep = attrs.notna().all(axis=1).to_numpy()
    kept = rfm.loc[keep].copy()
    kept.attrs = dict(rfm.attrs)
    return kept, attrs.loc[keep], int((~keep).sum())


@dataclass
class CovariateReport:
    """What the covariate section shows. ``applicable`` False when no attribute has two levels."""

    applicable: bool
    columns: list[str] = field(default_factory=list)
    n_used: int = 0
    n_dropped: int = 0
    effects: pd.DataFrame | None = None
    failures: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    references: dict[str, object] = field(default_factory=dict)

    def table(self) -> pd.DataFrame | None:
        """The multiplier table for display: process, covariate, level, reference, multiplier, CI, p."""
        if self.effects is None:
            return None
        return self.effects[["process", "covariate", "level", "reference", "multiplier", "ci_lower", "ci_upper",
                             "p_value"]].copy()

    def published(self) -> pd.DataFrame | None:
        """The table published as ``clv_covariate_effects`` (plain columns, no pandas attrs)."""
        if self.effects is None:
            return None
        out = self.effects.copy()
        for c in ("covariate", "term", "process", "sentence"):
            out[c] = out[c].astype(str)
        out["level"] = out["level"].astype(str)
        out["reference"] = out["reference"].astype(str)
        out.attrs = {}
        return out


def _fit(model, *args):
    """Fit, turning a ConvergenceError / ValueError into a message and recording BoundaryWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BoundaryWarning)
        try:
            model.fit(*args)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            return None, str(exc), None
    boundary = [str(w.message) for w in caught if issubclass(w.category, BoundaryWarning)]
    return model, None, "; ".join(boundary) or None


def covariate_report(rfm: pd.DataFrame, customers: pd.DataFrame | None, level: float = 0.95,
                     candidates=COVARIATE_CANDIDATES) -> CovariateReport:
    """Fit BG/NBD with the attributes in purchase and dropout and Gamma-Gamma with them in spend.

    ``rfm``: the calibration summary (indexed by customer id); ``customers``: the customer table.
    Attributes with at least two levels among ``candidates`` are used; customers without all of them
    are dropped. Fits that find no maximum are reported in ``failures``; fits during which a
    parameter went to a limit are kept and noted in ``warnings``.
    """
    cols = covariate_columns(customers, candidates)
    if not cols:
        return CovariateReport(False)
    data, attrs, dropped = attach_attributes(rfm, customers, cols)
    rep = CovariateReport(True, cols, len(data), dropped)
    fitted = []
    for name, model in (("BG/NBD", BetaGeoCovariates(purchase=cols, dropout=cols)),
                        ("Gamma-Gamma", GammaGammaCovariates(spend=cols))):
        m, err, warn = _fit(model, data, attrs)
        if err is not None:
            rep.failures[name] = err
            continue
        if warn:
            rep.warnings[name] = warn
        fitted.append(m)
        for design in m.designs_.values():
            rep.references.update(design.references_)
    if fitted:
        from .covariates import covariate_effects

        rep.effects = covariate_effects(*fitted, level=level)
    return rep
