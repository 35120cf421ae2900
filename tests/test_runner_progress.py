"""Progress of a running report (issue #21 item 4): the console says which section (the markdown
heading above the running cell) a report is in, and for how long.

The worker records each cell's start (toolkit.runner.worker); the runner turns those records into
lines (toolkit.runner.execute.Progress). The tests assert on the lines, never on wall-clock times:
the periodic lines are driven by the ``now`` given to ``Progress.poll``.
"""
from __future__ import annotations

import json
from pathlib import Path

from toolkit.runner.execute import Job, Progress, run_jobs
from toolkit.runner.worker import section_names

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "fixtures" / "notebooks" / "sections.ipynb"


def test_sections_are_the_last_heading_above_each_cell():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert section_names(cells) == ["start", "Loading the log", "Loading the log", "Loading the log",
                                    "Loading the log", "Holdout tracking", "Holdout tracking", "Holdout tracking"]


def _event(f, cell, cells, section, t):
    f.write(json.dumps({"cell": cell, "cells": cells, "section": section, "time": t}) + "\n")
    f.flush()


def test_progress_lines_at_each_section_and_every_interval(tmp_path):
    path = tmp_path / "job.progress"
    p = Progress("03_clv", path, every=30)
    assert p.poll(0.0) == []                              # nothing recorded yet: silent
    with open(path, "w") as f:
        _event(f, 1, 52, "start", 1000.0)
        _event(f, 2, 52, "Holdout tracking", 1002.0)
        f.write('{"cell": 3, "cel')                      # a line still being written is read later
        f.flush()
        assert p.poll(1003.0) == ["[03_clv] section 'start' started (cell 1 of 52)",
                                  "[03_clv] section 'Holdout tracking' started (cell 2 of 52)"]
        assert p.poll(1020.0) == []                       # less than 30 s since the section began
        assert p.poll(1047.0) == ["[03_clv] section 'Holdout tracking' 45 s (cell 2 of 52)"]
        assert p.poll(1060.0) == []
        f.write('ls": 52, "section": "Holdout tracking", "time": 1061.0}\n')
        f.flush()
        assert p.poll(1077.0) == ["[03_clv] section 'Holdout tracking' 75 s (cell 3 of 52)"]
        _event(f, 4, 52, "Scorecard", 1080.0)
        assert p.poll(1081.0) == ["[03_clv] section 'Scorecard' started (cell 4 of 52)"]
    quiet = Progress("x", path, every=0)                   # every = 0: section lines only
    assert [line for line in quiet.poll(5000.0)] == [
        "[x] section 'start' started (cell 1 of 52)", "[x] section 'Holdout tracking' started (cell 2 of 52)",
        "[x] section 'Scorecard' started (cell 4 of 52)"]
    assert quiet.poll(9000.0) == []


def test_a_running_report_prints_its_sections(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    out.mkdir()
    params = {"dataset": "", "run_dir": str(tmp_path), "privacy": True, "pause": 0.2}
    spec = {"name": "sections", "notebook": str(NOTEBOOK), "output": str(out / "sections.ipynb"),
            "html": str(out / "sections.html"), "parameters": params, "cwd": str(ROOT),
            "result": str(out / "sections.result.json"),
            "header": {"title": "Sections", "pack_title": "Test", "dataset": None, "dataset_title": None,
                       "parameters": params, "run_id": "r", "run_date": "", "version": ""}}
    job = Job("sections", (), spec, out / "sections.log", out / "sections.job.json", out / "sections.result.json")
    lines: list[str] = []
    results = run_jobs([job], 1, str(ROOT), on_progress=lines.append, progress_every=0)
    assert results["sections"]["status"] == "ok", results
    assert lines == ["[sections] section 'start' started (cell 1 of 9)",
                     "[sections] section 'Loading the log' started (cell 3 of 9)",
                     "[sections] section 'Holdout tracking' started (cell 7 of 9)"]
    assert not job.progress_file.exists()                 # the record goes with the job
