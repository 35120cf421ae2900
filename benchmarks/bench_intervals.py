"""Time and memory of per-customer CLV intervals (toolkit.clv.valuation.intervals) at 1e5 and 1e6 customers.

    python benchmarks/bench_intervals.py                      # 100,000 and 1,000,000 customers
    python benchmarks/bench_intervals.py --sizes 100000 --draws 200 --out results.json

For each size a transaction log is simulated with toolkit.clv.models.simulate.simulate_transactions
(BG/NBD purchases, Gamma-Gamma spend, first purchases spread over a year, two years of data, weekly
units) and summarised with rfm_summary; the summary is written to a Parquet file. A fresh Python
process then loads the summary, fits BG/NBD and Gamma-Gamma and computes 90% intervals for expected
purchases in the next 12 months, P(alive) and 12-month CLV. Reported: seconds for the fit and for
the intervals, and the peak resident memory of that process beyond its size right after loading
the summary (Linux /proc: VmHWM minus VmRSS; the peak is reset after loading so that reading the
file does not count).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _memory import reset_peak, rss_kb  # noqa: E402  (benchmarks/ is first on sys.path)


def child(path: str, n_draws: int, memory_limit: int) -> dict:
    import pandas as pd

    from toolkit.clv import BetaGeo, GammaGamma
    from toolkit.clv.valuation.intervals import customer_intervals

    rfm = pd.read_parquet(path)
    rfm.attrs["time_unit"] = "W"
    rss0 = rss_kb("VmRSS")
    reset = reset_peak()
    t0 = time.perf_counter()
    bg = BetaGeo().fit(rfm)
    gg = GammaGamma().fit(rfm)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = customer_intervals(bg, rfm, gg, horizon=12, time_unit="M", level=0.9, n_draws=n_draws, seed=0,
                             memory_limit=memory_limit)
    t_int = time.perf_counter() - t0
    peak = rss_kb("VmHWM") if reset else None
    return {"customers": len(rfm), "distinct_rows": res.n_distinct, "draws": n_draws, "chunk_size": res.chunk_size,
            "chunks": res.n_chunks, "fit_seconds": round(t_fit, 2), "interval_seconds": round(t_int, 2),
            "summary_rss_mb": round(rss0 / 1024, 1),
            "peak_beyond_summary_mb": None if peak is None else round((peak - rss0) / 1024, 1),
            "population": res.population.round(2).reset_index().to_dict("records")}


def make_summary(n: int, path: Path, seed: int = 1) -> None:
    from toolkit.clv import rfm_summary, simulate_transactions

    tx = simulate_transactions(n, model="bgnbd", params={"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0},
                               start="2023-01-01", acquisition_days=365, end="2024-12-31", time_unit="W", seed=seed)
    rfm = rfm_summary(tx, observation_end="2024-12-31", time_unit="W")
    rfm.to_parquet(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--memory-limit-mb", type=int, default=512, help="work-array budget of customer_intervals")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.draws, args.memory_limit_mb * 2**20)))
        return 0
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"rfm_{n}.parquet"
            t0 = time.perf_counter()
            make_summary(n, path)
            t_sum = time.perf_counter() - t0
            env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
            out = subprocess.run([sys.executable, __file__, "--child", str(path), "--draws", str(args.draws),
                                  "--memory-limit-mb", str(args.memory_limit_mb)],
                                 capture_output=True, text=True, check=True, env=env)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            res["simulate_and_summary_seconds"] = round(t_sum, 2)
            results.append(res)
            print(f"{n:>10,} customers  {res['distinct_rows']:>9,} distinct rows  {res['draws']} draws  "
                  f"{res['chunks']} chunks of {res['chunk_size']:,}  fit {res['fit_seconds']:.1f} s  "
                  f"intervals {res['interval_seconds']:.1f} s  peak beyond summary "
                  f"{res['peak_beyond_summary_mb']} MB", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
