"""Writes notebooks/03_clv.ipynb (run from the project root: python tools/notebooks/nb03.py)."""
import sys

sys.path.insert(0, "tools")
from nbbuild import build  # noqa: E402

build("notebooks/03_clv.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports and shown tables
calibration_end = None  # end of the calibration period YYYY-MM-DD (None: observation end minus 26 weeks, at most a third of the span)
observation_end = None  # end of the observation period YYYY-MM-DD (None: the dataset's as-of date)
time_unit = "W"  # model time unit: D, W, M, Q, Y or day, week, month, quarter, year
horizon = 12  # CLV horizon in months
discount_rate = 0.10  # yearly discount rate (0.10 is 10% a year), converted to a monthly rate
margin = 0.3  # gross margin as a share of revenue (0.3 is 30%); the default for categories without their own
category_margins = None  # margin per product category as a dict, e.g. {"Software": 0.6, "Services": 0.4} (None: one margin)
margin_column = None  # column holding a margin per customer (customer table) or per row (transactions)
clv_method = "horizon"  # horizon (the next horizon months) or dert (all future purchases, continuously discounted)
segment_by = None  # customer-table column for the cash-flow table (None: customer type when known, else value tier)
min_group_size = 30  # regions / customer types with fewer customers are shown as too few customers and not ranked
'''),
("code", '''
import numpy as np
import pandas as pd

from toolkit.clv import holdout as ho
from toolkit.clv import plots as cplt
from toolkit.clv import report as cr
from toolkit.clv import report_extras as rx
from toolkit.clv import rfm_summary, value_tiers
from toolkit.clv import spend as csp
from toolkit.clv.cashflow import cash_flow_table, customer_margin, period_purchases
from toolkit.clv.scorecard import holdout_scorecard
from toolkit.clv.units import continuous_rate, normalize_unit, period_rate, periods_per_year, unit_name
from toolkit.data import InsufficientDataError, load_dataset
from toolkit.engine import transaction_totals
from toolkit.plotting import apply_style
from toolkit.privacy import protect
from toolkit.reports.format import fmt_int, fmt_money, fmt_pct, say, show_table
from toolkit.results import RunResults

apply_style()
ds = load_dataset(dataset)
ds.require("transactions")
ds.require_money()
out = RunResults(run_dir, notebook="clv", pseudonymise=privacy)
CUR = ds.currency or "currency units"
UNIT = normalize_unit(time_unit)        # the one declared model time unit; everything else converts
UNITS = unit_name(UNIT, plural=True)
if clv_method not in ("horizon", "dert"):
    raise ValueError(f"clv_method must be 'horizon' or 'dert', not {clv_method!r}")


def plain(frame):
    """A copy without pandas attrs (they would be written into the parquet metadata)."""
    frame = frame.copy()
    frame.attrs = {}
    return frame
'''),
("md", '''
# Customer lifetime value

This report forecasts what each customer will buy and what that is worth, with probabilistic
"buy till you die" models fitted by maximum likelihood:

* **BG/NBD** (Fader, Hardie & Lee 2005): while active, a customer buys at a steady personal rate
  (rates vary between customers as a gamma distribution); after each repeat purchase the customer
  may drop out for good, with a personal probability (beta distributed across customers);
* **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987): the same purchasing, but the customer can
  drop out at any moment, after an exponentially distributed lifetime;
* **MBG/NBD** (Batislam et al. 2007): BG/NBD in which a customer can also drop out right after the
  first purchase;
* **Gamma-Gamma**: the average spend per transaction, varying around a personal mean.

The data are split in time: the models are fitted on a **calibration** period and checked on a
**holdout** period they have not seen. The model that forecasts the holdout best is refitted on all
data to predict each customer's next months, and CLV is the discounted expected margin from those
purchases.

## Data used
'''),
("code", '''
log = cr.purchase_occasions(ds.transaction_log)  # counted by the engine; the rows stay there
OBS = pd.Timestamp(observation_end).normalize() if observation_end else pd.Timestamp(ds.as_of).normalize()
tx = cr.purchases_until(log.transactions, OBS)
totals = transaction_totals(tx)
first_tx = totals["first_date"].normalize()
CAL = pd.Timestamp(calibration_end).normalize() if calibration_end else ho.default_calibration_end(first_tx, OBS)
if not first_tx < CAL < OBS:
    raise ValueError(f"calibration_end {CAL.date()} must lie between the first transaction ({first_tx.date()}) "
                     f"and the observation end ({OBS.date()})")
rfm_cal = rfm_summary(tx, OBS, CAL, UNIT)
rfm = rfm_summary(tx, OBS, None, UNIT)
hold_len = float(rfm_cal["duration_holdout"].iloc[0])
say("Transactions from **{first}** to **{obs}**: {rows} rows of {n} customers, {occ} purchase occasions (an "
    "occasion is a customer-day: several invoices on one day count once, their amounts are added). Time is "
    "measured in **{units}**.", first=str(first_tx.date()), obs=str(OBS.date()), rows=fmt_int(totals["rows"]),
    n=fmt_int(len(rfm)), occ=fmt_int(rfm["frequency"].sum() + len(rfm)), units=UNITS)
