"""Surveys, contact log, marketing spend and market table of the demo company.

Helpers for :mod:`toolkit.data.demo`; integer days are offsets from the start date. The contact log
is :mod:`toolkit.data.demo_touchpoints` applied to the demo's buyers and purchases (see
:func:`make_interactions`); it draws nothing that the other parts read.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.reliability import cronbach_alpha  # noqa: F401  (the one formula; demo.py calls da.cronbach_alpha)

from . import demo_params as dp
from .demo_purchases import NONE
from .demo_touchpoints import SimulatedTouchpoints, simulate_interactions

COMMENTS = {
    "positive": (
        "Very happy overall.",
        "Great products, will order again.",
        "Friendly and helpful staff.",
        "Delivery was quick.",
        "Good value for money.",
    ),
    "neutral": ("OK.", "Nothing special.", "Fine for now.", "Does the job."),
    "product": ("Quality has dropped lately.", "The last order had faulty items."),
    "service": ("Service was slow to respond.", "Nobody called me back."),
    "price": ("Too expensive compared to others.", "Prices went up again."),
    "support": ("Support could not solve my problem.", "Hard to reach support."),
}


def quarters(start: np.datetime64, end_day: int) -> list[tuple[int, int, str]]:
    """(first day, last day, label like '2024Q1') of each calendar quarter overlapping the period."""
    end = start + np.timedelta64(end_day, "D")
    m0 = start.astype("datetime64[M]").astype(int)
    q = m0 - m0 % 3
    out = []
    while True:
        qs = np.datetime64(int(q), "M").astype("datetime64[D]")
        if qs > end:
            break
        qe = np.datetime64(int(q + 3), "M").astype("datetime64[D]") - np.timedelta64(1, "D")
        lo = max(int((qs - start).astype(int)), 0)
        hi = min(int((qe - start).astype(int)), end_day)
        year = 1970 + int(q) // 12
        out.append((lo, hi, f"{year}Q{int(q) % 12 // 3 + 1}"))
        q += 3
    return out


def _latent_chol() -> np.ndarray:
    k = len(dp.CONSTRUCTS)
    r = np.full((k, k), dp.LATENT_CORR)
    np.fill_diagonal(r, 1.0)
    return np.linalg.cholesky(r)


def driver_residual_sd() -> float:
    k = len(dp.CONSTRUCTS)
    r = np.full((k, k), dp.LATENT_CORR)
    np.fill_diagonal(r, 1.0)
    w = np.array([dp.DRIVER_WEIGHTS[c] for c in dp.CONSTRUCTS])
    return float(np.sqrt(1.0 - w @ r @ w))


def _likert(x: np.ndarray) -> np.ndarray:
    return 1 + (x[..., None] + dp.ITEM_SHIFT > np.array(dp.LIKERT_CUTS)).sum(axis=-1)


def make_surveys(rng: np.random.Generator, c: dict, ch: dict, P: dp.Params, start, end_day: int) -> tuple[dict, dict]:
    """Quarterly survey waves. Returns (columns, injected-messiness counts)."""
    n = c["n"]
    buyer = ~c["potential"]
    acq = c["acq"]
    churn = ch["churn_day"]
    churned = churn != NONE
    chol = _latent_chol()
    k = len(dp.CONSTRUCTS)
    u = (rng.standard_normal((n, k)) @ chol.T) * np.sqrt(dp.LATENT_CUSTOMER_VAR)

    who, when, wave = [], [], []
    for lo_q, hi_q, label in quarters(start, end_day):
        lo = np.maximum(acq, lo_q)
        hi = np.where(churned, np.minimum(churn - 1, hi_q), hi_q)
        elig = buyer & (acq <= hi_q) & (lo <= hi)
        resp = elig & (rng.random(n) < dp.SURVEY_RATE)
        idx = np.flatnonzero(resp)
        d = lo[idx] + np.floor(rng.random(len(idx)) * (hi[idx] - lo[idx] + 1)).astype(np.int64)
        who.append(idx)
        when.append(d)
        wave.append(np.full(len(idx), label))
    who = np.concatenate(who)
    when = np.concatenate(when)
    wave = np.concatenate(wave)
    o = np.lexsort((who, when))
    who, when, wave = who[o], when[o], wave[o]
    m = len(who)

    region_mu = np.array([[P.latent_means[r][cn] for cn in dp.CONSTRUCTS] for r in dp.REGIONS])
    e = (rng.standard_normal((m, k)) @ chol.T) * np.sqrt(1.0 - dp.LATENT_CUSTOMER_VAR)
    to_churn = np.where(churned[who], churn[who] - when, 10**6)
    pre = (to_churn >= 0) & (to_churn <= dp.PRECHURN_DAYS_SURVEY)
    eta = region_mu[c["region"][who]] + u[who] + e + np.where(pre, dp.PRECHURN_SHIFT, 0.0)[:, None]

    cols: dict[str, np.ndarray] = {}
    item_names = []
    for j, cn in enumerate(dp.CONSTRUCTS):
        for i in range(dp.N_ITEMS[cn]):
            x = eta[:, j] + dp.ITEM_NOISE_SD * rng.standard_normal(m)
            name = f"q_{cn}_{i + 1}"
            cols[name] = _likert(x).astype(float)
            item_names.append(name)
    w = np.array([dp.DRIVER_WEIGHTS[cn] for cn in dp.CONSTRUCTS])
    s_star = eta @ w + driver_residual_sd() * rng.standard_normal(m)
    sat = _likert(s_star)
    rho = dp.NPS_SAT_CORR
    nps_star = rho * s_star + np.sqrt(1 - rho**2) * rng.standard_normal(m)
    nps = np.clip(np.round(7.0 + 2.0 * nps_star), 0, 10)

    # comments: ~45% empty; tone from the overall score, complaint topic = weakest construct
    tone = np.where(sat >= 4, 0, np.where(sat == 3, 1, 2))
    weakest = np.argmin(eta, axis=1)
    pick = rng.random(m)
    comment = np.full(m, "", dtype=object)
    pos, neu = COMMENTS["positive"], COMMENTS["neutral"]
    has = rng.random(m) >= 0.45
    for t_i, pool in ((0, pos), (1, neu)):
        sel = has & (tone == t_i)
        comment[sel] = np.array(pool, dtype=object)[(pick[sel] * len(pool)).astype(int)]
    for j, cn in enumerate(dp.CONSTRUCTS):
        pool = COMMENTS[cn]
        sel = has & (tone == 2) & (weakest == j)
        comment[sel] = np.array(pool, dtype=object)[(pick[sel] * len(pool)).astype(int)]

    clean_items = {nm: cols[nm].copy() for nm in item_names}
    # messiness: missing answers and a few out-of-range codes
    missing = {}
    for nm in item_names:
        miss = rng.random(m) < dp.SURVEY_MISSING_P
        cols[nm][miss] = np.nan
        missing[nm] = int(miss.sum())
    n_oor = sum(dp.SURVEY_OUT_OF_RANGE.values())
    answered = np.stack([~np.isnan(cols[nm]) for nm in item_names], axis=1)  # rows x items
    flat = np.flatnonzero(answered.ravel())
    pick_cells = np.sort(rng.choice(len(flat), size=min(n_oor, len(flat)), replace=False))
    cells = flat[pick_cells]
    codes = [int(code) for code, cnt in sorted(dp.SURVEY_OUT_OF_RANGE.items()) for _ in range(cnt)]
    codes = np.array(codes[: len(cells)])[rng.permutation(len(cells))]
    for cell, code in zip(cells.tolist(), codes.tolist()):
        ri, ii = divmod(cell, len(item_names))
        cols[item_names[ii]][ri] = code
    out = dict(who=who, when=when, wave=wave, items=cols, item_names=item_names, sat=sat, nps=nps,
               comment=comment, pre=pre, clean_items=clean_items)
    inj = dict(
        missing_per_item=missing,
        missing_total=int(sum(missing.values())),
        out_of_range={str(code): int((codes == int(code)).sum()) for code in dp.SURVEY_OUT_OF_RANGE},
        out_of_range_total=int(len(cells)),
    )
    return out, inj


def make_interactions(rng: np.random.Generator, ids: np.ndarray, c: dict, ch: dict, tx: pd.DataFrame, start,
                      end: str) -> SimulatedTouchpoints:
    """The contact log: :func:`~toolkit.data.demo_touchpoints.simulate_interactions` with
    ``dp.TOUCHPOINTS`` around the buyers (potential customers get no contacts) and their purchases.

    ``tx`` is transactions.csv as written; the simulator sees the rows the loader keeps (an id, a
    valid date up to ``end``, exact duplicates dropped; returns and outliers stay), so its value
    tiers are the report's. Its seed is one draw from ``rng`` (the demo's interactions stream), so
    the log is deterministic and no other part of the demo changes with it."""
    t = tx.loc[tx["cust_id"].astype(str) != ""].drop_duplicates()
    date = pd.to_datetime(t["invoice_date"], format="%Y-%m-%d", errors="coerce")
    keep = date.notna() & (date <= pd.Timestamp(end))
    purchases = pd.DataFrame({"customer_id": t.loc[keep, "cust_id"].to_numpy(), "date": date[keep].to_numpy(),
                              "amount": t.loc[keep, "net_amount"].astype(float).to_numpy()})
    buyer = ~c["potential"]
    churn = ch["churn_day"][buyer]
    churn_date = pd.Series(start + np.where(churn == NONE, 0, churn).astype("timedelta64[D]")).where(churn != NONE)
    customers = pd.DataFrame({"customer_id": ids[buyer], "churn_date": churn_date.to_numpy()})
    seed = int(rng.integers(2**63))
    return simulate_interactions(customers, purchases, end=end, seed=seed, params=dp.TOUCHPOINTS)


def make_marketing(rng: np.random.Generator, c: dict, P: dp.Params, start, window_days: int) -> dict:
    """Monthly spend = new customers (region, channel, month) x true CAC x exp(N(0, sd^2))."""
    buyer = ~c["potential"]
    start_m = start.astype("datetime64[M]")
    acq_dates = start + c["acq"][buyer].astype("timedelta64[D]")
    month_idx = (acq_dates.astype("datetime64[M]") - start_m).astype(int)
    last = start + np.timedelta64(window_days - 1, "D")
    n_months = int((last.astype("datetime64[M]") - start_m).astype(int)) + 1
    nr, nc = len(dp.REGIONS), len(dp.ACQ_CHANNELS)
    flat = (month_idx * nr + c["region"][buyer]) * nc + c["channel"][buyer]
    counts = np.bincount(flat, minlength=n_months * nr * nc).reshape(n_months, nr, nc)
    cac = np.array([[P.cac[r][ch] for ch in dp.ACQ_CHANNELS] for r in dp.REGIONS])
    noise = np.exp(dp.CAC_NOISE_SD * rng.standard_normal(counts.shape))
    spend = np.round(counts * cac[None] * noise, 2)
    months = (start_m + np.arange(n_months)).astype("datetime64[D]").astype(str)
    mi, ri, ci = np.meshgrid(np.arange(n_months), np.arange(nr), np.arange(nc), indexing="ij")
    return dict(month=months[mi.ravel()], region=np.array(dp.REGIONS)[ri.ravel()],
                channel=np.array(dp.ACQ_CHANNELS)[ci.ravel()], spend=spend.ravel(), new_customers=counts.ravel())


def market_rows(P: dp.Params) -> list[tuple]:
    rows = []
    for r in dp.REGIONS:
        for name, share, pidx, growth in P.market[r]:
            rows.append((r, name, share, pidx, growth))
    return rows
