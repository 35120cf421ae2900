"""What every report opens with: the dataset, the run's results and the figure style.

A notebook's second cell is ``rep = open_report("<name>", dataset, run_dir, privacy, settings, region)``;
section functions then take ``rep``. ``settings`` are the run settings the runner passes as a
notebook parameter (see :class:`RunSettings`); nothing travels through environment variables.

``region`` (the runner's ``--region``, or a notebook's own parameter) makes a regional manager's
pack: a report about customers gets the region's customers only (:func:`toolkit.data.focus.
focus_region`); the reports that compare regions (:data:`COMPARE_REGIONS`) compute on the whole
company, so each region is still tested against the rest, and show the region with the company.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from toolkit.data.focus import RegionFocus, focus_region, match_region
from toolkit.engine.core import EngineSettings
from toolkit.results import RunResults

#: Reports whose subject is the comparison of regions: with a region given they read the whole
#: company's data and published results and show that region beside the company.
COMPARE_REGIONS = frozenset({"kpi_scorecard", "swot", "executive_summary"})


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
    region: str | None = None          # the region of a regional pack (None: the whole company)
    focus: RegionFocus | None = None   # what narrowing ``ds`` to the region kept (reports about customers)

    @property
    def currency(self) -> str:
        """The dataset's currency code, or "" when there is no dataset or its transactions carry no
        amounts (no number of such a report is labelled money)."""
        if self.ds is None or not getattr(self.ds, "has_money", False):
            return ""
        return getattr(self.ds, "currency", None) or ""


def open_report(name: str, dataset: str | None = None, run_dir: str | None = None, privacy: bool = True,
                settings: "RunSettings | Mapping[str, Any] | None" = None, region: str | None = None,
                needs_money: bool = False) -> ReportContext:
    """Load ``dataset`` (when given), open the run's results as report ``name`` and apply the
    figure style. ``region`` narrows the report to one region (see the module docstring) and says so
    under the report's title; ``needs_money`` stops the report early when the data hold no amounts."""
    from toolkit.data import load_dataset
    from toolkit.plotting import apply_style

    apply_style()
    run = RunSettings.of(settings)
    ds = load_dataset(dataset, engine=run) if dataset is not None else None
    if needs_money and ds is not None:
        ds.require_money()
    focus = None
    if region is not None and ds is not None:
        if name in COMPARE_REGIONS:
            region = match_region(ds, region)
        else:
            ds = focus_region(ds, region)
            focus, region = ds.focus, ds.focus.region
    rep = ReportContext(name, ds, RunResults(run_dir, notebook=name, pseudonymise=privacy),
                        ds.settings if ds is not None else run,   # the dataset's: the spec's engine filled in
                        region, focus)
    if region is not None:
        _say_region(rep)
    return rep


def region_sentence(rep: ReportContext) -> str:
    """Whose data a regional report shows, in one sentence ("" for the whole company)."""
    if rep.region is None:
        return ""
    if rep.focus is not None:
        return rep.focus.sentence()
    return (f"This report is for region {rep.region}: it is computed on the whole company, so the region is "
            "tested against the rest of the company, and shows the region beside the company's figures.")


def _say_region(rep: ReportContext) -> None:
    """Show the region sentence under the title when run in a notebook (nothing elsewhere)."""
    from IPython import get_ipython
    from IPython.display import display

    from toolkit.reports.section import Section

    if get_ipython() is not None:
        sec: Section[None] = Section()
        sec.say("**{s}**", s=region_sentence(rep))
        display(sec)
