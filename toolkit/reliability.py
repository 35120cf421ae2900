"""Cronbach's alpha: the internal consistency of a set of items (one place for the formula).

alpha = k / (k - 1) * (1 - sum of item variances / variance of the sum score), with sample
variances (ddof 1), on the rows that answered every item (listwise deletion).

The survey report (:mod:`toolkit.survey.reliability`, which re-exports :func:`cronbach_alpha`) and the
demo generator's ground truth (:mod:`toolkit.data.demo_activity`) both use it. It lives outside both
packages because ``toolkit.survey`` reads datasets through ``toolkit.data`` (``survey.quality`` uses
``toolkit.data.convert``): the data package importing the survey package would make the two packages
import each other. Like :mod:`toolkit.concentration` it needs nothing but numpy and pandas.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def cronbach_alpha(items: pd.DataFrame | np.ndarray) -> float:
    """Cronbach's alpha of the columns of ``items`` (a frame, or a 2-D array: rows = respondents).

    Complete rows only; NaN for fewer than 2 items or complete rows, or a sum score without variance.
    """
    x = (items if isinstance(items, pd.DataFrame) else pd.DataFrame(np.asarray(items, dtype=float))).dropna()
    k = x.shape[1]
    if k < 2 or len(x) < 2:
        return float("nan")
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - item_var / total_var))
