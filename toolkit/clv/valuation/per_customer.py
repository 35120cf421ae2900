"""CLV per customer and its summaries: expected spend, discounted value, explicit churn, groups, value at risk.

* :func:`expected_spend` and :func:`customer_value` — Gamma-Gamma spend and discounted CLV per
  customer over a horizon (or DERT), with a yearly discount rate converted per period, a margin (one
  number or one per customer) and explicit churn (customers who closed their account are worth 0,
  :func:`explicit_churn`);
* :func:`value_by_group`, :func:`region_cac`, :func:`value_at_risk` — CLV per group (groups smaller
  than ``min_group_size`` are marked :data:`TOO_FEW`), acquisition cost per region, and valuable
  customers who may have lapsed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.kpi import formulas

from toolkit.clv.valuation import business
from toolkit.clv.models.gammagamma import GammaGamma
from toolkit.clv.valuation.units import normalize_unit, period_rate

__all__ = ["MIN_GROUP_SIZE", "TOO_FEW", "expected_spend", "customer_value", "explicit_churn", "value_by_group",
           "region_cac", "value_at_risk"]

#: Groups (regions, customer types) with fewer customers than this are not ranked.
MIN_GROUP_SIZE = 30
TOO_FEW = "too few customers"


def expected_spend(spend_model: GammaGamma, rfm: pd.DataFrame,
                   first_amount: pd.Series | None = None) -> tuple[pd.Series, dict]:
    """Expected spend per future transaction for every customer, with what needed special handling.

    * a repeat customer with a non-positive mean spend is treated as mean spend 0 (the estimate
      shrinks towards 0 the more such transactions there are) — counted in ``nonpositive``;
    * when the model's population mean is infinite (q <= 1: very unequal spend between customers)
      the Gamma-Gamma expectation does not exist for customers without repeat purchases. They
      are then updated with their first purchase as if it were one transaction of the spend
      process, ``p (gamma + z) / (p + q - 1)`` with ``z`` = first amount (clipped at 0), when
      ``first_amount`` is given and ``p + q > 1``; otherwise they get the observed mean spend per
      repeat transaction — counted in ``fallback``.
    """
    p, q, g = spend_model.params_[["p", "q", "gamma"]].to_numpy(float)
    x = rfm["frequency"].to_numpy(float)
    m = rfm["monetary_value"].to_numpy(float)
    nonpos = (x > 0) & ~(m > 0)
    m = np.where((x > 0) & (m > 0), m, 0.0)
    denom = p * x + q - 1
    ok = denom > 0
    value = np.where(ok, p * (g + m * x) / np.where(ok, denom, 1.0), np.nan)
    rep = (x > 0) & (m > 0)
    observed_mean = float((x[rep] * m[rep]).sum() / x[rep].sum()) if rep.any() else float("nan")
    how = "none"
    if not ok.all():
        if first_amount is not None and p + q > 1:
            z = np.clip(first_amount.reindex(rfm.index).to_numpy(float), 0, None)
            alt = np.where(np.isnan(z), observed_mean, p * (g + np.nan_to_num(z)) / (p + q - 1))
            how = "first purchase"
        else:
            alt = np.full(len(x), observed_mean)
            how = "observed mean"
        value = np.where(ok, value, alt)
    notes = {"nonpositive": int(nonpos.sum()), "fallback": int((~ok).sum()), "fallback_basis": how,
             "observed_mean": observed_mean, "population_mean": float(spend_model.mean_value_)}
    return pd.Series(value, index=rfm.index, name="expected_spend"), notes


def customer_value(rfm: pd.DataFrame, model, spend_model: GammaGamma, horizon: int = 12,
                   discount_rate: float = 0.10, margin: float | pd.Series = 0.3, horizon_unit: str = "M",
                   returns_factor: float = 1.0, churned: pd.Series | None = None,
                   first_amount: pd.Series | None = None, method: str = "horizon") -> pd.DataFrame:
    """CLV per customer (one row per row of ``rfm``).

    ``method="horizon"``: over ``horizon`` periods of ``horizon_unit`` (day, week, month, quarter,
    year); ``discount_rate`` is per year, converted to the period (``(1 + d) ** (1 / periods a
    year) - 1``) and each period's purchases are discounted at its end. ``method="dert"``: all
    future purchases, continuously discounted at the same yearly rate (discounted expected residual
    transactions, :func:`toolkit.clv.valuation.cashflow.dert`); ``horizon`` is then not used.
    ``margin`` is one number or a Series per customer id. ``returns_factor`` scales spend for
    returns made on later days (1 - returns share). Customers flagged in ``churned`` (explicit
    churn, e.g. a closed account) get P(alive) 0 and CLV 0. Columns: frequency, recency, T,
    monetary_value, prob_alive, expected_purchases (over the horizon, undiscounted; with DERT the
    discounted expected purchases), expected_spend, margin, clv, clv_if_alive (CLV / P(alive)).
    """
    from toolkit.clv.valuation.cashflow import dert, period_purchases

    unit = rfm.attrs.get("time_unit") or getattr(model, "time_unit_", None)
    if unit is None:
        raise ValueError("the summary's time unit is unknown (rfm.attrs['time_unit'])")
    hu = normalize_unit(horizon_unit)
    if method == "horizon":
        inc = period_purchases(model, rfm, horizon, hu)
        H = inc.shape[0]
        disc = (1.0 + period_rate(discount_rate, hu)) ** -np.arange(1, H + 1, dtype=float)
        units = (disc[:, None] * inc).sum(axis=0)
        purchases = inc.sum(axis=0)
    elif method == "dert":
        units = dert(model, rfm, discount_rate)
        purchases = units
        H = None
    else:
        raise ValueError("method must be 'horizon' or 'dert'")
    spend, notes = expected_spend(spend_model, rfm, first_amount)
    if isinstance(margin, pd.Series):
        mg = margin.reindex(rfm.index).astype(float)
        if mg.isna().any():
            raise ValueError(f"no margin for {int(mg.isna().sum())} customers")
        mg = mg.to_numpy()
    else:
        mg = np.full(len(rfm), float(margin))
    pa = np.asarray(model.prob_alive(rfm), float)
    clv = mg * spend.to_numpy() * float(returns_factor) * units
    out = pd.DataFrame({"frequency": rfm["frequency"].to_numpy(float), "recency": rfm["recency"].to_numpy(float),
                        "T": rfm["T"].to_numpy(float), "monetary_value": rfm["monetary_value"].to_numpy(float),
                        "prob_alive": pa, "expected_purchases": purchases, "expected_spend": spend.to_numpy(),
                        "margin": mg, "clv": clv}, index=rfm.index)
    if churned is not None:
        gone = churned.reindex(rfm.index).fillna(False).astype(bool).to_numpy()
        out.loc[gone, ["prob_alive", "expected_purchases", "clv"]] = 0.0
        out["explicitly_churned"] = gone
    with np.errstate(divide="ignore", invalid="ignore"):
        out["clv_if_alive"] = np.where(out["prob_alive"] > 0, out["clv"] / out["prob_alive"], 0.0)
    out.attrs.update({"method": method, "horizon": H, "horizon_unit": hu,
                      "discount_rate_yearly": float(discount_rate),
                      "discount_rate_period": period_rate(discount_rate, hu), "time_unit": unit,
                      "spend_notes": notes})
    return out


def explicit_churn(customers: pd.DataFrame | None, observation_end) -> pd.Series | None:
    """True for customers whose ``churn_date`` is on or before ``observation_end`` (None without data)."""
    if customers is None or "churn_date" not in customers.columns or customers["churn_date"].isna().all():
        return None
    cd = pd.to_datetime(customers["churn_date"])
    flag = cd.notna() & (cd <= pd.Timestamp(observation_end))
    return pd.Series(flag.to_numpy(), index=customers["customer_id"].to_numpy(), name="churned")



# -------------------------------------------------------------------------------------- summaries
def value_by_group(table: pd.DataFrame, groups: pd.Series, cac: pd.Series | None = None,
                   name: str = "group", min_group_size: int | None = None) -> pd.DataFrame:
    """Customers, mean / median / total CLV, share of total CLV, mean P(alive) per group, and
    with ``cac`` (per group) the CAC and the ratio mean CLV / CAC. With ``min_group_size`` a
    ``note`` column says "too few customers" for groups smaller than that (they are not ranked)."""
    grp = groups.reindex(table.index).astype(object).fillna("unknown").astype(str)
    g = table.groupby(grp.to_numpy())
    out = pd.DataFrame({"customers": g.size(), "mean_clv": g["clv"].mean(), "median_clv": g["clv"].median(),
                        "total_clv": g["clv"].sum(), "mean_prob_alive": g["prob_alive"].mean()})
    total = out["total_clv"].sum()
    out["clv_share"] = out["total_clv"] / total if total else np.nan
    if cac is not None:
        out["cac"] = cac.reindex(out.index).astype(float)
        out["clv_cac"] = formulas.clv_cac(out["mean_clv"], out["cac"])
    out.index.name = name
    if min_group_size is not None:
        out["note"] = np.where(out["customers"] < min_group_size, TOO_FEW, "")
    return out.sort_values("total_clv", ascending=False).reset_index()




def region_cac(marketing_spend: pd.DataFrame | None, customers: pd.DataFrame | None) -> pd.Series | None:
    """Acquisition spend / customers acquired per region over all periods (None without the data):
    :func:`toolkit.clv.valuation.business.cac` by region, so the formula is :func:`toolkit.kpi.formulas.cac`
    (NaN for a region with spend but no acquisitions, 0 for acquisitions without spend)."""
    if marketing_spend is None or customers is None:
        return None
    if not {"region", "acquisition_date"} <= set(customers.columns) or customers["acquisition_date"].isna().all():
        return None
    out = business.cac(marketing_spend, customers, by=["region"])
    return out.set_index("region")["cac"].rename("cac")


def value_at_risk(table: pd.DataFrame, top: float = 0.2, max_prob_alive: float = 0.5) -> pd.DataFrame:
    """Valuable customers who may have lapsed: in the top ``top`` by CLV if still active
    (``clv_if_alive``) with P(alive) below ``max_prob_alive``, most value at risk first.

    ``value_at_risk`` = clv_if_alive - clv = clv_if_alive x (1 - P(alive)): what is lost if they
    have indeed left.
    """
    t = table.loc[table["prob_alive"] > 0]
    if t.empty:
        return t.assign(value_at_risk=[])
    cut = t["clv_if_alive"].quantile(1 - top)
    risk = t.loc[(t["clv_if_alive"] >= cut) & (t["prob_alive"] < max_prob_alive)].copy()
    risk["value_at_risk"] = risk["clv_if_alive"] - risk["clv"]
    return risk.sort_values("value_at_risk", ascending=False)
