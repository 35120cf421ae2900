"""Same config, data and seed give identical numbers; exports are pseudonymised by default."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from toolkit.privacy import identifier_columns, protect
from toolkit.results import RunResults

ROOT = Path(__file__).resolve().parents[1]


def test_second_run_gives_identical_results(request, small_demo_spec, tmp_path):
    """The pack config pins DuckDB to one thread (``duckdb_threads: 1``; parallel float sums differ in the last
    bits), so the session's pack run is the first run and a second run must publish identical results."""
    from toolkit.runner import load_config, run_pack

    assert load_config(ROOT / "config" / "reports.yaml").settings.duckdb_threads == 1
    def run(folder: Path):
        cfg = load_config(ROOT / "config" / "reports.yaml", dataset=str(small_demo_spec), output_dir=str(folder))
        return run_pack(cfg, echo=lambda *a, **k: None)

    first = request.getfixturevalue("demo_pack_run")
    assert first.exit_code == 0
    second = run(tmp_path / "second")
    assert second.exit_code == 0
    first_res, second_res = RunResults(first.run_dir), RunResults(second.run_dir)
    assert first_res.names() == second_res.names() and first_res.names()
    for name in first_res.names():
        kind = first_res.meta(name)["kind"]
        if kind == "table":
            pd.testing.assert_frame_equal(first_res.read_table(name), second_res.read_table(name), obj=name)
        else:
            assert first_res.read_metrics(name) == second_res.read_metrics(name), name
    inputs = lambda m: {f["path"]: f["sha256"] for f in m["inputs"]}  # noqa: E731
    assert inputs(first.manifest) == inputs(second.manifest)
    exports = sorted(p.name for p in (Path(second.run_dir) / "exports").glob("*.csv"))
    for name in exports:
        a = (Path(first.run_dir) / "exports" / name).read_bytes()
        assert a == (Path(second.run_dir) / "exports" / name).read_bytes(), name


def test_exports_pseudonymise_ids_and_drop_identifiers(tmp_path):
    frame = pd.DataFrame({"customer_id": ["A1", "A2", "A1"], "Customer Name": ["Ann", "Bob", "Ann"],
                          "e-mail": ["a@x", "b@x", "a@x"], "phone_number": ["1", "2", "1"], "clv": [1.0, 2.0, 3.0]})
    assert sorted(identifier_columns(frame.columns)) == ["Customer Name", "e-mail", "phone_number"]
    path = RunResults(tmp_path, notebook="t").export("customer_values", frame)
    shared = pd.read_csv(path)
    assert list(shared.columns) == ["customer_id", "clv"]
    assert not set(shared["customer_id"]) & {"A1", "A2"}
    assert shared["customer_id"].iloc[0] == shared["customer_id"].iloc[2]  # stable within a run
    assert shared["customer_id"].str.match(r"^P[0-9a-f]{12}$").all()


def test_privacy_switch_off_keeps_ids(tmp_path):
    frame = pd.DataFrame({"customer_id": ["A1"], "name": ["Ann"]})
    path = RunResults(tmp_path, notebook="t", pseudonymise=False).export("x", frame)
    assert pd.read_csv(path).to_dict("list") == {"customer_id": ["A1"], "name": ["Ann"]}
    assert protect(frame, enabled=False).equals(frame)


def test_same_name_from_two_notebooks_is_refused(tmp_path):
    RunResults(tmp_path, notebook="a").metrics("m", {"x": 1})
    with pytest.raises(ValueError, match="already published by notebook 'a'"):
        RunResults(tmp_path, notebook="b").metrics("m", {"x": 2})
