"""Contact -> purchase within N days by channel, against an honest baseline.

**What is counted.** An outbound contact (a kind listed under ``outbound_kinds``) on day d is
*followed by a purchase* when the customer buys on day d or in the N - 1 days after it. Contacts in
the report window whose N days end by the as-of date are counted.

**The baseline: purchases that would have happened anyway.** Customers are contacted when they are
likely to buy (after a recent purchase, in a high tier), so the share of contacts followed by a
purchase overstates what contacts do. Each contact is therefore compared with *comparison days*:
days of customers (contacted at other times or never) without any contact within N - 1 days either
side, sampled every ``control_step_days`` days of each customer's time as a customer in the window.
Contacts and comparison days are grouped by the customer's state on that day: recency band (days
since the last purchase), frequency band (purchase days so far) and value tier. The baseline of a
channel is the comparison days' purchase rate in each group, weighted by that channel's contacts
per group (direct standardisation); groups with fewer than ``min_controls`` comparison days are
left out. The uplift is the contacts' rate minus the baseline; the Mantel-Haenszel odds ratio pools
the groups' odds ratios.

Contacts before a customer's first purchase are left out of the comparison (winning a customer is
another question; see the sequences before a first purchase). To keep one purchase from being
credited to two contacts, the comparison uses only contacts that
were the customer's only contact within N - 1 days either side (all outbound contacts still count
in "followed by a purchase" and in the cost per converted customer).

**Intervals.** Wilson intervals for the shares; the baseline, the uplift and the odds ratio get
percentile intervals from a bootstrap over customers (Poisson weights, ``bootstrap`` resamples), so
that several contacts of one customer are not taken as independent.

This is an association unless contacts were assigned at random (``randomised: true``): customers
differ in ways the groups do not capture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from toolkit.data.schema import CONTACT_CHANNELS
from toolkit.kpi.stats import wilson
from toolkit.touchpoints.basis import TouchpointBasis

ALL = "all channels"
MAX_CONTROL_DAYS = 2_000_000


@dataclass
class ConversionResult:
    """Contact -> purchase by channel (``table``), the contacts behind it and what was left out."""

    within_days: int
    table: pd.DataFrame
    contacts: pd.DataFrame              # the window's outbound contacts (customer_id, day, channel, bought, ...)
    control_days: int
    control_step_days: int
    groups_compared: int
    randomised: bool
    bootstrap: int
    excluded: dict[str, int] = field(default_factory=dict)
    groups: pd.DataFrame | None = None  # per compared group: label, comparison days and contacts per channel

    @property
    def channels(self) -> list[str]:
        return [c for c in self.table.index if c != ALL]


def _neighbour_days(code: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For (code, day) sorted by code then day: the previous and next contact day of the same customer
    (-inf / +inf when none)."""
    same_prev = np.r_[False, code[1:] == code[:-1]]
    same_next = np.r_[code[:-1] == code[1:], False]
    prev = np.where(same_prev, np.r_[0, day[:-1]], -10**9)
    nxt = np.where(same_next, np.r_[day[1:], 0], 10**9)
    return prev, nxt


