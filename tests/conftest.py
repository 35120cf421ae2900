"""Shared fixtures: project paths, the real data sets beside the project, a small demo dataset."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Finished transaction logs are cached per test session, not in the project's outputs/cache.
os.environ.setdefault("CUSTKIT_CACHE", tempfile.mkdtemp(prefix="custkit-test-cache-"))
SHARED_DATA = Path(os.environ.get("CUSTKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; its absence is a broken test setup, not a reason to skip."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.fail(f"real data sets not found at {SHARED_DATA} (set CUSTKIT_SHARED_DATA)")
    return SHARED_DATA


# Fixture notebooks (deliberately failing ones among them) are run by the runner tests, not by nbval.
collect_ignore_glob = ["fixtures/*"]

SMALL_DEMO_CUSTOMERS = 1500


@pytest.fixture(scope="session")
def small_demo_spec(tmp_path_factory) -> Path:
    """The demo spec pointed at a small generated demo (1,500 customers) in a temporary folder."""
    import yaml

    folder = tmp_path_factory.mktemp("small_demo")
    spec = yaml.safe_load((ROOT / "config" / "datasets" / "demo.yaml").read_text())
    spec["name"] = "demo_small"
    spec["title"] = f"Demo company, small ({SMALL_DEMO_CUSTOMERS:,} customers)"
    spec["base"] = "data"
    spec["generator"] = {**spec["generator"], "n_customers": SMALL_DEMO_CUSTOMERS, "out": "data"}
    path = folder / "demo_small.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def demo_pack_run(small_demo_spec, tmp_path_factory):
    """The whole report pack (config/reports.yaml) run once on the small demo; returns the RunOutcome."""
    from toolkit.runner import load_config, run_pack

    out = tmp_path_factory.mktemp("runs")
    cfg = load_config(ROOT / "config" / "reports.yaml", dataset=str(small_demo_spec), output_dir=str(out))
    return run_pack(cfg, echo=lambda *a, **k: None)


# ------------------------------------------------------------------ run folders of notebook runs
# A notebook run with ``run_dir=None`` publishes into the project's outputs/interactive (see
# toolkit/results.py), and 06_swot / 99_executive_summary would then read whatever an earlier test (or
# an earlier interactive session) left there. Every notebook nbval runs (``pytest tests --nbval-lax
# notebooks``) therefore gets its own temporary run folder, set in its ``parameters`` cell the way the
# runner and papermill set it; the last test of the session (below) fails if anything created or
# touched outputs/interactive.
from toolkit.results import INTERACTIVE_DIR  # noqa: E402


def interactive_state(folder: Path = INTERACTIVE_DIR):
    """What is in ``folder``: None if absent, else (path, size, mtime_ns) of it and of everything below."""
    if not folder.exists():
        return None
    entries = [(".", 0, folder.stat().st_mtime_ns)]
    for p in sorted(folder.rglob("*")):
        st = p.stat()
        entries.append((str(p.relative_to(folder)), st.st_size if p.is_file() else 0, st.st_mtime_ns))
    return tuple(entries)


def describe_change(before, after) -> str:
    if before is None:
        return f"{INTERACTIVE_DIR} was created during the test run ({len(after) - 1} entries)"
    if after is None:
        return f"{INTERACTIVE_DIR} was removed during the test run"
    old, new = {e[0]: e for e in before}, {e[0]: e for e in after}
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return f"{INTERACTIVE_DIR}: created, changed or removed during the test run: {', '.join(changed[:10])}"


INTERACTIVE_AT_START = interactive_state()


def inject_run_dir(source: str, run_dir: str) -> str:
    """A ``parameters`` cell's source with ``run_dir`` set after its defaults, as papermill injects it."""
    return f"{source}\nrun_dir = {str(run_dir)!r}  # injected by tests/conftest.py: a per-notebook run folder\n"


def _is_parameters_cell(item) -> bool:
    cell = getattr(item, "cell", None)
    return (type(item).__name__ == "IPyNbCell" and cell is not None
            and "parameters" in (cell.get("metadata", {}).get("tags") or []))


class InteractiveOutputsGuard(pytest.Item):
    """Runs last: fails if the session created or touched the project's outputs/interactive."""

    def runtest(self):
        after = interactive_state()
        if after != INTERACTIVE_AT_START:
            raise AssertionError(describe_change(INTERACTIVE_AT_START, after)
                                 + " - a test or notebook ran with run_dir=None")

    def reportinfo(self):
        return self.path, None, "outputs/interactive untouched by the test run"


# The modules (and data-shape groups) that take minutes, longest first: under pytest-xdist they are
# handed out first, so no long unit of work starts last and runs alone on one core at the end
# (`pytest --durations` shows them). Order within a module is kept.
LONG_FIRST = ("test_data_shapes.py", "test_reproducibility.py", "test_churn.py", "test_transaction_log.py",
              "test_notebooks.py", "test_engines.py", "test_notebook_sections.py")


def _long_first(item) -> int:
    name = Path(str(item.fspath)).name
    return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_long_first)   # stable: each module's own order is kept
    factory = getattr(config, "_tmp_path_factory", None)
    for item in items:
        if _is_parameters_cell(item):
            stem = Path(str(item.parent.fspath)).stem
            folder = factory.mktemp(f"nbval_{stem}") if factory else Path(tempfile.mkdtemp(prefix=f"nbval_{stem}_"))
            item.run_dir = folder / "run"
            item.cell.source = inject_run_dir(item.cell.source, str(item.run_dir))
    items.append(InteractiveOutputsGuard.from_parent(session, name="outputs_interactive_untouched"))


def pytest_sessionfinish(session, exitstatus):
    """Under pytest-xdist each worker sees only its own items: the controller checks once all have ended."""
    is_controller = session.config.pluginmanager.hasplugin("dsession")   # xdist's scheduler, in the controller only
    if not is_controller:   # a worker, or a plain run (where the guard item above runs last)
        return
    after = interactive_state()
    if after != INTERACTIVE_AT_START:
        session.config.get_terminal_writer().line(describe_change(INTERACTIVE_AT_START, after), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_runtest_teardown(item, nextitem):
    """Names the test that wrote into outputs/interactive (tests/ items; nbval cells are caught by the guard)."""
    global _LAST_STATE
    now = interactive_state()
    if now != _LAST_STATE:
        before, _LAST_STATE = _LAST_STATE, now
        raise AssertionError(describe_change(before, now) + f" by {item.nodeid} (run it with a run folder)")


_LAST_STATE = INTERACTIVE_AT_START
