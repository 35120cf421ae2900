"""Reporting periods: calendar months or quarters up to the as-of date, and a trailing window.

A :class:`Periods` object holds consecutive, non-overlapping intervals ``[start_k, start_{k+1})``
with a label each; :meth:`Periods.index` assigns dates to them in one vectorised call
(-1 before the first, ``len`` on or after the end, -2 for missing dates).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FREQS = {"M": "M", "Q": "Q"}
WINDOW = "L12M"
PREVIOUS_WINDOW = "P12M"


@dataclass(frozen=True)
class Periods:
    """Consecutive periods: ``edges`` has one more element than ``labels``."""

    edges: pd.DatetimeIndex
    labels: tuple[str, ...]
    freq: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def starts(self) -> pd.DatetimeIndex:
        return self.edges[:-1]

    @property
    def ends(self) -> pd.DatetimeIndex:
        """Last day of each period (inclusive)."""
        return self.edges[1:] - pd.Timedelta(days=1)

    def index(self, dates: pd.Series) -> np.ndarray:
        """Period number of each date (-1 before, len(self) after, -2 for missing dates)."""
        values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
        idx = np.searchsorted(self.edges.to_numpy(dtype="datetime64[ns]"), values, side="right") - 1
        idx = np.where(idx > len(self), len(self), idx)
        return np.where(np.isnat(values), -2, idx).astype(np.int64)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"period": list(self.labels), "period_start": self.starts, "period_end": self.ends})


def calendar_periods(first: pd.Timestamp, as_of: pd.Timestamp, freq: str = "Q",
                     include_partial: bool = False) -> Periods:
    """Complete calendar months ("M") or quarters ("Q") from the one holding ``first`` to ``as_of``."""
    if freq not in FREQS:
        raise ValueError(f"period must be 'M' or 'Q', not {freq!r}")
    first, as_of = pd.Timestamp(first).normalize(), pd.Timestamp(as_of).normalize()
    prange = pd.period_range(first.to_period(freq), as_of.to_period(freq), freq=freq)
    if not include_partial and len(prange) and prange[-1].end_time.normalize() > as_of:
        prange = prange[:-1]
    if not len(prange):
        return Periods(pd.DatetimeIndex([first]), (), freq)
    starts = prange.to_timestamp(how="start")
    edges = starts.append(pd.DatetimeIndex([(prange[-1] + 1).to_timestamp(how="start")]))
    if include_partial:
        edges = edges[:-1].append(pd.DatetimeIndex([min(edges[-1], as_of + pd.Timedelta(days=1))]))
    return Periods(pd.DatetimeIndex(edges), tuple(str(p) for p in prange), freq)


def trailing_window(as_of: pd.Timestamp, months: int = 12) -> Periods:
    """The ``months`` ending on ``as_of`` (label ``L12M``) and as many months before it (``P12M``)."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    mid = end - pd.DateOffset(months=months)
    start = mid - pd.DateOffset(months=months)
    return Periods(pd.DatetimeIndex([start, mid, end]), (f"P{months}M", f"L{months}M"), f"{months}M")
