"""The most common touchpoint sequences before an event: a first purchase, or churn.

A customer's sequence is their last ``length`` contacts (oldest first, each named "channel kind",
e.g. "phone complaint") within ``lookback_days`` before the event: strictly before the day of a
first purchase (a contact on that day may be the sale itself), on or before the churn date. Customers
without a contact in that span have no sequence and are counted apart. For churn the same sequences
are read for the customers still active, before the as-of date, to show which are typical of leavers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ARROW = " → "


def contact_label(contacts: pd.DataFrame) -> pd.Series:
    return contacts["channel"].astype(str) + " " + contacts["kind"].astype(str)


def last_contacts(contacts: pd.DataFrame, events: pd.Series, length: int, lookback_days: int,
                  inclusive: bool) -> pd.Series:
    """Per customer of ``events`` (customer_id -> event day): the sequence label of their last
    ``length`` contacts before the event (on the event day too when ``inclusive``); customers without
    a contact in the ``lookback_days`` before are left out."""
    ev = events.dropna()
    c = contacts.loc[contacts["customer_id"].isin(ev.index)]
    d = ev.reindex(c["customer_id"]).to_numpy()
    day = c["day"].to_numpy()
    keep = (day <= d) if inclusive else (day < d)
    keep &= day > d - lookback_days - (0 if inclusive else 1)
    c = c.loc[keep].assign(label=contact_label(c.loc[keep]))
    c = c.sort_values(["customer_id", "day", "kind", "channel"], kind="stable").groupby("customer_id").tail(length)
    return c.groupby("customer_id", sort=True)["label"].agg(ARROW.join).rename("sequence")


def sequence_table(sequences: pd.Series, top: int, comparison: pd.Series | None = None) -> pd.DataFrame:
    """The ``top`` most common sequences: customers and share of the customers with a sequence (and,
    with ``comparison``, the share of the comparison customers with the same sequence and the ratio)."""
    counts = sequences.value_counts()
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))]
    t = pd.DataFrame({"customers": counts.head(top), "share": counts.head(top) / max(len(sequences), 1)})
    if comparison is not None:
        other = comparison.value_counts().reindex(t.index).fillna(0)
        t["share_of_active"] = other / len(comparison) if len(comparison) else np.nan
        t["ratio_to_active"] = (t["share"] / t["share_of_active"]).where(t["share_of_active"] > 0)
    t.index.name = "sequence"
    return t.astype({"customers": "int64"})