class _Strata:
    """Group number of a (customer, day): recency band x frequency band x value tier."""

    def __init__(self, basis: TouchpointBasis) -> None:
        cfg = basis.config
        self.basis = basis
        self.r_edges = np.asarray(cfg.recency_bands_days, float)
        self.f_edges = np.asarray(cfg.frequency_bands, float)
        tiers = basis.profile["value_tier"]
        self.tier_labels = sorted(tiers.dropna().astype(str).unique()) + ["(no tier)"]
        codes = {t: i for i, t in enumerate(self.tier_labels)}
        t = np.full(len(basis.codes), len(self.tier_labels) - 1, np.int64)
        pc = basis.code(basis.profile.index)
        t[pc] = tiers.map(lambda v: codes.get(str(v), len(self.tier_labels) - 1) if pd.notna(v)
                          else len(self.tier_labels) - 1).to_numpy(np.int64)
        self.tier_of_code = t
        self.nr, self.nf, self.nt = len(self.r_edges) + 2, len(self.f_edges) + 1, len(self.tier_labels)

    def before_first_purchase(self, s: np.ndarray) -> np.ndarray:
        """Whether groups ``s`` hold days before the customer's first purchase."""
        return np.asarray(s) // (self.nf * self.nt) == self.nr - 1

    @property
    def size(self) -> int:
        return self.nr * self.nf * self.nt

    def of(self, code: np.ndarray, day: np.ndarray) -> np.ndarray:
        p = self.basis.pindex
        rec = day - p.last_before(code, day)
        r = np.where(np.isnan(rec), self.nr - 1, np.searchsorted(self.r_edges, np.nan_to_num(rec), side="left"))
        f = np.searchsorted(self.f_edges, p.count_before(code, day), side="right")
        return (r * self.nf + f) * self.nt + self.tier_of_code[code]

    def label(self, s: int) -> str:
        r, rest = divmod(int(s), self.nf * self.nt)
        f, t = divmod(rest, self.nt)
        re = [0] + [int(e) for e in self.r_edges]
        r_txt = "no purchase yet" if r == self.nr - 1 else (
            f"last purchase {re[r] + (r > 0)}-{re[r + 1]} days before" if r < len(self.r_edges)
            else f"last purchase over {re[-1]} days before")
        fe = [0] + [int(e) for e in self.f_edges]
        f_txt = (f"{fe[f]}" if f < len(self.f_edges) and fe[f + 1] - fe[f] == 1 else
                 f"{fe[f]}-{fe[f + 1] - 1}" if f < len(self.f_edges) else f"{fe[-1]}+") + " purchase days"
        return f"{r_txt}, {f_txt}, tier {self.tier_labels[t]}"


