"""The engines (DuckDB, pandas, Spark local) give the same aggregations on the demo and CDNOW.

Every transaction-level aggregation is written once (toolkit.engine.aggregations); these tests
run each on every engine and compare, check the building blocks (day numbers, period numbers)
against numpy/pandas. (The counted cleaning of a log is tested with the loader, tests/test_log_loading.py.)
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from engine_results import RTOL, assert_same_results

from toolkit.clv import rfm_summary
from toolkit.data.loader import load_dataset
from toolkit.engine import (ENGINES, as_day, cohort_activity, collect, day_number, day_to_date, model_columns,
                            period_number, period_transaction_stats, purchase_features, resolve_engine, scan,
                            segmentation_features, tracking_counts)
from toolkit.kpi.periods import calendar_periods



@pytest.fixture(scope="module")
def datasets(project_root):
    out = {}
    for name in ("demo", "cdnow_sample"):
        ds = load_dataset(project_root / "config" / "datasets" / f"{name}.yaml", tables=["transactions", "customers"])
        out[name] = ds
    return out


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from toolkit.engine import spark_session
    session = spark_session()
    yield session


def _queries(ds):
    """(name, function of a LazyFrame, sort keys) for every aggregation, on this dataset."""
    as_d = as_day(ds.as_of)
    first = ds.transactions["date"].min()
    cal_d = as_day(first + (ds.as_of - first) / 2)
    edges = list(calendar_periods(first, ds.as_of, "Q").edges)
    has_cat = "category" in ds.transactions.columns and ds.transactions["category"].notna().any()
    return [
        ("rfm", lambda lf, reg: rfm_frame_(lf, as_d, cal_d), ["customer_id"]),
        ("kpi", lambda lf, reg: period_transaction_stats(lf, reg, edges, True), ["region", "k"]),
        ("churn", lambda lf, reg: purchase_features(lf, as_d), ["customer_id"]),
        ("segmentation", lambda lf, reg: segmentation_features(lf, as_d, has_cat), ["customer_id"]),
        ("cohorts", lambda lf, reg: cohort_activity(lf, as_d, "Q"), ["cohort", "age"]),
        ("tracking", lambda lf, reg: tracking_counts(lf, cal_d, as_d), ["d"]),
    ]


def rfm_frame_(lf, as_d, cal_d):
    from toolkit.engine import rfm_frame
    return rfm_frame(lf, as_d, cal_d, 7.0, True)


def _inputs(ds):
    extra = ("order_id", "category") if "category" in ds.transactions.columns else ("order_id",)
    tx = model_columns(ds.transactions, extra=extra)
    cu = ds.customers
    if cu is None or "region" not in cu.columns:
        return tx, None
    cu = cu.drop_duplicates("customer_id")
    return tx, pd.DataFrame({"customer_id": cu["customer_id"].to_numpy(),
                             "region": cu["region"].astype(object).fillna("unknown").to_numpy()})


def _run_all(ds, engine):
    tx, regions = _inputs(ds)
    lf = scan(tx, engine)
    reg = scan(regions, engine) if regions is not None else None
    return {name: collect(fn(lf, reg)) for name, fn, _ in _queries(ds)}


@pytest.mark.parametrize("name", ["demo", "cdnow_sample"])
def test_duckdb_and_pandas_agree_on_every_aggregation(datasets, name):
    ds = datasets[name]
    results = {e: _run_all(ds, e) for e in ("duckdb", "pandas")}
    for query, _, keys in _queries(ds):
        assert_same_results({e: results[e][query] for e in results}, keys)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo", "cdnow_sample"])
def test_spark_local_agrees_with_duckdb(datasets, name, spark):
    ds = datasets[name]
    results = {e: _run_all(ds, e) for e in ("duckdb", "spark")}
    for query, _, keys in _queries(ds):
        assert_same_results({e: results[e][query] for e in results}, keys)


@pytest.mark.slow
def test_spark_releases_persisted_intermediates_after_collect(datasets, spark):
    """The KPI query persists what it reads twice; collecting it releases every cached block."""
    from toolkit.engine import core
    ds = datasets["demo"]
    tx, regions = _inputs(ds)
    cached = lambda: spark.sparkContext._jsc.getPersistentRDDs().size()  # noqa: E731
    before = cached()
    query = period_transaction_stats(scan(tx, "spark"), scan(regions, "spark"),
                                     list(calendar_periods(tx["date"].min(), ds.as_of, "Q").edges), True)
    assert len(core._PERSISTED) >= 2          # the clustered log and the orders per customer and period
    out = collect(query, sort=["region", "k"])
    assert len(out) > 0 and core._PERSISTED == [] and cached() == before
    assert out[["region", "k"]].equals(out[["region", "k"]].sort_values(["region", "k"]).reset_index(drop=True))


@pytest.mark.slow
def test_spark_reads_parquet_and_matches_the_published_cdnow_summary(project_root, datasets, spark, tmp_path):
    """Parquet on a path (as on a cluster's shared storage) -> the same summary on all engines; the
    CDNOW summary has the 2,357 customers and 2,457 calibration repeat occasions of the sample."""
    tx = model_columns(datasets["cdnow_sample"].transactions)
    path = tmp_path / "cdnow.parquet"
    tx.to_parquet(path, coerce_timestamps="us")   # Spark reads micro-, not nanosecond timestamps
    out = {e: rfm_summary(path, "1998-06-30", "1997-09-30", "W", engine=e).reset_index() for e in ENGINES}
    assert_same_results(out, ["customer_id"])
    assert len(out["spark"]) == 2357 and out["spark"]["frequency"].sum() == 2457


def test_summary_from_parquet_on_duckdb_equals_summary_from_the_frame(datasets, tmp_path):
    tx = model_columns(datasets["demo"].transactions)
    path = tmp_path / "tx"
    path.mkdir()
    half = len(tx) // 2   # a folder of parquet files is one log
    tx.iloc[:half].to_parquet(path / "part-0.parquet")
    tx.iloc[half:].to_parquet(path / "part-1.parquet")
    a = rfm_summary(tx, "2025-12-31", engine="duckdb")
    b = rfm_summary(path, "2025-12-31", engine="duckdb")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=RTOL, check_index_type=False)
    assert b.attrs["engine"] == "duckdb"


def test_day_number_matches_numpy_across_leap_years_and_before_1970():
    dates = pd.to_datetime(["1899-12-31", "1900-03-01", "1969-12-31", "1970-01-01", "1999-12-31 23:59",
                            "2000-02-29", "2000-03-01", "2024-02-29 12:00", "2100-03-01", "2400-12-31"], format="ISO8601")
    dates = pd.Series(dates).astype("datetime64[us]")
    expected = dates.dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)
    frame = pd.DataFrame({"i": np.arange(len(dates)), "date": dates})
    for engine in ("duckdb", "pandas"):
        got = collect(scan(frame, engine).select("i", day_number("date").alias("d")), sort=["i"])["d"]
        assert got.tolist() == expected.tolist(), engine
    # day_to_date is the inverse, for one day and for a column with a missing day
    assert [day_to_date(d) for d in expected] == dates.dt.normalize().tolist()
    back = day_to_date(pd.Series([*expected[:-1].tolist(), np.nan]))   # columns: nanoseconds, so not 2400
    assert back.iloc[:-1].tolist() == dates.dt.normalize().iloc[:-1].tolist() and pd.isna(back.iloc[-1])
    assert back.dtype == "datetime64[ns]"
    assert as_day(dates).tolist() == expected.tolist()   # as_day of a column, time of day ignored


def test_period_number_matches_periods_index(datasets):
    tx = datasets["demo"].transactions
    per = calendar_periods(tx["date"].min(), datasets["demo"].as_of, "M")
    frame = pd.DataFrame({"i": np.arange(len(tx)), "date": tx["date"].to_numpy()})
    for engine in ("duckdb", "pandas"):
        got = collect(scan(frame, engine).select("i", period_number(day_number("date"), list(per.edges)).alias("k")),
                      sort=["i"])
        assert (got["k"].to_numpy() == per.index(tx["date"])).all(), engine


def test_cohort_activity_counts_a_hand_made_log():
    log = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b", "c"],
        "date": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-03-02", "2024-04-10", "2024-02-01",
                                "2024-02-20", "2024-03-31"]),
        "amount": [10.0, 5.0, 20.0, -4.0, 7.0, 3.0, 9.0]})
    for engine in ("duckdb", "pandas"):
        out = collect(cohort_activity(scan(log, engine), as_day("2024-03-31"), "M"), sort=["cohort", "age"])
        jan, feb, mar = 2024 * 12, 2024 * 12 + 1, 2024 * 12 + 2
        # a: cohort Jan, purchases at ages 0 (one day, two lines) and 2; the April return is after as-of
        # b: cohort Feb, two purchase days at age 0; c: cohort Mar, one at age 0
        assert out[["cohort", "age", "active", "occasions"]].values.tolist() == [
            [jan, 0, 1, 1], [jan, 2, 1, 1], [feb, 0, 1, 2], [mar, 0, 1, 1]], engine
        assert out["revenue"].tolist() == [15.0, 20.0, 10.0, 9.0]


def _tiny_spec(tmp_path, engine: str | None = None):
    import yaml
    (tmp_path / "tx.csv").write_text("cust,day,amt\n" + "".join(f"c{i % 7},2025-0{1 + i % 9}-1{i % 9},{i + 1}.5\n"
                                                                for i in range(60)))
    spec = {"name": "tiny", "as_of": "2025-12-31", "tables": {"transactions": {
        "file": "tx.csv", "columns": {"customer_id": "cust", "date": "day", "amount": "amt"}}}}
    if engine:
        spec["engine"] = engine
    path = tmp_path / f"tiny_{engine or 'none'}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _duckdb_setting(name: str) -> str:
    from toolkit.engine import duckdb_connection
    return str(duckdb_connection().execute(f"SELECT current_setting('{name}')").fetchall()[0][0])


def test_engine_from_the_argument_else_the_spec_else_duckdb_and_never_the_environment(monkeypatch, tmp_path):
    from toolkit.engine import EngineSettings
    monkeypatch.setenv("CUSTKIT_ENGINE", "spark")       # no longer read: settings are arguments
    assert resolve_engine() == "duckdb" and resolve_engine("Pandas") == "pandas"
    assert resolve_engine(EngineSettings(engine="pandas")) == "pandas"
    with pytest.raises(ValueError, match="engine must be one of"):
        resolve_engine("polars")
    plain, on_pandas = _tiny_spec(tmp_path), _tiny_spec(tmp_path, "pandas")
    assert load_dataset(plain).engine == "duckdb"
    assert load_dataset(on_pandas).engine == "pandas"                     # the spec's
    ds = load_dataset(on_pandas, engine="duckdb")                          # the argument over the spec
    assert ds.engine == "duckdb" and ds.settings.engine == "duckdb" and not ds.materialised
    ds = load_dataset(plain, engine={"engine": "pandas", "duckdb_threads": None, "duckdb_memory": None})
    assert ds.engine == "pandas" and ds.materialised                      # the pandas engine holds its rows
    out = rfm_summary(ds.transaction_log, ds.as_of)
    assert out.attrs["engine"] == "pandas"
    assert "engine='pandas'" in repr(ds)


def test_duckdb_threads_and_memory_travel_with_the_dataset(tmp_path):
    from toolkit.engine import DUCKDB_DEFAULTS, collect
    spec = _tiny_spec(tmp_path)
    two = load_dataset(spec, engine={"duckdb_threads": 2, "duckdb_memory": "1GB"})
    assert two.settings.as_dict() == {"engine": "duckdb", "duckdb_threads": 2, "duckdb_memory": "1GB"}
    one = load_dataset(spec)                                                # the defaults: one thread, 2GB
    assert one.settings.duckdb == DUCKDB_DEFAULTS and _duckdb_setting("threads") == "1"
    collect(two.transaction_log.select("customer_id").unique())           # a query of the first dataset ...
    assert _duckdb_setting("threads") == "2"                               # ... runs under its settings
    assert _duckdb_setting("memory_limit").replace(" ", "") in ("1GB", "953.6MiB", "0.9GiB", "1000.0MB", "1.0GB")
    collect(one.transaction_log.select("customer_id").unique())
    assert _duckdb_setting("threads") == "1"


def test_an_unknown_setting_or_engine_is_an_error_naming_the_key(tmp_path):
    from toolkit.engine import EngineSettings
    from toolkit.reports.context import RunSettings, open_report
    spec = _tiny_spec(tmp_path)
    with pytest.raises(ValueError, match=r"unknown run setting\(s\): duckdb_thread \(known: engine, duckdb_threads"):
        load_dataset(spec, engine={"duckdb_thread": 2})
    with pytest.raises(ValueError, match="run setting 'engine' must be one of duckdb, spark, pandas, not 'polars'"):
        load_dataset(spec, engine="polars")
    with pytest.raises(ValueError, match="run setting 'duckdb_threads' must be a positive integer, not '4'"):
        EngineSettings.of({"duckdb_threads": "4"})
    with pytest.raises(ValueError, match="run setting 'duckdb_memory' must be a size"):
        RunSettings.of({"duckdb_memory": 2})
    with pytest.raises(ValueError, match="unknown run setting"):     # a notebook's settings parameter, too
        open_report("t", str(spec), str(tmp_path / "run"), settings={"threads": 1})
    rep = open_report("t", str(spec), str(tmp_path / "run"), settings={"engine": "pandas"})
    assert rep.ds.engine == "pandas" and rep.settings.engine == "pandas"


def test_no_environment_variable_carries_these_settings_in_the_toolkit(project_root):
    import re
    pattern = re.compile(r"CUSTKIT_(ENGINE|DUCKDB_THREADS|DUCKDB_MEMORY)")
    hits = [f"{p.relative_to(project_root)}:{i}" for p in sorted((project_root / "toolkit").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_a_spec_with_an_unknown_engine_is_refused(project_root, tmp_path):
    from toolkit.data.errors import SpecError
    text = (project_root / "config" / "datasets" / "cdnow_sample.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\nengine: polars\n")
    with pytest.raises(SpecError, match="engine must be one of"):
        load_dataset(bad)
