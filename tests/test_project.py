"""Project hygiene: one dependency list mirrored for conda, notebooks stored clean and parameterised."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_mirrors_pyproject():
    pp = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in pp["dependencies"] + pp["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = {w for w in wanted if CONDA_NAMES.get(w, w) not in have}
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    # python, pip and the Java runtime pyspark needs are not Python packages (no PyPI name)
    extra = have - {CONDA_NAMES.get(w, w) for w in wanted} - {"python", "pip", "openjdk"}
    assert not extra, f"environment.yml lists {sorted(extra)} that pyproject.toml does not"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stored_without_outputs_and_with_parameters_first(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "strip outputs"
    assert "parameters" in nb["cells"][0].get("metadata", {}).get("tags", []), "first cell must be tagged parameters"
    src = "".join(nb["cells"][0]["source"])
    for name in ("dataset", "run_dir", "privacy"):
        assert re.search(rf"^{name}\s*=", src, re.M), f"parameter {name} missing"
    assert re.match(r"\d\d_[a-z0-9_]+\.ipynb$", path.name), "notebooks are numbered: NN_name.ipynb"


def test_every_configured_report_exists():
    cfg = yaml.safe_load((ROOT / "config" / "reports.yaml").read_text())
    for rep in cfg["reports"]:
        assert (ROOT / rep["notebook"]).exists(), rep["notebook"]


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make reports" in text and "make test" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


# ------------------------------------------------------------------ thin notebooks (issue 16)
# The notebooks tell the story and call the report layer (toolkit/reports); the logic lives there.
NOTEBOOK_CODE_LINES = 150     # all notebooks together, parameters cells excluded
CELL_LINES = 8


def _code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) for c in nb["cells"][1:] if c["cell_type"] == "code"]


def _lines(src: str) -> list[str]:
    return [line for line in src.splitlines() if line.strip()]


def test_notebooks_together_hold_at_most_150_code_lines():
    counts = {p.name: sum(len(_lines(src)) for src in _code_cells(p)) for p in NOTEBOOKS}
    assert sum(counts.values()) <= NOTEBOOK_CODE_LINES, f"{sum(counts.values())} code lines: {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_are_short_and_define_nothing(path):
    import ast

    for i, src in enumerate(_code_cells(path), start=1):
        assert len(_lines(src)) <= CELL_LINES, f"code cell {i} has {len(_lines(src))} lines:\n{src}"
        tree = ast.parse(src)
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                  ast.ClassDef, ast.Lambda))]
        assert not defined, f"code cell {i} defines a function or class:\n{src}"
        flow = [n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While, ast.If, ast.With, ast.Try))]
        assert not flow, f"code cell {i} holds control flow (loops and conditions belong in toolkit/reports):\n{src}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_the_single_source(path):
    """No script writes the notebook: an edit made in JupyterLab is the notebook."""
    generators = [p for p in (ROOT / "tools").rglob("*.py") if path.name in p.read_text(errors="ignore")]
    assert not generators, f"{path.name} is written by {generators}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_leaves_the_title_to_the_report_header(path):
    """A report's title is its ``title`` in config/reports.yaml, shown once by the page header the
    runner adds; a level-1 heading in the notebook would show it a second time."""
    nb = json.loads(path.read_text())
    titles = [line for c in nb["cells"] if c["cell_type"] == "markdown"
              for line in "".join(c["source"]).splitlines() if re.match(r"#\s", line)]
    assert not titles, f"{path.name} repeats the title: {titles}"
