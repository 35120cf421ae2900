"""The churn report's contractual-retention section: one shifted-beta-geometric (sBG) model per cohort.

:mod:`toolkit.clv.models.contractual` holds the model; this module turns a dataset into what the report
shows:

* **monthly durations** from the customer table: the recorded ``tenure`` in months for snapshots
  (Telco), or whole months from the acquisition date to the churn date or the as-of date
  (:func:`monthly_durations`);
* the **cohort** column: the contract where the data has one, else the segment, the customer type or
  the acquisition year (:func:`choose_cohort`);
* per cohort the fitted gamma and delta, lifetimes (median, mean within a horizon, the unrestricted
  mean, which is infinite when gamma <= 1) and the discounted expected lifetime, with a check of the
  model against Kaplan-Meier (:meth:`ContractualView.summary`);
* projections of a new customer's survival and of today's active customers
  (:meth:`ContractualView.projection`, :meth:`ContractualView.active_projection`);
* the **residual value** of active customers, monthly charge x DERT(tenure, monthly discount rate),
  when the customer table has a monthly charge (:meth:`ContractualView.residual_value`).

Durations from dates. The sBG counts whole periods: a customer is active in periods 1..T and
cancels at the end of period T. A customer observed for ``W`` complete months (acquisition to the
as-of date) who churned after ``c`` months (fractional) churned in period ``ceil(c)`` (at least 1);
churn after the last complete month is not yet observable at whole-month resolution, so such a
customer counts as active at ``W``, like every customer still active. This keeps each period's
risk set complete (:func:`toolkit.clv.models.contractual.durations_from_dates` floors the churn time
instead, which moves churn one period early and counts churn in the first month as no churn).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.design import as_text, top_levels
from toolkit.churn.labels import DAYS_PER_MONTH, customer_table, is_dated
from toolkit.clv.models.base import BoundaryWarning
from toolkit.clv.models.contractual import CohortRetention, ShiftedBetaGeometric, fit_cohorts, km_comparison

__all__ = ["ACQUISITION_YEAR", "CHARGE_COLUMNS", "COHORT_COLUMNS", "ContractualData", "ContractualView",
           "choose_cohort", "contractual_data", "fit_contractual", "monthly_durations", "monthly_rate",
           "plot_km_vs_sbg", "theta_cv"]

COHORT_COLUMNS = ("contract", "segment", "customer_type")
CHARGE_COLUMNS = ("monthly_charges", "monthly_charge")
ACQUISITION_YEAR = "acquisition_year"
ALL = "all customers"
HOMOGENEOUS_CV = 0.1      # below this coefficient of variation of the churn probability: no heterogeneity
FIT_CHECK_SHARE = 0.1     # the fit check covers months with at least this share of the cohort at risk
MEDIAN_CAP = 10_000       # median lifetimes are searched up to this many months


def monthly_rate(yearly_rate: float) -> float:
    """The monthly discount rate equivalent to a yearly one: (1 + r)^(1/12) - 1."""
    return float((1.0 + float(yearly_rate)) ** (1.0 / 12.0) - 1.0)


def theta_cv(gamma: float, delta: float) -> float:
    """Coefficient of variation of the churn probability theta ~ Beta(gamma, delta) across customers."""
    m = gamma / (gamma + delta)
    return float(np.sqrt((1.0 - m) / (m * (gamma + delta + 1.0))))


def monthly_durations(start: pd.Series, churn_date: pd.Series, as_of: Any) -> pd.DataFrame:
    """Whole-month durations for the sBG from acquisition and churn dates (see the module docstring).

    Returns ``duration`` (int months), ``churned`` (bool) and ``observed_months`` (complete months
    between acquisition and ``as_of``) for customers acquired on or before ``as_of``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    start = pd.to_datetime(start).dt.normalize()
    end = pd.to_datetime(churn_date).dt.normalize()
    keep = start.notna() & (start <= as_of)
    start, end = start[keep], end[keep]
    window = np.floor((as_of - start).dt.days.to_numpy(float) / DAYS_PER_MONTH)
    churn_months = (end - start).dt.days.to_numpy(float) / DAYS_PER_MONTH
    period = np.maximum(1.0, np.ceil(np.nan_to_num(churn_months, nan=np.inf)))
    churned = end.notna().to_numpy() & (end <= as_of).to_numpy() & (period <= window)
    duration = np.where(churned, period, window).astype(int)
    return pd.DataFrame({"duration": duration, "churned": churned, "observed_months": window.astype(int)},
                        index=start.index)