say("Calibration period: up to **{cal}**; holdout: the following **{h:.1f} {units}** to {obs}{why}. "
    "{nc} customers made their first purchase in the calibration period; they are the ones the models are "
    "tested on.", cal=str(CAL.date()), h=hold_len, units=UNITS, obs=str(OBS.date()), nc=fmt_int(len(rfm_cal)),
    why="" if calibration_end else " (default: 26 weeks, at most a third of the span)")
if log.return_rows:
    say("Returns: {r} rows have a negative amount. {d} customer-days held only returns ({v} {cur}, {s} of the net "
        "value of the purchase days); a return is not a purchase, so these days are left out of the models and the "
        "CLV is reduced by that share. Returns made on a purchase day are netted into that day's amount.",
        r=fmt_int(log.return_rows), d=fmt_int(log.return_only_days), v=f"{-log.return_only_value:,.0f}", cur=CUR,
        s=fmt_pct(log.returns_share))
else:
    say("No row has a negative amount: there are no returns to account for.")
for note in log.notes:
    if "only returns" not in note:
        say("- {n}", n=note)
if totals["outlier_rows"]:
    say("The loader flagged {k} unusually large rows and kept them; they enter the spend model as recorded.",
        k=fmt_int(totals["outlier_rows"]))
'''),
("md", '''
## Models fitted on the calibration period

Each model is fitted by maximum likelihood from several data-driven starting points with a
gradient-based optimiser (L-BFGS-B, Newton-polished, with a derivative-free fallback), and no
penalty; every fit records whether it converged, the gradient norm, the iterations and the start
it came from, and a fit without a maximum is reported, never dropped silently. The tables give
the estimates with standard errors and 95% intervals (delta method on log-parameters).
`r` and `alpha` describe purchase rates (mean rate r / alpha per unit of time); `a`, `b` the
dropout probability after a purchase (mean a / (a + b)); `s`, `beta` the dropout rate of
Pareto/NBD (mean s / beta per unit of time). The log-likelihood is the sum over customers of the
log of each customer's likelihood as printed in the papers, nothing dropped, in the stated time
unit; AIC and BIC penalise it by the number of parameters (lower is better).
'''),
("code", '''
models, failed = cr.fit_models(rfm_cal)
for name, msg in failed.items():
    say("**{m} could not be fitted**: {msg}", m=name, msg=msg)
if not models:
    raise InsufficientDataError("no transaction model could be fitted to these data: " + "; ".join(failed.values()))
params = cr.parameter_table(models)
show_table(cr.without_empty_notes(params).set_index(["model", "parameter"]),
           "Parameter estimates on the calibration period",
           units={"r, a, b, s": "dimensionless", "alpha, beta": UNITS}, precision=4)
errors = ho.holdout_errors(rfm_cal, models)
comparison = cr.model_comparison(models, errors)
comp_cols = ["parameters", "customers", "log_likelihood", "aic", "bic", "delta_bic", "converged", "grad_norm", "fit_note"]
show_table(cr.without_empty_notes(comparison.set_index("model")[comp_cols]),
           "Model comparison on the calibration data",
           units={"log_likelihood / aic / bic": "log-likelihood units", "grad_norm": "gradient norm at the optimum"},
           precision=2)
diag = pd.DataFrame([{"model": n, "converged": m.diagnostics_.converged, "gradient_norm": m.diagnostics_.grad_norm,
                      "iterations": m.diagnostics_.iterations, "best_start": f"{m.diagnostics_.start_index + 1} of "
                      f"{m.diagnostics_.n_starts}", "optimiser": m.diagnostics_.method,
                      "note": m.diagnostics_.boundary_note or m.diagnostics_.message} for n, m in models.items()])
show_table(diag.set_index("model"), "How each maximum was found",
           units={"gradient_norm": "norm of the gradient of the mean log-likelihood (log-parameters)"}, precision=3)
for sentence in cr.flag_sentences(models):
    say("**Flagged fit:** {s}", s=sentence)
say("{s}", s=cr.bic_sentence(comparison))
'''),
("md", '''
## Tracking: repeat transactions over time

