"""The results reports share: each named once, with the report that publishes it and its shape.

A report reads what an earlier report of the same run published (the SWOT reads the KPI
scorecard, the survey reads the segmentation's customer segments, ...). Every such result is
listed in :data:`SHARED` with its name, producing report (the config name in
``config/reports.yaml``), kind (table or metrics) and the columns with their dtypes (or the metric
keys) its readers rely on. Both sides go through this module:

* publishing (:meth:`toolkit.results.RunResults.table` / ``metrics`` / ``export``) checks a shared
  result against its entry: published by its producer, every required column present with its
  dtype. A mistake fails in the producing report, naming the result, column and report;
* reading (:func:`read`) returns the result or raises :class:`ResultUnavailable` (its
  ``reason`` is a sentence a report can show: "the SWOT report has not published swot_items in
  this run") or :class:`ContractError` (present but malformed). A reader never gets ``None``
  for a renamed or missing table and carries on.

Dtype kinds: ``string``, ``number`` (integer or float, not bool), ``integer``, ``bool``,
``datetime``; for metrics also ``list`` and ``mapping``. A column without any value (an empty
table, or all missing) has nothing to mistype and passes.

Why a module of its own and not part of :mod:`toolkit.results`: ``results`` stores named files
(any name, any frame: a report's own tables too); this module is the agreement between reports,
the one place to read when a report's output or input changes. ``results`` imports it, never the
other way round.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Producing reports (config names) and how a sentence names them ("the churn report").
REPORTS: dict[str, str] = {
    "data_quality": "data quality",
    "segmentation": "segmentation",
    "clv": "customer lifetime value",
    "kpi_scorecard": "KPI scorecard",
    "churn": "churn",
    "survey": "survey",
    "swot": "SWOT",
    "executive_summary": "executive summary",
    "action_plan": "action plan",
}

TABLE_KINDS = ("string", "number", "integer", "bool", "datetime")
METRIC_KINDS = ("string", "number", "integer", "bool", "list", "mapping")


class ResultNotFound(LookupError):
    """A result was asked for by name but no notebook of this run published it."""


class ContractError(ValueError):
    """A shared result breaks its entry in :data:`SHARED` (missing column or key, wrong dtype,
    published by another report); the message names the result, the column and the producer."""


class ResultUnavailable(ResultNotFound):
    """A shared result is not in the run: its producer did not run, failed or did not publish it.

    ``reason`` is a sentence for a report ("the churn report has not published cox_hazard_ratios
    in this run"); ``producer`` is the report that should have published it."""

    def __init__(self, name: str, producer: str, reason: str) -> None:
        super().__init__(f"shared result {name!r} is not available: {reason} "
                         f"(it is published by report {producer!r}; see toolkit/contract.py)")
        self.name, self.producer, self.reason = name, producer, reason


@dataclass(frozen=True)
class SharedResult:
    """One result that reports share: its name, producing report, kind and shape."""

    name: str
    producer: str
    kind: str                                   # "table" | "metrics"
    columns: Mapping[str, str] = field(default_factory=dict)   # table: required column -> dtype kind
    optional: Mapping[str, str] = field(default_factory=dict)  # table columns / metric keys typed when present
    keys: Mapping[str, str] = field(default_factory=dict)      # metrics: required key -> kind
    keys_if_available: Mapping[str, str] = field(default_factory=dict)  # required unless "available" is false
    readers: tuple[str, ...] = ()
    description: str = ""

    @property
    def report(self) -> str:
        """How a sentence names the producer: "the churn report"."""
        return f"the {REPORTS.get(self.producer, self.producer)} report"

    def not_published(self) -> str:
        return f"{self.report} has not published {self.name} in this run"

    # ----------------------------------------------------------------- checking
    def _where(self) -> str:
        return f"shared result {self.name!r} (published by report {self.producer!r})"

    def check_publisher(self, notebook: str | None) -> None:
        if notebook is not None and notebook != self.producer:
            raise ContractError(f"{self._where()} cannot be published by report {notebook!r}: toolkit/contract.py "
                                f"names {self.producer!r} as its producer")

    def check(self, value: Any) -> None:
        """Raise :class:`ContractError` unless ``value`` (a frame or a metrics dict) fits this entry."""
        if self.kind == "table":
            self._check_table(value)
        else:
            self._check_metrics(value)

    def _check_table(self, frame: Any) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise ContractError(f"{self._where()} must be a table (DataFrame), got {type(frame).__name__}")
        cols = {str(c): c for c in frame.columns}
        missing = [c for c in self.columns if c not in cols]
        if missing:
            have = ", ".join(map(str, frame.columns)) or "none"
            raise ContractError(f"{self._where()} lacks column(s) {', '.join(missing)} (it has: {have})")
        for name, kind in {**self.optional, **self.columns}.items():
            if name in cols and not column_fits(frame[cols[name]], kind):
                raise ContractError(f"{self._where()}: column {name!r} must hold {kind} values, "
                                    f"got dtype {frame[cols[name]].dtype}")

    def _check_metrics(self, values: Any) -> None:
        if not isinstance(values, Mapping):
            raise ContractError(f"{self._where()} must be metrics (a mapping), got {type(values).__name__}")
        required = dict(self.keys)
        if values.get("available", True) is not False:
            required.update(self.keys_if_available)
        missing = [k for k in required if k not in values]
        if missing:
            raise ContractError(f"{self._where()} lacks key(s) {', '.join(missing)} "
                                f"(it has: {', '.join(map(str, values)) or 'none'})")
        for key, kind in {**self.optional, **self.keys_if_available, **self.keys}.items():
            if key in values and not value_fits(values[key], kind):
                raise ContractError(f"{self._where()}: key {key!r} must hold a {kind} value, "
                                    f"got {type(values[key]).__name__} {values[key]!r}")


def column_fits(series: pd.Series, kind: str) -> bool:
    """Whether ``series`` holds ``kind`` values (a column without values always fits)."""
    dtype = series.dtype
    if series.isna().all():
        return True
    if isinstance(dtype, pd.CategoricalDtype):
        return column_fits(pd.Series(dtype.categories), kind)
    api = pd.api.types
    inferred = api.infer_dtype(series, skipna=True) if dtype == object else ""
    if kind == "string":
        return api.is_string_dtype(dtype) and (dtype != object or inferred in ("string", "empty"))
    if kind == "bool":
        return api.is_bool_dtype(dtype) or inferred == "boolean"
    if kind == "datetime":
        return api.is_datetime64_any_dtype(dtype) or inferred in ("datetime64", "datetime")
    if kind == "integer":
        return (api.is_integer_dtype(dtype) and not api.is_bool_dtype(dtype)) or inferred == "integer"
    if kind == "number":
        return (api.is_numeric_dtype(dtype) and not api.is_bool_dtype(dtype)) or \
            inferred in ("integer", "floating", "mixed-integer-float", "decimal")
    raise ValueError(f"unknown dtype kind {kind!r} (known: {', '.join(TABLE_KINDS)})")


def value_fits(value: Any, kind: str) -> bool:
    """Whether one metric value is of ``kind`` (None, a missing number, always fits)."""
    if value is None:
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "mapping":
        return isinstance(value, Mapping)
    raise ValueError(f"unknown kind {kind!r} (known: {', '.join(METRIC_KINDS)})")


# ------------------------------------------------------------------------------------ the entries
_S, _N, _I, _B, _D = "string", "number", "integer", "bool", "datetime"

SHARED: dict[str, SharedResult] = {r.name: r for r in (
    SharedResult(
        "customer_segments", "segmentation", "table",
        columns={"customer_id": _S, "rfm_segment": _S, "value_tier": _S},
        optional={"segment": _S, "persona": _S, "cluster": _I, "region": _S, "customer_type": _S},
        readers=("survey", "swot"),
        description="One row per customer (ids pseudonymised unless privacy is off): RFM segment, value tier, "
                    "cluster and persona; the survey and the SWOT break answers down by it"),
    SharedResult(
        "customer_clv", "clv", "table",
        columns={"customer_id": _S, "clv": _N},
        optional={"prob_alive": _N, "region": _S},
        readers=("segmentation",),
        description="Predicted CLV per customer; value tiers by predicted CLV (segmentation, tier_value='clv')"),
    SharedResult(
        "clv_by_region", "clv", "table",
        columns={"region": _S, "customers": _N, "mean_clv": _N},
        optional={"basis": _S},
        readers=("swot", "executive_summary"),
        description="Mean predicted CLV per region; basis: its horizon ('12 months' or 'all future purchases (DERT)')"),
    SharedResult(
        "kpi_scorecard", "kpi_scorecard", "table",
        columns={"region": _S, "period": _S, "period_start": _D, "period_end": _D, "metric": _S, "label": _S,
                 "unit": _S, "value": _N, "n": _N, "comparison": _S, "reference_label": _S, "reference": _N,
                 "test": _S, "p_value": _N, "p_adj": _N, "significant": _B, "direction": _S},
        readers=("swot", "executive_summary"),
        description="Every KPI per region and period, against the rest of the company and the previous period"),
    SharedResult(
        "kpi", "kpi_scorecard", "metrics",
        keys={"dataset": _S},
        keys_if_available={"window": _S, "alpha": _N, "correction": _S, "flags": "list"},
        readers=("executive_summary",),
        description="The KPI window, its test settings and the significant regional differences (flags)"),
    SharedResult(
        "cox_hazard_ratios", "churn", "table",
        columns={"term": _S, "hazard_ratio": _N, "p_value": _N},
        optional={"covariate": _S, "unit": _S},
        readers=("swot",),
        description="Hazard ratios of the churn report's Cox model (region terms feed the SWOT)"),
    SharedResult(
        "churn_scores", "churn", "table",
        columns={"customer_id": _S, "churn_probability": _N, "value": _N, "value_at_risk": _N},
        optional={"region": _S, "top_drivers": _S},
        readers=("action_plan",),
        description="The churn model's probability, value and value at risk per active customer (ids "
                    "pseudonymised unless privacy is off); the action plan's early warnings"),
    SharedResult(
        "churn", "churn", "metrics", keys={"dataset": _S},
        readers=("executive_summary",), description="Headline churn figures"),
    SharedResult(
        "strategy", "segmentation", "table",
        columns={"value_tier": _S, "rfm_segment": _S, "customers": _N},
        readers=("executive_summary",), description="Actions and contact cadence per value tier and RFM segment"),
    SharedResult(
        "swot_items", "swot", "table",
        columns={"region": _S, "quadrant": _S, "title": _S, "statement": _S, "action": _S, "priority": _N,
                 "score": _N},
        readers=("executive_summary",), description="Candidate SWOT items per region"),
    # each report's headline metrics: the executive summary names the reports that published them
    SharedResult("data_quality", "data_quality", "metrics", keys={"dataset": _S},
                 readers=("executive_summary",), description="Headline figures of the data-quality report"),
    SharedResult("segmentation", "segmentation", "metrics", keys={"dataset": _S},
                 readers=("executive_summary",), description="Headline figures of the segmentation report"),
    SharedResult("clv", "clv", "metrics", keys={"dataset": _S},
                 readers=("executive_summary",), description="Headline figures of the CLV report"),
    SharedResult("survey", "survey", "metrics", keys={"dataset": _S},
                 readers=("executive_summary",), description="Headline figures of the survey report"),
    SharedResult("swot", "swot", "metrics", keys={"dataset": _S},
                 readers=("executive_summary",), description="SWOT item counts"),
)}

#: The reports whose headline metrics the executive summary expects, in the order it names them.
SUMMARISED = ("data_quality", "kpi", "segmentation", "clv", "churn", "survey", "swot")


def entry(name: str) -> SharedResult:
    """The entry of shared result ``name``; an unknown name is an error listing the known ones."""
    try:
        return SHARED[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a shared result (toolkit/contract.py names: "
                       f"{', '.join(sorted(SHARED))})") from None


def check_published(name: str, value: Any, notebook: str | None) -> None:
    """Called by :class:`toolkit.results.RunResults` before it writes ``name``: a shared result must
    come from its producer and fit its entry; any other name passes."""
    spec = SHARED.get(name)
    if spec is None:
        return
    spec.check_publisher(notebook)
    spec.check(value)


def available(run: Any, name: str) -> bool:
    """Whether the run (a :class:`toolkit.results.RunResults`) holds shared result ``name``."""
    entry(name)
    return run is not None and run.has(name)


def read(run: Any, name: str) -> Any:
    """Shared result ``name`` from ``run`` (a :class:`toolkit.results.RunResults`): a DataFrame or a
    metrics dict, checked against its entry.

    Raises :class:`ResultUnavailable` when the run has not got it (its ``reason`` says which
    report should have published it) and :class:`ContractError` when it is malformed, or was
    published as the other kind or by another report."""
    spec = entry(name)
    if run is None or not run.has(name):
        raise ResultUnavailable(name, spec.producer, spec.not_published())
    meta = run.meta(name)
    if meta.get("kind") != spec.kind:
        raise ContractError(f"{spec._where()} must be {spec.kind}, but the run holds {meta.get('kind')}")
    publisher = meta.get("notebook")
    if publisher is not None and publisher != spec.producer:
        raise ContractError(f"{spec._where()} was published by report {publisher!r} in this run")
    value = run.read_table(name) if spec.kind == "table" else run.read_metrics(name)
    spec.check(value)
    return value
