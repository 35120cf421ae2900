"""Loading a transaction log through a dataset spec: time and peak memory, batched against whole.

The loader validates a log in batches (``$CUSTKIT_BATCH_ROWS``, default 500,000 rows) and finishes
it with engine queries, so its memory does not grow with the log. The alternative in the same run
is one batch holding the whole log in pandas, which is what the loader did before. Each
measurement is a fresh process with an empty log cache (so the log is built, not reused); the
table lists wall time, peak RSS of the process and the rows out, which must agree.

    .venv/bin/python benchmarks/bench_load.py                     # demo (20,000 customers) and demo_1e7
    .venv/bin/python benchmarks/bench_load.py --specs config/datasets/demo.yaml --engines duckdb pandas
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHOLE = 10**12   # one batch: the whole log at once


def child(spec: str, engine: str) -> None:
    from toolkit.data import load_dataset, prepare_dataset
    prepare_dataset(spec)   # generated demo data is not part of the measurement
    start = time.perf_counter()
    ds = load_dataset(spec, tables=["transactions"], engine=engine)
    seconds = time.perf_counter() - start
    tables = ds.report.tables_frame().set_index("table")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # this process, DuckDB included
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "rows_read": int(tables.loc["transactions", "rows_read"]),
                      "rows_out": int(tables.loc["transactions", "rows_out"]),
                      "rules": ds.report.to_frame()[["rule", "action", "rows"]].values.tolist()}))


def measure(spec: str, engine: str, batch_rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as cache:
        env = {**os.environ, "CUSTKIT_CACHE": cache, "CUSTKIT_BATCH_ROWS": str(batch_rows)}
        proc = subprocess.run([sys.executable, __file__, "--child", spec, "--child-engine", engine], env=env,
                              capture_output=True, text=True)
    if proc.returncode != 0:
        cause = [line for line in proc.stderr.splitlines() if "Error" in line][-1:] or proc.stderr.splitlines()[-1:]
        return {"error": " ".join(cause)[:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specs", nargs="+", default=[str(ROOT / "config/datasets/demo.yaml"),
                                                   str(ROOT / "config/datasets/demo_1e7.yaml")])
    ap.add_argument("--engines", nargs="+", default=["duckdb"], choices=["duckdb", "spark", "pandas"])
    ap.add_argument("--batch-rows", type=int, default=500_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_load.json"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-engine", default="duckdb", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.child_engine)
    rows = []
    for spec in args.specs:
        for engine in args.engines:
            for label, batch in ((f"batches of {args.batch_rows:,}", args.batch_rows), ("one batch (whole log)", WHOLE)):
                r = measure(spec, engine, batch)
                rows.append({"spec": Path(spec).stem, "engine": engine, "mode": label, **r})
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "rules"}), flush=True)
    print("\n| log | engine | mode | rows read | rows out | time (s) | peak RSS |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['spec']} | {r['engine']} | {r['mode']} | failed: {r['error']} | | | |")
            continue
        peak = f"{r['peak_mb']:,.0f} MB" if r.get("peak_mb") else "n/a"
        print(f"| {r['spec']} | {r['engine']} | {r['mode']} | {r['rows_read']:,} | {r['rows_out']:,} | "
              f"{r['seconds']:.1f} | {peak} |")
    by_spec: dict[str, set] = {}
    for r in rows:
        if "error" not in r:
            by_spec.setdefault(r["spec"], set()).add(json.dumps([r["rows_out"], r["rules"]]))
    for spec, variants in by_spec.items():
        print(f"{spec}: every variant gives the same rows and rule counts: {'yes' if len(variants) == 1 else 'NO'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