@dataclass
class ContractualData:
    """Monthly durations per customer, ready for the sBG."""

    frame: pd.DataFrame          # index customer_id: duration, churned, cohort[, charge]
    source: str                  # "tenure" (recorded months) or "dates"
    cohort_column: str           # the column the cohorts come from, ACQUISITION_YEAR, or "" (one cohort)
    charge_column: str | None    # monthly charge column, if any
    left_out: dict[str, int] = field(default_factory=dict)   # reason -> customers

    @property
    def cohort_label(self) -> str:
        if not self.cohort_column:
            return "all customers"
        return self.cohort_column.replace("_", " ")

    @property
    def basis(self) -> str:
        if self.source == "tenure":
            return "the recorded tenure in months (for churned customers: the months until they left)"
        return (f"whole months of {DAYS_PER_MONTH} days from the acquisition date to the churn date (the month "
                "in which the customer left) or, for customers still active, the complete months to the as-of date")


def _qualifying_levels(values: pd.Series, min_customers: int) -> int:
    counts = as_text(values).value_counts()
    return int((counts >= min_customers).sum())


def choose_cohort(cu: pd.DataFrame, requested: str | None = None, dated: bool = False,
                  min_customers: int = 30) -> str:
    """The column defining the sBG cohorts.

    ``requested``: a customer-table column, ``"acquisition_year"`` (needs acquisition dates), ``"all"``
    (one cohort) or None for the first of contract, segment, customer type with at least two groups of
    ``min_customers``, else the acquisition year (dated data), else one cohort.
    """
    if requested not in (None, "", "auto"):
        if requested == "all":
            return ""
        if requested == ACQUISITION_YEAR:
            if not dated:
                raise ValueError("sbg_cohort='acquisition_year' needs acquisition dates, which the dataset lacks")
            return ACQUISITION_YEAR
        if requested not in cu.columns:
            options = [c for c in cu.columns if c != "customer_id" and not pd.api.types.is_numeric_dtype(cu[c])
                       and not pd.api.types.is_datetime64_any_dtype(cu[c])]
            raise ValueError(f"sbg_cohort={requested!r} is not a column of the customer table; use one of "
                             f"{', '.join(options + [ACQUISITION_YEAR, 'all'])} or None")
        return requested
    for c in COHORT_COLUMNS:
        if c in cu.columns and _qualifying_levels(cu[c], min_customers) >= 2:
            return c
    if dated and "acquisition_date" in cu.columns:
        years = pd.to_datetime(cu["acquisition_date"]).dt.year
        if _qualifying_levels(years.dropna().astype(int), min_customers) >= 2:
            return ACQUISITION_YEAR
    return ""


