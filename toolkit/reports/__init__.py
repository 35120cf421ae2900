"""The report layer: what each report says, as tested sections a thin notebook displays.

One module per report (``toolkit.reports.<report>``); each section function takes the report's
context (:func:`open_report`), its parameters and earlier sections' values and returns a
:class:`~toolkit.reports.section.Section` of sentences, tables with units and figures. Shared pieces:
``section`` (the typed section), ``context`` (dataset, results and run settings of one report),
``format`` (escaping and number formats). Domain packages never import this layer.
"""
from toolkit.reports.context import ReportContext, RunSettings, open_report
from toolkit.reports.section import Figure, Section, Table

__all__ = ["Figure", "ReportContext", "RunSettings", "Section", "Table", "open_report"]
