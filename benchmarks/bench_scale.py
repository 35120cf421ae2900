"""Scale benchmark: the CLV summary plus KPIs on DuckDB, pandas and Spark (local), and lifetimes' summary.

    .venv/bin/python benchmarks/bench_scale.py                                # 1e6, 1e7, 1e8 rows, all engines
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e5 1e6 --engines duckdb spark --repeat 1

What it measures
    For each size a generated Parquet log (customer_id BIGINT, order_id BIGINT, date DATE over
    2020-01-01 .. 2021-12-31, amount DOUBLE with ~3% negative rows = returns; about 2 lines per
    order and rows/20 customers) and a customers table (customer_id, region among 4 regions) are
    written once with DuckDB SQL and cached under --data (default outputs/bench_scale/, keyed by
    rows and seed). Every (engine, size) is measured in a fresh child process, best of --repeat:

    * summary: ``collect(rfm_frame(scan(log, engine), ...))`` to 2021-12-31 in weeks (the
      ``toolkit.clv.rfm_summary`` query), from the Parquet file (reading included);
    * KPIs: ``collect(period_transaction_stats(scan(log), scan(customers), 8 quarter edges,
      activity_basis=True))`` per region and quarter, also from the Parquet files;
    * total = summary + KPIs of the same repeat (best repeat); first = total of the first repeat,
      which for Spark includes the JVM's warm-up (code generation and JIT of the first queries);
    * start: Spark session start-up (``toolkit.engine.spark_session()``), reported separately
      and excluded from the Spark work times ("once started"); DuckDB connection creation;
      for lifetimes, loading the log into pandas (from npy files, as lifetimes' venv has no
      Parquet reader), which its summary time excludes;
    * peak RSS: the child's VmHWM (imports, loaded data and results included) together with a
      sampled sum over the child's process tree, so Spark's JVM is counted;
    * lifetimes: ``summary_data_from_transaction_data`` (freq="D", freq_multiplier=7) in its own
      venv (.benchvenv-lifetimes, created as by bench_clv.py), sizes up to --lifetimes-max.

    Every child is killed after --timeout seconds ("did not finish"). pandas runs where its
    extrapolated peak fits in the available memory and rows <= --pandas-max. Summaries of all
    engines are checked against the first engine that ran at the size (DuckDB when it ran):
    same customers, frequency/recency/T exactly, monetary value to 1e-9 relative; the KPI tables
    of DuckDB, pandas and Spark are checked the same way (1e-9 relative).

Output: a table on stdout (size | engine | start | summary | KPIs | total | first run | peak RSS | agrees |
ratio to DuckDB), one line per target (DuckDB summarises 1e8 rows in < 30 s, peak RSS < 3 GB,
Spark once started within 5x of DuckDB at the largest size, cost close to linear in rows), the
raw results in --out (JSON) and the same table in markdown next to it (.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from _memory import reset_peak, rss_kb  # benchmarks/ is first on sys.path

ROOT = Path(__file__).resolve().parents[1]
START, END = "2020-01-01", "2021-12-31"        # dates of the generated logs; END is the observation end
QUARTERS = 9                                    # quarter edges from START: 8 quarters of KPIs
REGIONS = ("north", "south", "east", "west")
ENGINES = ("duckdb", "pandas", "spark", "lifetimes")
TOOLKIT = ("duckdb", "pandas", "spark")


# ------------------------------------------------------------------------------------ helpers
def parse_size(text: str) -> int:
    return int(float(text))


def size_label(rows: int) -> str:
    return f"{rows:.0e}".replace("e+0", "e").replace("e+", "e")


def mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


class TreeRss:
    """Peak of the summed resident memory of this process and its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak_kb, self._stop = interval, 0, threading.Event()
        self._pids, self._scanned = [os.getpid()], 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _descendants(root: int) -> list[int]:
        parent = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        out, todo = [root], [root]
        while todo:
            p = todo.pop()
            kids = [c for c, pp in parent.items() if pp == p]
            out += kids
            todo += kids
        return out

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            if now - self._scanned > 0.5:
                self._pids, self._scanned = self._descendants(os.getpid()), now
            self.peak_kb = max(self.peak_kb, sum(self._rss(p) for p in self._pids))
            self._stop.wait(self.interval)

    def reset(self) -> None:
        self.peak_kb = sum(self._rss(p) for p in self._pids)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------------- generation
