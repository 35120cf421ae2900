"""SWOT evidence: one long table of figures per region, each with its baseline and test.

Sources (column ``source``):

* ``kpi`` — the KPI scorecard's trailing-window rows (region vs the rest of the company, and vs
  the previous window), exactly as the scorecard has them;
* ``market`` — the competitor table: market share, price index (reference 1 = parity) and growth
  per competitor (``subject``);
* ``churn_reasons`` — each reason's share of the region's churners in the window against the
  rest of the company (two-proportion z-test, adjusted across regions), ranked within the region;
  ``price+competitor`` is the two combined;
* ``segments`` — each segment's share of the region's current customers against the rest
  (two-proportion z-test, adjusted across regions), and company-wide growth of its active
  customers from the previous to the current window (rows with region ``Company``; Poisson test);
* ``clv`` — the CLV report's mean CLV per region against the other regions (descriptive);
* ``churn_model`` — region hazard ratios of the churn report's Cox model, where recognisable.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.kpi import COMPANY, METRICS
from toolkit.kpi import stats as S
from toolkit.value_terms import clv_label

COLUMNS = ["source", "region", "subject", "metric", "label", "unit", "period", "comparison", "value", "reference",
           "reference_label", "difference", "relative_difference", "n", "test", "p_value", "p_adj", "significant",
           "direction", "rank"]


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    for c in COLUMNS:
        if c not in frame.columns:
            frame[c] = np.nan if c not in ("subject", "test", "comparison", "direction", "reference_label") else ""
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["difference"] = frame["value"] - frame["reference"]
        frame["relative_difference"] = np.where(frame["reference"].abs() > 0,
                                                frame["difference"] / frame["reference"].abs(), np.nan)
    frame["direction"] = np.where(frame["difference"] > 0, "higher",
                                  np.where(frame["difference"] < 0, "lower", ""))
    frame["significant"] = frame["significant"].astype(object).fillna(False).astype(bool)
    return frame[COLUMNS]


def from_scorecard(scorecard: pd.DataFrame, window: str = "L12M") -> pd.DataFrame:
    """KPI evidence: the scorecard's rows for the window (regions and company, both comparisons)."""
    sc = scorecard.loc[scorecard["period"] == window].copy()
    sc["source"] = "kpi"
    sc["subject"] = ""
    return _finish(sc)


def from_market(market: pd.DataFrame | None) -> pd.DataFrame:
    """Competitor figures per region (latest period when the table has several)."""
    if market is None or market.empty:
        return pd.DataFrame(columns=COLUMNS)
    mk = market.copy()
    if "period" in mk.columns and mk["period"].notna().any():
        mk = mk.loc[mk["period"] == mk.groupby("region")["period"].transform("max")]
    rows = []
    spec = {"market_share": ("Competitor market share", "share of market", np.nan),
            "price_index": ("Competitor price index", "competitor price / ours", 1.0),
            "growth": ("Competitor growth", "yearly revenue growth", np.nan)}
    for metric, (label, unit, ref) in spec.items():
        rows.append(pd.DataFrame({"source": "market", "region": mk["region"].astype(str), "subject":
                                  mk["competitor"].astype(str), "metric": metric, "label": label, "unit": unit,
                                  "value": mk[metric].astype(float), "reference": ref,
                                  "reference_label": "parity" if metric == "price_index" else "",
                                  "significant": False}))
    out = pd.concat(rows, ignore_index=True)
    out["rank"] = out.groupby(["region", "metric"])["value"].rank(ascending=False, method="min")
    return _finish(out)


