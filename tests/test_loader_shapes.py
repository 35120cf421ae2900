"""Loader fixes found on unseen data (issue "any analyst's data"), each tested at its root.

Spec keys either do what they say or stop with a SpecError; an extra column never becomes a
model column; durations and scaled amounts are converted and said so; outliers are found near
the float limits and in small logs; time-zone offsets keep the local time; examples print as a
reader writes them; a derived table is not counted as rows read; a log without amounts loads.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.data import MissingTableError, SpecError, load_dataset
from toolkit.data.report import LoadReport, example_text

TX = {"customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date", "amount": "net_amount"}


def _write(tmp_path: Path, tables: dict, files: dict[str, str], **top) -> Path:
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "as_of": "2025-12-31", "tables": tables, **top}, allow_unicode=True))
    return path


def _tx_rows(n: int, amount=lambda i: f"{10 + i % 13}.50") -> str:
    return "cust_id,invoice,invoice_date,net_amount\n" + "".join(
        f"c{i % 40},o{i},2025-{1 + i % 12:02d}-{1 + i % 28:02d},{amount(i)}\n" for i in range(n))


def _rules(ds) -> pd.DataFrame:
    return ds.report.to_frame().set_index("rule")


def test_a_join_key_is_rejected_not_ignored(tmp_path):
    spec = _write(tmp_path, {"transactions": {"file": "tx.csv", "columns": TX, "join": {"file": "b.csv"}}},
                  {"tx.csv": _tx_rows(5)})
    with pytest.raises(SpecError, match="'join' key, but the loader does not join files"):
        load_dataset(spec)


def test_an_unknown_column_option_is_rejected(tmp_path):
    cols = {**TX, "amount": {"source": "net_amount", "multiplier": 0.01}}
    spec = _write(tmp_path, {"transactions": {"file": "tx.csv", "columns": cols}}, {"tx.csv": _tx_rows(5)})
    with pytest.raises(SpecError, match=r"unknown key\(s\) 'multiplier' in column 'amount'"):
        load_dataset(spec)


@pytest.mark.parametrize("bad, message", [({"unit": "days"}, "not a duration"), ({"scale": -1}, "positive number"),
                                          ({"scale": "cents"}, "positive number")])
def test_unit_and_scale_only_where_they_mean_something(tmp_path, bad, message):
    cols = {**TX, "amount": {"source": "net_amount", **bad}}
    spec = _write(tmp_path, {"transactions": {"file": "tx.csv", "columns": cols}}, {"tx.csv": _tx_rows(5)})
    with pytest.raises(SpecError, match=message):
        load_dataset(spec)


def test_amounts_in_cents_are_scaled_and_the_report_says_so(tmp_path):
    cols = {**TX, "amount": {"source": "net_amount", "scale": 0.01}}
    spec = _write(tmp_path, {"transactions": {"file": "tx.csv", "columns": cols}},
                  {"tx.csv": _tx_rows(30, amount=lambda i: str(1050 + i))})
    ds = load_dataset(spec)
    assert ds.transactions["amount"].sum() == pytest.approx(sum(10.50 + i / 100 for i in range(30)))
    assert "multiplied by 0.01" in _rules(ds).loc["converted_units", "detail"]


CU_HEADER = "customer_id,region,TenureDays,Tenure,Age\n"


def _customers(tmp_path, columns: dict, extra: list | None = None) -> object:
    body = CU_HEADER + "".join(f"k{i},North,{365.25 * (i + 1)},{i + 1},{30 + i}\n" for i in range(6))
    table = {"file": "cu.csv", "columns": {"customer_id": "customer_id", "region": "region", **columns}}
    if extra:
        table["extra"] = extra
    return load_dataset(_write(tmp_path, {"customers": table}, {"cu.csv": body}))


def test_tenure_in_days_is_converted_to_months(tmp_path):
    ds = _customers(tmp_path, {"tenure": {"source": "TenureDays", "unit": "days"}})
    # 365.25 days are one year, twelve months: the model's tenure is in months
    assert ds.customers["tenure"].tolist() == pytest.approx([12.0 * (i + 1) for i in range(6)])
    assert _rules(ds).loc["converted_units", "detail"] == "tenure: converted from days to months"


def test_an_extra_named_like_a_model_column_keeps_its_own_meaning(tmp_path):
    """A 'Tenure' in years under extra: must not become tenure in months (it did, silently)."""
    ds = _customers(tmp_path, {}, extra=["Tenure", "Age"])
    cu = ds.customers
    assert "tenure" not in cu.columns and "age" not in cu.columns
    assert cu["x_tenure"].tolist() == [1, 2, 3, 4, 5, 6] and cu["x_age"].tolist() == [30, 31, 32, 33, 34, 35]
    renamed = ds.report.to_frame().query("rule == 'renamed_extra'")
    assert sorted(renamed["column"]) == ["Age", "Tenure"]
    assert "'Tenure' kept as 'x_tenure'" in " ".join(renamed["detail"])


@pytest.mark.parametrize("n_rows", [200, 5000])
def test_an_amount_near_the_float_limit_is_an_outlier(tmp_path, n_rows):
    """50 x 1e307 overflows to inf; in a log of under ~1,000 rows the 99.9th percentile lies
    between the largest rows, so neither the old rule's percentile nor its product could flag it."""
    rows = _tx_rows(n_rows) + "whale,o-huge,2025-06-01,1e308\n"   # the whale's only row: no median rule
    spec = _write(tmp_path, {"transactions": {"file": "tx.csv", "columns": TX}}, {"tx.csv": rows})
    with warnings.catch_warnings(), np.errstate(over="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        ds = load_dataset(spec)
    tx = ds.transactions
    assert tx.loc[tx["is_outlier"], "order_id"].tolist() == ["o-huge"]
    assert _rules(ds).loc["outliers", "lines"] == str(n_rows + 2)   # after the header and n_rows rows


def test_two_equal_huge_rows_are_not_outliers_of_each_other(tmp_path):
    """The reference is the second-largest row when it is below the percentile: two rows of the
    same size are the data's own scale, not dirt (customers have < 3 rows each here)."""
    rows = "cust_id,invoice,invoice_date,net_amount\n" + "".join(
        f"c{i},o{i},2025-01-{1 + i % 28:02d},{'1e12' if i < 2 else '10'}\n" for i in range(100))
    ds = load_dataset(_write(tmp_path, {"transactions": {"file": "tx.csv", "columns": TX}}, {"tx.csv": rows}))
    assert not ds.transactions["is_outlier"].any()


def test_time_zone_offsets_keep_the_local_time(tmp_path):
    body = ("cust_id,invoice,invoice_date,net_amount\n"
            "c1,o1,2025-03-01T23:30:00+08:00,10\nc1,o2,2025-03-02T00:10:00-05:00,10\nc2,o3,2025-03-02,10\n")
    ds = load_dataset(_write(tmp_path, {"transactions": {"file": "tx.csv", "columns": TX}}, {"tx.csv": body}))
    dates = ds.transactions.set_index("order_id")["date"]
    assert dates["o1"] == pd.Timestamp("2025-03-01 23:30") and dates["o2"] == pd.Timestamp("2025-03-02 00:10")
    assert _rules(ds).loc["time_zones", "rows"] == 2


def test_examples_print_as_a_reader_writes_them():
    assert example_text(-35.4 - 1e-14) == "-35.4"
    assert example_text(np.float64(0.1 + 0.2)) == "0.3"
    assert example_text(1e308) == "1e+308" and example_text("2025-13-01") == "2025-13-01"
    rep = LoadReport()
    rep.add("transactions", "returns", "kept", 1, examples=[-35.400000000000006])
    assert rep.results[0].examples == ["-35.4"]


def test_a_derived_customer_table_is_not_counted_as_rows_read(tmp_path):
    tables = {"transactions": {"file": "tx.csv", "columns": {**TX, "region": "region"}},
              "customers": {"from": "transactions", "columns": {"customer_id": "cust_id", "region": "region"}}}
    body = "cust_id,invoice,invoice_date,net_amount,region\n" + "".join(
        f"c{i % 4},o{i},2025-01-{1 + i:02d},10,North\n" for i in range(20))
    tables["transactions"]["columns"].pop("region")
    ds = load_dataset(_write(tmp_path, tables, {"tx.csv": body}))
    frame = ds.report.tables_frame().set_index("table")
    assert frame.loc["customers", "derived"] and not frame.loc["transactions", "derived"]
    assert ds.report.rows_read == 20   # the 4 derived customer rows are not rows read
    assert "customers: 4 rows derived, 0 dropped, 4 out" in ds.report.balance_lines()


def test_a_log_without_amounts_loads_and_money_reports_say_so(tmp_path):
    body = "cust_id,invoice,invoice_date\n" + "".join(f"c{i % 5},o{i},2025-01-{1 + i:02d}\n" for i in range(25))
    cols = {k: v for k, v in TX.items() if k != "amount"}
    ds = load_dataset(_write(tmp_path, {"transactions": {"file": "tx.csv", "columns": cols}}, {"tx.csv": body}))
    assert len(ds.transactions) == 25 and ds.transactions["amount"].isna().all() and not ds.has_money
    assert "no amount in the source" in _rules(ds).loc["no_amounts", "detail"]
    with pytest.raises(MissingTableError, match="needs amounts \\(money\\) in the transactions"):
        ds.require_money()