def generate(rows: int, seed: int, root: Path, threads: int) -> tuple[Path, dict]:
    """The cached folder for (rows, seed): log.parquet and customers.parquet, written by DuckDB."""
    folder = root / f"rows{rows}_seed{seed}"
    done = folder / "done.json"
    if done.exists():
        return folder, json.loads(done.read_text())
    import duckdb
    folder.mkdir(parents=True, exist_ok=True)
    customers = max(rows // 20, 1)
    con = duckdb.connect(config={"memory_limit": "2GB",
                                 "preserve_insertion_order": False, "threads": threads})
    days = (dt.date.fromisoformat(END) - dt.date.fromisoformat(START)).days + 1
    t = time.perf_counter()
    # ~2 lines per order; the order fixes customer and date, the line its amount (3% returns)
    con.execute(f"""
        COPY (
          SELECT (hash(i // 2, {seed}, 1) % {customers})::BIGINT + 1 AS customer_id,
                 (i // 2)::BIGINT + 1 AS order_id,
                 (DATE '{START}' + (hash(i // 2, {seed}, 2) % {days})::INTEGER) AS date,
                 round((1 + (hash(i, {seed}, 3) % 20000) / 100.0)
                       * CASE WHEN hash(i, {seed}, 4) % 100 < 3 THEN -1 ELSE 1 END, 2)::DOUBLE AS amount
          FROM range({rows}) t(i)
        ) TO '{folder / "log.tmp.parquet"}' (FORMAT parquet, COMPRESSION zstd)""")
    con.execute(f"""
        COPY (
          SELECT (i + 1)::BIGINT AS customer_id,
                 ['{"','".join(REGIONS)}'][(hash(i, {seed}, 5) % 4)::INTEGER + 1] AS region
          FROM range({customers}) t(i)
        ) TO '{folder / "customers.parquet"}' (FORMAT parquet)""")
    (folder / "log.tmp.parquet").rename(folder / "log.parquet")
    meta = {"rows": rows, "customers": customers, "seed": seed, "generate_s": time.perf_counter() - t,
            "log_mb": (folder / "log.parquet").stat().st_size / 2**20}
    con.close()
    done.write_text(json.dumps(meta))
    return folder, meta


def npy_log(folder: Path) -> Path:
    """customer_id, date (datetime64[ns]) and amount as npy files for the lifetimes venv (no pyarrow there)."""
    out = folder / "npy"
    if (out / "amount.npy").exists():
        return out
    import duckdb
    import numpy as np
    out.mkdir(exist_ok=True)
    con = duckdb.connect()
    cols = con.execute(f"SELECT customer_id, date::TIMESTAMP AS date, amount FROM '{folder / 'log.parquet'}'"
                       ).fetchnumpy()
    np.save(out / "customer_id.npy", np.asarray(cols["customer_id"]))
    np.save(out / "date.npy", np.asarray(cols["date"]).astype("datetime64[ns]"))
    np.save(out / "amount.npy", np.asarray(cols["amount"]))
    con.close()
    return out


# ------------------------------------------------------------------------------ toolkit child
def toolkit_child(engine: str, folder: Path, repeat: int, result_dir: Path, spark_memory: str | None,
                  duckdb_settings: dict | None = None) -> dict:
    sampler = TreeRss()
    import pandas as pd
    from toolkit.engine import as_day, collect, period_transaction_stats, rfm_frame, scan

    log, customers = str(folder / "log.parquet"), str(folder / "customers.parquet")
    edges = list(pd.date_range(START, periods=QUARTERS, freq="QS"))
    out = {"engine": engine}
    t = time.perf_counter()
    if engine == "spark":
        from toolkit.engine import spark_session
        spark = spark_session(conf={"spark.driver.memory": spark_memory} if spark_memory else None)
        spark.range(1).count()                      # the JVM is up and answers
        out["start_s"] = time.perf_counter() - t
    elif engine == "duckdb":
        from toolkit.engine import duckdb_connection
        duckdb_connection(duckdb_settings)   # the run settings, as a pack config passes them
        out["start_s"] = time.perf_counter() - t
    else:
        out["start_s"] = None
    gc.collect()
    out["rss_before_mb"] = max(rss_kb("VmRSS"), sampler.peak_kb) / 1024

    def run(step):
        reset_peak()
        sampler.reset()
        t0 = time.perf_counter()
        res = step()
        dt = time.perf_counter() - t0
        return res, dt, max(rss_kb("VmHWM"), sampler.peak_kb) / 1024

    obs = as_day(END)

    summary_step = lambda: collect(rfm_frame(scan(log, engine), obs_d=obs, cal_d=obs, unit=7.0,
                                             holdout=False), sort=["customer_id"])
    kpi_step = lambda: collect(period_transaction_stats(scan(log, engine), scan(customers, engine), edges,
                                                        activity_basis=True, has_order_id=True),
                               sort=["region", "k"])
    runs = []
    for _ in range(repeat):
        summary, s_s, s_mb = run(summary_step)
        kpis, k_s, k_mb = run(kpi_step)
        runs.append({"summary_s": s_s, "kpis_s": k_s, "total_s": s_s + k_s, "summary_peak_mb": s_mb,
                     "kpis_peak_mb": k_mb})
        if _ < repeat - 1:
            del summary, kpis
            gc.collect()
    best = min(runs, key=lambda r: r["total_s"])
    out.update({"summary_s": min(r["summary_s"] for r in runs), "kpis_s": min(r["kpis_s"] for r in runs),
                "total_s": best["total_s"], "first_total_s": runs[0]["total_s"], "runs": runs,
                "peak_mb": max(max(r["summary_peak_mb"], r["kpis_peak_mb"]) for r in runs),
                "customers": int(len(summary)), "kpi_rows": int(len(kpis))})
    sampler.stop()
    summary.to_parquet(result_dir / f"summary_{engine}.parquet", index=False)
    kpis.to_parquet(result_dir / f"kpis_{engine}.parquet", index=False)
    return out


# ---------------------------------------------------------------------------- lifetimes child
def lifetimes_child(npy: Path, repeat: int, result_dir: Path) -> dict:
    """Runs under .benchvenv-lifetimes (numpy, pandas 1.5, lifetimes; no pyarrow, no toolkit)."""
    import warnings

    import numpy as np
    import pandas as pd
    warnings.simplefilter("ignore")
    from lifetimes.utils import summary_data_from_transaction_data

    t = time.perf_counter()
    df = pd.DataFrame({"customer_id": np.load(npy / "customer_id.npy"), "date": np.load(npy / "date.npy"),
                       "amount": np.load(npy / "amount.npy")})
    out = {"engine": "lifetimes", "start_s": time.perf_counter() - t}
    gc.collect()
    out["rss_before_mb"] = rss_kb("VmRSS") / 1024
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        s = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount",
                                               observation_period_end=END, freq="D", freq_multiplier=7)
        times.append(time.perf_counter() - t)
    out.update({"summary_s": min(times), "kpis_s": None, "total_s": min(times), "first_total_s": times[0],
                "peak_mb": rss_kb("VmHWM") / 1024, "customers": int(len(s))})
    s = s.reset_index()
    np.save(result_dir / "summary_lifetimes.npy",
            s[["customer_id", "frequency", "recency", "T", "monetary_value"]].to_numpy(dtype="float64"))
    return out


