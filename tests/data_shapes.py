"""Datasets in the shapes real customer data takes, made from the small demo company.

Each shape starts from a small generated demo (``write_demo``, a few hundred customers, every
table) and changes its files and its dataset spec the way an analyst's own data differs: one or
sixty regions, a table missing, no amounts, amounts in cents, one or ten years of history, only
one-time or only repeat buyers, a customer with half of all revenue, tenure in days or a
``Tenure`` in years, time zones, ids with leading zeros, 500-level categories, churn of 1% or
60%, survey scales of 5 to 11 points, Chinese text, another currency, tiny and huge amounts,
source columns named like model columns. ``make_shape(name, folder)`` writes one and returns
its spec path.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from toolkit.data.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
BASE_CUSTOMERS = 200
SEED = 3

Shape = Callable[[Path, dict], None]
SHAPES: dict[str, Shape] = {}
GENERATOR: dict[str, dict] = {}   # shape -> write_demo arguments other than the base's


def shape(name: str, **generator) -> Callable[[Shape], Shape]:
    def register(f: Shape) -> Shape:
        SHAPES[name] = f
        if generator:
            GENERATOR[name] = generator
        return f
    return register


def read(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / name, dtype=str, keep_default_na=False)


def write(t: pd.DataFrame, d: Path, name: str) -> None:
    t.to_csv(d / name, index=False)


def _regions(d: Path, mapping: Callable[[pd.Series], pd.Series]) -> None:
    for f in ("customers.csv", "marketing_spend.csv", "market.csv"):
        t = read(d, f)
        t["region"] = mapping(t["region"])
        if f != "customers.csv":
            t = t.drop_duplicates([c for c in t.columns if c not in ("spend", "market_share", "price_index",
                                                                      "growth")])
        write(t, d, f)


def _amounts(d: Path, factor: float, decimals: int | None = None) -> None:
    tx = read(d, "transactions.csv")
    v = pd.to_numeric(tx["net_amount"], errors="coerce") * factor
    ok = v.notna()
    tx.loc[ok, "net_amount"] = v[ok].map(lambda x: f"{x:.{decimals}f}" if decimals is not None else repr(float(x)))
    write(tx, d, "transactions.csv")


def _keep_tables(spec: dict, names: set[str]) -> None:
    spec["tables"] = {k: v for k, v in spec["tables"].items() if k in names}


# ------------------------------------------------------------------------------- regions
@shape("one_region")
def one_region(d: Path, spec: dict) -> None:
    _regions(d, lambda s: pd.Series("North", index=s.index))


@shape("two_regions")
def two_regions(d: Path, spec: dict) -> None:
    _regions(d, lambda s: s.map(lambda r: "North" if r in ("North", "East", "Central") else "South"))


@shape("sixty_regions")
def sixty_regions(d: Path, spec: dict) -> None:
    cu = read(d, "customers.csv")
    cu["region"] = [f"Country {i % 60 + 1:02d}" for i in range(len(cu))]
    write(cu, d, "customers.csv")


@shape("tiny_regions")
def tiny_regions(d: Path, spec: dict) -> None:
    """Three regions of 1, 3 and 5 customers beside the six usual ones."""
    cu = read(d, "customers.csv")
    ids = cu["customer_id"].drop_duplicates().tolist()
    for region, members in (("Islands", ids[:1]), ("Alpine", ids[1:4]), ("Coast", ids[4:9])):
        cu.loc[cu["customer_id"].isin(members), "region"] = region
    write(cu, d, "customers.csv")


# ------------------------------------------------------------------------------- tables
@shape("customers_only")
def customers_only(d: Path, spec: dict) -> None:
    _keep_tables(spec, {"customers"})


@shape("transactions_only")
def transactions_only(d: Path, spec: dict) -> None:
    _keep_tables(spec, {"transactions"})


@shape("no_amounts")
def no_amounts(d: Path, spec: dict) -> None:
    """A purchase log with dates and quantities but no money; no spend or partner sales either."""
    tx = read(d, "transactions.csv").drop(columns=["net_amount"])
    write(tx, d, "transactions.csv")
    spec["tables"]["transactions"]["columns"].pop("amount")
    spec["tables"].pop("marketing_spend")
    spec["tables"].pop("partners", None)


@shape("amounts_in_cents")
def amounts_in_cents(d: Path, spec: dict) -> None:
    _amounts(d, 100, decimals=0)
    spec["tables"]["transactions"]["columns"]["amount"] = {"source": "net_amount", "scale": 0.01}


# ------------------------------------------------------------------------------- history
@shape("one_year", start="2025-07-01")
def one_year(d: Path, spec: dict) -> None:
    pass


@shape("ten_years", start="2016-07-01")
def ten_years(d: Path, spec: dict) -> None:
    pass


def _orders(tx: pd.DataFrame) -> pd.DataFrame:
    return tx.assign(_d=pd.to_datetime(tx["invoice_date"], errors="coerce"))


@shape("one_time_buyers")
def one_time_buyers(d: Path, spec: dict) -> None:
    """Every customer bought once: only each customer's first invoice is kept."""
    tx = _orders(read(d, "transactions.csv"))
    first = tx.dropna(subset=["_d"]).sort_values("_d").drop_duplicates("cust_id")[["cust_id", "invoice"]]
    tx = tx.merge(first, on=["cust_id", "invoice"])
    write(tx.drop(columns="_d"), d, "transactions.csv")