The cumulative repeat transactions of the calibration cohort, actual against each model's
expectation (each customer's expected purchases since the first purchase, added up). Left of the
dotted line the models have seen the data; right of it is the holdout.
'''),
("code", '''
gg_cal = cr.fit_spend_model(rfm_cal)
spend_cal, _ = cr.expected_spend(gg_cal, rfm_cal, cr.first_purchase_amount(tx, CAL))
card = holdout_scorecard(rfm_cal, models, spend_cal, tx)
track = card.tracking
cplt.plot_tracking(track)
hold = track.loc[track["period"] == "holdout"]
at_cal = track.loc[track["period"] == "calibration"].iloc[-1]
end = track.iloc[-1]
lines = []
for m in models:
    act = end["actual"] - at_cal["actual"]
    pred = end[m] - at_cal[m]
    lines.append(f"{m} {pred:,.0f} ({pred / act - 1:+.1%})" if act else f"{m} {pred:,.0f}")
say("In the holdout the cohort made **{a}** repeat purchases; the models expected {l}.",
    a=fmt_int(end["actual"] - at_cal["actual"]), l="; ".join(lines))
'''),
("md", '''
## Holdout purchases by calibration frequency

For each group of customers with the same number of repeat purchases in the calibration period:
the mean number of purchases they actually made in the holdout, and the mean each model
predicted for them from their own history (the conditional expectation).
'''),
("code", '''
by_freq = ho.holdout_by_frequency(rfm_cal, models, max_frequency=7)
cplt.plot_by_frequency(by_freq)
show_table(by_freq, "Mean holdout purchases per customer by calibration repeat purchases",
           units={"customers": "count", "actual and models": "purchases per customer in the holdout"}, precision=3)
'''),
("md", '''
## Holdout scorecard and the choice of model

Every model is judged on the holdout, customer by customer and in total: the error of the
forecast purchases and of the forecast spend (expected purchases x expected spend per
transaction, against the revenue each customer actually brought), the error of the holdout
total, the **Brier score** of the probability of buying at all in the holdout (0 = perfect), the
**top-decile lift** (how much more the tenth of customers with the highest forecast actually
bought than the average customer) and the error of the cumulative tracking curve. Each criterion
ranks the models (equal within a tolerance: 2% of the value for errors, scores and lift, one
percentage point for percentage errors); the best mean rank wins, and when several models are
within half a rank of it, a regular fit before one flagged at the parameter boundary, then the one
with the lower calibration BIC. When every fit is flagged or all log-likelihoods tie, the scorecard
says that the choice is by rule only.

Two probabilities are scored against "bought in the holdout": P(active), the model's probability
of at least one purchase in the holdout, and P(alive) at the end of calibration, which is the
figure usually quoted but answers a different question (a customer who is still a customer may
simply not buy within a few months), so it is not expected to be calibrated for this event.
'''),
("code", '''
sc_cols = ["mae_purchases", "rmse_purchases", "aggregate_error", "mae_spend", "rmse_spend", "aggregate_spend_error",
           "brier_active", "brier_alive", "top_decile_lift", "tracking_mape", "mean_rank", "bic"]
show_table(card.metrics[sc_cols], "Holdout scorecard",
           units={"mae / rmse purchases": "purchases per customer", "mae / rmse spend": f"{CUR} per customer",
                  "aggregate errors": "predicted / actual - 1", "brier": "0 best, 0.25 coin flip",
                  "top_decile_lift": "x the average customer", "tracking_mape": "mean absolute % error, holdout weeks",
                  "mean_rank": "1 best"}, precision=3)
show_table(card.ranking(), "Rank of each model per criterion (1 = best; equal within the tolerance)", precision=2)
cplt.plot_reliability(card.reliability, "P(active)")
cplt.plot_reliability(card.reliability, "P(alive)")
cplt.plot_lift(card.lift)
chosen = card.recommended
say(("**The data do not separate the models.** " if card.caveat else "") + "{reason}", reason=card.reason)
say("Customers active in the holdout: {o}; mean P(active) {pa} and mean P(alive) {pl} ({m}). **{c}** is used for the "
    "CLV below.", o=fmt_pct(card.metrics["observed_active"].iloc[0]),
    pa=fmt_pct(card.metrics.loc[chosen, "mean_p_active"]),
    pl=fmt_pct(card.metrics.loc[chosen, "mean_p_alive"]) + cr.alive_caveat(models[chosen]),
    m=chosen, c=chosen)
'''),
("md", '''
## The chosen model on all data

The chosen model and the spend model are refitted on the whole observation period, so the
forecast starts from today's data. P(alive) is the probability that a customer has not dropped
out; the heat map shows how it depends on the number of repeat purchases and on when the last
one was, for a customer of typical age.
'''),
("code", '''
final = cr.fit_models(rfm, [chosen])[0].get(chosen)
if final is None:
    final_fit_failed = cr.fit_models(rfm, [chosen])[1][chosen]
    say("Refitting {m} on all data found no maximum ({e}); the calibration fit is used.", m=chosen, e=final_fit_failed)
    final = models[chosen]
show_table(final.summary_frame(), f"{chosen} fitted on all data to {OBS.date()}",
           units={"alpha, beta": UNITS, "others": "dimensionless"}, precision=4)
if cr.final_fit_note(chosen, final):
    say("**Flagged fit:** {s}", s=cr.final_fit_note(chosen, final))
T_typ = float(rfm["T"].median())
cplt.plot_prob_alive_heatmap(final, T_typ, max_frequency=int(min(max(rfm["frequency"].quantile(0.95), 5), 30)),
                             unit_label=UNITS, model_name=chosen)
pa = pd.Series(final.prob_alive(rfm), index=rfm.index)
say("{s}", s=cr.prob_alive_sentence(final, pa))
'''),
("md", '''
## Spend per transaction

The Gamma-Gamma model describes each customer's average spend per transaction from their repeat
purchases, shrunk towards the population mean the fewer purchases there are.
'''),
("code", '''
gg = cr.fit_spend_model(rfm)
show_table(gg.summary_frame(), "Gamma-Gamma spend model (repeat customers)", units={"gamma": CUR, "p, q": "dimensionless"},
           precision=4)
first_amt = cr.first_purchase_amount(tx, OBS)
spend, spend_notes = cr.expected_spend(gg, rfm, first_amt)
say("Fitted on {n} repeat customers. Population mean spend per transaction: {pm}.",
    n=fmt_int(gg.n_), pm=(f"{gg.mean_value_:,.2f} {CUR}" if np.isfinite(gg.mean_value_) else
                          "infinite (q at or below 1: spend differs enormously between customers)"))
if gg.n_dropped_:
    say("{k} repeat customers had a non-positive mean spend (returns exceeding purchases): left out of the fit "
        "and valued at a mean spend of 0 before shrinkage.", k=fmt_int(gg.n_dropped_))
if spend_notes["fallback"]:
    say("**Warning:** with q at or below 1 the model has no finite mean spend for customers without repeat "
        "purchases; {k} such customers are valued {how}.", k=fmt_int(spend_notes["fallback"]),
        how="by their first purchase, taken as one transaction of the spend process"
        if spend_notes["fallback_basis"] == "first purchase" else "at the observed mean spend per repeat transaction")
'''),
("md", '''
### Is spend independent of purchase frequency?

The Gamma-Gamma model assumes that how much a customer spends per transaction has nothing to do
with how often they buy; CLV multiplies the two forecasts. The test below measures the
association on the repeat customers (Pearson on spend and on log spend, and Spearman on ranks,
with two-sided p-values). Independence is called into question when Spearman's test rejects at 5%
and the rank correlation is at least 0.1 in size. The holdout shows what the assumption does per
frequency band: the model's expected spend against the spend actually observed, and the revenue
each band was forecast to bring in the holdout against what it brought.
'''),
("code", '''
spend_test = csp.frequency_spend_test(rfm)
show_table(spend_test, "Association between purchase frequency and mean spend (repeat customers, all data)",
           units={"statistic": "correlation", "p_value": "two-sided"}, precision=4)
dependent, verdict = csp.independence_verdict(spend_test)
say(("**Warning:** " if dependent else "") + "{v}.", v=verdict[0].upper() + verdict[1:])
pred_cal = ho.holdout_predictions(rfm_cal, {chosen: models[chosen]})[chosen]
band_spend = csp.spend_by_frequency(rfm_cal, spend_cal, pred_cal)
show_table(band_spend, f"Spend by calibration frequency band ({chosen} x Gamma-Gamma fitted on the calibration period)",
           units={"customers": "count", "spend / revenue": f"{CUR}; revenue per customer in the holdout",
                  "model_vs_observed / predicted_vs_actual": "relative difference"})
worst = band_spend["predicted_vs_actual"].abs().idxmax()
say("On the holdout, forecast revenue per customer is off by between {lo:+.0%} and {hi:+.0%} across frequency bands "
    "(largest gap in band {w}).", lo=band_spend["predicted_vs_actual"].min(), hi=band_spend["predicted_vs_actual"].max(),
    w=str(worst))
'''),
("md", '''
## Units and discounting

The time unit is declared once, as the parameter `time_unit`; the models' rates and ages are in
that unit, and everything else is converted by fixed day lengths (week = 7 days, month =
30.4375, quarter = 91.3125, year = 365.25). The discount rate is given per year and converted:
per period as `(1 + d) ** (1 / periods per year) - 1` (twelve monthly discounts equal one yearly
discount), and, for DERT, as the continuous rate `log(1 + d)` per year spread over the unit.
'''),
("code", '''
rates = pd.DataFrame({"unit": [unit_name(u) for u in ("W", "M", "Q", "Y")],
                      "periods_per_year": [periods_per_year(u) for u in ("W", "M", "Q", "Y")],
                      "discount_per_period": [period_rate(discount_rate, u) for u in ("W", "M", "Q", "Y")],
                      "continuous_rate": [continuous_rate(discount_rate, u) for u in ("W", "M", "Q", "Y")]})
show_table(rates.set_index("unit"), f"A yearly discount rate of {discount_rate:.1%} in other units",
           units={"discount_per_period": "share per period", "continuous_rate": "per period, continuously compounded"},
           precision=5)
method_text = (f"the next {horizon} months, each month's purchases discounted at its end at {period_rate(discount_rate, 'M'):.3%}"
               if clv_method == "horizon" else
               f"all future purchases (DERT), discounted continuously at {continuous_rate(discount_rate, UNIT):.5f} per "
               f"{unit_name(UNIT)}")
say("Models in **{u}**; CLV covers {m}.", u=UNITS, m=method_text)
'''),
("md", '''
## Customer lifetime value

CLV per customer = margin x expected spend per transaction x expected purchases, discounted:
either over a finite horizon, month by month, or over all future purchases (DERT, "discounted
expected residual transactions"). Customers with an explicit churn date (a closed account) are
worth 0. The margin is one share of revenue, one per customer, or one per product category
(weighted by what each customer bought), as the parameters say.
'''),
("code", '''
churned = cr.explicit_churn(ds.customers, OBS)
returns_factor = 1.0 - log.returns_share
margins, margin_text = customer_margin(rfm.index, margin, tx, category_margins, ds.customers, margin_column)
say("Margin: {t}.", t=margin_text)
table = cr.customer_value(rfm, final, gg, horizon=horizon, discount_rate=discount_rate, margin=margins,
                          horizon_unit="M", returns_factor=returns_factor, churned=churned, first_amount=first_amt,
                          method=clv_method)
clv = table["clv"]
g_clv, top20 = cr.gini(clv), cr.top_share(clv, 0.2)
basis = f"{horizon} months" if clv_method == "horizon" else "all future purchases (DERT)"
cplt.plot_clv_distribution(clv, CUR, f"{basis}, {discount_rate:.0%} a year")
cplt.plot_lorenz(cr.lorenz_curve(clv), g_clv)
say(("Over the next **{b}**" if clv_method == "horizon" else "Over **{b}**")
    + " (discount {d:.0%} a year; mean margin {mg}) the {n} customers are worth **{tot} {cur}** in total: "
    "mean {mean:,.2f}, median {med:,.2f} {cur} per customer. The top 20% of customers hold **{t20}** of it "
    "(Gini {g:.2f}).", b=basis, d=discount_rate,
    mg=fmt_pct(table["margin"].mean()), n=fmt_int(len(table)), tot=f"{clv.sum():,.0f}", cur=CUR, mean=clv.mean(),
    med=clv.median(), t20=fmt_pct(top20), g=g_clv)
if churned is not None and churned.any():
    say("{k} customers had closed their account by {d} and are valued at 0.",
        k=fmt_int(table.get("explicitly_churned", pd.Series(dtype=bool)).sum()), d=str(OBS.date()))
band_clv = csp.clv_by_frequency(table)
if dependent and band_clv["difference"].notna().any():  # all-zero CLV (everyone churned) has no difference
    cplt.plot_clv_by_band(band_clv, CUR)
    show_table(band_clv, "CLV by frequency band: under the model and with each band's observed spend",
               units={"mean / total": CUR, "difference": "model / observed-spend version - 1"})
    big = band_clv["difference"].abs().idxmax()
    say("**Effect on CLV:** spend {s} with frequency in these data, while the model pulls every customer's spend "
        "towards one overall mean. Against the same CLV computed with each frequency band's observed spend, the "
        "model's mean CLV is off by up to {d:+.0%} (band {b}) and by {t:+.1%} in total. Read the CLV of low- and "
        "high-frequency customers with that in mind.",
        s="rises" if spend_test.loc["spearman", "statistic"] > 0 else "falls",
        d=band_clv.loc[big, "difference"], b=str(big),
        t=band_clv["total_clv_model"].sum() / band_clv["total_clv_observed_spend"].sum() - 1)
'''),
("md", '''
## How certain are the values?

The model parameters are estimated from a finite number of customers, so they are uncertain. Drawing
parameter sets from the estimates' approximate (log-normal) sampling distribution and recomputing
every forecast gives 90% intervals: for the totals over all customers and for each customer. These
intervals cover **parameter uncertainty only**: they say how well the model's *expected* values are
known, not how many purchases a particular customer will actually make (individual behaviour adds
the randomness of purchasing and dropping out on top, so single customers will often fall outside).
'''),
("code", '''
N_DRAWS = 300  # parameter draws: enough for stable 90% intervals, a few seconds on 20,000 customers
intervals = None
withheld = cr.intervals_withheld(chosen, final, gg)
try:
    intervals = None if withheld else rx.value_intervals(
        final, rfm, gg, table, horizon=horizon, discount_rate=discount_rate, clv_method=clv_method, currency=CUR,
        level=0.9, n_draws=N_DRAWS, seed=0)
except (ValueError, KeyError, NotImplementedError, np.linalg.LinAlgError) as exc:
    say("No intervals could be computed for {m}: {e}.", m=chosen, e=str(exc))
if withheld:
    say("**Intervals withheld.** {s}", s=withheld)
if intervals is not None:
    show_table(intervals.population.set_index("quantity")[["estimate", "lower", "upper", "unit"]],
               f"90% intervals for the population totals ({chosen} and Gamma-Gamma parameter uncertainty, "
               f"{N_DRAWS} draws)", units={"estimate / lower / upper": "in the unit column"}, precision=0)
    pop_i = intervals.population.set_index("key")
    parts = [f"expected purchases over the next {horizon} months {pop_i.loc['expected_purchases', 'estimate']:,.0f} "
             f"({pop_i.loc['expected_purchases', 'lower']:,.0f} to {pop_i.loc['expected_purchases', 'upper']:,.0f})",
             f"customers still active {pop_i.loc['customers_alive', 'estimate']:,.0f} "
             f"({pop_i.loc['customers_alive', 'lower']:,.0f} to {pop_i.loc['customers_alive', 'upper']:,.0f})"]
    if intervals.with_clv:
        parts.append(f"total CLV {pop_i.loc['total_clv', 'estimate']:,.0f} {CUR} "
                     f"({pop_i.loc['total_clv', 'lower']:,.0f} to {pop_i.loc['total_clv', 'upper']:,.0f} {CUR})")
    say("With 90% confidence about the model parameters: {p}. These intervals reflect parameter uncertainty only, "
        "not the randomness of individual customers' behaviour.", p="; ".join(parts))
    for note in intervals.notes:
        say("- Note: {n}.", n=note)
    if intervals.with_clv:
        top_i = intervals.customers.sort_values("clv", ascending=False).head(15).rename_axis("customer_id").reset_index()
        top_i = top_i[["customer_id", "clv", "clv_lower", "clv_upper", "expected_purchases", "expected_purchases_lower",
                       "expected_purchases_upper", "prob_alive", "prob_alive_lower", "prob_alive_upper"]]
        show_table(protect(top_i, enabled=privacy), "The 15 customers with the highest CLV, with 90% intervals",
                   units={"clv / clv_lower / clv_upper": CUR,
                          "expected_purchases*": f"purchases in the next {horizon} months",
                          "prob_alive*": "probability"}, index=False, max_rows=15)
        rx.plot_interval_width(intervals.customers, CUR, intervals.level)
        pos = intervals.customers["clv"] > 0
        rel_w = ((intervals.customers["clv_upper"] - intervals.customers["clv_lower"]) / intervals.customers["clv"])[pos]
        say("Across customers with a positive CLV the 90% interval is {m} of the estimate wide (median; 90% of "
            "customers below {q}). The width grows with the value: the most valuable customers carry the largest "
            "absolute uncertainty.", m=fmt_pct(rel_w.median()), q=fmt_pct(rel_w.quantile(0.9)))
'''),
("md", '''
## Discounted cash flows per segment

Expected purchases, revenue and margin per future month, discounted at the monthly rate, summed
per customer segment.
'''),
("code", '''
cust = ds.customers.set_index("customer_id") if ds.has("customers") else None
seg_col = segment_by or ("customer_type" if cust is not None and "customer_type" in cust.columns
                         and cust["customer_type"].nunique() > 1 else None)
if seg_col is not None and (cust is None or seg_col not in cust.columns):
    raise ValueError(f"segment_by {seg_col!r} is not a column of the customer table")
segments = cust[seg_col].reindex(table.index) if seg_col else value_tiers(table["clv"])
seg_name = seg_col.replace("_", " ") if seg_col else "value tier (top 20% by CLV high, next 30% mid)"
flow_h = horizon if clv_method == "horizon" else 60
purchases_m = period_purchases(final, rfm, flow_h, "M")
if churned is not None:
    purchases_m[:, churned.reindex(rfm.index).fillna(False).to_numpy(bool)] = 0.0
flows = cash_flow_table(table, purchases_m, segments, discount_rate, "M", start=OBS + pd.Timedelta(days=1),
                        returns_factor=returns_factor)
cplt.plot_cash_flows(flows, CUR, "month")
summary_flows = flows.groupby("segment").agg(customers=("customers", "first"),
                                              expected_purchases=("expected_purchases", "sum"),
                                              expected_revenue=("expected_revenue", "sum"),
                                              expected_margin=("expected_margin", "sum"),
                                              discounted_margin=("discounted_margin", "sum"))
show_table(summary_flows.sort_values("discounted_margin", ascending=False),
           f"Cash flows over {flow_h} months by {seg_name}", units={"revenue / margin": CUR, "expected_purchases": "count"})
show_table(flows.loc[flows["period"].isin([1, 2, 3, flow_h])].set_index(["segment", "period"]),
           "Per-month cash flows (first three months and the last)",
           units={"revenue / margin": CUR, "discount_factor": "1 / (1 + monthly rate) ** month"}, max_rows=40)
if clv_method == "dert":
    say("The cash-flow table covers the first {h} months; DERT adds every month after that.", h=flow_h)
'''),
("md", "## CLV by region and customer type"),
("code", '''
cust = ds.customers.set_index("customer_id") if ds.has("customers") else None
cac = cr.region_cac(ds.marketing_spend, ds.customers)
by_region = None
if cust is not None and "region" in cust.columns and cust["region"].notna().any():
    by_region = cr.value_by_group(table, cust["region"], cac, "region", min_group_size)
    for col in ("cac", "clv_cac"):          # the same columns with or without marketing spend
        if col not in by_region.columns:
            by_region[col] = np.nan
    cplt.plot_value_by_group(by_region, "region", CUR)
    show_table(cr.without_empty_notes(by_region.set_index("region")), "Predicted CLV by region",
               units={"customers": "count", "mean_clv / median_clv / total_clv / cac": CUR,
                      "clv_share / mean_prob_alive": "share", "clv_cac": "mean CLV / CAC"})
    say("{s}", s=cr.group_ranking_sentence(by_region, "region", CUR, min_group_size))
    if cac is not None:
        say("{s}", s=cr.cac_sentence(by_region, horizon, min_group_size))
    else:
        say("The dataset has no marketing spend, so there is no CLV / CAC.")
else:
    say("The dataset has no regions (no customer table with a region), so CLV is not broken down by region.")
if cust is not None and "customer_type" in cust.columns and cust["customer_type"].nunique() > 1:
    by_type = cr.value_by_group(table, cust["customer_type"], None, "customer_type", min_group_size)
    show_table(cr.without_empty_notes(by_type.set_index("customer_type")), "Predicted CLV by customer type",
               units={"customers": "count", "mean_clv / median_clv / total_clv": CUR,
                      "clv_share / mean_prob_alive": "share"})
    say("{s}", s=cr.top_group_sentence(by_type, "customer_type", CUR, min_group_size))
'''),
("md", '''
## What drives purchasing, loyalty and spend

When customers have attributes (region, customer type, acquisition channel), the models can let
them shift each process: BG/NBD with the attributes in the purchase rate and in the dropout
probability, and Gamma-Gamma with them in the spend per purchase, fitted on the calibration period.
Each level is compared with a reference level (the most common one) with the other attributes held
at their reference: a **purchase multiplier** of 2 means twice the purchase rate, a **dropout
multiplier** is the ratio of mean dropout probabilities after a purchase (below 1: more loyal), and
a **spend multiplier** the ratio of mean spend per purchase of repeat customers (a log-link
regression of each customer's average spend, with robust intervals that hold whatever the spread of
spend between customers). Intervals are 95%.
'''),
("code", '''
cov_rep = rx.covariate_report(rfm_cal, ds.customers if ds.has("customers") else None, level=0.95)
if not cov_rep.applicable:
    say("This section does not apply to this dataset: it has no customer table with a region, customer type or "
        "acquisition channel of at least two levels.")
else:
    say("Attributes used: {c}. Reference levels: {r}. Fitted on the {n} customers of the calibration period{d}.",
        c=", ".join(col.replace("_", " ") for col in cov_rep.columns),
        r=", ".join(f"{k.replace('_', ' ')} {v}" for k, v in cov_rep.references.items()), n=fmt_int(cov_rep.n_used),
        d=(f"; {cov_rep.n_dropped:,} customers without all of these attributes were left out" if cov_rep.n_dropped
           else " (every customer has all attributes)"))
    for name, msg in cov_rep.failures.items():
        say("**{m} with covariates found no maximum** ({e}), so its effects are not shown. A level with few "
            "customers, or one that separates buyers from non-buyers perfectly, is the usual cause.", m=name, e=msg)
    for name, msg in cov_rep.warnings.items():
        say("**{m}**: a parameter of the model without covariates (the starting point) went to a limit ({e}); the "
            "multipliers are shown, but treat their intervals with care.", m=name, e=msg)
    if cov_rep.effects is not None:
        for sentence in cov_rep.effects["sentence"]:
            say("- {s}", s=sentence)
        show_table(cov_rep.table().set_index(["process", "covariate", "level"]),
                   "Multipliers by attribute level against the reference level (95% intervals)",
                   units={"multiplier / ci_lower / ci_upper": "x the reference level (ratio)",
                          "p_value": "two-sided, coefficient = 0"}, precision=3, max_rows=60)
        say("These are **associations given the model**, not causal effects: a level's multiplier compares customers "
            "who differ in that attribute (others held at the reference), and it also reflects anything that goes "
            "with the attribute but is not in the data, such as how the customers were won or what they buy.")
'''),
("md", '''
## Valuable customers who may have lapsed

Customers in the top 20% by *CLV if still active* (their CLV divided by P(alive)) whose P(alive)
is below 0.5: worth a lot if they are still there, but more likely gone. The value at risk is
what is lost if they have indeed left: CLV if active x (1 - P(alive)).
'''),
("code", '''
risk = cr.value_at_risk(table, top=0.2, max_prob_alive=0.5)
if len(risk):
    shown = protect(risk.reset_index()[["customer_id", "frequency", "recency", "T", "monetary_value", "prob_alive",
                                        "clv", "clv_if_alive", "value_at_risk"]], enabled=privacy)
    show_table(shown, "High-value customers with P(alive) below 0.5, most value at risk first",
               units={"recency / T": UNITS, "monetary_value / clv / clv_if_alive / value_at_risk": CUR},
               index=False, max_rows=20)
    say("{k} valuable customers are more likely gone than active; together they would be worth {v:,.0f} {cur} "
        "more over the horizon if they were still active. Customer ids are {ids}.", k=fmt_int(len(risk)),
        v=risk["value_at_risk"].sum(), cur=CUR, ids="pseudonymised" if privacy else "shown as in the data")
else:
    say("No customer in the top 20% by value if active has P(alive) below 0.5.")
'''),
("code", '''
truth_files = cr.ground_truth_files(ds.spec.tables["transactions"].path)
recovery = None
if truth_files is not None:
    say("## Demo data: recovering the generating parameters")
    say("The demo data were generated from known BG/NBD parameters per customer segment (weekly units). "
        "Explicit churn was drawn independently of the purchase process, so fitting BG/NBD to each segment's "
        "customers without explicit churn, over the whole observation period, should recover the generating "
        "values: about 95% of the 95% intervals should contain them.")
    recovery = cr.ground_truth_recovery(tx, OBS, truth_files, ds.customers)
    cplt.plot_recovery(recovery)
    show_table(recovery.set_index(["segment", "parameter"]).drop(columns="note"),
               "Fitted per-segment BG/NBD parameters against the generating values (weeks)",
               units={"alpha": "weeks", "others": "dimensionless", "customers": "count"}, precision=3)
    ok = recovery["ci_lower"].notna()        # fits without a maximum or flagged (intervals withheld) left out
    say("**{c} of {n}** generating values lie inside their 95% interval ({s}).", c=int(recovery["covered"].sum()),
        n=int(ok.sum()), s=fmt_pct(recovery.loc[ok, "covered"].mean() if ok.any() else float("nan")))
    for r in recovery.loc[ok & ~recovery["covered"]].itertuples():
        say("- {seg}, {p}: estimate {e:.3f}, interval {lo:.3f} to {hi:.3f}, true {t:.3f}.", seg=r.segment,
            p=r.parameter, e=r.estimate, lo=r.ci_lower, hi=r.ci_upper, t=r.truth)
    for seg_name in recovery.loc[~ok, "segment"].unique():
        note = recovery.loc[recovery["segment"] == seg_name, "note"].iloc[0]
        say("- {s}: {e}.", s=seg_name, e=note if recovery.loc[recovery["segment"] == seg_name, "estimate"].notna().all()
            else f"no maximum found ({note})")
'''),
("md", "## Published results"),
("code", '''
export = table.reset_index()[["customer_id", "clv", "prob_alive", "expected_purchases", "expected_spend", "margin",
                               "frequency", "recency", "T", "monetary_value", "clv_if_alive"]]
if cust is not None:
    for col in ("region", "customer_type"):
        if col in cust.columns:
            export[col] = cust[col].reindex(export["customer_id"]).to_numpy()
export["segment"] = segments.reindex(export["customer_id"]).astype(str).to_numpy()
if intervals is not None and intervals.with_clv:
    export = export.merge(intervals.customers[["clv_lower", "clv_upper"]].rename_axis("customer_id").reset_index(),
                          on="customer_id", how="left")
out.export("customer_clv", plain(export),
           description=f"One row per customer: CLV over {basis} ({chosen} x Gamma-Gamma), P(alive), expected "
                       "purchases and spend", units={"clv": CUR, "clv_lower / clv_upper": f"{CUR}, 90% interval from parameter uncertainty",
                              "expected_spend": CUR, "recency": UNITS, "T": UNITS})
comparison_out = comparison.merge(card.metrics[["brier_active", "top_decile_lift", "tracking_mape", "mae_spend",
                                                "mean_rank"]], left_on="model", right_index=True, how="left")
comparison_out["recommended"] = comparison_out["model"] == chosen
out.table("model_comparison", plain(comparison_out),
          description="Transaction models: calibration log-likelihood, AIC, BIC; holdout errors and scorecard rank")
out.table("holdout_scorecard", plain(card.metrics.reset_index()),
          description="Holdout scorecard of the transaction models (criteria, ranks, recommendation)")
out.table("clv_cash_flows", plain(flows), description=f"Expected and discounted monthly cash flows by {seg_name}",
          units={"expected_revenue": CUR, "expected_margin": CUR, "discounted_margin": CUR})
if cov_rep.effects is not None:
    out.table("clv_covariate_effects", cov_rep.published(),
              description="Multipliers of the purchase rate, mean dropout probability and spend per purchase by "
                          "customer attribute level against the reference level (BG/NBD and Gamma-Gamma with "
                          "covariates, calibration period; associations, not causal effects)",
              units={"multiplier": "ratio to the reference level", "ci_lower / ci_upper": "95% interval"})
if by_region is not None:
    out.table("clv_by_region", plain(by_region), description=f"Predicted {horizon}-month CLV per region",
              units={"mean_clv": CUR, "total_clv": CUR, "cac": CUR})
metrics = {
    "dataset": ds.name, "observation_end": str(OBS.date()), "calibration_end": str(CAL.date()),
    "time_unit": UNIT, "clv_method": clv_method, "horizon_months": int(horizon) if clv_method == "horizon" else None,
    "discount_rate_yearly": float(discount_rate), "discount_rate_monthly": period_rate(discount_rate, "M"),
    "mean_margin": float(table["margin"].mean()), "margin_basis": margin_text, "customers": int(len(table)),
    "mean_clv": float(clv.mean()), "median_clv": float(clv.median()), "total_clv": float(clv.sum()),
    "top20_clv_share": top20, "gini_clv": g_clv, "chosen_model": chosen, "chosen_reason": card.reason,
    "holdout_mae": float(card.metrics.loc[chosen, "mae_purchases"]),
    "holdout_rmse": float(card.metrics.loc[chosen, "rmse_purchases"]),
    "holdout_aggregate_error": float(card.metrics.loc[chosen, "aggregate_error"]),
    "holdout_brier_active": float(card.metrics.loc[chosen, "brier_active"]),
    "holdout_top_decile_lift": float(card.metrics.loc[chosen, "top_decile_lift"]),
    "mean_prob_alive": float(table["prob_alive"].mean()), "models_failed": sorted(failed),
    "spend_frequency_spearman": float(spend_test.loc["spearman", "statistic"]),
    "spend_frequency_p": float(spend_test.loc["spearman", "p_value"]), "spend_independence_fails": bool(dependent),
    "returns_share": log.returns_share, "gamma_gamma_dropped_nonpositive": int(gg.n_dropped_),
}
if intervals is not None:
    metrics.update(intervals.metrics())
metrics["covariate_customers"] = int(cov_rep.n_used) if cov_rep.applicable else None
metrics["covariate_customers_dropped"] = int(cov_rep.n_dropped) if cov_rep.applicable else None
if recovery is not None:
    metrics["ground_truth_coverage"] = float(recovery["covered"].mean())
out.metrics("clv", metrics, description="Headline CLV figures", units={"mean_clv": CUR, "total_clv": CUR, "total_clv_estimate / lower / upper": CUR,
                                                               "expected_purchases_*": "purchases",
                                                               "customers_alive_*": "customers"})
say("Published: per-customer CLV ({n} rows, ids {ids}), model comparison, holdout scorecard, cash flows{reg}{cov} and "
    "the headline metrics.",
    n=fmt_int(len(export)), ids="pseudonymised" if privacy else "as in the data",
    reg=", CLV by region" if by_region is not None else "",
    cov=", covariate effects" if cov_rep.effects is not None else "")
'''),
])
