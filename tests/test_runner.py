"""The report runner (toolkit.runner, python -m toolkit run) on tiny fixture notebooks.

No real dataset is needed: the runner's calls into ``toolkit.data`` (``toolkit.runner.dataset._prepare``
and ``_spec_title``) are replaced by stand-ins: preparing returns the spec file itself. Kernels start only in the tests that execute notebooks.
"""
from __future__ import annotations

import contextlib
import hashlib
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
from toolkit.runner import check_parameters, load_config, notebook_parameters
from toolkit.runner import dataset as runner_dataset
from toolkit.runner.config import select as select_reports
from toolkit.runner.errors import RunnerError
from toolkit.runner.render import add_toc

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path("tests/fixtures")
CONFIGS = FIXTURES / "configs"
NOTEBOOKS = FIXTURES / "notebooks"
SPEC = CONFIGS / "dataset.yaml"
EXTERNAL = ('src="http', "src='http", 'href="http', "href='http", "<script src=")
PREVIOUS = "20200101T000000Z"

# Runs the CLI in a child process with the same stand-in for toolkit.data.
CLI_WITH_FAKE_DATA = """
import sys
from pathlib import Path
import toolkit.runner.dataset as d
d._prepare, d._spec_title = (lambda s: [Path(s)]), (lambda s: "Fixture data")
from toolkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _fake_data(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(runner_dataset, "_prepare", lambda spec: [Path(spec)])
    mp.setattr(runner_dataset, "_spec_title", lambda spec: "Fixture <data>")


@pytest.fixture(autouse=True)
def fake_data(monkeypatch):
    monkeypatch.chdir(ROOT)
    _fake_data(monkeypatch)


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def previous_run(out_dir: Path) -> Path:
    """A stand-in for an earlier good run, with `latest` pointing at it."""
    prev = out_dir / PREVIOUS
    prev.mkdir(parents=True)
    (prev / "index.html").write_text("previous run")
    os.symlink(PREVIOUS, out_dir / "latest")
    return prev


def write_config(tmp_path: Path, reports: list[dict], **top) -> Path:
    cfg = {"title": "t", "dataset": str(SPEC), "output_dir": str(tmp_path / "out"), "reports": reports, **top}
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def no_external_references(page: str) -> bool:
    return not any(marker in page for marker in EXTERNAL)


# --------------------------------------------------------------------------- a successful run
@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("good") / "outputs"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        _fake_data(mp)
        code, out, err = run_cli("run", "--config", str(CONFIGS / "pack_ok.yaml"), "--output-dir", str(out_dir),
                                 "--jobs", "2")
    return code, out, err, out_dir


def test_success_run_publishes_run_folder_and_latest(good_run):
    code, out, err, out_dir = good_run
    assert code == 0, out + err
    last = out.strip().splitlines()[-1]
    assert last.startswith("Report index: ") and last.endswith("/index.html")
    index = Path(last.removeprefix("Report index: "))
    assert index.is_absolute() and index.exists()
    run_dir = index.parent
    assert os.readlink(out_dir / "latest") == run_dir.name
    assert (out_dir / "latest" / "manifest.json").exists()
    for rel in ("notebooks/publish.ipynb", "notebooks/consume.ipynb", "publish.html", "consume.html",
                "config.yaml", "manifest.json", "results/answer.metrics.json"):
        assert (run_dir / rel).exists(), rel
    assert not list(out_dir.glob(".tmp-*")) and not (run_dir / ".jobs").exists()
    assert "start   publish" in out and "ok      consume" in out


def test_needs_ordering_and_results(good_run):
    run_dir = good_run[3] / "latest"
    answer = json.loads((run_dir / "results" / "answer.metrics.json").read_text())
    assert answer["n"] == 5 and answer["dataset"] == str(SPEC) and answer["privacy"] is True
    # consume ran after publish and read its metric through RunResults
    assert json.loads((run_dir / "results" / "doubled.metrics.json").read_text()) == {"value": 10}
    # the kernel runs the venv's own interpreter
    assert Path(answer["executable"]).resolve() == Path(sys.executable).resolve()


def test_manifest_and_config(good_run):
    run_dir = good_run[3] / "latest"
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "ok" and m["run_id"] == run_dir.resolve().name
    assert m["dataset"] == {"spec": str(SPEC), "title": "Fixture <data>"}
    assert m["inputs"] == [{"path": str(SPEC), "size": SPEC.stat().st_size,
                            "sha256": hashlib.sha256(SPEC.read_bytes()).hexdigest()}]
    assert {"pandas", "numpy", "papermill", "nbconvert", "pyarrow", "scikit-learn"} <= set(m["environment"]["packages"])
    reports = {r["name"]: r for r in m["reports"]}
    assert [r["status"] for r in reports.values()] == ["ok", "ok"]
    pub = reports["publish"]
    assert pub["html"] == "publish.html" and pub["duration_seconds"] > 0 and pub["error_type"] is None
    assert pub["parameters"]["n"] == 5 and pub["parameters"]["privacy"] is True
    assert pub["parameters"]["run_dir"].endswith(".tmp-" + m["run_id"])
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["reports"][1]["needs"] == ["publish"]
    assert cfg["reports"][0]["parameters"]["items"] == [3, 4]


def test_html_is_offline_escaped_and_clean(good_run):
    run_dir = good_run[3] / "latest"
    page = (run_dir / "publish.html").read_text()
    index = (run_dir / "index.html").read_text()
    for p in (page, index, (run_dir / "consume.html").read_text()):
        assert no_external_references(p)
    assert "noisy warning" not in page                      # stderr stream removed
    assert "RunResults(run_dir" not in page                 # code hidden
    assert "published n = 5" in page                        # stdout kept
    assert "Publish &lt;b&gt;&amp;&lt;/b&gt; fixture" in page and "<b>&</b>" not in page
    assert "Fixture &lt;data&gt;" in page and "Runner &lt;test&gt; pack &amp; co" in index
    assert "Publish &lt;b&gt;&amp;&lt;/b&gt; fixture" in index and 'href="publish.html"' in index
    assert 'href="manifest.json"' in index
    # table of contents from ## / ### headings; a repeated heading gets a unique anchor
    assert 'href="#First-section"' in page and 'href="#First-section-2"' in page and 'id="First-section-2"' in page
    assert "A subsection" in page.split("</nav>")[0]


# --------------------------------------------------------------------------- a failing report
def test_failing_report_does_not_stop_others(tmp_path):
    out_dir = tmp_path / "outputs"
    prev = previous_run(out_dir)
    code, out, err = run_cli("run", "--config", str(CONFIGS / "pack_fail.yaml"), "--output-dir", str(out_dir))
    assert code == 1, out + err
    index = Path(out.strip().splitlines()[-1].removeprefix("Report index: "))
    run_dir = index.parent
    assert os.readlink(out_dir / "latest") == PREVIOUS and (prev / "index.html").read_text() == "previous run"
    m = json.loads((run_dir / "manifest.json").read_text())
    reports = {r["name"]: r for r in m["reports"]}
    assert m["status"] == "failed" and reports["quick"]["status"] == "ok"
    fail = reports["fail"]
    assert fail["status"] == "failed" and fail["error_type"] == "ValueError"
    assert fail["error_message"] == "deliberate <failure> & co"
    assert (run_dir / "notebooks" / "fail.ipynb").exists()
    page = (run_dir / "fail.html").read_text()
    assert "This report failed" in page and "deliberate &lt;failure&gt; &amp; co" in page
    assert page.index("This report failed") < page.index("About to fail")
    html_index = index.read_text()
    assert "ValueError: deliberate &lt;failure&gt; &amp; co" in html_index and "<failure>" not in html_index
    assert no_external_references(page) and no_external_references(html_index)


# --------------------------------------------------------------------------- a killed run
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


def test_killed_run_leaves_earlier_runs_and_is_cleaned_up(tmp_path):
    out_dir = tmp_path / "outputs"
    previous_run(out_dir)
    proc = subprocess.Popen([sys.executable, "-c", CLI_WITH_FAKE_DATA, "run", "--config",
                             str(CONFIGS / "pack_sleep.yaml"), "--output-dir", str(out_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # The deadlines below only keep a broken runner from hanging the suite: generous (minutes, on a loaded
    # 2-core machine), and what is asserted is the state reached, never the time it took.
    seen, deadline = "", time.monotonic() + 300
    try:
        while "start   sleep" not in seen and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                seen += proc.stdout.readline()
        assert "start   sleep" in seen, seen
        tmp_dirs = list(out_dir.glob(".tmp-*"))
        assert len(tmp_dirs) == 1
        while not (tmp_dirs[0] / "notebooks" / "sleep.ipynb").exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # papermill writes the output notebook once the kernel is up
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert os.readlink(out_dir / "latest") == PREVIOUS
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([PREVIOUS, "latest", tmp_dirs[0].name])
    deadline = time.monotonic() + 120
    while _processes_mentioning(str(tmp_dirs[0])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_mentioning(str(tmp_dirs[0])), "the worker outlived the killed runner"

    code, out, err = run_cli("run", "--config", str(CONFIGS / "pack_quick.yaml"), "--output-dir", str(out_dir))
    assert code == 0, out + err
    assert "removed stale temporary folder" in out and not tmp_dirs[0].exists()
    new = Path(out.strip().splitlines()[-1].removeprefix("Report index: ")).parent
    assert os.readlink(out_dir / "latest") == new.name and (out_dir / PREVIOUS / "index.html").exists()


# --------------------------------------------------------------------------- checks before running
@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if the runner tries to execute anything."""
    def forbidden(*a, **k):
        raise AssertionError("a worker was started")
    monkeypatch.setattr("toolkit.runner.pack.run_jobs", forbidden)


