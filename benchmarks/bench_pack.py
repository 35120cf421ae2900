"""Time and peak memory of the report pack, per report and per notebook section and cell.

    .venv/bin/python benchmarks/bench_pack.py --sizes 1e6            # config/datasets/demo_1e6.yaml
    .venv/bin/python benchmarks/bench_pack.py --sizes 1e6 1e7        # and demo_1e7.yaml (20+ min, 6+ GB)
    .venv/bin/python benchmarks/bench_pack.py --sizes path/to/spec.yaml --jobs 1

For each size the demo dataset is prepared first (generated on first use; timed apart), then
``python -m toolkit run --config config/reports.yaml --dataset SPEC`` runs in a child process while
this script samples /proc every ``--sample-s`` seconds: each report's worker process and the
Jupyter kernel it started are found by the worker's job file, and the report's peak RSS is the
largest peak resident set (VmHWM) of any of its processes (the kernel, in practice) together with
the largest sampled sum over its processes. Report times come from the run's manifest; cell times
from the executed notebooks (papermill records each cell's duration in its metadata), summed per
section (the last markdown heading above a cell).

Output: markdown tables on stdout and in benchmarks/results/bench_pack_<size>.md (per report, per
section, and the slowest cells), plus the raw figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPECS = {"1e6": "config/datasets/demo_1e6.yaml", "1e7": "config/datasets/demo_1e7.yaml",
         "demo": "config/datasets/demo.yaml"}
JOB_RE = re.compile(r"([^/\s]+)\.job\.json")


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "PPid"):
                out[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out[int(d.name)] = (ppid, cmd)
    return out


class Sampler:
    """Per report: the largest VmHWM of its processes and the largest sampled RSS sum of them."""

    def __init__(self, root_pid: int):
        self.root = root_pid
        self.hwm: dict[str, int] = {}
        self.tree: dict[str, int] = {}
        self.runner_hwm = 0

    def sample(self) -> None:
        procs = _processes()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        st = _status(self.root)
        self.runner_hwm = max(self.runner_hwm, st.get("VmHWM", 0))
        for pid, (_, cmd) in procs.items():
            if "toolkit.runner.worker" not in cmd:
                continue
            m = JOB_RE.search(cmd)
            if not m:
                continue
            name = m.group(1)
            stack, total = [pid], 0
            while stack:
                p = stack.pop()
                s = _status(p)
                total += s.get("VmRSS", 0)
                self.hwm[name] = max(self.hwm.get(name, 0), s.get("VmHWM", 0))
                stack.extend(children.get(p, []))
            self.tree[name] = max(self.tree.get(name, 0), total)


def section_names(cells: list[dict]) -> list[str]:
    from toolkit.runner.worker import section_names as names
    return names(cells)


def cell_table(nb_path: Path) -> list[dict]:
    nb = json.loads(nb_path.read_text())
    cells = nb["cells"]
    sections = section_names(cells)
    rows = []
    for i, (cell, section) in enumerate(zip(cells, sections)):
        meta = cell.get("metadata", {}).get("papermill", {})
        if cell.get("cell_type") != "code" or meta.get("duration") is None:
            continue
        src = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
        first = next((ln.strip() for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
        rows.append({"cell": i + 1, "section": section, "seconds": float(meta["duration"]), "code": first[:70]})
    return rows


def prepare(spec: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from toolkit.runner.dataset import prepare_dataset; "
                    "prepare_dataset(sys.argv[1])", spec], cwd=ROOT, check=True)
    return time.perf_counter() - t


def run_size(spec: str, jobs: int | None, sample_s: float, out_dir: Path) -> dict:
    prep = prepare(spec)
    cmd = [sys.executable, "-m", "toolkit", "run", "--config", "config/reports.yaml", "--dataset", spec,
           "--output-dir", str(out_dir)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    sampler = Sampler(proc.pid)
    os.set_blocking(proc.stdout.fileno(), False)
    log = []
    while proc.poll() is None:
        sampler.sample()
        try:
            for line in proc.stdout:
                log.append(line)
                print("  " + line.rstrip(), file=sys.stderr, flush=True)
        except (TypeError, BlockingIOError):
            pass
        time.sleep(sample_s)
    rest = proc.stdout.read() or ""
    log.append(rest)
    wall = time.perf_counter() - t0
    text = "".join(log)
    m = re.search(r"^\s*(\S+/index\.html)", text, re.M)
    runs = sorted((p for p in out_dir.iterdir() if (p / "manifest.json").exists()), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise RuntimeError(f"no run folder in {out_dir}:\n{text[-3000:]}")
    run = runs[-1]
    manifest = json.loads((run / "manifest.json").read_text())
    reports = []
    for r in manifest["reports"]:
        nb = run / r["executed_notebook"] if r.get("executed_notebook") else None
        cells = cell_table(nb) if nb and nb.exists() else []
        reports.append({"name": r["name"], "status": r["status"], "seconds": r.get("duration_seconds"),
                        "peak_process_mb": sampler.hwm.get(r["name"], 0) / 1024,
                        "peak_tree_mb": sampler.tree.get(r["name"], 0) / 1024, "cells": cells})
    return {"spec": spec, "prepare_s": prep, "wall_s": wall, "run": str(run), "exit": proc.returncode,
            "runner_peak_mb": sampler.runner_hwm / 1024, "reports": reports, "index": m.group(1) if m else None}


def tables(res: dict, top: int) -> str:
    lines = [f"### {res['spec']}", "",
             f"Dataset prepared in {res['prepare_s']:.1f} s (generated on first use); pack wall time "
             f"{res['wall_s']:.1f} s, exit code {res['exit']}; runner process peak {res['runner_peak_mb']:,.0f} MB.", "",
             "| report | status | time (s) | largest process peak RSS (MB) | peak RSS of its processes, sampled (MB) |",
             "|---|---|---:|---:|---:|"]
    for r in res["reports"]:
        lines.append(f"| {r['name']} | {r['status']} | {r['seconds']:.1f} | {r['peak_process_mb']:,.0f} | "
                     f"{r['peak_tree_mb']:,.0f} |")
    lines += ["", "Per section (sum of its cells' times):", "", "| report | section | cells | time (s) |",
              "|---|---|---:|---:|"]
    for r in res["reports"]:
        agg: dict[str, list[float]] = {}
        for c in r["cells"]:
            agg.setdefault(c["section"], []).append(c["seconds"])
        for section, ts in agg.items():
            lines.append(f"| {r['name']} | {section} | {len(ts)} | {sum(ts):.1f} |")
    lines += ["", f"Slowest {top} cells per report:", "", "| report | cell | section | time (s) | first line |",
              "|---|---:|---|---:|---|"]
    for r in res["reports"]:
        for c in sorted(r["cells"], key=lambda c: -c["seconds"])[:top]:
            code = c["code"].replace("|", "\\|")
            lines.append(f"| {r['name']} | {c['cell']} | {c['section']} | {c['seconds']:.1f} | `{code}` |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["1e6"], help="1e6, 1e7, demo, or a dataset spec path")
    ap.add_argument("--jobs", type=int, help="reports at once (default: the config's)")
    ap.add_argument("--sample-s", type=float, default=0.5, help="seconds between memory samples")
    ap.add_argument("--top", type=int, default=5, help="slowest cells listed per report")
    ap.add_argument("--output-dir", default=str(ROOT / "outputs" / "bench_pack"), help="where the runs go")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for the tables")
    args = ap.parse_args(argv)
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = Path(args.out)
    results.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        spec = SPECS.get(size, size)
        print(f"[{size}] {spec}", file=sys.stderr, flush=True)
        res = run_size(spec, args.jobs, args.sample_s, out_dir)
        md = tables(res, args.top)
        print(md, flush=True)
        tag = re.sub(r"[^A-Za-z0-9_.-]", "_", size)
        (results / f"bench_pack_{tag}.md").write_text(md + "\n")
        (results / f"bench_pack_{tag}.json").write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