@shape("repeat_buyers_only")
def repeat_buyers_only(d: Path, spec: dict) -> None:
    tx = read(d, "transactions.csv")
    orders = tx.groupby("cust_id")["invoice"].nunique()
    write(tx[tx["cust_id"].isin(orders[orders >= 2].index)], d, "transactions.csv")


@shape("one_whale")
def one_whale(d: Path, spec: dict) -> None:
    """One customer holds half of all revenue."""
    tx = read(d, "transactions.csv")
    v = pd.to_numeric(tx["net_amount"], errors="coerce")
    whale = tx["cust_id"].value_counts().index[0]
    mine = tx["cust_id"] == whale
    factor = v[~mine & (v > 0)].sum() / v[mine & (v > 0)].sum()
    tx.loc[mine & v.notna(), "net_amount"] = (v[mine & v.notna()] * factor).map(lambda x: f"{x:.2f}")
    write(tx, d, "transactions.csv")


# ------------------------------------------------------------------------------- durations and dates
def _tenure(d: Path) -> pd.DataFrame:
    cu = read(d, "customers.csv")
    acq = pd.to_datetime(cu["acquisition_date"], errors="coerce")
    end = pd.to_datetime(cu["churn_date"], errors="coerce").fillna(pd.Timestamp("2026-06-30"))
    cu["_days"] = (end - acq).dt.days
    return cu


@shape("tenure_in_days")
def tenure_in_days(d: Path, spec: dict) -> None:
    cu = _tenure(d)
    cu["tenure_days"] = cu.pop("_days").map(lambda x: "" if pd.isna(x) else str(int(x)))
    write(cu, d, "customers.csv")
    spec["tables"]["customers"]["columns"]["tenure"] = {"source": "tenure_days", "unit": "days"}


@shape("tenure_in_years_as_extra")
def tenure_in_years_as_extra(d: Path, spec: dict) -> None:
    """A ``Tenure`` column in years kept under ``extra:``: it is not the model's tenure (months)."""
    cu = _tenure(d)
    cu["Tenure"] = (cu.pop("_days") / 365.25).map(lambda x: "" if pd.isna(x) else f"{x:.1f}")
    write(cu, d, "customers.csv")
    spec["tables"]["customers"]["extra"] = ["Tenure"]


@shape("timezones_and_times")
def timezones_and_times(d: Path, spec: dict) -> None:
    """Timestamps with a time of day and a UTC offset (+08:00) instead of plain dates."""
    tx = read(d, "transactions.csv")
    rng = np.random.default_rng(SEED)
    dt = pd.to_datetime(tx["invoice_date"], errors="coerce")
    secs = pd.to_timedelta(rng.integers(0, 86_400, len(tx)), unit="s")
    stamp = (dt + secs).dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
    tx["invoice_date"] = stamp.where(dt.notna(), tx["invoice_date"])
    write(tx, d, "transactions.csv")


@shape("ids_with_leading_zeros")
def ids_with_leading_zeros(d: Path, spec: dict) -> None:
    """Numeric-looking string ids ('000017'): they must stay strings, zeros kept."""
    for f, col in (("transactions.csv", "cust_id"), ("customers.csv", "customer_id"), ("surveys.csv", "customer_id"),
                   ("interactions.csv", "customer_id")):
        t = read(d, f)
        t[col] = t[col].str.replace("C", "", regex=False)
        write(t, d, f)


@shape("categories_500_levels")
def categories_500_levels(d: Path, spec: dict) -> None:
    tx = read(d, "transactions.csv")
    tx["sku"] = [f"SKU-{i % 500:03d}" for i in range(len(tx))]
    tx["category"] = [f"Category {i % 500:03d}" for i in range(len(tx))]
    write(tx, d, "transactions.csv")
    cu = read(d, "customers.csv")
    cu["occupation"] = [f"occupation {i % 500:03d}" for i in range(len(cu))]
    write(cu, d, "customers.csv")


