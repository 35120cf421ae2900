"""All segmentations of one dataset in one call: RFM, tiers, type, lifecycle, demographics, clusters.

:func:`segment_customers` computes the per-customer features once and derives every segmentation
from them; the result's ``customers`` table has one row per customer and is what the notebook
exports. Regional views and strategy tables are computed from that table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.segmentation import lifecycle, rfm, tiers
from toolkit.segmentation.clustering import ClusterFeatures, CustomerSegmenter
from toolkit.segmentation.config import load_config
from toolkit.segmentation.features import category_revenue, customer_features
from toolkit.segmentation.personas import persona_labels, personas
from toolkit.segmentation.strategy import contact_cadence

EXPORT_COLUMNS = ("region", "customer_type", "segment", "first_purchase", "last_purchase", "recency_days",
                  "frequency", "monetary", "avg_order_value", "revenue_12m", "R", "F", "M", "rfm_code",
                  "rfm_segment", "value", "value_tier", "lifecycle_stage", "cluster", "persona", "age_band",
                  "income_band", "gender", "occupation", "cadence_days")


@dataclass
class Segmentation:
    """The outcome of :func:`segment_customers`."""

    as_of: pd.Timestamp
    config: dict[str, Any]
    features: pd.DataFrame            # per customer (index customer_id): RFM and companion features
    scores: pd.DataFrame              # R, F, M, FM, rfm_code, rfm_total
    customers: pd.DataFrame           # one row per customer: every segmentation side by side
    cluster_features: ClusterFeatures
    segmenter: CustomerSegmenter
    X: np.ndarray                     # clustering matrix of the buyers (rows in ``buyers`` order)
    buyers: pd.Index
    personas: pd.DataFrame
    categories: pd.DataFrame
    value_basis: str = "net revenue"
    notes: list[str] = field(default_factory=list)

    def export_table(self) -> pd.DataFrame:
        """The per-customer segment table with ``customer_id`` as a column (for RunResults.export)."""
        cols = [c for c in EXPORT_COLUMNS if c in self.customers.columns]
        return self.customers[cols].reset_index()


def segment_customers(transactions: Any, customers: pd.DataFrame | None, as_of,
                      config: Mapping | None = None, *, features: Sequence[str] | None = None,
                      k_range: Sequence[int] | None = None, tier_cutoffs: Sequence[float] | None = None,
                      value: pd.Series | None = None, value_basis: str = "net revenue", seed: int = 0,
                      method: str | None = None, n_bootstrap: int | None = None) -> Segmentation:
    """Every segmentation of the customers at ``as_of`` (nothing after it is used).

    ``transactions`` is a pandas frame or a LazyFrame (a dataset's ``transaction_log``), aggregated
    per customer by an engine.
    ``features``, ``k_range``, ``tier_cutoffs``, ``method`` and ``n_bootstrap`` override the
    config's ``clustering`` / ``tiers`` settings. ``value`` (e.g. predicted CLV per customer id)
    replaces net revenue as the basis of the value tiers.
    """
    cfg = dict(config or load_config())
    cl = dict(cfg["clustering"])
    as_of = pd.Timestamp(as_of).normalize()
    notes: list[str] = []
    feats = customer_features(transactions, customers, as_of)
    buyer = feats["is_buyer"]

    scores = rfm.rfm_scores(feats, int(cfg["rfm"].get("bins", 5)))
    out = feats.join(scores)
    out["rfm_segment"] = rfm.assign_segments(scores, cfg["rfm"]["segments"])

    t = cfg["tiers"]
    cuts = list(tier_cutoffs) if tier_cutoffs is not None else list(t["cutoffs"])
    if value is None:
        val = feats["monetary"]
    else:
        val = value.reindex(feats.index).astype(float)
        if val[buyer].isna().any():
            notes.append(f"{int(val[buyer].isna().sum())} buyers have no {value_basis}; their net revenue is used")
            val = val.where(val.notna(), feats["monetary"])
    out["value"] = val.where(buyer)
    out["value_tier"] = tiers.value_tiers(out["value"], cuts, t["labels"], t.get("no_purchase", "none"))
    out["customer_type"] = tiers.customer_types(feats)
    out["lifecycle_stage"] = lifecycle.lifecycle_stage(feats, cfg["lifecycle"])
    out = out.join(lifecycle.lifecycle_thresholds(feats, cfg["lifecycle"]))
    demo = tiers.demographic_segments(feats, cfg["demographics"])
    for c in demo.columns:
        out[c] = demo[c]

    b = feats.loc[buyer]
    cf = ClusterFeatures(features if features is not None else cl["features"], cl.get("weights"),
                         float(cl.get("skew_threshold", 1.0))).fit(b)
    for c, why in cf.skipped_.items():
        notes.append(f"clustering feature {c!r} skipped: {why}")
    X = cf.transform(b)
    seg = CustomerSegmenter(
        k_range=list(k_range) if k_range is not None else list(cl["k_range"]),
        method=method or cl.get("method", "kmeans"), n_init=int(cl.get("n_init", 4)),
        silhouette_sample=int(cl.get("silhouette_sample", 2000)),
        n_bootstrap=int(n_bootstrap if n_bootstrap is not None else cl.get("n_bootstrap", 20)),
        random_state=seed).fit(X)
    clusters = pd.Series(pd.NA, index=feats.index, dtype="Int64", name="cluster")
    clusters[b.index] = seg.labels_
    out["cluster"] = clusters
    cats = category_revenue(transactions, as_of)
    table = personas(out, clusters, out["lifecycle_stage"], cats)
    out["persona"] = persona_labels(clusters, table)
    out["cadence_days"] = contact_cadence(out["value_tier"], out["rfm_segment"], cfg["strategy"])
    return Segmentation(as_of=as_of, config=cfg, features=feats, scores=scores, customers=out,
                        cluster_features=cf, segmenter=seg, X=X, buyers=b.index, personas=table,
                        categories=cats, value_basis=value_basis, notes=notes)


def segment_dataset(ds, as_of=None, config: Mapping | None = None, **kwargs) -> Segmentation:
    """:func:`segment_customers` for a loaded dataset (``as_of`` defaults to the dataset's)."""
    from toolkit.engine import transaction_log

    ds.require("transactions")
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else ds.as_of
    if as_of > ds.as_of:
        raise ValueError(f"as_of {as_of.date()} is after the dataset's as-of date {ds.as_of.date()}")
    return segment_customers(transaction_log(ds), ds.customers, as_of, config, **kwargs)


def published_clv(run_dir, customer_ids: pd.Index, privacy: bool = True, name: str = "customer_clv",
                  columns: Sequence[str] = ("clv", "predicted_clv")) -> pd.Series | None:
    """Predicted CLV per customer id from the shared result ``name`` (``customer_clv``, see
    :mod:`toolkit.contract`) an earlier report of the run published.

    The table has ``customer_id`` and ``clv`` (the contract's columns; the first of ``columns``
    it holds is used); pseudonymised ids are matched through :func:`toolkit.privacy.pseudonym`.
    Returns ``None`` when there is no run folder or the run has not got the table: the caller
    says so (``toolkit.contract.SHARED[name].not_published()`` names the report that should have
    published it). A table without those columns, or with non-numeric CLV, raises
    :class:`toolkit.contract.ContractError` naming the result, the column and the CLV report.
    """
    from toolkit import contract
    from toolkit.privacy import pseudonym
    from toolkit.results import RunResults

    if run_dir is None:
        return None
    try:
        t = contract.read(RunResults(run_dir), name)
    except contract.ResultUnavailable:
        return None
    col = next((c for c in columns if c in t.columns), None)
    if col is None:
        raise contract.ContractError(f"shared result {name!r} (published by report "
                                     f"{contract.entry(name).producer!r}) has none of the columns "
                                     f"{', '.join(columns)}")
    ids = pd.Series(customer_ids, index=customer_ids)
    key = pseudonym(ids) if privacy else ids.astype(str)
    clv = t.drop_duplicates("customer_id").set_index("customer_id")[col]
    return pd.Series(key.map(clv).to_numpy(dtype=float), index=customer_ids, name="clv")