@pytest.mark.parametrize("params, fragments", [
    ({"nn": 1}, ["unknown parameter(s) nn", "Valid parameters", "n=3", "label=\"x\"", "run_dir=None"]),
    ({"n": "three"}, ["parameter 'n' expects int", "got str 'three'", "Valid parameters"]),
    ({"n": 2.5}, ["parameter 'n' expects int", "got float"]),
    ({"label": 3}, ["parameter 'label' expects str", "got int"]),
    ({"items": "a,b"}, ["parameter 'items' expects list", "got str"]),
    ({"ratio": True}, ["parameter 'ratio' expects float", "got bool"]),
])
def test_bad_parameters_exit_2_without_running(tmp_path, no_kernel, params, fragments):
    cfg = write_config(tmp_path, [{"name": "p", "notebook": str(NOTEBOOKS / "publish.ipynb"), "parameters": params}])
    code, out, err = run_cli("run", "--config", str(cfg))
    assert code == 2
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_parameter_types_accepted():
    nb = NOTEBOOKS / "publish.ipynb"
    declared = notebook_parameters(nb)
    assert list(declared)[:4] == ["dataset", "run_dir", "privacy", "n"]
    check_parameters(nb, {"ratio": 1, "run_dir": "/any", "items": [1], "n": 4, "privacy": False, "dataset": "x"})


