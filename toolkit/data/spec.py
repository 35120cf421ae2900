"""Dataset specs: YAML files that map source files and their columns onto the data model.

A spec looks like this (every key except ``name`` and ``tables`` is optional)::

    name: cdnow_sample
    title: CDNOW sample
    currency: USD
    time_unit: W                 # default unit for CLV durations
    as_of: 1998-06-30            # analysis date; rows dated after it are "future" (default: today)
    base: ../../../shared/data/cdnow   # folder that file paths resolve against (default: the spec's)
    engine: pandas
    generator: {name: demo, seed: 42, n_customers: 20000, out: ../../data/demo}
    tables:
      transactions:
        file: CDNOW_sample.txt
        format: csv              # csv | parquet | xlsx (default from the extension; .txt = csv)
        read: {sep: '\\s+', header: null, names: [master_id, sample_id, date, cds, dollars]}
        encoding: utf-8          # csv only; utf-8 also accepts a BOM
        decimal: "."             # csv only
        thousands: ","           # csv only
        sheet: Orders            # xlsx only
        columns:                 # model column -> source column, or a mapping:
          customer_id: sample_id
          date: {source: date, format: "%Y%m%d"}
          amount: dollars        # or {multiply: [Quantity, UnitPrice]}; {source: cents, scale: 0.01}
          tenure: {source: TenureDays, unit: days}   # durations: days, weeks, months or years
          customer_type: {source: Segment, values: {Consumer: individual, Corporate: enterprise}}
          region: {value: All}   # a constant
        extra: [Contract, tenure]  # further source columns kept as snake_case attributes
        filters:                 # rows removed before validation, each counted under its rule name
          - {rule: cancelled_invoice, column: InvoiceNo, op: startswith, value: C}
        rules: {duplicates: drop, returns: keep, outliers: flag, future_dates: drop, max_bad_fraction: 0.05}
      customers:
        from: transactions       # one row per customer derived from the transactions file's rows

Relative paths resolve against ``base`` (itself relative to the spec file).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from toolkit.engine.core import ENGINES
from toolkit.data.errors import SpecError
from toolkit.data.schema import TABLES

SPEC_KEYS = {"name", "title", "description", "currency", "time_unit", "as_of", "base", "engine",
             "generator", "tables", "source", "licence", "notes", "churn", "surveys", "privacy"}
TABLE_KEYS = {"file", "format", "read", "encoding", "decimal", "thousands", "sheet", "columns", "extra",
              "filters", "rules", "from", "items", "scale", "missing_codes", "description"}
# What a column mapping may say (besides a bare source column name); anything else is a spec error.
COLUMN_KEYS = {"source", "value", "multiply", "row_number", "format", "dayfirst", "values", "unit", "scale"}
# Durations a source may be counted in, and how many model units (months) each is.
DURATION_UNITS = {"days": 12 / 365.25, "weeks": 7 * 12 / 365.25, "months": 1.0, "years": 12.0}
RULE_DEFAULTS: dict[str, Any] = {
    "missing_ids": "drop",
    "bad_dates": "drop",
    "bad_numbers": "drop",
    "future_dates": "drop",
    "duplicates": "drop",
    "returns": "keep",
    "zero_amounts": "keep",
    "outliers": "flag",
    "outlier_k": 50.0,
    "max_bad_fraction": 0.05,
}
RULE_CHOICES = {
    "missing_ids": {"drop", "error"},
    "bad_dates": {"drop", "error"},
    "bad_numbers": {"drop", "error"},
    "future_dates": {"drop", "keep", "error"},
    "duplicates": {"drop", "keep", "error"},
    "returns": {"keep", "drop"},
    "zero_amounts": {"keep", "drop"},
    "outliers": {"flag", "drop", "keep"},
}
FILTER_OPS = {"eq", "ne", "in", "not_in", "startswith", "not_startswith", "gt", "ge", "lt", "le",
              "isnull", "notnull", "contains"}


@dataclass
class TableSpec:
    name: str
    raw: dict[str, Any]
    path: Path | None
    spec_file: str

    @property
    def columns(self) -> dict[str, Any]:
        return dict(self.raw.get("columns") or {})

    @property
    def derived_from(self) -> str | None:
        return self.raw.get("from")

    @property
    def rules(self) -> dict[str, Any]:
        return {**RULE_DEFAULTS, **(self.raw.get("rules") or {})}

    @property
    def format(self) -> str:
        fmt = self.raw.get("format")
        if fmt:
            return str(fmt).lower()
        ext = self.path.suffix.lower() if self.path else ""
        return {".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".xls": "xlsx"}.get(ext, "csv")


@dataclass
class DatasetSpec:
    path: Path | None
    raw: dict[str, Any]
    tables: dict[str, TableSpec] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def title(self) -> str:
        return str(self.raw.get("title") or self.raw["name"])

    @property
    def engine(self) -> str | None:
        """The engine named by the spec (``duckdb``, ``spark`` or ``pandas``), or None."""
        return str(self.raw["engine"]) if self.raw.get("engine") else None

    @property
    def base(self) -> Path:
        root = self.path.parent if self.path else Path.cwd()
        return (root / str(self.raw.get("base", "."))).resolve()

    @property
    def generator(self) -> dict[str, Any] | None:
        return self.raw.get("generator")

    def source_files(self) -> list[Path]:
        """Every file the dataset reads (for hashing in the manifest)."""
        files = {t.path for t in self.tables.values() if t.path is not None}
        return sorted(files)


def project_root() -> Path:
    """The folder holding pyproject.toml and config/ (the package sits inside it)."""
    return Path(__file__).resolve().parents[2]


def project_path(path: str | os.PathLike) -> Path:
    """A config path as given, or relative to the project root when it does not exist as given and
    does there (notebooks run with their own folder as working directory under nbval and JupyterLab)."""
    p = Path(path)
    if p.exists() or p.is_absolute() or not (project_root() / p).exists():
        return p
    return project_root() / p


def resolve_spec_path(spec: str | os.PathLike) -> Path:
    """Find a spec given relative to the current folder or, failing that, to the project root."""
    p = Path(spec)
    if p.exists():
        return p.resolve()
    if not p.is_absolute():
        alt = project_root() / p
        if alt.exists():
            return alt.resolve()
        # A bare name like "cdnow" means config/datasets/cdnow.yaml.
        for cand in (project_root() / "config" / "datasets" / f"{p.name}.yaml",):
            if cand.exists():
                return cand.resolve()
    raise SpecError("dataset spec not found", file=str(spec),
                    hint=f"looked in {Path.cwd()} and {project_root()}; shipped specs are in config/datasets/")


def _check_keys(obj: dict, allowed: set[str], where: str, file: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(map(repr, unknown))} in {where}", file=file,
                        hint=f"valid keys: {', '.join(sorted(allowed))}")


def _check_column(tname: str, col: str, m: Any, file: str) -> None:
    """A column mapping's keys, and its ``unit`` and ``scale``, must be ones the loader applies."""
    if not isinstance(m, dict):
        return
    _check_keys(m, COLUMN_KEYS, f"column {col!r} of table {tname!r}", file)
    model = TABLES[tname].column(col)
    kind = model.kind
    if "unit" in m:
        if model.unit is None:
            raise SpecError(f"column {col!r} of table {tname!r} is not a duration, so it takes no 'unit'", file=file)
        if m["unit"] not in DURATION_UNITS:
            raise SpecError(f"unit of column {col!r} of table {tname!r} must be one of "
                            f"{', '.join(DURATION_UNITS)}, not {m['unit']!r}", file=file)
    if "scale" in m:
        if kind != "float":
            raise SpecError(f"column {col!r} of table {tname!r} is not a number, so it takes no 'scale'", file=file)
        scale = m["scale"]
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
            raise SpecError(f"scale of column {col!r} of table {tname!r} must be a positive number (e.g. 0.01 "
                            f"for amounts in cents), not {scale!r}", file=file)


