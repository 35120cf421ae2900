"""Simulators for the CLV models: RFM summaries from known parameters, and whole transaction logs.

All vectorised (no loop over customers). Times are in the unit the parameters are expressed in.

* Pareto/NBD: lambda ~ Gamma(r, rate alpha), mu ~ Gamma(s, rate beta), lifetime ~ Exp(mu);
  repeat purchases form a Poisson(lambda) process on (0, min(lifetime, T)].
* BG/NBD: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); Poisson(lambda) purchases on (0, T],
  the customer drops out right after each repeat purchase with probability p (MBG/NBD: also at 0).
* Spend (Gamma-Gamma): nu ~ Gamma(q, rate gamma), each occasion's value ~ Gamma(p, rate nu).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.clv.summary import unit_days

__all__ = ["simulate_paretonbd", "simulate_bgnbd", "simulate_transactions"]


def _ages(n: int, T, rng: np.random.Generator) -> np.ndarray:
    T = np.asarray(T, float)
    if T.ndim == 0:
        return np.full(n, float(T))
    if T.shape != (n,):
        raise ValueError("T must be a scalar or have one value per customer")
    return T.copy()


def _event_times(counts: np.ndarray, upper: np.ndarray, rng: np.random.Generator):
    """Sorted uniform times on (0, upper_i) for each customer i: (owner, time, rank) arrays."""
    owner = np.repeat(np.arange(len(counts)), counts)
    times = rng.random(len(owner)) * upper[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(owner)) - starts[owner]
    return owner, times, rank


def _paretonbd_events(n, r, alpha, s, beta, T, rng):
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    life = rng.exponential(1.0 / np.maximum(mu, 1e-300))
    window = np.minimum(life, T)
    counts = rng.poisson(lam * window)
    owner, times, _ = _event_times(counts, window, rng)
    return owner, times, {"lambda": lam, "mu": mu, "alive": life > T}


def _bgnbd_events(n, r, alpha, a, b, T, rng, modified=False):
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    potential = rng.poisson(lam * T)
    # number of repeat purchases after which the customer drops out (>= 1); MBG may drop at 0
    drop_after = rng.geometric(p) - (1 if modified else 0)
    x = np.minimum(potential, drop_after)
    owner, times, rank = _event_times(potential, T, rng)
    keep = rank < x[owner]
    return owner[keep], times[keep], {"lambda": lam, "p": p, "alive": potential < drop_after}


def _summarise(n, owner, times, T, extra) -> pd.DataFrame:
    x = np.bincount(owner, minlength=n).astype(float)
    tx = np.zeros(n)
    np.maximum.at(tx, owner, times)
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    for k, v in extra.items():
        out[k] = v
    return out


def simulate_paretonbd(n: int, r: float, alpha: float, s: float, beta: float, T=52.0,
                       seed: int | np.random.Generator | None = None) -> pd.DataFrame:
    """frequency, recency, T (plus the latent lambda, mu, alive) for ``n`` Pareto/NBD customers."""
    rng = np.random.default_rng(seed)
    T = _ages(n, T, rng)
    owner, times, extra = _paretonbd_events(n, r, alpha, s, beta, T, rng)
    return _summarise(n, owner, times, T, extra)


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T=52.0,
                   seed: int | np.random.Generator | None = None, modified: bool = False) -> pd.DataFrame:
    """frequency, recency, T (plus latent lambda, p, alive) for ``n`` BG/NBD (or MBG/NBD) customers."""
    rng = np.random.default_rng(seed)
    T = _ages(n, T, rng)
    owner, times, extra = _bgnbd_events(n, r, alpha, a, b, T, rng, modified)
    return _summarise(n, owner, times, T, extra)


def simulate_transactions(n_customers: int, n_rows: int | None = None, model: str = "paretonbd",
                          params: dict | None = None, spend: tuple[float, float, float] = (6.0, 4.0, 15.0),
                          start: str = "2022-01-01", acquisition_days: int = 365, end: str = "2023-12-31",
                          time_unit: str = "W", seed: int | None = 0) -> pd.DataFrame:
    """A transaction log (customer_id, date, amount) drawn from a CLV model.

    First purchases are spread uniformly over ``acquisition_days`` from ``start``; repeat
    occasions follow ``model`` ("paretonbd" or "bgnbd") with ``params`` in ``time_unit``
    until ``end``; occasion values follow the Gamma-Gamma ``spend`` = (p, q, gamma). With
    ``n_rows``, occasions are split into order lines (random shares of the amount) so that
    the log has exactly that many rows, in date order. Two occasions of a customer on one day
    merge into one customer-day.
    """
    rng = np.random.default_rng(seed)
    start_d = np.datetime64(pd.Timestamp(start).date(), "D")
    end_d = np.datetime64(pd.Timestamp(end).date(), "D")
    first = start_d + rng.integers(0, acquisition_days, n_customers).astype("timedelta64[D]")
    u = unit_days(time_unit)
    T = (end_d - first).astype(float) / u
    if model == "paretonbd":
        p_ = {"r": 0.6, "alpha": 8.0, "s": 0.6, "beta": 12.0, **(params or {})}
        owner, times, _ = _paretonbd_events(n_customers, p_["r"], p_["alpha"], p_["s"], p_["beta"], T, rng)
    elif model == "bgnbd":
        p_ = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, **(params or {})}
        owner, times, _ = _bgnbd_events(n_customers, p_["r"], p_["alpha"], p_["a"], p_["b"], T, rng)
    else:
        raise ValueError("model must be 'paretonbd' or 'bgnbd'")
    cust = np.concatenate([np.arange(n_customers), owner])
    offset = np.concatenate([np.zeros(n_customers, np.int64), np.floor(times * u).astype(np.int64)])
    dates = first[cust] + offset.astype("timedelta64[D]")
    dates = np.minimum(dates, end_d)
    p, q, g = spend
    nu = rng.gamma(q, 1.0 / g, n_customers)
    amount = rng.gamma(p, 1.0 / nu[cust])
    n_occ = len(cust)
    if n_rows is not None:
        if n_rows < n_occ:
            raise ValueError(f"n_rows={n_rows} is fewer than the {n_occ} simulated occasions")
        lines = 1 + np.bincount(rng.integers(0, n_occ, n_rows - n_occ), minlength=n_occ)
        occ = np.repeat(np.arange(n_occ), lines)
        share = rng.random(len(occ)) + 0.05
        share = share / np.bincount(occ, weights=share, minlength=n_occ)[occ]
        cust, dates, amount = cust[occ], dates[occ], np.round(amount[occ] * share, 2)
    order = np.lexsort((cust, dates))               # a log in time order, like a sales export
    return pd.DataFrame({"customer_id": cust[order].astype(np.int64),
                         "date": dates[order].astype("datetime64[ns]"),
                         "amount": amount[order]})