def contractual_data(ds: Any, as_of: Any = None, cohort: str | None = None, min_customers: int = 30,
                     max_cohorts: int = 8) -> ContractualData | None:
    """Monthly durations, churn and cohort per customer, or None when the customer table has neither
    acquisition and churn dates nor a tenure in months with a churn flag."""
    if getattr(ds, "customers", None) is None:
        return None
    cu = customer_table(ds)
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    left_out: dict[str, int] = {}
    dated = is_dated(ds)
    if dated:
        d = monthly_durations(cu["acquisition_date"], cu["churn_date"], as_of)
        n_missing = int(cu["acquisition_date"].isna().sum())
        if n_missing:
            left_out["no acquisition date"] = n_missing
        late = int((pd.to_datetime(cu["acquisition_date"]) > as_of).sum())
        if late:
            left_out["acquired after the as-of date"] = late
        source = "dates"
    elif "tenure" in cu.columns and "churned" in cu.columns:
        tenure = pd.to_numeric(cu["tenure"], errors="coerce")
        flag = cu["churned"].astype("boolean")
        ok = tenure.notna() & (tenure >= 0) & flag.notna()
        if (~ok).sum():
            left_out["no tenure or churn flag"] = int((~ok).sum())
        churned = flag[ok].astype(bool)
        dur = np.floor(tenure[ok]).astype(int)
        zero = churned & (dur < 1)
        if zero.any():            # left within the first month: cancelled at the end of period 1
            dur = dur.where(~zero, 1)
        d = pd.DataFrame({"duration": dur, "churned": churned})
        source = "tenure"
    else:
        return None
    col = choose_cohort(cu.loc[d.index], cohort, dated, min_customers)
    if col == ACQUISITION_YEAR:
        d["cohort"] = pd.to_datetime(cu.loc[d.index, "acquisition_date"]).dt.year.astype(int).astype(str)
    elif col:
        d["cohort"] = top_levels(cu.loc[d.index, col], max_cohorts).to_numpy()
    else:
        d["cohort"] = ALL
    charge = next((c for c in CHARGE_COLUMNS if c in cu.columns and pd.api.types.is_numeric_dtype(cu[c])), None)
    if charge is not None:
        d["charge"] = pd.to_numeric(cu.loc[d.index, charge], errors="coerce").astype(float)
    d.index.name = "customer_id"
    return ContractualData(d, source, col, charge, left_out)


def _fit_check(km: pd.DataFrame, min_at_risk: float) -> dict[str, float]:
    """How far the sBG lies from Kaplan-Meier over the months with at least ``min_at_risk`` customers at
    risk, and the observed monthly churn rate in the first and second half of those months."""
    k = km.loc[(km["period"] >= 1) & (km["at_risk"] >= min_at_risk)]
    if not len(k):
        return {"months_compared": 0, "max_gap_km": np.nan, "share_outside_km_band": np.nan, "km_at_end": np.nan,
                "sbg_at_end": np.nan, "churn_rate_first_half": np.nan, "churn_rate_second_half": np.nan}
    gap = (k["sbg"] - k["km"]).abs()
    outside = (k["sbg"] < k["km_lower"] - 1e-9) | (k["sbg"] > k["km_upper"] + 1e-9)
    half = int(np.ceil(k["period"].max() / 2))
    first, second = k.loc[k["period"] <= half], k.loc[k["period"] > half]
    rate = (lambda f: float(f["churned"].sum() / f["at_risk"].sum()) if f["at_risk"].sum() > 0 else np.nan)
    return {"months_compared": int(k["period"].max()), "max_gap_km": float(gap.max()),
            "share_outside_km_band": float(outside.mean()), "km_at_end": float(k["km"].iloc[-1]),
            "sbg_at_end": float(k["sbg"].iloc[-1]),
            "churn_rate_first_half": rate(first), "churn_rate_second_half": rate(second)}