def test_missing_parameters_tag_is_an_error(tmp_path, no_kernel):
    with pytest.raises(RunnerError, match="no cell tagged 'parameters'"):
        notebook_parameters(NOTEBOOKS / "untagged.ipynb")
    cfg = write_config(tmp_path, [{"name": "u", "notebook": str(NOTEBOOKS / "untagged.ipynb")}])
    code, _, err = run_cli("run", "--config", str(cfg))
    assert code == 2 and "no cell tagged 'parameters'" in err


def test_runner_parameters_must_be_declared(tmp_path, no_kernel):
    nb = tmp_path / "bare.ipynb"
    data = json.loads((NOTEBOOKS / "quick.ipynb").read_text())
    data["cells"][0]["source"] = "x = 1\n"
    nb.write_text(json.dumps(data))
    cfg = write_config(tmp_path, [{"name": "b", "notebook": str(nb)}])
    code, _, err = run_cli("run", "--config", str(cfg))
    assert code == 2 and "unknown parameter(s) dataset, run_dir, privacy" in err and "x=1" in err


QUICK = str(NOTEBOOKS / "quick.ipynb")


@pytest.mark.parametrize("reports, top, fragment", [
    ([{"name": "a", "notebook": QUICK, "paramters": {}}], {}, "unknown key(s) paramters"),
    ([{"name": "a", "notebook": QUICK}], {"colour": 1}, "unknown key(s) colour"),
    ([{"name": "a", "notebook": QUICK}, {"name": "a", "notebook": QUICK}], {}, "duplicate report name(s): a"),
    ([{"name": "a", "notebook": QUICK, "needs": ["zz"]}], {}, "needs unknown report 'zz'"),
    ([{"name": "a", "notebook": QUICK, "needs": ["b"]}, {"name": "b", "notebook": QUICK, "needs": ["a"]}], {},
     "cyclic needs: a -> b -> a"),
    ([{"name": "a", "notebook": "notebooks/missing.ipynb"}], {}, "notebook notebooks/missing.ipynb not found"),
    ([{"name": "a", "notebook": QUICK, "parameters": {"privacy": False}}], {}, "set by the runner"),
    ([{"name": "a", "notebook": QUICK}], {"jobs": 0}, "'jobs' must be a positive integer"),
    ([{"name": "a", "notebook": QUICK}], {"dataset": "missing/spec.yaml"}, "dataset spec missing/spec.yaml not found"),
])
def test_config_errors_exit_2(tmp_path, no_kernel, reports, top, fragment):
    code, out, err = run_cli("run", "--config", str(write_config(tmp_path, reports, **top)))
    assert code == 2 and fragment in err and "Traceback" not in err, err


