"""Loading a dataset: read each source file, map it onto the data model, validate and count.

Nothing is dropped or repaired silently: every rule that touches a row adds a line to the
:class:`~toolkit.data.report.LoadReport` with the rows affected, their line numbers and example
values. When a rule would drop more than ``max_bad_fraction`` of a table, loading stops with a
:class:`~toolkit.data.errors.DataError` instead (a wrong date format or decimal separator, not dirt).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.data import convert
from toolkit.data.errors import DataError, MissingTableError, SpecError
from toolkit.data.readers import LINE, read_source
from toolkit.data.report import LoadReport
from toolkit.data.schema import TABLES, Table
from toolkit.data.spec import DatasetSpec, TableSpec, load_spec
from toolkit.data.staging import read_log

# Load order: customers may derive from transactions; cross-table checks run last.
ORDER = ("transactions", "customers", "marketing_spend", "surveys", "interactions", "market")
DATE_OF_EVENT = {"transactions": "date", "surveys": "response_date", "interactions": "date"}


@dataclass
class Dataset:
    """A loaded dataset: model tables (DataFrames or None), the spec, and the load report."""

    spec: DatasetSpec
    report: LoadReport
    as_of: pd.Timestamp
    transactions: pd.DataFrame | None = None   # see the property below: materialised on first use
    customers: pd.DataFrame | None = None
    marketing_spend: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    market: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log_path: Path | None = None   # the cleaned transactions as Parquet, when loaded by an engine
        self._log_stats: dict[str, Any] = {}

    @property
    def transactions(self) -> pd.DataFrame | None:
        """The cleaned transactions as a pandas DataFrame, read on first use.

        Reports aggregate through :attr:`transaction_log` instead, which keeps the rows in the
        engine; this reads every row into memory (``materialised`` says whether it has)."""
        if self._transactions is None and self._log_path is not None:
            self._transactions = read_log(self._log_path)
        return self._transactions

    @transactions.setter
    def transactions(self, frame: pd.DataFrame | None) -> None:
        if isinstance(frame, property):   # the dataclass default
            frame = None
        self._transactions = frame
        self._log_path = None

    @property
    def materialised(self) -> bool:
        """Whether the transactions are held in pandas (always, on the pandas engine)."""
        return self._transactions is not None

    @property
    def transaction_log(self):
        """The cleaned transactions as a narwhals LazyFrame on :attr:`engine`: DuckDB and Spark
        read the loader's Parquet file, so transaction-level aggregations run without the rows in
        pandas (``toolkit.engine.collect`` brings back only their per-customer or per-group result)."""
        from toolkit.engine import scan
        if self._log_path is not None and self._transactions is None:
            return scan(self._log_path, self.engine)
        if self.transactions is None:
            return None
        return scan(self.transactions, self.engine)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def engine(self) -> str:
        """The engine for transaction aggregations: ``$CUSTKIT_ENGINE`` (set by a run config's
        ``engine``), else the spec's ``engine``, else ``duckdb``."""
        from toolkit.engine import resolve_engine
        return resolve_engine(os.environ.get("CUSTKIT_ENGINE") or self.spec.engine)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, tables={self.table_names}, as_of={self.as_of.date()}, engine={self.engine!r})"

    def _present(self, table: str) -> bool:
        if table == "transactions":
            return self._transactions is not None or self._log_path is not None
        return getattr(self, table, None) is not None

    @property
    def table_names(self) -> list[str]:
        """The tables this dataset provides (without reading a transaction log into pandas)."""
        return [t for t in TABLES if self._present(t)]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table as a pandas DataFrame (this reads the transactions into pandas)."""
        return {t: getattr(self, t) for t in self.table_names}

    def has(self, *tables: str) -> bool:
        return all(self._present(t) for t in tables)

    def columns_with_data(self, table: str) -> list[str]:
        """Columns of ``table`` holding at least one value (a transaction log answers from its load
        statistics, without reading the rows)."""
        if table == "transactions" and self._transactions is None and self._log_path is not None:
            return [c for c, n in self._log_stats.get("non_null", {}).items() if n > 0]
        frame = getattr(self, table)
        return [] if frame is None else [c for c in frame.columns if frame[c].notna().any()]

    def require(self, *tables: str, columns: dict[str, list[str]] | None = None) -> None:
        """Stop with a clear message when a needed table (or column with data) is missing."""
        missing = [t for t in tables if not self._present(t)]
        if missing:
            have = ", ".join(self.table_names) or "none"
            raise MissingTableError(
                f"this report needs the table(s) {', '.join(missing)}, which dataset {self.name!r} does "
                f"not provide (it has: {have})", file=str(self.spec.path or ""),
                hint="add them to the dataset spec or run the report on another dataset")
        for t, cols in (columns or {}).items():
            with_data = set(self.columns_with_data(t))
            empty = [c for c in cols if c not in with_data]
            if empty:
                raise MissingTableError(
                    f"this report needs column(s) {', '.join(empty)} of table {t!r} with data; dataset "
                    f"{self.name!r} has none", file=str(self.spec.path or ""))

    @property
    def currency(self) -> str:
        return str(self.spec.raw.get("currency", ""))

    @property
    def time_unit(self) -> str:
        return str(self.spec.raw.get("time_unit", "W"))

    @property
    def source_files(self) -> list[Path]:
        return self.spec.source_files()


# --------------------------------------------------------------------------------------- helpers
def _source_col(df: pd.DataFrame, src: str, ts: TableSpec, model_col: str) -> pd.Series:
    if src not in df.columns:
        found = ", ".join(repr(c) for c in df.columns if c != LINE)
        raise DataError(f"model column {model_col!r} maps to source column {src!r}, which the file does not "
                        f"have (found: {found[:400]})", file=str(ts.path), column=src,
                        hint="fix 'columns' in the spec")
    return df[src]


def _mapped_raw(df: pd.DataFrame, ts: TableSpec, table: Table) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Select/compute the raw model columns; returns the raw frame and per-column options."""
    out = pd.DataFrame(index=df.index)
    opts: dict[str, dict] = {}
    for col, m in ts.columns.items():
        if isinstance(m, str):
            out[col] = _source_col(df, m, ts, col)
            opts[col] = {"source": m}
        elif isinstance(m, dict):
            if "value" in m:
                out[col] = m["value"]
                opts[col] = {"source": f"constant {m['value']!r}", "constant": True}
            elif "multiply" in m:
                parts = [_source_col(df, c, ts, col) for c in m["multiply"]]
                opts[col] = {"source": " x ".join(m["multiply"]), "multiply": parts}
                out[col] = parts[0]
            elif "row_number" in m:
                out[col] = str(m["row_number"]) + df[LINE].astype(str)
                opts[col] = {"source": "row number"}
            elif "source" in m:
                out[col] = _source_col(df, m["source"], ts, col)
                opts[col] = dict(m)
            else:
                raise SpecError(f"column {col!r} of table {ts.name!r} needs 'source', 'value', 'multiply' or "
                                "'row_number'", file=ts.spec_file)
        else:
            raise SpecError(f"column {col!r} of table {ts.name!r} must be a source column name or a mapping",
                            file=ts.spec_file)
    for c in table.required:
        if c not in out.columns and not (table.name == "transactions" and c == "order_id"):
            raise DataError(f"the spec maps no source column onto required model column {c!r} of table "
                            f"{ts.name!r}", file=str(ts.path or ts.spec_file), column=c,
                            hint=f"add it under tables.{ts.name}.columns in {ts.spec_file}")
    extra = ts.raw.get("extra") or []
    extra_map = extra if isinstance(extra, dict) else {convert.snake(c): c for c in extra}
    for name, src in extra_map.items():
        if name in out.columns:
            name = f"x_{name}"
        out[name] = _source_col(df, src, ts, name)
        opts[name] = {"source": src, "extra": True}
    out[LINE] = df[LINE]
    return out, opts


