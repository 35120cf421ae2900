"""Intervals for each customer's predictions from parameter uncertainty, in bounded memory.

The fitted parameters are uncertain; their estimator is approximately multivariate normal on the
log scale with covariance ``covariance_log_`` (the inverse observed information of the fit). Each
draw of parameters gives every customer an expected number of purchases in the next ``t`` time
units, a P(alive) and (with a spend model) a discounted CLV; the ``level`` interval is the pair of
quantiles of a customer's values over the draws. Alternatively the draws come from a parametric
bootstrap (simulate data like the customers' from the fitted model, refit, repeat).

The point estimate is the prediction at the fitted parameters. The intervals reflect parameter
uncertainty only: they say how well the model's expectation is known, not how many purchases a
customer will make (that adds Poisson and dropout noise).

Scale: predictions are computed once per distinct (frequency, recency, T, monetary value) row,
ordered by (frequency, T) so that each chunk of rows shares few (x, T) pairs. The draws x rows
matrix is never built: rows are processed in chunks of ``chunk_size`` (chosen from
``memory_limit``), each chunk holds its draws x chunk values, and only the two quantiles per row
are kept, plus one running total per draw for the population figures. Quantiles are exact (over
all draws for each row), so chunking changes nothing in the per-customer results.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.clv.models.base import BaseModel, ConvergenceError, customer_arrays, unique_rows
from toolkit.clv.summary import unit_days
from toolkit.clv.valuation.value import discount_factors

__all__ = ["IntervalResult", "customer_intervals", "draw_parameters"]

_QUANTITIES = ("expected_purchases", "prob_alive", "clv")


def _col(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The first of ``names`` present in ``frame`` as a float array."""
    for n in names:
        if n in frame.columns:
            return frame[n].to_numpy(dtype=float)
    raise KeyError(f"none of the columns {names} found in the data")


@dataclass
class IntervalResult:
    """Per-customer and population intervals.

    ``customers``: one row per input customer (same index) with ``<quantity>``, ``<quantity>_lower``,
    ``<quantity>_upper`` for expected_purchases, prob_alive and (with a spend model) clv.
    ``population``: totals over all customers (expected purchases, expected number alive, CLV) with
    estimate, lower, upper. ``draws``: the parameter draws used.
    """

    customers: pd.DataFrame
    population: pd.DataFrame
    draws: pd.DataFrame
    level: float
    t: float
    method: str
    n_distinct: int
    chunk_size: int
    n_chunks: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return len(self.draws)


