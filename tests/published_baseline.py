"""The demo pack's published results, recorded before the report layer moved, compared value by value.

Recording (once, at the commit whose behaviour is the reference):
    .venv/bin/python tests/published_baseline.py record RUN_DIR
copies RUN_DIR/results (tables as Parquet, metrics as JSON, their meta without the publish time)
into tests/data/published_baseline/. Running the small demo (tests/conftest.py's 1,500 customers, the data of the recording) and
comparing, for the whole pack or some reports (config names, with the reports they need):
    .venv/bin/python tests/published_baseline.py run FOLDER [clv churn ...]
Comparing a run (optionally only the results of some reports, by notebook name):
    .venv/bin/python tests/published_baseline.py compare RUN_DIR [clv churn ...]
``differences(run_dir)`` lists every table, column, cell or
metric that differs from the recording; the test in test_published_baseline.py requires none.
"""
from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BASELINE = Path(__file__).resolve().parent / "data" / "published_baseline"
RTOL = 1e-7
_VOLATILE_META = {"published"}


def record(run_dir: str | Path, dest: Path = BASELINE) -> None:
    """Copy a run's published results into ``dest`` (replacing what was there)."""
    src = Path(run_dir) / "results"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for path in sorted(src.iterdir()):
        if path.name.endswith(".meta.json"):
            meta = {k: v for k, v in json.loads(path.read_text()).items() if k not in _VOLATILE_META}
            (dest / path.name).write_text(json.dumps(meta, indent=1, sort_keys=True))
        elif path.suffix in (".parquet", ".json"):
            shutil.copy2(path, dest / path.name)


def _same_value(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12)
    return a == b


def _frame_differences(name: str, old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    out = []
    if list(old.columns) != list(new.columns):
        out.append(f"{name}: columns {list(old.columns)} became {list(new.columns)}")
        return out
    if old.shape != new.shape:
        return [f"{name}: shape {old.shape} became {new.shape}"]
    if not old.index.equals(new.index):
        out.append(f"{name}: index differs")
    for col in old.columns:
        a, b = old[col], new[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) \
                and not pd.api.types.is_bool_dtype(a):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            bad = ~(np.isclose(x, y, rtol=RTOL, atol=1e-12) | (np.isnan(x) & np.isnan(y)))
        else:
            bad = ~((a.astype(str).to_numpy() == b.astype(str).to_numpy()) | (a.isna() & b.isna()).to_numpy())
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            out.append(f"{name}.{col}: {int(bad.sum())} value(s) differ, first at row {i}: "
                       f"{a.iloc[i]!r} became {b.iloc[i]!r}")
    return out


def producer(name: str, baseline: Path = BASELINE) -> str | None:
    """The report (notebook name) that published result ``name`` in the recording."""
    return json.loads((baseline / f"{name}.meta.json").read_text()).get("notebook")


def differences(run_dir: str | Path, baseline: Path = BASELINE, skip: frozenset[str] = frozenset(),
                reports: set[str] | None = None) -> list[str]:
    """Every published result of ``run_dir`` that differs from the recording (names in ``skip``
    aside; only results of ``reports`` when given)."""
    new_dir = Path(run_dir) / "results"
    out = []
    for old_path in sorted(baseline.iterdir()):
        name = old_path.name.split(".")[0]
        if name in skip or (reports is not None and producer(name, baseline) not in reports):
            continue
        new_path = new_dir / old_path.name
        if not new_path.exists():
            out.append(f"{old_path.name}: no longer published")
            continue
        if old_path.name.endswith(".meta.json"):
            old = json.loads(old_path.read_text())
            new = {k: v for k, v in json.loads(new_path.read_text()).items() if k not in _VOLATILE_META}
            for key in sorted(set(old) | set(new)):
                if key in ("description",):
                    continue
                if not _same_value(old.get(key), new.get(key)):
                    out.append(f"{old_path.name}: {key} {old.get(key)!r} became {new.get(key)!r}")
        elif old_path.suffix == ".parquet":
            out += _frame_differences(name, pd.read_parquet(old_path), pd.read_parquet(new_path))
        else:
            a, b = json.loads(old_path.read_text()), json.loads(new_path.read_text())
            for key in sorted(set(a) | set(b)):
                if not _same_value(a.get(key), b.get(key)):
                    out.append(f"{old_path.name}: {key} {a.get(key)!r} became {b.get(key)!r}")
    return out


def run_small_demo(folder: str | Path, only: list[str] | None = None):
    """Run the pack (or ``only`` some reports and what they need) on the small demo of
    tests/conftest.py (the recording's data) into ``folder``; returns the RunOutcome."""
    import yaml

    from toolkit.runner import load_config, run_pack

    root = Path(__file__).resolve().parents[1]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((root / "config" / "datasets" / "demo.yaml").read_text())
    spec.update(name="demo_small", title="Demo company, small (1,500 customers)", base="data")
    spec["generator"] = {**spec["generator"], "n_customers": 1500, "out": "data"}
    (folder / "demo_small.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    cfg = load_config(root / "config" / "reports.yaml", dataset=str(folder / "demo_small.yaml"),
                      output_dir=str(folder / "runs"))
    return run_pack(cfg, only=only, echo=print)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
        print(f"recorded {sys.argv[2]} into {BASELINE}")
    elif len(sys.argv) >= 3 and sys.argv[1] == "compare":
        diffs = differences(sys.argv[2], reports=set(sys.argv[3:]) or None)
        print("\n".join(diffs) or "no differences")
    elif len(sys.argv) >= 3 and sys.argv[1] == "run":
        outcome = run_small_demo(sys.argv[2], only=sys.argv[3:] or None)
        diffs = differences(outcome.run_dir, reports=set(sys.argv[3:]) or None)
        print(f"run folder {outcome.run_dir} (exit code {outcome.exit_code})")
        print("\n".join(diffs) or "no differences from the recording")
    else:
        sys.exit(__doc__)
