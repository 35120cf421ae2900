"""The loader: mapping, validation rules, counted repairs and errors that name file, column and rows."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.data import DataError, MissingTableError, SpecError, load_dataset

HEADER = "cust_id,invoice,invoice_date,net_amount\n"


def _spec(tmp_path: Path, body: str, tables: dict | None = None, **top) -> Path:
    (tmp_path / "tx.csv").write_text(body, encoding=top.pop("file_encoding", "utf-8"))
    spec = {
        "name": "t",
        "as_of": "2025-12-31",
        "tables": tables or {
            "transactions": {
                "file": "tx.csv",
                "columns": {"customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date",
                            "amount": "net_amount"},
            }
        },
        **top,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _rows(n: int, start: int = 0) -> str:
    return "".join(f"c{i % 7},o{i},2025-01-{1 + i % 28:02d},{10 + i}.50\n" for i in range(start, start + n))


def test_clean_file_loads_typed_and_balanced(tmp_path):
    ds = load_dataset(_spec(tmp_path, HEADER + _rows(50)))
    tx = ds.transactions
    assert len(tx) == 50
    assert pd.api.types.is_datetime64_any_dtype(tx["date"])
    assert tx["amount"].dtype == float
    assert tx["amount"].sum() == pytest.approx(sum(10.5 + i for i in range(50)))
    assert ds.report.tables_frame().loc[0, "rows_out"] == 50


def test_a_few_bad_dates_are_dropped_and_reported_with_line_numbers(tmp_path):
    body = HEADER + _rows(60) + "c1,bad1,2025-02-30,5\n" + "c2,bad2,n/a,6\n"
    ds = load_dataset(_spec(tmp_path, body))
    assert len(ds.transactions) == 60
    rep = ds.report.to_frame().set_index("rule")
    assert rep.loc["bad_dates", "rows"] == 2
    # header is line 1, 60 good rows are lines 2..61, the bad ones lines 62 and 63
    assert rep.loc["bad_dates", "lines"] == "62, 63"
    assert "2025-02-30" in rep.loc["bad_dates", "examples"]


def test_mostly_unparsable_dates_stop_with_file_column_rows(tmp_path):
    body = HEADER + "".join(f"c{i},o{i},{1 + i % 28:02d}/01/2025,5\n" for i in range(20))
    with pytest.raises(DataError) as err:
        load_dataset(_spec(tmp_path, body))
    msg = str(err.value)
    assert "tx.csv" in msg and "invoice_date" in msg and "rows 2, 3, 4" in msg and "01/01/2025" in msg
    assert err.value.column == "invoice_date"


def test_non_numeric_amounts_dropped_and_counted(tmp_path):
    ds = load_dataset(_spec(tmp_path, HEADER + _rows(40) + "c1,o99,2025-03-01,abc\n"))
    assert ds.report.count("transactions", "bad_numbers") == 1
    assert len(ds.transactions) == 40


def test_thousands_and_decimal_separators(tmp_path):
    body = "cust_id;invoice;invoice_date;net_amount\nc1;o1;2025-01-02;1.234,50\nc2;o2;2025-01-03;7,25\n"
    path = _spec(tmp_path, body)
    spec = yaml.safe_load(path.read_text())
    spec["tables"]["transactions"].update({"read": {"sep": ";"}, "decimal": ",", "thousands": "."})
    path.write_text(yaml.safe_dump(spec))
    ds = load_dataset(path)
    assert ds.transactions["amount"].tolist() == [1234.5, 7.25]


def test_wrong_delimiter_gets_a_hint(tmp_path):
    body = "cust_id;invoice;invoice_date;net_amount\nc1;o1;2025-01-02;1\n"
    with pytest.raises(DataError, match=r"looks ';'-separated"):
        load_dataset(_spec(tmp_path, body))


def test_missing_source_column_lists_what_the_file_has(tmp_path):
    body = "customer,invoice,invoice_date,net_amount\nc1,o1,2025-01-02,1\n"
    with pytest.raises(DataError) as err:
        load_dataset(_spec(tmp_path, body))
    assert "cust_id" in str(err.value) and "'customer'" in str(err.value)


def test_latin1_file_read_as_utf8_names_the_encoding(tmp_path):
    body = HEADER + "Müller,o1,2025-01-02,1\n"
    with pytest.raises(DataError, match="encoding"):
        load_dataset(_spec(tmp_path, body, file_encoding="latin-1"))
    path = tmp_path / "spec.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["tables"]["transactions"]["encoding"] = "latin-1"
    path.write_text(yaml.safe_dump(spec))
    assert load_dataset(path).transactions["customer_id"].iloc[0] == "Müller"


def test_byte_order_mark_is_accepted(tmp_path):
    path = _spec(tmp_path, HEADER + _rows(3))
    (tmp_path / "tx.csv").write_bytes(b"\xef\xbb\xbf" + (HEADER + _rows(3)).encode())
    assert len(load_dataset(path).transactions) == 3


def test_duplicates_returns_future_and_missing_ids_are_counted(tmp_path):
    body = (HEADER + _rows(50) + "c1,o1,2025-01-02,11.50\n"  # exact duplicate of row o1
            + "c1,r1,2025-02-01,-4.00\n"  # return
            + "c1,o77,2026-03-01,9\n"  # after as_of
            + ",o78,2025-03-01,9\n")  # no customer
    ds = load_dataset(_spec(tmp_path, body))
    r = ds.report
    assert r.count("transactions", "duplicates") == 1
    assert r.count("transactions", "returns") == 1
    assert r.count("transactions", "future_dates") == 1
    assert r.count("transactions", "missing_ids") == 1
    assert len(ds.transactions) == 51  # 50 + the return (kept as negative net revenue)
    assert (ds.transactions["amount"] < 0).sum() == 1


def test_input_file_is_not_modified(tmp_path):
    path = _spec(tmp_path, HEADER + _rows(30) + "c1,bad,xx,1\n")
    before = hashlib.sha256((tmp_path / "tx.csv").read_bytes()).hexdigest()
    load_dataset(path)
    assert hashlib.sha256((tmp_path / "tx.csv").read_bytes()).hexdigest() == before


@pytest.mark.parametrize("body, message", [("", "empty"), (HEADER, "no data rows")])
def test_empty_and_header_only_files(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        load_dataset(_spec(tmp_path, body))


def test_spec_errors(tmp_path):
    path = _spec(tmp_path, HEADER + _rows(3), colour="blue")
    with pytest.raises(SpecError, match="unknown key.*colour"):
        load_dataset(path)
    path = _spec(tmp_path, HEADER + _rows(3), tables={"transactions": {"file": "nope.csv", "columns": {}}})
    with pytest.raises(SpecError, match="does not exist"):
        load_dataset(path)
    with pytest.raises(SpecError, match="not found"):
        load_dataset(tmp_path / "missing.yaml")


def test_require_names_missing_tables(tmp_path):
    ds = load_dataset(_spec(tmp_path, HEADER + _rows(5)))
    with pytest.raises(MissingTableError, match="surveys"):
        ds.require("transactions", "surveys")


def test_customers_missing_from_customer_table_are_added_and_counted(tmp_path):
    (tmp_path / "cu.csv").write_text("id,reg\nc0,North\nc1,South\n")
    tables = {
        "transactions": {"file": "tx.csv", "columns": {"customer_id": "cust_id", "order_id": "invoice",
                                                     "date": "invoice_date", "amount": "net_amount"}},
        "customers": {"file": "cu.csv", "columns": {"customer_id": "id", "region": "reg"}},
    }
    ds = load_dataset(_spec(tmp_path, HEADER + _rows(14), tables=tables))
    assert ds.report.count("customers", "added_unknown_customers") == 5
    assert set(ds.customers["customer_id"]) == {f"c{i}" for i in range(7)}
    assert (ds.customers.set_index("customer_id").loc["c3", "region"]) == "unknown"


# ------------------------------------------------------------------ shipped specs on ../shared/data
@pytest.mark.realdata
def test_cdnow_specs(shared_data):
    s = load_dataset("config/datasets/cdnow_sample.yaml")
    assert len(s.transactions) == 6919 and s.transactions["customer_id"].nunique() == 2357
    assert s.transactions["amount"].sum() == pytest.approx(244091.94, abs=0.01)
    m = load_dataset("config/datasets/cdnow.yaml")
    assert len(m.transactions) == 69659 and m.transactions["customer_id"].nunique() == 23570
    assert m.transactions["amount"].sum() == pytest.approx(2500315.63, abs=0.01)


@pytest.mark.realdata
def test_superstore_spec(shared_data):
    ds = load_dataset("config/datasets/superstore.yaml")
    tx, cu = ds.transactions, ds.customers
    assert len(tx) == 9994 and len(cu) == 793
    assert tx["amount"].sum() == pytest.approx(2297200.86, abs=0.01)
    assert cu["customer_type"].value_counts().to_dict() == {"individual": 409, "enterprise": 384}
    assert "customer_name" not in cu.columns


@pytest.mark.realdata
def test_online_retail_spec_counts_every_removed_row(shared_data):
    ds = load_dataset("config/datasets/online_retail.yaml")
    r = ds.report
    assert r.count("transactions", "no_customer_id") == 135080
    raw = pd.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    kept = raw.loc[raw["CustomerID"].notna()]
    assert r.count("transactions", "duplicates") == int(kept.duplicated().sum())
    tf = r.tables_frame().set_index("table")
    assert tf.loc["transactions", "rows_read"] == 541909
    assert tf.loc["transactions", "rows_read"] - tf.loc["transactions", "rows_dropped"] == len(ds.transactions)
    assert (ds.transactions["amount"] < 0).sum() == r.count("transactions", "returns")
    assert ds.customers["region"].nunique() >= 37


@pytest.mark.realdata
def test_telco_specs(shared_data):
    ds = load_dataset("config/datasets/telco.yaml")
    cu = ds.customers
    assert len(cu) == 7043
    assert cu["churned"].mean() == pytest.approx(0.2654, abs=1e-4)
    assert cu["total_charges"].isna().sum() == 11
    ext = load_dataset("config/datasets/telco_extended.yaml").customers
    reasons = ext.loc[ext["churned"].astype(bool), "churn_reason"].value_counts()
    assert reasons.sum() == 1869
    # 841 "Competitor" category rows all map to competitor; the 20 reasons map without leftovers
    assert reasons["competitor"] == 841
    assert ext.loc[~ext["churned"].astype(bool), "churn_reason"].isna().all()
    assert (ext["offer"] == "None").sum() == 3877
