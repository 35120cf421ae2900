"""Deterministic demo data with documented ground truth.

:func:`write_demo` simulates a company with six regions (North, South, East, West, Central,
Coastal) and ``n_customers`` enterprise and individual customers between ``start`` and ``end``,
writes the raw files below to ``out_dir`` and returns the ground truth (also written as
``ground_truth.json``; read it back with :func:`read_ground_truth`). The same seed gives
byte-identical files. All randomness comes from ``numpy.random.Generator(PCG64(...))`` streams
spawned from ``SeedSequence(seed)``, one stream per part (customers, churn, purchases, lines,
messiness, surveys, contacts, marketing), so changing one part leaves the others unchanged.

Files (CSV, UTF-8, ``\\n`` line ends, ISO dates ``YYYY-MM-DD``, empty field = missing). The raw
column names deliberately differ from the data model (:mod:`toolkit.data.schema`); the mapping a
dataset spec needs is given in brackets.

``transactions.csv`` — one row per order line, sorted by date (rows within a day shuffled):
    cust_id [customer_id], invoice [order_id; numeric text, returns ``R<invoice>``],
    invoice_date [date], sku [product; e.g. ``EQ-103``], category [category; Equipment,
    Consumables, Software, Services, Accessories], qty [quantity; integer, negative on returns],
    net_amount [amount; 2 decimals, negative on returns], sales_channel [channel; online, store,
    field_sales, phone].
    Injected messiness (counts in ground truth ``injected.transactions``): exact duplicate rows,
    return rows (negative qty and amount, same customer and sku, a later date up to 30 days,
    invoice ``R`` + original invoice), rows with an empty cust_id, rows with an unparsable
    invoice_date (``2025-02-30``, ``n/a`` ...), rows dated after the end date, and amounts
    multiplied by 100 (outliers; the affected invoice/sku pairs are listed). The empty-id,
    bad-date and future rows are extra copies of real lines, so dropping them restores the clean
    data; duplicates are exact copies.

``customers.csv`` — one row per customer (plus 10 exact duplicate rows), sorted by id:
    customer_id [customer_id], region [region], customer_type [customer_type; raw labels
    ``Enterprise`` / ``Individual``], acquisition_date [acquisition_date; date of the first
    purchase, empty for potential customers], acquisition_channel [acquisition_channel;
    online_ads, sales_team, referral, partner, events], age [age; integer, individuals only],
    gender [gender; female, male, diverse; individuals only], income [income; yearly, individuals
    only], occupation [occupation; employee, self-employed, manager, civil servant, worker,
    student, retired; individuals only — empty for enterprise customers], churn_date
    [churn_date; explicit account closure, empty if none by the end date], churn_reason
    [churn_reason; raw labels mapped as "Price too high"->price, "Switched to
    competitor"->competitor, "Poor service"->service_quality, "Product quality
    issues"->product_quality, "Other"->other].

``marketing_spend.csv`` — month x region x acquisition channel over the acquisition window:
    month [period; ``YYYY-MM-01``], region [region], channel [channel], spend [spend; 2 decimals].

``surveys.csv`` — quarterly waves, one row per response, sorted by date:
    customer_id [customer_id], response_date [response_date], wave (e.g. ``2024Q3``),
    q_product_1..3, q_service_1..3, q_price_1..2, q_support_1..2 [items; Likert 1-5 with ~2%
    missing and a few out-of-range codes 0 and 9], overall_satisfaction [overall_satisfaction;
    1-5], nps [nps; 0-10], comment [comment; short text, often empty].

``interactions.csv`` — contact log, sorted by date (then customer, kind, channel):
    customer_id [customer_id], date [date], channel [channel; visit, phone, e-mail, messaging,
    social], kind [kind; sales, service, complaint, feedback], outcome [outcome; empty for sales;
    resolved, unresolved for service and complaints; info for feedback].
    Simulated by :func:`toolkit.data.demo_touchpoints.simulate_interactions` around the buyers and
    the transactions as the loader keeps them (parameters ``demo_params.TOUCHPOINTS``, seeded by one
    draw of the interactions stream): it only places contacts and decides how complaints end, so the
    purchases and churn dates are exactly those of the other files. Planted, and recorded in ground
    truth ``touchpoints`` (params and realised counts): sales-contact cadence per value tier, the
    conversion odds ratio per channel, complaint rate / resolution / time to resolve, the churn hazard
    ratio after an unresolved first complaint, the sequences before a first purchase and before churn,
    and in the 120 days before an explicit churn five times the complaint and 2.5 times the service
    rate (the early-warning signal of the churn model and action plan that the old log planted with
    more complaints and service contacts before churn; the hazard ratio holds with it, see that
    module). The old log's fewer sales contacts before churn are not kept: sales contacts carry the
    cadence and conversion truth. Potential customers get no contacts.

``market.csv`` — competitors per region:
    region [region], competitor [competitor], market_share [market_share; 0-1], price_index
    [price_index; competitor price / ours], growth [growth; yearly].

``partners.csv`` and ``suppliers.csv`` — the wider network, one row per partner or supplier and
quarter, from their own random stream (:mod:`toolkit.data.demo_network`, where the columns are
listed); their truth is ground truth ``network``.

``ground_truth.json`` — every true parameter (see :func:`write_demo`); ``truth_customers.csv`` —
per-customer latent truth: customer_id, segment (``potential`` for never-buyers), lam (BG/NBD
purchase rate per week), p_dropout, mean_spend (Gamma-Gamma p/nu, expected value per order),
bgnbd_dropout_date (date of the BG/NBD dropout, empty if still alive in the BG/NBD sense at the
end), churn_date_explicit, alive_at_end (1 = neither BG/NBD dropout nor explicit churn by the end;
0 otherwise and for potential customers), hazard_lp (true linear predictor of the churn hazard;
empty for potential customers), n_orders (clean purchase occasions).

Time units: BG/NBD rates are per week (week = days / 7, time since the acquisition date); the
churn hazard is in days since acquisition.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import demo_activity as da
from . import demo_network as dn
from . import demo_params as dp
from . import demo_purchases as dpu
from .demo_purchases import NONE
from .demo_touchpoints import sequence_label

__all__ = ["write_demo", "read_ground_truth", "FILES"]

FILES = (
    "transactions.csv",
    "customers.csv",
    "marketing_spend.csv",
    "surveys.csv",
    "interactions.csv",
    "market.csv",
    "partners.csv",
    "suppliers.csv",
    "truth_customers.csv",
    "ground_truth.json",
)
STREAMS = ("customers", "churn", "purchases", "lines", "skus", "mess", "surveys", "interactions", "marketing")
MIN_OBSERVED_DAYS = 183  # every buyer is observed at least ~6 months
MAX_WINDOW_DAYS = 730  # acquisitions spread over (at most) the first two years

N_RETURN_SHARE = 0.02
N_DUP_SHARE = 0.005
N_EMPTY_ID = 25
N_BAD_DATE = 15
N_FUTURE = 5
N_OUTLIER = 10
OUTLIER_FACTOR = 100
N_CUSTOMER_DUPS = 10
BAD_DATES = ("2025-02-30", "n/a", "2024-13-05", "2025-04-31", "unknown", "2024-00-12", "31.31.2025", "2025-06-xx")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children)}


def _dates(start: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Day offsets -> 'YYYY-MM-DD' strings; NONE -> ''."""
    days = np.asarray(days)
    out = (start + np.where(days == NONE, 0, days).astype("timedelta64[D]")).astype(str).astype(object)
    out[days == NONE] = ""
    return out


