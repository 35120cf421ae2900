"""Per-customer RFM summary (frequency, recency, T, monetary value) from a transaction log.

Conventions (as in Fader, Hardie & Lee 2005 and the lifetimes package):

* a purchase *occasion* is a customer-day: rows of one customer on one date are one occasion and
  their amounts (net revenue; returns are negative) are summed;
* ``frequency`` = occasions in the calibration period minus one (repeat occasions);
* ``recency`` = time from the first to the last occasion; ``T`` = time from the first occasion to
  the end of the calibration period (``calibration_end``, or ``observation_end`` without one);
* ``monetary_value`` = mean amount of the *repeat* occasions (0 when there are none);
* durations are whole days divided by the length of ``time_unit`` in days, not calendar periods:
  "D" = 1, "W" = 7, "M" = 365.25/12 = 30.4375, "Q" = 365.25/4 = 91.3125, "Y" = 365.25;
* with ``calibration_end``: customers whose first occasion falls after it are excluded, and
  ``frequency_holdout`` (occasions in (calibration_end, observation_end]),
  ``monetary_value_holdout`` (their mean amount, 0 when none) and ``duration_holdout`` are added.

The summary is one lazy query (:func:`toolkit.engine.rfm_frame`) executed by an engine: DuckDB
by default (DataFrames are scanned in place, Parquet/CSV paths read directly without loading
the log into pandas), Spark for logs beyond one machine, or pandas. Only the per-customer result
comes back to pandas; the engines give the same result (tested).
"""
from __future__ import annotations

import os
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.engine import as_day, collect, engine_of, model_columns, rfm_frame, scan

if TYPE_CHECKING:
    import duckdb

__all__ = ["TIME_UNITS", "rfm_summary", "unit_days"]

TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4, "Y": 365.25}


def unit_days(time_unit: str) -> float:
    """Length of a time unit in days ("D", "W", "M", "Q", "Y")."""
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, not {time_unit!r}") from None


def rfm_summary(transactions: "pd.DataFrame | str | os.PathLike | duckdb.DuckDBPyRelation | Any",
                observation_end: str | date | datetime | pd.Timestamp,
                calibration_end: str | date | datetime | pd.Timestamp | None = None,
                time_unit: str = "W", *,
                customer_id_col: str = "customer_id", date_col: str = "date",
                amount_col: str = "amount", engine: str | None = None) -> pd.DataFrame:
    """RFM summary per customer, indexed by customer id (see the module docstring).

    ``transactions`` is a DataFrame, a Parquet/CSV path (or folder of Parquet files), a DuckDB
    relation or a Spark DataFrame with the model columns ``customer_id``, ``date`` and ``amount``
    (names configurable). ``engine`` is "duckdb" (default), "spark" or "pandas" (see
    :mod:`toolkit.engine`). Rows after ``observation_end`` are ignored. The result's ``attrs``
    record the time unit, the dates and the engine.
    """
    u = unit_days(time_unit)
    obs_d = as_day(observation_end)
    cal_d = as_day(calibration_end) if calibration_end is not None else obs_d
    if cal_d > obs_d:
        raise ValueError("calibration_end must not be after observation_end")
    holdout = calibration_end is not None
    if isinstance(transactions, pd.DataFrame):
        transactions = model_columns(transactions, customer_id_col, date_col, amount_col)
        lf = scan(transactions, engine)
    else:
        lf = scan(transactions, engine)
        names = {customer_id_col: "customer_id", date_col: "date", amount_col: "amount"}
        if any(k != v for k, v in names.items()):
            lf = lf.rename({k: v for k, v in names.items() if k != v})
    out = collect(rfm_frame(lf, obs_d, cal_d, u, holdout), sort=["customer_id"]).set_index("customer_id")
    out.attrs.update({"time_unit": time_unit, "observation_end": str(pd.Timestamp(observation_end).date()),
                      "calibration_end": str(pd.Timestamp(calibration_end).date()) if holdout else None,
                      "engine": engine_of(lf) or "pandas"})
    return out