# ------------------------------------------------------------------------------- churn
def _churn_share(d: Path, share: float) -> None:
    cu = read(d, "customers.csv")
    buyers = cu["acquisition_date"] != ""
    rng = np.random.default_rng(SEED)
    churn = buyers & (rng.random(len(cu)) < share)
    acq = pd.to_datetime(cu["acquisition_date"], errors="coerce")
    when = acq + pd.to_timedelta(rng.integers(30, 700, len(cu)), unit="D")
    when = when.where(when < pd.Timestamp("2026-06-29"), pd.Timestamp("2026-06-29"))
    cu["churn_date"] = np.where(churn, when.dt.strftime("%Y-%m-%d"), "")
    cu["churn_reason"] = np.where(churn, rng.choice(["Price too high", "Poor service", "Other"], len(cu)), "")
    write(cu, d, "customers.csv")


@shape("churn_1_percent")
def churn_1_percent(d: Path, spec: dict) -> None:
    _churn_share(d, 0.01)


@shape("churn_60_percent")
def churn_60_percent(d: Path, spec: dict) -> None:
    _churn_share(d, 0.60)


@shape("all_churned")
def all_churned(d: Path, spec: dict) -> None:
    cu = read(d, "customers.csv")
    buyers = cu["acquisition_date"] != ""
    cu.loc[buyers & (cu["churn_date"] == ""), ["churn_date", "churn_reason"]] = ["2026-06-29", "Other"]
    write(cu, d, "customers.csv")


@shape("no_churned")
def no_churned(d: Path, spec: dict) -> None:
    cu = read(d, "customers.csv")
    cu[["churn_date", "churn_reason"]] = ""
    write(cu, d, "customers.csv")


# ------------------------------------------------------------------------------- surveys
def _survey_scale(d: Path, spec: dict, lo: int, hi: int) -> None:
    """Items and overall satisfaction moved from the demo's 1-5 scale onto ``lo``-``hi``."""
    sv = read(d, "surveys.csv")
    cols = [c for c in sv.columns if c.startswith("q_")] + ["overall_satisfaction"]
    for c in cols:
        v = pd.to_numeric(sv[c], errors="coerce")
        ok = v.between(1, 5)
        sv[c] = np.where(ok, (lo + (v - 1) / 4 * (hi - lo)).round().astype("Int64").astype(str), sv[c])
    write(sv, d, "surveys.csv")
    spec["tables"]["surveys"]["scale"] = [lo, hi]


for _lo, _hi in ((1, 7), (1, 10), (0, 10)):   # the base is already 1-5
    SHAPES[f"survey_scale_{_lo}_{_hi}"] = (lambda lo, hi: lambda d, spec: _survey_scale(d, spec, lo, hi))(_lo, _hi)


# ------------------------------------------------------------------------------- text, money, values
@shape("chinese_text")
def chinese_text(d: Path, spec: dict) -> None:
    names = {"North": "华北", "South": "华南", "East": "华东", "West": "西部", "Central": "华中", "Online": "线上"}
    _regions(d, lambda s: s.map(lambda r: names.get(r, r)))
    tx = read(d, "transactions.csv")
    tx["category"] = tx["category"].map(lambda c: {"Accessories": "配件", "Software": "软件"}.get(c, c + "类"))
    tx["sku"] = "产品-" + tx["sku"]
    write(tx, d, "transactions.csv")
    sv = read(d, "surveys.csv")
    sv["comment"] = np.where(sv.index % 3 == 0, "服务很好，价格有点贵。", sv["comment"])
    write(sv, d, "surveys.csv")


@shape("currency_cny")
def currency_cny(d: Path, spec: dict) -> None:
    _amounts(d, 7.8, decimals=2)
    spec["currency"] = "CNY"


@shape("tiny_amounts")
def tiny_amounts(d: Path, spec: dict) -> None:
    _amounts(d, 1e-6)


@shape("huge_amounts")
def huge_amounts(d: Path, spec: dict) -> None:
    _amounts(d, 1e12)


