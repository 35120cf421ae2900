"""The transaction log: validated in batches into Parquet, finished by engine queries, cached.

Loading a log batch by batch must give what one pass gives: the same rows, the same report
(counts, first line numbers, examples) and the same derived customers, on every engine; and a
loaded log stays out of pandas until something asks for ``ds.transactions``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.data import DataError, load_dataset
from toolkit.data import staging

HEADER = "cust_id,invoice,invoice_date,net_amount,note\n"


def _load(spec, monkeypatch, tmp_path, batch_rows=None, engine="duckdb", cache="cache"):
    monkeypatch.setenv("CUSTKIT_CACHE", str(tmp_path / cache))
    if batch_rows:
        monkeypatch.setenv("CUSTKIT_BATCH_ROWS", str(batch_rows))
    else:
        monkeypatch.delenv("CUSTKIT_BATCH_ROWS", raising=False)
    ds = load_dataset(spec, engine=engine)
    assert ds.engine == engine        # the engine asked for is the engine that ran
    return ds


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.report.to_frame(), b.report.to_frame())
    pd.testing.assert_frame_equal(a.report.tables_frame(), b.report.tables_frame())
    if a.customers is not None:
        pd.testing.assert_frame_equal(a.customers, b.customers)
    assert a.as_of == b.as_of


def _dirty_spec(tmp_path: Path, n: int = 400) -> Path:
    """A log with every kind of dirt spread over many batches, and an extra attribute that is
    numeric throughout except in the last rows when ``text_tail``."""
    rows = []
    for i in range(n):
        cid = f"c{i % 23}" if i % 97 else ""                      # missing ids
        day = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 89 else "2025-02-30"   # bad dates
        amount = f"{(i % 40) - 3}.25" if i % 61 else "0"             # returns and zero amounts
        rows.append(f"{cid},o{i},{day},{amount},{i % 5 if i % 11 else ''}\n")
        if i % 53 == 0:
            rows.append(rows[-1])                                     # exact duplicates
    rows.append("c1,big,2025-03-03,99999,1\n")                       # an outlier
    rows.append("c2,late,2027-01-01,10,1\n")                         # after the as-of date
    (tmp_path / "tx.csv").write_text(HEADER + "".join(rows))
    spec = {"name": "dirty", "as_of": "2025-12-31", "tables": {
        "transactions": {"file": "tx.csv", "extra": ["note"],
                         "columns": {"customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date",
                                     "amount": "net_amount"}},
        "customers": {"from": "transactions", "columns": {"customer_id": "cust_id", "region": "note"}}}}
    path = tmp_path / "dirty.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_batches_give_the_rows_report_and_customers_of_one_pass(tmp_path, monkeypatch):
    spec = _dirty_spec(tmp_path)
    whole = _load(spec, monkeypatch, tmp_path, cache="one")
    batched = _load(spec, monkeypatch, tmp_path, batch_rows=37, cache="many")
    _same(whole, batched)
    rep = batched.report.to_frame().set_index("rule")
    # every kind of dirt was found, with line numbers of its first rows across batches
    for rule in ("missing_ids", "bad_dates", "duplicates", "returns", "zero_amounts", "outliers", "future_dates",
                 "conflicting_values"):
        assert rule in rep.index, rule
    assert rep.loc["returns", "rows"] > 10 and len(rep.loc["returns", "lines"].split(", ")) == 10
    assert batched.transactions["note"].dtype == float      # numeric in every batch
    assert not batched.transactions.empty and batched.transactions["is_outlier"].sum() == 1


def test_an_extra_attribute_with_text_in_a_late_batch_is_text(tmp_path, monkeypatch):
    spec = _dirty_spec(tmp_path, n=200)
    with open(tmp_path / "tx.csv", "a") as fh:
        fh.write("c3,t1,2025-04-04,5,see note\n")
    whole = _load(spec, monkeypatch, tmp_path, cache="one")
    batched = _load(spec, monkeypatch, tmp_path, batch_rows=50, cache="many")
    _same(whole, batched)
    assert batched.transactions["note"].map(type).eq(str).any()


def test_the_bad_fraction_guard_counts_over_all_batches(tmp_path, monkeypatch):
    # 8% bad dates, 2 per batch of 25: no single batch decides, the whole log does
    rows = [f"c{i % 5},o{i},{'2025-13-01' if i % 25 in (3, 17) else '2025-01-05'},10,1\n" for i in range(250)]
    (tmp_path / "tx.csv").write_text(HEADER + "".join(rows))
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"name": "g", "as_of": "2025-12-31", "tables": {"transactions": {
        "file": "tx.csv", "columns": {"customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date",
                                      "amount": "net_amount"}}}}))
    with pytest.raises(DataError) as err:
        _load(spec, monkeypatch, tmp_path, batch_rows=25)
    msg = str(err.value)
    assert "20 of 250 rows" in msg and "bad_dates" in msg and "tx.csv" in msg
    assert "5, 19, 30, 44" in msg   # first line numbers, from the first two batches


def test_a_loaded_log_stays_out_of_pandas(small_demo_spec, monkeypatch, tmp_path):
    ds = _load(small_demo_spec, monkeypatch, tmp_path)
    assert ds.has("transactions") and not ds.materialised
    assert "amount" in ds.columns_with_data("transactions")
    ds.require("transactions", columns={"transactions": ["customer_id", "date", "amount"]})
    n = ds.report.tables_frame().set_index("table").loc["transactions", "rows_out"]
    from toolkit.engine import collect
    assert int(collect(ds.transaction_log.select(__import__("narwhals").len())).iloc[0, 0]) == n
    assert not ds.materialised
    assert len(ds.transactions) == n and ds.materialised


def test_a_finished_log_is_reused_and_rebuilt_when_its_file_changes(tmp_path, monkeypatch):
    spec = _dirty_spec(tmp_path, n=120)
    first = _load(spec, monkeypatch, tmp_path)
    built = []
    real = staging._build
    monkeypatch.setattr(staging, "_build", lambda *a, **k: built.append(1) or real(*a, **k))
    again = _load(spec, monkeypatch, tmp_path)
    assert built == []
    _same(first, again)
    with open(tmp_path / "tx.csv", "a") as fh:
        fh.write("c9,new,2025-05-05,12,1\n")
    changed = _load(spec, monkeypatch, tmp_path)
    assert built == [1] and len(changed.transactions) == len(first.transactions) + 1


@pytest.mark.parametrize("engine", ["pandas", "spark"])
def test_every_engine_loads_the_same_log(tmp_path, monkeypatch, engine):
    spec = _dirty_spec(tmp_path)
    duck = _load(spec, monkeypatch, tmp_path, batch_rows=100, cache="duckdb")
    other = _load(spec, monkeypatch, tmp_path, batch_rows=100, engine=engine, cache=engine)
    _same(duck, other)


def test_real_logs_load_the_same_in_batches(shared_data, monkeypatch, tmp_path):
    """Superstore (extra attributes, derived customers) and CDNOW (derived order ids, kept
    duplicates) in batches of 1,000 rows against one pass."""
    root = Path(__file__).resolve().parents[1] / "config" / "datasets"
    for name in ("superstore", "cdnow_sample"):
        whole = _load(root / f"{name}.yaml", monkeypatch, tmp_path, cache=f"{name}-one")
        batched = _load(root / f"{name}.yaml", monkeypatch, tmp_path, batch_rows=1000, cache=f"{name}-many")
        _same(whole, batched)


def test_the_cache_keeps_one_log_per_source_file(tmp_path, monkeypatch):
    spec = _dirty_spec(tmp_path, n=60)
    _load(spec, monkeypatch, tmp_path)
    with open(tmp_path / "tx.csv", "a") as fh:
        fh.write("c9,new,2025-05-05,12,1\n")
    _load(spec, monkeypatch, tmp_path)
    assert len(list((tmp_path / "cache").glob("transactions-*/log.json"))) == 1
