"""Respondents with the attributes CSAT and NPS are broken down by: region, segment, wave, extras.

The segment is, in order of preference: the dataset's own ``customers.segment``; the segment the
segmentation report of the same run exported (``customer_segments``: its ``segment``, else
``persona``, ``value_tier``, ``rfm_segment`` or ``cluster`` column, joined through the pseudonymised
id when the run pseudonymises); the customer type.
"""
from __future__ import annotations

import pandas as pd

from toolkit.privacy import pseudonym
from toolkit.results import RunResults

SEGMENT_COLUMNS = ("segment", "persona", "value_tier", "rfm_segment", "cluster")


def _segments_from_run(ds, run_dir, privacy: bool) -> pd.Series | None:
    res = RunResults(run_dir)
    if run_dir is None or not res.has("customer_segments"):
        return None
    seg = res.read_table("customer_segments")
    if "customer_id" not in seg.columns and seg.index.name == "customer_id":
        seg = seg.reset_index()
    col = next((c for c in SEGMENT_COLUMNS if c in seg.columns), None)
    if col is None or "customer_id" not in seg.columns:
        return None
    ids = ds.customers["customer_id"]
    key = pseudonym(ids) if privacy else ids.astype(str)
    mapping = seg.drop_duplicates("customer_id").set_index("customer_id")[col].astype(str)
    return pd.Series(key.map(mapping).to_numpy(), index=ids.to_numpy())


def segment_source(ds, run_dir=None, privacy: bool = True) -> tuple[pd.Series | None, str]:
    """Segment per customer id and a phrase saying where it came from (None when there is none)."""
    cu = ds.customers
    if cu is None:
        return None, "no customers table"
    if "segment" in cu.columns and cu["segment"].notna().any():
        return cu.set_index("customer_id")["segment"].astype("string").astype(object), "the dataset's segment"
    seg = _segments_from_run(ds, run_dir, privacy)
    if seg is not None and seg.notna().any():
        return seg, "the segmentation report of this run (customer_segments)"
    if "customer_type" in cu.columns and cu["customer_type"].notna().any():
        return cu.set_index("customer_id")["customer_type"].astype(object), "the customer type"
    return None, "no segment attribute"


def respondents(ds, run_dir=None, privacy: bool = True, extra_groups: list[str] | None = None) -> pd.DataFrame:
    """The surveys table with ``region``, ``segment`` and ``wave`` (where known) joined on."""
    sv = ds.surveys.copy()
    cu = ds.customers
    if cu is not None and "region" in cu.columns:
        sv["region"] = sv["customer_id"].map(cu.set_index("customer_id")["region"]).fillna("unknown")
    seg, _ = segment_source(ds, run_dir, privacy)
    if seg is not None:
        sv["segment"] = sv["customer_id"].map(seg).fillna("unknown")
    if "wave" not in sv.columns and "response_date" in sv.columns and sv["response_date"].notna().any():
        sv["wave"] = sv["response_date"].dt.to_period("Q").astype(str)
    for g in extra_groups or []:
        if g in sv.columns:
            sv[g] = sv[g].map(lambda v: "missing" if pd.isna(v) else (f"{v:g}" if isinstance(v, float) else str(v)))
    return sv


def available_groups(frame: pd.DataFrame, extra_groups: list[str] | None = None) -> list[str]:
    """Grouping columns present with at least two values."""
    cands = ["region", "segment", "wave", *(extra_groups or [])]
    return [g for g in dict.fromkeys(cands) if g in frame.columns and frame[g].nunique() >= 2]
