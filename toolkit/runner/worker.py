"""One report in its own process: execute the notebook with papermill, then render it.

Run as ``python -m toolkit.runner.worker JOB.json``; the outcome is written to the job's
``result`` path as JSON, and the start of each cell (with its section, the last markdown
heading) to ``progress_path(job)`` so that the runner can say where a long report is. A failing notebook is still saved (papermill writes the output before
raising) and rendered with the error stated at the top.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

KERNEL = "python3"
ENGINE = "custkit-progress"


def progress_path(job: dict[str, Any]) -> Path:
    """Where the worker records which cell and section of the notebook is running (JSON lines)."""
    return Path(job.get("progress") or job["result"] + ".progress")


def section_names(cells: list[Any]) -> list[str]:
    """Per cell, the section it belongs to: the text of the last markdown heading at or before it
    (``start`` before the first heading)."""
    names, current = [], None
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            for line in ("".join(source) if isinstance(source, list) else str(source)).splitlines():
                if line.lstrip().startswith("#"):
                    current = line.strip().lstrip("#").strip() or current
                    break
        names.append(current or "start")
    return names


def _register_progress_engine(path: Path) -> None:
    """Register a papermill engine that appends a line to ``path`` as each cell starts (cell
    index, number of cells, section, wall-clock time): the runner reads it to report progress."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            cells = nb_man.nb.cells
            names = section_names(cells)
            start = nb_man.cell_start

            def cell_start(cell, cell_index=None, **kw):
                if cell_index is not None:
                    with open(path, "a", encoding="utf-8") as f:
                        f.write(json.dumps({"cell": cell_index + 1, "cells": len(cells),
                                            "section": names[cell_index], "time": time.time()}) + "\n")
                return start(cell, cell_index, **kw)

            nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE, ProgressEngine)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def execute(job: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """Execute the job's notebook; return status and error type/message."""
    import papermill as pm

    _register_progress_engine(progress_path(job))
    try:
        pm.execute_notebook(job["notebook"], job["output"], parameters=job["parameters"],
                            kernel_name=job.get("kernel", KERNEL), cwd=job["cwd"], engine_name=ENGINE,
                            progress_bar=False, log_output=False, request_save_on_cell_execute=True)
    except pm.PapermillExecutionError as exc:
        return "failed", exc.ename, exc.evalue
    except Exception as exc:  # kernel died, bad notebook, ...: the report fails, the run goes on
        return "failed", type(exc).__name__, str(exc) or repr(exc)
    return "ok", None, None


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Execute and render one report; return its outcome."""
    from toolkit.runner.render import ReportHeader, render_notebook

    started, t0 = _now(), time.monotonic()
    status, etype, emsg = execute(job)
    source = job["output"] if Path(job["output"]).exists() else job["notebook"]
    header = ReportHeader(**job["header"], status=status, error_type=etype, error_message=emsg)
    html = None
    try:
        html = str(render_notebook(source, job["html"], header))
    except Exception as exc:
        traceback.print_exc()
        if status == "ok":
            status, etype, emsg = "failed", type(exc).__name__, f"rendering the report failed: {exc}"
    return {"status": status, "error_type": etype, "error_message": emsg, "started": started,
            "finished": _now(), "duration_seconds": round(time.monotonic() - t0, 2), "html": html}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    result = run_job(job)
    tmp = Path(job["result"] + ".part")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(job["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
