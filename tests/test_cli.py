"""The command line's paths no other test runs (issue #19, item 7): ``demo``, a successful ``validate``,
``run --run-id`` (and a run-id collision) and ``run --engine`` reaching the report workers."""
from __future__ import annotations

import contextlib
import io
import json
import os
import filecmp
from pathlib import Path

import nbformat
import pytest
import yaml

from toolkit.cli import main
from toolkit.runner import dataset as runner_dataset

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "fixtures" / "configs" / "dataset.yaml"


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_demo_writes_the_generators_dataset(tmp_path):
    from toolkit.data.demo import write_demo

    code, out, err = run_cli("demo", "--out", str(tmp_path / "cli"), "--seed", "7", "--customers", "150")
    assert code == 0 and err == "" and f"demo dataset written to {tmp_path / 'cli'}" in out
    write_demo(tmp_path / "direct", seed=7, n_customers=150)
    files = sorted(p.relative_to(tmp_path / "direct") for p in (tmp_path / "direct").rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*")
                                     if p.is_file())
    csvs = [f for f in files if f.suffix == ".csv"]
    assert csvs
    for f in csvs:  # the same seed and size: the same data, byte for byte
        assert filecmp.cmp(tmp_path / "cli" / f, tmp_path / "direct" / f, shallow=False), f
    customers = next(f for f in csvs if "customer" in f.name)
    lines = (tmp_path / "cli" / customers).read_text().splitlines()
    assert len(lines) >= 151                                   # header + at least one row per customer


def test_validate_prints_the_load_report(small_demo_spec):
    from toolkit.data import load_dataset

    code, out, err = run_cli("validate", "--dataset", str(small_demo_spec))
    assert code == 0, err
    ds = load_dataset(small_demo_spec)
    assert ds.report.to_frame().to_string() in out
    for line in ds.report.balance_lines():
        assert line in out


# ------------------------------------------------------------------------------- run --run-id / --engine
def _engine_pack(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('dataset = ""\nrun_dir = None\nprivacy = True\n')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_markdown_cell("## Engine"), nbformat.v4.new_code_cell(
        "import os\nfrom toolkit.results import RunResults\n"
        "RunResults(run_dir, notebook='engine').metrics('engine', {'engine': os.environ.get('CUSTKIT_ENGINE')})\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "engine.ipynb")
    cfg = {"title": "Engine pack", "dataset": str(SPEC), "output_dir": str(tmp_path / "out"), "jobs": 1,
           "reports": [{"name": "engine", "title": "Engine", "notebook": str(tmp_path / "engine.ipynb")}]}
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def fake_data(monkeypatch):
    # the fixture dataset is a plain file: stand in for toolkit.data as tests/test_runner.py does
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(runner_dataset, "_data_attr", {"prepare_dataset": lambda spec: [Path(spec)],
                                                       "spec_title": lambda spec: "Fixture data"}.get)
    monkeypatch.delenv("CUSTKIT_ENGINE", raising=False)


def test_run_id_engine_and_a_run_id_collision(tmp_path, fake_data):
    cfg = _engine_pack(tmp_path)
    out_dir = tmp_path / "out"
    code, out, err = run_cli("run", "--config", str(cfg), "--run-id", "r1.test", "--engine", "pandas")
    assert code == 0, out + err
    first = out_dir / "r1.test"
    assert first.is_dir() and os.readlink(out_dir / "latest") == "r1.test"
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["run_id"] == "r1.test" and manifest["engine"] == "pandas"
    # the worker saw the engine; the runner's own environment is restored afterwards
    assert json.loads((first / "results" / "engine.metrics.json").read_text()) == {"engine": "pandas"}
    assert "CUSTKIT_ENGINE" not in os.environ
    # the same run id again: a new folder with a suffix, the first run untouched
    before = (first / "manifest.json").read_text()
    code, out, err = run_cli("run", "--config", str(cfg), "--run-id", "r1.test")
    assert code == 0, out + err
    second = out_dir / "r1.test-2"
    assert second.is_dir() and os.readlink(out_dir / "latest") == "r1.test-2"
    assert json.loads((second / "manifest.json").read_text())["run_id"] == "r1.test-2"
    assert (first / "manifest.json").read_text() == before
    assert json.loads((second / "results" / "engine.metrics.json").read_text()) == {"engine": None}


def test_bad_run_id_and_engine_are_usage_errors(tmp_path, fake_data):
    cfg = _engine_pack(tmp_path)
    code, _, err = run_cli("run", "--config", str(cfg), "--run-id", "latest")
    assert code == 2 and "run id 'latest'" in err
    code, _, err = run_cli("run", "--config", str(cfg), "--engine", "polars")
    assert code == 2 and "'engine' must be one of" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