def _share_vs_rest(counts: pd.DataFrame, source: str, metric: str, label: str, unit: str, alpha: float,
                   correction: str, period: str) -> pd.DataFrame:
    """Share of each subject (column) within each region (row) against the rest of the company."""
    n = counts.sum(axis=1).to_numpy(float)[:, None]
    k = counts.to_numpy(float)
    rest_k, rest_n = k.sum(axis=0)[None, :] - k, n.sum() - n
    with np.errstate(divide="ignore", invalid="ignore"):
        share, rest = k / n, rest_k / rest_n
    _, p = S.two_proportion_z(k, np.broadcast_to(n, k.shape), rest_k, np.broadcast_to(rest_n, k.shape))
    p_adj = np.column_stack([S.adjust(p[:, j], correction) for j in range(k.shape[1])]) if k.size else p
    out = pd.DataFrame({
        "source": source, "region": np.repeat(counts.index.astype(str), k.shape[1]),
        "subject": np.tile(counts.columns.astype(str), k.shape[0]), "metric": metric, "label": label, "unit": unit,
        "period": period, "comparison": "rest", "value": share.ravel(), "reference": rest.ravel(),
        "reference_label": "rest of company", "n": np.broadcast_to(n, k.shape).ravel(), "test": "two-proportion z",
        "p_value": p.ravel(), "p_adj": p_adj.ravel()})
    out["significant"] = out["p_adj"] < alpha
    out["rank"] = out.groupby("region")["value"].rank(ascending=False, method="min")
    return out


def churn_reasons(customers: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp, alpha: float = 0.05,
                  correction: str = "holm", period: str = "L12M",
                  combine: tuple[str, ...] = ("price", "competitor")) -> pd.DataFrame:
    """Churn-reason shares per region for customers who churned in ``[start, end]``."""
    need = {"churn_date", "churn_reason", "region"}
    if customers is None or not need <= set(customers.columns):
        return pd.DataFrame(columns=COLUMNS)
    cu = customers.loc[customers["churn_date"].between(start, end) & customers["churn_reason"].notna()]
    if cu.empty:
        return pd.DataFrame(columns=COLUMNS)
    counts = pd.crosstab(cu["region"].astype(str), cu["churn_reason"].astype(str))
    out = _share_vs_rest(counts, "churn_reasons", "churn_reason_share", "Share of churners giving this reason",
                         "share of churners", alpha, correction, period)
    present = [c for c in combine if c in counts.columns]
    if len(present) > 1:
        both = pd.DataFrame({"+".join(present): counts[present].sum(axis=1),
                             "other reasons": counts.drop(columns=present).sum(axis=1)})
        extra = _share_vs_rest(both, "churn_reasons", "churn_reason_share", "Share of churners giving this reason",
                               "share of churners", alpha, correction, period)
        out = pd.concat([out, extra.loc[extra["subject"] != "other reasons"].assign(rank=np.nan)],
                        ignore_index=True)
    return _finish(out)


def segments(customers: pd.DataFrame | None, segment: pd.Series | None, as_of: pd.Timestamp,
             active_now: pd.Series | None = None, active_before: pd.Series | None = None, alpha: float = 0.05,
             correction: str = "holm", period: str = "L12M") -> pd.DataFrame:
    """Segment share per region vs the rest, and company-wide growth of each segment's active customers.

    ``segment`` maps customer id -> segment; ``active_now`` / ``active_before`` are the ids of customers
    active in the current and the previous window.
    """
    if customers is None or segment is None or "region" not in customers.columns:
        return pd.DataFrame(columns=COLUMNS)
    cu = customers.loc[customers["acquisition_date"].notna() & (customers["acquisition_date"] <= as_of)]
    if "churn_date" in cu.columns:
        cu = cu.loc[cu["churn_date"].isna() | (cu["churn_date"] > as_of)]
    seg = cu["customer_id"].map(segment)
    cu = cu.assign(segment=seg).dropna(subset=["segment"])
    if cu.empty or cu["segment"].nunique() < 2:
        return pd.DataFrame(columns=COLUMNS)
    counts = pd.crosstab(cu["region"].astype(str), cu["segment"].astype(str))
    out = _share_vs_rest(counts, "segments", "segment_share", "Segment's share of current customers",
                         "share of customers", alpha, correction, period)
    if active_now is not None and active_before is not None:
        now = pd.Series(active_now).map(segment).value_counts()
        before = pd.Series(active_before).map(segment).value_counts()
        subj = sorted(set(now.index) | set(before.index))
        now, before = now.reindex(subj, fill_value=0), before.reindex(subj, fill_value=0)
        z, p = S.rate_ratio_test(now.to_numpy(float), 1.0, before.to_numpy(float), 1.0)
        growth = pd.DataFrame({"source": "segments", "region": COMPANY, "subject": [str(s) for s in subj],
                               "metric": "segment_growth", "label": "Growth of the segment's active customers",
                               "unit": "change vs previous window", "period": period, "comparison": "previous",
                               "value": now.to_numpy(float) / before.replace(0, np.nan).to_numpy(float) - 1,
                               "reference": 0.0, "reference_label": "no change", "n": now.to_numpy(float),
                               "test": "Poisson rate ratio", "p_value": p})
        growth["p_adj"] = S.adjust(growth["p_value"].to_numpy(), correction)
        growth["significant"] = growth["p_adj"] < alpha
        out = pd.concat([out, growth], ignore_index=True)
    out = _finish(out)
    growth_rows = out["metric"] == "segment_growth"
    out.loc[growth_rows, "relative_difference"] = out.loc[growth_rows, "value"]   # already a relative change
    return out


