"""Contact frequency against the tier policy: are customers contacted as often as the segmentation
strategy says?

The policy is the cadence of ``config/segmentation.yaml`` (``strategy.tiers.<tier>.cadence_days``,
scaled per RFM segment by ``cadence_factor``: :func:`toolkit.segmentation.contact_cadence`), i.e.
one contact every ``cadence_days`` days. Counted are the outbound contacts (``outbound_kinds``) of the
customers still active at the as-of date, over the window (or from their start, when later).
Contacts per quarter = contacts / days counted x 91.3125; the policy's contacts per quarter =
91.3125 / cadence days. A customer is *on policy* when they had at least as many contacts as whole
cadences fit into their days counted (customers counted for less than one cadence are left out of
that share).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.touchpoints.basis import TouchpointBasis

QUARTER_DAYS = 91.3125


def customer_cadence(basis: TouchpointBasis) -> pd.DataFrame:
    """Per active customer with a policy cadence: tier, segment, days counted, outbound contacts,
    contacts per quarter, the policy's contacts per quarter and whether they are on policy."""
    prof = basis.profile
    start = basis.start_days()
    churn = basis.churn_dates()
    started = (start <= basis.as_of_day) if (~np.isnan(start)).any() else np.ones(len(start), bool)
    ok = np.isnan(churn) & started & prof["cadence_days"].notna().to_numpy()
    lo = np.maximum(np.nan_to_num(start, nan=basis.window_start_day), basis.window_start_day)
    days = (basis.as_of_day - lo + 1)
    c = basis.contacts
    out_c = c.loc[c["kind"].isin(basis.config.outbound_kinds)]
    lo_s = pd.Series(lo, index=prof.index)
    after = out_c["day"].to_numpy() >= lo_s.reindex(out_c["customer_id"]).to_numpy()
    n = out_c.loc[after].groupby("customer_id").size().reindex(prof.index).fillna(0)
    cad = prof["cadence_days"].astype(float)
    t = pd.DataFrame({"value_tier": prof["value_tier"], "rfm_segment": prof["rfm_segment"], "days": days,
                      "contacts": n.astype("int64"), "cadence_days": cad}, index=prof.index).loc[ok]
    t["contacts_per_quarter"] = t["contacts"] / t["days"] * QUARTER_DAYS
    t["policy_per_quarter"] = QUARTER_DAYS / t["cadence_days"]
    due = np.floor(t["days"] / t["cadence_days"])
    t["on_policy"] = (t["contacts"] >= due).where(due >= 1)
    return t


def cadence_table(cust: pd.DataFrame, by: str = "value_tier", order: Sequence[str] | None = None) -> pd.DataFrame:
    """Per group (``by``): customers, quarters counted, contacts per quarter (actual and policy), their
    ratio, the share on policy and the share never contacted in the days counted."""
    g = cust.groupby(by, sort=False)
    q = g["days"].sum() / QUARTER_DAYS
    actual = g["contacts"].sum() / q
    policy = (cust["policy_per_quarter"] * cust["days"]).groupby(cust[by]).sum() / g["days"].sum()
    out = pd.DataFrame({"customers": g.size(), "quarters": q, "contacts": g["contacts"].sum(),
                        "contacts_per_quarter": actual, "policy_per_quarter": policy,
                        "policy_ratio": actual / policy,
                        "on_policy_share": g["on_policy"].apply(lambda s: s.dropna().astype(float).mean()
                                                                if s.notna().any() else np.nan),
                        "never_contacted_share": g["contacts"].apply(lambda s: float((s == 0).mean()))})
    if order is not None:
        out = out.reindex([o for o in order if o in out.index] + sorted(set(out.index) - set(order)))
    out.index.name = by
    return out.astype({"customers": "int64", "contacts": "int64"})