class _TableLoader:
    """Applies the model's types and the spec's rules to one table, reporting as it goes."""

    def __init__(self, ts: TableSpec, table: Table, report: LoadReport, as_of: pd.Timestamp | None) -> None:
        self.ts, self.table, self.report, self.as_of = ts, table, report, as_of
        self.rules = ts.rules
        self.file = str(ts.path) if ts.path else f"(derived from {ts.derived_from})"
        self.n_in = 0

    def _lines(self, df: pd.DataFrame, mask: pd.Series) -> list[int]:
        return df.loc[mask, LINE].head(10).tolist()

    def drop(self, df: pd.DataFrame, mask: pd.Series, rule: str, column: str = "", detail: str = "",
             examples=None, guarded: bool = True, action: str | None = None) -> pd.DataFrame:
        mask = mask.fillna(False).astype(bool)
        n = int(mask.sum())
        if n == 0:
            return df
        setting = action or self.rules.get(rule, "drop")
        if setting == "error" or (guarded and self.n_in and n / self.n_in > self.rules["max_bad_fraction"]):
            share = f"{n} of {self.n_in} rows ({n / max(self.n_in, 1):.0%})"
            why = "the spec says rule {0!r}: error".format(rule) if setting == "error" else (
                f"more than max_bad_fraction={self.rules['max_bad_fraction']:.0%} of the table, so this looks "
                "like a wrong spec setting rather than dirty rows")
            raise DataError(f"{share} fail rule {rule!r} ({detail}); {why}", file=self.file, column=column or None,
                            rows=self._lines(df, mask), examples=examples if examples is not None else [],
                            hint="check the column's format, decimal/thousands separators and encoding in the "
                                 "spec, or raise max_bad_fraction under rules")
        if setting == "keep":
            self.report.add(self.table.name, rule, "kept", n, file=self.file, column=column, detail=detail,
                            examples=examples, lines=self._lines(df, mask))
            return df
        self.report.add(self.table.name, rule, "dropped", n, file=self.file, column=column, detail=detail,
                        examples=examples, lines=self._lines(df, mask))
        return df.loc[~mask]

    def repaired(self, df: pd.DataFrame, mask: pd.Series, rule: str, column: str, detail: str, examples=None):
        mask = mask.fillna(False).astype(bool)
        self.report.add(self.table.name, rule, "repaired", int(mask.sum()), file=self.file, column=column,
                        detail=detail, examples=examples, lines=self._lines(df, mask))

    # ---------------------------------------------------------------------------- conversion
    def convert(self, raw: pd.DataFrame, opts: dict[str, dict]) -> pd.DataFrame:
        df = raw
        decimal = str(self.ts.raw.get("decimal", "."))
        thousands = self.ts.raw.get("thousands")
        scale = self.ts.raw.get("scale")
        for col in list(df.columns):
            if col == LINE:
                continue
            o = opts.get(col, {})
            src = o.get("source", col)
            if o.get("extra"):
                df[col] = self._extra(df, col, src)
                continue
            if col.startswith("q_") and self.table.name == "surveys":
                continue
            c = self.table.column(col)
            src = o.get("source", col)
            original = df[col]
            if c.kind == "id":
                df[col] = convert.to_ids(df[col])
                if c.name == "customer_id" or c.required:
                    df = self.drop(df, df[col].isna(), "missing_ids", src, "identifier is empty",
                                   action=self.rules["missing_ids"])
            elif c.kind == "date":
                vals, bad = convert.to_dates(df[col], o.get("format"), bool(o.get("dayfirst", False)))
                df[col] = vals
                ex = original[bad].head(5).tolist()
                fmt = o.get("format") or "ISO 8601 (YYYY-MM-DD)"
                if c.required:
                    df = self.drop(df, bad, "bad_dates", src, f"not a date in format {fmt}", ex,
                                   action=self.rules["bad_dates"])
                    df = self.drop(df, df[col].isna(), "missing_dates", src, "date is empty", guarded=True,
                                   action="drop")
                elif bad.any():
                    self.repaired(df, bad, "bad_dates", src, f"not a date in format {fmt}; set to missing", ex)
            elif c.kind == "float":
                if "multiply" in o:
                    vals = pd.Series(1.0, index=df.index)
                    bad = pd.Series(False, index=df.index)
                    for part in o["multiply"]:
                        v, b = convert.to_numbers(part.loc[df.index], decimal, thousands)
                        vals, bad = vals * v, bad | b
                else:
                    vals, bad = convert.to_numbers(df[col], decimal, thousands)
                ex = original[bad].head(5).tolist()
                codes = set(self.ts.raw.get("missing_codes") or []) if self.table.name == "surveys" else set()
                coded = vals.isin(list(codes))
                if coded.any():
                    self.repaired(df, coded, "missing_code", src, f"code in {sorted(codes)} means no answer",
                                  vals[coded].head(3).tolist())
                    vals = vals.mask(coded)
                df[col] = vals
                lo, hi = c.lower, c.upper
                if self.table.name == "surveys" and col == "overall_satisfaction" and scale:
                    lo, hi = scale
                strict = c.required and self.table.name != "surveys"  # a survey answer is repaired, not dropped
                if strict:
                    df = self.drop(df, bad, "bad_numbers", src, "not a number", ex, action=self.rules["bad_numbers"])
                    df = self.drop(df, df[col].isna(), "missing_values", src, "value is empty", action="drop")
                elif bad.any():
                    self.repaired(df, bad, "bad_numbers", src, "not a number; set to missing", ex)
                out = pd.Series(False, index=df.index)
                if lo is not None:
                    out |= df[col] < lo
                if hi is not None:
                    out |= df[col] > hi
                if out.any():
                    ex = df.loc[out, col].head(5).tolist()
                    if strict:
                        df = self.drop(df, out, "out_of_range", src, f"outside [{lo}, {hi}]", ex, action="drop")
                    else:
                        self.repaired(df, out, "out_of_range", src, f"outside [{lo}, {hi}]; set to missing", ex)
                        df.loc[out, col] = np.nan
            elif c.kind == "bool":
                vals, bad = convert.to_bools(df[col])
                if bad.any():
                    self.repaired(df, bad, "bad_values", src, "not yes/no; set to missing",
                                  original[bad].head(5).tolist())
                df[col] = vals
            elif c.kind == "category":
                vals, bad = convert.to_categories(df[col], o.get("values"), c.allowed)
                if bad.any():
                    fallback = "other" if "other" in (c.allowed or ()) else None
                    self.repaired(df, bad, "unknown_category", src,
                                  f"not one of {', '.join(c.allowed or ())}; set to {fallback or 'missing'}",
                                  sorted(set(map(str, original[bad].head(50))))[:5])
                    if fallback:
                        vals = vals.where(~bad, fallback)
                df[col] = vals
            else:
                df[col] = df[col].astype("string").astype(object)
        return df

    def _extra(self, df: pd.DataFrame, col: str, src: str) -> pd.Series:
        """Extra attributes: numeric when every non-empty value is a number, else text."""
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            return s
        vals, bad = convert.to_numbers(s, str(self.ts.raw.get("decimal", ".")), self.ts.raw.get("thousands"))
        txt = s.astype("string").str.strip()
        blank = txt.isna() | (txt == "")
        if not bad.any() and vals.notna().any():
            if blank.any():
                self.report.add(self.table.name, "missing_values", "kept", int(blank.sum()), file=self.file,
                                column=src, detail="empty numeric attribute; kept as missing",
                                lines=self._lines(df, blank))
            return vals
        return txt.mask(blank).astype(object)

    def survey_items(self, df: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
        """Likert items: map, code missing answers, blank out-of-range codes (all counted)."""
        items = self.ts.raw.get("items") or {}
        scale = self.ts.raw.get("scale") or [1, 5]
        missing_codes = set(self.ts.raw.get("missing_codes") or [])
        if isinstance(items, dict) and "pattern" in items:
            import re
            pat = re.compile(items["pattern"])
            items = {c: c for c in source.columns if pat.search(str(c))}
        elif isinstance(items, list):
            items = {c: c for c in items}
        for name, src in items.items():
            qname = name if name.startswith("q_") else f"q_{convert.snake(name)}"
            raw = _source_col(source, src, self.ts, qname).loc[df.index]
            vals, bad = convert.to_numbers(raw)
            coded = vals.isin(list(missing_codes))
            if coded.any():
                self.repaired(df, coded, "missing_code", src, f"code in {sorted(missing_codes)} means no answer",
                              vals[coded].head(3).tolist())
            vals = vals.mask(coded)
            if bad.any():
                self.repaired(df, bad, "bad_numbers", src, "not a number; set to missing", raw[bad].head(5).tolist())
            out = (vals < scale[0]) | (vals > scale[1])
            if out.any():
                self.repaired(df, out, "out_of_range_answer", src, f"outside the {scale[0]}-{scale[1]} scale; "
                              "set to missing", vals[out].head(5).tolist())
            vals = vals.mask(out)
            blank = vals.isna() & ~coded & ~out & ~bad
            if blank.any():
                self.report.add("surveys", "missing_answer", "kept", int(blank.sum()), file=self.file, column=src,
                                detail="no answer given")
            df[qname] = vals
        return df


def _apply_filters(df: pd.DataFrame, ts: TableSpec, report: LoadReport, file: str) -> pd.DataFrame:
    for flt in ts.raw.get("filters") or []:
        col, op, val = flt["column"], flt["op"], flt.get("value")
        s = _source_col(df, col, ts, f"filter on {col}")
        txt = s.astype("string")
        if op in ("gt", "ge", "lt", "le"):
            num, _ = convert.to_numbers(s)
            mask = {"gt": num > val, "ge": num >= val, "lt": num < val, "le": num <= val}[op]
        else:
            mask = {
                "eq": txt == str(val), "ne": txt != str(val),
                "in": txt.isin([str(v) for v in (val or [])]), "not_in": ~txt.isin([str(v) for v in (val or [])]),
                "startswith": txt.str.startswith(str(val)), "not_startswith": ~txt.str.startswith(str(val)),
                "contains": txt.str.contains(str(val), regex=False),
                "isnull": s.isna() | (txt.str.strip() == ""), "notnull": s.notna() & (txt.str.strip() != ""),
            }[op]
        mask = mask.fillna(False).astype(bool)
        rule = flt.get("rule", f"filter_{col}_{op}")
        report.add(ts.name, rule, "dropped", int(mask.sum()), file=file, column=col,
                   detail=flt.get("reason", f"{col} {op} {val!r}"), examples=s[mask].head(5).tolist(),
                   lines=df.loc[mask, LINE].head(10).tolist())
        df = df.loc[~mask]
    return df


def _duplicates(df: pd.DataFrame, subset: list[str] | None) -> pd.Series:
    return df.duplicated(subset=subset, keep="first")


def _transaction_rules(df: pd.DataFrame, tl: _TableLoader) -> pd.DataFrame:
    rules, report = tl.rules, tl.report
    if tl.as_of is not None:
        future = df["date"] > tl.as_of + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        df = tl.drop(df, future, "future_dates", "date", f"after the dataset's as-of date {tl.as_of.date()}",
                     df.loc[future, "date"].dt.strftime("%Y-%m-%d").head(5).tolist(), guarded=False,
                     action=rules["future_dates"])
    cols = [c for c in df.columns if c != LINE]
    dup = _duplicates(df, cols)
    df = tl.drop(df, dup, "duplicates", "", "exact duplicate of an earlier row", guarded=False,
                 action=rules["duplicates"])
    if "order_id" not in df.columns:
        df["order_id"] = df["customer_id"] + "|" + df["date"].dt.strftime("%Y-%m-%d")
        report.add("transactions", "derived_order_id", "info", 0, file=tl.file, column="order_id",
                   detail="no order id in the source: one order per customer and day")
    neg = df["amount"] < 0
    df = tl.drop(df, neg, "returns", "amount", "negative amount (return or cancellation), net revenue",
                 df.loc[neg, "amount"].head(5).tolist(), guarded=False, action=rules["returns"])
    zero = df["amount"] == 0
    df = tl.drop(df, zero, "zero_amounts", "amount", "amount is zero", guarded=False, action=rules["zero_amounts"])
    # Outliers: a row worth more than k times its customer's median positive row (customers with >= 3 rows),
    # or more than k times the 99.9th percentile of all positive rows. Flagged (kept) by default.
    k = float(rules["outlier_k"])
    pos = df["amount"].where(df["amount"] > 0)
    med = pos.groupby(df["customer_id"]).transform("median")
    nrows = df.groupby("customer_id")["amount"].transform("size")
    p99 = float(pos.quantile(0.999)) if pos.notna().any() else np.inf
    out = ((nrows >= 3) & (df["amount"] > k * med)) | (df["amount"] > k * p99)
    df["is_outlier"] = out.to_numpy()
    if rules["outliers"] != "keep" and out.any():
        detail = f"more than {k:g}x the customer's median row or {k:g}x the 99.9th percentile ({p99:,.2f})"
        if rules["outliers"] == "drop":
            df = tl.drop(df, out, "outliers", "amount", detail, df.loc[out, "amount"].head(5).tolist(),
                         guarded=False, action="drop")
        else:
            report.add("transactions", "outliers", "flagged", int(out.sum()), file=tl.file, column="amount",
                       detail=detail + "; kept, marked in is_outlier", examples=df.loc[out, "amount"].head(5).tolist(),
                       lines=df.loc[out, LINE].head(10).tolist())
    return df


def _derive_customers(src: pd.DataFrame, tl: _TableLoader, tx: pd.DataFrame | None) -> pd.DataFrame:
    """One row per customer from the rows of another table: the most frequent value per attribute."""
    attrs = [c for c in src.columns if c not in ("customer_id", LINE)]
    if tx is not None and "date" in tx.columns:
        src = src.loc[src.index.isin(tx.index)]
    rows = []
    g = src.groupby("customer_id", sort=True)
    base = g[LINE].min().rename(LINE).to_frame()
    for a in attrs:
        nun = g[a].nunique()
        conflicted = int((nun > 1).sum())
        if conflicted:
            tl.report.add("customers", "conflicting_values", "repaired", conflicted, file=tl.file, column=a,
                          detail="customer has several values; the most frequent one is kept")
        mode = (src[["customer_id", a]].dropna().groupby(["customer_id", a], sort=True).size()
                .reset_index(name="n").sort_values(["customer_id", "n"], ascending=[True, False], kind="stable")
                .drop_duplicates("customer_id").set_index("customer_id")[a])
        base[a] = mode
        rows.append(a)
    return base.reset_index()


def _cross_table(ds: Dataset, report: LoadReport) -> None:
    tx, cu = ds.transactions, ds.customers
    if cu is not None:
        for col, fill in (("region", "unknown"), ("customer_type", None), ("acquisition_channel", "unknown"),
                          ("acquisition_date", None)):
            if col not in cu.columns:
                cu[col] = fill
                report.add("customers", "column_not_in_source", "info", 0, column=col,
                           detail=f"the source has no {col}; filled with {fill!r}")
    if tx is not None and cu is not None:
        known = set(cu["customer_id"])
        unknown_ids = pd.Index(tx["customer_id"].unique()).difference(pd.Index(list(known)))
        if len(unknown_ids):
            add = pd.DataFrame({"customer_id": list(unknown_ids)})
            for col in cu.columns:
                if col != "customer_id":
                    add[col] = "unknown" if col in ("region", "acquisition_channel") else None
            report.add("customers", "added_unknown_customers", "repaired", len(add), column="customer_id",
                       detail="customers in transactions but not in the customer table; added with region "
                              "'unknown'", examples=list(unknown_ids[:5]))
            ds.customers = cu = pd.concat([cu, add], ignore_index=True)
            report.tables["customers"].rows_out = len(cu)
        first = tx.loc[tx["amount"] > 0].groupby("customer_id")["date"].min().dt.normalize()
        acq = cu["acquisition_date"]
        fill = acq.isna() & cu["customer_id"].isin(first.index)
        if fill.any():
            report.add("customers", "acquisition_from_first_purchase", "repaired", int(fill.sum()),
                       column="acquisition_date", detail="missing acquisition date set to the first purchase date")
            cu.loc[fill, "acquisition_date"] = cu.loc[fill, "customer_id"].map(first)
        cu["acquisition_date"] = pd.to_datetime(cu["acquisition_date"]).astype("datetime64[ns]")
    if cu is not None:
        if "churn_date" in cu.columns and "churned" not in cu.columns:
            cu["churned"] = cu["churn_date"].notna() & (cu["churn_date"] <= ds.as_of)
        if "churned" in cu.columns:
            cu["churned"] = cu["churned"].astype("boolean")
    for t in ("surveys", "interactions"):
        frame = getattr(ds, t)
        if frame is not None and cu is not None:
            unk = ~frame["customer_id"].isin(set(cu["customer_id"]))
            if unk.any():
                report.add(t, "unknown_customer", "kept", int(unk.sum()), column="customer_id",
                           detail="customer not in the customer table; kept",
                           examples=frame.loc[unk, "customer_id"].head(5).tolist())


def prepare_dataset(spec: str | os.PathLike | dict | DatasetSpec) -> list[Path]:
    """Make sure the dataset's files exist (generating the demo data if the spec says so); return them."""
    s = load_spec(spec)
    gen = s.generator
    if gen:
        from toolkit.data.generate import ensure_generated

        ensure_generated(s)
    return s.source_files()


def load_dataset(spec: str | os.PathLike | dict | DatasetSpec, tables: list[str] | None = None) -> Dataset:
    """Load every table of a dataset spec (or just ``tables``), validated and counted."""
    s = load_spec(spec)
    prepare_dataset(s)
    report = LoadReport()
    as_of = pd.Timestamp(s.raw["as_of"]) if s.raw.get("as_of") else None
    wanted = [t for t in ORDER if t in s.tables and (tables is None or t in tables
                                                     or any(s.tables[x].derived_from == t for x in tables
                                                            if x in s.tables))]
    loaded: dict[str, pd.DataFrame] = {}
    raws: dict[str, pd.DataFrame] = {}
    for tname in wanted:
        ts, table = s.tables[tname], TABLES[tname]
        tl = _TableLoader(ts, table, report, as_of)
        if ts.derived_from:
            src_ts = s.tables[ts.derived_from]
            source = raws[ts.derived_from]
            file = f"{src_ts.path}"
            tl.file = file
        else:
            source = read_source(ts)
            file = str(ts.path)
            report.read(tname, file, len(source))
            tl.n_in = len(source)
            source = _apply_filters(source, ts, report, file)
        raw, opts = _mapped_raw(source, ts, table)
        if ts.derived_from:
            raw = raw.loc[raw.index.isin(loaded[ts.derived_from].index)] if ts.derived_from in loaded else raw
            raw["customer_id"] = convert.to_ids(raw["customer_id"])
            raw = raw.loc[raw["customer_id"].notna()]
            derived = _derive_customers(raw, tl, loaded.get("transactions"))
            report.read(tname, f"(one row per customer of {ts.derived_from})", len(derived))
            tl.n_in = len(derived)
            df = tl.convert(derived, {k: v for k, v in opts.items() if k in derived.columns})
        else:
            raws[tname] = source
            df = tl.convert(raw, opts)
        if tname == "transactions":
            df = _transaction_rules(df, tl)
            if as_of is None:
                as_of = df["date"].max().normalize()
                tl.as_of = as_of
        elif tname == "customers":
            dup = df.duplicated("customer_id", keep="first")
            df = tl.drop(df, dup, "duplicate_ids", "customer_id", "customer listed more than once; first row kept",
                         df.loc[dup, "customer_id"].head(5).tolist(), guarded=False, action="drop")
        elif tname == "surveys":
            df = tl.survey_items(df, source)
            if as_of is not None and "response_date" in df.columns:
                df = tl.drop(df, df["response_date"] > as_of + pd.Timedelta(days=1), "future_dates",
                             "response_date", "after the as-of date", guarded=False, action=tl.rules["future_dates"])
            df = tl.drop(df, _duplicates(df, [c for c in df.columns if c != LINE]), "duplicates", "",
                         "exact duplicate of an earlier row", guarded=False, action=tl.rules["duplicates"])
        elif tname == "interactions":
            if as_of is not None:
                df = tl.drop(df, df["date"] > as_of + pd.Timedelta(days=1), "future_dates", "date",
                             "after the as-of date", guarded=False, action=tl.rules["future_dates"])
            df = tl.drop(df, _duplicates(df, [c for c in df.columns if c != LINE]), "duplicates", "",
                         "exact duplicate of an earlier row", guarded=False, action=tl.rules["duplicates"])
        loaded[tname] = df
        report.done(tname, len(df))
    if as_of is None:
        as_of = pd.Timestamp.now().normalize()
    ds = Dataset(spec=s, report=report, as_of=as_of)
    for tname, df in loaded.items():
        setattr(ds, tname, df.drop(columns=[LINE]).reset_index(drop=True))
    _cross_table(ds, report)
    ds.meta = {k: v for k, v in s.raw.items() if k not in ("tables",)}
    report.check_balance()
    return ds