@dataclass
class ContractualView:
    """sBG models per cohort with the tables of the churn report's contractual section."""

    data: ContractualData
    model: CohortRetention
    yearly_discount_rate: float = 0.10
    restricted_months: int = 72
    min_at_risk: int = 30
    notes: dict[Any, str] = field(default_factory=dict)    # cohort -> fit note (boundary, fallback)
    skipped: dict[Any, str] = field(default_factory=dict)  # cohort -> why it has no model

    @property
    def monthly_discount_rate(self) -> float:
        return monthly_rate(self.yearly_discount_rate)

    @property
    def cohorts(self) -> list:
        return list(self.model.models_)

    def km(self) -> pd.DataFrame:
        """Kaplan-Meier (95% band) against the sBG per cohort and month, for months with at least
        ``min_at_risk`` customers at risk."""
        f = self.data.frame
        fitted = f.loc[f["cohort"].isin(self.cohorts)]
        km = km_comparison(fitted["duration"], fitted["churned"], self.model, cohort=fitted["cohort"])
        return km.loc[km["at_risk"] >= self.min_at_risk].reset_index(drop=True)

    def homogeneous(self, cohort) -> bool:
        """True when the churn probability hardly varies across the cohort's customers (geometric limit)."""
        m = self.model.models_[cohort]
        g, d = float(m.params_["gamma"]), float(m.params_["delta"])
        return not getattr(m, "heterogeneity_", True) or theta_cv(g, d) < HOMOGENEOUS_CV

    def summary(self) -> pd.DataFrame:
        """One row per cohort: fit, lifetimes, discounted expected lifetime and the check against KM."""
        h = int(self.restricted_months)
        base = self.model.summary_frame(h, discount_rate=self.monthly_discount_rate)
        km = self.km()
        rows = []
        for c in self.cohorts:
            m = self.model.models_[c]
            g, d = float(m.params_["gamma"]), float(m.params_["delta"])
            r = base.loc[c]
            row = {"customers": int(r["customers"]), "churned": int(r["churned"]),
                   "longest_duration": int(self.data.frame.loc[self.data.frame["cohort"] == c, "duration"].max()),
                   "gamma": g, "gamma_lower": r["gamma_lower"], "gamma_upper": r["gamma_upper"],
                   "delta": d, "delta_lower": r["delta_lower"], "delta_upper": r["delta_upper"],
                   "churn_probability_month_1": g / (g + d), "churn_probability_cv": theta_cv(g, d),
                   "heterogeneity": not self.homogeneous(c),
                   "mean_lifetime": r["expected_lifetime"], "median_lifetime": m.median_lifetime(MEDIAN_CAP),
                   "restricted_mean_lifetime": r[f"lifetime_within_{h}"],
                   "restricted_horizon": h, "survival_at_horizon": r[f"survival_{h}"],
                   "discounted_expected_lifetime": r["discounted_expected_lifetime"]}
            enough = max(self.min_at_risk, FIT_CHECK_SHARE * row["customers"])
            row.update(_fit_check(km.loc[km["cohort"] == c], enough))
            rows.append(row)
        out = pd.DataFrame(rows, index=pd.Index(self.cohorts, name="cohort"))
        res = self.residual_value()
        if res is not None:
            out = out.join(res[["active_customers", "mean_monthly_charge", "new_customer_value",
                                "residual_value", "residual_value_per_active"]])
        return out

    @staticmethod
    def parameter_table(summary: pd.DataFrame) -> pd.DataFrame:
        """The fitted parameters for display: gamma and delta with their 95% intervals as text."""
        def num(v: float) -> str:
            return "–" if not np.isfinite(v) else (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}")

        def interval(lo: float, hi: float) -> str:
            return "–" if not (np.isfinite(lo) and np.isfinite(hi)) else f"{num(lo)} to {num(hi)}"

        s = summary
        return pd.DataFrame({
            "customers": s["customers"], "churned": s["churned"],
            "gamma": [num(v) for v in s["gamma"]],
            "gamma_95pct": [interval(a, b) for a, b in zip(s["gamma_lower"], s["gamma_upper"])],
            "delta": [num(v) for v in s["delta"]],
            "delta_95pct": [interval(a, b) for a, b in zip(s["delta_lower"], s["delta_upper"])],
            "churn_probability_month_1": s["churn_probability_month_1"],
            "churn_probability_cv": s["churn_probability_cv"],
            "customers_differ": np.where(s["heterogeneity"], "yes", "hardly (constant churn)"),
        }, index=s.index)

    @staticmethod
    def lifetime_table(summary: pd.DataFrame) -> pd.DataFrame:
        """Lifetimes and the fit check for display; the infinite mean lifetime shown as text."""
        s = summary
        h = int(s["restricted_horizon"].iloc[0])
        return pd.DataFrame({
            "median_lifetime": [f"{v:,.0f}" if np.isfinite(v) else f"> {MEDIAN_CAP:,}" for v in s["median_lifetime"]],
            f"mean_within_{h}_months": s["restricted_mean_lifetime"],
            "mean_lifetime": [f"{v:,.1f}" if np.isfinite(v) else "infinite" for v in s["mean_lifetime"]],
            f"survival_at_{h}_months": s["survival_at_horizon"],
            "discounted_expected_lifetime": s["discounted_expected_lifetime"],
            "longest_observed": s["longest_duration"],
            "max_gap_to_km": s["max_gap_km"], "months_outside_km_band": s["share_outside_km_band"],
        }, index=s.index)

    def projection(self, months: int = 60, step: int = 6) -> pd.DataFrame:
        """Share of a new customer cohort still a customer after 0, step, ..., months (sBG)."""
        curves = self.model.retention_curves(int(months))
        t = list(range(0, int(months) + 1, int(step)))
        if t[-1] != months:
            t.append(int(months))
        out = curves.loc[t]
        out.index.name = "months"
        out.columns.name = "cohort"
        return out

    def active_projection(self, months: int = 60, step: int = 12) -> pd.DataFrame:
        """Expected number of today's active customers still customers after step, 2 step, ..., months:
        the sum over active customers of S(n + k) / S(n), n their tenure (rows: cohort; plus a total)."""
        f = self.data.frame
        t = list(range(int(step), int(months) + 1, int(step)))
        rows = {}
        for c in self.cohorts:
            m = self.model.models_[c]
            n = f.loc[(f["cohort"] == c) & ~f["churned"], "duration"].to_numpy(float)
            s_n = m.survival(n)
            rows[c] = {"active_now": len(n), **{f"after_{k}_months": float((m.survival(n + k) / s_n).sum())
                                               for k in t}}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "cohort"
        if len(out) > 1:
            out.loc["total"] = out.sum()
        return out

    def customer_residual_value(self) -> pd.DataFrame | None:
        """Per active customer with a monthly charge: cohort, tenure, charge, DERT and residual value
        (charge x DERT at the monthly discount rate); None without a charge column."""
        if self.data.charge_column is None:
            return None
        f = self.data.frame
        act = f.loc[~f["churned"] & f["cohort"].isin(self.cohorts) & f["charge"].notna()]
        dert = pd.Series(np.nan, index=act.index)
        for c in self.cohorts:
            sel = (act["cohort"] == c).to_numpy()
            if sel.any():
                dert.iloc[sel] = self.model.models_[c].dert(act.loc[sel, "duration"].to_numpy(float),
                                                            self.monthly_discount_rate)
        return pd.DataFrame({"cohort": act["cohort"], "tenure": act["duration"], "monthly_charge": act["charge"],
                             "dert": dert, "residual_value": act["charge"] * dert})

    def residual_value(self) -> pd.DataFrame | None:
        """Per cohort: active customers, mean tenure and charge, mean DERT, total and per-customer
        residual value, and the value of a new customer at the cohort's mean charge (charge x DEL)."""
        per = self.customer_residual_value()
        if per is None:
            return None
        f = self.data.frame
        g = per.groupby("cohort")
        out = pd.DataFrame({"active_customers": g.size(), "mean_tenure": g["tenure"].mean(),
                            "mean_monthly_charge": g["monthly_charge"].mean(), "mean_dert": g["dert"].mean(),
                            "residual_value": g["residual_value"].sum()}).reindex(self.cohorts)
        out["residual_value_per_active"] = out["residual_value"] / out["active_customers"]
        charge_all = f.loc[f["cohort"].isin(self.cohorts)].groupby("cohort")["charge"].mean().reindex(self.cohorts)
        dl = pd.Series({c: self.model.models_[c].discounted_expected_lifetime(self.monthly_discount_rate)
                        for c in self.cohorts})
        out["new_customer_value"] = charge_all * dl
        out.index.name = "cohort"
        return out


