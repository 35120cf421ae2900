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
from collections.abc import Mapping
from typing import Any

import narwhals as nw
import pandas as pd

from toolkit.engine.core import EngineSettings

from toolkit.data.errors import MissingTableError
from toolkit.data.readers import LINE, read_batches, read_source
from toolkit.data.report import LoadReport
from toolkit.data.schema import TABLES
from toolkit.data.spec import DatasetSpec, load_spec
from toolkit.data.staging import TransactionLog, load_log, read_log
from toolkit.data.validate import TableValidator, apply_filters, mapped_raw

# Load order: customers may derive from transactions; cross-table checks run last.
ORDER = ("transactions", "customers", "marketing_spend", "surveys", "interactions", "market",
         "partners", "suppliers")
# The optional network tables: an exact duplicate row would count a partner's sales twice.
NETWORK_TABLES = ("partners", "suppliers")
DATE_OF_EVENT = {"transactions": "date", "surveys": "response_date", "interactions": "date"}


def dataset_settings(spec: DatasetSpec, engine: "str | EngineSettings | Mapping[str, Any] | None" = None) -> EngineSettings:
    """The settings a dataset's transactions are loaded and aggregated with: ``engine`` (an
    engine name, or run settings with the engine and DuckDB's threads and memory; a run config
    passes them to every notebook), its engine else the spec's ``engine``, else ``duckdb``."""
    settings = EngineSettings.of(engine).with_engine(spec.engine)
    return settings.with_engine("duckdb")


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
    partners: pd.DataFrame | None = None   # optional: sales through partners against targets
    suppliers: pd.DataFrame | None = None  # optional: on-time delivery, defects and prices of suppliers
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log_path: Path | None = None   # the cleaned transactions as Parquet, when loaded by an engine
        self.settings: EngineSettings = dataset_settings(self.spec)   # load_dataset sets the run's
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
            return scan(self._log_path, self.settings).drop(LINE)
        if self.transactions is None:
            return None
        return scan(self.transactions, self.settings)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def engine(self) -> str:
        """The engine for transaction aggregations (``settings.engine``; see :func:`dataset_settings`)."""
        return self.settings.engine

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

    @property
    def has_money(self) -> bool:
        """Whether the transactions carry amounts (a purchase log may hold counts only)."""
        return self.has("transactions") and "amount" in self.columns_with_data("transactions")

    def require_money(self) -> None:
        """Stop with a clear message when the transactions carry no amounts (a report about money)."""
        if self.has("transactions") and not self.has_money:
            raise MissingTableError(
                f"this report needs amounts (money) in the transactions; dataset {self.name!r} has a purchase "
                "log without amounts (counts only)", file=str(self.spec.path or ""),
                hint="map the amount column under tables.transactions.columns, or read the reports that need "
                     "no money (data quality, churn, surveys)")

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


def _duplicates(df: pd.DataFrame, subset: list[str] | None) -> pd.Series:
    return df.duplicated(subset=subset, keep="first")


def _drop_exact_duplicates(tl: TableValidator, df: pd.DataFrame) -> pd.DataFrame:
    """Drop (and count) rows equal in every column to an earlier row, as the table's rule says."""
    return tl.drop(df, _duplicates(df, [c for c in df.columns if c != LINE]), "duplicates", "",
                   "exact duplicate of an earlier row", guarded=False, action=tl.rules["duplicates"])


def _cross_table(ds: Dataset, report: LoadReport) -> None:
    cu = ds.customers
    if cu is not None:
        for col, fill in (("region", "unknown"), ("customer_type", None), ("acquisition_channel", "unknown"),
                          ("acquisition_date", None)):
            if col not in cu.columns:
                cu[col] = fill
                report.add("customers", "column_not_in_source", "info", 0, column=col,
                           detail=f"the source has no {col}; filled with {fill!r}")
    if ds.has("transactions") and cu is not None:
        from toolkit.engine import collect
        log = ds.transaction_log
        if ds.has_money:   # the first purchase, not a return
            log = log.with_columns(nw.when(nw.col("amount") > 0).then(nw.col("date")).alias("date"))
        per_customer = collect(log.group_by("customer_id").agg(nw.col("date").min()), sort=["customer_id"])
        known = set(cu["customer_id"])
        unknown_ids = pd.Index(per_customer["customer_id"]).difference(pd.Index(list(known)))
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
        first = per_customer.dropna().set_index("customer_id")["date"].astype("datetime64[ns]").dt.normalize()
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


