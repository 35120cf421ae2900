"""Runner paths no other test exercises (issue #19, item 7): a rendering failure, a worker that dies
without writing a result, a report whose ``needs`` failed, and the cleanup after Ctrl-C (SIGINT) and after
SIGTERM (the CLI handles SIGTERM as Ctrl-C). Fixture notebooks from tests/fixtures; a run-id collision is in
test_cli.py.
Deadlines here only keep a broken runner from hanging the suite (generous, never the assertion)."""
from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from toolkit.cli import main
from toolkit.runner import dataset as runner_dataset
from toolkit.runner.execute import Job, run_jobs
from toolkit.runner.worker import run_job

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SPEC = FIXTURES / "configs" / "dataset.yaml"
CLI_WITH_FAKE_DATA = """
import sys
from pathlib import Path
import toolkit.runner.dataset as d
d._prepare, d._spec_title = (lambda s: [Path(s)]), (lambda s: "Fixture data")
from toolkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def fake_data(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(runner_dataset, "_prepare", lambda spec: [Path(spec)])
    monkeypatch.setattr(runner_dataset, "_spec_title", lambda spec: "Fixture data")


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_rendering_failure_fails_the_report(tmp_path):
    html = tmp_path / "quick.html"
    html.mkdir()                                   # the HTML cannot be written: a directory is in the way
    header = {"title": "Quick", "pack_title": "Pack", "dataset": str(SPEC), "dataset_title": "Fixture data",
              "parameters": {}, "run_id": "r", "run_date": "2026-01-01 00:00 UTC", "version": "0"}
    job = {"name": "quick", "notebook": str(FIXTURES / "notebooks" / "quick.ipynb"),
           "output": str(tmp_path / "quick.ipynb"), "html": str(html),
           "parameters": {"dataset": str(SPEC), "run_dir": str(tmp_path / "run"), "privacy": True},
           "cwd": str(ROOT), "result": str(tmp_path / "quick.result.json"), "header": header}
    res = run_job(job)
    assert (tmp_path / "quick.ipynb").exists()                 # the notebook itself ran
    assert res["status"] == "failed" and res["html"] is None
    assert res["error_message"].startswith("rendering the report failed:"), res
    assert res["error_type"] in {"IsADirectoryError", "PermissionError", "OSError"}, res


def test_a_worker_that_dies_without_a_result_and_a_job_whose_needs_failed(tmp_path):
    # a job file the worker cannot use: it raises before writing any result
    jobs = [Job(name, needs, {"bogus": True}, tmp_path / f"{name}.log", tmp_path / f"{name}.job.json",
                tmp_path / f"{name}.result.json") for name, needs in (("a", ()), ("b", ("a",)))]
    events = []
    results = run_jobs(jobs, 2, str(ROOT), on_start=lambda j: events.append(("start", j.name)),
                       on_finish=lambda j, r: events.append(("finish", j.name)), on_progress=lambda line: None)
    assert events == [("start", "a"), ("finish", "a"), ("start", "b"), ("finish", "b")]   # b waited for a
    for name in ("a", "b"):
        r = results[name]
        assert r["status"] == "failed" and r["error_type"] == "WorkerError" and r["html"] is None
        assert "the worker process exited with code 1" in r["error_message"]
        assert "KeyError" in r["error_message"]               # the log tail says why


def test_a_report_whose_needs_failed_fails_with_the_missing_result(tmp_path):
    cfg = {"title": "Needs pack", "dataset": str(SPEC), "output_dir": str(tmp_path / "out"), "jobs": 2,
           "reports": [{"name": "publish", "title": "Fails", "notebook": str(FIXTURES / "notebooks" / "fail.ipynb")},
                       {"name": "consume", "title": "Reads", "notebook": str(FIXTURES / "notebooks" / "consume.ipynb"),
                        "needs": ["publish"]}]}
    (tmp_path / "pack.yaml").write_text(yaml.safe_dump(cfg))
    code, out, err = run_cli("run", "--config", str(tmp_path / "pack.yaml"))
    assert code == 1, out + err
    assert "2 report(s) failed: publish, consume" in out
    runs = [p for p in (tmp_path / "out").iterdir() if p.name != "latest"]
    assert len(runs) == 1 and not (tmp_path / "out" / "latest").exists()     # a failed run is not 'latest'
    reports = {r["name"]: r for r in json.loads((runs[0] / "manifest.json").read_text())["reports"]}
    assert reports["publish"]["status"] == "failed" and reports["consume"]["status"] == "failed"
    assert "answer" in reports["consume"]["error_message"]      # it ran, and found no published 'answer'
    assert reports["consume"]["html"] == "consume.html" and (runs[0] / "consume.html").exists()


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def _as_in_a_terminal() -> None:
    # a suite started in the background may inherit SIGINT ignored, and Python keeps an inherited SIG_IGN;
    # in a terminal's foreground job SIGINT has its default disposition, which Python turns into Ctrl-C
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_a_running_pack(tmp_path: Path, interrupt) -> tuple[int, str, list[Path], Path]:
    """Start ``custkit run`` on the sleeping pack in its own session, wait until its worker runs the notebook,
    call ``interrupt(proc)``; return the exit code, stderr, the run's .tmp folder(s) and the output folder."""
    out_dir = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", CLI_WITH_FAKE_DATA, "run", "--config",
                             str(FIXTURES / "configs" / "pack_sleep.yaml"), "--output-dir", str(out_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_as_in_a_terminal)
    seen, deadline = "", time.monotonic() + 300          # hang guard only
    try:
        while "start   sleep" not in seen and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                seen += proc.stdout.readline()
        assert "start   sleep" in seen, seen
        tmp_dirs = list(out_dir.glob(".tmp-*"))
        assert len(tmp_dirs) == 1
        while not (tmp_dirs[0] / "notebooks" / "sleep.ipynb").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_mentioning(str(tmp_dirs[0]))      # the worker is running
        interrupt(proc)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, tmp_dirs, out_dir


