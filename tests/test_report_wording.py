"""The report layer's sentences, conditions included, on small frames (toolkit.reports)."""
from __future__ import annotations

import pandas as pd
from scipy import stats

from toolkit.reports import churn as cr


def _overall(at_start: int, lost: int) -> pd.DataFrame:
    t = pd.DataFrame({"at_start": [at_start], "lost": [lost], "churn_rate": [lost / at_start if at_start else float("nan")]})
    t.attrs["start"] = pd.Timestamp("2025-07-01")
    return t


def test_the_yearly_churn_rate_with_its_count():
    text = cr.yearly_rate_sentence(_overall(160, 24), pd.Timestamp("2026-06-30"))
    assert text == ("Over the 12 months to 2026-06-30 the churn rate was **15.0%**: 24 of the 160 customers active "
                    "on 2025-07-01 left within the year.")


def test_no_customer_at_the_start_is_said_not_printed_as_nan():
    text = cr.yearly_rate_sentence(_overall(0, 0), pd.Timestamp("2026-06-30"))
    assert "nan" not in text and text.startswith("No customer was active on 2025-07-01")


def test_logrank_sentence_reads_the_test_and_says_when_there_is_none():
    chi2, df = 7.81, 3
    p = float(stats.chi2.sf(chi2, df))   # 0.05: the 95% critical value of chi-square on 3 df
    assert cr.logrank_sentence("region", chi2, df, p) == \
        f"- Survival by **region**: no difference beyond chance (chi-square 7.8 on 3 df, p = {p:.2g})."
    assert "the groups differ" in cr.logrank_sentence("region", 12.0, 3, float(stats.chi2.sf(12.0, 3)))
    assert cr.logrank_sentence("region", float("nan"), 5, float("nan")) == \
        "- Survival by **region**: not tested (no group has a churned customer to compare)."
    assert "fewer than two groups" in cr.logrank_sentence("region", float("nan"), 0, float("nan"))