def load_dataset(spec: str | os.PathLike | dict | DatasetSpec, tables: list[str] | None = None,
                 engine: "str | EngineSettings | Mapping[str, Any] | None" = None) -> Dataset:
    """Load every table of a dataset spec (or just ``tables``), validated and counted.

    ``engine`` is an engine name or the run settings (:class:`toolkit.engine.EngineSettings`, or
    the ``settings`` mapping a notebook gets: engine, duckdb_threads, duckdb_memory); without
    an engine the spec's ``engine`` applies, else duckdb. The dataset keeps them
    (``ds.settings``, ``ds.engine``) and every aggregation of its transactions runs under them."""
    settings = EngineSettings.of(engine)   # an unknown setting or engine fails before any file is read
    s = load_spec(spec)
    settings = dataset_settings(s, settings)
    prepare_dataset(s)
    report = LoadReport()
    as_of = pd.Timestamp(s.raw["as_of"]) if s.raw.get("as_of") else None
    wanted = [t for t in ORDER if t in s.tables and (tables is None or t in tables
                                                     or any(s.tables[x].derived_from == t for x in tables
                                                            if x in s.tables))]
    loaded: dict[str, pd.DataFrame] = {}
    log: TransactionLog | None = None
    engine = settings.engine
    if engine == "duckdb":
        from toolkit.engine import duckdb_connection
        duckdb_connection(settings)   # the loader's own queries run under the dataset's settings
    for tname in wanted:
        ts, table = s.tables[tname], TABLES[tname]
        if tname == "transactions":   # validated in batches into a Parquet log, never whole in pandas
            derive = "customers" in wanted and s.tables["customers"].derived_from == "transactions"
            log = load_log(ts, report, as_of, engine, s.tables["customers"] if derive else None)
            if as_of is None and log.as_of is not None:
                as_of = pd.Timestamp(log.as_of)
            continue
        tl = TableValidator(ts, table, report, as_of)
        if ts.derived_from:   # customers: one row per customer of the transactions, found by the log
            assert log is not None and log.customers is not None
            tl.file = str(s.tables["transactions"].path)
            derived = pd.read_parquet(log.customers)
            _, opts = mapped_raw(next(read_batches(s.tables["transactions"], 1)).iloc[:0], ts, table)
            report.read(tname, "(one row per customer of transactions)", len(derived), derived=True)
            tl.n_in = len(derived)
            df = tl.convert(derived, {k: v for k, v in opts.items() if k in derived.columns})
        else:
            source = read_source(ts)
            file = str(ts.path)
            report.read(tname, file, len(source))
            tl.n_in = len(source)
            source = apply_filters(source, ts, report, file)
            df = tl.convert(*mapped_raw(source, ts, table))
        if tname == "customers":
            dup = df.duplicated("customer_id", keep="first")
            df = tl.drop(df, dup, "duplicate_ids", "customer_id", "customer listed more than once; first row kept",
                         df.loc[dup, "customer_id"].head(5).tolist(), guarded=False, action="drop")
        elif tname == "surveys":
            df = tl.survey_items(df, source)
            if as_of is not None and "response_date" in df.columns:
                df = tl.drop(df, df["response_date"] > as_of + pd.Timedelta(days=1), "future_dates",
                             "response_date", "after the as-of date", guarded=False, action=tl.rules["future_dates"])
            df = _drop_exact_duplicates(tl, df)
        elif tname == "interactions":
            if as_of is not None:
                df = tl.drop(df, df["date"] > as_of + pd.Timedelta(days=1), "future_dates", "date",
                             "after the as-of date", guarded=False, action=tl.rules["future_dates"])
            df = _drop_exact_duplicates(tl, df)
        elif tname in NETWORK_TABLES:
            df = _drop_exact_duplicates(tl, df)
        loaded[tname] = df
        report.done(tname, len(df))
    if as_of is None:
        as_of = pd.Timestamp.now().normalize()
    ds = Dataset(spec=s, report=report, as_of=as_of)
    ds.settings = settings
    for tname, df in loaded.items():
        setattr(ds, tname, df.drop(columns=[LINE]).reset_index(drop=True))
    if log is not None:
        ds._log_path, ds._log_stats = log.path, {"non_null": log.non_null, "rows": log.rows_out}
        if engine == "pandas":   # the pandas engine holds its rows in pandas anyway
            ds._transactions = read_log(log.path)
    _cross_table(ds, report)
    ds.meta = {k: v for k, v in s.raw.items() if k not in ("tables",)}
    report.check_balance()
    return ds