# ------------------------------------------------------------------------------------ parent
def ensure_lifetimes_venv() -> Path:
    from bench_clv import ensure_lifetimes_venv as ensure  # the venv bench_clv.py creates and uses
    return ensure()


def run_child(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run a child in its own process group; kill the group (Spark's JVM included) on timeout."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"status": f"did not finish (> {timeout:.0f} s)", "wall_s": time.perf_counter() - t}
    try:
        os.killpg(proc.pid, signal.SIGKILL)        # leftovers of the child's group (e.g. a JVM), if any
    except ProcessLookupError:
        pass
    if proc.returncode != 0:
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
        # the cause, not the last stack frame: the last line naming an error or exception
        causes = [ln for ln in lines if ("Error" in ln or "Exception" in ln) and not ln.startswith("at ")]
        why = (causes or lines or [f"exit code {proc.returncode}"])[-1]
        return {"status": f"failed: {why[:200]}", "stderr": "\n".join(causes[-5:]) + "\n" + stderr[-3000:],
                "wall_s": time.perf_counter() - t}
    out = json.loads(stdout.strip().splitlines()[-1])
    out["status"] = "ok"
    out["wall_s"] = time.perf_counter() - t
    return out


def compare(result_dir: Path, engines: list[str]) -> dict[str, str]:
    """'yes' / 'NO (...)' per engine against the first engine that ran (summary and KPI tables)."""
    import numpy as np
    import pandas as pd

    def summary(e):
        if e == "lifetimes":
            a = np.load(result_dir / "summary_lifetimes.npy")
            return pd.DataFrame(a, columns=["customer_id", "frequency", "recency", "T", "monetary_value"])
        return pd.read_parquet(result_dir / f"summary_{e}.parquet")

    if len(engines) < 2:
        return {e: "—" for e in engines}
    ref_name = engines[0]
    ref = summary(ref_name).sort_values("customer_id").reset_index(drop=True)
    ref_k = pd.read_parquet(result_dir / f"kpis_{ref_name}.parquet") if ref_name in TOOLKIT else None
    verdict = {ref_name: "reference"}
    for e in engines[1:]:
        s = summary(e).sort_values("customer_id").reset_index(drop=True)
        problems = []
        if len(s) != len(ref) or not np.array_equal(s["customer_id"].to_numpy(np.int64),
                                                    ref["customer_id"].to_numpy(np.int64)):
            problems.append(f"customers {len(s)} vs {len(ref)}")
        else:
            for c in ("frequency", "recency", "T"):
                if not np.array_equal(s[c].to_numpy(float), ref[c].to_numpy(float)):
                    bad = int((s[c].to_numpy(float) != ref[c].to_numpy(float)).sum())
                    problems.append(f"{c} differs for {bad}")
            m, mr = s["monetary_value"].to_numpy(float), ref["monetary_value"].to_numpy(float)
            if not np.allclose(m, mr, rtol=1e-9, atol=1e-9):
                problems.append(f"monetary differs for {int((~np.isclose(m, mr, rtol=1e-9, atol=1e-9)).sum())}")
        if e in TOOLKIT and ref_k is not None:
            k = pd.read_parquet(result_dir / f"kpis_{e}.parquet")
            if list(k.columns) != list(ref_k.columns) or len(k) != len(ref_k):
                problems.append(f"KPI shape {k.shape} vs {ref_k.shape}")
            elif not (k["region"].astype(str).tolist() == ref_k["region"].astype(str).tolist()):
                problems.append("KPI regions differ")
            else:
                num = [c for c in k.columns if c != "region"]
                a, b = k[num].to_numpy(float), ref_k[num].to_numpy(float)
                ok = np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
                if not ok.all():
                    cols = sorted({num[j] for j in np.where(~ok)[1]})
                    problems.append(f"KPIs differ in {', '.join(cols)}")
        verdict[e] = "yes" if not problems else "NO (" + "; ".join(problems) + ")"
    return verdict


def fmt(v, digits=2) -> str:
    if v is None:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def pandas_need(fit: tuple[float, float] | None, rows: int) -> float:
    """Extrapolated peak RSS (MB) of the pandas engine at ``rows`` from a smaller run (0 without one)."""
    return 0.0 if fit is None else fit[0] + fit[1] * rows


def table(results: list[dict]) -> str:
    lines = ["| size | engine | start (s) | summary (s) | KPIs (s) | total (s) | first run (s) | peak RSS (MB) "
             "| agrees | ratio to DuckDB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        size = size_label(r["rows"])
        if r["status"] != "ok":
            lines.append(f"| {size} | {r['engine']} | {r['status']} | | | | | | | |")
            continue
        ratio = r.get("ratio")
        lines.append(f"| {size} | {r['engine']} | {fmt(r.get('start_s'))} | {fmt(r['summary_s'], 3)} | "
                     f"{fmt(r.get('kpis_s'), 3)} | {fmt(r['total_s'], 3)} | {fmt(r.get('first_total_s'), 3)} | "
                     f"{fmt(r['peak_mb'], 0)} | "
                     f"{r.get('agrees', '—')} | {f'{ratio:.2f}x' if ratio is not None else '—'} |")
    return "\n".join(lines)


def targets(results: list[dict]) -> list[str]:
    import math
    ok = [r for r in results if r["status"] == "ok"]
    duck = {r["rows"]: r for r in ok if r["engine"] == "duckdb"}
    out = []
    if 100_000_000 in duck:
        d = duck[100_000_000]
        met = d["summary_s"] < 30 and d["peak_mb"] < 3 * 1024
        out.append(f"DuckDB 1e8 rows summarised in {d['summary_s']:.1f} s (< 30 s), peak RSS of summary and "
                   f"KPIs {d['peak_mb']:,.0f} MB (< 3,072 MB): {'PASS' if met else 'FAIL'} "
                   f"(summary + KPIs {d['total_s']:.1f} s)")
    else:
        out.append("DuckDB 1e8 rows < 30 s and < 3 GB peak RSS: n/a (1e8 not measured on DuckDB in this run)")
    both = sorted(set(duck) & {r["rows"] for r in ok if r["engine"] == "spark"})
    if both:
        n = both[-1]
        s = next(r for r in ok if r["engine"] == "spark" and r["rows"] == n)
        ratio = s["total_s"] / duck[n]["total_s"]
        cold = s["first_total_s"] / duck[n]["first_total_s"]
        out.append(f"Spark local once started within 5x of DuckDB at {size_label(n)} rows: "
                   f"{s['total_s']:.2f} s vs {duck[n]['total_s']:.2f} s = {ratio:.1f}x "
                   f"(start-up {s['start_s']:.1f} s excluded; first runs, JVM warm-up included: "
                   f"{s['first_total_s']:.2f} s vs {duck[n]['first_total_s']:.2f} s = {cold:.1f}x): "
                   f"{'PASS' if ratio <= 5 else 'FAIL'}")
    else:
        out.append("Spark within 5x of DuckDB: n/a (no size with both)")
    for engine in ENGINES:
        pts = sorted((r["rows"], r["total_s"]) for r in ok if r["engine"] == engine)
        if len(pts) < 2:
            continue
        per = ", ".join(f"{size_label(n)}: {t / n * 1e6:.3f}" for n, t in pts)
        slope = math.log(pts[-1][1] / pts[0][1]) / math.log(pts[-1][0] / pts[0][0])
        verdict = "PASS" if slope <= 1.15 else "FAIL"
        out.append(f"Linearity, {engine}: s per 1e6 rows ({'summary' if engine == 'lifetimes' else 'total'}) "
                   f"{per}; log-log slope {size_label(pts[0][0])}->{size_label(pts[-1][0])} {slope:.2f} "
                   f"(<= 1.15 is close to linear or better): {verdict}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["1e6", "1e7", "1e8"], help="log sizes in rows")
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement; the best is reported")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="DuckDB threads (default: all cores)")
    ap.add_argument("--duckdb-memory", default="2GB", help="DuckDB memory limit (it spills beyond it)")
    ap.add_argument("--spark-memory", default=None, help="spark.driver.memory (default: the toolkit's, $CUSTKIT_SPARK_MEMORY or 4g)")
    ap.add_argument("--pandas-max", type=float, default=1e8, help="largest size run on the pandas engine")
    ap.add_argument("--lifetimes-max", type=float, default=1e7, help="largest size run with lifetimes")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a child is killed")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", default=str(ROOT / "outputs" / "bench_scale"), help="cache of generated logs")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_scale.json"))
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--result-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        res_dir = Path(args.result_dir)
        if args.child == "lifetimes":
            out = lifetimes_child(Path(args.folder), args.repeat, res_dir)
        else:
            sys.path.insert(0, str(ROOT))
            out = toolkit_child(args.child, Path(args.folder), args.repeat, res_dir, args.spark_memory,
                                {"duckdb_threads": args.threads, "duckdb_memory": args.duckdb_memory})
        print(json.dumps(out))
        return

    sizes = sorted({parse_size(s) for s in args.sizes})
    engines = [e for e in ENGINES if e in args.engines]
    lt_python = ensure_lifetimes_venv() if "lifetimes" in engines and min(sizes) <= args.lifetimes_max else None
    data_root = Path(args.data)
    env = dict(os.environ)
    results, meta = [], {}
    pandas_fit = None
    for rows in sizes:
        print(f"[{size_label(rows)} rows] generating / reusing the log ...", file=sys.stderr)
        folder, gen = generate(rows, args.seed, data_root, args.threads)
        meta[rows] = gen
        res_dir = folder / "results"
        res_dir.mkdir(exist_ok=True)
        for f in res_dir.iterdir():
            f.unlink()
        ran = []
        for engine in engines:
            rec = {"rows": rows, "engine": engine}
            if engine == "lifetimes" and rows > args.lifetimes_max:
                rec["status"] = f"not run (> --lifetimes-max {size_label(int(args.lifetimes_max))})"
            elif engine == "pandas" and rows > args.pandas_max:
                rec["status"] = f"skipped (> --pandas-max {size_label(int(args.pandas_max))})"
            elif engine == "pandas" and pandas_need(pandas_fit, rows) > 0.8 * mem_available_mb():
                rec["status"] = (f"skipped (needs ~{pandas_need(pandas_fit, rows):,.0f} MB, "
                                 f"{mem_available_mb():,.0f} MB available)")
            else:
                print(f"  {engine} ...", file=sys.stderr)
                gc.collect()
                if engine == "lifetimes":
                    cmd = [str(lt_python), str(Path(__file__).resolve()), "--child", "lifetimes",
                           "--folder", str(npy_log(folder))]
                else:
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, "--folder", str(folder),
                           "--threads", str(args.threads), "--duckdb-memory", args.duckdb_memory]
                    if args.spark_memory:
                        cmd += ["--spark-memory", args.spark_memory]
                cmd += ["--result-dir", str(res_dir), "--repeat", str(args.repeat)]
                rec.update(run_child(cmd, args.timeout, env))
                if rec["status"] == "ok":
                    ran.append(engine)
                    if engine == "pandas":     # peak beyond the imports, per row, at the largest size so far
                        pandas_fit = (rec["rss_before_mb"], (rec["peak_mb"] - rec["rss_before_mb"]) / rows)
                else:
                    print(f"    {rec['status']}\n{rec.get('stderr', '')[-1500:]}", file=sys.stderr)
            results.append(rec)
        verdict = compare(res_dir, ran)
        duck = next((r for r in results if r["rows"] == rows and r["engine"] == "duckdb" and r["status"] == "ok"),
                    None)
        for r in results:
            if r["rows"] == rows and r["status"] == "ok":
                r["agrees"] = verdict.get(r["engine"], "—")
                if duck is not None and r["engine"] in TOOLKIT:
                    r["ratio"] = r["total_s"] / duck["total_s"]
                elif duck is not None:   # lifetimes: summary only
                    r["ratio"] = r["summary_s"] / duck["summary_s"]
        print(table([r for r in results if r["rows"] == rows]), file=sys.stderr)

    head = (f"Machine: {os.cpu_count()} cores, {mem_available_mb() / 1024:.1f} GB available, {platform.platform()}, "
            f"Python {platform.python_version()}. DuckDB threads {args.threads}, memory limit {args.duckdb_memory}; "
            f"Spark local[2], driver memory {args.spark_memory or os.environ.get('CUSTKIT_SPARK_MEMORY', '4g')}; "
            f"best of {args.repeat} (first run: the first repeat). Logs: rows/20 customers, ~2 lines per order, "
            f"{START} .. {END}, 3% returns; summary to {END} in weeks, KPIs per region x quarter. "
            "Times exclude Spark start-up (start column); lifetimes: start = loading the log into pandas, "
            "total = its summary only, ratio on summary time. Peak RSS includes the interpreter, the "
            "loaded data and Spark's JVM.")
    gens = "; ".join(f"{size_label(n)}: {g['customers']:,} customers, {g['log_mb']:,.0f} MB parquet"
                     for n, g in meta.items())
    lines = targets(results)
    notes = {r["engine"]: r["note"] for r in results if r.get("note")}
    lines += [f"Note, {e}: {n}" for e, n in notes.items()]
    md = [f"# Scale benchmark: summary + KPIs by engine ({time.strftime('%Y-%m-%d %H:%M')})", "", head, "",
          f"Logs: {gens}.", "", table(results), "", *[f"- {ln}" for ln in lines], ""]
    text = "\n".join(md)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": {"args": vars(args), "logs": {str(k): v for k, v in meta.items()}},
                               "results": results, "targets": lines}, indent=1, default=str))
    out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