def parse_spec(raw: dict[str, Any], path: Path | None = None) -> DatasetSpec:
    """Validate a spec dict and resolve its file paths."""
    file = str(path) if path else "<spec>"
    if not isinstance(raw, dict):
        raise SpecError("a dataset spec must be a YAML mapping", file=file)
    _check_keys(raw, SPEC_KEYS, "the spec", file)
    if "name" not in raw or "tables" not in raw:
        raise SpecError("a dataset spec needs 'name' and 'tables'", file=file)
    if raw.get("engine") is not None and raw["engine"] not in ENGINES:
        raise SpecError(f"engine must be one of {sorted(ENGINES)}, not {raw['engine']!r}", file=file)
    spec = DatasetSpec(path, raw)
    tables = raw["tables"] or {}
    if not isinstance(tables, dict) or not tables:
        raise SpecError("'tables' must map table names to their definitions", file=file)
    for tname, traw in tables.items():
        if tname not in TABLES:
            raise SpecError(f"unknown table {tname!r}", file=file, hint=f"valid tables: {', '.join(TABLES)}")
        if not isinstance(traw, dict):
            raise SpecError(f"table {tname!r} must be a mapping", file=file)
        if "join" in traw:
            raise SpecError(f"table {tname!r} has a 'join' key, but the loader does not join files onto a table",
                            file=file, hint="join the files before loading (one file per table), or load the "
                                            "second file as its own table")
        _check_keys(traw, TABLE_KEYS, f"table {tname!r}", file)
        rules = traw.get("rules") or {}
        _check_keys(rules, set(RULE_DEFAULTS), f"rules of table {tname!r}", file)
        for rule, choice in rules.items():
            if rule in RULE_CHOICES and choice not in RULE_CHOICES[rule]:
                raise SpecError(f"rule {rule!r} of table {tname!r} must be one of "
                                f"{sorted(RULE_CHOICES[rule])}, not {choice!r}", file=file)
        for i, flt in enumerate(traw.get("filters") or []):
            if not isinstance(flt, dict) or "column" not in flt or flt.get("op") not in FILTER_OPS:
                raise SpecError(f"filter {i + 1} of table {tname!r} needs 'column' and an 'op' among "
                                f"{sorted(FILTER_OPS)}", file=file)
        model_cols = set(TABLES[tname].names)
        for col in (traw.get("columns") or {}):
            if col not in model_cols:
                raise SpecError(f"table {tname!r} has no model column {col!r}", file=file,
                                hint=f"model columns: {', '.join(TABLES[tname].names)}; "
                                     "keep other source columns with 'extra'")
            _check_column(tname, col, traw["columns"][col], file)
        source = traw.get("from")
        if source is not None:
            if source not in tables or source == tname:
                raise SpecError(f"table {tname!r} derives from {source!r}, which the spec does not define",
                                file=file)
            if (tname, source) != ("customers", "transactions"):
                raise SpecError(f"table {tname!r} derives from {source!r}; only the customer table can be "
                                "derived, from the transactions ('from: transactions')", file=file)
            tpath = None
        else:
            if "file" not in traw:
                raise SpecError(f"table {tname!r} needs a 'file' (or 'from: <table>')", file=file)
            tpath = (spec.base / str(traw["file"])).resolve()
        spec.tables[tname] = TableSpec(tname, traw, tpath, file)
    return spec


def load_spec(spec: str | os.PathLike | dict) -> DatasetSpec:
    """Read and validate a spec from a YAML path (or take a dict as is)."""
    if isinstance(spec, DatasetSpec):
        return spec
    if isinstance(spec, dict):
        return parse_spec(spec, None)
    path = resolve_spec_path(spec)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML: {exc}", file=str(path)) from None
    return parse_spec(raw, path)


def spec_title(spec: str | os.PathLike) -> str:
    """The human title of a dataset spec."""
    return load_spec(spec).title
