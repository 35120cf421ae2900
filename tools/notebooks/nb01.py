"""Writes notebooks/01_segmentation.ipynb (run from the project root: python tools/notebooks/nb01.py)."""
import sys

sys.path.insert(0, "tools")
from nbbuild import build  # noqa: E402

build("notebooks/01_segmentation.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports and shown tables
as_of = None  # analysis date YYYY-MM-DD (None: the dataset's as-of date)
features = None  # clustering features (None: the list in config/segmentation.yaml)
k_range = [2, 3, 4, 5, 6, 7, 8]  # numbers of clusters compared
tier_cutoffs = [0.2, 0.5]  # cumulative customer shares ending the high and mid tiers
seed = 42  # random seed for clustering and bootstrap
config = None  # segmentation settings file (None: config/segmentation.yaml)
tier_value = "revenue"  # value tiers by net "revenue" or predicted "clv" (published customer_clv)
migration_days = 182  # segment migration compares RFM segments at as_of minus this many days and at as_of
'''),
("code", '''
import numpy as np
import pandas as pd

import toolkit.segmentation as sg
from toolkit.data import load_dataset
from toolkit.engine import collect, transaction_totals
from toolkit.plotting import apply_style
from toolkit.privacy import protect
from toolkit.data.quality import rule_summary
from toolkit.reports.format import fmt_int, fmt_pct, say, show_table
from toolkit.results import RunResults
from toolkit.segmentation import plots as sp
from toolkit.segmentation.migration import check_partition, migration_directions, migration_from_dataset, segment_rank
from toolkit.segmentation.rfm import UNMATCHED

apply_style()
ds = load_dataset(dataset)
ds.require("transactions")
ds.require_money()
cfg = sg.load_config(config)
out = RunResults(run_dir, notebook="segmentation", pseudonymise=privacy)
cur = ds.currency or "currency units"
'''),
("md", '''
# Customer segmentation by region

This report splits the customer base in several complementary ways and then looks at how the
regions differ:

* **RFM** — recency, frequency and monetary scores (1-5) and named segments such as *Champions*
  or *At risk*, from an editable rule table;
* **value tiers** — high / mid / low value customers and the share of revenue each tier brings;
* **customer type**, **lifecycle stage** (potential, new, active, at risk, churned) and
  **demographic bands** where the data has them;
* **behavioural clusters** found by KMeans and Gaussian mixtures, described as readable **personas**;
* **regions** — segment mix and spend per region with significance tests and effect sizes;
* a **customer-base audit** (deciles, Lorenz curve, revenue by acquisition cohort) and a
  **differentiated strategy** per tier and segment with a contact follow-up list.

Rules, cut-offs, clustering features and strategy texts live in `config/segmentation.yaml`.

## Data used
'''),
("code", '''
rules = rule_summary(ds)
rules = rules.loc[rules["table"].isin(["transactions", "customers"])]
show_table(rules[["table", "rule", "action", "rows", "column", "detail"]],
           "What loading did to the transactions and customers", units={"rows": "source rows"}, index=False)
rep = ds.report
tx = ds.transaction_log  # the rows stay in the engine; only totals and per-customer results come back
totals = transaction_totals(tx)
no_id = rep.count("transactions", "no_customer_id") + rep.count("transactions", "missing_ids")
say("Transactions: **{rows}** rows kept. Rows without a customer id (not attributable, left out): **{no_id}**. "
    "Exact duplicates: **{dups}** ({dup_action}). Rows with a negative amount — returns and cancelled "
    "invoices, kept as negative net revenue: **{neg_rows}**{neg_value}. Unusually large rows flagged but "
    "kept: **{outl}**.",
    rows=fmt_int(totals["rows"]), no_id=fmt_int(no_id), dups=fmt_int(rep.count("transactions", "duplicates")),
    dup_action="kept: the spec treats them as genuine repeat lines"
    if (rules.loc[rules["rule"] == "duplicates", "action"] == "kept").any() else "dropped",
    neg_rows=fmt_int(totals["negative_rows"]),
    neg_value=f", together {-totals['negative_value']:,.0f} {cur}" if totals["negative_rows"] else "",
    outl=fmt_int(rep.count("transactions", "outliers")))
other = rules.loc[(rules["table"] == "transactions") & ~rules["rule"].isin(
    ["no_customer_id", "missing_ids", "duplicates", "returns", "outliers"]) & (rules["action"] == "dropped")]
for r in other.itertuples():
    say("- {rule}: {rows} rows dropped ({detail}).", rule=r.rule, rows=fmt_int(r.rows), detail=r.detail)
'''),
("md", '''
## One summary per customer

Recency, frequency and monetary value are computed once per customer from the transactions up to
the analysis date; nothing dated later is used. Frequency counts orders with a positive amount,
monetary value is net revenue (purchases minus returns), recency is the number of days since the
last purchase.
'''),
("code", '''
clv = None
if tier_value == "clv":
    ids = (ds.customers["customer_id"] if ds.has("customers")
           else collect(tx.select("customer_id").unique(), sort=["customer_id"])["customer_id"])
    clv = sg.published_clv(run_dir, pd.Index(ids), privacy)
    if clv is None:
        say("Value tiers by predicted CLV were asked for, but this run has no published `customer_clv` table; "
            "the tiers use net revenue instead.")
seg = sg.segment_dataset(ds, as_of=as_of, config=cfg, features=features, k_range=k_range,
                         tier_cutoffs=tier_cutoffs, seed=seed, value=clv,
                         value_basis="predicted CLV" if clv is not None else "net revenue")
cust = seg.customers
buyers = cust.loc[cust["is_buyer"]]
n_all, n_buy = len(cust), len(buyers)
show_table(sg.feature_summary(seg.features), "Distribution of the per-customer features (customers with a purchase)",
           units={"recency_days / tenure_days": "days", "frequency": "orders",
                  "monetary / avg_order_value / revenue_12m": cur, "customers": "count"})
say("As of **{as_of}** the data holds **{n}** customers, **{b}** of whom bought at least once. Per buyer, the "
    "median number of orders is {f:.0f}, the median net revenue {m:,.0f} {cur} and the median time since the "
    "last purchase {r:.0f} days.",
    as_of=str(seg.as_of.date()), n=fmt_int(n_all), b=fmt_int(n_buy), f=buyers["frequency"].median(),
    m=buyers["monetary"].median(), r=buyers["recency_days"].median(), cur=cur)
for note in seg.notes:
    say("- {note}", note=note)
'''),
("md", '''
## RFM scores and segments

Each buyer gets a score from 1 to 5 for recency (5 = most recent), frequency and monetary value:
the quintile of the share of customers with a strictly worse value, so tied customers share a
score. The named segments come from the rule table in `config/segmentation.yaml`, using the
recency score and the combined frequency-monetary score FM.
'''),
("code", '''
rfm_rules = cfg["rfm"]["segments"]
rfm_summary = sg.segment_summary(cust, cust["rfm_segment"], rfm_rules)
sp.plot_rfm_grid(seg.scores.loc[cust["is_buyer"]])
sp.plot_segment_sizes(rfm_summary)
show_table(rfm_summary, "RFM segments",
           units={"customers": "count", "customer_share / revenue_share": "share of all customers / of net revenue",
                  "revenue / median_monetary": cur, "median_recency_days": "days", "median_frequency": "orders"})
top = rfm_summary.drop(index=[i for i in ("No purchase", "Other") if i in rfm_summary.index])
best = top["revenue_share"].idxmax()
risk = rfm_summary.reindex(["At risk", "Can't lose"]).dropna(how="all")
say("**{best}** is the most valuable RFM segment: {cs} of customers bringing {rs} of net revenue. "
    "Customers *At risk* or in *Can't lose* — good customers who have not bought for a long time — "
    "number {nr} and account for {rr} of revenue to date.",
    best=best, cs=fmt_pct(top.loc[best, "customer_share"]), rs=fmt_pct(top.loc[best, "revenue_share"]),
    nr=fmt_int(risk["customers"].sum()), rr=fmt_pct(risk["revenue_share"].sum()))
'''),
("md", '''
## Segment migration

Where did each RFM segment's customers go? The segments are computed twice with the same rules: on
the start date (the as-of date minus `migration_days`) from the data up to that day only, and on the
as-of date. A cell of the migration matrix counts the customers who were in the row's segment then and
are in the column's segment now; customers who arrived after the start date form the row *Not yet a
customer*. The revenue matrix gives the net revenue those customers brought between the two dates. A
move counts as an improvement when the new segment ranks higher, segments being ranked by the mean
recency + frequency-monetary score (R + FM) of the score combinations their rule covers.
'''),
("code", '''
T1 = seg.as_of
T0 = T1 - pd.Timedelta(days=int(migration_days))
grid = check_partition(rfm_rules, int(cfg["rfm"].get("bins", 5)))  # raises unless each score combination has one rule
rank = segment_rank(grid)
mig = None
if int(migration_days) <= 0:
    say("`migration_days` is {d}: it must be positive for a segment migration.", d=migration_days)
elif T0 < totals["first_date"].normalize():
    say("The transactions start on {first}, so there are no segments on {t0} to compare with; choose a smaller "
        "`migration_days` (now {d}).", first=str(totals["first_date"].date()), t0=str(T0.date()), d=migration_days)
else:
    mig = migration_from_dataset(ds, T0, T1, config=cfg)
    D0, D1 = str(T0.date()), str(T1.date())
    cells = migration_directions(mig.table, rank)
    counts = mig.customers
    sp.plot_migration(counts, D0, D1)
'''),
("code", '''
if mig is not None:
    n = mig.n_customers
    moves = cells.groupby("direction")["customers"].sum()
    rev = cells.groupby("direction")["revenue"].sum()
    known = n - int(moves.get("joined", 0))
    say("Of the **{known}** customers known on {d0}, **{st}** ({st_p}) stayed in their segment by {d1}, **{im}** "
        "({im_p}) moved up to a higher-ranked segment and **{sl}** ({sl_p}) slipped to a lower one" +
        ("; {sw} moved between segments of equal rank" if moves.get("sideways", 0) else "") +
        ("; **{new}** customers joined after {d0}" if moves.get("joined", 0) else "") + ". In the period the "
        "customers who moved up brought {rim} of net revenue, those who slipped {rsl}.", known=fmt_int(known),
        d0=D0, d1=D1, st=fmt_int(moves.get("stayed", 0)), st_p=fmt_pct(moves.get("stayed", 0) / max(known, 1)),
        im=fmt_int(moves.get("improved", 0)), im_p=fmt_pct(moves.get("improved", 0) / max(known, 1)),
        sl=fmt_int(moves.get("slipped", 0)), sl_p=fmt_pct(moves.get("slipped", 0) / max(known, 1)),
        sw=fmt_int(moves.get("sideways", 0)), new=fmt_int(moves.get("joined", 0)),
        rim=f"{rev.get('improved', 0):,.0f} {cur}", rsl=f"{rev.get('slipped', 0):,.0f} {cur}")
    flows = cells.loc[cells["direction"].isin(["improved", "slipped", "sideways"])].sort_values("customers",
                                                                                                 ascending=False)
    if len(flows):
        f0 = flows.iloc[0]
        say("The largest move is **{a}** to **{b}**: {k} customers, {p} of the segment.", a=f0["segment_t0"],
            b=f0["segment_t1"], k=fmt_int(f0["customers"]), p=fmt_pct(f0["share_of_t0"]))
    best = rank.idxmax()
    if best in counts.index:
        out_best = cells.loc[(cells["segment_t0"] == best) & (cells["direction"] == "slipped")]
        say("Of the {n0} **{b}** on {d0}, {k} ({p}) still are; {sl} slipped" +
            (", most of them to **{to}** ({to_n})." if len(out_best) else "."), n0=fmt_int(counts.loc[best].sum()),
            b=best, d0=D0, k=fmt_int(counts.loc[best].get(best, 0)),
            p=fmt_pct(counts.loc[best].get(best, 0) / max(counts.loc[best].sum(), 1)),
            sl=fmt_int(out_best["customers"].sum()),
            to=out_best.sort_values("customers").iloc[-1]["segment_t1"] if len(out_best) else "",
            to_n=fmt_int(out_best["customers"].max()) if len(out_best) else "")
    combos = grid["segment"].value_counts().rename("score_combinations")
    summ = mig.summary().join(rank.rename("rank_score")).join(combos)
    summ["score_combinations"] = summ["score_combinations"].astype("Int64")
    summ = summ[["rank_score", "score_combinations", "customers_t0", "customers_t1", "stayed", "stay_share",
                 "period_revenue"]]
    show_table(summ, f"RFM segments on {D0} and {D1}",
               units={"rank_score": "mean R + FM of the segment's score combinations", "score_combinations":
                      "(R, F, M) combinations the rule covers", "customers_t0 / customers_t1 / stayed": "customers",
                      "stay_share": "share of the customers on " + D0,
                      "period_revenue": f"{cur}, {D0} (excl.) to {D1}"})
    show_table(mig.revenue, f"Net revenue between {D0} and {D1} by segment move",
               units=f"{cur}, net revenue (purchases minus returns) dated after {D0} up to {D1} of the customers "
                     f"making each move; rows: segment on {D0}, columns: segment on {D1}", precision=0)
    same_t1 = mig.segments["segment_t1"].reindex(cust.index).eq(cust["rfm_segment"]).all()
    complete = (int(counts.to_numpy().sum()) == n and mig.segments.index.is_unique
                and not mig.segments[["segment_t0", "segment_t1"]].isin([UNMATCHED]).any().any())
    say("Check: the segments are mutually exclusive and complete. Each of the {g} (R, F, M) score combinations "
        "matches exactly one rule, so {verdict}{same}", g=len(grid),
        verdict=(f"on both dates each of the {n:,} customers is in exactly one segment (the matrix adds up to {n:,}; "
                 "nobody is unmatched or counted twice)" if complete else "**but the matrix does not add up**"),
        same=("; the segments on the as-of date are those of the RFM section above." if same_t1 else
              ". **The segments on the as-of date differ from the RFM section above.**"))
'''),
("md", '''
## Value tiers

Buyers are ranked by value; the top share up to the first cut-off is the *high* tier, the next
share up to the second cut-off *mid*, the rest *low*. Registered customers who never bought are
tier *none*.
'''),
("code", '''
tier_order = list(cfg["tiers"]["labels"]) + [cfg["tiers"].get("no_purchase", "none")]
tiers_tbl = sg.tier_summary(cust["value_tier"], cust["value"], tier_order)
sp.plot_tiers(tiers_tbl.loc[tiers_tbl["customers"] > 0], seg.value_basis)
show_table(tiers_tbl, f"Value tiers by {seg.value_basis} (cut-offs {tier_cutoffs})",
           units={"customers": "count", "customer_share / value_share": "share of customers / of total value",
                  "value / mean_value / min_value / max_value": cur})
hi = tiers_tbl.iloc[0]
say("The **{t}** tier — {cs} of customers — brings **{vs}** of {basis}; the lowest tier brings {ls}.",
    t=tiers_tbl.index[0], cs=fmt_pct(hi["customer_share"]), vs=fmt_pct(hi["value_share"]), basis=seg.value_basis,
    ls=fmt_pct(tiers_tbl.loc[cfg["tiers"]["labels"][-1], "value_share"]))
'''),
("md", '''
## Customer type and lifecycle stage
'''),
("code", '''
types = sg.profile_by(cust, cust["customer_type"])
show_table(types, "Customers by type",
           units={"customers": "count", "customer_share / revenue_share": "share", "revenue / median_monetary": cur,
                  "median_frequency": "orders", "median_recency_days": "days"})
lc = cfg["lifecycle"]
stages = sg.stage_summary(cust, cust["lifecycle_stage"])
sp.plot_stages(stages)
show_table(stages, "Customers by lifecycle stage",
           units={"customers": "count", "customer_share / revenue_share": "share", "revenue / revenue_12m": cur})
say("Definitions: *new* = first purchase at most {new} days ago; *at risk* = no purchase for more than "
    "{risk} days (or {rg:g} times the customer's usual gap between orders, if longer); *churned* = an explicit "
    "churn date or no purchase for more than {churn} days (or {cg:g} times the usual gap); *potential* = "
    "registered without any transaction.", new=lc["new_days"], risk=lc["at_risk_days"], rg=lc["at_risk_gaps"],
    churn=lc["churned_days"], cg=lc["churned_gaps"])
share = stages["customer_share"]
say("{active} of customers are active, {risk} at risk and {churned} churned; the at-risk customers hold "
    "{risk_rev} of net revenue to date.", active=fmt_pct(share.get("active", 0)), risk=fmt_pct(share.get("at risk", 0)),
    churned=fmt_pct(share.get("churned", 0)),
    risk_rev=fmt_pct(stages["revenue_share"].get("at risk", 0)))
'''),
("md", "## Demographic segments"),
("code", '''
demo_cols = [c for c in ("age_band", "income_band", "gender", "occupation") if c in cust.columns]
if demo_cols:
    for col in demo_cols:
        prof = sg.profile_by(cust, cust[col].rename(col))
        if col == "age_band":
            prof = prof.reindex([b for b in cfg["demographics"]["age_labels"] if b in prof.index])
        if col == "income_band":
            prof = prof.reindex([b for b in cfg["demographics"]["income_labels"] if b in prof.index])
            prof = prof.join(sg.income_band_ranges(cust, cust[col]))
        sp.plot_demographic(prof, col.replace("_", " "))
        money = "revenue / median_monetary" + (" / min_income / max_income" if col == "income_band" else "")
        show_table(prof, f"Customers by {col.replace('_', ' ')}",
                   units={"customers": "count", "customer_share / revenue_share": "share of customers with a value",
                          money: cur, "median_frequency": "orders", "median_recency_days": "days"})
    known = cust[demo_cols[0]].notna().mean()
    say("Demographics are known for {k} of customers (typically individuals only).", k=fmt_pct(known))
else:
    say("The dataset has no demographic attributes (age, income, gender, occupation), so there are no "
        "demographic segments.")
'''),
("md", '''
## Behavioural clusters and personas

Clustering uses the buyers' behavioural features listed in the config (demographics too when the
data has them, with a lower weight). Skewed features get a signed log transform, all are scaled,
then KMeans and a Gaussian mixture are fitted for every k. KMeans' k is the one with the highest
silhouette score; the mixture's BIC is shown as a second opinion. Stability is the adjusted Rand
index between the final clusters and clusters refitted on bootstrap samples (1 = identical).
'''),
("code", '''
cf, sm = seg.cluster_features, seg.segmenter
logged = ", ".join(cf.log_columns_) or "none"
say("Features: **{f}** (log-transformed: {l}). Customers clustered: {n}.",
    f=", ".join(cf.get_feature_names_out()), l=logged, n=fmt_int(len(seg.X)))
