"""The runner's view of a dataset: prepare it, list and hash its source files, find its title.

``toolkit.data`` is imported lazily so the runner keeps working (and tests can monkeypatch these
functions) while the data package is being developed.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from toolkit.runner.errors import RunnerError


def _data_attr(name: str) -> Any | None:
    try:
        import toolkit.data as data
    except ImportError:
        return None
    return getattr(data, name, None)


def is_data_error(exc: BaseException) -> bool:
    """True for ``toolkit.data.DataError`` (an expected user error)."""
    cls = _data_attr("DataError")
    return isinstance(cls, type) and isinstance(exc, cls)


def prepare_dataset(spec: str) -> list[Path]:
    """Call ``toolkit.data.prepare_dataset(spec)`` (generates demo data if needed); return its source files.

    Without ``toolkit.data.prepare_dataset`` the spec file itself is the only source file.
    """
    if not Path(spec).is_file():
        raise RunnerError(f"dataset spec {spec} not found (paths are relative to {os.getcwd()})")
    prepare = _data_attr("prepare_dataset")
    if prepare is None:
        return [Path(spec)]
    return [Path(p) for p in prepare(spec)]


def spec_title(spec: str) -> str | None:
    """The dataset's title from ``toolkit.data.spec_title`` when available; None otherwise."""
    fn = _data_attr("spec_title")
    if fn is None:
        return None
    try:
        title = fn(spec)
    except Exception:  # a title is cosmetic; the real problems surface in prepare_dataset
        return None
    return None if title is None else str(title)


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
