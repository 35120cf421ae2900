"""Customers, explicit churn, BG/NBD purchases and order lines of the demo company.

Helpers for :mod:`toolkit.data.demo`. All times are integer day offsets from the start date
(day 0 = ``start``) unless called ``*_cont`` (continuous days). Everything is vectorised over
customers; loops run over segments, regions or customer types only.
"""
from __future__ import annotations

import numpy as np

from . import demo_params as dp

NONE = -1  # "no date" marker in integer day arrays


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n x k, rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] >= cum).sum(axis=1)


def make_customers(rng: np.random.Generator, n: int, P: dp.Params, window_days: int) -> dict:
    """Attributes of every customer (buyers and potential customers)."""
    n_reg = len(dp.REGIONS)
    region = rng.choice(n_reg, size=n, p=np.array(dp.REGION_WEIGHTS))
    n_pot = int(round(dp.POTENTIAL_SHARE * n))
    potential = np.zeros(n, dtype=bool)
    potential[rng.permutation(n)[:n_pot]] = True

    seg = np.full(n, NONE, dtype=np.int64)
    for ri, reg in enumerate(dp.REGIONS):
        m = (region == ri) & ~potential
        seg[m] = rng.choice(len(dp.SEGMENTS), size=int(m.sum()), p=np.array(P.segment_shares[reg]))

    enterprise = np.zeros(n, dtype=bool)
    for si, t in enumerate(dp.SEGMENT_TYPE):
        enterprise[seg == si] = t == "enterprise"
    pot_ent = rng.random(n) < dp.POTENTIAL_ENTERPRISE_P
    enterprise[potential] = pot_ent[potential]

    acq = np.where(potential, NONE, rng.integers(0, window_days, size=n))

    p_ent = np.array(dp.ACQ_CHANNEL_P["enterprise"])
    p_ind = np.array(dp.ACQ_CHANNEL_P["individual"])
    channel = _choice_rows(rng, np.where(enterprise[:, None], p_ent[None, :], p_ind[None, :]))

    # demographics (individuals only; enterprise rows stay empty)
    seg_name = np.array(list(dp.SEGMENTS) + ["potential"])[np.where(seg >= 0, seg, len(dp.SEGMENTS))]
    age_mean = np.full(n, dp.AGE_MEAN["potential"])
    for s in ("individual_regular", "individual_occasional"):
        age_mean[seg_name == s] = dp.AGE_MEAN[s]
    age = np.clip(np.round(age_mean + dp.AGE_SD * rng.standard_normal(n)), 18, 90)
    gender = rng.choice(len(dp.GENDERS), size=n, p=np.array(dp.GENDER_P))
    # occupation: students young, retired old, otherwise a working-age mix
    work_p = np.array([0.50, 0.12, 0.12, 0.10, 0.16, 0.0, 0.0])
    young_p = np.array([0.35, 0.03, 0.0, 0.02, 0.10, 0.50, 0.0])
    old_p = np.array([0.08, 0.07, 0.03, 0.02, 0.0, 0.0, 0.80])
    occ_p = np.where((age < 25)[:, None], young_p, np.where((age >= 66)[:, None], old_p, work_p))
    occupation = _choice_rows(rng, occ_p)
    occ_income = np.array([1.0, 1.1, 1.6, 1.05, 0.8, 0.35, 0.7])
    seg_income = np.where(seg_name == "individual_regular", 1.2, np.where(seg_name == "individual_occasional", 0.9, 1.0))
    age_income = 0.75 + 0.5 * np.clip((age - 18) / 35.0, 0, 1)
    income = 42000.0 * occ_income[occupation] * seg_income * age_income * np.exp(0.35 * rng.standard_normal(n))
    income = np.round(income / 100.0) * 100.0
    age = np.where(enterprise, np.nan, age)
    income = np.where(enterprise, np.nan, income)
    gender = np.where(enterprise, NONE, gender)
    occupation = np.where(enterprise, NONE, occupation)
    return dict(
        n=n, region=region, potential=potential, seg=seg, enterprise=enterprise, acq=acq,
        channel=channel, age=age, gender=gender, occupation=occupation, income=income,
    )


