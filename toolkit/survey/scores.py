"""CSAT and NPS per group with intervals, each group tested against the rest of the respondents.

* CSAT = share of answers in the top two points of the satisfaction scale (4-5 on 1-5, 9-10 on
  1-10, 6-7 on 1-7): Wilson interval, two-proportion z-test against the other groups combined.
* NPS = % promoters (9-10) - % detractors (0-6) of the 0-10 recommendation question, in points:
  bootstrap percentile interval and a z-test with the bootstrap standard error against the other
  groups combined.

p-values are adjusted across the groups of one breakdown (Holm or Benjamini-Hochberg).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.kpi import stats as S


def top2box(values: pd.Series, scale: tuple[float, float]) -> pd.Series:
    """1.0 for an answer in the top two points of ``scale``, 0.0 otherwise, NaN for no answer."""
    hi = scale[1]
    return (values >= hi - 1).astype(float).where(values.notna())


def nps_category(values: pd.Series) -> pd.Series:
    """promoter (9-10) / passive (7-8) / detractor (0-6); NaN for no answer."""
    cat = np.select([values >= 9, values >= 7, values >= 0], ["promoter", "passive", "detractor"], "")
    return pd.Series(cat, index=values.index).where(values.notna() & (cat != ""))


def _finish(out: pd.DataFrame, alpha: float, correction: str) -> pd.DataFrame:
    out["p_adj"] = S.adjust(out["p_value"].to_numpy(), correction)
    out["significant"] = (out["p_adj"] < alpha).fillna(False)
    out["direction"] = np.where(out["difference"] > 0, "higher", np.where(out["difference"] < 0, "lower", ""))
    return out


def csat_by(frame: pd.DataFrame, by: str | None, scale: tuple[float, float], alpha: float = 0.05,
            correction: str = "holm") -> pd.DataFrame:
    """CSAT per group of ``by`` (or overall when None) with Wilson interval and test vs the rest."""
    top = top2box(frame["overall_satisfaction"], scale)
    key = frame[by].astype(str) if by else pd.Series("all", index=frame.index)
    g = pd.DataFrame({"g": key, "t": top}).dropna().groupby("g")["t"]
    out = pd.DataFrame({"responses": g.size(), "top2": g.sum()})
    out.index.name = by or "group"
    n, k = out["responses"].to_numpy(float), out["top2"].to_numpy(float)
    out["csat"] = k / n
    out["ci_low"], out["ci_high"] = S.wilson(k, n, alpha)
    rest_k, rest_n = k.sum() - k, n.sum() - n
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rest"] = np.where(rest_n > 0, rest_k / rest_n, np.nan)
    out["difference"] = out["csat"] - out["rest"]
    out["p_value"] = S.two_proportion_z(k, n, rest_k, rest_n)[1]
    return _finish(out, alpha, correction)


def nps_by(frame: pd.DataFrame, by: str | None, alpha: float = 0.05, correction: str = "holm",
           n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """NPS per group with bootstrap interval and bootstrap test vs the rest of the respondents."""
    cat = nps_category(frame["nps"])
    key = frame[by].astype(str) if by else pd.Series("all", index=frame.index)
    counts = pd.crosstab(key[cat.notna()], cat.dropna()).reindex(columns=["promoter", "passive", "detractor"],
                                                                 fill_value=0)
    counts.index.name = by or "group"
    p, q, d = (counts[c].to_numpy(float) for c in ("promoter", "passive", "detractor"))
    n = p + q + d
    out = pd.DataFrame({"responses": n, "promoters": p / n, "passives": q / n, "detractors": d / n},
                       index=counts.index)
    out["nps"] = S.nps_value(p, d, n)
    out["ci_low"], out["ci_high"] = S.nps_bootstrap(p, q, d, alpha, n_boot, seed)
    rest = (p.sum() - p, q.sum() - q, d.sum() - d)
    out["rest"] = S.nps_value(rest[0], rest[2], sum(rest))
    out["difference"] = out["nps"] - out["rest"]
    out["p_value"] = S.nps_bootstrap_test((p, q, d), rest, n_boot, seed + 1)
    return _finish(out, alpha, correction)


def distribution(frame: pd.DataFrame, columns: list[str], scale: tuple[int, int]) -> pd.DataFrame:
    """Share of answers per scale point (columns) for each item (rows); answers only."""
    points = list(range(int(scale[0]), int(scale[1]) + 1))
    long = frame[columns].melt(var_name="item", value_name="answer").dropna()
    tab = pd.crosstab(long["item"], long["answer"].astype(int)).reindex(index=columns, columns=points, fill_value=0)
    tab.columns.name = "answer"
    out = tab.div(tab.sum(axis=1).replace(0, np.nan), axis=0)
    out["answers"] = tab.sum(axis=1)
    return out
