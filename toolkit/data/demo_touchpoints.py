"""A contact log with known ground truth, simulated around a given customer base and purchase log.

:func:`simulate_interactions` takes a customers frame and a transactions frame (the data model's
columns; e.g. a loaded dataset's ``customers`` and ``transactions``) and returns an interactions
table (customer_id, date, channel, kind, outcome) whose every pattern the touchpoint report
(:mod:`toolkit.touchpoints`) should find, together with the truth it was built from. The purchases
and churn dates are left exactly as given: the simulator only decides *when* contacts happen and
*how* complaints end, so the effects below are planted through the timing of contacts.
Deterministic: the same inputs, parameters and seed give the same rows.

The demo generator (:mod:`toolkit.data.demo`) builds its contact log with it (parameters
``toolkit.data.demo_params.TOUCHPOINTS``, truth in ``ground_truth.json["touchpoints"]``); tests also run
it on other purchase logs to show that the report's methods recover the truth.

The ground truth (:class:`TouchpointParams`; days are calendar days, a quarter 91.3125 days):

* **Contact cadence per value tier.** Outbound sales contacts (kind ``sales``) reach a customer of
  tier high / mid / low (by net revenue to the end date, ranked as :func:`toolkit.segmentation.
  value_tiers` ranks them, cut-offs ``tier_cutoffs``) at ``contacts_per_quarter[tier]`` contacts per
  quarter on average, over the last ``cadence_window_days`` of the customers still active at the
  end (the normalisation below makes this exact in expectation). The channel of a contact follows
  ``channel_mix[tier]``. Contacts run from the first purchase to the churn date or the end date.
* **Conversion uplift per channel.** A sales contact on channel c is placed on day t with intensity
  ``k_tier,c * (1 + theta_c * Y_t)``, where Y_t = 1 when the customer makes a purchase within
  ``window_days`` days from t (day t included). Within any group of customer-days that shares the
  tier, this multiplies the odds that a contact day is followed by a purchase by exactly
  ``conversion_odds_ratio[c] = 1 + theta_c`` over a comparable day without contact: the baseline
  purchase rate is that of the customers' own days, the uplift is the odds ratio. An odds ratio of 1
  (``social`` by default) is a channel whose contacts are followed by purchases only as often as
  chance says.
* **Complaints.** Complaints arrive at ``complaints_per_year`` per customer-year at random days;
  one that falls within 2 x ``follow_up_days`` of the customer's previous complaint is not made, so
  cases never run into each other (about ``complaints_per_year`` x exp(-``complaints_per_year`` x 2
  x ``follow_up_days`` / 365.25) cases per customer-year; ``realised`` counts them).
  A customer's first complaint is resolved with probability ``p_resolved``; resolved cases are
  resolved on the first contact with probability ``p_first_contact`` (outcome ``resolved`` on the
  complaint row itself), otherwise by a second complaint contact with outcome ``resolved``
  1 + Poisson(``mean_days_to_resolve`` - 1) days later (never after the customer leaves). An
  unresolved case has outcome ``unresolved`` and, with probability ``chase_share``, a second
  ``unresolved`` complaint contact within ``follow_up_days``. Later complaints of a customer are
  resolved with the same probabilities.
* **Pre-churn surge** (optional; none by default): in the ``prechurn_surge_days`` up to a churn (within the
  regular contacts) complaints and service contacts come ``prechurn_surge_factor[kind]`` times as often,
  and the extra service contacts are resolved with probability ``prechurn_service_resolved``: the
  early-warning signal of the demo's churn model. The gap rule and everything below apply to the
  extra complaints alike, so the hazard ratio holds with them. Churn does not change purchasing in the
  demo, so the surge does not tilt the conversion baseline (sales contacts are not changed).
* **Churn after an unresolved complaint.** The resolution of each customer's first complaint is
  assigned given the time from the complaint to the customer's churn date (or to the end date, when
  the customer stays) so that the churn hazard after an unresolved complaint is
  ``hazard_ratio_unresolved`` times that after a resolved one (proportional hazards, time from the
  complaint; see :func:`_proportional_labels`): at every churn, the customer who leaves had an
  unresolved complaint with probability HR n1 / (HR n1 + n0) given the n1 unresolved and n0 resolved
  complainants still there. A share 1 - ``p_resolved`` of first complaints is unresolved.
* **Sequences.** Before the first purchase: ``prospect_share`` of the buyers whose first purchase
  lies at least ``prospect_days`` after the start of the log get one of ``prospect_sequences`` (with
  its probability) on distinct days within the ``prospect_days`` before it; customers who never bought
  get one with the same probability at a random time. Before churn: ``prechurn_share`` of the
  churners get ``prechurn_sequence`` on distinct days within the ``prechurn_days`` up to the churn
  date, and no other contact in that period.
* **Service and feedback** contacts at ``service_per_year`` and ``feedback_per_year`` per
  customer-year at random days (service resolved with probability 0.85); they carry no effect.

Sales contacts have no outcome (the report reads purchases from the transactions).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

QUARTER_DAYS = 91.3125
YEAR_DAYS = 365.25
TIERS = ("high", "mid", "low")
CHANNELS = ("visit", "phone", "e-mail", "messaging", "social")


def _default_mix() -> dict[str, dict[str, float]]:
    return {"high": {"visit": 0.45, "phone": 0.35, "e-mail": 0.2},
            "mid": {"phone": 0.4, "e-mail": 0.35, "messaging": 0.15, "social": 0.1},
            "low": {"e-mail": 0.4, "messaging": 0.25, "social": 0.35}}


@dataclass(frozen=True)
class TouchpointParams:
    """The ground truth of :func:`simulate_interactions` (see the module docstring)."""

    window_days: int = 30
    contacts_per_quarter: dict[str, float] = field(default_factory=lambda: {"high": 2.0, "mid": 1.5, "low": 0.6})
    channel_mix: dict[str, dict[str, float]] = field(default_factory=_default_mix)
    conversion_odds_ratio: dict[str, float] = field(default_factory=lambda: {
        "visit": 2.5, "phone": 1.8, "e-mail": 1.3, "messaging": 1.5, "social": 1.0})
    cadence_window_days: int = 365
    tier_cutoffs: tuple[float, float] = (0.2, 0.5)
    service_per_year: float = 1.0
    service_mix: dict[str, float] = field(default_factory=lambda: {"phone": 0.5, "e-mail": 0.35, "messaging": 0.15})
    feedback_per_year: float = 0.3
    feedback_mix: dict[str, float] = field(default_factory=lambda: {"e-mail": 0.7, "phone": 0.3})
    complaints_per_year: float = 0.2
    complaint_mix: dict[str, float] = field(default_factory=lambda: {"phone": 0.6, "e-mail": 0.3, "messaging": 0.1})
    p_resolved: float = 0.7
    p_first_contact: float = 0.5
    mean_days_to_resolve: float = 8.0
    follow_up_days: int = 60
    chase_share: float = 0.5
    prechurn_surge_days: int = 0
    prechurn_surge_factor: dict[str, float] = field(default_factory=dict)   # kind (complaint, service) -> factor
    prechurn_service_resolved: float = 0.85
    hazard_ratio_unresolved: float = 2.0
    prospect_share: float = 0.6
    prospect_days: int = 60
    prospect_sequences: dict[tuple[tuple[str, str], ...], float] = field(default_factory=lambda: {
        (("social", "sales"), ("e-mail", "sales"), ("phone", "sales")): 0.5,
        (("e-mail", "sales"), ("phone", "sales"), ("visit", "sales")): 0.3,
        (("messaging", "sales"), ("e-mail", "sales")): 0.2})
    prechurn_share: float = 0.5
    prechurn_days: int = 30
    prechurn_sequence: tuple[tuple[str, str], ...] = (("e-mail", "service"), ("phone", "service"),
                                                      ("e-mail", "feedback"))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["prospect_sequences"] = {sequence_label(k): v for k, v in self.prospect_sequences.items()}
        d["prechurn_sequence"] = sequence_label(self.prechurn_sequence)
        return d


def sequence_label(steps) -> str:
    """A sequence of (channel, kind) steps as the touchpoint report names it: "phone sales → e-mail service"."""
    return " → ".join(f"{c} {k}" for c, k in steps)


@dataclass
class SimulatedTouchpoints:
    """The simulated interactions and the truth: ``params`` and what the draw realised."""

    interactions: pd.DataFrame
    params: TouchpointParams
    realised: dict[str, Any]
    tiers: pd.Series
    first_complaints: pd.DataFrame      # per complainant: day, unresolved, days to churn or the end, churned


def _days(dates: pd.Series) -> np.ndarray:
    return pd.to_datetime(dates).dt.normalize().to_numpy("datetime64[D]").astype(np.int64)


class _Purchases:
    """Sorted purchase days per customer code, for "next purchase on or after day t" queries."""

    def __init__(self, code: np.ndarray, day: np.ndarray, n: int) -> None:
        o = np.lexsort((day, code))
        self.code, self.day = code[o], day[o]
        self.key = self.code * 10**6 + self.day
        self.n = n

    def bought_within(self, code: np.ndarray, t: np.ndarray, window: int) -> np.ndarray:
        i = np.searchsorted(self.key, code * 10**6 + t, side="left")
        ok = i < len(self.key)
        j = np.minimum(i, len(self.key) - 1) if len(self.key) else i
        if not len(self.key):
            return np.zeros(len(code), bool)
        return ok & (self.code[j] == code) & (self.day[j] <= t + window - 1)

    def y_days(self, lo: np.ndarray, hi: np.ndarray, window: int) -> np.ndarray:
        """Per customer code: days t in [lo, hi] with a purchase within ``window`` days from t."""
        prev = np.r_[-(10**9), self.day[:-1]]
        prev = np.where(np.r_[False, self.code[1:] == self.code[:-1]], prev, -(10**9))
        a = np.maximum.reduce([self.day - window + 1, prev + 1, lo[self.code]])
        b = np.minimum(self.day, hi[self.code])
        return np.bincount(self.code, weights=np.maximum(b - a + 1, 0), minlength=self.n)


def _pick(rng: np.random.Generator, mix: dict[str, float], size: int) -> np.ndarray:
    names = list(mix)
    p = np.array([mix[k] for k in names], float)
    return np.array(names, dtype=object)[rng.choice(len(names), size=size, p=p / p.sum())]


def _uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _poisson_days(rng, who: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  per_day: float) -> tuple[np.ndarray, np.ndarray]:
    """A Poisson process of ``per_day`` events per day on each customer's [lo, hi]: (codes, days)."""
    n = np.maximum(hi[who] - lo[who] + 1, 0)
    cnt = rng.poisson(per_day * n)
    own = np.repeat(who, cnt)
    return own, _uniform_days(rng, lo[own], hi[own])


