"""The demo data's generating parameters against per-segment fits: does the model recover the truth?

The demo generator (:mod:`toolkit.data.demo`) writes ``ground_truth.json`` (BG/NBD parameters per
customer segment, weekly units) and ``truth_customers.csv`` (each customer's segment) next to the
transactions; :func:`ground_truth_recovery` fits BG/NBD per segment and says which generating
values lie inside the 95% intervals.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.clv.models.base import ConvergenceError, fit_flag
from toolkit.clv.models.bgnbd import BetaGeo
from toolkit.clv.summary import rfm_summary

__all__ = ["ground_truth_files", "ground_truth_recovery"]


def ground_truth_files(transactions_path: str | Path | None) -> tuple[Path, Path] | None:
    """``ground_truth.json`` and ``truth_customers.csv`` next to the transactions file, if both exist."""
    if transactions_path is None:
        return None
    folder = Path(transactions_path).parent
    gt, tc = folder / "ground_truth.json", folder / "truth_customers.csv"
    return (gt, tc) if gt.exists() and tc.exists() else None


def ground_truth_recovery(transactions: Any, observation_end, files: tuple[Path, Path],
                          customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-segment BG/NBD fits on the customers without explicit churn, against the generating
    parameters (weekly units, as the ground truth); ``transactions`` is anything
    :func:`~toolkit.clv.rfm_summary` accepts. One row per segment and parameter:
    ``truth``, ``estimate``, ``ci_lower``, ``ci_upper``, ``covered``, ``customers``; a segment
    whose fit finds no maximum gets NaN estimates and the reason in ``note``, a flagged fit (at the
    boundary, intervals withheld) its estimates, NaN intervals and the flag in ``note``.
    """
    gt_path, tc_path = files
    truth = json.loads(Path(gt_path).read_text(encoding="utf-8"))
    segs = {k: v["bgnbd"] for k, v in truth.get("segments", {}).items() if "bgnbd" in v}
    tc = pd.read_csv(tc_path, dtype={"customer_id": str})
    segment = tc.set_index("customer_id")["segment"]
    if customers is not None and "churn_date" in customers.columns:
        churned = set(customers.loc[customers["churn_date"].notna(), "customer_id"].astype(str))
    else:
        churned = set(tc.loc[tc["churn_date_explicit"].notna(), "customer_id"].astype(str))
    rfm = rfm_summary(transactions, observation_end, None, "W")
    ids = rfm.index.astype(str)
    seg = segment.reindex(ids).to_numpy()
    keep = ~np.isin(ids, list(churned))
    rows = []
    for name, params in segs.items():
        sub = rfm.loc[(seg == name) & keep]
        base = {"segment": name, "customers": len(sub)}
        try:
            m = BetaGeo().fit(sub)
            ci = m.confidence_intervals_
            for par, true in params.items():
                lo, hi = float(ci.loc[par, "lower"]), float(ci.loc[par, "upper"])
                rows.append({**base, "parameter": par, "truth": float(true), "estimate": float(m.params_[par]),
                             "ci_lower": lo, "ci_upper": hi, "covered": bool(lo <= true <= hi),
                             "note": fit_flag(m)[1]})
        except (ConvergenceError, ValueError) as exc:
            for par, true in params.items():
                rows.append({**base, "parameter": par, "truth": float(true), "estimate": np.nan, "ci_lower": np.nan,
                             "ci_upper": np.nan, "covered": False, "note": str(exc)})
    return pd.DataFrame(rows, columns=["segment", "parameter", "customers", "truth", "estimate", "ci_lower",
                                       "ci_upper", "covered", "note"])
