"""Turning raw source columns into typed model columns; what cannot be converted is returned as a mask."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

_TRUE = {"1", "true", "yes", "y", "t", "churned", "churn"}
_FALSE = {"0", "false", "no", "n", "f", "stayed", "active", ""}
_CURRENCY = r"[\$€£¥]"   # a currency sign before or after a number


def each_value(s: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``s.map(fn)`` with ``fn`` called once per distinct value (missing values included) rather
    than once per row: the same values, dtype, index and name for a pure ``fn``. A category or id
    column of a million rows holds far fewer distinct values."""
    codes, _ = pd.factorize(s, use_na_sentinel=True)   # -1 marks a missing value
    distinct, first = np.unique(codes, return_index=True)
    mapped = s.iloc[first].map(fn)   # each distinct value once, at its first row
    return mapped.iloc[np.searchsorted(distinct, codes)].set_axis(s.index)


def to_ids(s: pd.Series) -> pd.Series:
    """Identifiers as strings; 17850.0 -> '17850'; blanks -> missing."""
    if pd.api.types.is_float_dtype(s):
        out = each_value(s, lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
    elif pd.api.types.is_integer_dtype(s):
        out = s.astype("string").astype(object)
    else:
        out = s.astype("string").str.strip()
        out = out.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    out = out.astype("string")
    return out.mask(out.isna() | (out == "") | (out.str.lower().isin(["nan", "none", "null"]))).astype(object)


def to_numbers(s: pd.Series, decimal: str = ".", thousands: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse numbers; returns (values, bad) where bad marks non-empty values that are not numbers."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        vals = pd.to_numeric(s, errors="coerce").astype(float)
        return vals, pd.Series(False, index=s.index)
    txt = s.astype("string").str.strip()
    empty = txt.isna() | (txt == "")
    clean = txt
    if thousands:
        clean = clean.str.replace(thousands, "", regex=False)
    if clean.str.contains(_CURRENCY, regex=True).any():   # the stripping regex runs in Python: only when needed
        clean = clean.str.replace(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$", "", regex=True)
    clean = clean.str.replace(" ", "", regex=False)
    if decimal != ".":
        clean = clean.str.replace(decimal, ".", regex=False)
    vals = pd.to_numeric(clean.mask(empty), errors="coerce").astype(float)
    infinite = ~np.isfinite(vals.fillna(0.0))
    bad = (vals.isna() | infinite) & ~empty
    vals = vals.mask(infinite)
    return vals, bad.fillna(False).astype(bool)


_OFFSET = r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$"


def local_times(s: pd.Series) -> tuple[pd.Series, int]:
    """Timestamps written with a UTC offset ('2024-01-03T14:35:00+08:00') as the local time they
    state (the customer's own day), offset removed; returns the text and how many had one."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s, 0
    # the regexes run once per distinct text (a date column of a million rows holds a few thousand
    # days); a column of mostly distinct timestamps is searched row by row, as factorising would not pay
    codes, distinct = pd.factorize(s, use_na_sentinel=True)
    if len(distinct) > len(s) // 2:
        txt = s.astype("string").str.strip()
        has = txt.str.contains(_OFFSET.replace("(", "(?:", 1), regex=True).fillna(False)
        if not has.any():
            return s, 0
        return txt.str.replace(_OFFSET, r"\1", regex=True), int(has.sum())
    txt = pd.Series(distinct, dtype=object).astype("string").str.strip()
    has = txt.str.contains(_OFFSET.replace("(", "(?:", 1), regex=True).fillna(False).to_numpy(bool)
    if not has.any():
        return s, 0
    n_offsets = int(np.count_nonzero(has[codes[codes >= 0]]))
    local = txt.str.replace(_OFFSET, r"\1", regex=True).array.take(codes, allow_fill=True)
    return pd.Series(local, index=s.index, name=s.name), n_offsets


def to_dates(s: pd.Series, fmt: str | None = None, dayfirst: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse dates with an explicit format (or ISO 8601); returns (dates, bad)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out.astype("datetime64[ns]"), pd.Series(False, index=s.index)
    txt = s.astype("string").str.strip()
    empty = txt.isna() | (txt == "")
    if fmt:
        out = pd.to_datetime(txt.mask(empty), format=fmt, errors="coerce")
    elif dayfirst:
        out = pd.to_datetime(txt.mask(empty), dayfirst=True, format="mixed", errors="coerce")
    else:
        out = pd.to_datetime(txt.mask(empty), format="ISO8601", errors="coerce")
    if getattr(getattr(out, "dt", None), "tz", None) is not None:   # an offset local_times did not know
        out = out.dt.tz_localize(None)
    out = out.astype("datetime64[ns]")
    bad = out.isna() & ~empty
    return out, bad.fillna(False).astype(bool)


def to_bools(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/No, 1/0, true/false -> bool; returns (values as object with None, bad)."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype(object), pd.Series(False, index=s.index)
    txt = s.astype("string").str.strip().str.lower()
    out = pd.Series(None, index=s.index, dtype=object)
    out[txt.isin(_TRUE).fillna(False)] = True
    out[txt.isin(_FALSE - {""}).fillna(False)] = False
    bad = out.isna() & txt.notna() & (txt != "")
    return out, bad.fillna(False).astype(bool)


def normalise_label(v: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(v).strip().lower()).strip("_")


def to_categories(s: pd.Series, values: dict | None = None,
                  allowed: tuple[str, ...] | None = None) -> tuple[pd.Series, pd.Series]:
    """Strings, optionally mapped through ``values`` (case-insensitive keys) and checked against
    ``allowed`` (matched after normalising case and spaces). Returns (values, not_allowed mask)."""
    txt = s.astype("string").str.strip()
    txt = txt.mask(txt == "")
    if values:
        lut = {normalise_label(k): v for k, v in values.items()}
        mapped = each_value(txt, lambda v: lut.get(normalise_label(v), v) if pd.notna(v) else v)
        txt = mapped.astype("string")
    if allowed:
        norm = each_value(txt, lambda v: normalise_label(v).replace("_", "-") if pd.notna(v) else v)
        allowed_norm = {normalise_label(a).replace("_", "-"): a for a in allowed}
        mapped = each_value(norm, lambda v: allowed_norm.get(v) if pd.notna(v) else None)
        bad = mapped.isna() & txt.notna()
        return mapped.astype(object), bad.fillna(False).astype(bool)
    return txt.astype(object), pd.Series(False, index=s.index)


def snake(name: str) -> str:
    """Source column name -> snake_case attribute name."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower() or "col"
