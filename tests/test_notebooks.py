"""Every configured report, executed through papermill by the runner on a small demo, must succeed."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_run(demo_pack_run):
    return demo_pack_run


def test_whole_pack_runs_on_small_demo(demo_run):
    manifest = demo_run.manifest
    failed = {r["name"]: r.get("error") for r in manifest["reports"] if r["status"] != "ok"}
    assert not failed, failed
    assert demo_run.exit_code == 0


def test_every_configured_notebook_ran_and_rendered(demo_run):
    cfg = yaml.safe_load((ROOT / "config" / "reports.yaml").read_text())
    run = Path(demo_run.run_dir)
    for rep in cfg["reports"]:
        html = run / f"{rep['name']}.html"
        assert html.exists() and html.stat().st_size > 10_000, html
        text = html.read_text()
        assert 'src="http' not in text and "<script src=" not in text, f"{html.name} is not self-contained"


def test_data_quality_report_publishes_its_results(demo_run):
    from toolkit.results import RunResults

    res = RunResults(demo_run.run_dir)
    assert {"load_report", "table_overview", "data_quality"} <= set(res.names())
    m = res.read_metrics("data_quality")
    assert m["rows_read"] > m["rows_dropped"] > 0
