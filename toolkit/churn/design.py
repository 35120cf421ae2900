"""Design matrices for the churn models: numeric columns centred and put on readable units,
categorical columns as indicator columns against a reference level, rare levels pooled, missing
values made explicit, and redundant columns dropped so that the statsmodels fits stay identifiable.

:func:`top_levels` (the most frequent levels kept, the rest pooled as ``(other)``) is the one pooling rule
for groupings too: churn rates, Kaplan-Meier groups and sBG cohorts use it, so it lives here, below them.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

MISSING = "(missing)"
OTHER = "(other)"


def _is_numeric(s: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) and not isinstance(
        s.dtype, pd.CategoricalDtype)


def nice_unit(sd: float) -> float:
    """A round unit near one standard deviation: 1, 10, 100, ... (0.1, 0.01 for small spreads)."""
    if not np.isfinite(sd) or sd <= 0:
        return 1.0
    return float(10.0 ** round(math.log10(sd)))


def as_text(s: pd.Series) -> pd.Series:
    """Categorical values as plain strings, missing as ``(missing)``."""
    return s.astype("object").where(s.notna(), MISSING).astype(str)


def top_levels(values: pd.Series, max_groups: int = 8, min_count: int = 1) -> pd.Series:
    """Keep the ``max_groups`` most frequent values (with at least ``min_count`` rows); pool the rest."""
    txt = as_text(values)
    counts = txt.value_counts()
    kept = [v for v in counts.index[:max_groups] if counts[v] >= min_count]
    return txt.where(txt.isin(kept), OTHER)


class Design:
    """Turn a frame of mixed attributes into a float design matrix with named columns.

    Parameters
    ----------
    numeric, categorical : column names; ``None`` infers them from the dtypes.
    max_levels : most frequent levels kept per categorical column; the rest are pooled as ``(other)``.
    min_count : levels rarer than this are pooled too.
    scale : ``"auto"`` (a round unit near one SD, e.g. age per 10 years), ``"sd"``, ``"none"`` or a
        dict column -> unit.
    centre : ``"median"``, ``"mean"`` or a dict column -> value; missing numeric values are set to
        the centre and, when at least ``min_count`` are missing, flagged in a ``<col> missing`` column.
    reference : dict column -> reference level (default: the most frequent level).
    missing_indicators : add the ``<col> missing`` columns described under ``centre``.
    drop_collinear : leave out numeric columns in which fewer than ``min_count`` rows differ from the
        most common value, and columns that are constant or (almost, R-squared above 0.999) a linear
        combination of earlier columns; ``dropped_`` says which and why.
    impute : False leaves missing numeric values as NaN (no centring, no scaling, no indicator), for
        models that handle them natively.
    """

    def __init__(self, numeric: list[str] | None = None, categorical: list[str] | None = None,
                 max_levels: int = 10, min_count: int = 10, scale: str | dict[str, float] = "auto",
                 centre: str | dict[str, float] = "median", reference: dict[str, str] | None = None,
                 missing_indicators: bool = True, drop_collinear: bool = True, impute: bool = True) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.max_levels = max_levels
        self.min_count = min_count
        self.scale = scale
        self.centre = centre
        self.reference = reference
        self.missing_indicators = missing_indicators
        self.drop_collinear = drop_collinear
        self.impute = impute

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame, y: Any = None) -> "Design":
        numeric = self.numeric if self.numeric is not None else [c for c in frame.columns if _is_numeric(frame[c])]
        categorical = self.categorical if self.categorical is not None else [
            c for c in frame.columns if c not in numeric]
        self.numeric_: dict[str, tuple[float, float]] = {}
        self.missing_: list[str] = []
        self.skipped_: dict[str, str] = {}
        for c in numeric:
            v = pd.to_numeric(frame[c], errors="coerce").astype(float)
            if v.notna().sum() == 0:
                continue
            if self.drop_collinear and (v != v.mode().iloc[0]).sum() < self.min_count:
                self.skipped_[c] = f"almost constant (fewer than {self.min_count} rows differ)"
                continue
            if not self.impute:
                self.numeric_[c] = (0.0, 1.0)
                continue
            if isinstance(self.centre, dict) and c in self.centre:
                centre = float(self.centre[c])
            elif self.centre == "mean":
                centre = float(v.mean())
            else:
                centre = float(v.median())
            if isinstance(self.scale, dict):
                unit = float(self.scale.get(c, nice_unit(float(v.std()))))
            elif self.scale == "sd":
                unit = float(v.std()) or 1.0
            elif self.scale == "none":
                unit = 1.0
            else:
                unit = 1.0 if set(v.dropna().unique()) <= {0.0, 1.0} else nice_unit(float(v.std()))
            self.numeric_[c] = (centre, unit)
            if self.missing_indicators and v.isna().sum() >= self.min_count:
                self.missing_.append(c)
        self.levels_: dict[str, list[str]] = {}
        self.reference_: dict[str, str] = {}
        self.pool_: dict[str, str] = {}
        for c in categorical:
            counts = as_text(frame[c]).value_counts()
            kept = [lvl for lvl in counts.index[: self.max_levels] if counts[lvl] >= self.min_count]
            pooled = int(counts.drop(kept).sum())
            if pooled >= self.min_count:
                kept = kept + [OTHER]
            if len(kept) < 2:
                continue
            ref = (self.reference or {}).get(c)
            self.levels_[c] = kept
            self.reference_[c] = str(ref) if ref is not None and str(ref) in kept else kept[0]
            # too few rare values to stand alone: they are counted with the reference level
            self.pool_[c] = OTHER if OTHER in kept else self.reference_[c]
        self.order_ = list(frame.columns)
        self.source_: dict[str, str] = {}
        self.units_: dict[str, str] = {}
        full = self._matrix(frame, all_columns=True)
        self.columns_ = list(full.columns)
        self.dropped_: dict[str, str] = dict(self.skipped_)
        if self.drop_collinear:
            keep = _independent_columns(np.nan_to_num(full.to_numpy(float)))
            for i, col in enumerate(full.columns):
                if not keep[i]:
                    self.dropped_[col] = "constant or redundant (a combination of other columns)"
            self.columns_ = [c for i, c in enumerate(full.columns) if keep[i]]
        return self

    def _matrix(self, frame: pd.DataFrame, all_columns: bool = False) -> pd.DataFrame:
        if frame.attrs:   # pandas deep-copies attrs into every column read; the matrix does not need them
            frame = frame.copy(deep=False)
            frame.attrs = {}
        cols: dict[str, np.ndarray] = {}
        order = [c for c in self.order_ if c in self.numeric_ or c in self.levels_]
        for c in order:
            if c in self.numeric_:
                centre, unit = self.numeric_[c]
                v = (pd.to_numeric(frame[c], errors="coerce").astype(float).to_numpy() if c in frame
                     else np.full(len(frame), np.nan))
                cols[c] = (np.where(np.isnan(v), centre, v) - centre) / unit if self.impute else v
                self.source_[c] = c
                self.units_[c] = f"per {unit:g}" if unit != 1 else "per 1"
                continue
            levels = self.levels_[c]
            txt = as_text(frame[c]) if c in frame else pd.Series(MISSING, index=frame.index)
            txt = txt.where(txt.isin(set(levels) - {OTHER}), self.pool_[c])
            values = txt.to_numpy()
            for lvl in levels:
                if lvl == self.reference_[c]:
                    continue
                name = f"{c} = {lvl}"
                cols[name] = (values == lvl).astype(float)
                self.source_[name] = c
                self.units_[name] = f"vs {self.reference_[c]}"
        for c in self.missing_:
            v = pd.to_numeric(frame[c], errors="coerce") if c in frame else pd.Series(np.nan, index=frame.index)
            name = f"{c} missing"
            cols[name] = v.isna().to_numpy(float)
            self.source_[name] = c
            self.units_[name] = "vs recorded"
        out = pd.DataFrame(cols, index=frame.index)
        return out if all_columns else out.reindex(columns=self.columns_, fill_value=0.0)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The design matrix (float columns ``columns_``) for ``frame``."""
        return self._matrix(frame)

    def fit_transform(self, frame: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(frame).transform(frame)

    @property
    def features_(self) -> list[str]:
        """Source columns that reached the design, in order."""
        seen: dict[str, None] = {}
        for c in self.columns_:
            seen.setdefault(self.source_[c], None)
        return list(seen)


def _independent_columns(x: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Greedy Gram-Schmidt on centred columns: True for columns adding a new direction."""
    n, p = x.shape
    keep = np.zeros(p, dtype=bool)
    if n == 0:
        return keep
    basis = np.empty((n, 0))
    xc = x - x.mean(axis=0)
    for j in range(p):
        v = xc[:, j]
        norm = np.linalg.norm(v)
        if norm <= tol * math.sqrt(n):
            continue
        r = v - basis @ (basis.T @ v)
        r = r - basis @ (basis.T @ r)
        rn = np.linalg.norm(r)
        if rn <= 0.03 * norm:  # the earlier columns explain 99.9% of its variation: redundant
            continue
        basis = np.column_stack([basis, r / rn])
        keep[j] = True
    return keep
