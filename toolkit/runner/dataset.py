"""The runner's view of a dataset: prepare it, list and hash its source files, find its title."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from toolkit.data import prepare_dataset as _prepare
from toolkit.data import spec_title as _spec_title
from toolkit.runner.errors import RunnerError


def prepare_dataset(spec: str) -> list[Path]:
    """Make sure the dataset's files exist (``toolkit.data.prepare_dataset`` generates the demo data
    if needed) and return its source files."""
    if not Path(spec).is_file():
        raise RunnerError(f"dataset spec {spec} not found (paths are relative to {os.getcwd()})")
    return [Path(p) for p in _prepare(spec)]


def spec_title(spec: str) -> str | None:
    """The dataset's title (``toolkit.data.spec_title``); None when the spec has none or cannot be read."""
    try:
        title = _spec_title(spec)
    except Exception:  # a title is cosmetic; the real problems surface in prepare_dataset
        return None
    return None if title is None else str(title)


def check_region(spec: str, region: str) -> str:
    """The region as the data spell it (``toolkit.data.focus.match_region`` on the customers table),
    so that a misspelt ``--region`` stops before any report runs, naming the regions there are."""
    from toolkit.data import load_dataset
    from toolkit.data.focus import match_region

    return match_region(load_dataset(spec, tables=["customers"]), region)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def describe_inputs(paths: list[Path]) -> list[dict[str, Any]]:
    """Path, size and sha256 of every input file (directories are walked)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        elif p.exists():
            files.append(p)
        else:
            raise RunnerError(f"dataset source file {p} does not exist")
    return [{"path": str(f), "size": f.stat().st_size, "sha256": sha256_file(f)} for f in files]
