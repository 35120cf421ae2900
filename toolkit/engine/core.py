"""Engines that execute the toolkit's transaction-level aggregations: DuckDB, Spark and pandas.

Every aggregation over transaction rows is written once as a narwhals lazy query
(:mod:`toolkit.engine.aggregations`) and runs on whichever engine holds the rows:

* ``duckdb`` (default) — an embedded DuckDB reads Parquet/CSV files directly, or scans a pandas
  frame in place, and spills to disk beyond ``memory_limit``; only per-customer and per-group
  results come back to pandas;
* ``spark`` — a SparkSession (``local[2]`` unless ``CUSTKIT_SPARK_MASTER`` or the run config
  names a cluster) reads the same files, e.g. Parquet on a shared path or object store;
* ``pandas`` — the rows are held in pandas and narwhals runs the query with pandas operations
  (small data, and the reference the other engines are tested against).

The engine is chosen by the ``engine=`` argument of each function (a name or an
:class:`EngineSettings`), which the loader fills from the run settings it is given
(``load_dataset(spec, engine=...)``: a run config's ``engine``, passed to every notebook as its
``settings`` parameter) or else the dataset spec's ``engine``; the default is ``duckdb``.
DuckDB's threads and memory cap are settings too (``duckdb_threads``, ``duckdb_memory``), carried
by the dataset that was loaded with them. Nothing here reads or writes environment variables
for these settings.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

__all__ = ["DUCKDB_DEFAULTS", "ENGINES", "EngineSettings", "cluster", "collect", "day_number", "day_to_date", "duckdb_connection", "engine_of", "model_columns",
           "period_number",
           "resolve_engine", "reuse", "scan", "spark_session"]

ENGINES = ("duckdb", "spark", "pandas")
_DAYS_BEFORE_1970 = 477  # 1969 // 4 - 1969 // 100 + 1969 // 400: leap days before 1970


#: DuckDB's settings when none are given: one thread (parallel float sums differ between runs in
#: the last bits, and a rerun must give identical numbers) and a 2GB memory cap, beyond which it
#: spills to a temporary directory.
DUCKDB_DEFAULTS = {"threads": 1, "memory_limit": "2GB"}
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_SETTING_KEYS = ("engine", "duckdb_threads", "duckdb_memory")


@dataclass(frozen=True)
class EngineSettings:
    """How transaction aggregations run: the engine (None: the dataset spec's, else duckdb) and
    DuckDB's threads and memory cap (None: :data:`DUCKDB_DEFAULTS`).

    These are a run's settings (``engine``, ``duckdb_threads``, ``duckdb_memory`` in the run
    config), passed to every notebook as the ``settings`` parameter and from there to
    ``load_dataset(spec, engine=settings)``; the dataset carries them to every query it runs."""

    engine: str | None = None
    duckdb_threads: int | None = None
    duckdb_memory: str | None = None

    def __post_init__(self) -> None:
        if self.engine is not None:
            if not isinstance(self.engine, str) or self.engine.strip().lower() not in ENGINES:
                raise ValueError(f"run setting 'engine' must be one of {', '.join(ENGINES)}, not {self.engine!r}")
            object.__setattr__(self, "engine", self.engine.strip().lower())
        t = self.duckdb_threads
        if t is not None and (isinstance(t, bool) or not isinstance(t, int) or t < 1):
            raise ValueError(f"run setting 'duckdb_threads' must be a positive integer, not {t!r}")
        m = self.duckdb_memory
        if m is not None and (not isinstance(m, str) or not _MEMORY.match(m)):
            raise ValueError(f"run setting 'duckdb_memory' must be a size such as '2GB' or '512MB', not {m!r}")

    @classmethod
    def of(cls, settings: "EngineSettings | Mapping[str, Any] | str | None") -> "EngineSettings":
        """Settings from a mapping (the notebook parameter), an engine name, or None (defaults);
        an unknown key is an error naming it."""
        if settings is None:
            return cls()
        if isinstance(settings, EngineSettings):
            return settings
        if isinstance(settings, str):
            return cls(engine=settings)
        if not isinstance(settings, Mapping):
            raise TypeError(f"run settings must be a mapping with keys {', '.join(_SETTING_KEYS)}, "
                            f"not {type(settings).__name__}")
        unknown = sorted(set(map(str, settings)) - set(_SETTING_KEYS))
        if unknown:
            raise ValueError(f"unknown run setting(s): {', '.join(unknown)} (known: {', '.join(_SETTING_KEYS)})")
        return cls(**dict(settings))

    def with_engine(self, engine: str | None) -> "EngineSettings":
        """These settings with ``engine`` filled in where none is set (e.g. the dataset spec's)."""
        return self if self.engine is not None or engine is None else replace(self, engine=engine)

    @property
    def duckdb(self) -> dict[str, Any]:
        """DuckDB's configuration under these settings (the defaults where unset)."""
        return {"threads": self.duckdb_threads or DUCKDB_DEFAULTS["threads"],
                "memory_limit": self.duckdb_memory or DUCKDB_DEFAULTS["memory_limit"]}

    def as_dict(self) -> dict[str, Any]:
        """The settings as the ``settings`` notebook parameter holds them."""
        return {"engine": self.engine, "duckdb_threads": self.duckdb_threads, "duckdb_memory": self.duckdb_memory}


def resolve_engine(engine: "str | EngineSettings | None" = None) -> str:
    """The engine to use: ``engine`` (a name, or the engine of :class:`EngineSettings`), else ``duckdb``."""
    if isinstance(engine, EngineSettings):
        engine = engine.engine
    name = (engine or "duckdb").strip().lower()
    if name not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return name


# ------------------------------------------------------------------------------ sessions
_CON = None
_CON_SETTINGS: dict[str, Any] = {}


def duckdb_connection(settings: "EngineSettings | Mapping[str, Any] | None" = None):
    """The process's DuckDB connection, created on first use with ``settings``' threads and
    memory cap (:data:`DUCKDB_DEFAULTS` where unset).

    Given ``settings`` on a later call, the connection is switched to them (``SET threads``,
    ``SET memory_limit``): a dataset applies its own before each query, so its settings hold
    for its aggregations. Without ``settings`` the connection is returned as it is."""
    global _CON
    import duckdb
    wanted = EngineSettings.of(settings).duckdb if settings is not None else None
    if _CON is None:
        config = {**(wanted or DUCKDB_DEFAULTS), "preserve_insertion_order": False}
        _CON = duckdb.connect(config=config)
        _CON_SETTINGS.update(wanted or DUCKDB_DEFAULTS)
        try:   # no progress bar on terminals; inside Jupyter DuckDB refuses the setting (no ipywidgets)
            _CON.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            pass
    elif wanted is not None and wanted != _CON_SETTINGS:
        cur = _CON.cursor()   # database-wide settings; a cursor is not blocked by a caller's unfinished result
        cur.execute(f"SET threads = {int(wanted['threads'])}")
        cur.execute(f"SET memory_limit = '{wanted['memory_limit']}'")
        cur.close()
        _CON_SETTINGS.clear()
        _CON_SETTINGS.update(wanted)
    return _CON


def spark_session(master: str | None = None, conf: dict[str, str] | None = None):
    """A SparkSession: ``master`` (else ``$CUSTKIT_SPARK_MASTER``, else ``local[2]``) plus ``conf``.

    Local sessions bind to 127.0.0.1. Arrow transfers and a UTC session time zone are always set
    so that dates mean the same calendar day on every engine. Local sessions print no console
    progress bars (they would fill logs and notebook outputs) and give the driver JVM, which
    does all the work in local mode, ``$CUSTKIT_SPARK_MEMORY`` (default 4g) of heap instead of
    Spark's 1g, under which the 1e7-row benchmark spent a third of its time collecting garbage,
    and 32 shuffle partitions (adaptive execution merges small ones; with 8, the 1e8-row
    benchmark ran out of execution memory).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)   # Python workers run in this environment
    from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is not None and master is None and not conf:
        return active
    master = master or os.environ.get("CUSTKIT_SPARK_MASTER") or "local[2]"
    builder = SparkSession.builder.master(master).appName("custkit")
    settings = {"spark.sql.session.timeZone": "UTC",
                "spark.sql.execution.arrow.pyspark.enabled": "true",
                "spark.ui.enabled": "false",
                "spark.sql.shuffle.partitions": "32" if master.startswith("local") else "200"}
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings.update({"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1",
                         "spark.ui.showConsoleProgress": "false",
                         "spark.driver.memory": os.environ.get("CUSTKIT_SPARK_MEMORY", "4g")})
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


# ---------------------------------------------------------------------------------- frames
def engine_of(frame: Any) -> str | None:
    """The engine a native frame or narwhals LazyFrame lives on (None for anything else)."""
    if isinstance(frame, nw.LazyFrame):
        frame = frame.to_native()
    module = type(frame).__module__
    if module.startswith("duckdb") or module.startswith("_duckdb"):
        return "duckdb"
    if module.startswith("pyspark"):
        return "spark"
    if isinstance(frame, pd.DataFrame):
        return "pandas"
    return None


def _paths(source: str | os.PathLike | Sequence) -> list[str]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    out = []
    for item in items:
        p = Path(item)
        if not any(ch in str(p) for ch in "*?[") and not p.exists():
            raise FileNotFoundError(f"no such file or folder: {p}")
        out.append(str(p / "*.parquet") if p.is_dir() else str(p))
    return out


def _is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq", "*.parquet"))


def scan(source: Any, engine: "str | EngineSettings | None" = None,
         columns: Sequence[str] | None = None) -> nw.LazyFrame:
    """A narwhals LazyFrame over ``source`` on ``engine``.

    ``source`` is a pandas DataFrame, a Parquet/CSV path (a folder means its ``*.parquet``
    files; globs allowed), a list of such paths, a DuckDB relation, a Spark DataFrame or a
    narwhals LazyFrame. Native frames and LazyFrames (a LazyFrame over pandas, too: it is on the
    pandas engine) stay on their own engine unless ``engine`` names another; a pandas DataFrame
    goes to ``engine``, by default duckdb. ``engine`` is an engine name or :class:`EngineSettings`,
    whose DuckDB threads and memory cap then apply to the process's DuckDB connection.
    """
    settings = engine if isinstance(engine, EngineSettings) else None
    if settings is not None:
        engine = settings.engine
    lazy = isinstance(source, nw.LazyFrame)
    if lazy:
        source = source.to_native()
    native_engine = engine_of(source)
    name = resolve_engine(engine if engine is not None else
                          (native_engine if native_engine not in (None, "pandas") or lazy else None))
    if name == "duckdb" and settings is not None:
        duckdb_connection(settings)
    if native_engine == "duckdb" and name != "duckdb":
        source = source.df()
    elif native_engine == "spark" and name != "spark":
        source = source.toPandas()
    if isinstance(source, pd.DataFrame):
        frame = source if columns is None else source[list(columns)]
        if name == "pandas":
            return nw.from_native(frame, eager_only=True).lazy()
        if name == "duckdb":
            return nw.from_native(duckdb_connection().from_df(frame))
        return nw.from_native(spark_session().createDataFrame(_spark_ready(frame)))
    if native_engine in ("duckdb", "spark"):
        lf = nw.from_native(source)
        return lf if columns is None else lf.select(*columns)
    paths = _paths(source)
    parquet = all(_is_parquet(p) for p in paths)
    if name == "duckdb":
        con = duckdb_connection()
        rel = con.read_parquet(paths) if parquet else con.read_csv(paths)
        lf = nw.from_native(rel)
    elif name == "spark":
        spark = spark_session()
        reader = spark.read
        lf = nw.from_native(reader.parquet(*paths) if parquet else
                            reader.option("header", True).option("inferSchema", True).csv(paths))
    else:
        import glob
        files = [f for p in paths for f in (sorted(glob.glob(p)) or [p])]
        read = (lambda f: pd.read_parquet(f, columns=list(columns) if columns else None)) if parquet else \
            (lambda f: pd.read_csv(f, usecols=list(columns) if columns else None))
        frame = pd.concat([read(f) for f in files], ignore_index=True)
        for c in frame.columns:   # Parquet DATE columns arrive as Python dates
            values = frame[c].dropna() if frame[c].dtype == object else ()
            if len(values) and isinstance(values.iloc[0], date):
                frame[c] = pd.to_datetime(frame[c])
        return nw.from_native(frame, eager_only=True).lazy()
    return lf if columns is None else lf.select(*columns)


def model_columns(frame: pd.DataFrame, customer_id_col: str = "customer_id", date_col: str = "date",
                  amount_col: str = "amount", extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """``frame``'s id, date and amount columns under the model's names, dates as naive datetimes
    (aware timestamps keep their local calendar day), ready for an engine."""
    missing = {customer_id_col, date_col, amount_col, *extra} - set(frame.columns)
    if missing:
        raise KeyError(f"transactions lack columns {sorted(missing)}")
    dates = pd.to_datetime(frame[date_col])
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    out = {"customer_id": frame[customer_id_col], "date": dates, "amount": frame[amount_col].astype(float)}
    out.update({c: frame[c] for c in extra})
    return pd.DataFrame(out, index=frame.index)


def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas -> Spark: nullable extension dtypes and categoricals as plain numpy/object columns."""
    out = {}
    for c in frame.columns:
        s = frame[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            out[c] = s.astype(object).where(s.notna(), None)
        elif isinstance(s.dtype, pd.DatetimeTZDtype):
            out[c] = s.dt.tz_localize(None)
        elif pd.api.types.is_extension_array_dtype(s.dtype) and s.dtype.kind in "iub":
            out[c] = s.astype("float64") if s.isna().any() else s.astype(s.dtype.numpy_dtype)
        else:
            out[c] = s
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def cluster(lf: nw.LazyFrame, by: Sequence[str] = ("customer_id",)) -> nw.LazyFrame:
    """Co-locate rows with equal ``by`` values before a chain of group-bys, windows and joins
    keyed on them (e.g. per order, then per customer).

    On Spark this is one hash repartition by ``by``, after which every later step keyed on a
    superset of ``by`` runs without a further shuffle (the 1e7-row order aggregation of the KPI
    query went from 7.3 s to 2.7 s); DuckDB and pandas plan this themselves and are unchanged."""
    native = lf.to_native()
    if engine_of(native) == "spark":
        return nw.from_native(native.repartition(*by))
    return lf


def reuse(lf: nw.LazyFrame) -> nw.LazyFrame:
    """Mark an intermediate result that a query reads more than once.

    Spark would otherwise recompute it (re-reading the log) for every use, so it is persisted in
    memory and on disk until the next :func:`collect` has run (without it the 1e7-row KPI query
    took 8x longer); DuckDB and pandas need nothing."""
    native = lf.to_native()
    if engine_of(native) == "spark":
        from pyspark import StorageLevel
        native = native.persist(StorageLevel.MEMORY_AND_DISK)
        _PERSISTED.append(native)
        return nw.from_native(native)
    return lf


_PERSISTED: list = []   # Spark frames persisted by reuse(), released after the next collect()


def collect(lf: nw.LazyFrame, sort: Sequence[str] | None = None) -> pd.DataFrame:
    """Run ``lf`` and return a pandas DataFrame (sorted by ``sort`` for a deterministic order).

    The result is sorted in pandas, after collection: results are per customer or per group, and
    a sort inside Spark samples the whole query to plan its ranges, running it twice (5.5 s of
    a 13.7 s summary at 1e7 rows). Spark intermediates persisted by :func:`reuse` are released
    afterwards: a query built but not yet collected would recompute them, which costs time but
    never changes a result."""
    try:
        out = lf.collect(backend="pandas").to_native()
    finally:
        while _PERSISTED:
            _PERSISTED.pop().unpersist()
    if sort:
        out = out.sort_values(list(sort), kind="stable")
    out = out.reset_index(drop=True)
    out.columns.name = None
    return out


# ---------------------------------------------------------------------------- expressions
def day_number(column: str | nw.Expr) -> nw.Expr:
    """Days since 1970-01-01 of a date or timestamp column, as Int64 (time of day ignored).

    Computed from the calendar year and day of year with integer arithmetic, which every
    engine evaluates identically (no engine-specific date functions).
    """
    col = nw.col(column) if isinstance(column, str) else column
    year_before = col.dt.year() - 1   # integers on every engine (floats with NaN for pandas NaT)
    return (365 * (year_before - 1969) + year_before // 4 - year_before // 100 + year_before // 400
            - _DAYS_BEFORE_1970 + col.dt.ordinal_day() - 1)


def as_day(value: Any) -> Any:
    """Days since 1970-01-01 of a date-like value (time of day ignored), or of each value of a
    Series of dates as an int64 array (the inverse of :func:`day_to_date`)."""
    if isinstance(value, pd.Series):
        dates = pd.to_datetime(value)
        if dates.isna().any():
            raise ValueError(f"not a date: {value[dates.isna()].iloc[0]!r}")
        return (dates.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.int64)
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    return (ts.date() - date(1970, 1, 1)).days


def day_to_date(days: Any) -> Any:
    """The inverse of :func:`as_day` and :func:`day_number`: a day number as a Timestamp, or a
    Series of them as datetime64[ns] values (missing days stay missing)."""
    if pd.api.types.is_scalar(days):
        return pd.Timestamp(np.datetime64(int(days), "D"))
    return (pd.Timestamp("1970-01-01") + pd.to_timedelta(days, unit="D")).astype("datetime64[ns]")


def period_number(day: str | nw.Expr, edges: Sequence[Any]) -> nw.Expr:
    """Period of each day given sorted period ``edges`` (dates): 0 for [e0, e1), ...; -1 before
    the first edge and ``len(edges) - 1`` on or after the last (a sum of comparisons: no join)."""
    d = nw.col(day) if isinstance(day, str) else day
    expr = nw.lit(-1, nw.Int64)
    for e in edges:
        expr = expr + (d >= as_day(e)).cast(nw.Int64)
    return expr
