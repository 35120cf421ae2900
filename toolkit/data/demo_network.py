"""The demo company's wider network: ``partners.csv`` and ``suppliers.csv`` with their ground truth.

Parameters are in :mod:`toolkit.data.demo_params` (``PARTNERS``, ``SUPPLIERS`` and the constants
after them). The randomness comes from one stream of its own, ``SeedSequence(seed,
spawn_key=(NETWORK_SPAWN_KEY,))``, which is none of the streams :mod:`toolkit.data.demo` spawns,
so adding the network left every other demo file byte-identical.

``partners.csv`` — one row per partner and quarter (plus injected exact duplicates):
    partner_code [partner_id], partner [partner_name], partner_kind [partner_type; reseller,
    distributor, agent], region [region], quarter_start [period; ``YYYY-MM-01``], sold [sales;
    2 decimals, currency], target [target; 2 decimals, currency].
``suppliers.csv`` — one row per supplier and quarter (plus injected rows in percent):
    supplier_code [supplier_id], supplier [supplier_name], supplies [category], quarter_start
    [period], on_time [on_time_share; 0-1, 4 decimals], defects [defect_rate; 0-1, 5 decimals],
    price_index [price_index; 100 = market, 1 decimal].
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import demo_params as dp

NETWORK_SPAWN_KEY = 1000   # far above the demo's own streams (0..8), so a new stream there never collides
ON_TIME_MIN, DEFECT_MAX, PRICE_INDEX_MAX = 0.95, 0.02, 110.0   # the thresholds the truth classifies by


def network_rng(seed: int) -> np.random.Generator:
    """The network's own random stream for ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(NETWORK_SPAWN_KEY,))))


def quarters(start: str, end: str) -> pd.DatetimeIndex:
    """First days of the quarters from ``start``'s quarter to ``end``'s."""
    q = pd.period_range(pd.Timestamp(start).to_period("Q"), pd.Timestamp(end).to_period("Q"), freq="Q")
    return q.to_timestamp(how="start")


def _attainment_path(first: float, last: float, n: int) -> np.ndarray:
    return np.full(n, first) if n == 1 else np.linspace(first, last, n)


