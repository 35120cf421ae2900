"""Likert items, constructs and the answer scale of a surveys table.

Items are the ``q_`` columns of the surveys table. A construct is the item name without the
``q_`` prefix and a trailing item number (``q_product_2`` -> ``product``, ``q_perq5`` -> ``perq``,
``q_cusco`` -> ``cusco``). A dataset spec can override this under its top-level ``surveys:`` key:

    surveys:
      constructs: {value: [q_perv1, q_perv2]}     # explicit construct -> items
      construct_pattern: "^q_(?P<construct>[a-z]+)"   # or a regex with a named group
      construct_labels: {perv: Perceived value}
      drivers: [imag, cuex, perq, perv]            # key-driver candidates (default: all constructs)
      groups: [serviceprovider]                    # extra grouping columns for CSAT / NPS
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

ITEM_PATTERN = r"^q_(?P<construct>[a-z][a-z0-9_]*?)_?(?P<n>\d+)?$"


def settings(ds) -> dict[str, Any]:
    """The spec's ``surveys:`` settings (empty dict when absent)."""
    return dict(ds.spec.raw.get("surveys") or {})


def scale(ds) -> tuple[int, int]:
    """Lowest and highest answer code of the surveys table (spec ``scale``; default 1-5)."""
    ts = ds.spec.tables.get("surveys")
    lo, hi = (ts.raw.get("scale") if ts is not None else None) or [1, 5]
    return int(lo), int(hi)


def item_columns(frame: pd.DataFrame) -> list[str]:
    """The Likert item columns (``q_`` prefix) in table order."""
    return [c for c in frame.columns if str(c).startswith("q_")]


def constructs(frame: pd.DataFrame, config: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Construct -> item columns, from explicit config or item-name prefixes (order kept)."""
    config = config or {}
    items = item_columns(frame)
    explicit = config.get("constructs")
    if explicit:
        missing = sorted({i for its in explicit.values() for i in its} - set(items))
        if missing:
            raise ValueError(f"construct items not in the surveys table: {', '.join(missing)}")
        return {str(k): list(v) for k, v in explicit.items()}
    pat = re.compile(config.get("construct_pattern") or ITEM_PATTERN)
    out: dict[str, list[str]] = {}
    for col in items:
        m = pat.match(col)
        name = m.group("construct") if m else col[2:]
        out.setdefault(name, []).append(col)
    return out


def labels(config: dict[str, Any] | None, names) -> dict[str, str]:
    """Display label per construct (spec ``construct_labels``; default: the name, capitalised)."""
    given = (config or {}).get("construct_labels") or {}
    return {n: str(given.get(n, n.replace("_", " ").capitalize())) for n in names}
