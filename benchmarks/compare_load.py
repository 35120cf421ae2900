"""Whether two checkouts of the toolkit load a dataset identically: the load report and every table.

Each checkout loads each spec in a fresh process with an empty log cache (``CUSTKIT_CACHE`` in a
temporary folder) and a second time with the cache it built (cold, then warm); the script then
compares everything a report reads from the dataset, exactly (values, dtypes, order, index):

- the load report: every rule line (table, rule, action, rows, column, detail, examples, line
  numbers), the table counts and the balance lines;
- every table, the transactions read into pandas included, with ``pd.testing.assert_frame_equal``
  (``check_exact``), and the dataset's as-of date, engine and log statistics.

    .venv/bin/python benchmarks/compare_load.py --before /tmp/wt_before config/datasets/demo.yaml \\
        config/datasets/cdnow.yaml

Exits 1 on the first difference, naming it.
"""
from __future__ import annotations

import argparse
import shutil
import dataclasses
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def snapshot(spec: str, out: str) -> None:
    """Load ``spec`` with the toolkit on ``sys.path`` and pickle what a report can see."""
    from toolkit.data import load_dataset
    ds = load_dataset(spec)
    rep = ds.report
    tables = {t: getattr(ds, t) for t in ds.table_names}
    snap = {"rules": [dataclasses.asdict(r) for r in rep.results], "rule_frame": rep.to_frame(),
            "tables_frame": rep.tables_frame(), "balance": rep.balance_lines(), "tables": tables,
            "as_of": ds.as_of, "engine": ds.engine, "log_stats": ds._log_stats,
            "columns_with_data": {t: ds.columns_with_data(t) for t in ds.table_names}}
    Path(out).write_bytes(pickle.dumps(snap))


def load_in(tree: Path, spec: str, cache: str, out: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "CUSTKIT_CACHE": cache}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--snapshot", spec, out], env=env, cwd=tree,
                   check=True)


def differences(a: dict, b: dict) -> list[str]:
    """What differs between two snapshots (empty: identical)."""
    found = []
    for key in ("rules", "balance", "as_of", "engine", "log_stats", "columns_with_data"):
        if a[key] != b[key]:
            found.append(f"{key}: {a[key]!r} != {b[key]!r}"[:2000])
    for key in ("rule_frame", "tables_frame"):
        try:
            pd.testing.assert_frame_equal(a[key], b[key], check_exact=True)
        except AssertionError as exc:
            found.append(f"{key}: {exc}")
    if sorted(a["tables"]) != sorted(b["tables"]):
        found.append(f"tables: {sorted(a['tables'])} != {sorted(b['tables'])}")
    for t in sorted(set(a["tables"]) & set(b["tables"])):
        try:
            pd.testing.assert_frame_equal(a["tables"][t], b["tables"][t], check_exact=True)
        except AssertionError as exc:
            found.append(f"table {t}: {exc}")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="*")
    ap.add_argument("--before", help="the other checkout (e.g. a git worktree at main)")
    ap.add_argument("--after", default=str(ROOT), help="this checkout")
    ap.add_argument("--snapshot", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.snapshot:
        snapshot(*args.snapshot)
        return 0
    bad = 0
    with tempfile.TemporaryDirectory(prefix="compare-load-") as tmp:
        for spec in args.specs:
            spec = str(Path(spec).resolve())
            snaps = {}
            for side, tree in (("before", args.before), ("after", args.after)):
                cache = str(Path(tmp) / f"cache-{side}")
                for run in ("cold", "warm"):
                    out = str(Path(tmp) / f"{side}-{run}.pkl")
                    load_in(Path(tree), spec, cache, out)
                    snaps[side, run] = pickle.loads(Path(out).read_bytes())
                for p in Path(cache).iterdir():
                    if p.is_dir():
                        shutil.rmtree(p)
            ref = snaps["before", "cold"]
            for other in (("before", "warm"), ("after", "cold"), ("after", "warm")):
                diff = differences(ref, snaps[other])
                rows = {t: len(f) for t, f in ref["tables"].items()}
                print(f"{Path(spec).name}: before cold vs {' '.join(other)}: "
                      f"{'identical' if not diff else 'DIFFERENT'} ({len(ref['rules'])} report lines, rows {rows})")
                for d in diff:
                    print("   ", d[:3000])
                bad += bool(diff)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
