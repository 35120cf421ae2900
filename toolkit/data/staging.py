"""The transaction log: validated in batches into Parquet, finished by engine queries.

A transaction log can be far larger than memory, so the loader never holds it in pandas:

1. the source file is read in batches of ``$CUSTKIT_BATCH_ROWS`` rows (default 500,000); each
   batch goes through the spec's filters, mapping, conversions and row rules
   (:class:`~toolkit.data.validate.TableValidator`, the same code as every other table) and is
   appended to a Parquet file;
2. the rules that need the whole log run as engine queries (:mod:`toolkit.engine`) on that file:
   exact duplicates, returns and zero amounts (counted after duplicates), outliers against each
   customer's median and the log's 99.9th percentile (exact, by :func:`toolkit.engine.quantiles`), and, when the spec derives the customer
   table from the transactions, each customer's most frequent attribute values;
3. the cleaned rows are written to ``log.parquet``, which :attr:`Dataset.transaction_log` scans.

Every rule is counted with its first line numbers and examples, as for any other table. The
finished log is kept in a cache folder keyed by the source file, the spec and this code, so
the reports of one run load it once.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.data import convert
from toolkit.data.readers import LINE, read_batches
from toolkit.data.report import LoadReport, RuleResult
from toolkit.data.schema import TABLES
from toolkit.data.spec import TableSpec
from toolkit.data.validate import NUMERIC, TableValidator, apply_filters, mapped_raw

CU = "_cu__"   # prefix of the derived customer table's raw columns carried in the staged log
_ARROW_KIND = {"date": "timestamp[us]", "float": "float64", "bool": "bool"}   # Spark reads no nanoseconds


def read_log(path: str | Path) -> pd.DataFrame:
    """A cleaned transaction log read into pandas, with the loader's dtypes (text as object)."""
    frame = pd.read_parquet(path)
    if LINE in frame.columns:   # the source's order
        frame = frame.sort_values(LINE, kind="stable").drop(columns=[LINE]).reset_index(drop=True)
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            frame[c] = s.astype("datetime64[ns]")
        elif pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
            frame[c] = s.astype(object).where(s.notna(), None)
    return frame


def cache_root() -> Path:
    """Where finished logs are kept: ``$CUSTKIT_CACHE``, else ``outputs/cache`` of the project."""
    env = os.environ.get("CUSTKIT_CACHE")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "outputs" / "cache"


@dataclass
class TransactionLog:
    """A finished log: where its cleaned rows are, and what loading found out about them."""

    path: Path                        # cleaned rows, Parquet (a file, or a folder written by Spark)
    source: str                       # the source file
    rows_read: int
    rows_out: int
    as_of: str | None                 # the latest purchase day when the spec sets no as-of date
    non_null: dict[str, int]          # values per column, for Dataset.columns_with_data
    results: list[dict]               # the transaction (and derived customer) lines of the load report
    customers: Path | None = None     # derived customers, raw values (one row per customer)


