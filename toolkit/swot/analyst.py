"""Analyst items from YAML (``config/swot_analyst.yaml``), merged into the rule-based SWOT.

    items:
      - region: East                 # a region, or "all" for every region
        quadrant: Threat
        title: Competitor opens a flagship store in the regional capital
        statement: Announced in the trade press, opening planned for Q3
        action: Prepare a loyalty offer for enterprise customers before the opening
        source: Trade press, 2026-05-14
        priority: 2
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from toolkit.data.spec import project_path
from toolkit.swot.rules import ITEM_COLUMNS, QUADRANTS

ITEM_KEYS = {"region", "quadrant", "title", "statement", "action", "source", "priority"}


def load_analyst_items(path: str | Path | None, regions: list[str]) -> pd.DataFrame:
    """Analyst items as SWOT rows (``origin`` = analyst); a missing or empty file gives none."""
    found = project_path(path) if path is not None else None
    if found is None or not found.exists():
        return pd.DataFrame(columns=ITEM_COLUMNS)
    raw = yaml.safe_load(found.read_text(encoding="utf-8")) or {}
    return parse_analyst_items(raw.get("items") or [], regions, str(path))


def parse_analyst_items(items: list[dict], regions: list[str], where: str = "<analyst items>") -> pd.DataFrame:
    rows, errors = [], []
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            errors.append(f"items[{i}] must be a mapping")
            continue
        unknown = set(it) - ITEM_KEYS
        if unknown:
            errors.append(f"items[{i}]: unknown key(s) {', '.join(sorted(unknown))}")
        if it.get("quadrant") not in QUADRANTS:
            errors.append(f"items[{i}]: quadrant must be one of {', '.join(QUADRANTS)}")
        if not it.get("title"):
            errors.append(f"items[{i}]: needs a title")
        region = str(it.get("region", "all"))
        targets = regions if region.lower() == "all" else [region]
        for reg in targets:
            rows.append({"region": reg, "quadrant": it.get("quadrant"), "title": str(it.get("title", "")),
                         "statement": str(it.get("statement", "")), "action": str(it.get("action", "")),
                         "priority": int(it.get("priority", 1)), "score": 0.0, "origin": "analyst",
                         "rule": "analyst", "subject": "", "metric": "", "value": np.nan, "reference": np.nan,
                         "reference_label": "", "test": f"analyst ({it.get('source', 'no source given')})",
                         "p_value": np.nan, "p_adj": np.nan,
                         "evidence": json.dumps([{"source": "analyst", "note": str(it.get("source", ""))}])})
    if errors:
        raise ValueError(f"invalid analyst SWOT items in {where}: " + "; ".join(errors))
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)
