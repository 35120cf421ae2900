"""The customer satisfaction survey report (``notebooks/05_survey.ipynb``), section by section.

* :func:`overview` — the respondents with their region, segment and wave, what the survey holds,
  or that the dataset has no survey; its ``value`` (:class:`SurveyData`) is what the later
  sections read;
* :func:`answer_quality` — blank, coded and out-of-range answers (publishes ``survey_answer_quality``);
* :func:`item_answers` — how each item is answered (diverging bars, most and least favourable item);
* :func:`scores_by_group` — CSAT and NPS overall and per group against the other respondents
  (publishes ``survey_csat`` and ``survey_nps``);
* :func:`reliability` — Cronbach's alpha per construct and item statistics (``survey_reliability``);
* :func:`drivers` — key drivers of overall satisfaction and the importance x performance matrix
  (``survey_drivers``, ``survey_ipa``);
* :func:`publish` — the headline figures the sections collected (metrics ``survey``).

Published results keep the names, frames, units and descriptions the notebook had before the
report layer; the tables a reader sees show shares as percentages, intervals as one column,
p-values to two significant digits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from toolkit import survey as sv
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_int, fmt_pct
from toolkit.reports.section import Section, degrade_on_data_limits
from toolkit.survey.plots import plot_diverging, plot_drivers, plot_intervals, plot_ipa


@dataclass
class SurveyData:
    """What the survey sections share: the respondents (surveys with region, segment and wave),
    the answer scale, breakdowns, constructs and items. ``headline`` collects the figures each
    section adds for the ``survey`` metrics (see :func:`publish`)."""

    available: bool
    surveys: pd.DataFrame | None = None
    frame: pd.DataFrame | None = None
    config: dict[str, Any] = field(default_factory=dict)
    scale: tuple[int, int] = (1, 5)
    groups: list[str] = field(default_factory=list)
    constructs: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
    has_nps: bool = False
    headline: dict[str, Any] = field(default_factory=dict)


def _p(p: float) -> str | None:
    return None if pd.isna(p) else f"{p:.2g}"


def _verdict(row: pd.Series) -> str:
    return str(row["direction"]) if bool(row["significant"]) and row["direction"] else "no"


def _interval(lo: float, hi: float, f) -> str | None:
    return None if pd.isna(lo) or pd.isna(hi) else f"{f(lo)} to {f(hi)}"


def _signed(x: float) -> str | None:
    return None if pd.isna(x) else f"{x:+.1f}"


# ------------------------------------------------------------------------------------ sections
def overview(rep: ReportContext, run_dir=None, privacy: bool = True) -> Section[SurveyData]:
    """Who answered and what the survey holds (scale, items, constructs, NPS, breakdowns and where
    the segment comes from), or that the dataset has no survey responses."""
    ds = rep.ds
    have = bool(ds.has("surveys") and len(ds.surveys) > 0)
    data = SurveyData(available=have, headline={"dataset": ds.name, "available": have})
    sec: Section[SurveyData] = Section(value=data)
    if not have:
        sec.say("**Dataset {name} has no survey responses**, so there is nothing to report here. Add a surveys table "
                "to the dataset spec to get this report.", name=ds.title)
        return sec
    data.surveys, data.config, data.scale = ds.surveys, sv.settings(ds), sv.scale(ds)
    extra = [g for g in (data.config.get("groups") or []) if g in ds.surveys.columns]
    data.frame = sv.respondents(ds, run_dir, privacy, extra)
    data.groups = sv.available_groups(data.frame, extra)
    data.constructs = sv.constructs(ds.surveys, data.config)
    data.names = sv.labels(data.config, data.constructs)
    data.items = sv.item_columns(ds.surveys)
    data.has_nps = bool("nps" in data.frame.columns and data.frame["nps"].notna().any())
    lo, hi = data.scale
    sec.say("**{n}** responses, answer scale **{lo}-{hi}**, **{k}** Likert items in **{c}** constructs "
            "({names}); overall satisfaction is the column `overall_satisfaction`.", n=fmt_int(len(data.frame)),
            lo=lo, hi=hi, k=len(data.items), c=len(data.constructs),
            names=", ".join(f"{v} ({k})" for k, v in data.names.items()))
    if data.has_nps:
        sec.say("NPS comes from the 0-10 recommendation question.")
    else:
        sec.say("The survey has no 0-10 recommendation question, so **no NPS** is reported.")
    sec.say("Breakdowns: {g}.",
            g=", ".join(data.groups) or "none (the data have no region, segment, wave or grouping column)")
    if "segment" in data.groups:
        sec.say("Segments come from {seg}.", seg=sv.segment_source(ds, run_dir, privacy)[1])
    return sec


def answer_quality(rep: ReportContext, data: SurveyData) -> Section[pd.DataFrame]:
    """Answers, blanks, missing-answer codes, out-of-range codes and non-numbers per survey column."""
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if not data.available:
        return sec
    aq, tot = sv.answer_quality(rep.ds), sv.totals(rep.ds)
    sec.value = aq
    lo, hi = data.scale
    sec.table(aq, "Answers per survey column", units="responses", max_rows=60)
    sec.say("Of {cells} item answers expected, **{miss}** were left blank, **{codes}** carried a missing-answer code "
            "and **{oor}** were outside the {lo}-{hi} scale (set to missing); **{nan}** were not numbers.",
            cells=fmt_int(len(data.frame) * len(data.items)), miss=fmt_int(tot["missing_answers"]),
            codes=fmt_int(tot["missing_codes"]), oor=fmt_int(tot["out_of_range"]), nan=fmt_int(tot["not_a_number"]),
            lo=lo, hi=hi)
    data.headline.update({"responses": len(data.frame), "scale": list(data.scale),
                          **{k: v for k, v in tot.items() if k != "responses"}})
    rep.out.table("survey_answer_quality", aq.reset_index(), description="Answers, missing answers, missing codes "
                  "and out-of-range codes per survey column", units={"*": "responses"})
    return sec


def item_answers(rep: ReportContext, data: SurveyData) -> Section[pd.Series]:
    """Diverging bars of the answers per item and the most and least favourable item;
    ``value``: each item's share of answers above the scale midpoint."""
    sec: Section[pd.Series] = Section(value=pd.Series(dtype=float))
    if not data.available:
        return sec
    if not data.items:
        sec.say("The survey has no Likert items besides overall satisfaction.")
        return sec
    lo, hi = data.scale
    dist = sv.distribution(data.surveys, ["overall_satisfaction", *data.items], data.scale)
    sec.figure(plot_diverging(dist, data.scale, f"Answers per item (scale {lo}-{hi})")[0])
    agree = dist.loc[data.items, [p for p in range(lo, hi + 1) if p > (lo + hi) / 2]].sum(axis=1)
    sec.value = agree
    sec.say("Most favourable item: **{best}** ({b} of answers above the midpoint); "
            "least favourable: **{worst}** ({w}).",
            best=agree.idxmax(), b=fmt_pct(agree.max()), worst=agree.idxmin(), w=fmt_pct(agree.min()))
    return sec