def _code_version() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ("staging.py", "validate.py", "convert.py", "readers.py", "schema.py", "report.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def _key(ts: TableSpec, customers: TableSpec | None, as_of: pd.Timestamp | None) -> str:
    st = ts.path.stat() if ts.path.exists() else None   # a missing file is reported when it is read
    parts = {"file": str(ts.path.resolve()), "size": st and st.st_size, "mtime": st and st.st_mtime_ns,
             "table": ts.raw,
             "customers": customers.raw if customers is not None else None,
             "as_of": str(as_of) if as_of is not None else None, "code": _code_version()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def load_log(ts: TableSpec, report: LoadReport, as_of: pd.Timestamp | None, engine: str,
             customers: TableSpec | None = None) -> TransactionLog:
    """Validate the transactions of ``ts`` into a cleaned Parquet log (or reuse the cached one),
    adding its lines to ``report``; ``customers`` is a customer table derived from these rows."""
    root = cache_root()
    folder = root / f"transactions-{_key(ts, customers, as_of)}"
    manifest = folder / "log.json"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # a report started beside this one waits for this log
        if not manifest.exists():
            work = Path(tempfile.mkdtemp(prefix="building-", dir=root))
            try:
                log = _build(ts, as_of, engine, customers, work)
                (work / "log.json").write_text(json.dumps(asdict(log), default=str))
                work.rename(folder)   # complete or absent, never half-written
            finally:
                shutil.rmtree(work, ignore_errors=True)
            _forget_older(root, folder, ts)
    raw = json.loads(manifest.read_text())
    log = TransactionLog(**{**raw, "path": folder / "log.parquet",
                            "customers": folder / "customers.parquet" if raw["customers"] else None})
    for r in log.results:
        report.results.append(RuleResult(**r))
    report.read("transactions", str(ts.path), log.rows_read)
    report.done("transactions", log.rows_out)
    return log


def _forget_older(root: Path, keep: Path, ts: TableSpec) -> None:
    """Remove the logs built earlier from the same source file (an older file, spec or code): the
    cache holds one log per source file."""
    for manifest in root.glob("transactions-*/log.json"):
        folder = manifest.parent
        if folder != keep and json.loads(manifest.read_text()).get("source") == str(ts.path):
            shutil.rmtree(folder, ignore_errors=True)
            (root / f"{folder.name}.lock").unlink(missing_ok=True)


# ------------------------------------------------------------------------------ 1. batches
def _arrow_schema(df: pd.DataFrame, kinds: dict[str, str]):
    import pyarrow as pa
    fields = []
    for c in df.columns:
        kind = kinds.get(c)
        if c == LINE:
            t = pa.int64()
        elif c.endswith(NUMERIC):
            t = pa.float64()
        elif kind in _ARROW_KIND:
            t = pa.type_for_alias(_ARROW_KIND[kind])
        elif kind is not None or c.startswith(CU):
            t = pa.string()
        else:   # an extra attribute: numeric and date columns of a Parquet source keep their type
            inferred = pa.Schema.from_pandas(df[[c]], preserve_index=False).field(c).type
            t = pa.string() if pa.types.is_null(inferred) or inferred == pa.large_string() else inferred
        fields.append(pa.field(c, t))
    return pa.schema(fields)


def _stage(ts: TableSpec, tv: TableValidator, customers: TableSpec | None, path: Path) -> tuple[int, list[str]]:
    """Step 1: the row rules, batch by batch, into ``path``; returns rows read and the model columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table, file, rules = TABLES["transactions"], str(ts.path), tv.rules
    kinds = {c.name: c.kind for c in table.columns}
    writer, schema, n_in, columns = None, None, 0, []
    batch_rows = int(os.environ.get("CUSTKIT_BATCH_ROWS", "500000"))
    for batch in read_batches(ts, batch_rows):
        n_in += len(batch)
        tv.n_in = n_in
        batch = apply_filters(batch, ts, tv.report, file)
        raw, opts = mapped_raw(batch, ts, table)
        df = tv.convert(raw, opts)
        if tv.as_of is not None:
            future = df["date"] > tv.as_of + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
            df = tv.drop(df, future, "future_dates", "date", f"after the dataset's as-of date {tv.as_of.date()}",
                         df.loc[future, "date"].dt.strftime("%Y-%m-%d").head(5).tolist(), guarded=False,
                         action=rules["future_dates"])
        if "order_id" not in df.columns:
            df["order_id"] = df["customer_id"] + "|" + df["date"].dt.strftime("%Y-%m-%d")
        if not columns:
            columns = [c for c in df.columns if c != LINE and not c.endswith(NUMERIC)]
        if customers is not None:
            cu, _ = mapped_raw(batch.loc[df.index], customers, TABLES["customers"])
            df[CU + "customer_id"] = convert.to_ids(cu["customer_id"])
            for c in cu.columns:
                if c not in ("customer_id", LINE):
                    df[CU + c] = cu[c].astype("string").astype(object).where(cu[c].notna(), None)
        if schema is None:
            schema = _arrow_schema(df, kinds)
            writer = pq.ParquetWriter(path, schema)
        writer.write_table(pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False, safe=False))
    if writer is not None:
        writer.close()
    return n_in, columns


# ------------------------------------------------------------------------------ 2. engine
def _count(lf: nw.LazyFrame) -> int:
    from toolkit.engine import collect
    return int(collect(lf.select(nw.len().alias("n"))).iloc[0, 0])


def _first_rows(lf: nw.LazyFrame, mask: nw.Expr, example: str | None) -> tuple[int, list[int], list]:
    """Rows matching ``mask``: how many, their first line numbers and example values."""
    from toolkit.engine import collect
    hits = lf.filter(mask)
    n = _count(hits)
    if n == 0:
        return 0, [], []
    cols = [LINE] + ([example] if example else [])
    head = collect(hits.select(*cols).sort(LINE).head(10))
    return n, head[LINE].astype(int).tolist(), (head[example].head(5).tolist() if example else [])


def _apply(tv: TableValidator, lf: nw.LazyFrame, mask: nw.Expr, rule: str, column: str, detail: str,
           example: str | None, action: str) -> nw.LazyFrame:
    n, lines, examples = _first_rows(lf, mask, example)
    if n and tv.decide(rule, n, lines, column, detail, examples, guarded=False, action=action) == "drop":
        return lf.filter(~mask)
    return lf


def _persist(lf: nw.LazyFrame, path: Path, engine: str) -> nw.LazyFrame:
    """Write ``lf`` to Parquet at ``path`` and scan it back: later queries read the result, not
    the plan that made it."""
    from toolkit.engine import scan
    lf.sink_parquet(str(path))
    return scan(path, engine)


def _derived_customers(lf: nw.LazyFrame, attrs: list[str], tv: TableValidator) -> pd.DataFrame:
    """One row per customer: the first line and the most frequent value of each attribute (ties:
    the smallest value); customers with several values are counted."""
    from toolkit.engine import collect
    cid = CU + "customer_id"
    rows = lf.filter(~nw.col(cid).is_null())
    base = collect(rows.group_by(cid).agg(nw.col(LINE).min()), sort=[cid]).set_index(cid)
    for a in attrs:
        counts = collect(rows.filter(~nw.col(CU + a).is_null()).group_by(cid, CU + a).agg(nw.len().alias("n")))
        conflicted = int((counts.groupby(cid).size() > 1).sum())
        if conflicted:
            tv.report.add("customers", "conflicting_values", "repaired", conflicted, file=tv.file, column=a,
                          detail="customer has several values; the most frequent one is kept")
        mode = (counts.sort_values([cid, "n", CU + a], ascending=[True, False, True], kind="stable")
                .drop_duplicates(cid).set_index(cid)[CU + a])
        base[a] = mode
    base.index.name = "customer_id"
    return base.reset_index()


def _amount_rules(tv: TableValidator, lf: nw.LazyFrame, rules: dict) -> nw.LazyFrame:
    """Returns, zero amounts and outliers over the whole log (counted after duplicates).

    An outlier is worth more than k times its customer's median positive row (customers with >= 3
    rows) or k times the log's reference value: the 99.9th percentile of positive rows, or the
    second-largest positive row when that is lower (with fewer than about 1,000 rows the
    percentile interpolates towards the largest row, which could then never be k times it). The
    comparisons divide the amount by k rather than multiply the reference, so they hold near the
    float limits (50 x 1e307 is infinite; 1e308 / 50 is not)."""
    from toolkit.engine import quantiles
    report = tv.report
    amount = nw.col("amount")
    lf = _apply(tv, lf, amount < 0, "returns", "amount", "negative amount (return or cancellation), net revenue",
                "amount", rules["returns"])
    lf = _apply(tv, lf, amount == 0, "zero_amounts", "amount", "amount is zero", None, rules["zero_amounts"])
    # outliers: worth more than k times the customer's median positive row (customers with >= 3
    # rows) or k times the 99.9th percentile of all positive rows; flagged (kept) by default
    k = float(rules["outlier_k"])
    positive = lf.filter(amount > 0)
    n_pos = _count(positive)
    second = (n_pos - 2) / (n_pos - 1) if n_pos > 2 else 0.0   # the second-largest row's quantile
    p99, top2 = quantiles(positive, [0.999, second]) if n_pos > 2 else (float("nan"), float("nan"))
    p99 = min(p99, top2)   # exactly as pandas computes each, without sorting the log
    p99 = p99 if np.isfinite(p99) else float("inf")
    stats = lf.with_columns(nw.when(amount > 0).then(amount).alias("_pos")).group_by("customer_id") \
        .agg(nw.len().alias("_n"), nw.col("_pos").median().alias("_med"))
    lf = lf.join(stats, on="customer_id", how="left")
    out = (nw.col("_n") >= 3) & (amount / k > nw.col("_med"))
    if np.isfinite(p99):
        out = out | (amount / k > p99)
    lf = lf.with_columns(out.fill_null(False).alias("is_outlier"))
    if rules["outliers"] != "keep":
        detail = (f"more than {k:g}x the customer's median row or {k:g}x the 99.9th percentile "
                  f"(or the second-largest row if lower; {p99:,.6g})")
        if rules["outliers"] == "drop":
            lf = _apply(tv, lf, nw.col("is_outlier"), "outliers", "amount", detail, "amount", "drop")
        else:
            n, lines, examples = _first_rows(lf, nw.col("is_outlier"), "amount")
            report.add("transactions", "outliers", "flagged", n, file=tv.file, column="amount",
                       detail=detail + "; kept, marked in is_outlier", examples=examples, lines=lines)
    return lf


def _build(ts: TableSpec, as_of: pd.Timestamp | None, engine: str, customers: TableSpec | None,
           work: Path) -> TransactionLog:
    from toolkit.engine import collect, quantiles, scan
    report = LoadReport()
    tv = TableValidator(ts, TABLES["transactions"], report, as_of)
    tv.batched = True
    n_in, columns = _stage(ts, tv, customers, work / "staged.parquet")
    tv.check_guards(n_in)
    numeric = tv.finish_extras()
    rules = tv.rules
    lf = scan(work / "staged.parquet", engine)
    names = lf.collect_schema().names()
    carried = [c for c in names if c.startswith(CU)]
    lf = lf.select(*[nw.col(c + NUMERIC).alias(c) if numeric.get(c) else nw.col(c) for c in columns],
                   LINE, *carried)
    # exact duplicates of an earlier row (all model columns; the first by line is kept)
    firsts = lf.group_by(*columns, drop_null_keys=False).agg(nw.col(LINE).min()) \
        .select(LINE, nw.lit(True).alias("_first"))
    lf = _persist(lf.join(firsts, on=LINE, how="left"), work / "flagged.parquet", engine)
    lf = _apply(tv, lf, nw.col("_first").is_null(), "duplicates", "", "exact duplicate of an earlier row", None,
                rules["duplicates"])
    if "order_id" not in (ts.columns or {}):
        report.add("transactions", "derived_order_id", "info", 0, file=tv.file, column="order_id",
                   detail="no order id in the source: one order per customer and day")
    if "amount" not in columns:   # a purchase log without money: nothing to check on amounts
        report.add("transactions", "no_amounts", "info", 0, file=tv.file, column="amount",
                   detail="no amount in the source (purchase counts only): the returns, zero-amount and outlier "
                          "rules do not apply, and reports that need money say so")
        lf = lf.with_columns(nw.lit(None).cast(nw.Float64).alias("amount"), nw.lit(False).alias("is_outlier"))
        columns = [*columns, "amount"]   # an empty column: queries run, and has_money is False
    else:
        lf = _amount_rules(tv, lf, rules)
    # microsecond timestamps whichever engine wrote the log: Spark reads no nanoseconds
    kept = lf.select(*[nw.col(c).cast(nw.Datetime("us")) if c == "date" else nw.col(c) for c in columns],
                     "is_outlier", LINE, *carried)
    cu_path = None
    if carried:   # the customer derivation reads the kept rows once per attribute: keep them, not the plan
        kept = _persist(kept, work / "kept.parquet", engine)
        attrs = [c[len(CU):] for c in carried if c != CU + "customer_id"]
        _derived_customers(kept, attrs, tv).to_parquet(work / "customers.parquet", index=False)
        cu_path = "customers.parquet"
    log = _persist(kept.select(*columns, "is_outlier", LINE), work / "log.parquet", engine)
    counts = collect(log.select(nw.len().alias("_rows"), nw.col("date").max().alias("_last"),
                                *[nw.col(c).count().alias(c) for c in [*columns, "is_outlier"]])).iloc[0]
    last = pd.Timestamp(counts["_last"]).normalize() if pd.notna(counts["_last"]) else None
    for f in ("staged.parquet", "flagged.parquet", "kept.parquet"):
        p = work / f
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    return TransactionLog(path=work / "log.parquet", source=str(ts.path), rows_read=n_in, rows_out=int(counts["_rows"]),
                          as_of=str(last) if last is not None else None,
                          non_null={c: int(counts[c]) for c in [*columns, "is_outlier"]},
                          results=[asdict(r) for r in report.results], customers=cu_path)