@shape("model_named_extras")
def model_named_extras(d: Path, spec: dict) -> None:
    """Source columns called Age, Gender, Tenure and Segment kept under extra: none is a model column."""
    cu = read(d, "customers.csv")
    rng = np.random.default_rng(SEED)
    cu["Age"] = rng.integers(18, 80, len(cu)).astype(str)
    cu["Gender"] = rng.choice(["f", "m", "x"], len(cu))
    cu["Tenure"] = rng.integers(0, 40, len(cu)).astype(str)
    cu["Segment"] = rng.choice(["gold", "silver"], len(cu))
    write(cu, d, "customers.csv")
    spec["tables"]["customers"]["extra"] = ["Age", "Gender", "Tenure", "Segment"]


@shape("single_customer")
def single_customer(d: Path, spec: dict) -> None:
    tx = read(d, "transactions.csv")
    answered = set(read(d, "surveys.csv")["customer_id"]) & set(read(d, "interactions.csv")["customer_id"])
    cid = tx.loc[tx["cust_id"].isin(answered), "cust_id"].value_counts().index[0]
    write(tx[tx["cust_id"] == cid], d, "transactions.csv")
    for f in ("customers.csv", "surveys.csv", "interactions.csv"):
        t = read(d, f)
        write(t[t["customer_id"] == cid], d, f)


@shape("constant_attributes")
def constant_attributes(d: Path, spec: dict) -> None:
    cu = read(d, "customers.csv")
    for c in ("customer_type", "acquisition_channel", "gender", "occupation"):
        cu[c] = cu[c].iloc[0]
    cu[["age", "income"]] = ["40", "50000"]
    write(cu, d, "customers.csv")


# ------------------------------------------------------------------------------- building
def base_spec() -> dict:
    spec = yaml.safe_load((ROOT / "config" / "datasets" / "demo.yaml").read_text())
    spec.pop("generator")
    return spec


def make_shape(name: str, folder: Path, base: Path | None = None) -> Path:
    """Write shape ``name`` into ``folder`` (from the generated ``base`` demo when its generator
    settings are the base's) and return the path of its dataset spec."""
    folder = Path(folder)
    if base is not None and name not in GENERATOR:
        shutil.copytree(base, folder)
    else:
        write_demo(folder, seed=SEED, n_customers=BASE_CUSTOMERS, **GENERATOR.get(name, {}))
    spec = copy.deepcopy(base_spec())
    SHAPES[name](folder, spec)
    spec.update(name=name, title=f"Data shape: {name.replace('_', ' ')}", base=str(folder))
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- one shape, end to end
MATRIX_CONFIG = ROOT / "tests" / "data" / "shapes" / "reports.yaml"
CURRENCY_CODES = ("EUR", "USD", "CNY", "GBP")


def visible_text(page: str) -> str:
    """The text a reader sees on a report page: no markup, scripts, styles or embedded images."""
    import html
    import re

    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(page).split())


def run_shape(name: str, out: Path, base: Path) -> dict:
    """Make shape ``name`` under ``out``, load it, run the whole pack on it in this process and
    return what a test checks: each report's outcome, what its page shows, the load report."""
    from pack_harness import run_pack_inprocess
    from toolkit.data import load_dataset

    folder = out / name
    spec = make_shape(name, folder, base)
    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    ds = load_dataset(spec)
    tables = ds.report.tables_frame().to_dict("records")
    results = ds.report.to_frame().to_dict("records")
    outcomes = run_pack_inprocess(spec, folder / "run", MATRIX_CONFIG, figures=False)   # drawn in the pack runs
    reports = {}
    for r, o in outcomes.items():
        page = o.html.read_text(encoding="utf-8") if o.html and o.html.exists() else ""
        reports[r] = {"status": o.status, "error_type": o.error_type, "error_message": o.error_message,
                      "seconds": o.seconds, "rendered": bool(page), "text": visible_text(page)}
    return {"name": name, "reports": reports, "tables": tables, "results": results, "has_money": ds.has_money,
            "currency": ds.currency, "inputs_unchanged": before == {p.name: p.read_bytes() for p in folder.glob("*.csv")}}


if __name__ == "__main__":   # a few shapes by hand: python tests/data_shapes.py OUT_FOLDER shape [shape ...]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from toolkit.data.demo import write_demo as _write

    _out = Path(sys.argv[1])
    _base = _out / "_base"
    if not _base.exists():
        _write(_base, seed=SEED, n_customers=BASE_CUSTOMERS)
    for _name in sys.argv[2:]:
        if (_out / _name).exists():
            shutil.rmtree(_out / _name)
        _run = run_shape(_name, _out, _base)
        for _rep, _o in _run["reports"].items():
            print(f"{_name:28s} {_rep:18s} {_o['status']:8s} {_o['seconds']:6.1f}s {(_o['error_message'] or '')[:110]}")