def fit_contractual(ds: Any, as_of: Any = None, cohort: str | None = None, yearly_discount_rate: float = 0.10,
                    restricted_months: int = 72, min_customers: int = 30, min_at_risk: int = 30
                    ) -> ContractualView | None:
    """sBG per cohort for a dataset with contractual customers, or None when it has none (see
    :func:`contractual_data`) or no cohort has ``min_customers`` customers and a churn."""
    data = contractual_data(ds, as_of, cohort, min_customers)
    if data is None:
        return None
    f = data.frame
    skipped = {}
    for c, part in f.groupby("cohort", sort=True):
        if len(part) < min_customers:
            skipped[c] = f"fewer than {min_customers} customers ({len(part)})"
        elif not part["churned"].any():
            skipped[c] = "nobody has churned yet"
    if len(skipped) == f["cohort"].nunique():
        return None
    with warnings.catch_warnings():     # fits at a parameter limit are reported through ``notes``
        warnings.simplefilter("ignore", BoundaryWarning)
        model = fit_cohorts(f["duration"], f["churned"], f["cohort"], min_customers=min_customers, time_unit="M")
    notes = {}
    for c, m in model.models_.items():
        diag = getattr(m, "diagnostics_", None)
        if not getattr(m, "heterogeneity_", True):
            notes[c] = "no heterogeneity: fitted as a constant monthly churn probability (geometric lifetime)"
        elif diag is not None and getattr(diag, "at_bound", None):
            notes[c] = (f"{' and '.join(diag.at_bound)} at the limit of the allowed range: the churn probability "
                        "hardly varies between customers (close to a constant monthly churn probability)")
    return ContractualView(data, model, float(yearly_discount_rate), int(restricted_months), int(min_at_risk),
                           notes, skipped)


