"""One action plan: each customer at most once, with one reason, a priority, a channel, an owner and a
due date, within each owner's weekly capacity, and its budget.

* **One reason**: of the reasons that apply to a customer, the first in ``precedence`` (config) wins.
* **Priority**: the expected value at stake (``reasons``: see :mod:`toolkit.actions.reasons`), highest
  first; priority 1 is the most valuable contact of the whole plan.
* **Strategy** per value tier (``strategy.default``), overridden by the first rule of
  ``strategy.rules`` whose tier, region and customer type match: a service level, an offer and the
  channels in order of preference.
* **Channel**: the first channel of the strategy's list that costs at most ``max_cost_share`` of the
  value at stake, else the cheapest of the list (without amounts: the cheapest).
* **Capacity**: each owner makes at most ``capacity.per_week`` contacts a week (``by_owner`` per
  owner); an owner's customers are scheduled by priority, week by week, for ``plan.weeks`` weeks; the
  rest do not fit and are reported with their value. The due date is the last day of the week.
* **Budget** (money): contact cost of the channel + offer cost x expected take-up; expected revenue
  saved = value at stake x take-up; ROI = (expected revenue saved - budget) / budget. Without
  amounts the value at stake is in purchases: no revenue and no ROI.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.actions.config import REASON_LABELS

PLAN_COLUMNS = ["customer_id", "priority", "reason", "reason_label", "owner", "week", "due_date", "channel",
                "service_level", "offer", "value_at_stake", "take_up", "expected_value", "contact_cost",
                "offer_cost", "budget", "region", "customer_type", "value_tier", "lifecycle_stage", "evidence"]


@dataclass
class ActionPlan:
    """The plan (``plan``: rows that fit), what did not fit (``overflow``) and the settings used."""

    plan: pd.DataFrame
    overflow: pd.DataFrame
    candidates: pd.DataFrame      # every (customer, reason) that applied, before precedence
    start: pd.Timestamp
    weeks: int
    capacity: dict[str, float]    # per owner
    unit: str                     # the unit of values at stake: the currency, or "expected purchases"
    money: bool

    @property
    def budget(self) -> float:
        return float(self.plan["budget"].sum())

    @property
    def expected_value(self) -> float:
        return float(self.plan["expected_value"].sum())

    @property
    def roi(self) -> float | None:
        if not self.money or self.budget <= 0:
            return None
        return (self.expected_value - self.budget) / self.budget

    def by_reason(self) -> pd.DataFrame:
        """Customers, value at stake, expected value and budget per reason, in precedence order."""
        g = self.plan.groupby("reason_label", sort=False)
        out = pd.DataFrame({"customers": g.size(), "value_at_stake": g["value_at_stake"].sum(),
                            "expected_value": g["expected_value"].sum(), "budget": g["budget"].sum()})
        over = self.overflow.groupby("reason_label", sort=False)
        out = out.join(pd.DataFrame({"not_fitted": over.size(), "value_not_fitted": over["value_at_stake"].sum()}),
                       how="outer").fillna(0)
        order = [REASON_LABELS[r] for r in REASON_LABELS]
        out = out.reindex([r for r in order if r in out.index])
        for c in ("customers", "not_fitted"):
            out[c] = out[c].astype("int64")
        out.index.name = "reason"
        return out

    def by_owner(self) -> pd.DataFrame:
        """Per owner: weekly capacity, contacts planned, not fitted and their value at stake."""
        owners = sorted(set(self.plan["owner"]) | set(self.overflow["owner"]) | set(self.capacity))
        p, o = self.plan.groupby("owner"), self.overflow.groupby("owner")
        out = pd.DataFrame({"capacity_per_week": pd.Series(self.capacity, dtype=float),
                            "planned": p.size(), "value_planned": p["value_at_stake"].sum(),
                            "not_fitted": o.size(), "value_not_fitted": o["value_at_stake"].sum()},
                           index=owners).fillna(0)
        for c in ("planned", "not_fitted"):
            out[c] = out[c].astype("int64")
        out.index.name = "owner"
        return out


def strategy_for(basis: pd.DataFrame, cfg: Mapping) -> pd.DataFrame:
    """Per customer: service_level, offer and channels (a list) of the strategy that applies."""
    st = cfg["strategy"]
    tier = basis["value_tier"].astype(str).where(basis["value_tier"].astype(str).isin(st["default"]), "none")
    service = tier.map({t: s["service"] for t, s in st["default"].items()})
    offer = tier.map({t: s["offer"] for t, s in st["default"].items()})
    channels = tier.map({t: tuple(s["channels"]) for t, s in st["default"].items()})
    done = pd.Series(False, index=basis.index)
    for rule in st["rules"]:
        m = (tier == rule["tier"]) & ~done
        if "region" in rule:
            m &= basis["region"].astype(str) == str(rule["region"])
        if "customer_type" in rule:
            m &= basis["customer_type"].astype(str) == rule["customer_type"]
        if "service" in rule:
            service[m] = rule["service"]
        if "offer" in rule:
            offer[m] = rule["offer"]
        if "channels" in rule:
            channels[m] = pd.Series([tuple(rule["channels"])] * int(m.sum()), index=m[m].index, dtype=object)
        done |= m
    return pd.DataFrame({"service_level": service, "offer": offer, "channels": channels})


def choose_channel(channels: tuple[str, ...], stake: float, costs: Mapping[str, float], max_share: float) -> str:
    """The first of ``channels`` costing at most ``max_share`` x ``stake``, else the cheapest of them."""
    for c in channels:
        if costs[c] <= max_share * stake:
            return c
    return min(channels, key=lambda c: (costs[c], channels.index(c)))


def one_per_customer(cands: pd.DataFrame, precedence: list[str]) -> pd.DataFrame:
    """Each customer once: the candidate row whose reason comes first in ``precedence``."""
    rank = {r: i for i, r in enumerate(precedence)}
    c = cands.assign(_rank=cands["reason"].map(rank))
    c = c.sort_values(["customer_id", "_rank"], kind="stable").drop_duplicates("customer_id")
    return c.drop(columns="_rank")


def capacities(owners, cfg: Mapping) -> dict[str, float]:
    cap = cfg["capacity"]
    return {str(o): float(cap["by_owner"].get(o, cap["per_week"])) for o in owners}


def build_plan(cands: pd.DataFrame, basis: pd.DataFrame, cfg: Mapping, as_of, money: bool = True,
               unit: str = "EUR") -> ActionPlan:
    """The action plan from the candidates of :func:`toolkit.actions.candidates`."""
    as_of = pd.Timestamp(as_of).normalize()
    start, weeks = as_of + pd.Timedelta(days=1), int(cfg["plan"]["weeks"])
    costs, max_share = cfg["channels"]["cost"], cfg["channels"]["max_cost_share"]
    one = one_per_customer(cands, list(cfg["precedence"])).set_index("customer_id")
    b = basis.reindex(one.index)
    strat = strategy_for(b, cfg)
    df = one.join(b[["owner", "region", "customer_type", "value_tier", "lifecycle_stage"]]).join(strat)
    reasons = cfg["reasons"]
    df["reason_label"] = df["reason"].map(REASON_LABELS)
    df["take_up"] = df["reason"].map({r: s["take_up"] for r, s in reasons.items()}).astype(float)
    df["expected_value"] = df["value_at_stake"] * df["take_up"]
    # the reason's offer where the reason has one of its own, else the tier's standing offer
    df["offer"] = df["reason"].map({r: s["offer"] for r, s in reasons.items()})
    df["offer_cost"] = df["reason"].map({r: s["offer_cost"] for r, s in reasons.items()}).astype(float)
    # without money the value at stake (purchases) cannot be set against a cost: the cheapest channel
    df["channel"] = [choose_channel(tuple(ch), s if money else 0.0, costs, max_share)
                     for ch, s in zip(df["channels"], df["value_at_stake"])]
    df["contact_cost"] = df["channel"].map(costs).astype(float)
    df["budget"] = df["contact_cost"] + df["offer_cost"] * df["take_up"]
    df = df.reset_index()
    df = df.assign(_id=df["customer_id"].astype(str)).sort_values(["expected_value", "_id"],
                                                                    ascending=[False, True], kind="stable")
    df["priority"] = np.arange(1, len(df) + 1, dtype=np.int64)
    cap = capacities(sorted(set(df["owner"])), cfg)
    slot = df.groupby("owner").cumcount().to_numpy()
    per = df["owner"].map(cap).to_numpy(float)
    week = (slot // per).astype(np.int64) + 1
    df["week"] = week
    df["due_date"] = start + pd.to_timedelta(7 * week - 1, unit="D")
    fits = week <= weeks
    cols = PLAN_COLUMNS
    plan = df.loc[fits, cols].reset_index(drop=True)
    over = df.loc[~fits, cols].reset_index(drop=True)
    over["due_date"] = pd.NaT
    return ActionPlan(plan, over, cands, start, weeks, cap, unit, money)
