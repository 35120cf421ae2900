"""Loading and validating a report-pack config (``config/reports.yaml``).

Paths in the config are relative to the current working directory. Every problem found is
collected and raised together as one :class:`RunnerError`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolkit.engine.core import ENGINES, EngineSettings
from toolkit.runner.errors import RunnerError

#: Run settings (top-level keys of a pack config): passed to every notebook as its ``settings``.
SETTING_KEYS = ("engine", "duckdb_threads", "duckdb_memory")
TOP_KEYS = {"title", "dataset", "output_dir", "jobs", "privacy", "region", "reports", *SETTING_KEYS}
REPORT_KEYS = {"name", "title", "notebook", "needs", "parameters"}
#: Parameters the runner passes to every notebook; a config may not set them per report.
#: ``region`` is passed only when the run is for one region (``--region`` or the config's ``region``).
RUNNER_PARAMETERS = ("dataset", "run_dir", "privacy", "settings", "region")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ReportSpec:
    """One report of the pack: a notebook plus its own parameters."""

    name: str
    title: str
    notebook: Path
    needs: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class PackConfig:
    """A validated report-pack config."""

    path: Path
    title: str
    dataset: str | None
    output_dir: Path
    jobs: int
    privacy: bool
    reports: list[ReportSpec]
    #: the run settings every notebook gets as ``settings``: engine (None: each dataset spec's, else
    #: duckdb), DuckDB's threads and memory cap (None: toolkit.engine.DUCKDB_DEFAULTS)
    settings: EngineSettings = field(default_factory=EngineSettings)
    #: one region's pack (every notebook gets it as ``region``), or None for the whole company
    region: str | None = None

    @property
    def engine(self) -> str | None:
        """The engine every report uses (None: the dataset spec's, else duckdb)."""
        return self.settings.engine

    def report(self, name: str) -> ReportSpec:
        for r in self.reports:
            if r.name == name:
                return r
        raise KeyError(name)


def _check_report(i: int, raw: Any, errors: list[str]) -> ReportSpec | None:
    where = f"reports[{i}]"
    if not isinstance(raw, dict):
        errors.append(f"{where} must be a mapping with at least 'name' and 'notebook'")
        return None
    name = raw.get("name")
    if isinstance(name, str):
        where = f"report {name!r}"
    unknown = sorted(set(map(str, raw)) - REPORT_KEYS)
    if unknown:
        errors.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(REPORT_KEYS))})")
    if not isinstance(name, str) or not _NAME.match(name):
        errors.append(f"{where}: 'name' must be a non-empty string of letters, digits, '_', '-' or '.'")
        return None
    notebook = raw.get("notebook")
    if not isinstance(notebook, str) or not notebook:
        errors.append(f"{where}: 'notebook' must be a path to an .ipynb file")
        return None
    if not Path(notebook).is_file():
        errors.append(f"{where}: notebook {notebook} not found (paths are relative to {os.getcwd()})")
    title = raw.get("title", name)
    if not isinstance(title, str) or not title.strip():
        errors.append(f"{where}: 'title' must be a non-empty string")
        title = name
    needs = raw.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        errors.append(f"{where}: 'needs' must be a list of report names")
        needs = []
    params = raw.get("parameters") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        errors.append(f"{where}: 'parameters' must be a mapping of parameter name to value")
        params = {}
    reserved = sorted(set(params) & set(RUNNER_PARAMETERS))
    if reserved:
        errors.append(f"{where}: parameter(s) {', '.join(reserved)} are set by the runner for every notebook "
                      "and cannot be given per report")
    return ReportSpec(name, title, Path(notebook), tuple(needs), dict(params))


def _check_graph(reports: list[ReportSpec], errors: list[str]) -> None:
    names = [r.name for r in reports]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        errors.append(f"duplicate report name(s): {', '.join(dupes)}")
    known = set(names)
    for r in reports:
        for need in r.needs:
            if need not in known:
                errors.append(f"report {r.name!r} needs unknown report {need!r} (known: {', '.join(names)})")
            elif need == r.name:
                errors.append(f"report {r.name!r} needs itself")
    if not errors:
        cycle = find_cycle({r.name: r.needs for r in reports})
        if cycle:
            errors.append(f"cyclic needs: {' -> '.join(cycle)}")