def _proportional_labels(rng: np.random.Generator, duration: np.ndarray, event: np.ndarray, share: float,
                         hazard_ratio: float) -> np.ndarray:
    """Binary labels for subjects with fixed (duration, event) under which the hazard of label 1 is
    ``hazard_ratio`` times that of label 0 (Cox's score at the true ratio has mean zero).

    Labels start as Bernoulli(``share``). Going through the events in time order, the subject that
    fails gets label 1 with probability HR n1 / (HR n1 + n0), n1 and n0 being the subjects at risk
    with each label; if its label differs it swaps labels with a random subject at risk holding the
    drawn label. Swaps keep the risk set's composition and the number of labels 1 unchanged."""
    import bisect

    n = len(duration)
    labels = rng.random(n) < share
    order = np.lexsort((~event.astype(bool), duration))       # by time; events before censorings at ties
    pos_of = np.empty(n, np.int64)
    pos_of[order] = np.arange(n)
    holders = {True: sorted(pos_of[labels].tolist()), False: sorted(pos_of[~labels].tolist())}
    draws = rng.random(n)
    picks = rng.random(n)
    for p in range(n):
        i = order[p]
        if not event[i]:
            continue
        at_risk = {lab: len(h) - bisect.bisect_left(h, p) for lab, h in holders.items()}
        n1, n0 = at_risk[True], at_risk[False]
        want = bool(draws[p] < hazard_ratio * n1 / (hazard_ratio * n1 + n0))
        if bool(labels[i]) == want:
            continue
        h = holders[want]
        first = bisect.bisect_left(h, p)
        if first >= len(h):
            continue
        q = h[first + int(picks[p] * (len(h) - first))]     # a subject at risk with the wanted label
        j = order[q]
        labels[i], labels[j] = want, not want
        h.remove(q)
        bisect.insort(h, p)
        other = holders[not want]
        other.remove(p)
        bisect.insort(other, q)
    return labels