def csat_table(c: pd.DataFrame) -> pd.DataFrame:
    """CSAT by group (from :func:`toolkit.survey.csat_by`) as a reader sees it."""
    g = c.index.name or "group"
    return pd.DataFrame({
        g: c.index.astype(str),
        "responses": c["responses"].astype(int).to_numpy(),
        "top two": c["top2"].astype(int).to_numpy(),
        "CSAT": [fmt_pct(v) for v in c["csat"]],
        "interval": [_interval(a, b, fmt_pct) for a, b in zip(c["ci_low"], c["ci_high"])],
        "others": [None if pd.isna(v) else fmt_pct(v) for v in c["rest"]],
        "difference": [None if pd.isna(v) else f"{100 * v:+.1f}" for v in c["difference"]],
        "adjusted p": [_p(p) for p in c["p_adj"]],
        "differs": [_verdict(r) for _, r in c.iterrows()],
    })


def nps_table(n: pd.DataFrame) -> pd.DataFrame:
    """NPS by group (from :func:`toolkit.survey.nps_by`) as a reader sees it."""
    g = n.index.name or "group"
    return pd.DataFrame({
        g: n.index.astype(str),
        "responses": n["responses"].astype(int).to_numpy(),
        "promoters": [fmt_pct(v) for v in n["promoters"]],
        "passives": [fmt_pct(v) for v in n["passives"]],
        "detractors": [fmt_pct(v) for v in n["detractors"]],
        "NPS": [_signed(v) for v in n["nps"]],
        "interval": [_interval(a, b, _signed) for a, b in zip(n["ci_low"], n["ci_high"])],
        "others": [_signed(v) for v in n["rest"]],
        "difference": [_signed(v) for v in n["difference"]],
        "adjusted p": [_p(p) for p in n["p_adj"]],
        "differs": [_verdict(r) for _, r in n.iterrows()],
    })


