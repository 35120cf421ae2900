"""Who is about to leave: the churn model evaluated out of sample, its drivers, the value at risk (the
per-customer scores the action plan reads) and targeting a contact budget."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit import churn as ch
from toolkit.churn import plots as cp
from toolkit.churn.pipeline import ChurnPrediction
from toolkit.reports.churn.display import readable, with_shares
from toolkit.reports.churn.how_many import ChurnBasis
from toolkit.reports.context import ReportContext
from toolkit.reports.format import esc, fmt_int, fmt_pct, fmt_value
from toolkit.reports.section import Section

COMPARED = ["roc_auc", "pr_auc", "brier", "log_loss", "top_decile_lift", "churn_rate", "customers"]


@dataclass
class EarlyWarning:
    """Value at risk of the active customers: every one ranked (``ranked``) and the exported scores (``warning``)."""

    value_all: pd.Series          # value of every customer (attrs: description, unit)
    value: pd.Series              # value of the scored (active) customers, 0 where unknown
    ranked: pd.DataFrame          # active customers by value at risk
    warning: pd.DataFrame         # the exported scores (churn_scores): every active customer, drivers for the top
    unit: str                     # the value's unit: the currency, or "customers" without value data
    currency: str                 # the dataset's currency, or "currency units"

    @property
    def total(self) -> float:
        return float(self.ranked["value_at_risk"].sum())

    @property
    def description(self) -> str:
        return self.value.attrs.get("description", "")

    @property
    def top_risk_region(self) -> str:
        by_region = self.ranked.groupby("region")["value_at_risk"].sum().sort_values(ascending=False)
        return str(by_region.index[0]) if len(by_region) else ""


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


def evaluation_sentence(pred: ChurnPrediction, as_of: pd.Timestamp, horizon_days: int, seed: int) -> str:
    """How the models were evaluated: cross-validation (snapshots) or a time-based split (dated data)."""
    if pred.mode == "snapshot":
        return (f"Evaluation: 5-fold stratified cross-validation (shuffled, seed {seed}) on all "
                f"{fmt_int(len(pred.y_eval))} customers; every customer is scored by a model that did not see them.")
    end = (as_of + pd.Timedelta(days=horizon_days)).date()
    train, test = pred.cutoffs["train"].date(), pred.cutoffs["test"].date()
    return (f"Evaluation: a time-based split. Models are fitted on customers active on {train} "
            f"(did they churn within {horizon_days} days?) and tested on those active on {test}; "
            f"the final model is refitted on both windows and scores the {fmt_int(len(pred.scores))} customers active "
            f"on {as_of.date()} for churn by {end}.")


def model_comparison(pred: ChurnPrediction) -> pd.DataFrame:
    """The candidates' out-of-sample metrics, one row per model (by name), with the chosen one marked."""
    comp = pred.comparison[COMPARED].copy()
    comp.index = [ch.models.MODEL_NAMES[k] for k in comp.index]
    comp["chosen"] = [k == pred.kind for k in pred.comparison.index]
    return comp


def churn_model(rep: ReportContext, basis: ChurnBasis, model: str = "auto", horizon_days: int = 90,
                exclude_columns: list[str] | None = None, seed: int = 0) -> Section[ChurnPrediction]:
    """Fit and evaluate the churn models, say which was chosen and how well it does (with its tuning and
    the ROC, calibration and gains figures); publishes ``model_metrics`` and ``model_tuning``."""
    pred = ch.predict_churn(rep.ds, basis.definition, as_of=basis.as_of, horizon_days=horizon_days, model=model,
                            exclude=exclude_columns if exclude_columns is not None else ch.DEFAULT_EXCLUDE, seed=seed,
                            inactivity_days=basis.inactivity_days, p_alive_threshold=basis.p_alive_threshold)
    comp = model_comparison(pred)
    _publish_model(rep, pred, comp)
    sec: Section[ChurnPrediction] = Section(value=pred)
    sec.text(evaluation_sentence(pred, basis.as_of, horizon_days, seed))
    sec.table(readable(comp), "Churn models compared out of sample", units={
        "roc_auc": "0.5 = chance, 1 = perfect", "pr_auc": "average precision", "brier":
        "mean squared error of probabilities", "top_decile_lift": "churn rate in the top 10% / overall",
        "churn_rate": "share churned in the evaluation data"}, precision=3)
    m = pred.metrics
    sec.say("The chosen model is **{name}**: ROC-AUC **{auc:.3f}**, PR-AUC {pr:.3f} (base rate {base}), Brier score "
            "**{brier:.3f}**; the 10% of customers it rates most at risk churn {lift:.1f} times as often as average.",
            name=pred.model_name, auc=m["roc_auc"], pr=m["pr_auc"], base=fmt_pct(m["churn_rate"]), brier=m["brier"],
            lift=m["top_decile_lift"])
    if pred.tuning is not None:
        tuning = pred.tuning.drop(columns=ch.models.SETTING_COLUMNS).rename(columns={
            "chosen_in_evaluation": "chosen_in_" + pred.tuning.attrs["evaluation"].replace(" ", "_") + "s"})
        sec.table(readable(tuning), "Gradient boosting: the settings searched and how often each was chosen", units={
            "evaluation_inner_auc": "mean inner-CV ROC-AUC over the evaluation fits",
            "final_inner_auc": "inner-CV ROC-AUC in the refit on all customers"}, precision=4)
        sec.say("{t}", t=ch.tuning_text(pred.tuning))
    return sec.extend(model_curves(pred))