def make_network(seed: int, n_customers: int, start: str, end: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The partner and supplier files (raw columns) and their ground truth."""
    rng = network_rng(seed)
    qs = quarters(start, end)
    nq = len(qs)
    qstr = np.array([d.strftime("%Y-%m-%d") for d in qs], dtype=object)
    scale = n_customers / 20_000
    growth = (1 + dp.PARTNER_TARGET_GROWTH) ** np.arange(nq)
    sd = dp.PARTNER_SALES_NOISE_SD

    rows, p_truth = [], {}
    for pid, name, kind, region, base, a0, a1 in dp.PARTNERS:
        target = np.round(base * scale * growth, 2)
        att = _attainment_path(a0, a1, nq)
        noise = np.exp(rng.normal(0.0, sd, nq) - sd ** 2 / 2)
        sales = np.round(target * att * noise, 2)
        for i in range(nq):
            rows.append((pid, name, kind, region, qstr[i], f"{sales[i]:.2f}", f"{target[i]:.2f}"))
        expected = float((target * att).sum() / target.sum())
        p_truth[pid] = {"name": name, "type": kind, "region": region, "attainment_first_quarter": a0,
                        "attainment_last_quarter": a1, "attainment": round(expected, 6),
                        "below_target": expected < 1.0, "declining": a1 < a0,
                        "quarterly_target_base": round(base * scale, 2)}
    partners = pd.DataFrame(rows, columns=["partner_code", "partner", "partner_kind", "region", "quarter_start",
                                           "sold", "target"])
    dup = np.sort(rng.choice(len(partners), size=min(dp.PARTNER_DUPLICATE_ROWS, len(partners)), replace=False))
    partners = pd.concat([partners, partners.iloc[dup]]).sort_index(kind="stable").reset_index(drop=True)

    rows, s_truth = [], {}
    n_del, n_units = dp.SUPPLIER_DELIVERIES_PER_QUARTER, dp.SUPPLIER_UNITS_INSPECTED_PER_QUARTER
    for sid, name, supplies, p_on, d_rate, pidx in dp.SUPPLIERS:
        on = rng.binomial(n_del, p_on, nq) / n_del
        de = rng.binomial(n_units, d_rate, nq) / n_units
        px = pidx + rng.normal(0.0, dp.SUPPLIER_PRICE_NOISE_SD, nq)
        for i in range(nq):
            rows.append((sid, name, supplies, qstr[i], f"{on[i]:.4f}", f"{de[i]:.5f}", f"{px[i]:.1f}"))
        s_truth[sid] = {"name": name, "supplies": supplies, "on_time_share": p_on, "defect_rate": d_rate,
                        "price_index": pidx, "late": p_on < ON_TIME_MIN, "defective": d_rate > DEFECT_MAX,
                        "expensive": pidx > PRICE_INDEX_MAX}
        s_truth[sid]["outside_thresholds"] = any(s_truth[sid][k] for k in ("late", "defective", "expensive"))
    suppliers = pd.DataFrame(rows, columns=["supplier_code", "supplier", "supplies", "quarter_start", "on_time",
                                            "defects", "price_index"])
    pct = np.sort(rng.choice(len(suppliers), size=min(dp.SUPPLIER_PERCENT_ROWS, len(suppliers)), replace=False))
    bad = suppliers.iloc[pct].copy()
    bad["on_time"] = [f"{100 * float(v):.2f}" for v in bad["on_time"]]
    suppliers = pd.concat([suppliers, bad]).sort_index(kind="stable").reset_index(drop=True)

    truth = {
        "quarters": [str(x) for x in qstr],
        "partners": p_truth,
        "partner_model": "target_q = base x n_customers / 20,000 x (1 + growth)^q (rounded to cents); "
                         "sales_q = target_q x attainment_q x exp(N(0, sd^2) - sd^2 / 2), attainment_q linear "
                         "from the first to the last quarter; 'attainment' = sum(target_q x attainment_q) / "
                         "sum(target_q), the expected share of the summed target reached",
        "partner_target_growth_per_quarter": dp.PARTNER_TARGET_GROWTH,
        "partner_sales_noise_sd_log": sd,
        "partners_below_target": sorted(k for k, v in p_truth.items() if v["below_target"]),
        "partners_declining": sorted(k for k, v in p_truth.items() if v["declining"]),
        "suppliers": s_truth,
        "supplier_model": "on_time_q = Binomial(deliveries, p) / deliveries; defect_rate_q = "
                          "Binomial(units, d) / units; price_index_q = mean + N(0, sd^2)",
        "supplier_deliveries_per_quarter": n_del,
        "supplier_units_inspected_per_quarter": n_units,
        "supplier_price_noise_sd": dp.SUPPLIER_PRICE_NOISE_SD,
        "thresholds": {"on_time_min": ON_TIME_MIN, "defect_max": DEFECT_MAX, "price_index_max": PRICE_INDEX_MAX},
        "suppliers_outside_thresholds": sorted(k for k, v in s_truth.items() if v["outside_thresholds"]),
        "injected": {"partners_duplicate_rows": int(len(dup)),
                     "suppliers_on_time_in_percent_rows": int(len(pct)),
                     "suppliers_on_time_in_percent": [{"supplier": str(suppliers.loc[i, "supplier_code"]),
                                                       "quarter": str(suppliers.loc[i, "quarter_start"])}
                                                      for i in range(len(suppliers))
                                                      if float(suppliers.loc[i, "on_time"]) > 1]},
        "notes": "Sales through partners are indirect sales to end customers outside customers.csv; suppliers "
                 "are company-wide (no region). The network is the same with regional_differences=False.",
    }
    return partners, suppliers, truth
