"""What every report opens with: the dataset, the run's results and the figure style.

A notebook's second cell is ``rep = open_report("<name>", dataset, run_dir, privacy, settings)``;
section functions then take ``rep``. ``settings`` are the run settings the runner passes as a
notebook parameter (see :class:`RunSettings`); nothing travels through environment variables.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from toolkit.engine.core import EngineSettings
from toolkit.results import RunResults


#: The run settings a notebook gets as its ``settings`` parameter (engine, duckdb_threads,
#: duckdb_memory; None: the defaults): :class:`toolkit.engine.EngineSettings`, which the dataset
#: carries to every aggregation (``RunSettings.of(mapping)`` checks the keys and values).
RunSettings = EngineSettings


@dataclass
class ReportContext:
    """One report's dataset (None for reports that only read earlier results), its results
    folder (``out``, for publishing and for reading what earlier reports published) and settings."""

    name: str
    ds: Any
    out: RunResults
    settings: RunSettings = field(default_factory=RunSettings)

    @property
    def currency(self) -> str:
        """The dataset's currency code, or "" when there is no dataset or its transactions carry no
        amounts (no number of such a report is labelled money)."""
        if self.ds is None or not getattr(self.ds, "has_money", False):
            return ""
        return getattr(self.ds, "currency", None) or ""


def open_report(name: str, dataset: str | None = None, run_dir: str | None = None, privacy: bool = True,
                settings: "RunSettings | Mapping[str, Any] | None" = None, needs_money: bool = False) -> ReportContext:
    """Load ``dataset`` (when given), open the run's results as report ``name`` and apply the
    figure style. ``needs_money`` stops the report early when the data hold no amounts."""
    from toolkit.data import load_dataset
    from toolkit.plotting import apply_style

    apply_style()
    run = RunSettings.of(settings)
    ds = load_dataset(dataset, engine=run) if dataset is not None else None
    if needs_money and ds is not None:
        ds.require_money()
    return ReportContext(name, ds, RunResults(run_dir, notebook=name, pseudonymise=privacy),
                         ds.settings if ds is not None else run)   # the dataset's: the spec's engine filled in
