"""Design matrices, the one home for turning customer attributes into model columns.

:class:`Design` serves the churn models (numeric columns centred and put on readable units,
categorical columns as indicator columns against a reference level, rare levels pooled, missing
values made explicit, redundant columns dropped so that the statsmodels fits stay identifiable) and,
as the strict preset :class:`CovariateDesign`, the CLV covariate models (numeric columns as they
are, every level its own column, missing numeric values and unseen levels refused).

:func:`top_levels` (the most frequent levels kept, the rest pooled as ``(other)``) is the one pooling rule
for groupings too: churn rates, Kaplan-Meier groups and sBG cohorts use it, so it lives here, below them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    strict : refuse instead of repairing: a missing numeric value, a categorical column with a single
        value, an unknown reference level, and (in ``transform``) a level not seen in the fit raise
        ``ValueError``. ``max_levels=None`` keeps every level.
    term_format : name of an indicator column, from ``column`` and ``level``.

    Fitted: ``columns_`` (design column names), ``source_`` (name -> attribute column),
    ``terms_`` ((column, level) per design column; level None for a numeric column), ``units_``,
    ``levels_`` / ``reference_`` per categorical column, ``dropped_`` (left out, with the reason).
    """

    def __init__(self, numeric: list[str] | None = None, categorical: list[str] | None = None,
                 max_levels: int = 10, min_count: int = 10, scale: str | dict[str, float] = "auto",
                 centre: str | dict[str, float] = "median", reference: dict[str, str] | None = None,
                 missing_indicators: bool = True, drop_collinear: bool = True, impute: bool = True,
                 strict: bool = False, term_format: str = "{column} = {level}") -> None:
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
        self.strict = strict
        self.term_format = term_format

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
            if self.strict and v.isna().any():
                raise ValueError(f"covariate {c!r} has missing values")
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
            elif self.centre == "none":
                centre = 0.0
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
            ref = (self.reference or {}).get(c)
            if self.strict and len(kept) < 2:
                raise ValueError(f"covariate {c!r} has a single value: it cannot have an effect")
            if self.strict and ref is not None and str(ref) not in kept:
                raise ValueError(f"reference level {ref!r} of {c!r} does not occur")
            if len(kept) < 2:
                continue
            self.levels_[c] = kept
            self.reference_[c] = str(ref) if ref is not None and str(ref) in kept else kept[0]
            # too few rare values to stand alone: they are counted with the reference level
            self.pool_[c] = OTHER if OTHER in kept else self.reference_[c]
        self.order_ = list(frame.columns)
        self.source_: dict[str, str] = {}
        self.units_: dict[str, str] = {}
        self.level_: dict[str, str | None] = {}
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
                self.level_[c] = None
                self.units_[c] = f"per {unit:g}" if unit != 1 else "per 1"
                continue
            levels = self.levels_[c]
            txt = as_text(frame[c]) if c in frame else pd.Series(MISSING, index=frame.index)
            if self.strict:
                unseen = set(txt.unique()) - set(levels)
                if unseen:
                    raise ValueError(f"covariate {c!r} has levels not seen in the fit: {sorted(unseen)}")
            txt = txt.where(txt.isin(set(levels) - {OTHER}), self.pool_[c])
            values = txt.to_numpy()
            for lvl in levels:
                if lvl == self.reference_[c]:
                    continue
                name = self.term_format.format(column=c, level=lvl)
                cols[name] = (values == lvl).astype(float)
                self.source_[name] = c
                self.level_[name] = lvl
                self.units_[name] = f"vs {self.reference_[c]}"
        for c in self.missing_:
            v = pd.to_numeric(frame[c], errors="coerce") if c in frame else pd.Series(np.nan, index=frame.index)
            name = f"{c} missing"
            cols[name] = v.isna().to_numpy(float)
            self.source_[name] = c
            self.level_[name] = MISSING
            self.units_[name] = "vs recorded"
        out = pd.DataFrame(cols, index=frame.index)
        return out if all_columns else out.reindex(columns=self.columns_, fill_value=0.0)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The design matrix (float columns ``columns_``) for ``frame``."""
        return self._matrix(frame)

    def fit_transform(self, frame: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(frame).transform(frame)

    @property
    def terms_(self) -> list[tuple[str, str | None]]:
        """(attribute column, level) per design column; the level is None for a numeric column."""
        return [(self.source_[c], self.level_[c]) for c in self.columns_]

    @property
    def features_(self) -> list[str]:
        """Source columns that reached the design, in order."""
        seen: dict[str, None] = {}
        for c in self.columns_:
            seen.setdefault(self.source_[c], None)
        return list(seen)


class CovariateDesign(Design):
    """The strict design of the CLV covariate models over ``columns``: numeric columns (not boolean)
    as they are, every level of the others its own indicator ``column[level]`` against a reference
    (``reference``: column -> level; default the most frequent); missing numeric values, a single
    value and unseen levels are refused. ``transform`` returns the matrix as an array."""

    def __init__(self, columns: Sequence[str], reference: Mapping[str, Any] | None = None) -> None:
        self.columns = list(columns)
        super().__init__(max_levels=None, min_count=1, scale="none", centre="none",
                         reference=dict(reference or {}), missing_indicators=False, drop_collinear=False,
                         strict=True, term_format="{column}[{level}]")

    def fit(self, frame: pd.DataFrame, y: Any = None) -> "CovariateDesign":
        sub = frame[self.columns]
        self.numeric = [c for c in self.columns if pd.api.types.is_numeric_dtype(sub[c])
                        and not pd.api.types.is_bool_dtype(sub[c])]
        self.categorical = [c for c in self.columns if c not in self.numeric]
        return super().fit(sub)

    @property
    def names_(self) -> list[str]:
        return list(self.columns_)

    @property
    def references_(self) -> dict[str, str]:
        return dict(self.reference_)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:  # type: ignore[override]
        """The design matrix (customers x terms) as an array."""
        return self._matrix(frame[self.columns]).to_numpy(float)


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
