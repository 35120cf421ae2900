"""Who has churned, and when: churn labels under three definitions.

``explicit``   contractual data: the customer table's churn date (or, without dates, its churn flag).
``inactivity`` non-contractual data: no purchase for ``inactivity_days``; the churn date is the last
               purchase plus that many days.
``p_alive``    non-contractual data: the BG/NBD probability of being alive (from :mod:`toolkit.clv`)
               below ``p_alive_threshold``; the churn date is the last purchase (the last sign of life).

Every function takes the date the labels are read at (``as_of``) and uses nothing dated after it.
Purchases are aggregated per customer by the dataset's engine (:mod:`toolkit.engine`), without
reading the transaction rows into pandas.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.data.errors import InsufficientDataError, MissingTableError
from toolkit.engine import as_day, collect, purchase_dates, transaction_log

DEFINITIONS = ("explicit", "inactivity", "p_alive")
ATTRIBUTES = ("region", "segment", "customer_type", "acquisition_channel", "contract")
DAYS_PER_MONTH = 30.4375


def has_transactions(ds: Any) -> bool:
    """Whether ``ds`` has transactions (asked without reading them)."""
    return ds.has("transactions") if hasattr(ds, "has") else getattr(ds, "transactions", None) is not None


def _purchase_dates(ds: Any, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """First and last positive purchase per customer (dates normalised; up to ``as_of`` inclusive),
    indexed by customer_id in sorted order."""
    out = collect(purchase_dates(transaction_log(ds), as_day(as_of) if as_of is not None else None),
                  sort=["customer_id"])
    index = pd.Index(out["customer_id"].astype(object).to_numpy(), name="customer_id")
    return pd.DataFrame({c: pd.to_datetime(out[c]).dt.normalize().astype("datetime64[ns]").to_numpy()
                         for c in ("first", "last")}, index=index)


def customer_table(ds: Any) -> pd.DataFrame:
    """The customer table indexed by customer_id (one row each); for transaction-only datasets, one row
    per buyer with the first purchase as acquisition date and region 'unknown'."""
    if getattr(ds, "customers", None) is not None:
        return ds.customers.drop_duplicates("customer_id").set_index("customer_id")
    if not has_transactions(ds):
        ds.require("customers")
    first = _purchase_dates(ds)["first"]
    return pd.DataFrame({"region": "unknown", "acquisition_date": first.astype("datetime64[ns]")})


def is_dated(ds: Any, definition: str = "explicit") -> bool:
    """True when churn can be placed in time (dates exist for the definition), False for snapshots."""
    if definition != "explicit":
        return True
    cu = customer_table(ds)
    # a mapped churn-date column counts even when nobody has churned yet (then every customer is censored)
    return bool("churn_date" in cu.columns
                and "acquisition_date" in cu.columns and cu["acquisition_date"].notna().any())


def _as_of(ds: Any, as_of: Any) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp(ds.as_of).normalize()


def _purchases(ds: Any, as_of: pd.Timestamp) -> pd.DataFrame:
    """First and last positive purchase per customer up to ``as_of`` (inclusive)."""
    if not has_transactions(ds):
        raise MissingTableError("this churn definition needs a transactions table, which the dataset does not have")
    return _purchase_dates(ds, as_of)


def _p_alive(ds: Any, as_of: pd.Timestamp) -> pd.Series:
    """P(alive) at ``as_of`` from a BG/NBD model fitted on the purchases up to ``as_of``."""
    try:
        from toolkit.clv import BetaGeo, rfm_summary  # lazy: toolkit.clv is optional
    except ImportError as exc:
        raise ValueError("churn_definition='p_alive' needs toolkit.clv (BetaGeo, rfm_summary), which is not "
                         "available; use 'inactivity' instead") from exc
    summary = rfm_summary(transaction_log(ds), observation_end=as_of)   # rows after as_of are not read
    if "customer_id" in summary.columns:
        summary = summary.set_index("customer_id")
    model = BetaGeo().fit(summary)
    p = model.prob_alive(summary["frequency"], summary["recency"], summary["T"])
    return pd.Series(np.asarray(p, dtype=float), index=summary.index, name="p_alive")


def churn_labels(ds: Any, definition: str = "explicit", as_of: Any = None, inactivity_days: int = 180,
                 p_alive_threshold: float = 0.5, attributes: tuple[str, ...] = ATTRIBUTES) -> pd.DataFrame:
    """Churn status of every customer who had started by ``as_of``.

    Returns a frame indexed by ``customer_id`` with ``start`` (acquisition or first purchase),
    ``churn_date`` (NaT unless churned, or when only a flag is known), ``churned``, ``active``,
    ``duration`` (days from start to churn or ``as_of``; for undated snapshots the ``tenure``
    column, in months) and the customer attributes in ``attributes`` that exist. ``frame.attrs``
    records the definition, ``as_of``, ``time_unit`` (``days`` / ``months``) and ``dated``.
    """
    if definition not in DEFINITIONS:
        raise ValueError(f"churn definition {definition!r} is not one of {', '.join(DEFINITIONS)}")
    as_of = _as_of(ds, as_of)
    cu = customer_table(ds)
    dated = is_dated(ds, definition)
    out = pd.DataFrame(index=cu.index)
    p_alive = None
    if definition == "explicit" and dated:
        start = pd.to_datetime(cu["acquisition_date"]).dt.normalize()
        churn = pd.to_datetime(cu["churn_date"]).dt.normalize()
        keep = start.notna() & (start <= as_of)
        out["start"] = start
        out["churned"] = churn.notna() & (churn <= as_of)
        out["churn_date"] = churn.where(out["churned"])
    elif definition == "explicit":
        if "churned" not in cu.columns or cu["churned"].isna().all():
            raise InsufficientDataError("churn_definition='explicit' needs a churn flag or churn dates in the customer table; "
                             "for purchase data use 'inactivity' or 'p_alive'")
        if pd.Timestamp(as_of) != pd.Timestamp(ds.as_of).normalize():
            raise InsufficientDataError("the dataset has a churn flag but no dates, so labels exist only at its own as-of date")
        keep = cu["churned"].notna()
        out["start"] = pd.NaT
        out["churned"] = cu["churned"].fillna(False).astype(bool)
        out["churn_date"] = pd.NaT
    else:
        buys = _purchases(ds, as_of).reindex(cu.index)
        acq = pd.to_datetime(cu["acquisition_date"]).dt.normalize() if "acquisition_date" in cu else None
        start = buys["first"] if acq is None else acq.where(acq.notna() & (acq <= buys["first"]), buys["first"])
        keep = buys["last"].notna()
        out["start"] = start
        if definition == "inactivity":
            lapse = buys["last"] + pd.Timedelta(days=int(inactivity_days))
            out["churned"] = keep & (lapse <= as_of)
            out["churn_date"] = lapse.where(out["churned"])
        else:
            p_alive = _p_alive(ds, as_of).reindex(cu.index)
            out["churned"] = keep & (p_alive < p_alive_threshold).fillna(False)
            out["churn_date"] = buys["last"].where(out["churned"])
    out["churned"] = out["churned"].astype(bool)
    out["churn_date"] = pd.to_datetime(out["churn_date"]).astype("datetime64[ns]")
    out["start"] = pd.to_datetime(out["start"]).astype("datetime64[ns]")
    out["active"] = ~out["churned"]
    if dated:
        end = out["churn_date"].fillna(as_of)
        out["duration"] = (end - out["start"]).dt.days.astype(float)
    else:
        out["duration"] = pd.to_numeric(cu["tenure"], errors="coerce").astype(float) if "tenure" in cu else np.nan
    if p_alive is not None:
        out["p_alive"] = p_alive
    for a in attributes:
        if a in cu.columns and a not in out.columns:
            out[a] = cu[a].astype("object").where(cu[a].notna(), "(missing)").map(str)
    out = out.loc[keep.reindex(out.index).fillna(False).astype(bool)]
    out.attrs.update(definition=definition, as_of=as_of, dated=dated, time_unit="days" if dated else "months",
                     inactivity_days=int(inactivity_days), p_alive_threshold=float(p_alive_threshold))
    return out


def window_labels(ds: Any, cutoff: Any, horizon_days: int, definition: str = "explicit",
                  inactivity_days: int = 180, p_alive_threshold: float = 0.5) -> pd.Series:
    """For customers active at ``cutoff``: did they churn within the next ``horizon_days``? (bool Series)

    Reads the status at ``cutoff`` and at ``cutoff + horizon_days``; only the label looks past the cutoff.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    kw = dict(definition=definition, inactivity_days=inactivity_days, p_alive_threshold=p_alive_threshold,
              attributes=())
    before = churn_labels(ds, as_of=cutoff, **kw)
    if not before.attrs["dated"]:
        raise InsufficientDataError("the dataset has no dates, so churn cannot be placed in a time window")
    after = churn_labels(ds, as_of=cutoff + pd.Timedelta(days=int(horizon_days)), **kw)
    population = before.index[before["active"].to_numpy()]
    y = after["churned"].reindex(population).fillna(False).astype(bool)
    y.name = "churned"
    y.attrs.update(cutoff=cutoff, horizon_days=int(horizon_days), definition=definition)
    return y
