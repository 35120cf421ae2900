"""Publishing results into a run folder, and reading them back by name.

Each notebook of a run publishes its named tables, headline metrics and customer-level exports
through one object; a later notebook of the same run (SWOT, executive summary) reads them by name::

    out = RunResults(run_dir, notebook="clv")
    out.table("clv_by_region", frame, description="Mean CLV per customer", units={"clv": "EUR"})
    out.metrics({"mean_clv": 412.3}, description="Headline CLV figures")
    out.export("customer_clv", per_customer)          # also written as CSV for analysts
    RunResults(run_dir).read_table("clv_by_region")

Results other reports read (the KPI scorecard, customer segments, ...) are named in
:mod:`toolkit.contract`: publishing one checks it against its entry there (its producer, its
columns and their dtypes), and readers read it through :func:`toolkit.contract.read`.

Files: ``<run_dir>/results/<name>.parquet`` (tables), ``<name>.metrics.json`` (metrics) and
``<name>.meta.json`` (who published it, when, description, units). Exports are additionally written
to ``<run_dir>/exports/<name>.csv``. Names are unique within a run: publishing the same name twice
from different notebooks is an error, from the same notebook it replaces the earlier version.
"""
from __future__ import annotations

import json
import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.contract import ResultNotFound, check_published

__all__ = ["INTERACTIVE_DIR", "PublishedPath", "ResultNotFound", "RunResults"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
INTERACTIVE_DIR = Path(__file__).resolve().parents[1] / "outputs" / "interactive"


class PublishedPath(type(Path())):
    """Where a published result was written: a Path that shows nothing when it ends a notebook
    cell (a report never prints ``PosixPath('/…/results/x.metrics.json')``)."""

    def _ipython_display_(self) -> None:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return value


class RunResults:
    """Named results of one run. ``run_dir=None`` means an interactive session (outputs/interactive)."""

    def __init__(self, run_dir: str | os.PathLike | None, notebook: str | None = None,
                 pseudonymise: bool = True, salt: str = "") -> None:
        self.run_dir = Path(run_dir) if run_dir else INTERACTIVE_DIR
        self.notebook = notebook
        self.pseudonymise = pseudonymise
        self.salt = salt
        self.dir = self.run_dir / "results"

    # ----------------------------------------------------------------- writing
    def _check_name(self, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"result name {name!r} must be lower-case letters, digits and underscores")
        meta = self.dir / f"{name}.meta.json"
        if meta.exists() and self.notebook is not None:
            owner = json.loads(meta.read_text()).get("notebook")
            if owner not in (None, self.notebook):
                raise ValueError(f"result {name!r} was already published by notebook {owner!r}")

    def _write_meta(self, name: str, kind: str, description: str, units: dict | None, extra: dict) -> None:
        meta = {
            "name": name,
            "kind": kind,
            "notebook": self.notebook,
            "description": description,
            "units": units or {},
            "published": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **extra,
        }
        (self.dir / f"{name}.meta.json").write_text(json.dumps(_jsonable(meta), indent=2))

    def table(self, name: str, frame: pd.DataFrame, description: str = "",
              units: dict[str, str] | None = None) -> Path:
        """Publish a table (a DataFrame; its index is kept)."""
        self._check_name(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{name}.parquet"
        frame = frame.copy()
        frame.attrs = {}  # attrs may hold objects parquet metadata cannot store
        frame.columns = [str(c) for c in frame.columns]
        check_published(name, frame, self.notebook)
        frame.to_parquet(path)
        self._write_meta(name, "table", description, units, {"rows": len(frame), "columns": list(frame.columns)})
        return PublishedPath(path)

    def metrics(self, name: str, values: dict[str, Any], description: str = "",
                units: dict[str, str] | None = None) -> Path:
        """Publish a flat or nested dict of headline figures."""
        self._check_name(name)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{name}.metrics.json"
        values = _jsonable(values)
        check_published(name, values, self.notebook)
        path.write_text(json.dumps(values, indent=2))
        self._write_meta(name, "metrics", description, units, {})
        return PublishedPath(path)

    def export(self, name: str, frame: pd.DataFrame, description: str = "",
               units: dict[str, str] | None = None) -> Path:
        """Publish a customer-level table and write it as CSV under exports/ for analysts.

        Customer ids are pseudonymised and direct identifiers dropped unless the run turned
        privacy off (see :mod:`toolkit.privacy`).
        """
        from toolkit.privacy import protect

        shared = protect(frame, enabled=self.pseudonymise, salt=self.salt)
        self.table(name, shared, description=description, units=units)
        exports = self.run_dir / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        path = exports / f"{name}.csv"
        shared.to_csv(path, index=False)
        return PublishedPath(path)

    # ----------------------------------------------------------------- reading
    def names(self) -> list[str]:
        if not self.dir.exists():
            return []
        return sorted(p.name[: -len(".meta.json")] for p in self.dir.glob("*.meta.json"))

    def meta(self, name: str) -> dict:
        path = self.dir / f"{name}.meta.json"
        if not path.exists():
            available = ", ".join(self.names()) or "none"
            raise ResultNotFound(f"no result named {name!r} in {self.run_dir} (available: {available})")
        return json.loads(path.read_text())

    def read_table(self, name: str) -> pd.DataFrame:
        self.meta(name)
        return pd.read_parquet(self.dir / f"{name}.parquet")

    def read_metrics(self, name: str) -> dict:
        self.meta(name)
        return json.loads((self.dir / f"{name}.metrics.json").read_text())

    def has(self, name: str) -> bool:
        return (self.dir / f"{name}.meta.json").exists()

    def catalogue(self) -> pd.DataFrame:
        """One row per published result: name, kind, notebook, description, rows."""
        rows = [self.meta(n) for n in self.names()]
        cols = ["name", "kind", "notebook", "description", "rows"]
        return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