sp.plot_selection(sm.selection_, sm.k_silhouette_, sm.k_bic_)
show_table(sm.selection_, "Evidence for the number of clusters",
           units={"silhouette": "mean silhouette, -1 to 1", "inertia": "within-cluster sum of squares",
                  "bic": "Bayesian information criterion"}, precision=3)
if len(sm.stability_):
    sp.plot_stability(sm.stability_)
say("The silhouette score is highest at **k = {k}** ({s:.3f}); the mixture's BIC is lowest at k = {kb}{why}. "
    "The {method} solution with k = {k} is used. Bootstrap stability: mean adjusted Rand index "
    "**{ari:.3f}** (5th percentile {p5:.3f}) over {nb} refits; KMeans and the mixture agree at "
    "ARI {agr:.3f}.", k=sm.n_clusters_, s=sm.selection_.loc[sm.k_silhouette_, "silhouette"], kb=sm.k_bic_,
    why=(" — BIC keeps rewarding extra components for the long tails of the spend distribution"
         if sm.k_bic_ > sm.k_silhouette_ else ""),
    method="KMeans" if sm.method == "kmeans" else "Gaussian-mixture", ari=sm.stability_mean_,
    p5=float(np.quantile(sm.stability_, 0.05)) if len(sm.stability_) else float("nan"), nb=len(sm.stability_),
    agr=sm.agreement_)
