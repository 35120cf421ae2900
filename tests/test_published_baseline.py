"""The report layer moves (issue 16) keep behaviour: every table and metric the demo pack publishes
equals, value by value, the recording made before the move (tests/data/published_baseline, recorded
at commit 52c4a04 with ``tests/published_baseline.py record``)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from published_baseline import BASELINE, differences  # noqa: E402


def test_the_recording_covers_every_report():
    from published_baseline import producer

    made = {producer(p.name.split(".")[0]) for p in BASELINE.glob("*.meta.json")}
    assert {"data_quality", "segmentation", "clv", "kpi_scorecard", "churn", "survey", "swot",
            "executive_summary"} <= made


def test_demo_pack_publishes_what_it_published_before_the_report_layer_moved(demo_pack_run):
    assert demo_pack_run.exit_code == 0
    diffs = differences(demo_pack_run.run_dir)
    assert not diffs, "published results changed:\n" + "\n".join(diffs[:40])


def test_a_changed_cell_or_metric_is_reported(tmp_path):
    import json
    import shutil

    import pandas as pd

    shutil.copytree(BASELINE, tmp_path / "results")
    assert differences(tmp_path) == []
    table = next(p for p in sorted((tmp_path / "results").glob("*.parquet"))
                 if pd.read_parquet(p).select_dtypes("float").size)
    frame = pd.read_parquet(table)
    col = frame.select_dtypes("float").columns[0]
    frame[col] = frame[col].where(frame.index != frame.index[0], frame[col].iloc[0] * (1 + 1e-5) + 1e-5)
    frame.to_parquet(table)
    metrics = next((tmp_path / "results").glob("*.metrics.json"))
    values = json.loads(metrics.read_text())
    values["added"] = 1
    metrics.write_text(json.dumps(values))
    found = differences(tmp_path)
    assert any(d.startswith(f"{table.stem}.{col}: 1 value(s) differ") for d in found), found
    assert any(d.startswith(metrics.name) and "added" in d for d in found), found