# ----------------------------------------------------------------------------------- draws
def _simulate_like(model: BaseModel, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Data of the same shape as ``frame`` (same T; for spend the same frequencies) from ``model``."""
    from toolkit.clv.models.bgnbd import BetaGeo, ModifiedBetaGeo
    from toolkit.clv.models.gammagamma import GammaGamma
    from toolkit.clv.models.paretonbd import ParetoNBD
    from toolkit.clv.models.simulate import simulate_bgnbd, simulate_paretonbd

    p = model.params_
    if isinstance(model, GammaGamma):
        x = _col(frame, ["frequency", "frequency_cal"])
        x = x[x > 0]
        nu = rng.gamma(p["q"], 1.0 / p["gamma"], len(x))
        m = rng.gamma(p["p"] * x, 1.0 / nu) / x
        return pd.DataFrame({"frequency": x, "monetary_value": m})
    _, _, T = customer_arrays(frame)
    if isinstance(model, BetaGeo):
        return simulate_bgnbd(len(T), p["r"], p["alpha"], p["a"], p["b"], T=T, seed=rng,
                              modified=isinstance(model, ModifiedBetaGeo))
    if isinstance(model, ParetoNBD):
        return simulate_paretonbd(len(T), p["r"], p["alpha"], p["s"], p["beta"], T=T, seed=rng)
    raise NotImplementedError(f"no simulator for {type(model).__name__}: use method='normal'")


def draw_parameters(model: BaseModel, n_draws: int, method: str = "normal",
                    seed: int | np.random.Generator | None = None, data: pd.DataFrame | None = None,
                    max_failures: int | None = None) -> pd.DataFrame:
    """Parameter draws (rows) for a fitted model.

    ``method="normal"``: ``exp(N(log params_, covariance_log_))``, the estimator's asymptotic
    distribution. ``method="bootstrap"``: parametric bootstrap; each draw refits the model to data
    simulated from the fitted parameters with the customers of ``data`` (their ages T, or for a
    spend model their frequencies). Refits that fail are redrawn (at most ``max_failures``).
    """
    rng = np.random.default_rng(seed)
    names = list(model.param_names)
    if method == "normal":
        if not hasattr(model, "covariance_log_"):
            raise ValueError(f"{type(model).__name__} has no covariance_log_: fit it (from_params models "
                             "carry no uncertainty)")
        mu = np.log(model.params_[names].to_numpy(float))
        cov = model.covariance_log_.loc[names, names].to_numpy(float)
        phi = rng.multivariate_normal(mu, cov, size=n_draws, method="cholesky")
        return pd.DataFrame(np.exp(phi), columns=names)
    if method != "bootstrap":
        raise ValueError("method must be 'normal' or 'bootstrap'")
    if data is None:
        raise ValueError("the parametric bootstrap needs the customers' data (data=rfm frame)")
    settings = {k: v for k, v in model.get_params().items()}
    settings["n_starts"] = 1
    rows, failures = [], 0
    limit = max_failures if max_failures is not None else max(10, n_draws // 2)
    while len(rows) < n_draws:
        sim = _simulate_like(model, data, rng)
        try:
            refit = type(model)(**settings).fit(sim)
        except (ConvergenceError, ValueError):
            failures += 1
            if failures > limit:
                raise ConvergenceError(f"{failures} bootstrap refits failed") from None
            continue
        rows.append(refit.params_[names].to_numpy(float))
    out = pd.DataFrame(np.array(rows), columns=names)
    out.attrs["failures"] = failures
    return out


# ----------------------------------------------------------------------------------- intervals
def _lerp(a: np.ndarray, b: np.ndarray, t: np.float64) -> np.ndarray:
    """numpy's linear interpolation of :func:`numpy.quantile` (same operations, same bits)."""
    diff = np.subtract(b, a)
    out = np.asanyarray(np.add(a, diff * t))
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5, casting="unsafe", dtype=type(out.dtype))
    return out