if sm.agreement_ < 0.5:
    say("KMeans and the Gaussian mixture split the customers differently (agreement {a:.2f}): the boundaries "
        "are not sharp in these data, so read the personas as a description of a continuum rather than as "
        "natural groups.", a=sm.agreement_)
'''),
("code", '''
pers = seg.personas
sp.plot_clusters(seg.X, sm.labels_, list(pers["persona"]), list(cf.get_feature_names_out()))
sp.plot_persona_value(pers)
show_table(pers, "Personas: one profile per cluster",
           units={"customers": "count", "customer_share / revenue_share / enterprise_share / churn_rate": "share",
                  "revenue / median_monetary / median_order_value": cur, "median_recency_days": "days",
                  "median_frequency": "orders", "top_regions / top_categories": "share of customers / of revenue"})
lead, big = pers["revenue_share"].idxmax(), pers.index[0]
say("The largest cluster, **{bn}**, holds {bs} of the clustered customers and {br} of net revenue.",
    bn=pers.loc[big, "persona"], bs=fmt_pct(pers.loc[big, "customer_share"]),
    br=fmt_pct(pers.loc[big, "revenue_share"]))
if lead != big:
    say("The most valuable, **{top}**, brings {ts} of net revenue with {tc} of the customers.",
        top=pers.loc[lead, "persona"], ts=fmt_pct(pers.loc[lead, "revenue_share"]),
        tc=fmt_pct(pers.loc[lead, "customer_share"]))
