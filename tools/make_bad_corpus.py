"""Write the bad-input corpus in tests/data/bad/: one folder per case with its files and case.yaml.

Each case.yaml holds the dataset spec (key `spec`) and what must happen: `expect: error` with the
substrings the message must contain (and the column / line numbers it must name), or `expect: ok`
with the load-report counts the repair must produce. Run from the project root; the files are
committed, so tests never depend on this script.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

ROOT = Path("tests/data/bad")
TX_COLS = {"customer_id": "cust_id", "order_id": "invoice", "date": "invoice_date", "amount": "net_amount"}
HEADER = "cust_id,invoice,invoice_date,net_amount\n"


def rows(n: int, start: int = 0, customers: int = 7) -> str:
    return "".join(f"c{i % customers},o{i},2025-01-{1 + i % 28:02d},{10 + i}.50\n" for i in range(start, start + n))


def tx_spec(**table) -> dict:
    t = {"file": "tx.csv", "columns": dict(TX_COLS)}
    t.update(table)
    return {"name": "bad", "as_of": "2025-12-31", "tables": {"transactions": t}}


CASES: dict[str, dict] = {}


def case(name: str, files: dict[str, str | bytes], spec: dict, expect: str, **kw) -> None:
    CASES[name] = {"files": files, "spec": spec, "expect": expect, **kw}


case("empty_file", {"tx.csv": ""}, tx_spec(), "error", match=["tx.csv", "empty"])
case("header_only", {"tx.csv": HEADER}, tx_spec(), "error", match=["tx.csv", "no data rows"])
case("wrong_delimiter", {"tx.csv": HEADER.replace(",", ";") + rows(5).replace(",", ";")}, tx_spec(), "error",
     match=["tx.csv", "';'-separated", "sep"])
case("gbk_encoding", {"tx.csv": (HEADER + "张伟,o1,2025-01-02,5\n李娜,o2,2025-01-03,6\n").encode("gbk")}, tx_spec(),
     "error", match=["tx.csv", "encoding", "utf-8"])
case("gbk_encoding_declared", {"tx.csv": (HEADER + "张伟,o1,2025-01-02,5\n李娜,o2,2025-01-03,6\n").encode("gbk")},
     tx_spec(encoding="gbk"), "ok", rows={"transactions": 2}, values={"transactions.customer_id": ["张伟", "李娜"]})
case("latin1_encoding", {"tx.csv": (HEADER + "Müller,o1,2025-01-02,5\nGarçon,o2,2025-01-03,6\n").encode("latin-1")},
     tx_spec(), "error", match=["tx.csv", "encoding"])
case("byte_order_mark", {"tx.csv": b"\xef\xbb\xbf" + (HEADER + rows(4)).encode()}, tx_spec(), "ok",
     rows={"transactions": 4}, values={"transactions.customer_id": ["c0", "c1", "c2", "c3"]})
case("mixed_date_formats_few", {"tx.csv": HEADER + rows(40) + "c1,x1,03/02/2025,5\nc2,x2,3 Feb 2025,5\n"}, tx_spec(),
     "ok", counts={"transactions.bad_dates": 2}, rows={"transactions": 40})
case("mixed_date_formats_many", {"tx.csv": HEADER + rows(10) + "".join(f"c1,x{i},0{1 + i % 9}/02/2025,5\n"
                                                                        for i in range(10))},
     tx_spec(), "error", match=["tx.csv", "invoice_date", "rows 12, 13", "bad_dates"], column="invoice_date")
case("future_dates", {"tx.csv": HEADER + rows(20) + "c1,f1,2026-05-01,5\nc1,f2,2031-01-01,5\n"}, tx_spec(), "ok",
     counts={"transactions.future_dates": 2}, rows={"transactions": 20})
case("non_numeric_amounts_few", {"tx.csv": HEADER + rows(40) + "c1,n1,2025-02-01,abc\nc1,n2,2025-02-01,12..5\n"},
     tx_spec(), "ok", counts={"transactions.bad_numbers": 2})
case("non_numeric_amounts_many", {"tx.csv": HEADER + "".join(f"c{i},o{i},2025-01-02,EUR{i}x\n" for i in range(10))},
     tx_spec(), "error", match=["tx.csv", "net_amount", "not a number", "EUR0x"], column="net_amount")
case("thousands_separators_declared", {"tx.csv": HEADER + 'c1,o1,2025-01-02,"1,234.50"\nc2,o2,2025-01-03,"12,000"\n'},
     tx_spec(thousands=","), "ok", values={"transactions.amount": [1234.5, 12000.0]})
case("thousands_separators_undeclared", {"tx.csv": HEADER + 'c1,o1,2025-01-02,"1,234.50"\nc2,o2,2025-01-03,"12,000"\n'},
     tx_spec(), "error", match=["net_amount", "not a number", "separators"])
case("decimal_comma_declared", {"tx.csv": "cust_id;invoice;invoice_date;net_amount\nc1;o1;2025-01-02;12,50\n"},
     tx_spec(read={"sep": ";"}, decimal=","), "ok", values={"transactions.amount": [12.5]})
case("negative_quantities_returns", {"tx.csv": "cust_id,invoice,invoice_date,net_amount,qty\n"
                                               "c1,o1,2025-01-02,20,2\nc1,o2,2025-01-09,-10,-1\nc2,o3,2025-01-03,5,1\n"},
     tx_spec(columns={**TX_COLS, "quantity": "qty"}), "ok", counts={"transactions.returns": 1}, rows={"transactions": 3})
case("duplicate_transaction_ids", {"tx.csv": HEADER + rows(10) + "c0,o0,2025-01-01,10.50\nc3,o3,2025-01-04,13.50\n"},
     tx_spec(), "ok", counts={"transactions.duplicates": 2}, rows={"transactions": 10})
case("missing_customer_ids", {"tx.csv": HEADER + rows(40) + ",m1,2025-02-01,5\n  ,m2,2025-02-01,5\n"}, tx_spec(), "ok",
     counts={"transactions.missing_ids": 2})
case("customers_missing_from_customer_table",
     {"tx.csv": HEADER + rows(14), "cu.csv": "id,reg\nc0,North\nc1,South\n"},
     {**tx_spec(), "tables": {**tx_spec()["tables"],
                              "customers": {"file": "cu.csv", "columns": {"customer_id": "id", "region": "reg"}}}},
     "ok", counts={"customers.added_unknown_customers": 5}, rows={"customers": 7})
case("single_customer", {"tx.csv": HEADER + rows(12, customers=1)}, tx_spec(), "ok", rows={"transactions": 12})
case("single_region", {"tx.csv": HEADER + rows(14), "cu.csv": "id,reg\n" + "".join(f"c{i},North\n" for i in range(7))},
     {**tx_spec(), "tables": {**tx_spec()["tables"],
                              "customers": {"file": "cu.csv", "columns": {"customer_id": "id", "region": "reg"}}}},
     "ok", rows={"customers": 7})
case("all_churned", {"cu.csv": "id,left\n" + "".join(f"k{i},Yes\n" for i in range(9))},
     {"name": "bad", "tables": {"customers": {"file": "cu.csv", "columns": {"customer_id": "id", "churned": "left"}}}},
     "ok", rows={"customers": 9}, values={"customers.churned": [True] * 9})
case("no_churned", {"cu.csv": "id,left\n" + "".join(f"k{i},No\n" for i in range(9))},
     {"name": "bad", "tables": {"customers": {"file": "cu.csv", "columns": {"customer_id": "id", "churned": "left"}}}},
     "ok", rows={"customers": 9}, values={"customers.churned": [False] * 9})
case("constant_features", {"cu.csv": "id,plan,fee\n" + "".join(f"k{i},basic,10\n" for i in range(9))},
     {"name": "bad", "tables": {"customers": {"file": "cu.csv", "columns": {"customer_id": "id"}, "extra": ["plan", "fee"]}}},
     "ok", rows={"customers": 9})
case("column_entirely_empty", {"tx.csv": HEADER + "".join(f"c{i},o{i},2025-01-02,\n" for i in range(10))}, tx_spec(),
     "error", match=["net_amount", "missing_values", "value is empty"], column="net_amount")
case("huge_values", {"tx.csv": HEADER + rows(60) + "c1,h1,2025-02-01,1e15\nc2,h2,2025-02-01,inf\n"}, tx_spec(), "ok",
     counts={"transactions.outliers": 1, "transactions.bad_numbers": 1}, rows={"transactions": 61})
case("missing_required_column", {"tx.csv": "cust_id,invoice,net_amount\nc1,o1,5\n"}, tx_spec(), "error",
     match=["tx.csv", "invoice_date", "found", "'net_amount'"])
case("spec_points_at_missing_file", {}, tx_spec(), "error", match=["does not exist", "tx.csv"])
case("unknown_spec_keys", {"tx.csv": HEADER + rows(3)}, {**tx_spec(), "colour": "blue"}, "error",
     match=["unknown key", "colour", "valid keys"])
case("unknown_rule_name", {"tx.csv": HEADER + rows(3)}, tx_spec(rules={"drop_everything": True}), "error",
     match=["unknown key", "drop_everything"])
case("unknown_model_column", {"tx.csv": HEADER + rows(3)}, tx_spec(columns={**TX_COLS, "revenue": "net_amount"}),
     "error", match=["no model column", "revenue"])
case("ragged_rows", {"tx.csv": HEADER + rows(5) + "c1,o9,2025-01-02,5,EXTRA,FIELDS\n"}, tx_spec(), "error",
     match=["tx.csv", "line 7"])
case("unknown_customer_type", {"cu.csv": "id,kind\nk1,Enterprise\nk2,Individual\nk3,Martian\n"},
     {"name": "bad", "tables": {"customers": {"file": "cu.csv", "columns": {"customer_id": "id", "customer_type": "kind"}}}},
     "ok", counts={"customers.unknown_category": 1})
case("out_of_range_ages", {"cu.csv": "id,age\nk1,34\nk2,-3\nk3,212\n"},
     {"name": "bad", "tables": {"customers": {"file": "cu.csv", "columns": {"customer_id": "id", "age": "age"}}}},
     "ok", counts={"customers.out_of_range": 2})
case("duplicate_customers", {"cu.csv": "id,reg\nk1,North\nk1,South\nk2,East\n"},
     {"name": "bad", "tables": {"customers": {"file": "cu.csv", "columns": {"customer_id": "id", "region": "reg"}}}},
     "ok", counts={"customers.duplicate_ids": 1}, rows={"customers": 2})
case("markup_in_values", {"tx.csv": "cust_id,invoice,invoice_date,net_amount,sku\n"
                                    'c1,o1,2025-01-02,5,"<script>alert(1)</script>"\n'
                                    'c2,o2,2025-01-03,6,"<img src=x onerror=alert(2)>"\n'},
     tx_spec(columns={**TX_COLS, "product": "sku"}), "ok", rows={"transactions": 2})


def main() -> None:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    for name, c in CASES.items():
        d = ROOT / name
        d.mkdir(parents=True)
        for fname, content in c["files"].items():
            data = content if isinstance(content, bytes) else content.encode()
            (d / fname).write_bytes(data)
        meta = {k: v for k, v in c.items() if k != "files"}
        (d / "case.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))
    print(f"{len(CASES)} cases written to {ROOT}")


if __name__ == "__main__":
    main()