def scores_by_group(rep: ReportContext, data: SurveyData, alpha: float = 0.05, correction: str = "holm",
                    n_boot: int = 2000) -> Section[dict[str, pd.DataFrame]]:
    """Overall CSAT (and NPS) with intervals, then per breakdown a table, a figure and the groups
    that differ from the other respondents; ``value``: the published ``csat`` and ``nps`` frames."""
    sec: Section[dict[str, pd.DataFrame]] = Section(value={})
    if not data.available:
        return sec
    frame, scale = data.frame, data.scale
    overall = sv.csat_by(frame, None, scale, alpha, correction).iloc[0]
    data.headline.update({"csat": overall["csat"], "csat_ci": [overall["ci_low"], overall["ci_high"]]})
    level = f"{100 * (1 - alpha):.0f}%"
    text = "Overall CSAT is **{c}** ({lev} interval {lo}-{hi}, {n} answers)".format(
        c=fmt_pct(overall["csat"]), lev=level, lo=fmt_pct(overall["ci_low"]), hi=fmt_pct(overall["ci_high"]),
        n=fmt_int(overall["responses"]))
    if data.has_nps:
        on = sv.nps_by(frame, None, alpha, correction, n_boot).iloc[0]
        data.headline.update({"nps": on["nps"], "nps_ci": [on["ci_low"], on["ci_high"]]})
        text += "; NPS is **{v:+.1f}** points ({lo:+.1f} to {hi:+.1f})".format(v=on["nps"], lo=on["ci_low"],
                                                                            hi=on["ci_high"])
    sec.text(text + ".")
    csat_tables, nps_tables = [], []
    for g in data.groups:
        c = sv.csat_by(frame, g, scale, alpha, correction)
        csat_tables.append(c.reset_index().rename(columns={g: "group"}).assign(breakdown=g))
        sec.table(csat_table(c), f"CSAT (top-2-box) by {g}",
                  units={"CSAT / interval / others": "share of answers", "top two": "answers in the top two points",
                         "difference": "percentage points", "adjusted p": f"{correction} across {g} groups"},
                  index=False)
        sec.figure(plot_intervals(c, "csat", f"CSAT (top-2-box) by {g}",
                                  "CSAT: share of answers in the top two points (%)", overall["csat"], scale=100)[0])
        for idx, r in c.loc[c["significant"]].iterrows():
            sec.say("- {g} **{v}**: CSAT {c} vs {rest} for the other respondents ({d}; adjusted p = {p:.2g}).", g=g,
                    v=str(idx), c=fmt_pct(r["csat"]), rest=fmt_pct(r["rest"]), d=r["direction"], p=r["p_adj"])
        if not c["significant"].any():
            sec.say("No {g} group differs significantly in CSAT from the other respondents.", g=g)
        if data.has_nps:
            n = sv.nps_by(frame, g, alpha, correction, n_boot)
            nps_tables.append(n.reset_index().rename(columns={g: "group"}).assign(breakdown=g))
            sec.table(nps_table(n), f"NPS by {g}",
                      units={"NPS / interval / others / difference": "points",
                             "promoters / passives / detractors": "share of answers",
                             "adjusted p": f"{correction} across {g} groups"}, index=False)
            sec.figure(plot_intervals(n, "nps", f"Net promoter score by {g}", "NPS (points, -100..100)",
                                      on["nps"])[0])
            for idx, r in n.loc[n["significant"]].iterrows():
                sec.say("- {g} **{v}**: NPS {x:+.1f} vs {rest:+.1f} points for the others ({d}; adjusted p = {p:.2g}).",
                        g=g, v=str(idx), x=r["nps"], rest=r["rest"], d=r["direction"], p=r["p_adj"])
    if csat_tables:
        sec.value["csat"] = pd.concat(csat_tables, ignore_index=True)
        rep.out.table("survey_csat", sec.value["csat"],
                      description="CSAT (top-2-box) by breakdown and group, Wilson interval, test vs the rest",
                      units={"csat": "share of answers"})
    if nps_tables:
        sec.value["nps"] = pd.concat(nps_tables, ignore_index=True)
        rep.out.table("survey_nps", sec.value["nps"],
                      description="NPS by breakdown and group, bootstrap interval and test vs the rest",
                      units={"nps": "points"})
    return sec


