import sys
sys.path.insert(0, "tools")
from nbbuild import build

build("notebooks/00_data_quality.ipynb", [
("params", '''
dataset = "config/datasets/demo.yaml"  # dataset spec (YAML)
run_dir = None  # run folder, set by the runner (None: outputs/interactive)
privacy = True  # pseudonymise customer ids in exports
'''),
("code", '''
from toolkit.data import quality as dq
from toolkit.data import load_dataset
from toolkit.plotting import apply_style
from toolkit.reports.format import fmt_int, fmt_money, fmt_pct, say, show_table
from toolkit.results import RunResults

apply_style()
ds = load_dataset(dataset)
out = RunResults(run_dir, notebook="data_quality", pseudonymise=privacy)
'''),
("md", '''
This report checks what the dataset spec delivered before any analysis is trusted: which tables
were loaded, how many rows each loading rule dropped, repaired or flagged, the period covered and
the shape of the main distributions.

## Tables loaded
'''),
("code", '''
overview = dq.table_overview(ds)
show_table(overview, "Tables loaded from the dataset spec",
           units={"rows": "count", "customers": "distinct customer ids", "first date / last date": "calendar date"})
say("Dataset **{title}** provides {n} of the six model tables ({names}); the analysis date (as-of) is "
    "**{as_of}**.", title=ds.title, n=len(ds.table_names), names=", ".join(ds.table_names),
    as_of=str(ds.as_of.date()))
'''),
("md", '''
## Rows dropped, repaired or flagged

Every rule that touched a row is listed with the number of rows, the source column, example values
and the first line numbers in the source file. Nothing is dropped without appearing here.
'''),
("code", '''
counts = ds.report.tables_frame().set_index("table")
show_table(counts, "Rows read and written per table", units="rows")
rules = dq.rule_summary(ds)
show_table(rules, "Loading rules that touched rows", units={"rows": "count", "lines": "line numbers in the source file"},
           index=False, max_rows=60)
read, dropped = ds.report.rows_read, counts.loc[~counts["derived"], "rows_dropped"].sum()
say("Of **{read}** rows read from the dataset's files, **{dropped}** ({share}) were dropped and **{repaired}** "
    "repaired; **{flagged}** were flagged but kept.", read=fmt_int(read), dropped=fmt_int(dropped),
    share=fmt_pct(dropped / max(read, 1)), repaired=fmt_int(counts["rows_repaired"].sum()),
    flagged=fmt_int(counts["rows_flagged"].sum()))
for line in ds.report.balance_lines() + dq.notes(ds):
    say("- {line}", line=line)
'''),
("md", "## Activity over time"),
("code", '''
if ds.has("transactions"):
    activity = dq.monthly_activity(ds)
    if ds.has_money:
        dq.plot_monthly(activity, ds.currency)
    else:
        activity = activity.drop(columns="revenue")
    units = {"orders": "count", "customers": "active customers", "revenue": f"net revenue, {ds.currency or 'currency'}"}
    show_table(activity.tail(12), "Last 12 months of activity", units={c: units[c] for c in activity.columns})
    best = activity["revenue" if ds.has_money else "orders"].idxmax()
    say("Transactions run from **{first}** to **{last}**; the busiest month was **{best}** with {what}.",
        first=str(activity.index.min().date()), last=str(activity.index.max().date()), best=best.strftime("%B %Y"),
        what=f"net revenue of {fmt_money(activity['revenue'].max(), ds.currency)}" if ds.has_money
        else f"{fmt_int(activity['orders'].max())} orders (the data has no amounts)")
else:
    say("The dataset has no transactions table, so there is no activity over time to show.")
'''),
("md", "## Distributions"),
("code", '''
if ds.has_money:
    dq.plot_amounts(ds, ds.currency)
    amt = dq.amount_summary(ds)
    say("Row amounts: median {med}, 99th percentile {p99}, {neg} negative rows (returns) worth {negsum} in total.",
        med=fmt_money(amt["median"], ds.currency), p99=fmt_money(amt["p99"], ds.currency),
        neg=fmt_int(amt["negative_rows"]), negsum=fmt_money(amt["negative_value"], ds.currency))
elif ds.has("transactions"):
    say("The transactions carry no amounts (purchase counts only), so there is no distribution of amounts.")
if ds.has("customers"):
    for col, counts_ in dq.categorical_profile(ds, "customers").items():
        dq.plot_counts(counts_, f"Customers by {col.replace('_', ' ')}", col.replace("_", " ").capitalize())
'''),
("md", "## Missing values"),
("code", '''
miss = dq.missingness(ds)
if len(miss):
    show_table(miss, "Columns with missing values after loading", units={"missing": "count", "share missing": "share of rows"},
               index=False, max_rows=60)
else:
    say("No column of any table has missing values after loading.")
'''),
("code", '''
out.table("load_report", rules, description="Rows dropped, repaired or flagged per loading rule")
out.table("table_overview", overview.reset_index(), description="Tables loaded")
out.metrics("data_quality", {
    "dataset": ds.name, "as_of": str(ds.as_of.date()), "tables": list(ds.table_names),
    "rows_read": int(read), "rows_dropped": int(dropped),
    "rows_dropped_share": float(dropped / max(read, 1)),
}, description="Headline data-quality figures")
'''),
])
