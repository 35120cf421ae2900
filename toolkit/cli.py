"""Command line: ``python -m toolkit run|demo|validate`` (also installed as ``custkit``).

Expected user errors (bad config, unknown parameter, missing file, ``toolkit.data.DataError``)
print one paragraph to stderr and exit with code 2; a run with a failed report exits with 1.
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Sequence

from toolkit.data import DataError, load_dataset
from toolkit.data.demo import write_demo
from toolkit.runner.config import load_config
from toolkit.runner.errors import RunnerError
from toolkit.runner.pack import run_pack
from toolkit.runner.rundir import latest_name

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m toolkit", description="custkit: customer analytics report packs.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="execute a report pack and render its HTML reports",
                         description="Execute the notebooks of a report pack into a new run folder "
                                     "<output_dir>/<run-id>/ and render them to HTML.")
    run.add_argument("--config", default="config/reports.yaml", help="pack config (default: %(default)s)")
    run.add_argument("--dataset", metavar="SPEC", help="dataset spec to use instead of the config's")
    run.add_argument("--only", nargs="+", metavar="NAME",
                     help="run only these reports (plus the reports they need)")
    run.add_argument("--region", metavar="NAME",
                     help="one region's pack: reports about customers show that region's customers, the KPI "
                          "scorecard, SWOT and summary compare it with the rest of the company")
    run.add_argument("--jobs", type=int, metavar="N", help="reports run at once (default: the config's)")
    run.add_argument("--output-dir", metavar="DIR", help="where run folders go (default: the config's)")
    run.add_argument("--run-id", metavar="ID", help="name of the run folder (default: UTC timestamp)")
    run.add_argument("--engine", metavar="{duckdb,spark,pandas}",
                     help="engine for transaction aggregations (default: the config's, else the spec's, else duckdb)")
    run.add_argument("--duckdb-threads", type=int, metavar="N",
                     help="DuckDB threads (default: the config's, else 1: reruns give identical numbers)")
    run.add_argument("--duckdb-memory", metavar="SIZE",
                     help="DuckDB memory cap, e.g. 4GB; it spills to disk beyond it (default: the config's, else 2GB)")

    demo = sub.add_parser("demo", help="write the synthetic demo dataset")
    demo.add_argument("--out", default="data/demo", help="output folder (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    demo.add_argument("--customers", type=int, default=20000, help="number of customers (default: %(default)s)")

    val = sub.add_parser("validate", help="load a dataset and print its data-quality report")
    val.add_argument("--dataset", required=True, metavar="SPEC", help="dataset spec to validate")
    return p


def cmd_run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise RunnerError(f"--jobs must be at least 1, got {args.jobs}")
    config = load_config(args.config, dataset=args.dataset, output_dir=args.output_dir, jobs=args.jobs,
                         engine=args.engine, duckdb_threads=args.duckdb_threads, duckdb_memory=args.duckdb_memory,
                         region=args.region)
    outcome = run_pack(config, only=args.only, run_id=args.run_id, echo=lambda s: print(s, flush=True))
    failed = [r["name"] for r in outcome.manifest["reports"] if r["status"] != "ok"]
    latest = config.output_dir / latest_name(outcome.manifest.get("region"))
    if failed:
        print(f"{len(failed)} report(s) failed: {', '.join(failed)}; "
              f"{latest} not updated", flush=True)
    else:
        print(f"all {len(outcome.manifest['reports'])} report(s) ok; {latest} -> "
              f"{outcome.run_id}", flush=True)
    print(f"Report index: {outcome.index}", flush=True)
    return outcome.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    write_demo(Path(args.out), seed=args.seed, n_customers=args.customers)
    print(f"demo dataset written to {args.out}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    if not Path(args.dataset).is_file():
        raise RunnerError(f"dataset spec {args.dataset} not found")
    ds = load_dataset(args.dataset)
    print(ds.report.to_frame().to_string())
    for line in ds.report.balance_lines():
        print(line)
    return EXIT_OK


def _is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, (RunnerError, DataError))


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; return the exit code."""
    args = _parser().parse_args(argv)
    handler = {"run": cmd_run, "demo": cmd_demo, "validate": cmd_validate}[args.command]
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted: the unfinished run was removed; earlier runs are untouched", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
