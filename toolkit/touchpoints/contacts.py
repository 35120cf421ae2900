"""The contact log as the touchpoint report reads it, and contact counts by channel, kind and group.

:func:`prepare_contacts` keeps the contacts dated on or before the as-of date, adds ``day`` (days
since 1970) and sorts them by customer and day. The count tables say how many contacts each
channel and kind made, in which region, and how many contacts per customer each value tier and
RFM segment received.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.data.schema import CONTACT_CHANNELS, CONTACT_KINDS
from toolkit.touchpoints.customers import to_day

COLUMNS = ("customer_id", "date", "day", "channel", "kind", "outcome")


def prepare_contacts(interactions: pd.DataFrame, as_of) -> pd.DataFrame:
    """Contacts dated on or before ``as_of`` with ``day``, sorted by customer, day, kind and channel.
    ``outcome`` is kept when the log has it (missing otherwise)."""
    as_of = pd.Timestamp(as_of).normalize()
    ia = interactions.loc[interactions["customer_id"].notna() & interactions["date"].notna()].copy()
    ia["date"] = pd.to_datetime(ia["date"]).dt.normalize()
    ia = ia.loc[ia["date"] <= as_of]
    ia["customer_id"] = ia["customer_id"].astype(str)
    ia["day"] = to_day(ia["date"]).astype(np.int64)
    if "outcome" not in ia.columns:
        ia["outcome"] = None
    ia["channel"] = ia["channel"].astype(object)
    ia["kind"] = ia["kind"].astype(object)
    ia = ia.sort_values(["customer_id", "day", "kind", "channel"], kind="stable")
    return ia[list(COLUMNS)].reset_index(drop=True)


def has_outcomes(contacts: pd.DataFrame, kind: str | None = None) -> bool:
    """Whether any contact (of ``kind``) has an outcome."""
    rows = contacts if kind is None else contacts.loc[contacts["kind"] == kind]
    return bool(rows["outcome"].notna().any())


def _ordered(values: Sequence[str], known: Sequence[str]) -> list[str]:
    return [v for v in known if v in set(values)] + sorted(set(values) - set(known))


def channel_kind_table(contacts: pd.DataFrame) -> pd.DataFrame:
    """Contacts per channel (rows) and kind (columns), with totals and each channel's share."""
    t = pd.crosstab(contacts["channel"], contacts["kind"])
    t = t.reindex(index=_ordered(t.index, CONTACT_CHANNELS), columns=_ordered(t.columns, CONTACT_KINDS))
    t["all kinds"] = t.sum(axis=1)
    t["share"] = t["all kinds"] / max(int(t["all kinds"].sum()), 1)
    t.loc["all channels"] = t.sum(axis=0)
    t.loc["all channels", "share"] = 1.0 if len(contacts) else np.nan
    t.index.name = "channel"
    t.columns.name = None
    for c in t.columns:
        if c != "share":
            t[c] = t[c].astype("int64")
    return t


def contacts_long(contacts: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """Contacts and contacted customers per region, channel and kind (rows with contacts only)."""
    region = profile["region"].reindex(contacts["customer_id"]).fillna("unknown").to_numpy()
    df = contacts.assign(region=region)
    g = df.groupby(["region", "channel", "kind"], sort=True)
    out = pd.DataFrame({"contacts": g.size(), "customers": g["customer_id"].nunique()}).reset_index()
    return out.astype({"contacts": "int64", "customers": "int64"})


def region_channel_table(contacts: pd.DataFrame, profile: pd.DataFrame, customers: pd.Series) -> pd.DataFrame:
    """Per region: customers, contacts per customer on each channel and in all (``customers``:
    customers per region the contacts are divided by)."""
    region = profile["region"].reindex(contacts["customer_id"]).fillna("unknown")
    t = pd.crosstab(region.to_numpy(), contacts["channel"].to_numpy())
    t = t.reindex(columns=_ordered(t.columns, CONTACT_CHANNELS))
    n = customers.reindex(t.index).fillna(0)
    out = t.div(n.replace(0, np.nan), axis=0)
    out.insert(0, "contacts", t.sum(axis=1).astype("int64"))
    out.insert(0, "customers", n.astype("int64"))
    out["all channels"] = t.sum(axis=1) / n.replace(0, np.nan)
    out.index.name = "region"
    out.columns.name = None
    return out


def group_channel_table(contacts: pd.DataFrame, groups: pd.Series, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Per group of customers (``groups``: customer_id -> label, every customer of the population):
    customers, share of them contacted at all, and contacts per customer by channel and in all."""
    groups = groups.dropna()
    n = groups.value_counts()
    g = groups.reindex(contacts["customer_id"]).to_numpy()
    ok = pd.notna(g)
    t = pd.crosstab(g[ok], contacts["channel"].to_numpy()[ok]) if ok.any() else pd.DataFrame(index=n.index)
    t = t.reindex(index=n.index, columns=_ordered(t.columns, CONTACT_CHANNELS)).fillna(0)
    contacted = pd.Series(contacts["customer_id"].to_numpy()[ok]).drop_duplicates()
    reached = groups.reindex(contacted).value_counts().reindex(n.index).fillna(0)
    out = t.div(n, axis=0)
    out.insert(0, "contacted_share", reached / n)
    out.insert(0, "customers", n.astype("int64"))
    out["all channels"] = t.sum(axis=1) / n
    if order is not None:
        out = out.reindex([o for o in order if o in out.index] + sorted(set(out.index) - set(order)))
    out.index.name = groups.name or "group"
    out.columns.name = None
    return out
