"""Report sections built on the newer modules, run through papermill as the runner does:
the sBG contractual retention section of 04_churn (Telco) and the segment migration of 01_segmentation
(small demo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(notebook: str, spec: Path, folder: Path, **extra) -> tuple[Path, Path]:
    """Execute a notebook with the runner's parameters; returns (executed notebook, run folder)."""
    import papermill as pm

    run_dir = folder / "run"
    out = folder / Path(notebook).name
    pm.execute_notebook(str(ROOT / notebook), str(out),
                        parameters={"dataset": str(spec), "run_dir": str(run_dir), "privacy": True, **extra},
                        kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    return out, run_dir


def _outputs_text(path: Path) -> str:
    """All markdown and HTML the executed notebook displayed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            parts.append(data.get("text/markdown", "") + data.get("text/html", ""))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def telco_churn(shared_data, tmp_path_factory):
    return _run("notebooks/04_churn.ipynb", ROOT / "config" / "datasets" / "telco.yaml",
                tmp_path_factory.mktemp("churn_telco"))


@pytest.fixture(scope="module")
def demo_segmentation(small_demo_spec, tmp_path_factory):
    return _run("notebooks/01_segmentation.ipynb", small_demo_spec, tmp_path_factory.mktemp("seg_demo"))


@pytest.mark.realdata
def test_churn_report_publishes_one_sbg_model_per_telco_contract(telco_churn):
    from toolkit.data import load_dataset
    from toolkit.results import RunResults

    nb_path, run_dir = telco_churn
    res = RunResults(run_dir)
    tab = res.read_table("sbg_cohorts")
    contracts = load_dataset(ROOT / "config" / "datasets" / "telco.yaml").customers["contract"]
    assert sorted(tab["cohort"]) == sorted(contracts.unique()) and tab["cohort"].is_unique
    assert (tab["cohort_by"] == "contract").all()
    assert (tab["gamma"] > 0).all() and (tab["delta"] > 0).all()
    assert tab["customers"].sum() == len(contracts) == 7043
    assert tab.set_index("cohort")["customers"].to_dict() == contracts.value_counts().to_dict()
    # lifetimes: restricted mean within the 72-month horizon, discounted lifetime finite, residual value present
    assert ((tab["restricted_mean_lifetime"] > 0) & (tab["restricted_mean_lifetime"] <= 72)).all()
    assert np.isfinite(tab["discounted_expected_lifetime"]).all() and (tab["residual_value"] > 0).all()
    m2m = tab.set_index("cohort").loc["Month-to-month"]
    assert m2m["gamma"] < 1 and m2m["mean_lifetime"] == np.inf
    assert "units" in res.meta("sbg_cohorts") and res.meta("sbg_cohorts")["units"]
    text = _outputs_text(nb_path)
    assert "Contractual retention model" in nb_path.read_text()
    assert "mean lifetime is infinite" in text            # said plainly for gamma < 1
    assert "Residual value of active customers" in text


def test_segmentation_report_publishes_the_segment_migration(demo_segmentation, small_demo_spec):
    import toolkit.segmentation as sg
    from toolkit.data import load_dataset
    from toolkit.results import RunResults

    nb_path, run_dir = demo_segmentation
    res = RunResults(run_dir)
    tab = res.read_table("segment_migration")
    ds = load_dataset(small_demo_spec)
    t1 = pd.Timestamp(ds.as_of).normalize()
    assert (pd.to_datetime(tab["t1"]) == t1).all()
    assert (pd.to_datetime(tab["t0"]) == t1 - pd.Timedelta(days=182)).all()
    # every customer known at t1 is in exactly one cell (those arriving after t0 in the "Not yet" row)
    known_t1 = sg.customer_features(ds.transactions, ds.customers, t1).index
    assert tab["customers"].sum() == len(known_t1) == len(res.read_table("customer_segments"))
    assert not tab.duplicated(["segment_t0", "segment_t1"]).any() and (tab["customers"] > 0).all()
    np.testing.assert_allclose(tab.groupby("segment_t0")["share_of_t0"].sum(), 1.0)
    assert set(tab["direction"]) <= {"stayed", "improved", "slipped", "sideways", "joined"}
    assert "Other" not in set(tab["segment_t0"]) | set(tab["segment_t1"])
    text = _outputs_text(nb_path)
    assert "mutually exclusive and complete" in text and "does not add up" not in text
