"""CLV benchmark: custkit against the lifetimes package on generated transaction logs.

    python benchmarks/bench_clv.py                       # 1e6 rows / 100k and 1e7 rows / 1M customers
    python benchmarks/bench_clv.py --sizes 1e6 --skip-lifetimes

Each size is a Pareto/NBD-simulated log (toolkit.clv.models.simulate, rows = 10 x customers, order lines
split from purchase occasions, Gamma-Gamma spend). Both sides run as child processes on the same
log (npy files): rfm_summary vs lifetimes' summary_data_from_transaction_data (days / 7, i.e.
freq="D", freq_multiplier=7), best of two runs, with the peak resident memory of the summary step
(VmHWM after resetting it once the log is loaded, so it includes the loaded log itself); then the
BG/NBD, Pareto/NBD and Gamma-Gamma fits and a 12-month CLV. Log-likelihoods of both sides are
evaluated with custkit's likelihood on custkit's summary, at each side's estimates.
lifetimes' ParetoNBDFitter runs only on the sizes with at most --pareto-max customers.

The comparator lives in its own venv, .benchvenv-lifetimes, created here when missing.
Output: a markdown table on stdout and in benchmarks/results/bench_clv.md.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _memory import reset_peak, rss_kb  # benchmarks/ is first on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIFETIMES_VENV = ROOT / ".benchvenv-lifetimes"
LIFETIMES_REQS = ["Lifetimes==0.11.3", "pandas==1.5.3", "numpy==1.26.4", "scipy==1.14.1", "setuptools<82"]
OBS_END = "2023-12-31"


# ------------------------------------------------------------------------------------ helpers
def ensure_lifetimes_venv() -> Path:
    py = LIFETIMES_VENV / "bin" / "python"
    if py.exists():
        return py
    print(f"creating {LIFETIMES_VENV} ...", file=sys.stderr)
    base = "python3.11" if subprocess.run(["which", "python3.11"], capture_output=True).returncode == 0 else sys.executable
    subprocess.run([base, "-m", "venv", str(LIFETIMES_VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *LIFETIMES_REQS],
                   check=True)
    return py


def parse_size(text: str) -> tuple[int, int]:
    """'1e6' -> (1_000_000 rows, 100_000 customers); 'ROWS:CUSTOMERS' also accepted."""
    if ":" in text:
        rows, cust = text.split(":")
        return int(float(rows)), int(float(cust))
    rows = int(float(text))
    return rows, rows // 10


def generate(rows: int, customers: int, folder: Path, seed: int = 42) -> None:
    from toolkit.clv import simulate_transactions
    tx = simulate_transactions(customers, rows, model="paretonbd", seed=seed,
                               start="2022-01-01", acquisition_days=365, end=OBS_END)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "customer_id.npy", tx["customer_id"].to_numpy())
    np.save(folder / "date.npy", tx["date"].to_numpy().astype("datetime64[ns]"))
    np.save(folder / "amount.npy", tx["amount"].to_numpy())


def run_child(cmd: list[str]) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t
    return out


# ------------------------------------------------------------------------------ custkit child
def custkit_child(data: Path, pareto: bool, repeat: int, interval_draws: int = 0) -> dict:
    import pandas as pd
    from toolkit.clv import BetaGeo, GammaGamma, ParetoNBD, rfm_summary

    df = pd.DataFrame({"customer_id": np.load(data / "customer_id.npy"), "date": np.load(data / "date.npy"),
                       "amount": np.load(data / "amount.npy")})
    gc.collect()
    out = {"rss_input_mb": rss_kb("VmRSS") / 1024, "peak_reset": reset_peak()}
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        s = rfm_summary(df, OBS_END, time_unit="W")
        times.append(time.perf_counter() - t)
    out["summary_s"] = min(times)
    out["summary_peak_mb"] = rss_kb("VmHWM") / 1024
    out["summary_check"] = [float(s["frequency"].sum()), float(s["recency"].sum()), float(s["T"].sum())]
    del df
    gc.collect()
    np.save(data / "rfm.npy", s[["frequency", "recency", "T", "monetary_value"]].to_numpy())

    t = time.perf_counter()
    bg = BetaGeo().fit(s)
    out["bg_fit_s"] = time.perf_counter() - t
    out["bg_params"] = bg.params_.to_dict()
    out["bg_ll"] = bg.log_likelihood_
    out["bg_distinct"] = bg.n_distinct_
    if pareto:
        t = time.perf_counter()
        pn = ParetoNBD().fit(s)
        out["pn_fit_s"] = time.perf_counter() - t
        out["pn_params"] = pn.params_.to_dict()
        out["pn_ll"] = pn.log_likelihood_
    t = time.perf_counter()
    gg = GammaGamma(nonpositive="drop").fit(s)
    out["gg_fit_s"] = time.perf_counter() - t
    out["gg_params"] = gg.params_.to_dict()
    t = time.perf_counter()
    clv = gg.customer_lifetime_value(bg, s, horizon=12, discount_rate=0.01, time_unit="M")
    out["clv_s"] = time.perf_counter() - t
    out["clv_sum"] = float(clv.sum())
    if interval_draws:
        from toolkit.clv.valuation.intervals import customer_intervals

        gc.collect()
        rss0 = rss_kb("VmRSS")
        reset = reset_peak()
        t = time.perf_counter()
        res = customer_intervals(bg, s, gg, horizon=12, time_unit="M", level=0.9, n_draws=interval_draws, seed=0)
        out["intervals_s"] = time.perf_counter() - t
        out["intervals_draws"] = interval_draws
        out["intervals_extra_mb"] = (rss_kb("VmHWM") - rss0) / 1024 if reset else None
        out["intervals_clv_total"] = res.population.round(2).reset_index().to_dict("records")
    return out


# ----------------------------------------------------------------------------------- reporting
def loglik_at(model_cls, params: dict, rfm: np.ndarray) -> float:
    m = model_cls.from_params(**{k: params[k] for k in model_cls.param_names})
    return float(m.loglik(rfm[:, 0], rfm[:, 1], rfm[:, 2]).sum())


def fmt(v, digits=2) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if abs(v) >= 1e5:
        return f"{v:,.1f}"
    return f"{v:.{digits}f}"


def table(results: list[dict]) -> str:
    from toolkit.clv import BetaGeo, ParetoNBD
    lines = ["| size | step | custkit | lifetimes 0.11.3 | custkit advantage | target | met |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        ck, lt = r["custkit"], r.get("lifetimes")
        size = f"{r['rows']:.0e} rows / {r['customers']:,} customers".replace("e+0", "e")
        rfm = r["rfm"]

        def row(step, a, b, adv="", target="", met=""):
            lines.append(f"| {size} | {step} | {a} | {b} | {adv} | {target} | {met} |")

        ratio = lt["summary_s"] / ck["summary_s"] if lt else None
        row("summary time (s)", fmt(ck["summary_s"], 3), fmt(lt["summary_s"], 3) if lt else "—",
            f"{ratio:.1f}x faster" if ratio else "", ">= 10x faster", ("yes" if ratio >= 10 else "no") if ratio else "")
        row("summary peak RSS (MB, incl. the loaded log)", fmt(ck["summary_peak_mb"], 0),
            fmt(lt["summary_peak_mb"], 0) if lt else "—",
            f"{lt['summary_peak_mb'] / ck['summary_peak_mb']:.1f}x less" if lt else "", "lower",
            ("yes" if ck["summary_peak_mb"] < lt["summary_peak_mb"] else "no") if lt else "")
        row("loaded log RSS (MB)", fmt(ck["rss_input_mb"], 0), fmt(lt["rss_input_mb"], 0) if lt else "—")
        same = lt and np.allclose(ck["summary_check"], lt["summary_check"], rtol=1e-9)
        if lt:
            row("summaries identical (sum of x, t_x, T)", "", "", "yes" if same else "NO")
        big = r["customers"] >= 1_000_000
        row(f"BG/NBD fit (s), {ck['bg_distinct']:,} distinct rows", fmt(ck["bg_fit_s"], 3),
            fmt(lt["bg_fit_s"], 3) if lt else "—",
            f"{lt['bg_fit_s'] / ck['bg_fit_s']:.1f}x faster" if lt else "",
            "< 2 s" if big else "", ("yes" if ck["bg_fit_s"] < 2 else "no") if big else "")
        ll_lt = loglik_at(BetaGeo, lt["bg_params"], rfm) if lt else None
        row("BG/NBD log-likelihood", fmt(ck["bg_ll"]), fmt(ll_lt) if lt else "—",
            f"{ck['bg_ll'] - ll_lt:+.2e} higher" if lt else "")
        if "pn_fit_s" in ck:
            has_lt = bool(lt and "pn_fit_s" in lt)
            small = r["customers"] <= 100_000
            row("Pareto/NBD fit (s)", fmt(ck["pn_fit_s"], 3), fmt(lt["pn_fit_s"], 2) if has_lt else "—",
                f"{lt['pn_fit_s'] / ck['pn_fit_s']:.0f}x faster" if has_lt else "",
                "< 5 s" if small else "", ("yes" if ck["pn_fit_s"] < 5 else "no") if small else "")
            ll_lt = loglik_at(ParetoNBD, lt["pn_params"], rfm) if has_lt else None
            row("Pareto/NBD log-likelihood", fmt(ck["pn_ll"]), fmt(ll_lt) if has_lt else "—",
                f"{ck['pn_ll'] - ll_lt:+.2e} higher" if has_lt else "", ">= lifetimes" if has_lt else "",
                ("yes" if ck["pn_ll"] >= ll_lt - 1e-6 else "no") if has_lt else "")
        row("Gamma-Gamma fit (s)", fmt(ck["gg_fit_s"], 3), fmt(lt["gg_fit_s"], 3) if lt else "—",
            f"{lt['gg_fit_s'] / ck['gg_fit_s']:.1f}x faster" if lt else "")
        row("12-month CLV, BG/NBD + Gamma-Gamma (s)", fmt(ck["clv_s"], 3), fmt(lt["clv_s"], 3) if lt else "—",
            f"{lt['clv_s'] / ck['clv_s']:.1f}x faster" if lt else "")
        if "intervals_s" in ck:
            extra = ck["intervals_extra_mb"]
            row(f"90% intervals per customer (purchases, P(alive), CLV), {ck['intervals_draws']} draws (s)",
                fmt(ck["intervals_s"], 1), "— (not offered)")
            row("intervals: peak RSS beyond the summary (MB)", fmt(extra, 0) if extra is not None else "n/a",
                "—", "", "< 2,048 at 1M customers" if big else "",
                ("yes" if extra is not None and extra < 2048 else "no") if big else "")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["1e6", "1e7"],
                    help="log sizes: ROWS (customers = ROWS/10) or ROWS:CUSTOMERS")
    ap.add_argument("--skip-lifetimes", action="store_true", help="run custkit only")
    ap.add_argument("--pareto-max", type=int, default=100_000,
                    help="largest customer count for lifetimes' ParetoNBDFitter (slow)")
    ap.add_argument("--custkit-pareto-max", type=int, default=1_000_000,
                    help="largest customer count for custkit's Pareto/NBD fit")
    ap.add_argument("--repeat", type=int, default=3, help="summary runs per side (best is reported)")
    ap.add_argument("--interval-draws", type=int, default=200,
                    help="parameter draws for the per-customer 90%% intervals (0 skips them)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_clv.md"))
    ap.add_argument("--child", choices=["custkit"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--pareto", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        print(json.dumps(custkit_child(Path(args.data), args.pareto, args.repeat, args.interval_draws)))
        return

    lt_python = None if args.skip_lifetimes else ensure_lifetimes_venv()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_clv_") as tmp:
        for text in args.sizes:
            rows, customers = parse_size(text)
            folder = Path(tmp) / f"{rows}_{customers}"
            print(f"[{rows:,} rows / {customers:,} customers] generating ...", file=sys.stderr)
            generate(rows, customers, folder)
            gc.collect()
            cmd = [sys.executable, __file__, "--child", "custkit", "--data", str(folder), "--repeat", str(args.repeat),
                   "--interval-draws", str(args.interval_draws)]
            if customers <= args.custkit_pareto_max:
                cmd.append("--pareto")
            print("  custkit ...", file=sys.stderr)
            ck = run_child(cmd)
            lt = None
            if lt_python is not None:
                print("  lifetimes ...", file=sys.stderr)
                cmd = [str(lt_python), str(ROOT / "benchmarks" / "_lifetimes_side.py"), "--data", str(folder),
                       "--obs", OBS_END, "--repeat", str(args.repeat)]
                if customers <= args.pareto_max:
                    cmd.append("--pareto")
                lt = run_child(cmd)
            results.append({"rows": rows, "customers": customers, "custkit": ck, "lifetimes": lt,
                            "rfm": np.load(folder / "rfm.npy")})
            print(json.dumps({"custkit": ck, "lifetimes": lt}, default=str), file=sys.stderr)

        md = [f"# CLV benchmark: custkit vs lifetimes ({time.strftime('%Y-%m-%d %H:%M')})", "",
              f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}. "
              "Logs simulated from Pareto/NBD (r=0.6, alpha=8, s=0.6, beta=12 per week), customers "
              "acquired over 2022, observed to 2023-12-31, 10 rows per customer on average. "
              "Times are wall-clock seconds in separate child processes; summary = best of "
              f"{args.repeat}. Log-likelihoods: custkit's likelihood on the same summary at each side's estimates.",
              "", table(results), ""]
    text = "\n".join(md)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    raw = [{k: v for k, v in r.items() if k != "rfm"} for r in results]
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))


if __name__ == "__main__":
    main()