def reliability(rep: ReportContext, data: SurveyData, min_alpha: float = 0.7) -> Section[pd.DataFrame]:
    """Cronbach's alpha per construct, item statistics and the constructs below ``min_alpha``."""
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if not data.available or not data.constructs:
        return sec
    names, (lo, hi) = data.names, data.scale
    rel = sv.reliability(data.surveys, data.constructs, names)
    sec.value = rel
    sec.table(rel, "Cronbach's alpha per construct", units={"items / complete_responses": "count",
              "alpha / mean_inter_item_r": "coefficient"}, precision=3)
    sec.table(sv.item_statistics(data.surveys, data.constructs), "Item statistics",
              units={"mean / sd": f"answer scale {lo}-{hi}", "item_total_r": "corrected item-total r",
                     "alpha_if_deleted": "alpha of the construct without the item"}, precision=3, max_rows=60)
    weak = rel.loc[rel["alpha"] < min_alpha]
    multi = rel.loc[rel["alpha"].notna()]
    if not len(multi):
        sec.say("No construct has an alpha (each has a single item, or too few complete answers), so the "
                "consistency of the constructs cannot be checked.")
    else:
        sec.say("Alpha ranges from **{lo:.2f}** ({lo_c}) to **{hi:.2f}** ({hi_c}).", lo=multi["alpha"].min(),
                lo_c=names[multi["alpha"].idxmin()], hi=multi["alpha"].max(), hi_c=names[multi["alpha"].idxmax()])
        if len(weak):
            sec.say("Below {m}: {w} — their items do not measure one thing consistently; "
                    "read their scores with care.",
                    m=min_alpha, w=", ".join(f"{names[i]} ({a:.2f})" for i, a in weak["alpha"].items()))
        else:
            sec.say("Every multi-item construct reaches alpha >= {m}.", m=min_alpha)
    data.headline["cronbach_alpha"] = {k: float(v) for k, v in rel["alpha"].dropna().items()}
    if len(rel):
        rep.out.table("survey_reliability", rel.reset_index(), description="Cronbach's alpha per construct")
    return sec


def drivers_table(kd: pd.DataFrame) -> pd.DataFrame:
    """Key drivers (from :func:`toolkit.survey.key_drivers`) as a reader sees them."""
    return pd.DataFrame({
        "driver": kd["label"].astype(str).to_numpy(),
        "r": kd["r"].to_numpy(),
        "beta": kd["beta"].to_numpy(),
        "interval of beta": [_interval(a, b, lambda x: f"{x:.2f}") for a, b in zip(kd["ci_low"], kd["ci_high"])],
        "p": [_p(p) for p in kd["p_value"]],
        "relative weight": [None if pd.isna(v) else fmt_pct(v) for v in kd["relative_weight"]],
        "LMG": [None if pd.isna(v) else fmt_pct(v) for v in kd["lmg"]],
        "importance": [fmt_pct(v) for v in kd["importance"]],
    })


