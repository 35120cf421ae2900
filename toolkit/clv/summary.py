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

The work is one DuckDB query (hash aggregation, no Python loop over customers).
"""
from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

__all__ = ["TIME_UNITS", "rfm_summary", "unit_days"]

TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4, "Y": 365.25}


def unit_days(time_unit: str) -> float:
    """Length of a time unit in days ("D", "W", "M", "Q", "Y")."""
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, not {time_unit!r}") from None


def _as_date(value) -> date:
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    return ts.date()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rfm_summary(transactions: pd.DataFrame | str | os.PathLike | duckdb.DuckDBPyRelation,
                observation_end: str | date | datetime | pd.Timestamp,
                calibration_end: str | date | datetime | pd.Timestamp | None = None,
                time_unit: str = "W", *,
                customer_id_col: str = "customer_id", date_col: str = "date",
                amount_col: str = "amount") -> pd.DataFrame:
    """RFM summary per customer, indexed by customer id (see the module docstring).

    ``transactions`` is a DataFrame, a Parquet/CSV path or a DuckDB relation with the model
    columns ``customer_id``, ``date`` and ``amount`` (names configurable). Rows after
    ``observation_end`` are ignored. The result's ``attrs`` record the time unit and the dates.
    """
    u = unit_days(time_unit)
    obs = _as_date(observation_end)
    cal = _as_date(calibration_end) if calibration_end is not None else obs
    if cal > obs:
        raise ValueError("calibration_end must not be after observation_end")
    cid, dcol, amt = _quote(customer_id_col), _quote(date_col), _quote(amount_col)
    holdout = calibration_end is not None
    hold_cols = (f""",
       coalesce(h.n_h, 0)::DOUBLE AS frequency_holdout,
       coalesce(h.total_h / h.n_h, 0)::DOUBLE AS monetary_value_holdout,
       {(obs - cal).days / u!r}::DOUBLE AS duration_holdout""" if holdout else "")
    hold_join = """
LEFT JOIN (SELECT customer_id, count(*) AS n_h, sum(amount) AS total_h
           FROM occ WHERE d > $cal GROUP BY customer_id) h USING (customer_id)""" if holdout else ""
    sql = f"""
WITH occ AS (
    SELECT {cid} AS customer_id, CAST({dcol} AS DATE) AS d, sum({amt})::DOUBLE AS amount
    FROM tx
    WHERE CAST({dcol} AS DATE) <= $obs AND {cid} IS NOT NULL AND {dcol} IS NOT NULL
    GROUP BY ALL
), c AS (
    SELECT customer_id, min(d) AS first_d, max(d) AS last_d, count(*) AS n,
           sum(amount) AS total, arg_min(amount, d) AS first_amount
    FROM occ WHERE d <= $cal GROUP BY customer_id
)
SELECT c.customer_id,
       (n - 1)::DOUBLE AS frequency,
       date_diff('day', first_d, last_d) / {u!r} AS recency,
       date_diff('day', first_d, $cal) / {u!r} AS T,
       CASE WHEN n > 1 THEN (total - first_amount) / (n - 1) ELSE 0 END::DOUBLE AS monetary_value{hold_cols}
FROM c{hold_join}
ORDER BY c.customer_id
"""
    params = {"obs": obs, "cal": cal}
    if isinstance(transactions, duckdb.DuckDBPyRelation):
        con = duckdb.connect()
        try:
            con.register("tx", transactions.arrow() if hasattr(transactions, "arrow") else transactions.df())
            out = con.execute(sql, params).df()
        finally:
            con.close()
    else:
        con = duckdb.connect()
        try:
            if isinstance(transactions, pd.DataFrame):
                missing = {customer_id_col, date_col, amount_col} - set(transactions.columns)
                if missing:
                    raise KeyError(f"transactions lack columns {sorted(missing)}")
                con.register("tx", transactions)
            else:
                path = Path(transactions)
                if not path.exists():
                    raise FileNotFoundError(path)
                reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto"
                con.execute(f"CREATE VIEW tx AS SELECT * FROM {reader}(?)", [str(path)])
            out = con.execute(sql, params).df()
        finally:
            con.close()
    out = out.set_index("customer_id")
    out.attrs.update({"time_unit": time_unit, "observation_end": str(obs),
                      "calibration_end": str(cal) if holdout else None})
    return out