def model_curves(pred: ChurnPrediction) -> Section[pd.DataFrame]:
    """ROC and precision-recall curves, calibration, and cumulative gains and lift by score decile (value)."""
    sec: Section[pd.DataFrame] = Section()
    sec.figure(cp.plot_roc_pr(pred.y_eval, pred.p_eval, f"{_title(pred.model_name)}: out-of-sample ROC and "
                                                        "precision-recall curves"))
    sec.figure(cp.plot_calibration(ch.calibration_table(pred.y_eval, pred.p_eval),
                                   "Calibration: predicted churn probability vs observed churn rate"))
    gains = ch.gains_table(pred.y_eval, pred.p_eval)
    sec.value = gains
    sec.figure(cp.plot_gains(gains))
    sec.table(gains, "Cumulative gains and lift by score decile", units={
        "customers": "count", "churners": "count", "churn_rate": "share", "share_targeted": "share of customers",
        "share_of_churners_captured": "share of all churners", "lift": "x overall churn rate"}, precision=3)
    return sec.say("Contacting the top 20% of customers by score reaches **{g20}** of the customers who churn.",
                   g20=fmt_pct(gains.loc[2, "share_of_churners_captured"]))


def _publish_model(rep: ReportContext, pred: ChurnPrediction, comp: pd.DataFrame) -> None:
    evaluation = "cross-validation" if pred.mode == "snapshot" else "time-based split"
    rep.out.table("model_metrics", comp.rename_axis("model").reset_index(),
                  description=f"Churn models compared out of sample ({evaluation})",
                  units={"roc_auc": "0-1", "brier": "mean squared error", "top_decile_lift": "x base rate"})
    if pred.tuning is not None:
        rep.out.table("model_tuning", pred.tuning.reset_index(), description="Gradient boosting's hyper-parameter "
                      "search: the settings searched and how often each was chosen (in the " +
                      ("outer cross-validation folds" if pred.mode == "snapshot" else "training window") +
                      " and in the refit on all customers, if boosting was chosen)",
                      units={"evaluation_inner_auc": "mean inner-CV ROC-AUC", "final_inner_auc": "inner-CV ROC-AUC",
                             "chosen_in_evaluation": "evaluation fits"})


def top_three_sentence(drivers: pd.Index) -> str:
    """The model's three most relied-on drivers ("-" for the missing ones)."""
    a, b, c = [esc(d) for d in drivers[:3]] + ["-"] * max(0, 3 - len(drivers))
    return f"The model relies most on **{a}**, **{b}** and **{c}**."


