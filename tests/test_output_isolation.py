"""Tests never publish into the project's outputs/interactive (issue #19, item 1).

tests/conftest.py gives every notebook nbval runs its own temporary run folder (injected into the
notebook's ``parameters`` cell) and appends a last item, ``outputs_interactive_untouched``, that fails
if the session created or touched outputs/interactive. These tests check the two pieces themselves.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat

from conftest import INTERACTIVE_DIR, _is_parameters_cell, inject_run_dir, interactive_state
from toolkit.results import RunResults


def test_state_sees_creation_writes_and_touches(tmp_path):
    folder = tmp_path / "interactive"
    assert interactive_state(folder) is None
    folder.mkdir()
    empty = interactive_state(folder)
    assert empty is not None
    RunResults(folder).metrics("m", {"x": 1})
    written = interactive_state(folder)
    assert written != empty
    path = folder / "results" / "m.metrics.json"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # touched, same content
    assert interactive_state(folder) != written


def test_injected_run_dir_overrides_the_default(tmp_path):
    source = 'dataset = "config/datasets/demo.yaml"\nrun_dir = None  # set by the runner\nprivacy = True'
    ns: dict = {}
    exec(inject_run_dir(source, str(tmp_path / "run")), ns)
    assert ns["run_dir"] == str(tmp_path / "run")
    assert ns["dataset"] == "config/datasets/demo.yaml" and ns["privacy"] is True


def test_every_pack_notebook_has_a_parameters_cell_with_run_dir(project_root):
    # The injection targets the cell tagged "parameters": a notebook without one would run with
    # run_dir=None, i.e. into outputs/interactive.
    for path in sorted((project_root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if "parameters" in (c.metadata.get("tags") or [])]
        assert len(cells) == 1, path.name
        assert "run_dir = None" in cells[0].source, path.name


def test_collected_notebook_cells_got_their_own_run_folder(request):
    # When nbval collected notebooks in this session, each parameters cell must carry a temporary run
    # folder outside the project, one per notebook.
    cells = [i for i in request.session.items if _is_parameters_cell(i)]
    folders = [Path(c.run_dir) for c in cells]
    assert len(set(folders)) == len(folders)
    for cell, folder in zip(cells, folders):
        assert f"run_dir = {str(folder)!r}" in cell.cell.source
        assert INTERACTIVE_DIR.parents[1] not in folder.parents
