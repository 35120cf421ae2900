"""Running a whole report pack: check, prepare the dataset, execute, render, index, publish."""
from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml

from toolkit.runner import dataset as ds
from toolkit.runner.config import PackConfig, ReportSpec, select
from toolkit.runner.errors import RunnerError
from toolkit.runner.execute import Job, run_jobs
from toolkit.runner.index import write_index
from toolkit.runner.manifest import environment, toolkit_version, write_json
from toolkit.runner.params import check_parameters
from toolkit.runner.rundir import (check_run_id, create_tmp, finalize, latest_name, new_run_id, point_latest,
                                   region_slug, remove_stale)


@dataclass
class RunOutcome:
    """Result of :func:`run_pack`: exit code 0 (all ok) or 1 (some report failed), and where it went."""

    exit_code: int
    run_id: str
    run_dir: Path
    index: Path
    manifest: dict[str, Any]
    latest_updated: bool


def _now() -> datetime:
    return datetime.now(timezone.utc)


def report_parameters(config: PackConfig, report: ReportSpec, run_dir: str) -> dict[str, Any]:
    """The papermill parameters a report gets: dataset, run_dir, privacy, the run's ``settings``
    (engine, duckdb_threads, duckdb_memory; a notebook that does not declare ``settings`` is refused
    before anything runs), ``region`` for one region's pack, then its own."""
    region = {} if config.region is None else {"region": config.region}
    return {"dataset": config.dataset, "run_dir": run_dir, "privacy": config.privacy,
            "settings": config.settings.as_dict(), **region, **report.parameters}


def check_pack(config: PackConfig, reports: list[ReportSpec]) -> None:
    """Check every report's parameters against its notebook before anything runs (no kernel)."""
    if not config.dataset:
        raise RunnerError(f"{config.path}: no dataset: set 'dataset' in the config or pass --dataset SPEC")
    for r in reports:
        check_parameters(r.notebook, report_parameters(config, r, run_dir=""), report=r.name)


def resolved_config(config: PackConfig, reports: list[ReportSpec], params: dict[str, dict[str, Any]],
                    run_id: str, only: list[str] | None) -> dict[str, Any]:
    """The config as it was applied, with the parameters actually passed to each notebook."""
    return {
        "title": config.title, "dataset": config.dataset, "output_dir": str(config.output_dir),
        "jobs": config.jobs, "privacy": config.privacy, "settings": config.settings.as_dict(),
        "region": config.region, "run_id": run_id, "config_file": str(config.path),
        "only": list(only) if only else None,
        "reports": [{"name": r.name, "title": r.title, "notebook": str(r.notebook), "needs": list(r.needs),
                     "parameters": params[r.name]} for r in reports],
    }


def run_pack(config: PackConfig, only: list[str] | None = None, run_id: str | None = None,
             echo: Callable[[str], None] = print) -> RunOutcome:
    """Run the pack (or the ``only`` reports plus what they need) into a new run folder."""
    reports, added = select(config, only)
    check_pack(config, reports)
    if run_id is not None:
        check_run_id(run_id)
    for d in remove_stale(config.output_dir):
        echo(f"removed stale temporary folder {d} (its run was killed)")
    if added:
        echo(f"also running {', '.join(added)} (needed by the selected reports)")

    spec = config.dataset
    echo(f"preparing dataset {spec}")
    inputs = ds.describe_inputs(ds.prepare_dataset(spec))
    title = ds.spec_title(spec)
    if config.region is not None:   # one region's pack: its own run folders and its own latest link
        region = ds.check_region(spec, config.region)
        config = replace(config, region=region, title=f"{config.title}: region {region}")
        echo(f"region: {config.region}")

    started = _now()
    default_id = new_run_id(started) + ("" if config.region is None else f"-{region_slug(config.region)}")
    run_id, tmp = create_tmp(config.output_dir, run_id or default_id)
    if config.engine:   # every notebook gets it in its ``settings`` parameter
        echo(f"engine: {config.engine}")
    try:
        return _run_in(tmp, config, reports, only, run_id, started, inputs, title, echo)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # an interrupted run leaves nothing behind
        raise