say("Names are generated from each cluster's most distinctive medians (value, order size, frequency, recency) "
    "and its dominant customer type.")
'''),
("md", '''
## Regional differences

Regions with fewer customers than `min_region_customers` (config) are pooled for the tests and
charts. The chi-square test asks whether the segment mix differs between regions (Cramér's V
measures how strongly); Kruskal-Wallis asks whether spend per customer does (epsilon-squared is
the share of rank variance explained by region: about 0.01 small, 0.08 medium, 0.26 large).
'''),
("code", '''
min_n = int(cfg["clustering"].get("min_region_customers", 20))
reg = cust.assign(region=sg.pool_regions(cust["region"], min_n))
has_regions = reg["region"].nunique() > 1
schemes = [s for s in ("persona", "rfm_segment", "value_tier", "customer_type", "lifecycle_stage", "segment")
           if s in cust.columns and cust[s].nunique() > 1]
nan_test = {"chi2": np.nan, "dof": 0, "p_value": np.nan, "cramers_v": np.nan, "low_expected_share": np.nan}
t0, kw = pd.Series(nan_test), {"H": np.nan, "p_value": np.nan, "epsilon_squared": np.nan}
if not has_regions:
    say("The dataset has no regional breakdown (every customer is in region **{r}**), so the regional "
        "comparison is skipped.", r=reg["region"].iloc[0])