def plot_km_vs_sbg(km: pd.DataFrame, title: str, xlabel: str = "Months as a customer", ncols: int = 3):
    """One panel per cohort: Kaplan-Meier with its 95% band (shaded) and the sBG curve (dashed); each
    panel has its own y scale, so that small gaps in slowly churning cohorts stay visible."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from toolkit.plotting import PALETTE, label

    cohorts = list(dict.fromkeys(km["cohort"]))
    n = len(cohorts)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols + 0.6, 3.9 * nrows + 0.7), squeeze=False)
    for ax, c in zip(axes.ravel(), cohorts):
        k = km.loc[km["cohort"] == c]
        ax.fill_between(k["period"], k["km_lower"], k["km_upper"], step="post", color=PALETTE[0], alpha=0.18,
                        label="Kaplan-Meier 95% band")
        ax.step(k["period"], k["km"], where="post", color=PALETTE[0], label="Kaplan-Meier (observed)")
        ax.plot(k["period"], k["sbg"], ls="--", lw=2, color=PALETTE[1], label="sBG model")
        label(ax, f"{c} ({int(k['at_risk'].iloc[0]):,} customers)", xlabel, "Share still a customer")
        lo = float(np.nanmin(k[["km_lower", "sbg"]].to_numpy()))       # each panel on its own scale
        ax.set_ylim(max(0.0, lo - 0.1 * (1 - lo) - 0.005), 1.0 + 0.03 * (1 - lo) + 0.001)
        span = 1 - lo
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0 if span > 0.08 else 1))
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes[0, 0].legend(loc="lower left", fontsize=8)
    fig.suptitle(title, fontweight="bold", fontsize=13)
    return fig
