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


def test_engine_setting_from_argument_environment_and_spec(monkeypatch, datasets, tmp_path):
    monkeypatch.delenv("CUSTKIT_ENGINE", raising=False)
    assert resolve_engine() == "duckdb" and resolve_engine("Pandas") == "pandas"
    with pytest.raises(ValueError, match="engine must be one of"):
        resolve_engine("polars")
    ds = datasets["cdnow_sample"]
    assert ds.spec.engine is None and ds.engine == "duckdb"
    monkeypatch.setenv("CUSTKIT_ENGINE", "pandas")
    assert ds.engine == "pandas"
    out = rfm_summary(ds.transactions, ds.as_of)
    assert out.attrs["engine"] == "pandas"


def test_a_spec_with_an_unknown_engine_is_refused(project_root, tmp_path):
    from toolkit.data.errors import SpecError
    text = (project_root / "config" / "datasets" / "cdnow_sample.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\nengine: polars\n")
    with pytest.raises(SpecError, match="engine must be one of"):
        load_dataset(bad)
