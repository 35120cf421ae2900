import sys
sys.path.insert(0, "tools")
from nbbuild import build

build("notebooks/05_survey.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports
alpha = 0.05  # significance level of intervals and tests
correction = "holm"  # correction across the groups of a breakdown: "holm" or "fdr_bh"
n_boot = 2000  # bootstrap resamples for NPS intervals and tests
min_alpha = 0.7  # Cronbach's alpha below this marks a construct as not reliable
'''),
("code", '''
import matplotlib.pyplot as plt
import pandas as pd

from toolkit import survey as sv
from toolkit.data import load_dataset
from toolkit.plotting import apply_style
from toolkit.reports.format import fmt_int, fmt_pct, say, show_table
from toolkit.results import RunResults
from toolkit.survey.plots import plot_diverging, plot_drivers, plot_intervals, plot_ipa

apply_style()
ds = load_dataset(dataset)
out = RunResults(run_dir, notebook="survey", pseudonymise=privacy)
have = ds.has("surveys") and len(ds.surveys) > 0
headline = {"dataset": ds.name, "available": bool(have)}
if have:
    cfg = sv.settings(ds)
    scale = sv.scale(ds)
    extra = [g for g in (cfg.get("groups") or []) if g in ds.surveys.columns]
    frame = sv.respondents(ds, run_dir, privacy, extra)
    groups = sv.available_groups(frame, extra)
    cons = sv.constructs(ds.surveys, cfg)
    names = sv.labels(cfg, cons)
    items = sv.item_columns(ds.surveys)
    has_nps = "nps" in frame.columns and frame["nps"].notna().any()
'''),
("md", '''
# Customer satisfaction survey

How customers answer the survey, how satisfied they are overall (CSAT, the share of answers in the
top two points of the scale) and how likely to recommend (NPS), by region, segment and survey wave;
whether the multi-item constructs measure consistently (Cronbach's alpha); and which constructs
drive overall satisfaction (key-driver analysis), set against how well each performs.
'''),
("code", '''
if not have:
    say("**Dataset {name} has no survey responses**, so there is nothing to report here. Add a surveys table to "
        "the dataset spec to get this report.", name=ds.title)
else:
    say("**{n}** responses, answer scale **{lo}-{hi}**, **{k}** Likert items in **{c}** constructs "
        "({names}); overall satisfaction is the column `overall_satisfaction`.", n=fmt_int(len(frame)),
        lo=scale[0], hi=scale[1], k=len(items), c=len(cons), names=", ".join(f"{v} ({k})" for k, v in names.items()))
    if has_nps:
        say("NPS comes from the 0-10 recommendation question.")
    else:
        say("The survey has no 0-10 recommendation question, so **no NPS** is reported.")
    say("Breakdowns: {g}.", g=", ".join(groups) or "none (the data have no region, segment, wave or grouping column)")
    if "segment" in groups:
        say("Segments come from {seg}.", seg=sv.segment_source(ds, run_dir, privacy)[1])
'''),
("md", '''
## Answer quality

Missing answers, missing-answer codes and out-of-range codes as counted by the loader (codes outside
the answer scale are set to missing and never enter the figures below).
'''),
("code", '''
if have:
    aq = sv.answer_quality(ds)
    tot = sv.totals(ds)
    show_table(aq, "Answers per survey column", units="responses", max_rows=60)
    cells = len(frame) * len(items)
    say("Of {cells} item answers expected, **{miss}** were left blank, **{codes}** carried a missing-answer code and "
        "**{oor}** were outside the {lo}-{hi} scale (set to missing); **{nan}** were not numbers.",
        cells=fmt_int(cells), miss=fmt_int(tot["missing_answers"]), codes=fmt_int(tot["missing_codes"]),
        oor=fmt_int(tot["out_of_range"]), nan=fmt_int(tot["not_a_number"]), lo=scale[0], hi=scale[1])
    headline.update({"responses": len(frame), "scale": list(scale),
                     **{k: v for k, v in tot.items() if k != "responses"}})
'''),
("md", '''
## How the items are answered

Diverging bars: answers below the scale midpoint to the left of zero, above it to the right (on an odd
scale the middle answer is split across zero).
'''),
("code", '''
if have and items:
    dist = sv.distribution(ds.surveys, ["overall_satisfaction", *items], scale)
    plot_diverging(dist, scale, f"Answers per item (scale {scale[0]}-{scale[1]})")
    plt.show()
    agree = dist.loc[items, [p for p in range(scale[0], scale[1] + 1) if p > (scale[0] + scale[1]) / 2]].sum(axis=1)
    say("Most favourable item: **{best}** ({b} of answers above the midpoint); least favourable: **{worst}** ({w}).",
        best=agree.idxmax(), b=fmt_pct(agree.max()), worst=agree.idxmin(), w=fmt_pct(agree.min()))
elif have:
    say("The survey has no Likert items besides overall satisfaction.")
'''),
("md", '''
## CSAT and NPS by group

Each group is compared with the other respondents combined; p-values are adjusted across the
groups of a breakdown.
'''),
("code", '''
csat_tables, nps_tables = [], []
if have:
    overall = sv.csat_by(frame, None, scale, alpha, correction).iloc[0]
    headline.update({"csat": overall["csat"], "csat_ci": [overall["ci_low"], overall["ci_high"]]})
    text = "Overall CSAT is **{c}** (95% interval {lo}-{hi}, {n} answers)".format(
        c=fmt_pct(overall["csat"]), lo=fmt_pct(overall["ci_low"]), hi=fmt_pct(overall["ci_high"]),
        n=fmt_int(overall["responses"]))
    if has_nps:
        on = sv.nps_by(frame, None, alpha, correction, n_boot).iloc[0]
        headline.update({"nps": on["nps"], "nps_ci": [on["ci_low"], on["ci_high"]]})
        text += "; NPS is **{v:+.1f}** points ({lo:+.1f} to {hi:+.1f})".format(v=on["nps"], lo=on["ci_low"],
                                                                            hi=on["ci_high"])
    say(text.replace("95%", f"{100 * (1 - alpha):.0f}%") + ".")
    for g in groups:
        c = sv.csat_by(frame, g, scale, alpha, correction)
        csat_tables.append(c.reset_index().rename(columns={g: "group"}).assign(breakdown=g))
        show_table(c, f"CSAT (top-2-box) by {g}", units={"csat / ci / rest": "share of answers",
                   "p_adj": f"{correction} across {g} groups"}, precision=3)
        plot_intervals(c, "csat", f"CSAT (top-2-box) by {g}", "CSAT: share of answers in the top two points (%)",
                       overall["csat"], scale=100)
        plt.show()
        for idx, r in c.loc[c["significant"]].iterrows():
            say("- {g} **{v}**: CSAT {c} vs {rest} for the other respondents ({d}; adjusted p = {p:.2g}).", g=g,
                v=str(idx), c=fmt_pct(r["csat"]), rest=fmt_pct(r["rest"]), d=r["direction"], p=r["p_adj"])
        if not c["significant"].any():
            say("No {g} group differs significantly in CSAT from the other respondents.", g=g)
        if has_nps:
            n = sv.nps_by(frame, g, alpha, correction, n_boot)
            nps_tables.append(n.reset_index().rename(columns={g: "group"}).assign(breakdown=g))
            show_table(n, f"NPS by {g}", units={"nps / ci / rest / difference": "points",
                       "promoters / passives / detractors": "share of answers"}, precision=3)
            plot_intervals(n, "nps", f"Net promoter score by {g}", "NPS (points, -100..100)", on["nps"])
            plt.show()
            for idx, r in n.loc[n["significant"]].iterrows():
                say("- {g} **{v}**: NPS {x:+.1f} vs {rest:+.1f} points for the others ({d}; adjusted p = {p:.2g}).",
                    g=g, v=str(idx), x=r["nps"], rest=r["rest"], d=r["direction"], p=r["p_adj"])
'''),
("md", '''
## Reliability of the constructs

Cronbach's alpha on the respondents who answered every item of a construct; a single-item
construct has no alpha.
'''),
("code", '''
rel = pd.DataFrame()
if have and cons:
    rel = sv.reliability(ds.surveys, cons, names)
    show_table(rel, "Cronbach's alpha per construct", units={"items / complete_responses": "count",
               "alpha / mean_inter_item_r": "coefficient"}, precision=3)
    show_table(sv.item_statistics(ds.surveys, cons), "Item statistics",
               units={"mean / sd": f"answer scale {scale[0]}-{scale[1]}", "item_total_r": "corrected item-total r",
                      "alpha_if_deleted": "alpha of the construct without the item"}, precision=3, max_rows=60)
    weak = rel.loc[rel["alpha"] < min_alpha]
    multi = rel.loc[rel["alpha"].notna()]
    if len(multi):
        say("Alpha ranges from **{lo:.2f}** ({lo_c}) to **{hi:.2f}** ({hi_c}).", lo=multi["alpha"].min(),
            lo_c=names[multi["alpha"].idxmin()], hi=multi["alpha"].max(), hi_c=names[multi["alpha"].idxmax()])
    if len(weak):
        say("Below {m}: {w} — their items do not measure one thing consistently; read their scores with care.",
            m=min_alpha, w=", ".join(f"{names[i]} ({a:.2f})" for i, a in weak["alpha"].items()))
    else:
        say("Every multi-item construct reaches alpha >= {m}.", m=min_alpha)
    headline["cronbach_alpha"] = {k: float(v) for k, v in rel["alpha"].dropna().items()}
'''),
("md", '''
## What drives overall satisfaction

Construct scores (mean of the answered items) explain overall satisfaction in a linear model on
standardised variables; relative importance splits the model's R² between the drivers (Shapley /
LMG decomposition, cross-checked with Johnson's relative weights).
'''),
("code", '''
kd, ipa = pd.DataFrame(), pd.DataFrame()
if have and cons:
    drivers = [d for d in (cfg.get("drivers") or list(cons)) if d in cons]
    scores = sv.construct_scores(ds.surveys, cons)
    try:
        kd = sv.key_drivers(scores, ds.surveys["overall_satisfaction"], drivers, alpha, names)
    except ValueError as exc:
        say("No key-driver analysis: {e}.", e=str(exc))
    if len(kd):
        show_table(kd, f"Key drivers of overall satisfaction (R² = {kd.attrs['r2']:.3f}, n = {kd.attrs['n']:,})",
                   units={"r / beta / ci": "standardised", "relative_weight / lmg": "share of variance (R² units)",
                          "importance": "share of R²"}, precision=3)
        plot_drivers(kd, "Relative importance of the drivers of overall satisfaction")
        plt.show()
        top = kd.iloc[0]
        say("The drivers explain **{r2}** of the variance of overall satisfaction. The most important is **{t}** "
            "({imp} of the explained variance, beta = {b:.2f}); the least important is **{l}** ({limp}).",
            r2=fmt_pct(kd.attrs["r2"]), t=top["label"], imp=fmt_pct(top["importance"]), b=top["beta"],
            l=kd.iloc[-1]["label"], limp=fmt_pct(kd.iloc[-1]["importance"]))
        ipa = sv.importance_performance(kd, scores, scale)
        show_table(ipa, "Importance x performance", units={"importance": "share of R²",
                   "performance": "mean score rescaled to 0-100"}, precision=3)
        plot_ipa(ipa, "Importance x performance of the satisfaction drivers")
        plt.show()
        focus = ipa.loc[ipa["quadrant"] == "Concentrate here", "label"].tolist()
        say("Concentrate here (important but below-average performance): **{f}**.",
            f=", ".join(focus) if focus else "none")
        headline.update({"drivers_r2": kd.attrs["r2"], "top_driver": str(top.name),
                         "concentrate_here": [str(i) for i in ipa.index[ipa["quadrant"] == "Concentrate here"]]})
'''),
("code", '''
if have:
    out.table("survey_answer_quality", aq.reset_index(), description="Answers, missing answers, missing codes and "
              "out-of-range codes per survey column", units={"*": "responses"})
    if csat_tables:
        out.table("survey_csat", pd.concat(csat_tables, ignore_index=True),
                  description="CSAT (top-2-box) by breakdown and group, Wilson interval, test vs the rest",
                  units={"csat": "share of answers"})
    if nps_tables:
        out.table("survey_nps", pd.concat(nps_tables, ignore_index=True),
                  description="NPS by breakdown and group, bootstrap interval and test vs the rest",
                  units={"nps": "points"})
    if len(rel):
        out.table("survey_reliability", rel.reset_index(), description="Cronbach's alpha per construct")
    if len(kd):
        out.table("survey_drivers", kd.reset_index(), description="Key drivers of overall satisfaction",
                  units={"importance": "share of R²"})
        out.table("survey_ipa", ipa.reset_index(names="driver"), description="Importance x performance matrix",
                  units={"performance": "0-100"})
out.metrics("survey", headline, description="Headline survey figures")
'''),
])
