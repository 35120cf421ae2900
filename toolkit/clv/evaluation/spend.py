"""Diagnostics of the spend model: is average spend independent of purchase frequency?

The Gamma-Gamma model assumes a customer's average spend per transaction is independent of how
often they buy; CLV multiplies the two forecasts. :func:`frequency_spend_test` measures the
association on the repeat customers (frequency > 0, positive mean spend) with Pearson's r (on
the spend and on its logarithm) and Spearman's rank correlation, each with its two-sided p-value;
:func:`independence_verdict` reads them: independence is called into question when Spearman's
test rejects at ``alpha`` *and* the rank correlation is at least ``min_effect`` in size (with
thousands of customers a negligible correlation is "significant", so the size matters too).

:func:`spend_by_frequency` shows the consequence per frequency band: the observed mean spend
against the model's expected spend and, on a holdout, the predicted against the actual revenue;
:func:`clv_by_frequency` compares the model's CLV per band with the CLV recomputed with the
band's observed mean spend (what CLV would be if spend followed frequency as the data say).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["frequency_spend_test", "independence_verdict", "frequency_bands", "spend_by_frequency",
           "clv_by_frequency"]

DEFAULT_BANDS = (1, 2, 3, 5, 10)


def _repeat(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x = rfm["frequency"].to_numpy(float)
    m = rfm["monetary_value"].to_numpy(float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    return x[keep], m[keep]


def frequency_spend_test(rfm: pd.DataFrame) -> pd.DataFrame:
    """Association between frequency and mean spend of the repeat customers: rows ``pearson``,
    ``pearson_log_spend`` and ``spearman`` with ``statistic``, ``p_value`` and ``customers``."""
    x, m = _repeat(rfm)
    rows = {}
    if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(m) > 0:
        for name, (a, b, f) in {"pearson": (x, m, stats.pearsonr), "pearson_log_spend": (x, np.log(m), stats.pearsonr),
                                "spearman": (x, m, stats.spearmanr)}.items():
            res = f(a, b)
            rows[name] = {"statistic": float(res[0]), "p_value": float(res[1]), "customers": len(x)}
    else:
        rows = {k: {"statistic": np.nan, "p_value": np.nan, "customers": len(x)}
                for k in ("pearson", "pearson_log_spend", "spearman")}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "test"
    return out


def independence_verdict(test: pd.DataFrame, alpha: float = 0.05, min_effect: float = 0.1) -> tuple[bool, str]:
    """(independence fails, a sentence) from :func:`frequency_spend_test`."""
    sp = test.loc["spearman"]
    rho, p, n = sp["statistic"], sp["p_value"], int(sp["customers"])
    if not np.isfinite(rho):
        return False, f"too few repeat customers ({n}) to test whether spend depends on frequency"
    direction = "more" if rho > 0 else "less"
    p_text = "p < 1e-300" if p == 0 else f"p = {p:.2g}"
    if p < alpha and abs(rho) >= min_effect:
        return True, (f"average spend is not independent of purchase frequency: frequent buyers spend {direction} "
                      f"per transaction (Spearman rho {rho:.2f}, {p_text}, {n:,} repeat customers), which the "
                      "Gamma-Gamma model assumes away")
    if p < alpha:
        return False, (f"spend and frequency are associated, but weakly (Spearman rho {rho:.2f}, {p_text}, "
                       f"{n:,} repeat customers; below {min_effect}): independence is a fair approximation")
    return False, (f"no evidence that average spend depends on purchase frequency (Spearman rho {rho:.2f}, "
                   f"{p_text}, {n:,} repeat customers)")


def frequency_bands(frequency: pd.Series | np.ndarray, edges: Sequence[int] = DEFAULT_BANDS) -> pd.Categorical:
    """Bands of repeat purchases: "0", then one per interval starting at each edge ("1", "2",
    "3-4", "5-9", "10+" for the default edges)."""
    x = np.asarray(frequency, float)
    edges = list(edges)
    labels = ["0"]
    for lo, hi in zip(edges, edges[1:] + [None]):
        labels.append(f"{lo}+" if hi is None else (str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"))
    codes = np.searchsorted(np.asarray(edges, float), x, side="right")
    return pd.Categorical.from_codes(codes, labels, ordered=True)


def spend_by_frequency(rfm: pd.DataFrame, expected_spend: pd.Series, predicted_purchases: pd.Series | None = None,
                       edges: Sequence[int] = DEFAULT_BANDS) -> pd.DataFrame:
    """Per band of calibration frequency: customers, observed mean spend per transaction (repeat
    transactions, transaction-weighted), the model's mean expected spend, their ratio and, when
    ``rfm`` has a holdout and ``predicted_purchases`` are given, the actual holdout spend per
    transaction, and predicted and actual holdout revenue per customer with their ratio."""
    band = frequency_bands(rfm["frequency"], edges)
    x = rfm["frequency"].to_numpy(float)
    m = rfm["monetary_value"].to_numpy(float)
    frame = pd.DataFrame({"band": band, "x": x, "xm": x * m, "model": expected_spend.reindex(rfm.index).to_numpy(float)},
                         index=rfm.index)
    holdout = "frequency_holdout" in rfm.columns and predicted_purchases is not None
    if holdout:
        h = rfm["frequency_holdout"].to_numpy(float)
        frame["h"] = h
        frame["rev"] = h * rfm["monetary_value_holdout"].to_numpy(float)
        frame["pred_rev"] = predicted_purchases.reindex(rfm.index).to_numpy(float) * frame["model"]
    g = frame.groupby("band", observed=False)
    out = pd.DataFrame({"customers": g.size()})
    with np.errstate(divide="ignore", invalid="ignore"):
        out["observed_spend"] = g["xm"].sum() / g["x"].sum().replace(0, np.nan)
        out["model_spend"] = g["model"].mean()
        out["model_vs_observed"] = out["model_spend"] / out["observed_spend"] - 1
        if holdout:
            out["holdout_spend"] = g["rev"].sum() / g["h"].sum().replace(0, np.nan)
            out["predicted_revenue"] = g["pred_rev"].mean()
            out["actual_revenue"] = g["rev"].mean()
            out["predicted_vs_actual"] = out["predicted_revenue"] / out["actual_revenue"] - 1
    out.index.name = "frequency_band"
    return out


def clv_by_frequency(table: pd.DataFrame, edges: Sequence[int] = DEFAULT_BANDS) -> pd.DataFrame:
    """Per frequency band: customers, mean CLV under the model, mean CLV with the band's observed
    mean spend per transaction in place of the model's expected spend, and the difference.

    ``table`` is :func:`toolkit.clv.report.customer_value` output (frequency, monetary_value,
    expected_spend, clv). The band without repeat purchases has no observed repeat spend and keeps
    the model's CLV.
    """
    band = frequency_bands(table["frequency"], edges)
    x = table["frequency"].to_numpy(float)
    m = table["monetary_value"].to_numpy(float)
    frame = pd.DataFrame({"band": band, "x": x, "xm": x * np.clip(m, 0, None), "clv": table["clv"].to_numpy(float),
                          "spend": table["expected_spend"].to_numpy(float)})
    g = frame.groupby("band", observed=False)
    observed = (g["xm"].sum() / g["x"].sum().replace(0, np.nan))
    obs_c = frame["band"].map(observed).astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        alt = np.where(np.isfinite(obs_c) & (frame["spend"] > 0), frame["clv"] * obs_c / frame["spend"], frame["clv"])
    frame["alt"] = alt
    g = frame.groupby("band", observed=False)
    out = pd.DataFrame({"customers": g.size(), "mean_clv_model": g["clv"].mean(),
                        "mean_clv_observed_spend": g["alt"].mean()})
    out["difference"] = out["mean_clv_model"] / out["mean_clv_observed_spend"] - 1
    out["total_clv_model"] = g["clv"].sum()
    out["total_clv_observed_spend"] = g["alt"].sum()
    out.index.name = "frequency_band"
    return out