def _statistics(n_c: np.ndarray, y_c: np.ndarray, n_0: np.ndarray, y_0: np.ndarray) -> dict[str, np.ndarray]:
    """Per channel (rows of ``n_c``, ``y_c``: channel x group; last axis groups; leading axes replicates):
    rate, standardised baseline, uplift and Mantel-Haenszel odds ratio against the comparison days
    (``n_0``, ``y_0``: groups). Groups without comparison days are left out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = n_0 > 0
        p0 = np.where(ok, y_0 / np.where(ok, n_0, 1), 0.0)[..., None, :]
        okc = np.broadcast_to(ok[..., None, :], n_c.shape)
        n = np.where(okc, n_c, 0.0)
        y = np.where(okc, y_c, 0.0)
        total = n.sum(-1)
        rate = y.sum(-1) / total
        baseline = (n * p0).sum(-1) / total
        a, b = y, n - y
        c = (y_0 * ok)[..., None, :]
        d = ((n_0 - y_0) * ok)[..., None, :]
        t = a + b + c + d
        num = np.where(t > 0, a * d / np.where(t > 0, t, 1), 0.0).sum(-1)
        den = np.where(t > 0, b * c / np.where(t > 0, t, 1), 0.0).sum(-1)
        odds = num / den
    return {"rate": rate, "baseline": baseline, "uplift": rate - baseline,
            "odds_ratio": np.where((num > 0) & (den > 0), odds, np.nan)}


def conversion_by_channel(basis: TouchpointBasis, within_days: int = 30, seed: int = 0) -> ConversionResult:
    """Outbound contacts in the window followed by a purchase within ``within_days`` days, by channel,
    against comparison days of comparable customers (see the module docstring)."""
    if basis.pindex is None:
        raise ValueError("contact -> purchase needs the transactions (purchase days)")
    N = int(within_days)
    if N < 1:
        raise ValueError(f"within_days must be at least 1 (got {within_days})")
    cfg = basis.config
    strata = _Strata(basis)
    S = strata.size
    ct = basis.contacts
    code_all = basis.code(ct["customer_id"])
    day_all = ct["day"].to_numpy(np.int64)
    o = np.lexsort((day_all, code_all))
    code_s, day_s = code_all[o], day_all[o]
    prev, nxt = _neighbour_days(code_s, day_s)
    isolated = np.empty(len(o), bool)
    isolated[o] = (prev <= day_s - N) & (nxt >= day_s + N)

    last_start = basis.as_of_day - N + 1
    outbound = ct["kind"].isin(cfg.outbound_kinds).to_numpy()
    in_window = (day_all >= basis.window_start_day) & (day_all <= last_start)
    known = ct["customer_id"].isin(basis.profile.index).to_numpy()
    sel = outbound & in_window
    idx = np.flatnonzero(sel & known)
    code_i, day_i = code_all[idx], day_all[idx]
    bought = basis.pindex.bought_within(code_i, day_i, N)
    group = strata.of(code_i, day_i)
    chans = [c for c in CONTACT_CHANNELS if c in set(ct["channel"].iloc[idx])] + sorted(
        set(ct["channel"].iloc[idx]) - set(CONTACT_CHANNELS))
    ch_code = pd.Series(np.arange(len(chans)), index=chans).reindex(ct["channel"].iloc[idx]).to_numpy(np.int64)

    # ---------------------------------------------------------------- comparison days
    start = basis.start_days()
    stop = basis.stop_days()
    pcode = basis.code(basis.profile.index)
    lo = np.maximum(np.where(np.isnan(start), np.inf, start), basis.window_start_day)
    hi = np.minimum(stop, last_start)
    span = np.where(np.isfinite(lo) & (hi >= lo), hi - np.where(np.isfinite(lo), lo, 0) + 1, 0).astype(np.int64)
    step = max(int(cfg.control_step_days), int(np.ceil(span.sum() / MAX_CONTROL_DAYS)) if span.sum() else 1)
    lo_i = np.where(span > 0, lo, 0).astype(np.int64)
    first = lo_i + (pcode - lo_i) % step
    count = np.where(span > 0, np.maximum((hi.astype(np.int64) - first) // step + 1, 0), 0)
    c_code = np.repeat(pcode, count)
    c_day = np.repeat(first, count) + step * (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    key = code_s * 10**7 + day_s
    pos = np.searchsorted(key, c_code * 10**7 + c_day - N + 1, side="left")
    j = np.minimum(pos, max(len(key) - 1, 0))
    near = (pos < len(key)) & (code_s[j] == c_code) & (day_s[j] <= c_day + N - 1) if len(key) else \
        np.zeros(len(c_code), bool)
    c_code, c_day = c_code[~near], c_day[~near]
    c_bought = basis.pindex.bought_within(c_code, c_day, N)
    c_group = strata.of(c_code, c_day)
    n0 = np.bincount(c_group, minlength=S).astype(float)
    eligible = (n0 >= cfg.min_controls) & ~strata.before_first_purchase(np.arange(S))

    iso_i = isolated[idx]
    compared = iso_i & eligible[group]
    C = len(chans)

    def counts(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = ch_code[mask] * S + group[mask]
        return (np.bincount(col, minlength=C * S).reshape(C, S).astype(float),
                np.bincount(col, weights=bought[mask], minlength=C * S).reshape(C, S))

    n_c, y_c = counts(compared)
    n_0 = np.where(eligible, n0, 0.0)
    y_0 = np.where(eligible, np.bincount(c_group, weights=c_bought, minlength=S), 0.0)
    # the pooled row: every channel's contacts together
    n_all, y_all = np.vstack([n_c, n_c.sum(0)]), np.vstack([y_c, y_c.sum(0)])
    point = _statistics(n_all, y_all, n_0, y_0)

    # ---------------------------------------------------------------- bootstrap over customers
    B = int(cfg.bootstrap)
    boot = None
    if B > 0 and compared.any():
        rng = np.random.default_rng(seed)
        n_codes = len(basis.codes)
        cols = ch_code[compared] * S + group[compared]
        m_n = sparse.csr_matrix((np.ones(compared.sum()), (code_i[compared], cols)), shape=(n_codes, C * S))
        m_y = sparse.csr_matrix((bought[compared].astype(float), (code_i[compared], cols)), shape=(n_codes, C * S))
        keep = eligible[c_group]
        m_n0 = sparse.csr_matrix((np.ones(keep.sum()), (c_code[keep], c_group[keep])), shape=(n_codes, S))
        m_y0 = sparse.csr_matrix((c_bought[keep].astype(float), (c_code[keep], c_group[keep])), shape=(n_codes, S))
        acc = [np.zeros((B, C * S)), np.zeros((B, C * S)), np.zeros((B, S)), np.zeros((B, S))]
        chunk = max(1, 4_000_000 // B)
        for lo_c in range(0, n_codes, chunk):
            w = rng.poisson(1.0, size=(B, min(chunk, n_codes - lo_c))).astype(float)
            for a, m in zip(acc, (m_n, m_y, m_n0, m_y0)):
                a += (m[lo_c:lo_c + w.shape[1]].T @ w.T).T
        bn, by = acc[0].reshape(B, C, S), acc[1].reshape(B, C, S)
        boot = _statistics(np.concatenate([bn, bn.sum(1, keepdims=True)], 1),
                           np.concatenate([by, by.sum(1, keepdims=True)], 1), acc[2], acc[3])

    # ---------------------------------------------------------------- the table
    rows = chans + [ALL]
    n_contacts = np.r_[np.bincount(ch_code, minlength=C), len(idx)]
    n_followed = np.r_[np.bincount(ch_code, weights=bought, minlength=C), bought.sum()]
    conv_customers = [int(pd.unique(code_i[bought & (ch_code == k)]).size) for k in range(C)] + \
        [int(pd.unique(code_i[bought]).size)]
    f_lo, f_hi = wilson(n_followed, n_contacts)
    analysed = n_all.sum(1)
    a_bought = y_all.sum(1)
    r_lo, r_hi = wilson(a_bought, analysed)
    table = pd.DataFrame({
        "contacts": n_contacts.astype(np.int64),
        "followed_by_purchase": n_followed.astype(np.int64),
        "followed_share": np.where(n_contacts > 0, n_followed / np.maximum(n_contacts, 1), np.nan),
        "followed_lower": f_lo, "followed_upper": f_hi,
        "customers_converted": np.asarray(conv_customers, np.int64),
        "compared_contacts": analysed.astype(np.int64),
        "purchase_rate": point["rate"], "rate_lower": r_lo, "rate_upper": r_hi,
        "baseline_rate": point["baseline"],
        "uplift": point["uplift"],
        "odds_ratio": point["odds_ratio"],
    }, index=pd.Index(rows, name="channel"))
    for name in ("baseline", "uplift", "odds_ratio"):
        col = "baseline_rate" if name == "baseline" else name
        if boot is not None:
            with np.errstate(invalid="ignore"):
                lo_b = np.nanpercentile(np.where(np.isfinite(boot[name]), boot[name], np.nan), 2.5, axis=0)
                hi_b = np.nanpercentile(np.where(np.isfinite(boot[name]), boot[name], np.nan), 97.5, axis=0)
        else:
            lo_b = hi_b = np.full(len(rows), np.nan)
        pos_col = table.columns.get_loc(col) + 1
        table.insert(pos_col, f"{name}_lower" if name != "baseline" else "baseline_lower", lo_b)
        table.insert(pos_col + 1, f"{name}_upper" if name != "baseline" else "baseline_upper", hi_b)
    table.loc[table["compared_contacts"] == 0, ["purchase_rate", "rate_lower", "rate_upper"]] = np.nan

    per_contact = pd.DataFrame({"customer_id": ct["customer_id"].to_numpy()[idx], "day": day_i,
                                "channel": ct["channel"].to_numpy()[idx], "bought": bought,
                                "isolated": iso_i, "compared": compared})
    excluded = {
        "outbound_in_window": int(sel.sum() + (outbound & (day_all > last_start)
                                               & (day_all >= basis.window_start_day)).sum()),
        "window_incomplete": int((outbound & (day_all > last_start) & (day_all >= basis.window_start_day)).sum()),
        "unknown_customer": int((sel & ~known).sum()),
        "not_isolated": int((~iso_i).sum()),
        "before_first_purchase": int((iso_i & strata.before_first_purchase(group)).sum()),
        "no_comparison": int((iso_i & ~eligible[group] & ~strata.before_first_purchase(group)).sum()),
    }
    used = np.flatnonzero(eligible)
    groups = pd.DataFrame({"group": [strata.label(g) for g in used], "comparison_days": n_0[used].astype(np.int64),
                           "comparison_bought": y_0[used].astype(np.int64)}, index=pd.Index(used, name="group_id"))
    for k, ch in enumerate(chans):
        groups[f"{ch}_contacts"] = n_c[k, used].astype(np.int64)
        groups[f"{ch}_bought"] = y_c[k, used].astype(np.int64)
    return ConversionResult(N, table, per_contact, int(eligible[c_group].sum()), step, int(eligible.sum()),
                            bool(cfg.randomised), B, excluded, groups)
