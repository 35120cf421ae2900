"""The data-quality report's sections (toolkit.reports.data_quality) on tiny datasets written here:
what each section says, shows and publishes with money, without amounts and without transactions.
Every expected figure is counted from the rows this file writes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.data.spec import project_root
from toolkit.reports import data_quality as report
from toolkit.reports import open_report
from toolkit.reports.format import shown_path

TITLE = "Tiny <b>shop</b>"
# (customer, order, date, amount): two rows are dropped while loading (an empty id, a bad date)
ROWS = [("c1", "o1", "2025-01-05", "100.00"), ("c1", "o2", "2025-02-10", "2500.50"),
        ("c2", "o3", "2025-02-11", "40.00"), ("c2", "o4", "2025-02-20", "-15.25"),
        ("c3", "o5", "2025-03-01", "1200.00"), ("c3", "o6", "2025-03-15", "60.00"),
        ("c4", "o7", "2025-03-20", "75.00"), ("", "o8", "2025-03-21", "10.00"),
        ("c4", "o9", "2025-13-01", "20.00")]
KEPT = [r for r in ROWS if r[0] and r[2] != "2025-13-01"]
CUSTOMERS = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "region": ["North", "North", "South", "South"],
                          "gender": ["female", "male", None, "female"]})
COMPLETE_CUSTOMERS = CUSTOMERS.assign(gender="female", customer_type=["enterprise", "individual"] * 2,
                                      acquisition_date="2024-06-01")   # every column the loader adds has values


def _write(folder: Path, *, money: bool = True, customers: bool = True, transactions: bool = True,
           complete: bool = False) -> Path:
    data = folder / "data"
    data.mkdir(parents=True)
    spec: dict = {"name": "tiny", "title": TITLE, "as_of": "2025-03-31", "base": "data", "tables": {}}
    if money:
        spec["currency"] = "EUR"
    if transactions:
        pd.DataFrame(ROWS, columns=["cust_id", "invoice", "invoice_date", "net_amount"]).to_csv(data / "tx.csv",
                                                                                               index=False)
        cols = {"customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date"}
        if money:
            cols["amount"] = "net_amount"
        spec["tables"]["transactions"] = {"file": "tx.csv", "columns": cols,
                                          "rules": {"max_bad_fraction": 0.5}}   # two bad rows of nine: dirt here
    if customers:
        table = COMPLETE_CUSTOMERS if complete else CUSTOMERS
        table.to_csv(data / "customers.csv", index=False)
        spec["tables"]["customers"] = {"file": "customers.csv", "columns": {c: c for c in table.columns}}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def money(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dq_money")
    return open_report("data_quality", str(_write(folder)), str(folder / "run"))


@pytest.fixture(scope="module")
def counts_only(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dq_counts")
    return open_report("data_quality", str(_write(folder, money=False, customers=False)), str(folder / "run"))


@pytest.fixture(scope="module")
def customers_only(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dq_customers")
    return open_report("data_quality", str(_write(folder, transactions=False)), str(folder / "run"))


# ------------------------------------------------------------------------------------ tables loaded
def test_tables_loaded_names_the_tables_escapes_the_title_and_publishes_the_overview(money):
    sec = report.tables_loaded(money)
    [table] = sec.tables
    assert list(table.frame.index) == ["transactions", "customers"]
    assert table.frame.loc["transactions", "rows"] == len(KEPT) and table.frame.loc["customers", "rows"] == 4
    [sentence] = sec.sentences
    assert "Tiny &lt;b&gt;shop&lt;/b&gt;" in sentence and "<b>" not in sentence
    assert "provides 2 of the six model tables (transactions, customers)" in sentence
    assert "**2025-03-31**" in sentence
    published = money.out.read_table("table_overview")
    assert list(published["table"]) == ["transactions", "customers"] and list(published["rows"]) == [len(KEPT), 4]


# ------------------------------------------------------------------------------------ rows dropped
def test_rows_dropped_counts_what_loading_dropped_and_publishes_the_load_report(money):
    sec = report.rows_dropped(money)
    read, dropped = len(ROWS) + len(CUSTOMERS), len(ROWS) - len(KEPT)
    assert sec.value.rows_read == read and sec.value.rows_dropped == dropped == 2
    assert (f"Of **{read}** rows read from the dataset's files, **2** ({100 * 2 / read:.1f}%) were dropped"
            in sec.sentences[0])
    assert "- transactions: 9 rows read, 2 dropped, 7 out" in sec.sentences
    rules = money.out.read_table("load_report")
    assert set(rules.loc[rules["action"] == "dropped", "rule"]) == {"missing_ids", "bad_dates"}
    m = money.out.read_metrics("data_quality")
    assert (m["rows_read"], m["rows_dropped"], m["tables"]) == (read, 2, ["transactions", "customers"])
    assert m["rows_dropped_share"] == pytest.approx(2 / read)


def test_the_files_read_are_shown_without_machine_paths(money):
    files = report.rows_dropped(money).tables[0].frame["file"]
    assert list(files) == ["data/tx.csv", "data/customers.csv"]   # relative to the spec's folder
    html = report.rows_dropped(money).tables[0]._repr_html_()
    assert str(money.ds.spec.path.parent) not in html


def test_a_shown_path_is_relative_to_the_project_or_the_spec_or_just_the_file_name(tmp_path):
    root = project_root()
    assert shown_path(str(root / "data" / "demo" / "transactions.csv"), tmp_path) == "data/demo/transactions.csv"
    assert shown_path(str(tmp_path / "sub" / "x.csv"), tmp_path) == "sub/x.csv"
    assert shown_path(str(tmp_path / "elsewhere" / "x.csv"), tmp_path / "spec_folder") == "x.csv"
    assert shown_path("s3a://bucket/logs/x.parquet") == "s3a://bucket/logs/x.parquet"
    assert shown_path("(one row per customer of transactions)") == "(one row per customer of transactions)"


# ------------------------------------------------------------------------------------ activity
def test_activity_with_money_names_the_busiest_month_by_net_revenue(money):
    sec = report.activity(money)
    kept = pd.DataFrame(KEPT, columns=["c", "o", "date", "amount"]).astype({"amount": float})
    by_month = kept.groupby(pd.to_datetime(kept["date"]).dt.to_period("M"))["amount"].sum()
    assert by_month.idxmax() == pd.Period("2025-02") and by_month.max() == pytest.approx(2525.25)
    [sentence] = sec.sentences
    assert "from **2025-01-01** to **2025-03-01**" in sentence
    assert "the busiest month was **February 2025** with net revenue of EUR 2,525.25." in sentence
    [table] = sec.tables
    assert list(table.frame.columns) == ["orders", "customers", "revenue"]
    assert table.units["revenue"] == "net revenue, EUR"
    np.testing.assert_allclose(table.frame["revenue"], by_month.to_numpy())
    assert len(sec.figures) == 1


def test_activity_without_amounts_counts_orders_and_shows_no_money(counts_only):
    sec = report.activity(counts_only)
    [table] = sec.tables
    assert list(table.frame.columns) == ["orders", "customers"] and "revenue" not in table.units
    orders = pd.Series([r[2][:7] for r in KEPT]).value_counts().sort_index()   # orders per month
    assert list(table.frame["orders"]) == list(orders) == [1, 3, 3]   # a tie: the first month with most orders
    assert "the busiest month was **February 2025** with 3 orders (the data has no amounts)." in sec.sentences[0]
    assert not sec.figures and "EUR" not in sec.text_all


def test_activity_without_transactions_says_there_is_none(customers_only):
    sec = report.activity(customers_only)
    assert sec.value is None and not sec.tables and not sec.figures
    assert sec.sentences == ["The dataset has no transactions table, so there is no activity over time to show."]


# ------------------------------------------------------------------------------------ distributions
def test_distributions_with_money_give_median_percentile_and_returns_with_currency(money):
    sec = report.distributions(money)
    amounts = pd.Series([float(r[3]) for r in KEPT])
    [sentence] = sec.sentences
    assert (f"Row amounts: median EUR {amounts.median():,.2f}, 99th percentile EUR {amounts.quantile(0.99):,.2f}, "
            "1 negative rows (returns) worth EUR -15.25 in total.") == sentence
    titles = [f.figure.axes[0].get_title() for f in sec.figures]
    assert titles[0].startswith("Distribution of transaction amounts")
    assert {"Customers by region", "Customers by gender"} <= set(titles)


def test_distributions_without_amounts_say_so_and_draw_nothing(counts_only):
    sec = report.distributions(counts_only)
    assert sec.sentences == ["The transactions carry no amounts (purchase counts only), so there is no "
                             "distribution of amounts."]
    assert not sec.figures


def test_distributions_without_transactions_show_only_the_customers(customers_only):
    sec = report.distributions(customers_only)
    assert not sec.sentences
    assert {f.figure.axes[0].get_title() for f in sec.figures} >= {"Customers by region", "Customers by gender"}


# ------------------------------------------------------------------------------------ missing values
def test_missing_values_list_the_columns_with_their_share(money):
    sec = report.missing_values(money)
    [table] = sec.tables
    row = table.frame.set_index(["table", "column"]).loc[("customers", "gender")]
    assert row["missing"] == 1 and row["share missing"] == pytest.approx(0.25)
    assert "25.0%" in table._repr_html_()   # shares shown as percentages


def test_no_missing_values_is_said_in_a_sentence(tmp_path):
    rep = open_report("data_quality", str(_write(tmp_path, transactions=False, complete=True)), str(tmp_path / "run"))
    sec = report.missing_values(rep)
    assert not sec.tables and len(sec.value) == 0
    assert sec.sentences == ["No column of any table has missing values after loading."]