else:
    pooled = sorted(set(cust["region"]) - set(reg["region"]))
    if pooled:
        say("{n} regions with fewer than {m} customers are pooled as *other regions*.", n=len(pooled), m=min_n)
    mix = sg.region_segment_table(reg, "persona")
    order = list(pers["persona"])
    sp.plot_region_mix(sg.crosstab(mix, "customer_share", order), "customers", "persona")
    show_table(sg.crosstab(mix, "customers", order).astype(int), "Customers per region and persona",
               units="customers")
    show_table(sg.crosstab(mix, "revenue_share", order), "Share of each region's net revenue by persona",
               units="share of the region's net revenue")
    tests = sg.mix_tests(reg, schemes)
    show_table(tests, "Chi-square tests: does the segment mix differ between regions?",
               units={"chi2": "statistic", "p_value": "probability", "cramers_v": "0-1", "n": "customers",
                      "low_expected_share": "share of cells with expected count below 5"}, precision=4)
    t0 = tests.loc["persona"]
    say("Persona mix across regions: chi-square {chi:.1f} on {dof} degrees of freedom, p = {p:.2g}, Cramér's V "
        "{v:.3f} — {verdict}.{warn}", chi=t0["chi2"], dof=int(t0["dof"]), p=t0["p_value"], v=t0["cramers_v"],
        verdict="the regions differ in their segment mix" if t0["p_value"] < 0.05
        else "no evidence that the mix differs between regions",
        warn=(f" Caution: {t0['low_expected_share']:.0%} of cells have an expected count below 5, so the "
              "p-value is only approximate." if t0["low_expected_share"] > 0.2 else ""))
