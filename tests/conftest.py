"""Shared fixtures: project paths, the real data sets beside the project, a small demo dataset."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# DuckDB on one thread, as the report runner sets it: parallel float sums differ between runs in
# the last bits, which would make reruns (and invariance checks) differ by chance.
os.environ.setdefault("CUSTKIT_DUCKDB_THREADS", "1")
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
