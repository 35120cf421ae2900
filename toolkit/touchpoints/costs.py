"""What contacts cost by channel: per contact, per converted customer and per purchase beyond the
baseline, from the costs per contact of the touchpoint config (assumptions, in the dataset's currency).

* ``total_cost``: every contact of the channel in the window times its cost per contact (complaint
  and service contacts cost the team too).
* ``outbound_cost``: the outbound contacts that could lead to a purchase (see
  :mod:`toolkit.touchpoints.conversion`).
* ``cost_per_converted_customer``: the cost of the outbound contacts whose N days ended by the as-of
  date / customers with such a contact on the channel followed by a purchase within N days. It
  credits the contacts with purchases that would have happened anyway.
* ``cost_per_extra_purchase``: cost per contact / uplift (the share of contacts followed by a purchase
  above the baseline), only where the uplift's interval lies above zero: what one purchase the
  baseline does not explain costs.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from toolkit.touchpoints.conversion import ALL, ConversionResult


def channel_costs(contacts: pd.DataFrame, costs: Mapping[str, float], conversion: ConversionResult | None,
                  outbound_kinds: tuple[str, ...]) -> pd.DataFrame:
    """Per channel used in ``contacts`` (the window's contacts) and for all channels: contacts, cost
    per contact (NaN where the config gives none), total and outbound cost, converted customers and
    the costs per converted customer and per extra purchase."""
    chans = list(dict.fromkeys(contacts["channel"]))
    if conversion is not None:
        chans = [c for c in conversion.channels if c in chans] + [c for c in chans if c not in conversion.channels]
    n = contacts.groupby("channel").size().reindex(chans).fillna(0)
    out_n = contacts.loc[contacts["kind"].isin(outbound_kinds)].groupby("channel").size().reindex(chans).fillna(0)
    unit = pd.Series({c: costs.get(c, np.nan) for c in chans}, dtype=float)
    t = pd.DataFrame({"contacts": n.astype("int64"), "cost_per_contact": unit, "total_cost": n * unit,
                      "outbound_contacts": out_n.astype("int64"), "outbound_cost": out_n * unit},
                     index=pd.Index(chans, name="channel"))
    if conversion is not None:
        conv = conversion.table.reindex(chans)
        t["customers_converted"] = conv["customers_converted"].fillna(0).astype("int64")
        # the contacts whose N days ended by the as-of date: those the converted customers are counted on
        counted_cost = conv["contacts"].fillna(0) * unit
        t["cost_per_converted_customer"] = (counted_cost / t["customers_converted"]).where(
            t["customers_converted"] > 0)
        # the uplift belongs to the contacts the conversion counted (window contacts with a complete N)
        up_ok = conv["uplift_lower"] > 0
        t["cost_per_extra_purchase"] = (unit / conv["uplift"]).where(up_ok & unit.notna())
    priced = t["cost_per_contact"].notna()
    total = {"contacts": int(t["contacts"].sum()), "cost_per_contact": (t.loc[priced, "total_cost"].sum()
                                                                         / max(int(t.loc[priced, "contacts"].sum()), 1))
             if priced.any() else np.nan,
             "total_cost": t.loc[priced, "total_cost"].sum() if priced.any() else np.nan,
             "outbound_contacts": int(t["outbound_contacts"].sum()),
             "outbound_cost": t.loc[priced, "outbound_cost"].sum() if priced.any() else np.nan}
    if conversion is not None:
        all_row = conversion.table.loc[ALL]
        total["customers_converted"] = int(all_row["customers_converted"])
        counted = float((conv["contacts"].fillna(0) * unit).sum())
        total["cost_per_converted_customer"] = (counted / total["customers_converted"]
                                                if total["customers_converted"] and priced.all() else np.nan)
        total["cost_per_extra_purchase"] = np.nan
    t.loc[ALL] = pd.Series(total)
    for c in ("contacts", "outbound_contacts") + (("customers_converted",) if conversion is not None else ()):
        t[c] = t[c].astype("int64")
    return t