'''),
("code", '''
if has_regions:
    kw = sg.spend_by_region_test(reg.loc[reg["is_buyer"]])
    spend = sg.spend_by_region(reg.loc[reg["is_buyer"]])
    sp.plot_spend_by_region(reg.loc[reg["is_buyer"]], currency=cur)
    show_table(spend, "Net revenue per customer by region (buyers)",
               units={"customers": "count", "median_spend / mean_spend / revenue": cur,
                      "mean_rank": "rank (1 = lowest)"})
    say("Kruskal-Wallis: H = {h:.1f} on {dof} degrees of freedom, p = {p:.2g}, epsilon-squared {e:.3f} — {verdict}. "
        "Median spend per customer is highest in **{top}** ({tm:,.0f} {cur}) and lowest in **{low}** "
        "({lm:,.0f} {cur}).", h=kw["H"], dof=kw["dof"], p=kw["p_value"], e=kw["epsilon_squared"],
        verdict="spend per customer differs between regions" if kw["p_value"] < 0.05
        else "no evidence that spend per customer differs between regions",
        top=spend.index[0], tm=spend["median_spend"].iloc[0], low=spend.index[-1],
        lm=spend["median_spend"].iloc[-1], cur=cur)
    show_table(sg.leading_segments(mix), "Each region's leading personas",
               units="share of the region's customers; index = share in the region / share overall")
    show_table(sg.leading_segments(sg.region_segment_table(reg, "rfm_segment")),
               "Each region's leading RFM segments",
               units="share of the region's customers; index = share in the region / share overall")