def ipa_table(ipa: pd.DataFrame) -> pd.DataFrame:
    """The importance x performance matrix as a reader sees it."""
    return pd.DataFrame({"driver": ipa["label"].astype(str).to_numpy(),
                         "importance": [fmt_pct(v) for v in ipa["importance"]],
                         "performance": [f"{v:.1f}" for v in ipa["performance"]],
                         "quadrant": ipa["quadrant"].to_numpy()})


def drivers(rep: ReportContext, data: SurveyData, alpha: float = 0.05) -> Section[pd.DataFrame]:
    """Key drivers of overall satisfaction (relative importance), the importance x performance
    matrix and where to concentrate; ``value``: the key-driver frame (empty when there is none)."""
    sec: Section[pd.DataFrame] = Section(value=pd.DataFrame())
    if not data.available or not data.constructs:
        return sec
    cons, names = data.constructs, data.names
    candidates = [d for d in (data.config.get("drivers") or list(cons)) if d in cons]
    scores = sv.construct_scores(data.surveys, cons)
    try:
        kd = sv.key_drivers(scores, data.surveys["overall_satisfaction"], candidates, alpha, names)
    except ValueError as exc:
        sec.say("No key-driver analysis: {e}.", e=str(exc))
        return sec
    if not len(kd):
        return sec
    sec.value = kd
    sec.table(drivers_table(kd), f"Key drivers of overall satisfaction (R² = {kd.attrs['r2']:.3f}, "
              f"n = {kd.attrs['n']:,})", units={"r / beta / interval of beta": "standardised",
                                               "relative weight / LMG": "share of variance (R² units)",
                                               "importance": "share of R²"}, index=False, precision=3)
    sec.figure(plot_drivers(kd, "Relative importance of the drivers of overall satisfaction")[0])
    top, low = kd.iloc[0], kd.iloc[-1]
    sec.say("The drivers explain **{r2}** of the variance of overall satisfaction. The most important is **{t}** "
            "({imp} of the explained variance, beta = {b:.2f}); the least important is **{l}** ({limp}).",
            r2=fmt_pct(kd.attrs["r2"]), t=top["label"], imp=fmt_pct(top["importance"]), b=top["beta"],
            l=low["label"], limp=fmt_pct(low["importance"]))
    ipa = sv.importance_performance(kd, scores, data.scale)
    sec.table(ipa_table(ipa), "Importance x performance", units={"importance": "share of R²",
              "performance": "mean score rescaled to 0-100"}, index=False)
    sec.figure(plot_ipa(ipa, "Importance x performance of the satisfaction drivers")[0])
    focus = ipa.loc[ipa["quadrant"] == "Concentrate here", "label"].tolist()
    sec.say("Concentrate here (important but below-average performance): **{f}**.",
            f=", ".join(focus) if focus else "none")
    data.headline.update({"drivers_r2": kd.attrs["r2"], "top_driver": str(top.name),
                          "concentrate_here": [str(i) for i in ipa.index[ipa["quadrant"] == "Concentrate here"]]})
    rep.out.table("survey_drivers", kd.reset_index(), description="Key drivers of overall satisfaction",
                  units={"importance": "share of R²"})
    rep.out.table("survey_ipa", ipa.reset_index(names="driver"), description="Importance x performance matrix",
                  units={"performance": "0-100"})
    return sec


def publish(rep: ReportContext, data: SurveyData) -> None:
    """Publish the headline figures the sections collected (metrics ``survey``)."""
    rep.out.metrics("survey", data.headline, description="Headline survey figures")


degrade_on_data_limits(globals())
