"""Respondents with the attributes CSAT and NPS are broken down by: region, segment, wave, extras.

The segment is, in order of preference: the dataset's own ``customers.segment``; the segment the
segmentation report of the same run exported (the shared result ``customer_segments`` of
:mod:`toolkit.contract`: its ``segment``, else ``persona``, ``value_tier``, ``rfm_segment`` or
``cluster`` column, the first with values, joined through the pseudonymised id when the run
pseudonymises); the customer type. When the run's segments are not available the phrase says so
and names the report that should have published them.
"""
from __future__ import annotations

import pandas as pd

from toolkit import contract
from toolkit.privacy import pseudonym
from toolkit.results import RunResults

SEGMENT_COLUMNS = ("segment", "persona", "value_tier", "rfm_segment", "cluster")
SEGMENTS = "customer_segments"


def _segments_from_run(ds, run_dir, privacy: bool) -> tuple[pd.Series | None, str]:
    """Segment per customer id from the run's ``customer_segments`` and where it came from, or
    None and why there is none (a malformed table raises :class:`toolkit.contract.ContractError`)."""
    if run_dir is None:
        return None, "no run folder, so no segmentation report of this run"
    try:
        seg = contract.read(RunResults(run_dir), SEGMENTS)
    except contract.ResultUnavailable as missing:
        return None, missing.reason
    col = next((c for c in SEGMENT_COLUMNS if c in seg.columns and seg[c].notna().any()), None)
    if col is None:
        return None, f"the {SEGMENTS} of this run hold no segment"
    ids = ds.customers["customer_id"]
    key = pseudonym(ids) if privacy else ids.astype(str)
    mapping = seg.drop_duplicates("customer_id").set_index("customer_id")[col].astype(str)
    return pd.Series(key.map(mapping).to_numpy(), index=ids.to_numpy()), \
        f"the segmentation report of this run ({SEGMENTS})"


def segment_source(ds, run_dir=None, privacy: bool = True) -> tuple[pd.Series | None, str]:
    """Segment per customer id and a phrase saying where it came from (None when there is none;
    the phrase then also says why the run's segments were not used, when there is a run)."""
    cu = ds.customers
    if cu is None:
        return None, "no customers table"
    if "segment" in cu.columns and cu["segment"].notna().any():
        return cu.set_index("customer_id")["segment"].astype("string").astype(object), "the dataset's segment"
    seg, source = _segments_from_run(ds, run_dir, privacy)
    if seg is not None and seg.notna().any():
        return seg, source
    why = "" if run_dir is None else f" ({source})" if seg is None else \
        f" (the {SEGMENTS} of this run match none of the dataset's customers)"
    if "customer_type" in cu.columns and cu["customer_type"].notna().any():
        return cu.set_index("customer_id")["customer_type"].astype(object), f"the customer type{why}"
    return None, f"no segment attribute{why}"


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
