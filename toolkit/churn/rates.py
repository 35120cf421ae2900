"""Churn rates (customers lost in a period / customers at its start), cohort retention.

All functions take the frame of :func:`toolkit.churn.labels.churn_labels`. With dates, a customer is
*at the start* of a period when acquired before it and not churned before it, and *lost* when such a
customer churns within it (customers won and lost within the same period count in neither). Without
dates (a snapshot with a churn flag) the rate is the share flagged as churned.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.design import top_levels

_MONTHS = {"M": 1, "Q": 3, "Y": 12}
_FREQ_NAMES = {"M": "month", "Q": "quarter", "Y": "year"}


def _months(freq: str) -> int:
    key = freq.upper()[0]
    if key not in _MONTHS:
        raise ValueError(f"period {freq!r} must be M (month), Q (quarter) or Y (year)")
    return _MONTHS[key]


def _ordinal(dates: pd.Series, months: int) -> pd.Series:
    """Period number of each date (months since year 0 divided by the period length)."""
    return ((dates.dt.year * 12 + dates.dt.month - 1) // months).astype("Float64")


def _period_start(ordinal: int, months: int) -> pd.Timestamp:
    m = int(ordinal) * months
    return pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1)


def _rate_frame(g: pd.DataFrame) -> pd.DataFrame:
    g["churn_rate"] = g["lost"] / g["at_start"].where(g["at_start"] > 0)
    return g


def churn_rate(labels: pd.DataFrame, by: str | list[str] | None = None, start: object = None,
               end: object = None, max_groups: int | None = None) -> pd.DataFrame:
    """Churn rate over one window [start, end] (default: the 12 months up to ``as_of``), per group.

    Columns ``at_start``, ``lost``, ``churn_rate``; for undated labels ``at_start`` is every customer
    and ``lost`` those flagged as churned. ``max_groups`` keeps the largest groups and pools the rest.
    """
    keys = [by] if isinstance(by, str) else list(by or [])
    dated, as_of = labels.attrs.get("dated", True), labels.attrs.get("as_of")
    if max_groups and keys:
        labels = labels.assign(**{k: top_levels(labels[k], max_groups) for k in keys})
    if dated:
        as_of = pd.Timestamp(as_of)
        end = pd.Timestamp(end) if end is not None else as_of
        start = pd.Timestamp(start) if start is not None else end - pd.DateOffset(months=12) + pd.Timedelta(days=1)
        at_start = (labels["start"] < start) & (labels["churn_date"].isna() | (labels["churn_date"] >= start))
        lost = at_start & (labels["churn_date"] <= end)
    else:
        at_start = pd.Series(True, index=labels.index)
        lost = labels["churned"]
    frame = pd.DataFrame({"at_start": at_start.astype(int), "lost": lost.fillna(False).astype(int)})
    for k in keys:
        frame[k] = labels[k]
    if keys:
        g = frame.groupby(keys, sort=True, observed=True)[["at_start", "lost"]].sum()
    else:
        g = frame[["at_start", "lost"]].sum().to_frame("all customers").T
        g.index.name = "group"
    out = _rate_frame(g)
    out.attrs.update(start=start, end=end)
    return out


def churn_rates_by_period(labels: pd.DataFrame, freq: str = "Q", by: str | None = None) -> pd.DataFrame:
    """Churn rate per calendar period (M, Q or Y), optionally per group: long frame with ``period``,
    the group column, ``at_start``, ``lost``, ``churn_rate`` and ``complete`` (False for a period
    that runs past ``as_of``)."""
    if not labels.attrs.get("dated", True):
        raise ValueError("churn rates by period need dates; this dataset is a snapshot")
    months = _months(freq)
    as_of = pd.Timestamp(labels.attrs["as_of"])
    start_ord = _ordinal(labels["start"], months)
    churn_ord = _ordinal(labels["churn_date"], months)
    last = int(_ordinal(pd.Series([as_of]), months).iloc[0])
    first = int(start_ord.min()) + 1
    keys = [by] if by else []
    rows = []
    for p in range(first, last + 1):
        at_start = (start_ord < p) & (churn_ord.isna() | (churn_ord >= p))
        at_start = at_start.fillna(False).astype(bool)
        lost = at_start & (churn_ord == p).fillna(False).astype(bool)
        f = pd.DataFrame({"at_start": at_start.astype(int), "lost": lost.astype(int)})
        p0 = _period_start(p, months)
        if keys:
            f[by] = labels[by].to_numpy()
            g = f.groupby(by, sort=True)[["at_start", "lost"]].sum().reset_index()
        else:
            g = f.sum().to_frame().T
        g.insert(0, "period", p0)
        g["complete"] = (p0 + pd.DateOffset(months=months) - pd.Timedelta(days=1)) <= as_of
        rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    out = _rate_frame(out.loc[out["at_start"] > 0].reset_index(drop=True))
    out.attrs["period"] = _FREQ_NAMES[freq.upper()[0]]
    return out


def cohort_retention(labels: pd.DataFrame, freq: str = "Q") -> pd.DataFrame:
    """Share of each acquisition cohort still a customer at the end of its k-th period (k = 0, 1, ...).

    Rows: cohort (first day of the acquisition period); columns: periods since acquisition; cells not
    yet observable at ``as_of`` are NaN. ``frame.attrs['sizes']`` holds the cohort sizes.
    """
    if not labels.attrs.get("dated", True):
        raise ValueError("cohort retention needs acquisition dates; this dataset is a snapshot")
    months = _months(freq)
    as_of = pd.Timestamp(labels.attrs["as_of"])
    cohort = _ordinal(labels["start"], months)
    churn_k = _ordinal(labels["churn_date"], months) - cohort
    as_of_ord = int(_ordinal(pd.Series([as_of]), months).iloc[0])
    period_end = _period_start(as_of_ord + 1, months) - pd.Timedelta(days=1)
    complete = as_of_ord if as_of >= period_end else as_of_ord - 1
    cohorts = sorted(int(c) for c in cohort.dropna().unique())
    kmax = complete - cohorts[0] if cohorts else -1
    data, sizes = {}, {}
    for c in cohorts:
        members = (cohort == c).fillna(False).astype(bool)
        ks = churn_k[members]
        row = np.full(kmax + 1, np.nan)
        for k in range(0, complete - c + 1):
            row[k] = float((ks.isna() | (ks > k)).mean())
        start = _period_start(c, months)
        data[start] = row
        sizes[start] = int(members.sum())
    out = pd.DataFrame.from_dict(data, orient="index", columns=list(range(kmax + 1)))
    out.index.name = "cohort"
    out.columns.name = f"{_FREQ_NAMES[freq.upper()[0]]}s since acquisition"
    out.attrs["sizes"] = pd.Series(sizes, name="customers")
    return out


def tenure_bands(tenure: pd.Series, edges: tuple[int, ...] = (0, 6, 12, 24, 48)) -> pd.Series:
    """Tenure in months as ordered categorical bands ('0-6 months', '7-12 months', ..., '49+ months')."""
    labels, bins = [], list(edges) + [np.inf]
    for lo, hi in zip(bins[:-1], bins[1:]):
        first = lo + 1 if lo > 0 else 0
        labels.append(f"{first}+ months" if np.isinf(hi) else f"{first}-{int(hi)} months")
    cut = pd.cut(tenure, bins=[-np.inf] + list(edges[1:]) + [np.inf], labels=labels, right=True)
    text = cut.astype("object").where(tenure.notna(), "(missing)")
    return pd.Series(pd.Categorical(text, categories=labels + ["(missing)"], ordered=True), index=tenure.index,
                     name=tenure.name)


def cohort_column(labels: pd.DataFrame, freq: str = "Y") -> pd.Series:
    """Acquisition cohort label per customer: the acquisition year/quarter with dates, else tenure band."""
    if labels.attrs.get("dated", True) and labels["start"].notna().any():
        _months(freq)
        period = labels["start"].dt.to_period(freq.upper()[0]).astype(str)
        return period.where(labels["start"].notna(), "(missing)").rename("cohort")
    return tenure_bands(labels["duration"]).rename("cohort")
