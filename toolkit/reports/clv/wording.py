"""The CLV report's sentences about fits and groups, built from the domain results.

Each function returns plain text (its data values not yet escaped: a section adds it with
``sec.say("{s}", s=...)``). Fit flags (:func:`toolkit.clv.models.base.fit_flag`) become sentences that say
what a flagged fit means and that its intervals are withheld; groups smaller than the minimum
size are named as too few customers and never ranked first or last.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from toolkit.clv.models.base import fit_flag
from toolkit.clv.evaluation.scorecard import LOGLIK_TIE
from toolkit.clv.valuation.per_customer import MIN_GROUP_SIZE, TOO_FEW

__all__ = ["without_empty_notes", "alive_caveat", "flag_sentences", "bic_sentence", "final_fit_note",
           "prob_alive_sentence", "group_ranking_sentence", "top_group_sentence", "cac_sentence"]


def without_empty_notes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its note columns (interval_note, fit_note, fit_flag; note of value_by_group) when
    they are all empty: on regular data the tables look as they did before the flags existed."""
    cols = [c for c in ("interval_note", "fit_note", "fit_flag", "note") if c in frame.columns
            and not frame[c].astype(str).ne("").any()]
    return frame.drop(columns=cols)


def alive_caveat(model) -> str:
    """" (1 by construction: the fit lets nobody drop out)" for a no-dropout fit, else ""."""
    return " (1 by construction: the fit is at the no-dropout boundary)" if "no-dropout" in fit_flag(model)[1] else ""


def flag_sentences(models: Mapping[str, object]) -> list[str]:
    """One plain sentence per flagged model: what the flag means and that its intervals are withheld."""
    out = []
    for name, m in models.items():
        flag, reason = fit_flag(m)
        if not flag:
            continue
        what = m.diagnostics_.boundary_note if flag == "boundary" and m.diagnostics_.boundary_note else \
            "the likelihood is nearly flat in some direction, so the data cannot pin those parameters down"
        out.append(f"{name} is flagged, {reason}. {what[0].upper() + what[1:]}. The estimates describe that limiting "
                   "case; its standard errors and intervals would suggest a precision the data do not have, so they "
                   "are not shown.")
    return out


def bic_sentence(comparison: pd.DataFrame, tie: float | None = None) -> str:
    """Which model the calibration BIC prefers, with the others' distance, saying when that model is
    flagged and when all log-likelihoods tie (within ``tie``, default the scorecard's LOGLIK_TIE)."""
    tie = LOGLIK_TIE if tie is None else tie
    best = comparison.sort_values("bic", kind="stable").iloc[0]
    others = ", ".join(f"{r.model} {r.delta_bic:,.1f} BIC points behind" for r in comparison.itertuples()
                       if r.model != best["model"]) or "not available"
    text = (f"By BIC the calibration data are described best by {best['model']} (log-likelihood "
            f"{best['log_likelihood']:,.1f}); the others are {others}.")
    ll = comparison["log_likelihood"]
    if len(comparison) > 1 and ll.max() - ll.min() <= tie:
        text += (f" The log-likelihoods are all within {tie} of each other, so the data do not tell the models apart "
                 "and this order means nothing.")
    note = best.get("fit_note", "") if hasattr(best, "get") else ""
    if note:
        text += f" That fit is flagged ({note})."
    return text


def final_fit_note(name: str, model) -> str:
    """A sentence for the refitted model when its fit is flagged ("" when it is a regular maximum)."""
    flag, reason = fit_flag(model)
    if not flag:
        return ""
    return (f"The {name} fit on all data is flagged ({reason}). The table shows the point estimates only; they "
            "describe a limiting case of the model, not precisely known values.")


def prob_alive_sentence(model, prob_alive: pd.Series) -> str:
    """Mean P(alive) and the share of customers more likely gone, or, for a fit at the no-dropout
    boundary, that P(alive) is 1 by construction (the model lets nobody drop out), not a finding."""
    pa = pd.Series(prob_alive, dtype=float)
    flag, reason = fit_flag(model)
    if flag and "no-dropout" in reason:
        return (f"Mean P(alive) across customers is {100 * pa.mean():.1f}%, but only because the fit is at the "
                "no-dropout boundary: the model then lets no customer drop out, so P(alive) is 1 by construction and "
                "says nothing about who is still active. Use recency (time since the last purchase) to judge that "
                "instead.")
    text = (f"Mean P(alive) across customers: {100 * pa.mean():.1f}%; {(pa < 0.5).sum():,.0f} customers "
            f"({100 * (pa < 0.5).mean():.1f}%) are more likely gone than active (P(alive) below 0.5).")
    if flag:
        text += f" These come from a flagged fit ({reason}): read them with care."
    return text