def from_clv(clv_by_region: pd.DataFrame | None) -> pd.DataFrame:
    """Mean CLV per region (CLV report) against the customer-weighted mean of the other regions."""
    if clv_by_region is None or not {"region", "mean_clv", "customers"} <= set(clv_by_region.columns):
        return pd.DataFrame(columns=COLUMNS)
    t = clv_by_region.loc[clv_by_region["region"].astype(str) != COMPANY]
    basis = str(t["basis"].iloc[0]) if "basis" in t.columns and len(t) else None
    tot = (t["mean_clv"] * t["customers"]).sum()
    n = t["customers"].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = (tot - t["mean_clv"] * t["customers"]) / (n - t["customers"])
    out = pd.DataFrame({"source": "clv", "region": t["region"].astype(str), "subject": "", "metric": "mean_clv",
                        "label": clv_label(basis), "unit": "currency per customer", "comparison": "rest",
                        "value": t["mean_clv"].astype(float), "reference": rest.astype(float),
                        "reference_label": "other regions", "n": t["customers"].astype(float),
                        "test": "descriptive (no test)", "significant": False})
    return _finish(out)


def _pick(columns, names) -> str | None:
    low = {str(c).lower(): c for c in columns}
    return next((low[n] for n in names if n in low), None)


def from_churn_model(hazard_ratios: pd.DataFrame | None, regions: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """Region hazard ratios of the churn report's Cox model (rows whose term names a region)."""
    if hazard_ratios is None or hazard_ratios.empty:
        return pd.DataFrame(columns=COLUMNS)
    t = hazard_ratios.reset_index()
    term = _pick(t.columns, ("term", "covariate", "variable", "name", "index", "level"))
    hr = _pick(t.columns, ("hazard_ratio", "hr", "exp(coef)", "exp_coef"))
    p = _pick(t.columns, ("p_adj", "p_value", "p", "pvalue"))
    if term is None or hr is None:
        return pd.DataFrame(columns=COLUMNS)
    cov = _pick(t.columns, ("covariate", "variable"))
    unit = _pick(t.columns, ("unit",))
    if cov is not None and cov != term:
        t = t.loc[t[cov].astype(str).str.lower() == "region"]
    rows = []
    for _, r in t.iterrows():
        name = str(r[term])
        match = [g for g in regions if g and g.lower() in name.lower()]
        if len(match) == 1:
            pv = float(r[p]) if p is not None and pd.notna(r[p]) else np.nan
            test = "Cox model of the churn report" + (f", unadjusted p = {pv:.2g}" if pd.notna(pv) else "")
            rows.append({"source": "churn_model", "region": match[0], "subject": name, "metric": "hazard_ratio",
                         "label": "Churn hazard ratio (Cox model)", "unit": "ratio to the reference region",
                         "value": float(r[hr]), "reference": 1.0,
                         "reference_label": str(r[unit]) if unit is not None else "reference region",
                         "test": test, "p_value": pv, "p_adj": np.nan,
                         "significant": bool(pv < alpha) if pd.notna(pv) else False})
    return _finish(pd.DataFrame(rows)) if rows else pd.DataFrame(columns=COLUMNS)


def kpi_label(metric: str) -> str:
    return METRICS[metric].label if metric in METRICS else metric