def _fmt(x: np.ndarray, digits: int) -> np.ndarray:
    """Fixed-decimal strings, '' for NaN (byte-stable formatting)."""
    x = np.asarray(x, dtype=float)
    out = np.array([f"{v:.{digits}f}" for v in np.nan_to_num(x).tolist()], dtype=object)
    out[np.isnan(x)] = ""
    return out


def _fmt_int(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.nan_to_num(x).astype(np.int64).astype(str).astype(object)
    out[np.isnan(x)] = ""
    return out


def _write(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _cust_ids(n: int) -> np.ndarray:
    width = max(6, len(str(n)))
    return np.array([f"C{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


# ---------------------------------------------------------------------------------------------
# transactions
# ---------------------------------------------------------------------------------------------
def _transactions(rng_mess, c, ch, orders, lines, sku_codes, sku_price, ids, start, end_day):
    oid = lines["oid"]
    cust = orders["cust"][oid]
    day = orders["day"][oid]
    cents = lines["cents"].copy()
    inv_num = 1000001 + oid
    unit = sku_price[lines["sku_id"]]
    qty = np.maximum(1, np.round(cents / 100.0 / unit)).astype(np.int64)
    n_lines = len(oid)
    n_orders = len(orders["cust"])

    # outliers: amount x100 on a few purchase lines (qty unchanged)
    outl = np.sort(rng_mess.choice(n_lines, size=min(N_OUTLIER, n_lines), replace=False))
    cents[outl] *= OUTLIER_FACTOR
    is_outl = np.zeros(n_lines, dtype=bool)
    is_outl[outl] = True

    # returns: a later date (1-30 days, one offset per invoice), before the end / churn date
    limit = np.where(ch["churn_day"][cust] != NONE, ch["churn_day"][cust], end_day)
    cand = np.flatnonzero((day < limit) & ~is_outl)
    n_ret = int(round(N_RETURN_SHARE * n_lines))
    ret_src = np.sort(rng_mess.choice(cand, size=min(n_ret, len(cand)), replace=False))
    inv_offset = rng_mess.integers(1, 31, size=n_orders)
    ret_day = np.minimum(day[ret_src] + inv_offset[oid[ret_src]], limit[ret_src])

    # exact duplicates of purchase lines
    n_dup = int(round(N_DUP_SHARE * n_lines))
    dup_src = np.sort(rng_mess.choice(n_lines, size=min(n_dup, n_lines), replace=False))

    # junk copies: future-dated (customers without explicit churn), empty id, bad date
    no_churn = np.flatnonzero(ch["churn_day"][cust] == NONE)
    fut_src = np.sort(rng_mess.choice(no_churn, size=min(N_FUTURE, len(no_churn)), replace=False))
    fut_day = end_day + rng_mess.integers(1, 91, size=len(fut_src))
    rest = np.setdiff1d(np.arange(n_lines), fut_src)
    n_empty = min(N_EMPTY_ID, len(rest) // 2)
    n_bad = min(N_BAD_DATE, len(rest) - n_empty)
    junk = rng_mess.choice(rest, size=n_empty + n_bad, replace=False)
    empty_src, bad_src = np.sort(junk[:n_empty]), np.sort(junk[n_empty:])
    bad_str = np.array([BAD_DATES[i % len(BAD_DATES)] for i in range(len(bad_src))], dtype=object)

    base_inv = inv_num.astype(str).astype(object)
    date_str = _dates(start, day)
    cust_str = ids[cust]
    cat_str = np.array(dp.CATEGORIES, dtype=object)[lines["cat"]]
    sku_str = sku_codes.astype(object)[lines["sku_id"]]
    chan_str = np.array(dp.SALES_CHANNELS, dtype=object)[lines["sales_channel"]]

    def block(src, *, cust_s=None, inv=None, date_s=None, sign=1, sort_day=None):
        return dict(
            cust_id=cust_str[src] if cust_s is None else cust_s,
            invoice=base_inv[src] if inv is None else inv,
            invoice_date=date_str[src] if date_s is None else date_s,
            sku=sku_str[src], category=cat_str[src], qty=sign * qty[src],
            cents=sign * cents[src], sales_channel=chan_str[src],
            sort_day=day[src] if sort_day is None else sort_day,
        )

    all_idx = np.arange(n_lines)
    blocks = [
        block(all_idx),
        block(ret_src, inv=np.array(["R" + s for s in base_inv[ret_src]], dtype=object),
              date_s=_dates(start, ret_day), sign=-1, sort_day=ret_day),
        block(dup_src),
        block(fut_src, date_s=_dates(start, fut_day), sort_day=fut_day),
        block(empty_src, cust_s=np.full(len(empty_src), "", dtype=object)),
        block(bad_src, date_s=bad_str),
    ]
    cols = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    shuffle = rng_mess.permutation(len(cols["cust_id"]))
    order = np.lexsort((shuffle, cols["sort_day"]))
    df = pd.DataFrame({
        "cust_id": cols["cust_id"][order],
        "invoice": cols["invoice"][order],
        "invoice_date": cols["invoice_date"][order],
        "sku": cols["sku"][order],
        "category": cols["category"][order],
        "qty": cols["qty"][order],
        "net_amount": _cents_str(cols["cents"][order]),
        "sales_channel": cols["sales_channel"][order],
    })
    injected = dict(
        clean_lines=int(n_lines),
        clean_orders=int(n_orders),
        duplicate_rows=int(len(dup_src)),
        return_rows=int(len(ret_src)),
        empty_customer_id=int(len(empty_src)),
        bad_dates=int(len(bad_src)),
        bad_date_values=sorted(set(bad_str.tolist())),
        future_dates=int(len(fut_src)),
        outlier_amounts=int(len(outl)),
        outlier_factor=OUTLIER_FACTOR,
        outlier_rows=[{"invoice": str(base_inv[i]), "sku": str(sku_str[i])} for i in outl],
        total_rows=int(len(df)),
    )
    return df, injected


def _cents_str(cents: np.ndarray) -> np.ndarray:
    cents = np.asarray(cents, dtype=np.int64)
    a = np.abs(cents)
    sign = np.where(cents < 0, "-", "")
    whole = (a // 100).astype(str)
    frac = np.char.zfill((a % 100).astype(str), 2)
    return np.char.add(np.char.add(np.char.add(sign, whole), "."), frac).astype(object)


# ---------------------------------------------------------------------------------------------
# customers and truth
# ---------------------------------------------------------------------------------------------
def _customers_df(rng_mess, c, ch, ids, start):
    n = c["n"]
    gender = np.array(list(dp.GENDERS) + [""], dtype=object)[np.where(c["gender"] == NONE, len(dp.GENDERS), c["gender"])]
    occ = np.array(list(dp.OCCUPATIONS) + [""], dtype=object)[np.where(c["occupation"] == NONE, len(dp.OCCUPATIONS), c["occupation"])]
    reason = np.array(list(dp.CHURN_RAW_LABELS) + [""], dtype=object)[np.where(ch["reason"] == NONE, len(dp.CHURN_RAW_LABELS), ch["reason"])]
    df = pd.DataFrame({
        "customer_id": ids,
        "region": np.array(dp.REGIONS, dtype=object)[c["region"]],
        "customer_type": np.where(c["enterprise"], "Enterprise", "Individual").astype(object),
        "acquisition_date": _dates(start, c["acq"]),
        "acquisition_channel": np.array(dp.ACQ_CHANNELS, dtype=object)[c["channel"]],
        "age": _fmt_int(c["age"]),
        "gender": gender,
        "income": _fmt_int(c["income"]),
        "occupation": occ,
        "churn_date": _dates(start, ch["churn_day"]),
        "churn_reason": reason,
    })
    dup = np.sort(rng_mess.choice(n, size=min(N_CUSTOMER_DUPS, n), replace=False))
    pos = np.concatenate([np.arange(n), dup])
    tie = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(len(dup), dtype=np.int64)])
    order = np.lexsort((tie, pos))
    return df.iloc[pos[order]].reset_index(drop=True), int(len(dup))


def _truth_df(c, ch, tr, ids, start):
    seg_names = np.array(list(dp.SEGMENTS) + ["potential"], dtype=object)
    seg = np.where(c["seg"] >= 0, c["seg"], len(dp.SEGMENTS))
    alive = (~c["potential"]) & (tr["drop_day"] == NONE) & (ch["churn_day"] == NONE)
    lp = np.where(c["potential"], np.nan, ch["lp"])
    return pd.DataFrame({
        "customer_id": ids,
        "segment": seg_names[seg],
        "lam": _fmt(tr["lam"], 6),
        "p_dropout": _fmt(tr["pdrop"], 6),
        "mean_spend": _fmt(dp.GG_P / tr["nu"], 2),
        "bgnbd_dropout_date": _dates(start, tr["drop_day"]),
        "churn_date_explicit": _dates(start, ch["churn_day"]),
        "alive_at_end": alive.astype(np.int64),
        "hazard_lp": _fmt(lp, 6),
        "n_orders": tr["n_orders"].astype(np.int64),
    })


def _r(x, nd=6):
    return round(float(x), nd)


def _ground_truth(*, seed, n, start, end, end_day, window_days, P, c, ch, tr, orders, inj, sv, ia, mk, files):
    buyer = ~c["potential"]
    n_buy = int(buyer.sum())
    w = np.array(dp.REGION_WEIGHTS)
    seg_overall = np.array([P.segment_shares[r] for r in dp.REGIONS]).T @ w
    segments = {}
    for si, s in enumerate(dp.SEGMENTS):
        m = c["seg"] == si
        bg, gg = dp.BGNBD[s], dp.GAMMA_GAMMA[s]
        nm = int(m.sum())
        segments[s] = {
            "customer_type": dp.SEGMENT_TYPE[si],
            "bgnbd": {k: float(v) for k, v in bg.items()},
            "bgnbd_implied": {
                "mean_rate_per_week": _r(bg["r"] / bg["alpha"]),
                "mean_rate_per_year": _r(bg["r"] / bg["alpha"] * 365.25 / 7),
                "mean_dropout_p": _r(bg["a"] / (bg["a"] + bg["b"])),
            },
            "gamma_gamma": {k: _r(v) for k, v in gg.items()},
            "mean_spend_per_order": _r(gg["p"] * gg["gamma"] / (gg["q"] - 1)),
            "share_expected": _r(seg_overall[si]),
            "share_realised_of_buyers": _r(nm / max(n_buy, 1)),
            "n_customers": nm,
            "n_repeat_buyers": int(((tr["n_orders"] > 1) & m).sum()),
            "n_explicit_churn": int(((ch["churn_day"] != NONE) & m).sum()),
            "lines_per_order": {"distribution": "1 + Binomial(3, p)", "p": dp.LINE_P[s]},
            "category_preferences": dict(zip(dp.CATEGORIES, dp.CATEGORY_PREFS[s])),
        }
    shares_by_region = {r: dict(zip(dp.SEGMENTS, [_r(x) for x in P.segment_shares[r]])) for r in dp.REGIONS}

    churned = ch["churn_day"] != NONE
    region_hr = {r: _r(math.exp(P.region_log_hr[r])) for r in dp.REGIONS}
    hazard = {
        "model": "Weibull proportional hazards, continuous time since acquisition (days); "
                 "h(t|x) = (shape/scale) * (t/scale)**(shape-1) * exp(x'beta)",
        "time_unit": "days since acquisition_date; churn_date = acquisition_date + floor(t)",
        "baseline": {"distribution": "weibull", "shape": dp.HAZ_SHAPE, "scale_days": dp.HAZ_SCALE_DAYS,
                     "scale_weeks": _r(dp.HAZ_SCALE_DAYS / 7)},
        "reference_customer": "North, individual, online_ads, age 45 (hazard_lp = 0)",
        "covariates": {
            "region": {"reference": "North",
                       "log_hr": {r: _r(P.region_log_hr[r]) for r in dp.REGIONS}, "hr": region_hr},
            "customer_type": {"reference": "individual",
                              "log_hr": {"enterprise": _r(math.log(dp.HR_ENTERPRISE)), "individual": 0.0},
                              "hr": {"enterprise": dp.HR_ENTERPRISE, "individual": 1.0}},
            "acquisition_channel": {"reference": "online_ads",
                                    "log_hr": {k: _r(math.log(v)) for k, v in dp.HR_CHANNEL.items()},
                                    "hr": dict(dp.HR_CHANNEL)},
            "age_per_10y_individual": {
                "definition": "x = (age - 45) / 10 for individuals, 0 for enterprise (age empty)",
                "centre": dp.HAZ_AGE_CENTRE, "log_hr": _r(math.log(dp.HR_AGE_PER_10Y_INDIVIDUAL)),
                "hr": dp.HR_AGE_PER_10Y_INDIVIDUAL},
        },
        "realised": {"n_buyers": n_buy, "n_churned_by_end": int(churned.sum()),
                     "share_of_buyers_churned": _r(churned.sum() / max(n_buy, 1)),
                     "share_churned_by_region": {
                         r: _r((churned & (c["region"] == i)).sum() / max((buyer & (c["region"] == i)).sum(), 1))
                         for i, r in enumerate(dp.REGIONS)}},
    }
    reasons = {
        "codes": list(dp.CHURN_CODES),
        "raw_labels": dict(zip(dp.CHURN_RAW_LABELS, dp.CHURN_CODES)),
        "probabilities_by_region": {r: dict(zip(dp.CHURN_CODES, P.reason_p[r])) for r in dp.REGIONS},
    }
    cac = {
        "by_region_channel": {r: dict(P.cac[r]) for r in dp.REGIONS},
        "base_by_channel": dict(dp.BASE_CAC),
        "region_multiplier": ({r: dp.REGION_CAC_MULT[r] for r in dp.REGIONS} if P.regional_differences
                              else {r: 1.0 for r in dp.REGIONS}),
        "noise": "spend = new_customers x CAC x exp(N(0, sd^2)), sd = 0.1 (median multiplier 1)",
        "noise_sd_log": dp.CAC_NOISE_SD,
        "new_customers_total": int(mk["new_customers"].sum()),
    }
    sat_latent = {r: dict(P.latent_means[r]) for r in dp.REGIONS}
    surveys = {
        "constructs": {cn: [f"q_{cn}_{i + 1}" for i in range(dp.N_ITEMS[cn])] for cn in dp.CONSTRUCTS},
        "construct_means_by_region": sat_latent,
        "satisfaction_latent_mean_by_region": {r: _r(np.mean(list(sat_latent[r].values()))) for r in dp.REGIONS},
        "latent_model": "eta = region mean + customer effect (var 0.5) + response noise (var 0.5), "
                        "constructs correlated 0.3; minus 0.7 within 180 days before an explicit churn",
        "construct_correlation": dp.LATENT_CORR,
        "item_model": "item = 1 + #(eta + N(0, 0.6^2) + 0.5 > cuts), cuts -1.5,-0.5,0.5,1.5",
        "item_noise_sd": dp.ITEM_NOISE_SD,
        "likert_cuts": list(dp.LIKERT_CUTS),
        "item_shift": dp.ITEM_SHIFT,
        "prechurn_days": dp.PRECHURN_DAYS_SURVEY,
        "prechurn_shift": dp.PRECHURN_SHIFT,
        "driver_weights": dict(dp.DRIVER_WEIGHTS),
        "driver_model": "S* = sum_j w_j eta_j + e, e ~ N(0, s^2), s = sqrt(1 - w'Rw); "
                        "overall_satisfaction = Likert cut of S* like the items",
        "driver_residual_sd": _r(da.driver_residual_sd()),
        "nps_model": "nps = clip(round(7 + 2 * (0.8 S* + 0.6 N(0,1))), 0, 10)",
        "response_rate_per_quarter": dp.SURVEY_RATE,
        "n_responses": int(len(sv["who"])),
        "n_prechurn_responses": int(sv["pre"].sum()),
        "cronbach_alpha_clean": {cn: _r(da.cronbach_alpha(np.stack(
            [sv["clean_items"][f"q_{cn}_{i + 1}"] for i in range(dp.N_ITEMS[cn])], axis=1)), 4)
            for cn in dp.CONSTRUCTS} if len(sv["who"]) > 2 else {},
    }
    interactions = {
        "generator": "toolkit.data.demo_touchpoints.simulate_interactions with the parameters of "
                     "ground truth touchpoints.params, around the buyers and the transactions the loader keeps",
        "window": "from the first purchase (planted sequences: up to prospect_days before it) to churn_date "
                  "(inclusive) or the end date; none for potential customers; sales contacts have no outcome",
        "n_rows": int(len(ia.interactions)),
    }
    market = {r: [{"competitor": m[0], "market_share": m[1], "price_index": m[2], "growth": m[3]}
                  for m in P.market[r]] for r in dp.REGIONS}
    same_day = int((np.diff(orders["day"]) == 0)[np.diff(orders["cust"]) == 0].sum()) if len(orders["day"]) > 1 else 0
    notes = [
        "Time unit for BG/NBD: weeks = days / 7, measured from each customer's acquisition_date "
        "(the first purchase); the churn hazard uses days since acquisition.",
        "Explicit churn (account closure) is drawn independently of the BG/NBD and Gamma-Gamma draws "
        "given the segment; it only censors purchases. BG/NBD parameters are therefore recoverable "
        "from the customers without explicit churn (or from all customers with T cut at churn_date).",
        "The hazard depends only on observable customers.csv columns (region, customer_type, "
        "acquisition_channel, age for individuals); there is no frailty.",
        "Dropout in BG/NBD can only happen right after a repeat purchase (never after the first).",
        "Several purchase occasions of one customer can fall on the same calendar day "
        f"({same_day} such repeat occasions); each has its own invoice. Aggregating by day merges them.",
        "Potential customers (segment 'potential') are registered but never purchase: empty "
        "acquisition_date, no transactions, surveys or contacts.",
        "The contact log (interactions.csv) is touchpoints.params applied to the buyers' purchases and churn "
        "dates, which it does not change; planted prospect sequences fall up to prospect_days before the "
        "acquisition_date.",
        "Enterprise customers have empty age, gender, income and occupation.",
        "transactions.csv messiness is listed under injected.transactions; dropping empty-id, "
        "unparsable-date and future rows, removing exact duplicates and dividing the listed outliers "
        "by 100 restores the clean data (returns are genuine and stay).",
        "Segments separate on log mean spend per order (KMeans on it alone: ARI ~0.97-0.99); "
        "frequency and recency carry much within-segment spread (tenure 6-30 months, BG/NBD "
        "dropout, explicit churn), so equal-weight standardised (log spend, log1p frequency, "
        "recency) KMeans gives ARI ~0.25; down-weighting them (1, 0.5, 0.3) gives ~0.97.",
        "Survey constructs are latent scores in SD units; construct_means_by_region are their means.",
        "With regional_differences=False every region has identical parameters.",
    ]
    return {
        "seed": int(seed),
        "n_customers": int(n),
        "n_buyers": n_buy,
        "n_potential": int(c["potential"].sum()),
        "dates": {"start": start, "end": end, "acquisition_window_days": int(window_days),
                  "acquisition_window_end": str(np.datetime64(start) + np.timedelta64(window_days - 1, "D")),
                  "min_observed_days": int(end_day + 1 - (window_days - 1))},
        "regions": list(dp.REGIONS),
        "region_weights": dict(zip(dp.REGIONS, dp.REGION_WEIGHTS)),
        "regional_differences": bool(P.regional_differences),
        "segments": segments,
        "segment_shares_by_region": shares_by_region,
        "potential_share": dp.POTENTIAL_SHARE,
        "hazard": hazard,
        "churn_reasons": reasons,
        "cac": cac,
        "surveys": surveys,
        "interactions": interactions,
        "touchpoints": _touchpoint_truth(ia),
        "market": market,
        "injected": inj,
        "files": files,
        "notes": notes,
        "time_unit": "weeks = days / 7 (BG/NBD); days (hazard)",
    }


def _touchpoint_truth(sim) -> dict:
    """Ground truth ``touchpoints``: the TouchpointParams used, what the draw realised, the value
    tiers the simulator used (customers per tier) and the derived figures the report estimates."""
    P, r = sim.params, sim.realised
    fc = sim.first_complaints
    return {
        "params": P.as_dict(),
        "realised": r,
        "customers_per_tier": {t: int((sim.tiers == t).sum()) for t in ("high", "mid", "low", "none")},
        "conversion_odds_ratio": dict(P.conversion_odds_ratio),
        "contacts_per_quarter_by_tier": dict(P.contacts_per_quarter),
        "cadence": "outbound (sales) contacts per customer and quarter over the last cadence_window_days, "
                   "customers active at the end",
        "complaint_cases_per_customer_year": _r(r["complaint_cases"] / max(r["customer_years_of_complaint_exposure"],
                                                                           1e-9)),
        "first_complaint_resolution_rate": _r(1 - fc["unresolved"].mean()) if len(fc) else None,
        "hazard_ratio_unresolved": P.hazard_ratio_unresolved,
        "hazard_ratio_time": "days from the customer's first complaint to churn_date (event) or the end date",
        "prechurn_sequence": sequence_label(P.prechurn_sequence),
        "prospect_sequences": {sequence_label(k): v for k, v in P.prospect_sequences.items()},
    }


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def write_demo(
    out_dir,
    seed: int = 42,
    n_customers: int = 20_000,
    start: str = "2024-01-01",
    end: str = "2026-06-30",
    regional_differences: bool = True,
) -> dict:
    """Simulate the demo company, write its files to ``out_dir`` and return the ground truth."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start_d = np.datetime64(start, "D")
    end_day = int((np.datetime64(end, "D") - start_d).astype(int))
    if end_day < MIN_OBSERVED_DAYS + 30:
        raise ValueError("the period must be longer than about seven months")
    window_days = min(MAX_WINDOW_DAYS, end_day + 1 - MIN_OBSERVED_DAYS)
    P = dp.build_params(regional_differences)
    rs = _streams(seed)
    ids = _cust_ids(n_customers)

    c = dpu.make_customers(rs["customers"], n_customers, P, window_days)
    ch = dpu.draw_churn(rs["churn"], c, P, end_day)
    tr, orders = dpu.simulate_orders(rs["purchases"], c, ch, end_day)
    lines = dpu.order_lines(rs["lines"], c, orders)
    sku_codes, sku_price = dpu.sku_catalogue(rs["skus"])

    tx, inj_tx = _transactions(rs["mess"], c, ch, orders, lines, sku_codes, sku_price, ids, start_d, end_day)
    cust_df, n_cdup = _customers_df(rs["mess"], c, ch, ids, start_d)
    sv, inj_sv = da.make_surveys(rs["surveys"], c, ch, P, start_d, end_day)
    ia = da.make_interactions(rs["interactions"], ids, c, ch, tx, start_d, end)
    mk = da.make_marketing(rs["marketing"], c, P, start_d, window_days)

    sv_df = pd.DataFrame({"customer_id": ids[sv["who"]], "response_date": _dates(start_d, sv["when"]),
                          "wave": sv["wave"].astype(object)})
    for nm in sv["item_names"]:
        sv_df[nm] = _fmt_int(sv["items"][nm])
    sv_df["overall_satisfaction"] = sv["sat"].astype(np.int64)
    sv_df["nps"] = sv["nps"].astype(np.int64)
    sv_df["comment"] = sv["comment"]
    log = ia.interactions
    ia_df = pd.DataFrame({
        "customer_id": log["customer_id"].to_numpy(dtype=object),
        "date": log["date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "channel": log["channel"].to_numpy(dtype=object),
        "kind": log["kind"].to_numpy(dtype=object),
        "outcome": log["outcome"].fillna("").to_numpy(dtype=object),
    })
    mk_df = pd.DataFrame({"month": mk["month"].astype(object), "region": mk["region"].astype(object),
                          "channel": mk["channel"].astype(object), "spend": _fmt(mk["spend"], 2)})
    mkt = da.market_rows(P)
    mkt_df = pd.DataFrame({
        "region": [m[0] for m in mkt], "competitor": [m[1] for m in mkt],
        "market_share": _fmt([m[2] for m in mkt], 3), "price_index": _fmt([m[3] for m in mkt], 3),
        "growth": _fmt([m[4] for m in mkt], 3),
    })
    truth_df = _truth_df(c, ch, tr, ids, start_d)
    partners_df, suppliers_df, network = dn.make_network(seed, n_customers, start, end)

    frames = {
        "transactions.csv": tx, "customers.csv": cust_df, "marketing_spend.csv": mk_df,
        "surveys.csv": sv_df, "interactions.csv": ia_df, "market.csv": mkt_df,
        "partners.csv": partners_df, "suppliers.csv": suppliers_df, "truth_customers.csv": truth_df,
    }
    files = {}
    for name, df in frames.items():
        _write(df, out / name)
        files[name] = {"rows": int(len(df)), "columns": list(df.columns)}

    inj = {"transactions": inj_tx, "customers": {"duplicate_rows": n_cdup}, "surveys": inj_sv}
    gt = _ground_truth(seed=seed, n=n_customers, start=start, end=end, end_day=end_day,
                       window_days=window_days, P=P, c=c, ch=ch, tr=tr, orders=orders, inj=inj, sv=sv,
                       ia=ia, mk=mk, files=files)
    gt["network"] = network
    gt = json.loads(json.dumps(gt, default=_json_default))
    text = json.dumps(gt, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    (out / "ground_truth.json").write_text(text, encoding="utf-8")
    return gt


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(type(o))


def read_ground_truth(out_dir) -> dict:
    """The ground truth written by :func:`write_demo` into ``out_dir``."""
    return json.loads((Path(out_dir) / "ground_truth.json").read_text(encoding="utf-8"))


def file_digests(out_dir) -> dict[str, str]:
    """sha256 of every demo file in ``out_dir`` (for reproducibility checks)."""
    out = Path(out_dir)
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in FILES if (out / f).exists()}


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import time

    ap = argparse.ArgumentParser(description="write the custkit demo data set")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-customers", type=int, default=20_000)
    ap.add_argument("--no-regional-differences", action="store_true")
    a = ap.parse_args()
    t0 = time.perf_counter()
    write_demo(a.out_dir, seed=a.seed, n_customers=a.n_customers,
               regional_differences=not a.no_regional_differences)
    print(f"wrote {a.out_dir} in {time.perf_counter() - t0:.1f} s")
