"""Run folders: built in ``<output_dir>/.tmp-<run-id>/``, renamed to ``<output_dir>/<run-id>/`` at the end.

An interrupted or crashed run therefore never touches earlier runs. The building process records
its pid (and start time) in the tmp folder so a later run can remove only folders whose builder
is gone. ``<output_dir>/latest`` (``latest-<region>`` for one region's pack) is a relative symlink
replaced atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from toolkit.runner.errors import RunnerError

TMP_PREFIX = ".tmp-"
PID_FILE = ".runner-pid.json"
LATEST = "latest"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A tmp folder without a pid file (killed right after mkdir) is stale after this many seconds.
NO_PID_GRACE_S = 300


def new_run_id(now: datetime | None = None) -> str:
    """UTC timestamp such as 20261125T123456Z."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id) or run_id == LATEST:
        raise RunnerError(f"run id {run_id!r} must start with a letter or digit and contain only letters, "
                          f"digits, '_', '-' and '.' (and not be {LATEST!r})")
    return run_id


def _proc_start(pid: int) -> str | None:
    """Start time of a process in clock ticks (Linux), to tell a live builder from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _proc_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed but not yet reaped process is a zombie: not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, IndexError, ValueError):
        return True


def write_pid_file(tmp_dir: Path) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "proc_start": _proc_start(os.getpid()),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (tmp_dir / PID_FILE).write_text(json.dumps(info))


def is_stale(tmp_dir: Path) -> bool:
    """True when the process that built ``tmp_dir`` is gone (same host only)."""
    pid_file = tmp_dir / PID_FILE
    try:
        info = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        try:
            return time.time() - tmp_dir.stat().st_mtime > NO_PID_GRACE_S
        except OSError:
            return False
    if info.get("host") not in (None, socket.gethostname()):
        return False
    pid = int(info.get("pid", 0))
    if pid <= 0 or not _proc_alive(pid):
        return True
    recorded = info.get("proc_start")
    return recorded is not None and _proc_start(pid) not in (None, recorded)


def remove_stale(output_dir: Path) -> list[Path]:
    """Delete ``.tmp-*`` folders of runs whose process is no longer alive; return them."""
    removed = []
    if not output_dir.is_dir():
        return removed
    for d in sorted(output_dir.glob(TMP_PREFIX + "*")):
        if d.is_dir() and not d.is_symlink() and is_stale(d):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def create_tmp(output_dir: Path, run_id: str) -> tuple[str, Path]:
    """Create ``.tmp-<id>`` for a unique run id (suffix -2, -3, ... when taken); return id and folder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    base, n = run_id, 1
    while True:
        candidate = base if n == 1 else f"{base}-{n}"
        tmp = output_dir / f"{TMP_PREFIX}{candidate}"
        if not (output_dir / candidate).exists():
            try:
                tmp.mkdir()
            except FileExistsError:
                pass
            else:
                write_pid_file(tmp)
                return candidate, tmp
        n += 1


def finalize(tmp: Path, output_dir: Path, run_id: str) -> tuple[str, Path]:
    """Rename the tmp folder to its final name (bumping the suffix if that name appeared meanwhile)."""
    (tmp / PID_FILE).unlink(missing_ok=True)
    base, n = run_id, 1
    while True:
        candidate = base if n == 1 else f"{base}-{n}"
        final = output_dir / candidate
        if not final.exists() and not final.is_symlink():
            try:
                os.rename(tmp, final)
                return candidate, final
            except OSError:
                if not final.exists():
                    raise
        n += 1


def region_slug(region: str) -> str:
    """A region's name as part of a folder name: ASCII letters, digits, '_', '-' and '.' (accents
    dropped); a name with none of them (e.g. written in Chinese) becomes a short hash."""
    ascii_ = unicodedata.normalize("NFKD", region).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_).strip("_.-")
    return slug if slug and slug[0].isalnum() else "r" + hashlib.sha1(region.encode()).hexdigest()[:8]


def latest_name(region: str | None = None) -> str:
    """``latest`` for the company's pack, ``latest-<region>`` for one region's (a region's run never
    moves the company's link)."""
    return LATEST if region is None else f"{LATEST}-{region_slug(region)}"


def point_latest(output_dir: Path, run_id: str, name: str = LATEST) -> Path:
    """Atomically make ``<output_dir>/<name>`` (default ``latest``) a relative symlink to ``run_id``."""
    link = output_dir / name
    tmp_link = output_dir / f".latest.{os.getpid()}.tmplink"
    tmp_link.unlink(missing_ok=True)
    os.symlink(run_id, tmp_link, target_is_directory=True)
    try:
        os.replace(tmp_link, link)
    except OSError as exc:
        tmp_link.unlink(missing_ok=True)
        raise RunnerError(f"cannot update {link} (is it a real folder?): {exc}") from None
    return link