'''),
("md", '''
## Customer-base audit

How concentrated is revenue? Customers are ranked by net revenue and cut into ten equal groups;
the Lorenz curve and Gini coefficient summarise the concentration (0 = everyone spends the same,
1 = one customer brings everything). The C3 chart stacks revenue over time by the quarter in
which each customer first bought, showing how much of today's revenue older cohorts still bring.
'''),
("code", '''
values = buyers["monetary"]
dec = sg.decile_table(values)
sp.plot_deciles(dec)
show_table(dec, "Net revenue by customer decile (1 = top 10%)",
           units={"customers": "count", "revenue / mean_revenue / min_revenue / max_revenue": cur,
                  "revenue_share / cumulative_share": "share of net revenue"})
g, top20 = sg.gini(values), sg.top_share(values, 0.2)
sp.plot_lorenz(sg.lorenz_curve(values), g)
say("The top 10% of customers bring **{d1}** of net revenue and the top 20% **{t20}**; the Gini coefficient "
    "is **{g:.2f}**.", d1=fmt_pct(dec["revenue_share"].iloc[0]), t20=fmt_pct(top20), g=g)
coh = sg.cohort_revenue(tx, cust["first_purchase"], seg.as_of, period="Q" if
                        (seg.as_of - totals["first_date"]).days > 3 * 365 else "M")
sp.plot_cohorts(coh, cur)
last, first_cohort = coh.iloc[-1], coh.columns[0]
say("In the last complete period ({per}) the first cohort ({c0}) still brought {s0} of net revenue.",
    per=str(last.name), c0=str(first_cohort),
    s0=fmt_pct(last[first_cohort] / last.sum()) if last.sum() else "–")
'''),
("md", '''
## Differentiated strategy

Each value tier gets its own product, price and channel actions and a contact cadence; the RFM
segment adds a specific action and can shorten or stretch the cadence (`config/segmentation.yaml`,
section `strategy`). The revenue at stake is the segment's net revenue to date and in the last 12
months.
'''),
("code", '''
tier_plan = sg.tier_strategy(cust, cfg["strategy"])
show_table(tier_plan, "Strategy per value tier",
           units={"customers": "count", "revenue / revenue_12m": cur, "revenue_share": "share of net revenue",
                  "cadence_days": "days between contacts"})
plan = sg.strategy_table(cust, cfg["strategy"])
show_table(plan, "Actions per value tier and RFM segment, with customers and revenue at stake",
           units={"customers": "count", "revenue / revenue_12m": cur, "revenue_share": "share of net revenue",
                  "cadence_days": "days between contacts"}, index=False, max_rows=40)
stake = plan.sort_values("revenue_12m", ascending=False).iloc[0]
say("The largest revenue at stake over the last 12 months sits with **{seg_}** customers in the **{tier}** "
    "tier: {n} customers, {rev:,.0f} {cur}; they are to be contacted every {cad:.0f} days by {contact}.",
    seg_=stake["rfm_segment"], tier=stake["value_tier"], n=fmt_int(stake["customers"]),
    rev=stake["revenue_12m"], cur=cur, cad=stake["cadence_days"], contact=stake["contact"])
