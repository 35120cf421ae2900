"""The command line's paths no other test runs (issue #19, item 7): ``demo``, a successful ``validate``,
``run --run-id`` (and a run-id collision) and ``run --engine`` reaching the report workers as their
``settings`` parameter (issue 16: run settings are notebook parameters, not environment variables)."""
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
def _engine_pack(tmp_path: Path, declares_settings: bool = True) -> Path:
    """A one-report pack whose notebook publishes the settings it was given (and whether any
    CUSTKIT_ variable reached it)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('dataset = ""\nrun_dir = None\nprivacy = True\n'
                                       + ("settings = None\n" if declares_settings else ""))
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_markdown_cell("## Engine"), nbformat.v4.new_code_cell(
        "import os\nfrom toolkit.results import RunResults\n"
        "RunResults(run_dir, notebook='engine').metrics('engine', {'settings': globals().get('settings', 'absent'), "
        "'environment': sorted(k for k in os.environ if k in ('CUSTKIT_ENGINE', 'CUSTKIT_DUCKDB_THREADS', "
        "'CUSTKIT_DUCKDB_MEMORY'))})\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "engine.ipynb")
    cfg = {"title": "Engine pack", "dataset": str(SPEC), "output_dir": str(tmp_path / "out"), "jobs": 1,
           "duckdb_memory": "1GB",
           "reports": [{"name": "engine", "title": "Engine", "notebook": str(tmp_path / "engine.ipynb")}]}
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture
def fake_data(monkeypatch):
    # the fixture dataset is a plain file: stand in for toolkit.data as tests/test_runner.py does
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(runner_dataset, "_prepare", lambda spec: [Path(spec)])
    monkeypatch.setattr(runner_dataset, "_spec_title", lambda spec: "Fixture data")
    for name in ("CUSTKIT_ENGINE", "CUSTKIT_DUCKDB_THREADS", "CUSTKIT_DUCKDB_MEMORY"):
        monkeypatch.delenv(name, raising=False)


def test_run_id_engine_and_a_run_id_collision(tmp_path, fake_data):
    cfg = _engine_pack(tmp_path)
    out_dir = tmp_path / "out"
    before_env = dict(os.environ)
    code, out, err = run_cli("run", "--config", str(cfg), "--run-id", "r1.test", "--engine", "pandas",
                             "--duckdb-threads", "2")
    assert code == 0, out + err
    assert dict(os.environ) == before_env          # the runner sets no environment variable
    first = out_dir / "r1.test"
    assert first.is_dir() and os.readlink(out_dir / "latest") == "r1.test"
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["run_id"] == "r1.test" and manifest["engine"] == "pandas"
    given = {"engine": "pandas", "duckdb_threads": 2, "duckdb_memory": "1GB"}   # arguments over the config file
    assert manifest["settings"] == given
    resolved = yaml.safe_load((first / "config.yaml").read_text())
    assert resolved["settings"] == given and resolved["reports"][0]["parameters"]["settings"] == given
    # the notebook got them as its parameter, and no environment variable carried them
    assert json.loads((first / "results" / "engine.metrics.json").read_text()) == {"settings": given,
                                                                                  "environment": []}
    # the same run id again: a new folder with a suffix, the first run untouched
    before = (first / "manifest.json").read_text()
    code, out, err = run_cli("run", "--config", str(cfg), "--run-id", "r1.test")
    assert code == 0, out + err
    second = out_dir / "r1.test-2"
    assert second.is_dir() and os.readlink(out_dir / "latest") == "r1.test-2"
    assert json.loads((second / "manifest.json").read_text())["run_id"] == "r1.test-2"
    assert (first / "manifest.json").read_text() == before
    assert json.loads((second / "results" / "engine.metrics.json").read_text())["settings"] == {
        "engine": None, "duckdb_threads": None, "duckdb_memory": "1GB"}


def test_a_notebook_without_the_settings_parameter_is_refused_before_anything_runs(tmp_path, fake_data):
    cfg = _engine_pack(tmp_path, declares_settings=False)
    code, out, err = run_cli("run", "--config", str(cfg), "--run-id", "r2", "--engine", "pandas")
    assert code == 2 and "unknown parameter(s) settings" in err
    assert "the runner passes dataset, run_dir, privacy, settings to every notebook" in err
    assert not (tmp_path / "out" / "r2").exists()


def test_bad_run_id_and_engine_are_usage_errors(tmp_path, fake_data):
    cfg = _engine_pack(tmp_path)
    code, _, err = run_cli("run", "--config", str(cfg), "--run-id", "latest")
    assert code == 2 and "run id 'latest'" in err
    code, _, err = run_cli("run", "--config", str(cfg), "--engine", "polars")
    assert code == 2 and "'engine' must be one of duckdb, spark, pandas, got 'polars'" in err
    code, _, err = run_cli("run", "--config", str(cfg), "--duckdb-threads", "0")
    assert code == 2 and "'duckdb_threads' must be a positive integer, not 0" in err
    code, _, err = run_cli("run", "--config", str(cfg), "--duckdb-memory", "lots")
    assert code == 2 and "'duckdb_memory' must be a size" in err
    bad = yaml.safe_load(cfg.read_text())
    bad["duckdb_thread"] = 2          # a misspelt setting is an unknown key, named
    cfg.write_text(yaml.safe_dump(bad))
    code, _, err = run_cli("run", "--config", str(cfg))
    assert code == 2 and "unknown key(s) duckdb_thread" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_each_report_loads_its_dataset_with_the_runs_settings(tmp_path, monkeypatch):
    """A real (tiny) dataset: the notebook's ``open_report(..., settings)`` loads it on the run's engine with
    the run's DuckDB threads, as config.yaml records them."""
    monkeypatch.chdir(ROOT)
    (tmp_path / "tx.csv").write_text("cust,day,amt\n" + "".join(f"c{i % 5},2025-0{1 + i % 9}-1{i % 9},{i + 1}\n"
                                                               for i in range(40)))
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump({"name": "tiny", "title": "Tiny", "as_of": "2025-12-31", "engine": "pandas",
                                    "tables": {"transactions": {"file": "tx.csv", "columns": {
                                        "customer_id": "cust", "date": "day", "amount": "amt"}}}}))
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('dataset = ""\nrun_dir = None\nprivacy = True\nsettings = None\n')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from toolkit.engine import duckdb_connection\nfrom toolkit.reports import open_report\n"
        "rep = open_report('used', dataset, run_dir, privacy, settings)\n"
        "threads = duckdb_connection().execute(\"SELECT current_setting('threads')\").fetchall()[0][0]\n"
        "rep.out.metrics('used', {'engine': rep.ds.engine, 'settings': rep.ds.settings.as_dict(), "
        "'duckdb_threads': int(threads)})\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "used.ipynb")
    cfg = tmp_path / "pack.yaml"
    cfg.write_text(yaml.safe_dump({"title": "Used", "dataset": str(spec), "output_dir": str(tmp_path / "out"),
                                   "jobs": 1, "duckdb_threads": 2, "engine": "duckdb",
                                   "reports": [{"name": "used", "title": "Used",
                                                "notebook": str(tmp_path / "used.ipynb")}]}))
    code, out, err = run_cli("run", "--config", str(cfg), "--run-id", "r")
    assert code == 0, out + err
    run = tmp_path / "out" / "r"
    recorded = yaml.safe_load((run / "config.yaml").read_text())["settings"]
    assert recorded == {"engine": "duckdb", "duckdb_threads": 2, "duckdb_memory": None}
    used = json.loads((run / "results" / "used.metrics.json").read_text())
    # the run config's engine over the spec's pandas; its threads on the report's DuckDB connection
    assert used == {"engine": "duckdb", "settings": {"engine": "duckdb", "duckdb_threads": 2, "duckdb_memory": None},
                    "duckdb_threads": 2}
