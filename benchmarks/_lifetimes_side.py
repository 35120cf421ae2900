"""The lifetimes side of bench_clv.py; runs under the comparator venv (.benchvenv-lifetimes).

Reads the generated log (npy files), times lifetimes' summary, fitters and CLV, measures the
peak resident memory of the summary step, and prints one JSON line.
"""
from __future__ import annotations

import argparse
import gc
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _memory import reset_peak, rss_kb  # benchmarks/ is first on sys.path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--obs", required=True)
    ap.add_argument("--pareto", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    d = Path(args.data)
    df = pd.DataFrame({"customer_id": np.load(d / "customer_id.npy"), "date": np.load(d / "date.npy"),
                       "amount": np.load(d / "amount.npy")})
    gc.collect()
    out = {"rss_input_mb": rss_kb("VmRSS") / 1024, "peak_reset": reset_peak()}
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        s = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount",
                                               observation_period_end=args.obs, freq="D", freq_multiplier=7)
        times.append(time.perf_counter() - t)
    out["summary_s"] = min(times)
    out["summary_peak_mb"] = rss_kb("VmHWM") / 1024
    out["summary_check"] = [float(s["frequency"].sum()), float(s["recency"].sum()), float(s["T"].sum())]
    del df
    gc.collect()

    t = time.perf_counter()
    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    out["bg_fit_s"] = time.perf_counter() - t
    out["bg_params"] = {k: float(v) for k, v in bg.params_.items()}
    if args.pareto:
        t = time.perf_counter()
        pn = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
        out["pn_fit_s"] = time.perf_counter() - t
        out["pn_params"] = {k: float(v) for k, v in pn.params_.items()}
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    t = time.perf_counter()
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    out["gg_fit_s"] = time.perf_counter() - t
    out["gg_params"] = {k: float(v) for k, v in gg.params_.items()}
    t = time.perf_counter()
    clv = gg.customer_lifetime_value(bg, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                     time=12, discount_rate=0.01, freq="W")
    out["clv_s"] = time.perf_counter() - t
    out["clv_sum"] = float(np.nansum(clv))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
