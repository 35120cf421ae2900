"""Running reports in parallel worker processes, honouring ``needs``.

Each report runs in its own ``python -m toolkit.runner.worker`` process (its own session, so a
Ctrl-C reaches only the runner, which then stops the workers). On Linux a worker is also told to
die with the runner (``PR_SET_PDEATHSIG``), and the kernel it started shuts down when its parent
goes, so a killed run leaves no notebooks running.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

POLL_S = 0.1
_PR_SET_PDEATHSIG = 1
#: Seconds between "still in this section" lines while a report runs (``CUSTKIT_PROGRESS_S``; 0 = none).
PROGRESS_S = float(os.environ.get("CUSTKIT_PROGRESS_S", 30))


@dataclass
class Job:
    """One report to run: its name, the reports it waits for, and the worker's job description."""

    name: str
    needs: tuple[str, ...]
    spec: dict[str, Any]
    log: Path
    job_file: Path
    result_file: Path
    started: float | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def progress_file(self) -> Path:
        """The worker's record of the cells it started (see ``toolkit.runner.worker.progress_path``)."""
        return Path(self.spec.get("progress") or str(self.result_file) + ".progress")


class Progress:
    """What a running report is doing, read from its worker's progress file.

    :meth:`poll` returns the console lines due at wall-clock time ``now``: one when the report
    enters a new section (the notebook's markdown heading above the running cell), and while a
    section runs, one every ``every`` seconds saying for how long, e.g.
    ``[03_clv] section 'Holdout tracking' 45 s (cell 31 of 52)``.
    """

    def __init__(self, name: str, path: Path, every: float = PROGRESS_S):
        self.name, self.path, self.every = name, path, every
        self._offset = 0
        self._section: str | None = None
        self._since = 0.0
        self._cell = (0, 0)
        self._said = 0.0

    def _read(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1          # a line still being written waits for the next poll
        self._offset += end
        out = []
        for line in data[:end].splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def poll(self, now: float) -> list[str]:
        lines = []
        for event in self._read():
            self._cell = (int(event["cell"]), int(event["cells"]))
            if event["section"] != self._section:
                self._section, self._since = event["section"], float(event["time"])
                self._said = self._since
                lines.append(f"[{self.name}] section '{self._section}' started (cell {self._cell[0]} of {self._cell[1]})")
        if self._section is not None and self.every > 0 and now - self._said >= self.every:
            self._said = now
            lines.append(f"[{self.name}] section '{self._section}' {now - self._since:.0f} s "
                         f"(cell {self._cell[0]} of {self._cell[1]})")
        return lines


def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _die_with_parent_fn() -> Callable[[], None] | None:
    libc, parent = _libc(), os.getpid()
    if libc is None:
        return None

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the runner died before prctl took effect
            os._exit(1)

    return preexec


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures inline in the report
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env   # run settings (engine, DuckDB threads and memory) travel as the ``settings`` parameter


def _start(job: Job, cwd: str, preexec: Callable[[], None] | None) -> None:
    job.job_file.write_text(json.dumps(job.spec, indent=2, default=str))
    job.log.parent.mkdir(parents=True, exist_ok=True)
    with open(job.log, "wb") as log:
        job.proc = subprocess.Popen([sys.executable, "-m", "toolkit.runner.worker", str(job.job_file)],
                                    cwd=cwd, env=worker_env(), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec)
    job.started = time.monotonic()


def _collect(job: Job) -> dict[str, Any]:
    try:
        return json.loads(job.result_file.read_text())
    except (OSError, ValueError):
        tail = ""
        try:
            tail = job.log.read_text(errors="replace")[-800:].strip()
        except OSError:
            pass
        return {"status": "failed", "error_type": "WorkerError",
                "error_message": f"the worker process exited with code {job.proc.returncode if job.proc else '?'}"
                                 + (f"; log tail: {tail}" if tail else ""),
                "duration_seconds": round(time.monotonic() - (job.started or time.monotonic()), 2),
                "html": None}


def stop(jobs: list[Job], grace_s: float = 5.0) -> None:
    """Terminate running workers (then kill those that linger)."""
    running = [j for j in jobs if j.proc is not None and j.proc.poll() is None]
    for j in running:
        j.proc.terminate()
    deadline = time.monotonic() + grace_s
    for j in running:
        try:
            j.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            j.proc.kill()
            j.proc.wait()


def run_jobs(jobs: list[Job], max_parallel: int, cwd: str,
             on_start: Callable[[Job], None] = lambda j: None,
             on_finish: Callable[[Job, dict[str, Any]], None] = lambda j, r: None,
             on_progress: Callable[[str], None] | None = None,
             progress_every: float | None = None) -> dict[str, dict[str, Any]]:
    """Run ``jobs`` with at most ``max_parallel`` at once; a job starts once all its needs finished
    (whatever their outcome). Jobs must be in an order where needs come first. Returns results by name.

    While a job runs, ``on_progress`` (default: print) gets a line as the report enters each section
    and every ``progress_every`` seconds (default ``PROGRESS_S``) a line saying how long it has been
    in it (:class:`Progress`).
    """
    say = on_progress or (lambda line: print(line, flush=True))
    every = PROGRESS_S if progress_every is None else progress_every
    watch: dict[str, Progress] = {}
    preexec = _die_with_parent_fn()
    pending = list(jobs)
    running: list[Job] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        while pending or running:
            for job in list(pending):
                if len(running) >= max_parallel:
                    break
                if all(n in results for n in job.needs):
                    pending.remove(job)
                    job.progress_file.unlink(missing_ok=True)
                    _start(job, cwd, preexec)
                    running.append(job)
                    watch[job.name] = Progress(job.name, job.progress_file, every)
                    on_start(job)
            if not running and pending:  # unreachable with a validated, acyclic config
                raise RuntimeError(f"cannot schedule {', '.join(j.name for j in pending)}: unmet needs")
            time.sleep(POLL_S)
            for job in list(running):
                done = job.proc.poll() is not None
                for line in watch[job.name].poll(time.time()):
                    say(line)
                if done:
                    running.remove(job)
                    job.progress_file.unlink(missing_ok=True)
                    results[job.name] = _collect(job)
                    on_finish(job, results[job.name])
    except BaseException:
        stop(running)
        raise
    return results