def odds_ratios(sec: Section, logit: "ch.LogitChurn", churners: int, customers: int) -> None:
    """The main-effects odds ratios table and forest plot; under separation, the sentence saying why
    there are none (complete) or which terms are not estimable (their cells shown as –)."""
    terms = len(logit.odds_ratios_) - 1
    if logit.separated_:
        sec.say("The main-effects logistic regression predicts every training customer's churn exactly "
                "({churners} churners among {customers} customers, {terms} terms): with complete separation its "
                "odds ratios are not estimable and are not shown. The permutation importance below does not "
                "depend on it.", churners=f"{churners:,}", customers=f"{customers:,}", terms=terms)
        return
    ors = logit.odds_ratios_.drop(index="const")
    bad = ~ors["estimable"]
    ors.loc[bad, ["coef", "se", "odds_ratio", "lower", "upper", "p_value"]] = np.nan
    ors = ors.sort_values("p_value", na_position="last").drop(columns=["estimable"])
    if bad.any():
        names = sorted({str(f) for f in logit.odds_ratios_.loc[bad[bad].index, "feature"]})
        sec.say("{n} of {terms} terms of the logistic regression are not estimable on these data (a level too "
                "rare, or one that predicts churn almost exactly: quasi-complete separation) and show –: {names}.",
                n=int(bad.sum()), terms=terms, names=", ".join(names[:10]) + (" and others" if len(names) > 10 else ""))
    sec.table(ors.drop(columns=["feature"]).head(25), "Logistic regression (main effects): odds ratios of churn "
              "(25 smallest p-values)", units={"odds_ratio": "x odds vs reference", "lower / upper": "95% interval",
                                               "coef": "log odds ratio", "se": "standard error of coef"}, precision=3)
    shown = ors.loc[ors["odds_ratio"].notna()].head(20)
    if len(shown):
        sec.figure(cp.plot_forest(shown, "odds_ratio", "Logistic regression (main effects): odds ratios with 95% "
                                  "intervals", "Odds ratio (log scale; above 1 = more likely to churn)"))


def drivers(rep: ReportContext, pred: ChurnPrediction, seed: int = 0) -> Section[pd.DataFrame]:
    """Odds ratios of a main-effects logistic regression, and the chosen model's permutation importance (value)."""
    main = [c for c in pred.X_train.columns if not ch.is_engineered(c)]
    logit = ch.LogitChurn().fit(pred.X_train[main], pred.y_train)
    sec: Section[pd.DataFrame] = Section()
    odds_ratios(sec, logit, churners=int(np.sum(pred.y_train)), customers=len(pred.y_train))
    imp = ch.permutation_importance(pred.eval_model, pred.X_holdout, pred.y_holdout, n_repeats=3, seed=seed)
    sec.value = imp
    sec.figure(cp.plot_importance(imp, "auc_drop", f"{_title(pred.model_name)}: permutation importance on held-out "
                                  "customers", "Drop in ROC-AUC when the driver is shuffled"))
    sec.table(imp.head(15), "Permutation importance (15 most important drivers)", units={
        "auc_drop": "ROC-AUC points lost", "sd": "standard deviation over 3 shuffles",
        "features": "feature columns in the driver"}, precision=4)
    return sec.text(top_three_sentence(imp.index))


def warning_attributes(customers: pd.DataFrame, index: pd.Index, value: pd.Series) -> pd.DataFrame:
    """Region (the 50 largest, the rest pooled), value tier and segment of the scored customers."""
    attrs = pd.DataFrame({"region": ch.top_levels(customers["region"], 50).reindex(index) if "region" in customers
                          else "(none)", "tier": ch.value_tiers(value)}, index=index)
    if "segment" in customers:
        attrs["segment"] = customers["segment"].reindex(index)
    return attrs


def value_at_risk(rep: ReportContext, basis: ChurnBasis, pred: ChurnPrediction, warning_list_size: int = 1000,
                  horizon_days: int = 90) -> Section[EarlyWarning]:
    """Active customers' value at risk (churn probability x value), in total and by region; exports
    ``churn_scores`` (every scored customer; the personal risk drivers for the ``warning_list_size``
    with the most value at risk), which the action plan reads for its early warnings. The call list
    itself is the action plan's (notebooks/08_action_plan.ipynb)."""
    value_all = ch.customer_value(rep.ds, as_of=basis.as_of)
    value = value_all.reindex(pred.scores.index).fillna(0.0)
    attrs = warning_attributes(basis.customers, pred.scores.index, value)
    ranked = ch.early_warning_list(pred.scores, value, attrs)
    top_ids = ranked.index[:int(max(warning_list_size, 0))]
    top_drivers = pred.model.top_drivers(pred.X_score.loc[top_ids], k=3) if len(top_ids) else None
    scores = ch.early_warning_list(pred.scores, value, attrs[["region"]], top_drivers)
    cur = rep.ds.currency or "currency units"
    ew = EarlyWarning(value_all, value, ranked, scores, value.attrs.get("unit", cur), cur)
    what, unit = value.attrs.get("description", "value"), ew.unit
    rep.out.export("churn_scores", scores.reset_index().drop(columns="rank"), description=(
        f"Churn probability, {what} and value at risk (probability x value) of every active customer; top drivers "
        f"for the {len(top_ids):,} with the most value at risk"), units={"value": unit, "value_at_risk": unit})
    sec: Section[EarlyWarning] = Section(value=ew)
    sec.say("Value is {what} ({cur}). The {n} active customers carry **{var}** of value at risk in total.",
            what=what, cur=unit, n=fmt_int(len(ranked)), var=fmt_value(ew.total, unit, cur))
    by_region = ranked.groupby("region").agg(customers=("rank", "size"), churn_probability=("churn_probability",
                                                                                            "mean"),
                                             value_at_risk=("value_at_risk", "sum"))
    by_region = by_region.sort_values("value_at_risk", ascending=False)
    by_region["share_of_value_at_risk"] = by_region["value_at_risk"] / max(ew.total, 1e-9)
    if len(by_region) > 1:
        sec.table(with_shares(by_region, ["churn_probability", "share_of_value_at_risk"]),
                  "Value at risk by region (active customers)", units={
                      "customers": "active customers scored", "churn_probability": "mean model probability",
                      "value_at_risk": unit})
        mean_value = ranked.groupby("region")["value"].mean() if "value" in ranked else None
        sec.text(top_risk_sentence(by_region, mean_value, unit, cur))
    return sec.say("Who to contact about it, with a reason, an owner and a budget, is the action plan's "
                   "(early warnings); the scores are published as `churn_scores`.")


