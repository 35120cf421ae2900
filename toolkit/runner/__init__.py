"""The report runner: execute a pack of parameterised notebooks and publish HTML reports.

Entry points for other code (the CLI is :mod:`toolkit.cli`)::

    config = load_config("config/reports.yaml", dataset=None, output_dir=None, jobs=None)
    outcome = run_pack(config, only=None, run_id=None)      # RunOutcome(exit_code, run_dir, index, ...)
    check_parameters("notebooks/03_clv.ipynb", {"dataset": "...", "run_dir": None, "privacy": True})
    render_notebook("executed.ipynb", "report.html", ReportHeader(title="CLV"))
"""
from __future__ import annotations

from toolkit.runner.config import PackConfig, ReportSpec, load_config
from toolkit.runner.errors import RunnerError
from toolkit.runner.pack import RunOutcome, run_pack
from toolkit.runner.params import check_parameters, notebook_parameters
from toolkit.runner.render import ReportHeader, render_notebook

__all__ = ["PackConfig", "ReportHeader", "ReportSpec", "RunOutcome", "RunnerError", "check_parameters",
           "load_config", "notebook_parameters", "render_notebook", "run_pack"]