def test_only_adds_needed_reports():
    config = load_config(CONFIGS / "pack_ok.yaml", dataset="other.yaml", jobs=1)
    assert config.dataset == "other.yaml" and config.jobs == 1
    reports, added = select_reports(config, ["consume"])
    assert [r.name for r in reports] == ["publish", "consume"] and added == ["publish"]
    assert [r.name for r in select_reports(config, ["publish"])[0]] == ["publish"]


def test_cli_user_errors(tmp_path, no_kernel):
    code, _, err = run_cli("run", "--config", str(tmp_path / "nope.yaml"))
    assert code == 2 and "not found" in err
    code, _, err = run_cli("run", "--config", str(CONFIGS / "pack_ok.yaml"), "--only", "nothing")
    assert code == 2 and "unknown report(s) nothing" in err
    code, _, err = run_cli("validate", "--dataset", str(tmp_path / "nope.yaml"))
    assert code == 2 and "not found" in err


def test_toc_ids_and_escaping():
    page = ('<nav class="ck-toc"><!-- custkit-toc --></nav><h2 id="A-&amp;-B">A &amp; B<a class="anchor-link" '
            'href="#A-&amp;-B">¶</a></h2><h3 id="x">X</h3><h2 id="A-&amp;-B">A &amp; B</h2>')
    out = add_toc(page)
    assert '<a href="#A-&amp;-B">A &amp; B</a>' in out and 'id="A-&amp;-B-2"' in out and 'href="#x"' in out
    assert add_toc('<nav aria-label="c" class="ck-toc"><!-- custkit-toc --></nav><p>x</p>') == "<p>x</p>"
