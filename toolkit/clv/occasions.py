"""The purchases the CLV models see: purchase occasions, the log up to a date, first purchase amounts.

* :func:`purchase_occasions` — the transaction rows kept for the models: customer-days that hold
  only returns (negative rows) are not purchases and are left out, and counted (:class:`PurchaseLog`);
* :func:`purchases_until` — the rows dated on or before a day;
* :func:`first_purchase_amount` — each customer's net amount on the first purchase day;
* :func:`purchase_days` — one customer's distinct purchase days (for a P(alive) path).

Every query runs on the engine (:mod:`toolkit.engine`): a pandas frame comes back as its own rows,
a LazyFrame stays one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PurchaseLog", "purchase_occasions", "purchases_until", "first_purchase_amount", "purchase_days"]


@dataclass
class PurchaseLog:
    """Transactions the models use, and what was left out."""

    transactions: Any                # customer_id, date, amount (and the other columns) kept: a pandas
                                     # frame, or a LazyFrame when the log was one
    rows_in: int
    return_rows: int                 # rows with a negative amount (all of them, kept or not)
    return_only_days: int            # customer-days holding only returns: not purchase occasions
    return_only_value: float         # their (negative) net amount
    net_value: float                 # net amount of the rows kept
    notes: list[str] = field(default_factory=list)

    @property
    def returns_share(self) -> float:
        """Value returned on return-only days as a share of the net value of the purchase days."""
        return float(-self.return_only_value / self.net_value) if self.net_value > 0 else 0.0


def purchase_occasions(transactions: Any) -> PurchaseLog:
    """Leave out customer-days whose rows are all returns (negative amounts), and count them.

    A return is not a purchase: counted as an occasion it would add a "repeat purchase" with
    negative spend. Returns on a day with purchases stay (they net against that day's amount).
    Zero amounts are purchases (free items). Rows without a customer id or date are left out.
    ``transactions`` is a pandas frame or a LazyFrame (e.g. a dataset's ``transaction_log``); the
    engine counts and selects either way. The log's ``transactions`` are the kept rows in the form
    given: a LazyFrame, or the pandas frame's own rows (its columns, types, index and order). The
    return-only customer-days (one row each) come back once, so every later query of the kept rows
    anti-joins that small table.
    """
    from toolkit.engine import collect, drop_customer_days, engine_of, occasion_counts, return_only_days, scan

    lf, frame = _engine_rows(transactions)
    c = collect(occasion_counts(lf)).iloc[0]
    days = scan(collect(return_only_days(lf)), engine_of(lf)) if int(c["return_only_days"]) else None
    log = PurchaseLog(_rows_kept(drop_customer_days(lf, days), frame), int(c["rows_in"]), int(c["return_rows"]),
                      int(c["return_only_days"]), float(c["return_only_value"]), float(c["net_value"]))
    return _with_notes(log, int(c["dropped"]))


_ROW = "_custkit_row"   # a pandas frame's row positions, carried through an engine query


def _engine_rows(transactions: Any) -> tuple[Any, pd.DataFrame | None]:
    """``transactions`` as a LazyFrame (:func:`~toolkit.engine.as_log`) and the pandas frame they came
    from (None for anything else). A frame's rows carry their position in ``_ROW`` and only the
    model's columns are scanned: :func:`_rows_kept` takes the rows a query keeps back out of the frame."""
    from toolkit.engine import as_log

    if isinstance(transactions, pd.DataFrame):
        rows = transactions.assign(**{_ROW: np.arange(len(transactions), dtype=np.int64)})
        return as_log(rows, columns=(_ROW,)), transactions
    return as_log(transactions), None


def _rows_kept(kept: Any, frame: pd.DataFrame | None) -> Any:
    """The rows of the LazyFrame ``kept`` (a query of :func:`_engine_rows`' LazyFrame): as they are,
    or for a pandas ``frame`` its own rows, in their original order."""
    from toolkit.engine import collect

    if frame is None:
        return kept
    return frame.iloc[collect(kept.select(_ROW), sort=[_ROW])[_ROW].to_numpy(np.int64)]


def _with_notes(log: PurchaseLog, dropped: int) -> PurchaseLog:
    n_days = log.return_only_days
    if dropped:
        log.notes.append(f"{dropped:,} rows without a customer id or date were left out")
    if n_days:
        log.notes.append(f"{n_days:,} customer-days held only returns ({-log.return_only_value:,.2f} in value); "
                         "they are not purchase occasions and were left out of the models")
    return log


def purchases_until(transactions: Any, end) -> Any:
    """The rows dated on or before the day ``end``, selected by the engine: a pandas frame (its own
    rows) or a LazyFrame, as given."""
    from toolkit.engine import as_day, day_number

    lf, frame = _engine_rows(transactions)
    return _rows_kept(lf.filter(day_number("date") <= as_day(end)), frame)



def first_purchase_amount(transactions: Any, observation_end=None) -> pd.Series:
    """Net amount of each customer's first purchase day (up to ``observation_end``), summed by the
    engine; ``transactions`` is a pandas frame (the result then has its id and amount types) or a
    LazyFrame."""
    from toolkit.engine import as_day, as_log, collect, first_day_amount

    last_d = as_day(observation_end) if observation_end is not None else None
    got = collect(first_day_amount(as_log(transactions), last_d))
    ids, amounts = got["customer_id"].astype(object).to_numpy(), got["amount"].astype(float)
    if isinstance(transactions, pd.DataFrame):   # the types a group-by of the frame gives (integer sums are exact)
        ids = got["customer_id"].astype(transactions["customer_id"].dtype).infer_objects()
        amounts = amounts.astype(transactions["amount"].dtype)
    out = pd.Series(amounts.to_numpy(), index=pd.Index(ids, name="customer_id"), name="first_amount")
    return out.sort_index(kind="stable")


def purchase_days(transactions: Any, customer_id: Any, observation_end=None) -> pd.Series:
    """The distinct days (as Timestamps, ascending) on which ``customer_id`` has rows in
    ``transactions`` (a pandas frame or a LazyFrame of purchase occasions), up to ``observation_end``;
    selected by the engine, so a large log is never read into pandas."""
    import narwhals as nw

    from toolkit.engine import as_day, as_log, collect, day_number, day_to_date

    lf = as_log(transactions).filter(nw.col("customer_id") == customer_id)
    lf = lf.select(day_number("date").alias("d"))
    if observation_end is not None:
        lf = lf.filter(nw.col("d") <= as_day(observation_end))
    days = collect(lf.unique(), sort=["d"])["d"]
    return pd.Series(day_to_date(days.astype("int64")).to_numpy(), name="date")