def _assert_cleaned_up(code: int, err: str, tmp_dirs: list[Path], out_dir: Path) -> None:
    assert code == 130, err                                  # EXIT_INTERRUPTED (128 + SIGINT, the shell's Ctrl-C)
    assert "interrupted: the unfinished run was removed" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert not tmp_dirs[0].exists() and list(out_dir.iterdir()) == []
    # once the CLI has exited no worker of the run is left: the runner terminates and waits for them (and on
    # Linux they get the die-with-parent signal as well); a worker left to itself sleeps on for two minutes
    assert not _processes_mentioning(str(tmp_dirs[0])), "a worker outlived the interrupted run"


def test_sigterm_removes_the_unfinished_run_and_stops_the_worker(tmp_path):
    _assert_cleaned_up(*_interrupt_a_running_pack(tmp_path, lambda proc: proc.send_signal(signal.SIGTERM)))


def test_ctrl_c_removes_the_unfinished_run_and_stops_the_worker(tmp_path):
    # Ctrl-C in a terminal sends SIGINT to the foreground process group: here the runner's own group (its
    # session); the workers run in sessions of their own, so only the runner gets it and must stop them
    _assert_cleaned_up(*_interrupt_a_running_pack(tmp_path, lambda proc: os.killpg(proc.pid, signal.SIGINT)))


def test_pages_show_paths_relative_to_the_project_never_the_machines(tmp_path):
    """The header and the index name the dataset and its inputs relative to the project (or to the spec's
    folder), or by file name; the manifest keeps the full paths (issue 16: no machine path in a report)."""
    from toolkit.runner.index import index_html
    from toolkit.runner.render import ReportHeader, header_html, shown_path

    outside = tmp_path / "demo_small.yaml"
    assert shown_path(str(ROOT / "config" / "datasets" / "demo.yaml")) == "config/datasets/demo.yaml"
    assert shown_path(str(outside)) == "demo_small.yaml"
    assert shown_path(str(tmp_path / "data" / "tx.csv"), tmp_path) == "data/tx.csv"
    assert shown_path("config/x.yaml") == "config/x.yaml" and shown_path("s3a://bucket/log/") == "s3a://bucket/log/"
    page = header_html(ReportHeader(title="T", dataset=str(outside), dataset_title="Small"))
    assert "Small (<code>demo_small.yaml</code>)" in page and str(tmp_path) not in page
    manifest = {"title": "P", "run_id": "r", "started": "s", "duration_seconds": 1.0,
                "environment": {"custkit": "0"}, "dataset": {"spec": str(outside), "title": "Small"},
                "inputs": [{"path": str(tmp_path / "data" / "tx.csv"), "size": 10, "sha256": "ab" * 32}],
                "reports": []}
    index = index_html(manifest)
    assert "<code>data/tx.csv</code>" in index and "<code>demo_small.yaml</code>" in index
    assert str(tmp_path) not in index


def test_the_header_states_the_run_settings_as_words():
    from toolkit.runner.render import ReportHeader, header_html

    page = header_html(ReportHeader(title="T", parameters={
        "settings": {"engine": None, "duckdb_threads": 1, "duckdb_memory": "2GB"}, "k_range": [2, 3]}))
    assert "engine: default; duckdb_threads: 1; duckdb_memory: 2GB" in page and "[2, 3]" in page
    assert "null" not in page