def find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """Return one cycle of ``graph`` (name -> names it needs) as a path, or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = finished
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def load_config(path: str | os.PathLike, dataset: str | None = None,
                output_dir: str | os.PathLike | None = None, jobs: int | None = None,
                engine: str | None = None, duckdb_threads: int | None = None,
                duckdb_memory: str | None = None, region: str | None = None) -> PackConfig:
    """Read and validate a pack config; the arguments other than ``path`` override the file's values."""
    path = Path(path)
    if not path.is_file():
        raise RunnerError(f"config file {path} not found (paths are relative to {os.getcwd()})")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RunnerError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RunnerError(f"{path}: the config must be a mapping with keys {', '.join(sorted(TOP_KEYS))}")
    errors: list[str] = []
    unknown = sorted(set(map(str, raw)) - TOP_KEYS)
    if unknown:
        errors.append(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(TOP_KEYS))})")
    title = raw.get("title", "Report pack")
    if not isinstance(title, str):
        errors.append("'title' must be a string")
        title = "Report pack"
    spec = dataset if dataset is not None else raw.get("dataset")
    if spec is not None and not isinstance(spec, str):
        errors.append("'dataset' must be the path of a dataset spec")
        spec = None
    out = output_dir if output_dir is not None else raw.get("output_dir", "outputs")
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        errors.append("'output_dir' must be a path")
        out = "outputs"
    n_jobs = jobs if jobs is not None else raw.get("jobs", min(2, os.cpu_count() or 1))
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        errors.append(f"'jobs' must be a positive integer, got {n_jobs!r}")
        n_jobs = 1
    settings = _settings({"engine": engine, "duckdb_threads": duckdb_threads, "duckdb_memory": duckdb_memory},
                         raw, errors)
    privacy = raw.get("privacy", True)
    if not isinstance(privacy, bool):
        errors.append(f"'privacy' must be true or false, got {privacy!r}")
        privacy = True
    focus = region if region is not None else raw.get("region")
    if focus is not None and (not isinstance(focus, str) or not focus.strip()):
        errors.append(f"'region' must be the name of a region, got {focus!r}")
        focus = None
    raw_reports = raw.get("reports")
    reports: list[ReportSpec] = []
    if not isinstance(raw_reports, list) or not raw_reports:
        errors.append("'reports' must be a non-empty list")
    else:
        for i, item in enumerate(raw_reports):
            spec_ = _check_report(i, item, errors)
            if spec_ is not None:
                reports.append(spec_)
        _check_graph(reports, errors)
    if errors:
        raise RunnerError(f"{path}: " + "\n  ".join(errors))
    return PackConfig(path, title, spec, Path(out), n_jobs, privacy, reports, settings, focus)


def _settings(given: dict[str, Any], raw: dict[str, Any], errors: list[str]) -> EngineSettings:
    """The run settings: each argument that is not None, else the config's key; each problem named by its key."""
    values: dict[str, Any] = {}
    for key in SETTING_KEYS:
        value = given[key] if given[key] is not None else raw.get(key)
        if value is None:
            continue
        if key == "engine" and value not in ENGINES:
            errors.append(f"'engine' must be one of {', '.join(ENGINES)}, got {value!r}")
            continue
        try:
            EngineSettings(**{key: value})
        except ValueError as exc:
            errors.append(str(exc))
            continue
        values[key] = value
    return EngineSettings(**values)


def select(config: PackConfig, only: list[str] | None) -> tuple[list[ReportSpec], list[str]]:
    """Reports to run for ``--only`` (plus, transitively, the reports they need), in config order.

    Returns the selection and the names added because a selected report needs them.
    """
    if not only:
        return list(config.reports), []
    known = [r.name for r in config.reports]
    missing = [n for n in only if n not in known]
    if missing:
        raise RunnerError(f"--only: unknown report(s) {', '.join(missing)} (known: {', '.join(known)})")
    wanted: set[str] = set()
    todo = list(only)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(config.report(name).needs)
    added = [n for n in known if n in wanted and n not in only]
    return [r for r in config.reports if r.name in wanted], added