def hazard_lp(c: dict, P: dp.Params) -> np.ndarray:
    """True linear predictor x'beta of the explicit-churn hazard (0 for the reference customer)."""
    reg_lhr = np.array([P.region_log_hr[r] for r in dp.REGIONS])
    ch_lhr = np.log(np.array([dp.HR_CHANNEL[ch] for ch in dp.ACQ_CHANNELS]))
    age_term = np.where(c["enterprise"], 0.0, (np.nan_to_num(c["age"], nan=dp.HAZ_AGE_CENTRE) - dp.HAZ_AGE_CENTRE) / 10.0)
    return (
        reg_lhr[c["region"]]
        + np.where(c["enterprise"], np.log(dp.HR_ENTERPRISE), 0.0)
        + ch_lhr[c["channel"]]
        + np.log(dp.HR_AGE_PER_10Y_INDIVIDUAL) * age_term
    )


def draw_churn(rng: np.random.Generator, c: dict, P: dp.Params, end_day: int) -> dict:
    """Explicit churn from the Weibull PH model; observed only up to the end date."""
    n = c["n"]
    lp = hazard_lp(c, P)
    e = rng.exponential(1.0, size=n)
    t_cont = dp.HAZ_SCALE_DAYS * (e / np.exp(lp)) ** (1.0 / dp.HAZ_SHAPE)
    buyer = ~c["potential"]
    horizon = end_day - c["acq"] + 1  # continuous days available up to the end of the end date
    observed = buyer & (t_cont < horizon)
    churn_day = np.where(observed, c["acq"] + np.floor(t_cont).astype(np.int64), NONE)
    reason = np.full(n, NONE, dtype=np.int64)
    for ri, reg in enumerate(dp.REGIONS):
        m = observed & (c["region"] == ri)
        reason[m] = rng.choice(len(dp.CHURN_CODES), size=int(m.sum()), p=np.array(P.reason_p[reg]))
    # time the account is open for purchases (continuous days since acquisition)
    open_cont = np.where(observed, t_cont, horizon.astype(float))
    return dict(lp=lp, t_cont=t_cont, churn_day=churn_day, reason=reason, open_cont=open_cont)