def top_risk_sentence(by_region: pd.DataFrame, mean_value: pd.Series | None, unit: str, currency: str) -> str:
    """Why the headline's top-risk region (the most value at risk) is, or is not, the region with the highest
    mean churn probability: the two regions' customers, value per customer and probability, in numbers."""
    top, riskiest = str(by_region.index[0]), by_region["churn_probability"].idxmax()
    t, k = by_region.iloc[0], by_region.loc[riskiest]

    def worth(region) -> str:
        if mean_value is None or region not in mean_value.index or unit == "customers":
            return ""
        return f", worth {fmt_value(float(mean_value[region]), unit, currency)} each on average"

    head = (f"The headline's top-risk region is the one with the most value at risk: **{esc(top)}** "
            f"({fmt_pct(t['share_of_value_at_risk'])} of it)")
    if riskiest == by_region.index[0]:
        return head + ", which also has the highest mean churn probability."
    return (head + f", with {fmt_int(t['customers'])} active customers{worth(top)} and a mean churn probability of "
            f"{fmt_pct(t['churn_probability'])}. The highest mean churn probability is **{esc(str(riskiest))}**'s "
            f"({fmt_pct(k['churn_probability'])}, {fmt_int(k['customers'])} active customers{worth(riskiest)}). Value "
            f"at risk is probability x value, so a larger or more valuable region can lead it at a lower churn rate: "
            f"{esc(top)}'s value at risk is what the early warnings protect, {esc(str(riskiest))}'s churn rate is what "
            "its causes (churn reasons, complaints, the SWOT) explain.")


def targeting(rep: ReportContext, pred: ChurnPrediction, warning: EarlyWarning, contact_budget: int = 500,
              save_rate: float = 0.25) -> Section[pd.DataFrame]:
    """What a budget of ``contact_budget`` contacts reaches and saves when targeting by value at risk, by
    churn probability or at random (value: the comparison table)."""
    unit, cur = warning.unit, warning.currency
    table = ch.targeting_comparison(pred.scores, warning.value, contact_budget, save_rate=save_rate)
    sec: Section[pd.DataFrame] = Section(value=table)
    sec.table(table, f"Contacting {contact_budget:,} customers: value at risk reached and expected revenue saved",
              units={"expected_churners_reached": "sum of churn probabilities", "value_at_risk_reached": unit,
                     "expected_revenue_saved": f"{unit}, assuming a contact keeps {save_rate:.0%} of the value at risk"},
              precision=1)
    sec.figure(cp.plot_targeting(ch.targeting_curve(pred.scores, warning.value), contact_budget, unit))
    bv, bp = table.loc["by value at risk"], table.loc["by churn probability"]
    fewer = bv["expected_churners_reached"] < bp["expected_churners_reached"]
    return sec.say("With a budget of {b} contacts, targeting by value at risk is expected to save **{sv}** against {sp} "
                   "when targeting by churn probability alone ({gain} more). It reaches {cv:.1f} expected churners "
                   "instead of {cp:.1f}" + (": fewer churners, but the valuable ones." if fewer else "."),
                   b=fmt_int(contact_budget), sv=fmt_value(bv["expected_revenue_saved"], unit, cur),
                   sp=fmt_value(bp["expected_revenue_saved"], unit, cur),
                   gain=fmt_value(bv["expected_revenue_saved"] - bp["expected_revenue_saved"], unit, cur),
                   cv=bv["expected_churners_reached"], cp=bp["expected_churners_reached"])