def _run_in(tmp: Path, config: PackConfig, reports: list[ReportSpec], only: list[str] | None, run_id: str,
            started: datetime, inputs: list[dict[str, Any]], title: str | None,
            echo: Callable[[str], None]) -> RunOutcome:
    (tmp / "notebooks").mkdir()
    work = tmp / ".jobs"
    work.mkdir()
    run_dir = str(tmp.resolve())
    run_date = started.strftime("%Y-%m-%d %H:%M UTC")
    version = toolkit_version()
    params = {r.name: report_parameters(config, r, run_dir) for r in reports}
    resolved = resolved_config(config, reports, params, run_id, only)
    (tmp / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))

    jobs = []
    for r in reports:
        header = {"title": r.title, "pack_title": config.title, "dataset": config.dataset, "dataset_title": title,
                  "parameters": params[r.name], "run_id": run_id, "run_date": run_date, "version": version}
        spec = {"name": r.name, "notebook": str(r.notebook.resolve()),
                "output": str((tmp / "notebooks" / f"{r.name}.ipynb").resolve()),
                "html": str((tmp / f"{r.name}.html").resolve()), "parameters": params[r.name],
                "cwd": os.getcwd(), "result": str((work / f"{r.name}.result.json").resolve()), "header": header}
        jobs.append(Job(r.name, r.needs, spec, tmp / "logs" / f"{r.name}.log", work / f"{r.name}.job.json",
                        work / f"{r.name}.result.json"))

    t0 = time.monotonic()
    clock = lambda: f"[{time.monotonic() - t0:6.1f}s]"  # noqa: E731
    titles = {r.name: r.title for r in reports}
    echo(f"run {run_id}: {len(jobs)} report(s), up to {config.jobs} at once")

    def on_start(job: Job) -> None:
        echo(f"{clock()} start   {job.name} ({titles[job.name]})")

    def on_finish(job: Job, res: dict[str, Any]) -> None:
        line = f"{clock()} {'ok' if res['status'] == 'ok' else 'FAILED':7} {job.name} in {res['duration_seconds']:.1f} s"
        if res["status"] != "ok":
            line += f": {res.get('error_type')}: {str(res.get('error_message'))[:200]}"
        echo(line)

    results = run_jobs(jobs, config.jobs, os.getcwd(), on_start, on_finish)
    shutil.rmtree(work, ignore_errors=True)

    finished = _now()
    entries = []
    for r in reports:
        res = results[r.name]
        html = Path(res["html"]).name if res.get("html") else None
        executed = tmp / "notebooks" / f"{r.name}.ipynb"
        entries.append({
            "name": r.name, "title": r.title, "notebook": str(r.notebook), "needs": list(r.needs),
            "parameters": params[r.name], "status": res["status"], "started": res.get("started"),
            "finished": res.get("finished"), "duration_seconds": res.get("duration_seconds"),
            "error_type": res.get("error_type"), "error_message": res.get("error_message"), "html": html,
            "executed_notebook": f"notebooks/{r.name}.ipynb" if executed.exists() else None,
            "log": f"logs/{r.name}.log",
        })
    ok = all(e["status"] == "ok" for e in entries)
    manifest = {
        "run_id": run_id, "title": config.title, "status": "ok" if ok else "failed",
        "started": started.isoformat(timespec="seconds"), "finished": finished.isoformat(timespec="seconds"),
        "duration_seconds": round((finished - started).total_seconds(), 1),
        "config_file": str(config.path), "command": [sys.executable, *sys.argv],
        "dataset": {"spec": config.dataset, "title": title}, "region": config.region,
        "inputs": inputs, "jobs": config.jobs, "privacy": config.privacy, "only": list(only) if only else None,
        "environment": environment(), "engine": config.engine or "dataset spec (default duckdb)",
        "settings": config.settings.as_dict(), "reports": entries,
    }
    write_json(tmp / "manifest.json", manifest)
    write_index(tmp, manifest)

    run_id, final = finalize(tmp, config.output_dir, run_id)
    if run_id != manifest["run_id"]:  # the name was taken meanwhile: keep files consistent with the folder
        manifest["run_id"] = run_id
        write_json(final / "manifest.json", manifest)
        write_index(final, manifest)
    latest = False
    if ok:
        point_latest(config.output_dir, run_id, latest_name(config.region))
        latest = True
    return RunOutcome(0 if ok else 1, run_id, final, (final / "index.html").resolve(), manifest, latest)