def _one_occasion_per_day(cust: np.ndarray, t: np.ndarray, day: np.ndarray, churn_day: np.ndarray,
                          end_day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move a purchase that falls on a day its customer already bought to the next free day.

    The models count purchase days (same-day purchases form one occasion), so continuous-time
    purchases merging on one day would bias the recovered rates (about +8% on alpha for the most
    frequent segment). Moving keeps every purchase; one pushed past the end date or the customer's
    churn day is dropped (rare). No random numbers are drawn, so the other draws are unchanged.
    """
    o = np.lexsort((t, cust))
    cs, ds = cust[o], day[o]
    start = np.r_[True, cs[1:] != cs[:-1]]
    grp = np.cumsum(start) - 1
    rank = np.arange(len(cs)) - np.flatnonzero(start)[grp]
    key = ds - rank
    # running maximum of (day - rank) within each customer, then add the rank back: strictly increasing days
    # (an offset per customer larger than any day span keeps the running maximum inside each customer)
    big = int(key.max() - key.min()) + 1 if len(key) else 1
    offset = grp.astype(np.int64) * big
    adj = np.maximum.accumulate(key - key.min() + offset) - offset + key.min() + rank
    limit = np.where(churn_day[cs] != NONE, churn_day[cs], end_day)
    ok = adj <= np.minimum(limit, end_day)
    return cs[ok], t[o][ok], adj[ok]


def simulate_orders(rng: np.random.Generator, c: dict, ch: dict, end_day: int) -> tuple[dict, dict]:
    """BG/NBD purchase occasions with Gamma-Gamma values.

    Returns (per-customer truth, per-order arrays). Orders: customer index, day, value, and
    continuous time since acquisition (days)."""
    n = c["n"]
    buyer = ~c["potential"]
    seg = c["seg"]
    lam = np.full(n, np.nan)
    pdrop = np.full(n, np.nan)
    nu = np.full(n, np.nan)
    for si, s in enumerate(dp.SEGMENTS):
        m = seg == si
        k = int(m.sum())
        bg, gg = dp.BGNBD[s], dp.GAMMA_GAMMA[s]
        lam[m] = rng.gamma(bg["r"], 1.0 / bg["alpha"], size=k)
        pdrop[m] = rng.beta(bg["a"], bg["b"], size=k)
        nu[m] = rng.gamma(gg["q"], 1.0 / gg["gamma"], size=k)

    idx = np.flatnonzero(buyer)
    horizon = (end_day - c["acq"][idx] + 1).astype(float)  # continuous days to end of end date
    # number of repeat purchases after which the customer drops out (>= 1)
    d_rep = rng.geometric(pdrop[idx])
    n_pois = rng.poisson(lam[idx] * horizon / 7.0)
    owner = np.repeat(np.arange(len(idx)), n_pois)
    t = rng.random(len(owner)) * horizon[owner]
    order = np.lexsort((t, owner))
    owner, t = owner[order], t[order]
    first = np.concatenate([[0], np.cumsum(n_pois)[:-1]])
    rank = np.arange(len(owner)) - first[owner]
    # BG/NBD dropout time: the d-th repeat purchase, if it happens before the end
    dropped = d_rep <= n_pois
    drop_pos = first + d_rep - 1
    drop_cont = np.full(len(idx), np.nan)
    drop_cont[dropped] = t[drop_pos[dropped]]
    alive_bg = rank < d_rep[owner]
    # explicit churn closes the account: purchases stop at the churn time
    open_ok = t < ch["open_cont"][idx][owner]
    keep = alive_bg & open_ok
    rep_owner, rep_t = owner[keep], t[keep]

    cust = np.concatenate([idx, idx[rep_owner]])
    t_all = np.concatenate([np.zeros(len(idx)), rep_t])
    day = c["acq"][cust] + np.floor(t_all).astype(np.int64)
    cust, t_all, day = _one_occasion_per_day(cust, t_all, day, ch["churn_day"], end_day)
    value = rng.gamma(dp.GG_P, 1.0 / nu[cust])
    value = np.maximum(value, 1.0)
    o = np.lexsort((t_all, cust, day))
    orders = dict(cust=cust[o], day=day[o], value=value[o], t=t_all[o])

    drop_day = np.full(n, NONE, dtype=np.int64)
    dd = np.full(len(idx), NONE, dtype=np.int64)
    dd[dropped] = c["acq"][idx][dropped] + np.floor(drop_cont[dropped]).astype(np.int64)
    drop_day[idx] = dd
    n_orders = np.bincount(orders["cust"], minlength=n)
    truth = dict(lam=lam, pdrop=pdrop, nu=nu, drop_day=drop_day, n_orders=n_orders)
    return truth, orders


def order_lines(rng: np.random.Generator, c: dict, orders: dict) -> dict:
    """Split every order into 1-4 lines (Dirichlet split, segment category preferences)."""
    n_ord = len(orders["cust"])
    seg = c["seg"][orders["cust"]]
    line_p = np.array([dp.LINE_P[s] for s in dp.SEGMENTS])[seg]
    n_lines = 1 + rng.binomial(3, line_p)
    oid = np.repeat(np.arange(n_ord), n_lines)
    first = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    line_no = np.arange(len(oid)) - first[oid]
    # Dirichlet(2,...,2) weights via normalised gammas; integer cents so lines add up exactly
    g = rng.gamma(2.0, 1.0, size=len(oid))
    w = g / np.bincount(oid, weights=g)[oid]
    cents = np.round(orders["value"] * 100.0).astype(np.int64)
    spare = cents - n_lines  # every line gets at least one cent
    line_c = 1 + np.floor(w * spare[oid]).astype(np.int64)
    rem = cents - np.bincount(oid, weights=line_c, minlength=n_ord).astype(np.int64)
    line_c[first] += rem
    prefs = np.array([dp.CATEGORY_PREFS[s] for s in dp.SEGMENTS])
    cat = _choice_rows(rng, prefs[seg[oid]])
    base = rng.integers(0, dp.SKUS_PER_CATEGORY, size=n_ord)
    sku_in_cat = (base[oid] + 5 * line_no) % dp.SKUS_PER_CATEGORY  # distinct within an order
    sku_id = cat * dp.SKUS_PER_CATEGORY + sku_in_cat
    ent = c["enterprise"][orders["cust"]]
    p_sc = np.where(ent[:, None], np.array(dp.SALES_CHANNEL_P["enterprise"]), np.array(dp.SALES_CHANNEL_P["individual"]))
    sales_channel = _choice_rows(rng, p_sc)
    return dict(
        oid=oid, line_no=line_no, cents=line_c, cat=cat, sku_id=sku_id,
        sales_channel=sales_channel[oid],
    )


def sku_catalogue(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """SKU codes and unit list prices (category base price x lognormal)."""
    codes, prices = [], []
    for ci, code in enumerate(dp.CATEGORY_CODE):
        for k in range(dp.SKUS_PER_CATEGORY):
            codes.append(f"{code}-{101 + k:03d}")
        prices.append(dp.CATEGORY_BASE_PRICE[ci] * np.exp(0.5 * rng.standard_normal(dp.SKUS_PER_CATEGORY)))
    return np.array(codes), np.round(np.concatenate(prices), 2)
