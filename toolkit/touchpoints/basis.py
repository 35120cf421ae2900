"""Everything the touchpoint analyses share: the contacts, the customers, their purchases and churn.

:func:`touchpoint_basis` builds it once from the tables of a dataset (any but the interactions may
be missing) and records what is missing, so each analysis can say what it cannot show.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.touchpoints.config import TouchpointConfig
from toolkit.touchpoints.contacts import prepare_contacts
from toolkit.touchpoints.customers import PurchaseIndex, customer_profile, purchase_days, to_day


@dataclass
class TouchpointBasis:
    """The shared inputs of the touchpoint analyses (days are days since 1970-01-01)."""

    as_of: pd.Timestamp
    window_days: int
    contacts: pd.DataFrame                 # every contact on or before as_of (see prepare_contacts)
    profile: pd.DataFrame                  # one row per customer (see customer_profile)
    config: TouchpointConfig
    seg_config: Mapping[str, Any]
    purchases: pd.DataFrame | None         # customer_id, day; None without transactions
    churn: pd.DataFrame | None             # churn labels (churned, churn_date) or None
    churn_note: str = ""                   # why there are no churn labels
    has_money: bool = True
    has_customers: bool = True
    dropped_future: int = 0                # contacts dated after as_of
    unknown_customers: int = 0             # contacts of customers not in the profile
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        ids = pd.Index(self.profile.index.astype(str)).union(pd.Index(self.contacts["customer_id"].unique()))
        self.codes = pd.Series(np.arange(len(ids)), index=ids)
        if self.purchases is not None:
            self.pindex = PurchaseIndex(self.code(self.purchases["customer_id"]), self.purchases["day"].to_numpy())
        else:
            self.pindex = None

    # ---------------------------------------------------------------- helpers
    def code(self, ids: pd.Series | np.ndarray) -> np.ndarray:
        return self.codes.reindex(pd.Index(np.asarray(ids, dtype=object))).to_numpy(dtype=np.int64)

    @property
    def as_of_day(self) -> int:
        return int(to_day(pd.Series([self.as_of]))[0])

    @property
    def window_start(self) -> pd.Timestamp:
        return self.as_of - pd.Timedelta(days=self.window_days - 1)

    @property
    def window_start_day(self) -> int:
        return self.as_of_day - self.window_days + 1

    @property
    def has_purchases(self) -> bool:
        return self.purchases is not None

    @property
    def has_tiers(self) -> bool:
        return bool(self.profile["value_tier"].notna().any())

    @property
    def contacts_window(self) -> pd.DataFrame:
        return self.contacts.loc[self.contacts["day"] >= self.window_start_day]

    @property
    def regions(self) -> list[str]:
        return sorted(self.profile["region"].dropna().astype(str).unique())

    def start_days(self) -> np.ndarray:
        """Per profile customer: the first day they were a customer (NaN when unknown)."""
        return to_day(self.profile["start"])

    def stop_days(self) -> np.ndarray:
        """Per profile customer: the churn day (when churned by as_of) or the as-of day."""
        churn = self.churn_dates()
        return np.where(np.isnan(churn), self.as_of_day, churn)

    def churn_dates(self) -> np.ndarray:
        """Per profile customer: the churn day by the churn labels, else the profile's churn date (NaN: none)."""
        if self.churn is not None:
            c = self.churn["churn_date"].where(self.churn["churned"]).reindex(self.profile.index)
            return to_day(c)
        return to_day(self.profile["churn_date"])

    def active_in_window(self) -> pd.Series:
        """Customers with an account open at some time in the window (started by as_of, not churned
        before the window)."""
        start, stop = self.start_days(), self.stop_days()
        # a customer without a start date (registered, never bought) is not counted, unless no
        # customer has a start date at all (then every customer is taken as started)
        started = (start <= self.as_of_day) if (~np.isnan(start)).any() else np.ones(len(start), bool)
        return pd.Series(started & (stop >= self.window_start_day), index=self.profile.index)


def touchpoint_basis(interactions: pd.DataFrame, transactions: Any, customers: pd.DataFrame | None, as_of,
                     window_days: int, config: TouchpointConfig, seg_config: Mapping[str, Any] | None = None,
                     churn: pd.DataFrame | None = None, churn_note: str = "", has_money: bool = True,
                     engine: str | None = None) -> TouchpointBasis:
    """The basis for the contacts of ``interactions`` on or before ``as_of``; ``transactions`` (a frame
    or LazyFrame) and ``customers`` may be None. ``window_days`` is the span counted by the contact
    tables, the conversion, the complaint rates and the cadence."""
    from toolkit.segmentation import load_config

    if int(window_days) < 1:
        raise ValueError(f"window_days must be at least 1 (got {window_days})")
    as_of = pd.Timestamp(as_of).normalize()
    seg = dict(seg_config or load_config())
    contacts = prepare_contacts(interactions, as_of)
    dropped = int((pd.to_datetime(interactions["date"]).dt.normalize() > as_of).sum())
    if transactions is None and customers is None:
        ids = pd.Index(sorted(contacts["customer_id"].unique()), name="customer_id")
        profile = pd.DataFrame({"region": "unknown", "customer_type": "unknown", "first_purchase": pd.NaT,
                                "start": pd.NaT, "churn_date": pd.NaT, "frequency": 0, "value_tier": None,
                                "rfm_segment": None, "cadence_days": np.nan}, index=ids)
    else:
        profile = customer_profile(transactions, customers, as_of, seg, has_money=has_money)
    purchases = purchase_days(transactions, as_of, has_money, engine) if transactions is not None else None
    unknown = int((~contacts["customer_id"].isin(profile.index)).sum())
    return TouchpointBasis(as_of=as_of, window_days=int(window_days), contacts=contacts, profile=profile,
                           config=config, seg_config=seg, purchases=purchases, churn=churn, churn_note=churn_note,
                           has_money=has_money, has_customers=customers is not None, dropped_future=dropped,
                           unknown_customers=unknown)