def _rankable(by_group: pd.DataFrame, min_group_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    big = by_group["customers"] >= min_group_size
    return by_group.loc[big], by_group.loc[~big]


def _small_text(small: pd.DataFrame, name: str, min_group_size: int) -> str:
    if small.empty:
        return ""
    listed = ", ".join(f"{g} ({n:,})" for g, n in zip(small[name].astype(str), small["customers"]))
    return (f" {len(small)} {'group has' if len(small) == 1 else 'groups have'} fewer than {min_group_size} customers "
            f"({listed}): shown as {TOO_FEW} and not ranked.")


def group_ranking_sentence(by_group: pd.DataFrame, name: str, currency: str,
                           min_group_size: int = MIN_GROUP_SIZE, label: str | None = None) -> str:
    """"Mean CLV is highest in A (...) and lowest in B (...)" over the groups with at least
    ``min_group_size`` customers; smaller groups are named as too few customers and never ranked."""
    label = label or name.replace("_", " ")
    big, small = _rankable(by_group, min_group_size)
    tail = _small_text(small, name, min_group_size)
    if len(big) < 2:
        only = f"only {big[name].iloc[0]} has" if len(big) == 1 else f"no {label} has"
        return f"Mean CLV is not ranked by {label}: {only} {min_group_size} or more customers." + tail
    top = big.sort_values("mean_clv", ascending=False, kind="stable").iloc[0]
    low = big.sort_values("mean_clv", kind="stable").iloc[0]
    return (f"Mean CLV is highest in {top[name]} ({top['mean_clv']:,.0f} {currency}) and lowest in {low[name]} "
            f"({low['mean_clv']:,.0f} {currency})" + (f" among the {label}s with at least {min_group_size} customers."
                                                     if len(small) else ".") + tail)


def top_group_sentence(by_group: pd.DataFrame, name: str, currency: str,
                       min_group_size: int = MIN_GROUP_SIZE) -> str:
    """The group holding the largest share of total CLV among those with ``min_group_size`` customers
    (or that no group holds any, when the total is 0)."""
    big, small = _rankable(by_group, min_group_size)
    tail = _small_text(small, name, min_group_size)
    if big.empty:
        return f"No {name.replace('_', ' ')} has {min_group_size} or more customers, so none is singled out." + tail
    if not by_group["total_clv"].sum() > 0:
        return f"No {name.replace('_', ' ')} holds any CLV: the total is 0 {currency}." + tail
    t = big.sort_values("total_clv", ascending=False, kind="stable").iloc[0]
    return (f"{t[name]} customers hold {100 * t['clv_share']:.1f}% of total CLV with a mean of "
            f"{t['mean_clv']:,.0f} {currency}." + tail)


def cac_sentence(by_group: pd.DataFrame, horizon: int, min_group_size: int = MIN_GROUP_SIZE,
                 name: str = "region") -> str:
    """The range of mean CLV / CAC over the groups with ``min_group_size`` customers, and those below 1."""
    big, small = _rankable(by_group.loc[by_group["clv_cac"].notna()], min_group_size)
    if big.empty:
        return (f"CAC is the acquisition spend per customer won over the whole period; no {name} has "
                f"{min_group_size} or more customers, so CLV / CAC is not compared.")
    weak = big.loc[big["clv_cac"] < 1, name].astype(str).tolist()
    text = (f"CAC is the acquisition spend per customer won over the whole period. Mean {horizon}-month CLV / CAC "
            f"ranges from {big['clv_cac'].min():.2f} to {big['clv_cac'].max():.2f}")
    text += (f"; in {', '.join(weak)} the next {horizon} months of margin do not pay back what winning a customer costs"
             if weak else f"; every {name}'s customers earn back their acquisition cost within the horizon")
    if len(small):
        text += f" ({name}s with fewer than {min_group_size} customers left out: {', '.join(small[name].astype(str))})"
    return text + "."
