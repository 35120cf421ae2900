"""Segment migration: RFM segments at two dates and the customers and revenue moving between them.

At each as-of date (``t0`` and ``t1``) the customer features are computed with
:func:`~toolkit.segmentation.features.customer_features` from the rows dated on or before that day
only, scored with :func:`~toolkit.segmentation.rfm.rfm_scores` and named with the rule table of
``config/segmentation.yaml`` (:func:`~toolkit.segmentation.rfm.assign_segments`).

Every customer known at ``t1`` (registered by then, or with a transaction by then) is in exactly one
segment at each date: the named RFM segments, ``"No purchase"`` (registered, no purchase yet) or,
at ``t0`` only, ``"Not yet a customer"`` (acquired after ``t0``). The rule table is checked to be a
partition of the score grid first (:func:`check_partition`: each of the bins^3 (R, F, M) score
combinations matched by exactly one rule), so no customer can be unmatched or claimed twice.

Revenue convention: the revenue of a cell is the net revenue (purchases minus returns) of the
cell's customers in the period between the dates, from rows dated after ``t0`` up to and including
``t1``; it is what the customers who made that move brought in while making it.

The transactions are a pandas frame or a LazyFrame (a dataset's ``transaction_log``), aggregated
per customer by an engine (:mod:`toolkit.engine`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.segmentation.config import ConfigError, load_config
from toolkit.segmentation.features import _without_outliers, customer_features
from toolkit.segmentation.rfm import NO_PURCHASE, UNMATCHED, assign_segments, rfm_scores, segment_order

__all__ = ["NOT_YET", "Migration", "check_partition", "migration_directions", "migration_from_dataset",
           "rule_matches", "segment_migration", "segment_rank", "segments_at"]

NOT_YET = "Not yet a customer"
_KEYS = {"r": "R", "f": "F", "m": "M", "fm": "FM"}


def rule_matches(rules: Sequence[Mapping], bins: int = 5) -> pd.DataFrame:
    """Every (R, F, M) score combination with its FM score, the number of rules whose ranges all
    contain it (``n_rules``) and the segment it gets (the first of them)."""
    grid = np.array(np.meshgrid(*[np.arange(1, bins + 1)] * 3, indexing="ij")).reshape(3, -1).T
    s = pd.DataFrame(grid, columns=["R", "F", "M"])
    s["FM"] = (s["F"] + s["M"] + 1) // 2
    hits = np.zeros((len(s), len(rules)), dtype=bool)
    for j, rule in enumerate(rules):
        ok = np.ones(len(s), dtype=bool)
        for key, col in _KEYS.items():
            if key in rule:
                lo, hi = rule[key]
                ok &= (s[col] >= lo).to_numpy() & (s[col] <= hi).to_numpy()
        hits[:, j] = ok
    s["n_rules"] = hits.sum(axis=1)
    s["segment"] = assign_segments(s.astype("Int64"), rules).to_numpy()
    s["matching_rules"] = [", ".join(r["name"] for r, h in zip(rules, row) if h) for row in hits]
    return s


def check_partition(rules: Sequence[Mapping], bins: int = 5) -> pd.DataFrame:
    """Raise :class:`ConfigError` unless each of the bins^3 score combinations matches exactly one
    rule (mutually exclusive and complete segments); returns :func:`rule_matches` otherwise."""
    tab = rule_matches(rules, bins)
    none = tab.loc[tab["n_rules"] == 0, ["R", "F", "M"]]
    many = tab.loc[tab["n_rules"] > 1]
    if len(none) or len(many):
        parts = []
        if len(none):
            parts.append(f"{len(none)} score combination(s) match no rule, e.g. (R, F, M) = "
                         f"{tuple(int(v) for v in none.iloc[0])}")
        if len(many):
            r = many.iloc[0]
            parts.append(f"{len(many)} match several rules, e.g. ({r.R}, {r.F}, {r.M}): {r.matching_rules}")
        raise ConfigError("the RFM rule table is not a partition of the score grid: " + "; ".join(parts))
    return tab


def segment_rank(grid: pd.DataFrame) -> pd.Series:
    """Rank score per segment: the mean R + FM of the score combinations its rule covers (from
    :func:`check_partition`); customers without a purchase rank 0."""
    rank = grid.assign(score=grid["R"] + grid["FM"]).groupby("segment")["score"].mean()
    rank[NO_PURCHASE] = 0.0
    return rank


def migration_directions(table: pd.DataFrame, rank: pd.Series) -> pd.DataFrame:
    """The migration's long table with a ``direction`` per cell: joined (not yet a customer at t0),
    stayed, improved or slipped (to a higher / lower ranked segment) or sideways (equal rank)."""
    cells = table.copy()
    r0, r1 = cells["segment_t0"].map(rank), cells["segment_t1"].map(rank)
    cells["direction"] = np.select([cells["segment_t0"] == NOT_YET, cells["segment_t0"] == cells["segment_t1"],
                                    r1 > r0, r1 < r0], ["joined", "stayed", "improved", "slipped"], "sideways")
    return cells


def segments_at(transactions: Any, customers: pd.DataFrame | None, as_of, rules: Sequence[Mapping],
                bins: int = 5, exclude_outliers: bool = False) -> pd.DataFrame:
    """Features, RFM scores and ``rfm_segment`` of every customer known at ``as_of`` (nothing after it)."""
    feats = customer_features(transactions, customers, as_of, exclude_outliers=exclude_outliers)
    scores = rfm_scores(feats, bins)
    out = feats[["frequency", "recency_days", "monetary"]].join(scores[["R", "F", "M", "FM"]])
    out["rfm_segment"] = assign_segments(scores, rules)
    return out


@dataclass
class Migration:
    """Segment migration between ``t0`` and ``t1``.

    ``customers`` and ``revenue`` are matrices (rows: segment at t0, columns: segment at t1);
    ``table`` is the long form with each cell's share of its t0 segment; ``segments`` has one row
    per customer with both labels and the period revenue.
    """

    t0: pd.Timestamp
    t1: pd.Timestamp
    segments: pd.DataFrame
    customers: pd.DataFrame
    revenue: pd.DataFrame
    table: pd.DataFrame
    revenue_basis: str = "net revenue in the period after t0 up to and including t1"

    @property
    def n_customers(self) -> int:
        return len(self.segments)

    def summary(self) -> pd.DataFrame:
        """Per segment: customers at t0 and at t1, the share of the t0 customers still there at t1,
        and the period revenue of the customers who started in it."""
        c = self.customers
        stay = pd.Series({s: c.loc[s, s] if s in c.columns else 0 for s in c.index}, dtype=float)
        out = pd.DataFrame({"customers_t0": c.sum(axis=1), "customers_t1": c.sum(axis=0).reindex(c.index),
                            "stayed": stay})
        out["stay_share"] = out["stayed"] / out["customers_t0"].where(out["customers_t0"] > 0)
        out["period_revenue"] = self.revenue.sum(axis=1)
        extra = [s for s in c.columns if s not in out.index]
        if extra:
            out = pd.concat([out, pd.DataFrame({"customers_t0": 0, "customers_t1": c[extra].sum(axis=0)})])
        out.index.name = "segment"
        return out


def _period_revenue(transactions: Any, t0: pd.Timestamp, t1: pd.Timestamp,
                    exclude_outliers: bool) -> pd.Series:
    """Net revenue per customer of the rows dated after ``t0`` up to and including ``t1``, summed by the engine."""
    from toolkit.engine import as_day, as_log, collect, net_revenue

    tx = _without_outliers(transactions) if exclude_outliers else transactions
    got = collect(net_revenue(as_log(tx), as_day(t0) + 1, as_day(t1)), sort=["customer_id"])
    return pd.Series(got["amount"].to_numpy(float), index=pd.Index(got["customer_id"].astype(object).to_numpy(),
                                                                     name="customer_id"), name="amount")


def segment_migration(transactions: Any, customers: pd.DataFrame | None, t0, t1,
                      rules: Sequence[Mapping] | None = None, bins: int | None = None,
                      config: Mapping[str, Any] | None = None, exclude_outliers: bool = False) -> Migration:
    """RFM segments at ``t0`` and ``t1`` (calendar days; t0 < t1) and the migration matrices.

    ``transactions`` is a pandas frame or a LazyFrame (see :func:`customer_features`).

    ``rules``/``bins`` default to the segmentation config (``config`` or ``config/segmentation.yaml``).
    """
    t0, t1 = pd.Timestamp(t0).normalize(), pd.Timestamp(t1).normalize()
    if not t0 < t1:
        raise ValueError("t0 must be before t1")
    cfg = config if config is not None else (load_config() if rules is None or bins is None else None)
    rules = list(rules if rules is not None else cfg["rfm"]["segments"])
    bins = int(bins if bins is not None else cfg["rfm"].get("bins", 5))
    check_partition(rules, bins)

    s0 = segments_at(transactions, customers, t0, rules, bins, exclude_outliers)
    s1 = segments_at(transactions, customers, t1, rules, bins, exclude_outliers)
    if not s0.index.isin(s1.index).all():       # cannot happen: everything known at t0 is known at t1
        raise RuntimeError("customers known at t0 are missing at t1")
    seg = pd.DataFrame({"segment_t0": s0["rfm_segment"].reindex(s1.index).fillna(NOT_YET),
                        "segment_t1": s1["rfm_segment"]}, index=s1.index)
    for col in ("segment_t0", "segment_t1"):
        if (seg[col] == UNMATCHED).any():       # excluded by check_partition; kept as a guard
            raise RuntimeError(f"{int((seg[col] == UNMATCHED).sum())} customers matched no rule")
    if not seg.index.is_unique:
        raise RuntimeError("a customer appears twice")
    seg["period_revenue"] = _period_revenue(transactions, t0, t1, exclude_outliers).reindex(seg.index).fillna(0.0)

    order = [s for s in segment_order(rules) if s != UNMATCHED]
    rows = [NOT_YET] + order
    counts = pd.crosstab(seg["segment_t0"], seg["segment_t1"]).reindex(index=rows, columns=order, fill_value=0)
    revenue = seg.pivot_table(index="segment_t0", columns="segment_t1", values="period_revenue", aggfunc="sum",
                              fill_value=0.0, observed=True).reindex(index=rows, columns=order, fill_value=0.0)
    counts = counts.loc[counts.sum(axis=1) > 0]
    revenue = revenue.loc[counts.index]
    counts.index.name, counts.columns.name = "segment_t0", "segment_t1"
    revenue.index.name, revenue.columns.name = "segment_t0", "segment_t1"
    if int(counts.to_numpy().sum()) != len(seg):
        raise RuntimeError("the migration matrix does not add up to the customer count")

    long = counts.stack().rename("customers").to_frame()
    long["share_of_t0"] = long["customers"] / counts.sum(axis=1).reindex(long.index.get_level_values(0)).to_numpy()
    long["revenue"] = revenue.stack().reindex(long.index).to_numpy()
    long = long.loc[long["customers"] > 0].reset_index()
    return Migration(t0, t1, seg, counts, revenue, long)


def migration_from_dataset(ds, t0, t1=None, config: Mapping[str, Any] | None = None, **kwargs: Any) -> Migration:
    """:func:`segment_migration` for a loaded :class:`~toolkit.data.Dataset` (``t1`` defaults to ``ds.as_of``)."""
    from toolkit.engine import transaction_log

    ds.require("transactions")
    return segment_migration(transaction_log(ds), ds.customers, t0, t1 if t1 is not None else ds.as_of,
                             config=config, **kwargs)