def _surge(rng, P: TouchpointParams, kind: str, per_year: float, churned: np.ndarray, lo: np.ndarray,
           hi: np.ndarray, churn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The extra (factor - 1) x ``per_year`` contacts of ``kind`` in the pre-churn surge: (codes, days).
    Drawn from their own stream, so a log without a surge is the one the defaults always gave."""
    factor = float(P.prechurn_surge_factor.get(kind, 1.0))
    if P.prechurn_surge_days <= 0 or factor <= 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s_lo = np.maximum(lo, churn - P.prechurn_surge_days + 1)
    return _poisson_days(rng, np.flatnonzero(churned), s_lo, hi, (factor - 1) * per_year / YEAR_DAYS)


def simulate_interactions(customers: pd.DataFrame, transactions: pd.DataFrame, end: Any = None, seed: int = 0,
                          params: TouchpointParams | None = None) -> SimulatedTouchpoints:
    """Simulate a contact log for ``customers`` (customer_id; churn_date used when present) and
    their ``transactions`` (customer_id, date, amount) up to ``end`` (default: the last transaction day)."""
    from toolkit.segmentation.tiers import value_tiers   # the one tier rule (lazy: avoids an import cycle)

    P = params or TouchpointParams()
    streams = np.random.SeedSequence(seed).spawn(8)
    rs = [np.random.Generator(np.random.PCG64(s)) for s in streams]
    N = int(P.window_days)

    tx = transactions.loc[transactions["customer_id"].notna() & transactions["date"].notna(),
                          ["customer_id", "date", "amount"]].copy()
    tx["day"] = _days(tx["date"])
    end_day = (int(tx["day"].max()) if end is None
               else int(np.datetime64(pd.Timestamp(end).date(), "D").astype(np.int64)))
    tx = tx.loc[tx["day"] <= end_day]
    start_day = int(tx["day"].min())
    cu = customers.drop_duplicates("customer_id").set_index("customer_id")
    ids = np.array(sorted(set(cu.index.astype(str)) | set(tx["customer_id"].astype(str))), dtype=object)
    n = len(ids)
    code_of = pd.Series(np.arange(n), index=ids)
    tcode = code_of.reindex(tx["customer_id"].astype(str)).to_numpy()
    pos = tx["amount"].to_numpy(float) > 0
    pk = np.unique(tcode[pos] * 10**6 + tx["day"].to_numpy()[pos])
    pur = _Purchases(pk // 10**6, pk % 10**6, n)
    net = pd.Series(np.bincount(tcode, weights=tx["amount"].to_numpy(float), minlength=n), index=ids)
    buyer = np.bincount(pur.code, minlength=n) > 0
    tiers = value_tiers(net.where(buyer), P.tier_cutoffs, TIERS, "none")
    tier = tiers.to_numpy()

    first = np.full(n, -1, np.int64)
    first[pur.code[::-1]] = pur.day[::-1]
    churn = np.full(n, 10**9, np.int64)
    if "churn_date" in cu.columns:
        cd = cu["churn_date"].reindex(ids)
        has = cd.notna().to_numpy()
        churn[has] = _days(cd[has])
    churned = buyer & (churn <= end_day)
    stop = np.where(churned, churn, end_day)             # last day a contact can happen
    r0 = rs[0]
    pattern = churned & (stop - first >= P.prechurn_days + 60) & (r0.random(n) < P.prechurn_share)
    reg_end = np.where(pattern, churn - P.prechurn_days - 1, stop)   # end of the regular contacts
    lo = np.where(buyer, first, 0)
    hi = np.where(buyer, reg_end, -1)
    parts: list[tuple] = []

    # ------------------------------------------------------------ outbound sales contacts (tilted)
    active_end = buyer & ~churned
    w_lo = np.where(active_end, np.maximum(first, end_day - P.cadence_window_days + 1), 0)
    w_hi = np.where(active_end, end_day, -1)
    n_w = np.maximum(w_hi - w_lo + 1, 0)
    y_w = pur.y_days(w_lo, w_hi, N)
    r1 = rs[1]
    realised_k = {}
    for t in TIERS:
        sel = np.flatnonzero(buyer & (tier == t))
        in_t = tier == t
        p0 = float(y_w[in_t].sum() / n_w[in_t].sum()) if n_w[in_t].sum() > 0 else 0.0
        for ch, share in P.channel_mix[t].items():
            theta = float(P.conversion_odds_ratio.get(ch, 1.0)) - 1.0
            k = P.contacts_per_quarter[t] * share / QUARTER_DAYS / (1 + theta * p0)
            env = k * max(1.0, 1.0 + theta)
            own, day = _poisson_days(r1, sel, lo, hi, env)
            y = pur.bought_within(own, day, N)
            keep = r1.random(len(own)) < k * (1 + theta * y) / env
            parts.append((own[keep], day[keep], np.full(keep.sum(), ch, object), "sales", None))
            realised_k[f"{t}/{ch}"] = k

    # ------------------------------------------------------------ service and feedback (no effect)
    r2 = rs[2]
    buyers = np.flatnonzero(buyer)
    for kind, rate, mix in (("service", P.service_per_year, P.service_mix),
                            ("feedback", P.feedback_per_year, P.feedback_mix)):
        own, day = _poisson_days(r2, buyers, lo, hi, rate / YEAR_DAYS)
        if kind == "service":
            outcome = np.where(r2.random(len(own)) < 0.85, "resolved", "unresolved").astype(object)
        else:
            outcome = np.full(len(own), "info", object)
        parts.append((own, day, _pick(r2, mix, len(own)), kind, outcome))
    own, day = _surge(rs[6], P, "service", P.service_per_year, churned, lo, hi, churn)
    outcome = np.where(rs[6].random(len(own)) < P.prechurn_service_resolved, "resolved", "unresolved").astype(object)
    parts.append((own, day, _pick(rs[6], P.service_mix, len(own)), "service", outcome))

    # ------------------------------------------------------------ complaints
    r3 = rs[3]
    c_own, c_day = _poisson_days(r3, buyers, lo, hi, P.complaints_per_year / YEAR_DAYS)
    extra = _surge(rs[5], P, "complaint", P.complaints_per_year, churned, lo, hi, churn)
    c_own, c_day = np.r_[c_own, extra[0]], np.r_[c_day, extra[1]]
    o = np.lexsort((c_day, c_own))
    c_own, c_day = c_own[o], c_day[o]
    # no complaint within 2 x follow_up_days of the customer's previous one: cases never run together
    gap_ok = np.r_[True, (c_own[1:] != c_own[:-1]) | (np.diff(c_day) > 2 * P.follow_up_days)] if len(c_own) else \
        np.zeros(0, bool)
    c_own, c_day = c_own[gap_ok], c_day[gap_ok]
    is_first = np.r_[True, c_own[1:] != c_own[:-1]] if len(c_own) else np.zeros(0, bool)
    unresolved = r3.random(len(c_own)) < 1 - P.p_resolved
    f_idx = np.flatnonzero(is_first)
    dur = (stop[c_own[f_idx]] - c_day[f_idx]).astype(float)
    event = churned[c_own[f_idx]].astype(int)
    if len(f_idx):
        unresolved[f_idx] = _proportional_labels(r3, dur, event, 1 - P.p_resolved, P.hazard_ratio_unresolved)
    channel = _pick(r3, P.complaint_mix, len(c_own))
    first_contact = r3.random(len(c_own)) < P.p_first_contact
    resolve_in = 1 + r3.poisson(max(P.mean_days_to_resolve - 1, 0.0), len(c_own))
    room = hi[c_own] - c_day            # days left before the customer's regular contacts end
    resolve_in = np.minimum(resolve_in, P.follow_up_days - 1)
    first_contact |= room < 1
    resolve_in = np.minimum(resolve_in, np.maximum(room, 1))
    outcome = np.where(unresolved, "unresolved", np.where(first_contact, "resolved", "unresolved")).astype(object)
    parts.append((c_own, c_day, channel, "complaint", outcome))
    later = ~unresolved & ~first_contact
    parts.append((c_own[later], c_day[later] + resolve_in[later], channel[later], "complaint",
                  np.full(later.sum(), "resolved", object)))
    chase_in = 1 + np.floor(r3.random(len(c_own)) * (P.follow_up_days - 1)).astype(np.int64)
    chase = unresolved & (r3.random(len(c_own)) < P.chase_share) & (chase_in <= room)
    parts.append((c_own[chase], c_day[chase] + chase_in[chase], channel[chase], "complaint",
                  np.full(chase.sum(), "unresolved", object)))

    # ------------------------------------------------------------ sequences
    r4 = rs[4]
    labels = list(P.prospect_sequences)
    probs = np.array([P.prospect_sequences[k] for k in labels], float)
    prospects = np.flatnonzero((buyer & (first - P.prospect_days >= start_day)) | ~buyer)
    prospects = prospects[r4.random(len(prospects)) < P.prospect_share]
    pick = r4.choice(len(labels), size=len(prospects), p=probs / probs.sum())
    anchor = np.where(buyer[prospects], first[prospects],
                      _uniform_days(r4, np.full(len(prospects), start_day + P.prospect_days),
                                    np.full(len(prospects), end_day)))
    seq_rows: list[tuple[int, int, str, str, Any]] = []
    for who, lab, at in zip(prospects.tolist(), pick.tolist(), anchor.tolist()):
        steps = labels[lab]
        days = np.sort(r4.choice(np.arange(at - P.prospect_days, at), size=len(steps), replace=False))
        seq_rows += [(who, int(d), c, k, None) for d, (c, k) in zip(days, steps)]
    for who in np.flatnonzero(pattern).tolist():
        steps = P.prechurn_sequence
        days = np.sort(r4.choice(np.arange(churn[who] - P.prechurn_days + 1, churn[who] + 1), size=len(steps),
                                 replace=False))
        outcomes = {"service": "unresolved", "feedback": "info", "complaint": "unresolved"}
        seq_rows += [(who, int(d), c, k, outcomes.get(k)) for d, (c, k) in zip(days, steps)]
    if seq_rows:
        s_own, s_day, s_ch, s_kind, s_out = (np.array(x, dtype=object) for x in zip(*seq_rows))
        parts.append((s_own.astype(np.int64), s_day.astype(np.int64), s_ch, s_kind, s_out))

    own = np.concatenate([p[0] for p in parts]).astype(np.int64)
    day = np.concatenate([p[1] for p in parts]).astype(np.int64)
    chan = np.concatenate([np.asarray(p[2], object) for p in parts])
    kind = np.concatenate([np.full(len(p[0]), p[3], object) if isinstance(p[3], str) else np.asarray(p[3], object)
                           for p in parts])
    outc = np.concatenate([np.full(len(p[0]), None, object) if p[4] is None else np.asarray(p[4], object)
                           for p in parts])
    frame = pd.DataFrame({"customer_id": ids[own], "date": day.astype("datetime64[D]").astype("datetime64[ns]"),
                          "channel": chan, "kind": kind, "outcome": outc})
    frame = frame.sort_values(["date", "customer_id", "kind", "channel"], kind="stable").reset_index(drop=True)
    realised = {
        "rows": int(len(frame)),
        "rows_by_kind": frame["kind"].value_counts().to_dict(),
        "first_complaints": int(len(f_idx)),
        "first_complaints_unresolved": int(unresolved[f_idx].sum()) if len(f_idx) else 0,
        "first_complaints_followed_by_churn": int(event.sum()) if len(f_idx) else 0,
        "complaint_cases": int(len(c_own)),
        "customer_years_of_complaint_exposure": float(np.maximum(hi[buyers] - lo[buyers] + 1, 0).sum() / YEAR_DAYS),
        "prospects_with_sequence": int(len(prospects)),
        "churners_with_prechurn_sequence": int(pattern.sum()),
        "contact_intensity_per_day": realised_k,
    }
    first_frame = pd.DataFrame({"customer_id": ids[c_own[f_idx]],
                                "date": c_day[f_idx].astype("datetime64[D]").astype("datetime64[ns]"),
                                "unresolved": unresolved[f_idx], "duration": dur, "churned": event.astype(bool)})
    return SimulatedTouchpoints(frame, P, realised, tiers.rename("value_tier"), first_frame)
