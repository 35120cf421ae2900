import sys
sys.path.insert(0, "tools")
from nbbuild import build

build("notebooks/04_churn.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports
churn_definition = "explicit"  # explicit (flag or churn date), inactivity or p_alive
inactivity_days = 180  # days without a purchase after which a customer counts as lost (inactivity)
p_alive_threshold = 0.5  # P(alive) below this counts as lost (p_alive)
as_of = None  # analysis date as "YYYY-MM-DD"; None: the dataset's own as-of date
horizon_days = 90  # the early warning predicts churn within this many days (dated data)
model = "auto"  # auto, logit or hgb
contact_budget = 500  # customers the retention team can contact
save_rate = 0.25  # assumed share of the value at risk that a contact keeps
warning_list_size = 1000  # customers in the exported early-warning list (at least the budget)
exclude_columns = ["churned", "churn_date", "churn_reason", "churn_category", "churn_label", "churn_value", "churn_score", "churn_flag", "customer_status", "status", "satisfaction_score", "cltv", "clv"]  # label and leakage columns, never model features
seed = 0  # random seed for folds, boosting and permutations
min_group_size = 30  # customers a group needs to be ranked; smaller groups are shown as too few customers
sbg_cohort = None  # sBG cohorts: customer column, "acquisition_year" or "all"; None: contract, segment, type or year
sbg_discount_rate = 0.10  # yearly discount rate for the sBG lifetime values (applied monthly)
sbg_restricted_months = 72  # horizon of the restricted mean lifetime (months)
sbg_projection_months = 60  # horizon of the sBG projections (months)
'''),
("code", '''
import numpy as np
import pandas as pd

from toolkit import churn as ch
from toolkit.churn import contractual_view as ccv
from toolkit.churn import plots as cp
from toolkit.data import load_dataset
from toolkit.plotting import apply_style
from toolkit.privacy import protect
from toolkit.reports import churn as churn_report
from toolkit.reports.format import fmt_int, fmt_money, fmt_pct, fmt_value, rate_ranking, say, say_built, show_table
from toolkit.results import RunResults

apply_style()
ds = load_dataset(dataset)
if not ds.has("customers"):
    ds.require("transactions")  # transaction-only data: customers are the buyers (see ch.customer_table)
out = RunResults(run_dir, notebook="churn", pseudonymise=privacy)
AS_OF = pd.Timestamp(as_of).normalize() if as_of else pd.Timestamp(ds.as_of).normalize()
CUR = ds.currency or "currency units"
labels = ch.churn_labels(ds, churn_definition, as_of=AS_OF, inactivity_days=inactivity_days,
                         p_alive_threshold=p_alive_threshold)
DATED = labels.attrs["dated"]
UNIT = labels.attrs["time_unit"]


def plain(frame):
    """A copy without pandas attrs (they are written into the parquet metadata as JSON)."""
    frame = frame.copy()
    frame.attrs = {}
    return frame
'''),
("md", '''
This report answers three questions about customers leaving: **how many leave** (churn rates by
period, region, segment and acquisition cohort, and how long customers stay), **who is about to
leave** (a churn model evaluated out of sample, and an early-warning list ranked by the value at
stake) and **why they leave** (the recorded churn reasons and satisfaction before leaving).

## Who counts as churned
'''),
("code", '''
DEFINITION_TEXT = {
    "explicit": "the customer table's churn date" if DATED else "the customer table's churn flag",
    "inactivity": f"no purchase for {inactivity_days} days (the churn date is the last purchase plus {inactivity_days} days)",
    "p_alive": f"a BG/NBD probability of being alive below {p_alive_threshold:.0%}",
}[churn_definition]
n, lost = len(labels), int(labels["churned"].sum())
say("Dataset **{title}**, " + ("analysed as of **{as_of}**" if DATED else "a snapshot") + ". A customer counts as "
    "churned by {definition}. Of **{n}** customers, **{lost}** ({share}) have churned and {active} are active.",
    title=ds.title, as_of=str(AS_OF.date()), definition=DEFINITION_TEXT, n=fmt_int(n), lost=fmt_int(lost),
    share=fmt_pct(lost / max(n, 1)), active=fmt_int(n - lost))
if not DATED:
    say("The data are a snapshot without dates: churn rates are the share flagged as churned, lifetimes "
        "are the recorded tenure in months, and the churn model is evaluated by cross-validation.")
'''),
("md", "## Churn rates"),
("code", '''
overall = ch.churn_rate(labels)
OVERALL_RATE = float(overall["churn_rate"].iloc[0])
if DATED:
    say_built(churn_report.yearly_rate_sentence(overall, AS_OF))
    by_period = ch.churn_rates_by_period(labels, freq="Q")
    cp.plot_rates_by_period(by_period, title="Churn rate per quarter")
    show_table(by_period.set_index("period").tail(12), "Churn rate per quarter (last 12 quarters)",
               units={"at_start": "customers active at the start of the quarter", "lost": "customers",
                      "churn_rate": "lost / at start"})
else:
    say("**{rate}** of the customers are flagged as churned.", rate=fmt_pct(OVERALL_RATE))
'''),
("code", '''
rate_tables = {}
for col in [c for c in ("region", "segment", "customer_type", "acquisition_channel") if c in labels.columns]:
    t = ch.churn_rate(labels, by=col, max_groups=12)
    if len(t) < 2:
        continue
    rate_tables[col] = t
    name = col.replace("_", " ")
    cp.plot_rate_bars(t, f"Churn rate by {name}" + (" (last 12 months)" if DATED else ""), name.capitalize(),
                      overall=OVERALL_RATE)
    show_table(t.sort_values("churn_rate", ascending=False), f"Churn rate by {name}",
               units={"at_start": "customers", "lost": "customers", "churn_rate": "lost / at start"})
    say_built(rate_ranking(t, name, min_group_size=min_group_size, overall=OVERALL_RATE))
if "region" not in rate_tables:
    say("The dataset has a single region, so there is no regional comparison of churn.")
region_rates = rate_tables.get("region", ch.churn_rate(labels, by="region") if "region" in labels else overall)
'''),
("code", '''
cohort = ch.cohort_column(labels, freq="Y")
t = ch.churn_rate(labels.assign(cohort=cohort), by="cohort")
show_table(t, "Churn rate by acquisition cohort" + (" (year acquired; last 12 months)" if DATED else
           " (tenure band, as no acquisition dates exist)"),
           units={"at_start": "customers", "lost": "customers", "churn_rate": "lost / at start"})
'''),
("md", "## Retention by acquisition cohort"),
("code", '''
if DATED:
    retention = ch.cohort_retention(labels, freq="Q")
    cp.plot_cohort_heatmap(retention, "Share of each quarterly cohort still a customer")
    cp.plot_retention_curves(retention, "Retention curves by quarterly acquisition cohort")
    k = min(4, retention.shape[1] - 1)
    col = retention[k].dropna() if k >= 0 else pd.Series(dtype=float)
    if len(col) > 1:
        say("At the end of the {k}. quarter after the acquisition quarter, between **{lo}** and **{hi}** of a "
            "cohort are still customers (cohorts {c_lo} and {c_hi}).", k=k,
            lo=fmt_pct(col.min()), hi=fmt_pct(col.max()), c_lo=col.idxmin().strftime("%Y-%m"),
            c_hi=col.idxmax().strftime("%Y-%m"))
    elif len(col):
        say("At the end of the {k}. quarter after the acquisition quarter, **{share}** of the cohort are still "
            "customers.", k=k, share=fmt_pct(col.iloc[0]))
else:
    say("Without acquisition dates there are no calendar cohorts; the Kaplan-Meier curves below show "
        "retention against tenure instead.")
'''),
("md", '''
## How long customers stay: survival analysis

Kaplan-Meier curves estimate the share of customers still with the company after a given time as a
customer, allowing for customers who have not (yet) left. The log-rank test asks whether the groups'
curves differ by more than chance.
'''),
("code", '''
surv = ch.survival_frame(labels)
overall_km = ch.kaplan_meier(surv)
med = overall_km.groups["median_lifetime"].iloc[0]
say("Median lifetime: **{med}**; after {last:.0f} {unit} {share} of customers are still active.",
    med=(f"{med:.0f} {UNIT}" if np.isfinite(med) else "not reached (more than half are still customers)"),
    last=overall_km.groups["last_time"].iloc[0], unit=UNIT, share=fmt_pct(overall_km.groups["survival_at_end"].iloc[0]))
logrank_rows = []
for col in ch.km_groupings(surv):
    km = ch.kaplan_meier(surv, by=col)
    name = col.replace("_", " ")
    cp.plot_km(km, f"Customer survival by {name}", f"Time as a customer ({UNIT})")
    show_table(km.groups, f"Kaplan-Meier summary by {name}",
               units={"customers": "count", "churned": "count", "median_lifetime": UNIT,
                      "survival_at_end": "share still a customer at last_time", "last_time": UNIT})
    logrank_rows.append({"grouping": name, "groups": km.logrank.groups, "chi2": km.logrank.statistic,
                         "df": km.logrank.df, "p_value": km.logrank.p_value})
if logrank_rows:
    lr = pd.DataFrame(logrank_rows).set_index("grouping")
    show_table(lr, "Log-rank tests of equal survival across groups", units={"chi2": "test statistic",
               "p_value": "probability of differences this large by chance"}, precision=4)
    for g, r in lr.iterrows():
        say_built(churn_report.logrank_sentence(g, r["chi2"], r["df"], r["p_value"]))
'''),
("md", '''
### Cox proportional-hazards model

The Cox model compares the churn hazard (the risk of leaving at any moment, given the customer is
still there) between customers, holding the other attributes fixed. A hazard ratio of 1.5 means a
50% higher risk of leaving at any time than the reference customer; numeric attributes are per the
stated unit and measured from their median. Attributes that grow with time as a customer (such as
total charges) are left out, as they would explain survival by survival itself.
'''),
("code", '''
cox_frame, cox_covs, cox_left_out = ch.cox_data(ds, labels, exclude=exclude_columns)
cox = None
if cox_covs and surv["event"].sum() >= 10:
    cox = ch.CoxPH(cox_covs, max_levels=8).fit(cox_frame)
if cox is not None and not np.isfinite(cox.hazard_ratios_["coef"]).all():
    say("The Cox model did not converge on these attributes, so no hazard ratios are shown.")
    cox = None
if cox is not None:
    hr = cox.hazard_ratios_.sort_values("p_value")
    show_table(hr.drop(columns=["covariate"]), f"Cox model hazard ratios ({cox.n_:,} customers, "
               f"{cox.n_events_:,} churned)", units={"coef": "log hazard ratio", "se": "standard error of coef",
               "hazard_ratio": "x risk vs reference", "lower / upper": "95% interval", "unit": "per unit or vs reference level"},
               precision=3)
    cp.plot_forest(hr, "hazard_ratio", "Cox model: hazard ratios with 95% intervals",
                   "Hazard ratio (log scale; above 1 = leaves sooner)", max_rows=25)
    sig = hr.loc[hr["p_value"] < 0.05]
    for term, r in sig.head(6).iterrows():
        say("- **{term}** ({unit}): hazard ratio {hr:.2f} (95% interval {lo:.2f}-{hi:.2f}): {how}.", term=term,
            unit=r["unit"], hr=r["hazard_ratio"], lo=r["lower"], hi=r["upper"],
            how=(f"{r['hazard_ratio'] - 1:.0%} higher risk of leaving" if r["hazard_ratio"] > 1
                 else f"{1 - r['hazard_ratio']:.0%} lower risk of leaving"))
    if not len(sig):
        say("No attribute changes the churn hazard significantly at the 5% level.")
    show_table(cox.ph_test_, "Proportional-hazards check: scaled Schoenfeld residuals against time",
               units={"rho": "correlation with the rank of the event time", "chi2": "test statistic",
                      "ph_holds_5pct": "no significant time trend"}, precision=4)
    bad = [t for t in cox.ph_test_.index if t != "GLOBAL" and not cox.ph_test_.loc[t, "ph_holds_5pct"]]
    say("The proportional-hazards assumption {verdict}", verdict=(
        "holds for every term at the 5% level." if not bad else
        f"is questionable for {', '.join(bad)}: their effect changes with time as a customer, so their hazard "
        "ratio is an average over the lifetime."))
    if cox_left_out:
        say("Left out of the model: {what}.", what="; ".join(f"{k} ({v})" for k, v in cox_left_out.items()))
elif not cox_covs or surv["event"].sum() < 10:
    say("No customer attribute varies enough (or too few customers churned) for a Cox model.")
'''),
("md", """
## Contractual retention model (shifted-beta-geometric)

For customers on contracts, the shifted-beta-geometric (sBG) model (Fader & Hardie 2007) describes
retention month by month: every customer has their own probability of cancelling at the end of each
month, and these probabilities vary across customers following a beta distribution with parameters
**gamma** and **delta**. The mean churn probability in the first month is gamma / (gamma + delta);
small values of both mean customers differ a lot, very large values mean they all share about the
same churn probability (a constant monthly churn rate). As the customers most likely to leave go
first, the retention rate of those who stay rises with tenure. When **gamma < 1** a minority of
customers practically never leaves and the mean lifetime is **infinite**; the median lifetime and
the mean lifetime within a horizon (restricted mean) are then the figures to use. One model is fitted
per cohort, and the Kaplan-Meier curves of the same customers show how well it describes what was observed.
"""),
("code", '''
cv = ccv.fit_contractual(ds, as_of=AS_OF, cohort=sbg_cohort, yearly_discount_rate=sbg_discount_rate,
                         restricted_months=sbg_restricted_months)
SBG = None
if cv is None:
    say("The customer table has neither a tenure in months with a churn flag nor acquisition and churn dates "
        "(or no group has 30 customers and at least one churn), so there is no contractual retention model.")
else:
    SBG = cv.summary()
    H, BY = int(sbg_restricted_months), cv.data.cohort_label
    say("Durations are {basis}. Cohorts: **{by}** ({k} with a model, {n} customers). Values are discounted at "
        "{y} a year ({m} a month).", basis=cv.data.basis, by=BY, k=len(SBG), n=fmt_int(SBG["customers"].sum()),
        y=fmt_pct(sbg_discount_rate), m=fmt_pct(cv.monthly_discount_rate, 3))
    for why, k in cv.data.left_out.items():
        say("- Left out: {k} customers ({why}).", k=fmt_int(k), why=why)
    for c, why in cv.skipped.items():
        say("- No model for **{c}**: {why}.", c=c, why=why)
    if cv.data.source == "tenure" and cv.data.cohort_column:
        say("The data are a snapshot, so each customer is grouped by the {by} held at the snapshot, not at "
            "acquisition: where customers change {by} over time (for instance move to a longer contract), a "
            "group's long-tenure customers include those who moved into it.", by=BY)
    show_table(cv.parameter_table(SBG), f"sBG parameters by {BY}",
               units={"customers / churned": "count", "gamma / delta": "beta distribution of the monthly churn "
                      "probability (95% interval; – where the fit has none)", "churn_probability_month_1":
                      "gamma / (gamma + delta), per month", "churn_probability_cv": "spread of the churn probability "
                      "across customers (sd / mean)"}, precision=4)
    show_table(cv.lifetime_table(SBG), f"sBG lifetimes by {BY} and the fit against Kaplan-Meier",
               units={"median / mean lifetime, mean_within, longest_observed": "months",
                      "survival_at": "share still a customer", "discounted_expected_lifetime":
                      f"months of payments discounted at {sbg_discount_rate:.0%} a year",
                      "max_gap_to_km": "largest |sBG - KM|, share of customers", "months_outside_km_band":
                      "share of the months with at least 10% of the cohort at risk"}, precision=3)
'''),
("code", '''
if cv is not None:
    for c, r in SBG.iterrows():
        med = r["median_lifetime"]
        med_txt = f"{med:,.0f} months" if np.isfinite(med) else f"more than {ccv.MEDIAN_CAP:,} months"
        beyond = (" The median lies beyond the longest observed tenure ({L} months), so it is an extrapolation."
                  if not np.isfinite(med) or med > r["longest_duration"] else "")
        if r["heterogeneity"] and r["gamma"] < 1:
            say("- **{c}**: gamma = {g:.2f} is below 1, so the **mean lifetime is infinite** (a minority of customers "
                "practically never leaves): use the median, **{med}**, and the mean within {H} months, **{rm:.1f} "
                "months**." + beyond, c=c, g=r["gamma"], med=med_txt, H=H, rm=r["restricted_mean_lifetime"],
                L=int(r["longest_duration"]))
        elif r["heterogeneity"]:
            say("- **{c}**: gamma = {g:.2f}, delta = {d:.2f}: mean lifetime {mean:.1f} months, median **{med}**, mean "
                "within {H} months **{rm:.1f} months**." + beyond, c=c, g=r["gamma"], d=r["delta"],
                mean=r["mean_lifetime"], med=med_txt, H=H, rm=r["restricted_mean_lifetime"],
                L=int(r["longest_duration"]))
        else:
            say("- **{c}**: gamma and delta are very large, so the customers hardly differ: each has about the same "
                "monthly churn probability, **{p}**, and lifetimes are geometric (mean {mean:,.0f} months, median "
                "{med}; mean within {H} months **{rm:.1f} months**)." + beyond, c=c,
                p=fmt_pct(r["churn_probability_month_1"], 2), mean=r["mean_lifetime"], med=med_txt, H=H,
                rm=r["restricted_mean_lifetime"], L=int(r["longest_duration"]))
        if not r["months_compared"] >= 1:
            say("  Too few customers stay long enough to compare the sBG with Kaplan-Meier.")
            continue
        fit_ok = r["share_outside_km_band"] <= 0.25
        rising = r["churn_rate_second_half"] > 1.1 * r["churn_rate_first_half"]
        say("  The sBG " + ("stays within the Kaplan-Meier 95% band in most of" if fit_ok else
                            "leaves the Kaplan-Meier 95% band in {s} of") +
            " the {mc} months with at least 10% of the cohort at risk (largest gap {gap:.1f} points; after {mc} "
            "months it gives {se} still a customer against {ke} observed). " + (
                "The observed monthly churn rate rises with tenure ({a} in the first half of those months, {b} in the "
                "second), which the sBG cannot follow (its retention rate can only rise with tenure): its long-run "
                "lifetimes and values for this cohort are optimistic." if rising else
                "" if fit_ok else "Read its projections for this cohort as approximate."),
            s=fmt_pct(r["share_outside_km_band"], 0), mc=int(r["months_compared"]), gap=100 * r["max_gap_km"],
            se=fmt_pct(r["sbg_at_end"]), ke=fmt_pct(r["km_at_end"]),
            a=fmt_pct(r["churn_rate_first_half"], 2 if r["churn_rate_first_half"] >= 1e-3 else 3),
            b=fmt_pct(r["churn_rate_second_half"], 2 if r["churn_rate_second_half"] >= 1e-3 else 3))
    say("Discounted at {y} a year, a new customer is expected to make the equivalent of **{lo:.1f}** ({c_lo}) to "
        "**{hi:.1f}** ({c_hi}) monthly payments, counting the first (discounted expected lifetime).",
        y=fmt_pct(sbg_discount_rate),
        lo=SBG["discounted_expected_lifetime"].min(), c_lo=str(SBG["discounted_expected_lifetime"].idxmin()),
        hi=SBG["discounted_expected_lifetime"].max(), c_hi=str(SBG["discounted_expected_lifetime"].idxmax()))
    L = int(SBG["longest_duration"].max())
    if L < max(H, int(sbg_projection_months)):
        say("The data cover at most {L} months as a customer, so the figures beyond that (the mean within {H} months, "
            "the {P}-month projection, medians past {L} months and the values) extend the fitted model past the data.",
            L=L, H=H, P=int(sbg_projection_months))
    km_sbg = cv.km()
    ccv.plot_km_vs_sbg(km_sbg, f"Observed (Kaplan-Meier, 95% band) vs sBG retention by {BY}")
    say("Curves run to the last month with at least {m} customers at risk.", m=cv.min_at_risk)
'''),
("code", '''
if cv is not None:
    P = int(sbg_projection_months)
    proj = cv.projection(P, 6)
    show_table(proj, f"sBG projection over {P} months: share of a new customer cohort still a customer",
               units=f"share of the customers acquired; rows: months since acquisition; columns: {BY}", precision=3)
    act = cv.active_projection(P, min(12, P))
    show_table(act, f"Today's active customers expected to remain over the next {P} months",
               units={"active_now": "customers", "after_k_months": "expected customers still active"}, precision=0)
    tot, last = (act.loc["total"] if "total" in act.index else act.iloc[0]), act.columns[-1]
    say("A new customer cohort keeps between **{lo}** and **{hi}** of its customers after {P} months. Of the {n} "
        "customers active today, the sBG expects **{k}** ({share}) to still be customers in {m} months.",
        lo=fmt_pct(proj.loc[P].min()), hi=fmt_pct(proj.loc[P].max()), P=P, n=fmt_int(tot["active_now"]),
        k=fmt_int(tot[last]), share=fmt_pct(tot[last] / max(tot["active_now"], 1)), m=last.split("_")[1])
'''),
("code", '''
RES = cv.residual_value() if cv is not None else None
if cv is not None and RES is None:
    say("The customer table has no monthly charge, so the residual value of the active customers is not computed "
        "(it needs the monthly payment of each customer).")
elif RES is not None:
    show_table(RES, f"Residual value of active customers: monthly charge x DERT at {sbg_discount_rate:.0%} a year",
               units={"active_customers": "count", "mean_tenure": "months", "mean_monthly_charge": f"{CUR} per month",
                      "mean_dert": "future monthly payments, discounted",
                      "residual_value / residual_value_per_active / new_customer_value": CUR})
    say("DERT (discounted expected residual transactions) is the number of future monthly payments an active customer "
        "is expected to make given their tenure, discounted at {m} a month; times the customer's monthly charge "
        "(column {col}) it is the value still to come from them. The {n} active customers are worth **{v}** in future "
        "payments, {pc} each on average; **{top}** holds the most ({topv}).", m=fmt_pct(cv.monthly_discount_rate, 3),
        col=cv.data.charge_column, n=fmt_int(RES["active_customers"].sum()),
        v=fmt_money(RES["residual_value"].sum(), CUR),
        pc=fmt_money(RES["residual_value"].sum() / max(RES["active_customers"].sum(), 1), CUR),
        top=str(RES["residual_value"].idxmax()), topv=fmt_money(RES["residual_value"].max(), CUR))
    if (~SBG["heterogeneity"]).any():
        say("For cohorts fitted with a constant churn probability the residual values rest on that constant "
            "rate continuing; where the observed churn rate rises with tenure they are upper estimates.")
SBG_UNITS = {"customers": "count", "churned": "count", "longest_duration": "months", "gamma": "beta shape",
             "delta": "beta shape", "gamma_lower / gamma_upper / delta_lower / delta_upper": "95% interval",
             "churn_probability_month_1": "per month", "mean_lifetime": "months (inf when gamma <= 1)",
             "median_lifetime": "months (inf: beyond 10,000)",
             "restricted_mean_lifetime": "months, within restricted_horizon", "restricted_horizon": "months",
             "survival_at_horizon": "share",
             "discounted_expected_lifetime": f"months of payments, discounted at {sbg_discount_rate:.0%} a year",
             "max_gap_km / km_at_end / sbg_at_end": "share of customers",
             "share_outside_km_band": "share of months", "churn_rate_first_half / churn_rate_second_half":
             "observed churn per customer-month", "mean_monthly_charge": f"{CUR} per month",
             "residual_value / residual_value_per_active / new_customer_value": CUR}
if SBG is not None:
    sbg_table = SBG.reset_index()
    sbg_table["cohort"] = sbg_table["cohort"].astype(str)
    sbg_table.insert(1, "cohort_by", BY)
    out.table("sbg_cohorts", sbg_table, description=f"Shifted-beta-geometric retention model per {BY}: gamma, "
              f"delta, lifetimes (restricted to {H} months), discounted expected lifetime at {sbg_discount_rate:.0%} a "
              "year, fit against Kaplan-Meier" + (" and residual value of active customers" if RES is not None else ""),
              units=SBG_UNITS)
else:
    out.table("sbg_cohorts", pd.DataFrame(columns=["cohort", "cohort_by", "customers", "gamma", "delta"]),
              description="no sBG model: no contractual durations in the customer table")
'''),
("md", '''
## Who is about to leave: the churn model

Features describe each customer as of a date and use nothing recorded after it: attributes from the
customer table, tenure, purchase behaviour, contacts with the company (complaints, service and sales
contacts) and the latest survey answer. Logistic regression and gradient boosting (with calibrated
probabilities) are compared out of sample. Gradient boosting is tuned inside every fit: a handful of
settings (learning rate, tree size, customers per leaf, L2 penalty; early stopping on part of the
training rows) are scored by an inner cross-validation of that fit's training customers only, so the
customers it is evaluated on never help choose its settings. The choice rule: logistic regression is
kept unless boosting's ROC-AUC is higher by more than 0.005, so the interpretable model wins ties.
'''),
("code", '''
pred = ch.predict_churn(ds, churn_definition, as_of=AS_OF, horizon_days=horizon_days, model=model,
                        exclude=exclude_columns, seed=seed, inactivity_days=inactivity_days,
                        p_alive_threshold=p_alive_threshold)
if pred.mode == "snapshot":
    say("Evaluation: 5-fold stratified cross-validation (shuffled, seed {seed}) on all {n} customers; every "
        "customer is scored by a model that did not see them.", seed=seed, n=fmt_int(len(pred.y_eval)))
else:
    say("Evaluation: a time-based split. Models are fitted on customers active on {c1} (did they churn within "
        "{h} days?) and tested on those active on {c2}; the final model is refitted on both windows and scores "
        "the {n} customers active on {as_of} for churn by {end}.", c1=str(pred.cutoffs["train"].date()),
        c2=str(pred.cutoffs["test"].date()), h=horizon_days, n=fmt_int(len(pred.scores)),
        as_of=str(AS_OF.date()), end=str((AS_OF + pd.Timedelta(days=horizon_days)).date()))
comp = pred.comparison[["roc_auc", "pr_auc", "brier", "log_loss", "top_decile_lift", "churn_rate", "customers"]].copy()
comp.index = [ch.models.MODEL_NAMES[k] for k in comp.index]
comp["chosen"] = [k == pred.kind for k in pred.comparison.index]
show_table(comp, "Churn models compared out of sample", units={"roc_auc": "0.5 = chance, 1 = perfect",
           "pr_auc": "average precision", "brier": "mean squared error of probabilities", "top_decile_lift":
           "churn rate in the top 10% / overall", "churn_rate": "share churned in the evaluation data"}, precision=3)
m = pred.metrics
say("The chosen model is **{name}**: ROC-AUC **{auc:.3f}**, PR-AUC {pr:.3f} (base rate {base}), Brier score "
    "**{brier:.3f}**; the 10% of customers it rates most at risk churn {lift:.1f} times as often as average.",
    name=pred.model_name, auc=m["roc_auc"], pr=m["pr_auc"], base=fmt_pct(m["churn_rate"]), brier=m["brier"],
    lift=m["top_decile_lift"])
if pred.tuning is not None:
    TUNING = pred.tuning.drop(columns=ch.models.SETTING_COLUMNS).rename(columns={
        "chosen_in_evaluation": "chosen_in_" + pred.tuning.attrs["evaluation"].replace(" ", "_") + "s"})
    show_table(TUNING, "Gradient boosting: the settings searched and how often each was chosen",
               units={"evaluation_inner_auc": "mean inner-CV ROC-AUC over the evaluation fits",
                      "final_inner_auc": "inner-CV ROC-AUC in the refit on all customers"}, precision=4)
    say("{t}", t=ch.tuning_text(pred.tuning))
'''),
("code", '''
NAME = pred.model_name[:1].upper() + pred.model_name[1:]
cp.plot_roc_pr(pred.y_eval, pred.p_eval, f"{NAME}: out-of-sample ROC and precision-recall curves")
cal = ch.calibration_table(pred.y_eval, pred.p_eval)
cp.plot_calibration(cal, "Calibration: predicted churn probability vs observed churn rate")
gains = ch.gains_table(pred.y_eval, pred.p_eval)
cp.plot_gains(gains)
show_table(gains, "Cumulative gains and lift by score decile", units={"customers": "count", "churners": "count",
           "churn_rate": "share", "share_targeted": "share of customers", "share_of_churners_captured":
           "share of all churners", "lift": "x overall churn rate"}, precision=3)
say("Contacting the top 20% of customers by score reaches **{g20}** of the customers who churn.",
    g20=fmt_pct(gains.loc[2, "share_of_churners_captured"]))
'''),
("md", '''
### Drivers of churn

Odds ratios say how the odds of churning change with each feature, holding the others fixed (numeric
features per the stated unit, categories against the most common one). They come from a logistic
regression on the features without the engineered bands and interactions, so that each has one
plain reading. Permutation importance says how much the chosen model's ROC-AUC drops on held-out customers
when a driver is shuffled: how much the model relies on it. Engineered terms are grouped with what they
are built from (e.g. tenure bands and log tenure under *tenure*).
'''),
("code", '''
main = [c for c in pred.X_train.columns if not ch.is_engineered(c)]
logit = ch.LogitChurn().fit(pred.X_train[main], pred.y_train)
ors = logit.odds_ratios_.drop(index="const").sort_values("p_value")
show_table(ors.drop(columns=["feature"]).head(25), "Logistic regression (main effects): odds ratios of churn "
           "(25 smallest p-values)",
           units={"odds_ratio": "x odds vs reference", "lower / upper": "95% interval", "coef": "log odds ratio",
                  "se": "standard error of coef"}, precision=3)
cp.plot_forest(ors.head(20), "odds_ratio", "Logistic regression (main effects): odds ratios with 95% intervals",
               "Odds ratio (log scale; above 1 = more likely to churn)")
imp = ch.permutation_importance(pred.eval_model, pred.X_holdout, pred.y_holdout, n_repeats=3, seed=seed)
cp.plot_importance(imp, "auc_drop", f"{NAME}: permutation importance on held-out customers",
                   "Drop in ROC-AUC when the driver is shuffled")
show_table(imp.head(15), "Permutation importance (15 most important drivers)",
           units={"auc_drop": "ROC-AUC points lost", "sd": "standard deviation over 3 shuffles",
                  "features": "feature columns in the driver"}, precision=4)
say("The model relies most on **{a}**, **{b}** and **{c}**.", a=imp.index[0], b=imp.index[1] if len(imp) > 1 else "-",
    c=imp.index[2] if len(imp) > 2 else "-")
'''),
("md", '''
## Early-warning list

Active customers are ranked by **value at risk = churn probability x value**. Each gets its three
strongest personal risk drivers (features that raise this customer's risk most compared with a typical
customer) and a suggested action: *win-back* when purchases have already lapsed, *service call* after
complaints, unresolved contacts or service-related drivers, otherwise a *retention offer*.
'''),
("code", '''
value_all = ch.customer_value(ds, as_of=AS_OF)
value = value_all.reindex(pred.scores.index).fillna(0.0)
tiers_all = ch.value_tiers(value_all.reindex(labels.index))
cu = ch.customer_table(ds)
attrs = pd.DataFrame({"region": ch.top_levels(cu["region"], 50).reindex(pred.scores.index) if "region" in cu
                      else "(none)", "tier": ch.value_tiers(value)}, index=pred.scores.index)
if "segment" in cu:
    attrs["segment"] = cu["segment"].reindex(pred.scores.index)
ranked = ch.early_warning_list(pred.scores, value, attrs)
size = int(max(warning_list_size, contact_budget))
top_ids = ranked.index[:size]
contrib = pred.model.contributions(pred.X_score.loc[top_ids])
drivers = pred.model.top_drivers(pred.X_score.loc[top_ids], k=3, contributions=contrib)
actions = ch.suggest_action(pred.X_score.loc[top_ids], drivers, win_back_days=inactivity_days)
warning = ch.early_warning_list(pred.scores.loc[top_ids], value, attrs.loc[top_ids], drivers, actions)
VAR_TOTAL = float(ranked["value_at_risk"].sum())
VAL = value.attrs.get("unit", CUR)   # the currency, or "customers" when the data hold no value (expected churners)
say("Value is {what} ({cur}). The {n} active customers carry **{var}** of value at risk in total" +
    ("; the {size} in the exported list carry {top} ({share})." if len(warning) < len(ranked) else "."),
    what=value.attrs.get("description", "value"), cur=VAL, n=fmt_int(len(ranked)), var=fmt_value(VAR_TOTAL, VAL, CUR),
    size=fmt_int(len(warning)), top=fmt_value(warning["value_at_risk"].sum(), VAL, CUR),
    share=fmt_pct(warning["value_at_risk"].sum() / max(VAR_TOTAL, 1e-9)))
shown = protect(warning.head(20).reset_index(), enabled=privacy).set_index("customer_id")
show_table(shown, "Early-warning list: the 20 customers with the most value at risk",
           units={"churn_probability": f"within {horizon_days} days" if pred.mode == "time" else "model probability",
                  "value": VAL, "value_at_risk": VAL}, precision=3)
by_action = warning.groupby("suggested_action").agg(customers=("rank", "size"), value_at_risk=("value_at_risk", "sum"))
show_table(by_action, f"Suggested actions for the top {len(warning):,} customers", units={"customers": "count",
           "value_at_risk": VAL})
var_region = ranked.groupby("region")["value_at_risk"].sum().sort_values(ascending=False)
TOP_RISK_REGION = str(var_region.index[0]) if len(var_region) else ""
_ = out.export("churn_early_warning", plain(warning.reset_index()), description=(
    f"Top {len(warning)} active customers by value at risk (churn probability x {value.attrs.get('description', 'value')}) "
    "with region, tier, top drivers and suggested action"), units={"value": VAL, "value_at_risk": VAL})
'''),
("code", '''
budget_table = ch.targeting_comparison(pred.scores, value, contact_budget, save_rate=save_rate)
show_table(budget_table, f"Contacting {contact_budget:,} customers: value at risk reached and expected revenue saved",
           units={"expected_churners_reached": "sum of churn probabilities", "value_at_risk_reached": VAL,
                  "expected_revenue_saved": f"{VAL}, assuming a contact keeps {save_rate:.0%} of the value at risk"},
           precision=1)
cp.plot_targeting(ch.targeting_curve(pred.scores, value), contact_budget, VAL)
bv, bp = budget_table.loc["by value at risk"], budget_table.loc["by churn probability"]
say("With a budget of {b} contacts, targeting by value at risk is expected to save **{sv}** against {sp} when "
    "targeting by churn probability alone ({gain} more). It reaches {cv:.1f} expected churners instead of {cp:.1f}"
    + (": fewer churners, but the valuable ones." if bv["expected_churners_reached"] < bp["expected_churners_reached"]
       else "."), b=fmt_int(contact_budget), sv=fmt_value(bv["expected_revenue_saved"], VAL, CUR),
    sp=fmt_value(bp["expected_revenue_saved"], VAL, CUR),
    gain=fmt_value(bv["expected_revenue_saved"] - bp["expected_revenue_saved"], VAL, CUR),
    cv=bv["expected_churners_reached"], cp=bp["expected_churners_reached"])
'''),
("md", "## Why customers leave"),
("code", '''
base = pd.DataFrame({"churned": cu["churned"].fillna(False).astype(bool) if "churned" in cu else False}, index=cu.index)
for c in ("churn_reason", "region"):
    if c in cu:
        base[c] = cu[c]
if ch.has_reasons(base):
    churn_end = cu["churn_date"] if "churn_date" in cu else None
    value_before = ch.customer_value(ds, as_of=AS_OF, end=churn_end) if churn_end is not None else value_all
    base["tier"] = ch.value_tiers(value_before.reindex(base.index))
    pareto = ch.reason_pareto(base)
    cp.plot_pareto(pareto)
    show_table(pareto, "Churn reasons (Pareto)", units={"churned_customers": "count", "share": "of churned customers",
               "cumulative_share": "running total"}, precision=3)
    top2 = pareto.index[:2]
    say("**{a}** and **{b}** account for {share} of the churned customers with a recorded reason.",
        a=ch.reasons.REASON_LABELS.get(top2[0], top2[0]), b=ch.reasons.REASON_LABELS.get(top2[-1], top2[-1]),
        share=fmt_pct(pareto.loc[top2, "share"].sum()))
    reasons_region = ch.reasons_by(base, "region") if "region" in base else pd.DataFrame()
    if len(reasons_region) > 1:
        cp.plot_reasons_by(reasons_region, "Churn reasons by region", "Region")
        show_table(reasons_region, "Churn reasons by region", units="share of the region's churned customers; "
                   "churned_customers: count", precision=3)
    reasons_tier = ch.reasons_by(base, "tier")
    cp.plot_reasons_by(reasons_tier, "Churn reasons by value tier", "Value tier")
    show_table(reasons_tier, "Churn reasons by value tier (tier by value before leaving)",
               units="share of the tier's churned customers; churned_customers: count", precision=3)
else:
    reasons_region = pd.DataFrame()
    say("The dataset records no churn reasons, so there is no breakdown of why customers left.")
'''),
("code", '''
# reasons and satisfaction belong to the recorded (explicit) churn, whatever definition the rates use
why = labels if churn_definition == "explicit" or not ch.is_dated(ds) else ch.churn_labels(ds, as_of=AS_OF)
sat = ch.satisfaction_before_churn(ds, why.assign(churn_reason=cu["churn_reason"].reindex(why.index))
                                   if "churn_reason" in cu else why)
if sat is not None and sat.loc["churned", "customers_with_response"] > 0:
    show_table(sat, "Latest satisfaction answer within a year before leaving (churned) or before the as-of date (stayed)",
               units={"customers_with_response": "count", "mean_satisfaction": "1-5", "share_dissatisfied":
                      "share answering 1-2", "mean_nps_answer": "0-10", "median_days_before": "days"}, precision=2)
    traj = ch.satisfaction_trajectory(ds, why)
    if traj is not None and len(traj) > 1:
        cp.plot_satisfaction_trajectory(traj)
    say("Customers who left rated their overall satisfaction **{c:.2f}** on average in their last survey before "
        "leaving, against {s:.2f} for customers who stayed; {d} of the leavers were dissatisfied (1-2).",
        c=sat.loc["churned", "mean_satisfaction"], s=sat.loc["stayed", "mean_satisfaction"],
        d=fmt_pct(sat.loc["churned", "share_dissatisfied"]))
else:
    say("There are no dated survey answers before customers left, so satisfaction before churn cannot be shown.")
'''),
("code", '''
region_table = plain(region_rates.reset_index().rename(columns={"group": "region"}))
out.table("churn_rates_by_region", region_table, description="Churn rate by region (" +
          ("12 months to the as-of date" if DATED else "share flagged as churned") + ")",
          units={"at_start": "customers", "lost": "customers", "churn_rate": "share"})
if cox is not None:
    out.table("cox_hazard_ratios", plain(cox.hazard_ratios_.reset_index()), description="Cox model hazard ratios with 95% intervals",
              units={"hazard_ratio": "x churn hazard vs reference", "lower": "95% interval", "upper": "95% interval"})
else:
    out.table("cox_hazard_ratios", pd.DataFrame(columns=["term", "hazard_ratio", "lower", "upper", "p_value"]),
              description="no Cox model: no varying attribute")
out.table("model_metrics", plain(comp.rename_axis("model").reset_index()),
          description=f"Churn models compared out of sample ({'cross-validation' if pred.mode == 'snapshot' else 'time-based split'})",
          units={"roc_auc": "0-1", "brier": "mean squared error", "top_decile_lift": "x base rate"})
if pred.tuning is not None:
    out.table("model_tuning", plain(pred.tuning.reset_index()), description="Gradient boosting's hyper-parameter "
              "search: the settings searched and how often each was chosen (in the " +
              ("outer cross-validation folds" if pred.mode == "snapshot" else "training window") +
              " and in the refit on all customers, if boosting was chosen)",
              units={"evaluation_inner_auc": "mean inner-CV ROC-AUC", "final_inner_auc": "inner-CV ROC-AUC",
                     "chosen_in_evaluation": "evaluation fits"})
out.table("reasons_by_region", plain(reasons_region.reset_index()) if len(reasons_region) else
          pd.DataFrame(columns=["region", "churned_customers"]), description="Share of churn reasons by region",
          units={"churned_customers": "count"})
per_region = region_rates["churn_rate"].dropna()
out.metrics("churn", {
    "dataset": ds.name, "as_of": str(AS_OF.date()), "definition": churn_definition,
    "overall_churn_rate": OVERALL_RATE,
    "overall_churn_rate_period": "12 months to as_of" if DATED else "share flagged as churned",
    "churn_rate_by_region": {str(k): float(v) for k, v in per_region.items()},
    "highest_churn_region": str(per_region.idxmax()) if len(per_region) else "",
    "model": pred.kind, "evaluation": "cross-validation" if pred.mode == "snapshot" else "time-based split",
    "horizon_days": pred.horizon_days,
    "auc": float(pred.metrics["roc_auc"]), "brier": float(pred.metrics["brier"]),
    "value_at_risk_total": VAR_TOTAL, "value_basis": value.attrs.get("description", ""),
    "top_risk_region": TOP_RISK_REGION,
    "contact_budget": int(contact_budget),
    "expected_revenue_saved_by_value_at_risk": float(bv["expected_revenue_saved"]),
    "expected_revenue_saved_by_probability": float(bp["expected_revenue_saved"]),
}, description="Headline churn figures", units={"value_at_risk_total": VAL, "overall_churn_rate": "share"})
say("Published: churn rates by region, Cox hazard ratios, the sBG cohort table, model metrics, the boosting "
    "search, reasons by region, "
    "the headline churn metrics and the early-warning list ({n} customers).", n=fmt_int(len(warning)))
'''),
])