'''),
("md", "## Follow-up list"),
("code", '''
followup = None
if ds.has("interactions"):
    followup = sg.followup_list(cust, ds.interactions, seg.as_of, cfg["strategy"], value="value")
    eligible = (~cust["lifecycle_stage"].isin(cfg["strategy"]["followup"]["exclude_stages"])).sum()
    shown = protect(followup.reset_index(), enabled=privacy)
    show_table(shown, "Customers overdue for contact, highest value first",
               units={"value": cur, "days_since_contact / cadence_days / days_overdue": "days"},
               index=False, max_rows=25)
    by_tier = followup.groupby("value_tier").size().reindex(cfg["tiers"]["labels"], fill_value=0)
    say("**{n}** of {e} customers in contact-worthy stages are overdue for a contact ({hi} of them high value; "
        "{never} were never contacted). Customer ids are {ids}.", n=fmt_int(len(followup)), e=fmt_int(eligible),
        hi=fmt_int(by_tier.iloc[0]), never=fmt_int(followup["never_contacted"].sum()),
        ids="pseudonymised" if privacy else "shown as in the data")
else:
    say("The dataset has no contact log (interactions table), so there is no follow-up list; the cadences "
        "above still apply.")
'''),
("code", '''
segments_table = seg.export_table()
out.export("customer_segments", segments_table,
           description="One row per customer: RFM scores and segment, value tier, lifecycle stage, cluster, "
                       "persona, demographic bands, contact cadence",
           units={"monetary": cur, "value": cur, "recency_days": "days", "cadence_days": "days"})
region_mix = sg.region_mix_all(cust, schemes)
out.table("region_segment_mix", region_mix, description="Customers and net revenue per region and segment, "
          "for several segmentation schemes", units={"revenue": cur})
out.table("tier_summary", tiers_tbl.reset_index(), description=f"Value tiers by {seg.value_basis}",
          units={"value": cur})
out.table("personas", pers.reset_index(), description="One profile per behavioural cluster",
          units={"revenue": cur})
out.table("strategy", plan, description="Actions and contact cadence per value tier and RFM segment",
          units={"revenue": cur, "cadence_days": "days"})
if mig is not None:
    mig_table = cells.assign(t0=T0, t1=T1)
    out.table("segment_migration", mig_table, description=f"RFM segment migration from {D0} to {D1}: customers "
              "and net revenue per (segment on t0, segment on t1), with the move's direction",
              units={"customers": "count", "share_of_t0": "share of the t0 segment's customers",
                     "revenue": f"{cur}, net revenue dated after t0 up to t1"})
else:
    out.table("segment_migration", pd.DataFrame(columns=["segment_t0", "segment_t1", "customers", "share_of_t0",
                                                         "revenue", "direction"]),
              description="no segment migration: the data do not reach back to the start date")
if followup is not None:
    out.export("contact_followup", followup.reset_index(), description="Customers overdue for contact",
               units={"value": cur, "days_overdue": "days"})
out.metrics("segmentation", {
    "dataset": ds.name, "as_of": str(seg.as_of.date()), "n_customers": int(n_all), "n_buyers": int(n_buy),
    "gini": g, "top20_revenue_share": top20, "top10_revenue_share": float(dec["revenue_share"].iloc[0]),
    "chi2_p": float(t0["p_value"]), "chi2_cramers_v": float(t0["cramers_v"]),
    "kruskal_p": float(kw["p_value"]), "kruskal_epsilon_squared": float(kw["epsilon_squared"]),
    "chosen_k": int(sm.n_clusters_), "k_bic": int(sm.k_bic_), "method": sm.method,
    "ari_stability": sm.stability_mean_, "value_basis": seg.value_basis,
    "tier_value_share": tiers_tbl["value_share"].to_dict(),
    "rfm_segment_customers": rfm_summary["customers"].to_dict(),
}, description="Headline segmentation figures", units={"gini": "0-1", "top20_revenue_share": "share"})
say("Published: per-customer segments ({n} rows), region x segment mix, tier summary, personas, strategy"
    "{fu}, the segment migration and the headline metrics.", n=fmt_int(len(segments_table)),
    fu=", contact follow-up list" if followup is not None else "")
'''),
])