def _row_quantiles(work: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """``np.quantile(work, probs, axis=0)`` (linear method), bit for bit, about 3.5x faster: the
    draws x rows array is transposed once so that each row's draws are contiguous, and one
    partition finds just the order statistics the interpolation needs (np.quantile partitions
    along a strided axis). Arrays holding NaN go to np.quantile itself."""
    n = work.shape[0]
    if n < 2 or np.isnan(work).any():
        return np.quantile(work, list(probs), axis=0)
    virtual = (n - 1) * np.asarray(probs, dtype=np.float64)
    prev = np.floor(virtual).astype(np.intp)
    nxt = np.minimum(prev + 1, n - 1)
    gamma = virtual - prev
    rows = np.ascontiguousarray(work.T)
    rows.partition(sorted(set(prev.tolist() + nxt.tolist())), axis=1)
    return np.stack([_lerp(rows[:, p], rows[:, q], g) for p, q, g in zip(prev, nxt, gamma)])


def _models(model: BaseModel, draws: pd.DataFrame, unit: str | None) -> list[BaseModel]:
    cls = type(model)
    return [cls.from_params(time_unit=unit, **row) for row in draws.to_dict("records")]


def customer_intervals(transaction_model: BaseModel, rfm: pd.DataFrame, spend_model: BaseModel | None = None, *,
                       t: float | None = None, horizon: int = 12, discount_rate: float = 0.01, margin: float = 1.0,
                       time_unit: str = "M", level: float = 0.9, n_draws: int = 1000, method: str = "normal",
                       seed: int | None = 0, chunk_size: int | None = None, memory_limit: int = 512 * 2**20,
                       model_time_unit: str | None = None, n_jobs: int | None = None) -> IntervalResult:
    """``level`` intervals for each customer's expected purchases, P(alive) and CLV.

    ``rfm``: an rfm_summary frame (frequency, recency, T and, for CLV, monetary_value) in the
    transaction model's time unit. ``t``: purchase horizon in that unit (default: the CLV horizon,
    ``horizon`` periods of ``time_unit``). CLV settings as in
    :func:`toolkit.clv.valuation.value.customer_lifetime_value`. ``chunk_size``: distinct rows per chunk
    (default: as many as fit ``memory_limit`` bytes of draws x rows work arrays). The same ``seed``
    gives the same draws, hence identical results for any chunk size and any ``n_jobs`` (threads
    sharing the draws of a chunk; default 1: on a busy 2-core machine two threads were no faster
    and each adds its work arrays to the peak memory).
    """
    if not 0 < level < 1:
        raise ValueError("level must lie between 0 and 1")
    if n_draws < 2:
        raise ValueError("need at least two draws")
    unit = model_time_unit or getattr(transaction_model, "time_unit_", None) or rfm.attrs.get("time_unit")
    if unit is None:
        raise ValueError("the transaction model's time unit is unknown: pass model_time_unit")
    if t is None:
        t = horizon * (unit_days(time_unit) / unit_days(unit))
    x, tx, T = customer_arrays(rfm)
    with_clv = spend_model is not None
    m = np.where(x > 0, _col(rfm, ["monetary_value", "monetary_value_cal"]), 0.0) if with_clv else np.zeros_like(x)
    (xu, tu, Tu, mu), inv = unique_rows(x, tx, T, m)
    order = np.lexsort((mu, tu, Tu, xu))          # group rows sharing (x, T): the 2F1 work is per (x, T)
    xu, tu, Tu, mu = xu[order], tu[order], Tu[order], mu[order]
    pos = np.empty_like(order)
    pos[order] = np.arange(len(order))
    inv = pos[inv]
    w = np.bincount(inv, minlength=len(xu)).astype(float)
    n_rows = len(xu)

    rng = np.random.default_rng(seed)
    d_tx = draw_parameters(transaction_model, n_draws, method, rng, data=rfm)
    d_sp = draw_parameters(spend_model, n_draws, method, rng, data=rfm) if with_clv else None
    tms = _models(transaction_model, d_tx, unit)
    sms = _models(spend_model, d_sp, unit) if with_clv else [None] * n_draws
    draws = d_tx if d_sp is None else pd.concat([d_tx, d_sp.add_prefix("spend_")], axis=1)

    quantities = [q for q in _QUANTITIES if with_clv or q != "clv"]
    n_q = len(quantities)
    if chunk_size is None:
        chunk_size = int(max(1, memory_limit // (8 * n_draws * (n_q + 2))))
    chunk_size = int(min(max(chunk_size, 1), n_rows))
    lo_p, hi_p = (1 - level) / 2, 1 - (1 - level) / 2
    est = {q: np.empty(n_rows) for q in quantities}
    low = {q: np.empty(n_rows) for q in quantities}
    upp = {q: np.empty(n_rows) for q in quantities}
    totals = {q: np.zeros(n_draws) for q in quantities}
    # CLV as in toolkit.clv.valuation.value: sum_i disc_i (E[Y(t_i)] - E[Y(t_(i-1))]) = sum_i (disc_i - disc_(i+1)) E[Y(t_i)],
    # so one set of conditional expectations on the horizon grid gives the CLV and (at its end) E[Y(t)].
    grid = np.arange(1, horizon + 1, dtype=float) * (unit_days(time_unit) / unit_days(unit))
    disc = discount_factors(horizon, discount_rate)
    wts = disc - np.r_[disc[1:], 0.0]
    t_on_grid = bool(np.isclose(t, grid[-1], rtol=1e-12, atol=0))

    def predict(tm, sm, sl):
        a = (xu[sl], tu[sl], Tu[sl])
        out = {"prob_alive": tm.prob_alive(*a)}
        if with_clv:
            cum = tm.conditional_expected_purchases(grid[:, None], *a)
            out["expected_purchases"] = cum[-1] if t_on_grid else tm.conditional_expected_purchases(t, *a)
            out["clv"] = margin * sm.expected_average_value(xu[sl], mu[sl]) * (wts[:, None] * cum).sum(axis=0)
        else:
            out["expected_purchases"] = tm.conditional_expected_purchases(t, *a)
        return out

    from toolkit.clv.models.bgnbd import BetaGeo, inv1p_exp
    bg_family = isinstance(transaction_model, BetaGeo)

    def predict_bg(tm, sm, sl, pairs):
        """:func:`predict` for BG/NBD and MBG/NBD with the same arithmetic as their
        ``conditional_expected_purchases`` (so identical values), but P(alive) computed once and
        the 2F1 bracket once per distinct (x, T) of the chunk (``pairs``: their x, T and each
        row's pair), found once per chunk instead of once per call."""
        x, tx, T_ = xu[sl], tu[sl], Tu[sl]
        px, pT, pinv = pairs
        r_, alpha_, a_, b_ = tm._theta()
        pa = inv1p_exp(tm._dropout_odds_log(x, tx, T_))
        pref = (a_ + b_ + x - (0 if tm._modified else 1)) / (a_ - 1)
        lead = pa * pref
        out = {"prob_alive": pa}
        if with_clv:
            cum = lead * tm._bracket(grid[:, None], px, pT)[..., pinv]
            out["expected_purchases"] = cum[-1] if t_on_grid else lead * tm._bracket(np.asarray(t, float), px, pT)[pinv]
            out["clv"] = margin * sm.expected_average_value(x, mu[sl]) * (wts[:, None] * cum).sum(axis=0)
        else:
            out["expected_purchases"] = lead * tm._bracket(np.asarray(t, float), px, pT)[pinv]
        return out

    def chunk_pairs(sl):
        """Distinct (x, T) of a chunk: rows are sorted by x then T, so each pair is one run."""
        x, T_ = xu[sl], Tu[sl]
        new = np.empty(len(x), dtype=bool)
        new[:1] = True
        new[1:] = (x[1:] != x[:-1]) | (T_[1:] != T_[:-1])
        return x[new], T_[new], np.cumsum(new) - 1

    workers = max(1, min(n_jobs or 1, n_draws))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    buffers = {q: np.empty(n_draws * chunk_size) for q in quantities}
    n_chunks = 0
    try:
        for start in range(0, n_rows, chunk_size):
            sl = slice(start, min(start + chunk_size, n_rows))
            c = sl.stop - sl.start
            point = predict(transaction_model, spend_model, sl)
            # one set of work arrays for every chunk (fresh ones per chunk cost page faults)
            work = {q: buffers[q][:n_draws * c].reshape(n_draws, c) for q in quantities}
            pairs = chunk_pairs(sl) if bg_family else None

            def run(d, sl=sl, pairs=pairs, work=work):
                vals = predict_bg(tms[d], sms[d], sl, pairs) if bg_family else predict(tms[d], sms[d], sl)
                for q in quantities:
                    work[q][d] = vals[q]

            if pool is None:
                for d in range(n_draws):
                    run(d)
            else:   # the draws are independent; numpy and scipy release the GIL in their loops
                list(pool.map(run, range(n_draws)))
            def bounds(q, work=work):
                return _row_quantiles(work[q], (lo_p, hi_p))

            for q, qs in zip(quantities, map(bounds, quantities) if pool is None else pool.map(bounds, quantities)):
                est[q][sl] = point[q]
                totals[q] += work[q] @ w[sl]
                low[q][sl], upp[q][sl] = qs[0], qs[1]
            n_chunks += 1
    finally:
        if pool is not None:
            pool.shutdown()

    cols: dict[str, np.ndarray] = {}
    for q in quantities:
        cols[q] = est[q][inv]
        cols[f"{q}_lower"] = low[q][inv]
        cols[f"{q}_upper"] = upp[q][inv]
    customers = pd.DataFrame(cols, index=rfm.index)
    names = {"expected_purchases": "expected purchases (total)", "prob_alive": "expected customers alive",
             "clv": "CLV (total)"}
    pop = pd.DataFrame({
        "estimate": [float(est[q] @ w) for q in quantities],
        "lower": [float(np.quantile(totals[q], lo_p)) for q in quantities],
        "upper": [float(np.quantile(totals[q], hi_p)) for q in quantities],
    }, index=pd.Index([names[q] for q in quantities], name="quantity"))
    pop.attrs["n_customers"] = int(w.sum())
    return IntervalResult(customers, pop, draws, level, float(t), method, n_rows, chunk_size, n_chunks,
                          {"time_unit": unit, "horizon": horizon, "discount_rate": discount_rate,
                           "totals_by_draw": pd.DataFrame(totals)})
