"""The reports read a dataset's transactions through its engine and never into pandas.

A log-backed dataset is simulated from the demo: its cleaned transactions are written to a
Parquet file (rows shuffled, with the loader's line numbers) and the dataset is pointed at that
file. Every converted report-level function runs on it (DuckDB), must leave ``ds.materialised``
False and must give what it gives on the ordinary pandas-backed dataset; where the function used
to compute in pandas, the old pandas computation is the reference as well. Functions taking a
transactions frame are checked to give the same result for a pandas frame and a LazyFrame, and
the new engine queries to agree on DuckDB, pandas and Spark.
"""
from __future__ import annotations

import copy
import json

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from engine_results import RTOL, assert_same_results

from toolkit import churn as ch
from toolkit.data import quality as dq
from toolkit import segmentation as sg
from toolkit.clv import BetaGeo, rfm_summary
from toolkit.clv import occasions as cr
from toolkit.clv.valuation.business import formula_cltv
from toolkit.clv.valuation.cashflow import customer_margin
from toolkit.clv.evaluation.holdout import tracking_series
from toolkit.data import load_dataset
from toolkit.data.readers import LINE
from toolkit.engine import as_log, collect, transaction_log, transaction_totals
from toolkit.segmentation.migration import migration_from_dataset, segment_migration



@pytest.fixture(scope="module")
def pandas_ds(project_root):
    """The demo with its transactions held in pandas."""
    ds = load_dataset(project_root / "config" / "datasets" / "demo.yaml")
    assert ds.transactions is not None and ds.materialised
    return ds


@pytest.fixture(scope="module")
def log_file(pandas_ds, tmp_path_factory):
    tx = pandas_ds.transactions
    path = tmp_path_factory.mktemp("log") / "log.parquet"
    # an engine writes the log in no particular order; the line numbers give the source's order
    tx.assign(**{LINE: np.arange(len(tx))}).sample(frac=1.0, random_state=0).to_parquet(path, index=False)
    return path


def log_backed(ds, path):
    """A copy of ``ds`` whose transactions live only in the Parquet file ``path``."""
    out = copy.copy(ds)
    ds_tx = ds.transactions
    out._log_path = path
    out._transactions = None
    out._log_stats = {"non_null": {c: int(ds_tx[c].notna().sum()) for c in ds_tx.columns}}
    assert not out.materialised
    return out


@pytest.fixture
def log_ds(pandas_ds, log_file):
    return log_backed(pandas_ds, log_file)


def both(log_ds, pandas_ds, f):
    """``f`` on the log-backed dataset (which it must not materialise) and on the pandas-backed one."""
    got = f(log_ds)
    assert log_ds.materialised is False
    return got, f(pandas_ds)


# ------------------------------------------------------------------------------ data quality
def _old_overview(ds) -> pd.DataFrame:
    rows = []
    for name, df in ds.tables.items():
        dcol = dq.DATE_COLUMNS.get(name)
        dates = df[dcol] if dcol in df.columns else pd.Series(dtype="datetime64[ns]")
        rows.append({"table": name, "rows": len(df), "columns": df.shape[1],
                     "customers": df["customer_id"].nunique() if "customer_id" in df.columns else np.nan,
                     "first date": dates.min().date() if dates.notna().any() else None,
                     "last date": dates.max().date() if dates.notna().any() else None})
    return pd.DataFrame(rows).set_index("table")


def _old_missingness(ds) -> pd.DataFrame:
    rows = [{"table": name, "column": col, "missing": int(df[col].isna().sum()),
             "share missing": int(df[col].isna().sum()) / len(df)}
            for name, df in ds.tables.items() for col in df.columns if df[col].isna().any()]
    return pd.DataFrame(rows, columns=["table", "column", "missing", "share missing"])


def test_data_quality_tables_come_from_the_engine(log_ds, pandas_ds):
    tx = pandas_ds.transactions
    got, pd_got = both(log_ds, pandas_ds, dq.table_overview)
    pd.testing.assert_frame_equal(got, pd_got)
    pd.testing.assert_frame_equal(got, _old_overview(pandas_ds))

    got, pd_got = both(log_ds, pandas_ds, dq.missingness)
    pd.testing.assert_frame_equal(got, pd_got)
    pd.testing.assert_frame_equal(got, _old_missingness(pandas_ds))

    got, pd_got = both(log_ds, pandas_ds, dq.monthly_activity)
    old = tx.groupby(tx["date"].dt.to_period("M").dt.to_timestamp()).agg(
        orders=("order_id", "nunique"), customers=("customer_id", "nunique"), revenue=("amount", "sum"))
    old.index.name = "month"
    pd.testing.assert_frame_equal(got, pd_got, rtol=RTOL)
    pd.testing.assert_frame_equal(got, old, rtol=RTOL)

    got, pd_got = both(log_ds, pandas_ds, dq.amount_summary)
    amt = tx["amount"]
    assert got["median"] == pd_got["median"] == amt.median()
    assert got["p99"] == pd_got["p99"] == amt.quantile(0.99)
    assert got["negative_rows"] == int((amt < 0).sum())
    assert got["negative_value"] == pytest.approx(amt[amt < 0].sum(), rel=RTOL)

    got, _ = both(log_ds, pandas_ds, lambda ds: transaction_totals(transaction_log(ds)))
    assert (got["rows"], got["customers"], got["first_date"], got["last_date"], got["outlier_rows"]) == (
        len(tx), tx["customer_id"].nunique(), tx["date"].min(), tx["date"].max(), int(tx["is_outlier"].sum()))


def test_amount_histogram_is_counted_like_numpy(log_ds, pandas_ds):
    import matplotlib.pyplot as plt

    fig, pd_fig = both(log_ds, pandas_ds, dq.plot_amounts)
    amt = pandas_ds.transactions["amount"]
    pos = amt[amt > 0]
    old, ax = plt.subplots()   # the bars as the old code drew them, from every row in pandas
    ax.hist(pos, bins=np.logspace(np.log10(max(pos.min(), 0.01)), np.log10(pos.max()), 60))
    want = [(b.get_x(), b.get_width(), b.get_height()) for b in ax.patches]
    assert len(want) == 59 and sum(h for _, _, h in want) > 0.99 * len(pos)
    for f in (fig, pd_fig):
        assert [(b.get_x(), b.get_width(), b.get_height()) for b in f.axes[0].patches] == want
        plt.close(f)
    plt.close(old)


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_quantiles_are_exact_however_many_passes_they_take(engine, monkeypatch):
    import toolkit.engine.aggregations as agg

    monkeypatch.setattr(agg, "_EXACT_ROWS", 25)   # force the narrowing passes
    rng = np.random.default_rng(7)
    samples = [rng.lognormal(3, 2, 1001), rng.integers(0, 4, 2000).astype(float),
               np.concatenate([rng.normal(0, 1e-9, 700), rng.normal(1e6, 1, 600), [np.nan] * 5]), np.array([2.5])]
    qs = [0.0, 0.01, 0.25, 0.5, 0.99, 0.999, 1.0]
    for x in samples:
        s = pd.Series(x)
        lf = as_log(pd.DataFrame({"customer_id": "a", "date": pd.Timestamp("2024-01-01"), "amount": x}), engine)
        assert agg.quantiles(lf, qs) == [s.quantile(q) for q in qs]
        assert agg.median(lf) == s.median()


# ------------------------------------------------------------------------------------ churn
def _old_purchases(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    tx = tx.loc[(tx["date"] < as_of + pd.Timedelta(days=1)) & (tx["amount"] > 0), ["customer_id", "date"]]
    g = tx.groupby("customer_id")["date"]
    return pd.DataFrame({"first": g.min().dt.normalize(), "last": g.max().dt.normalize()})


def _old_value(ds, tx: pd.DataFrame, end: pd.Series | None, months: int = 12) -> pd.Series:
    as_of = pd.Timestamp(ds.as_of).normalize()
    cu = ch.customer_table(ds)
    stop = (end.reindex(cu.index) if end is not None else pd.Series(as_of, index=cu.index)).fillna(as_of)
    s = tx["customer_id"].map(stop.clip(upper=as_of))
    span = pd.Timedelta(days=int(round(months * 30.4375)))
    inside = (tx["date"] < s + pd.Timedelta(days=1)) & (tx["date"] >= s - span + pd.Timedelta(days=1))
    return tx.loc[inside].groupby("customer_id")["amount"].sum().reindex(cu.index).fillna(0.0).clip(lower=0)


def test_churn_labels_features_and_value(log_ds, pandas_ds):
    tx = pandas_ds.transactions
    cut = pd.Timestamp(pandas_ds.as_of) - pd.Timedelta(days=200)
    got, pd_got = both(log_ds, pandas_ds, lambda d: ch.labels._purchases(d, cut))
    pd.testing.assert_frame_equal(got, pd_got)
    pd.testing.assert_frame_equal(got, _old_purchases(tx, cut))
    for definition in ("explicit", "inactivity", "p_alive"):
        got, pd_got = both(log_ds, pandas_ds, lambda d: ch.churn_labels(d, definition, as_of=cut))
        pd.testing.assert_frame_equal(got, pd_got, rtol=RTOL)
    got, pd_got = both(log_ds, pandas_ds, lambda d: ch.window_labels(d, cut, 90, "inactivity"))
    pd.testing.assert_series_equal(got, pd_got)
    got, pd_got = both(log_ds, pandas_ds, lambda d: ch.build_features(d, as_of=cut))
    pd.testing.assert_frame_equal(got, pd_got, rtol=RTOL)

    churn_end = pandas_ds.customers.set_index("customer_id")["churn_date"]
    for end in (None, churn_end):
        got, pd_got = both(log_ds, pandas_ds, lambda d: ch.customer_value(d, end=end))
        pd.testing.assert_series_equal(got, pd_got, rtol=RTOL)
        pd.testing.assert_series_equal(got, _old_value(pandas_ds, tx, end).rename("value"), rtol=RTOL)


def test_churn_without_a_customer_table_uses_first_purchases(log_ds, pandas_ds):
    tx = pandas_ds.transactions
    pandas_ds = copy.copy(pandas_ds)   # the module's dataset keeps its customers
    for d in (log_ds, pandas_ds):
        d.customers = None
    got, pd_got = both(log_ds, pandas_ds, ch.customer_table)
    first = tx.loc[tx["amount"] > 0].groupby("customer_id")["date"].min().dt.normalize()
    old = pd.DataFrame({"region": "unknown", "acquisition_date": first.astype("datetime64[ns]")})
    pd.testing.assert_frame_equal(got, pd_got)
    pd.testing.assert_frame_equal(got, old)
    got, pd_got = both(log_ds, pandas_ds, lambda d: ch.churn_labels(d, "inactivity"))
    pd.testing.assert_frame_equal(got, pd_got)


# ------------------------------------------------------------------------------ KPI, SWOT
def test_kpi_scorecard_and_swot_evidence(log_ds, pandas_ds):
    from toolkit.kpi.scorecard import _first_date, build_scorecard
    from toolkit.swot.build import _active_ids, collect_evidence

    tx = pandas_ds.transactions
    got, _ = both(log_ds, pandas_ds, _first_date)
    assert got == tx["date"].min()
    got, pd_got = both(log_ds, pandas_ds, lambda d: build_scorecard(d, n_boot=50))
    pd.testing.assert_frame_equal(got.table, pd_got.table, rtol=RTOL)
    pd.testing.assert_frame_equal(got.stats, pd_got.stats, rtol=RTOL)
    assert got.notes == pd_got.notes

    bounds = (pd.Timestamp("2025-07-01"), pd.Timestamp("2026-06-30"))
    got, pd_got = both(log_ds, pandas_ds, lambda d: _active_ids(d, bounds))
    sel = tx["date"].between(bounds[0], bounds[1] + pd.Timedelta(days=1), inclusive="left") & (tx["amount"] > 0)
    pd.testing.assert_series_equal(got, pd_got)
    assert sorted(got) == sorted(tx.loc[sel, "customer_id"].unique())

    segment = pandas_ds.customers.set_index("customer_id")["customer_type"]
    got, pd_got = both(log_ds, pandas_ds,
                       lambda d: collect_evidence(d, build_scorecard(d, n_boot=50).table, segment=segment)[0])
    pd.testing.assert_frame_equal(got, pd_got, rtol=RTOL)
    assert (got["metric"] == "segment_growth").any()


# ----------------------------------------------------------------------------- segmentation
def _old_period_revenue(tx: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp) -> pd.Series:
    sel = (tx["date"] >= t0 + pd.Timedelta(days=1)) & (tx["date"] < t1 + pd.Timedelta(days=1))
    return tx.loc[sel].groupby("customer_id")["amount"].sum()


def test_segmentation_of_a_dataset(log_ds, pandas_ds):
    got, pd_got = both(log_ds, pandas_ds, sg.features_from_dataset)
    pd.testing.assert_frame_equal(got, pd_got, rtol=RTOL)
    ref = sg.customer_features(pandas_ds.transactions, pandas_ds.customers, pandas_ds.as_of)
    pd.testing.assert_frame_equal(got, ref, rtol=RTOL)

    got, pd_got = both(log_ds, pandas_ds, lambda d: sg.segment_dataset(d, k_range=[2, 3], n_bootstrap=2))
    for part in ("features", "scores", "customers", "categories", "personas"):
        pd.testing.assert_frame_equal(getattr(got, part), getattr(pd_got, part), rtol=RTOL)
    old_cats = sg.category_revenue(pandas_ds.transactions, pandas_ds.as_of)
    pd.testing.assert_frame_equal(got.categories, old_cats, rtol=RTOL)

    t0 = pd.Timestamp("2025-12-31")
    got, pd_got = both(log_ds, pandas_ds, lambda d: migration_from_dataset(d, t0))
    for part in ("segments", "customers", "revenue", "table"):
        pd.testing.assert_frame_equal(getattr(got, part), getattr(pd_got, part), rtol=RTOL)
    old = _old_period_revenue(pandas_ds.transactions, t0, pd.Timestamp(pandas_ds.as_of))
    np.testing.assert_allclose(got.segments["period_revenue"], old.reindex(got.segments.index).fillna(0.0),
                               rtol=RTOL, atol=1e-9)


def test_frame_functions_give_the_same_for_a_lazyframe(pandas_ds):
    """Public functions taking transactions: the old pandas code on a frame, the engine on a LazyFrame."""
    tx, cu, as_of = pandas_ds.transactions, pandas_ds.customers, pandas_ds.as_of
    lazy = as_log(tx)
    feats = sg.customer_features(tx, cu, as_of)
    checks = [
        lambda t: sg.customer_features(t, cu, as_of, exclude_outliers=True),
        lambda t: sg.customer_features(t, None),
        lambda t: sg.category_revenue(t, "2025-06-30"),
        lambda t: sg.cohort_revenue(t, feats["first_purchase"], as_of),
        lambda t: sg.cohort_revenue(t, feats["first_purchase"], "2026-03-15", period="M", cohort="M"),
        lambda t: sg.cohort_revenue(t, feats["first_purchase"], None, period="Y"),
        lambda t: formula_cltv(t, 3.0),
        lambda t: formula_cltv(t, {"North": 2.0, "East": 4.0}, period="M", by="region", customers=cu.iloc[:15000]),
        lambda t: formula_cltv(t.drop(columns="order_id") if isinstance(t, pd.DataFrame) else t.drop("order_id"), 3.0),
    ]
    for f in checks:
        pd.testing.assert_frame_equal(f(lazy), f(tx), rtol=RTOL)
    for end in (None, "2025-12-31"):
        pd.testing.assert_series_equal(cr.first_purchase_amount(lazy, end), cr.first_purchase_amount(tx, end),
                                       rtol=RTOL)
    mig = [segment_migration(t, cu, "2025-09-30", as_of, exclude_outliers=True) for t in (lazy, tx)]
    for part in ("segments", "customers", "revenue", "table"):
        pd.testing.assert_frame_equal(getattr(mig[0], part), getattr(mig[1], part), rtol=RTOL)

    ids = feats.index
    margins = {"Equipment": 0.5, "Software": 0.6}
    a, b = customer_margin(ids, 0.3, lazy, margins), customer_margin(ids, 0.3, tx, margins)
    pd.testing.assert_series_equal(a[0], b[0], rtol=RTOL)
    assert a[1] == b[1] and "categories without a margin" in a[1]
    with_margin = tx.assign(row_margin=np.where(tx["quantity"] > 1, 0.45, np.nan))
    a = customer_margin(ids, 0.3, as_log(with_margin), margin_column="row_margin")
    b = customer_margin(ids, 0.3, with_margin, margin_column="row_margin")
    pd.testing.assert_series_equal(a[0], b[0], rtol=RTOL)
    assert a[1] == b[1]

    lazy_log, pd_log = cr.purchase_occasions(lazy), cr.purchase_occasions(tx)
    for key in ("rows_in", "return_rows", "return_only_days", "notes"):
        assert getattr(lazy_log, key) == getattr(pd_log, key)
    for key in ("return_only_value", "net_value"):
        assert getattr(lazy_log, key) == pytest.approx(getattr(pd_log, key), rel=RTOL)
    assert pd_log.return_only_days > 0
    keys = ["customer_id", "date", "order_id", "product", "amount"]
    kept = collect(lazy_log.transactions).sort_values(keys).reset_index(drop=True)
    ref = pd_log.transactions.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[list(ref.columns)], ref, check_dtype=False)


def test_the_clv_report_sequence_on_a_log(log_ds, pandas_ds):
    """What the CLV notebook does with the transactions, on the log and on the pandas frame."""
    obs = pd.Timestamp(pandas_ds.as_of).normalize()
    cal = obs - pd.Timedelta(days=182)

    def run(ds):
        log = cr.purchase_occasions(ds.transaction_log if ds is log_ds else ds.transactions)
        tx = cr.purchases_until(log.transactions, obs)
        totals = transaction_totals(tx)
        rfm_cal = rfm_summary(tx, obs, cal, "W")
        model = BetaGeo().fit(rfm_cal)
        track = tracking_series(tx, {"BG/NBD": model}, cal, obs)
        first = cr.first_purchase_amount(tx, cal)
        margin = customer_margin(rfm_cal.index, 0.3, tx, {"Equipment": 0.5})[0]
        return log, totals, rfm_cal, track, first, margin

    got, old = both(log_ds, pandas_ds, run)
    assert got[0].return_only_days == old[0].return_only_days and got[0].rows_in == old[0].rows_in
    assert got[1]["rows"] == len(old[0].transactions) and got[1]["first_date"] == old[0].transactions["date"].min()
    assert got[1]["outlier_rows"] == int(old[0].transactions["is_outlier"].sum())
    pd.testing.assert_frame_equal(got[2], old[2], rtol=RTOL)
    pd.testing.assert_frame_equal(got[3], old[3], rtol=RTOL)
    pd.testing.assert_series_equal(got[4], old[4], rtol=RTOL)
    pd.testing.assert_series_equal(got[5], old[5], rtol=RTOL)


# ------------------------------------------------------------------------------ the engines
def _queries(ds):
    from toolkit import engine as E

    tx = ds.transactions
    as_d = E.as_day(ds.as_of)
    bounds = pd.DataFrame({"customer_id": tx["customer_id"].unique()[:500]})
    bounds = bounds.assign(first_d=as_d - 400, last_d=as_d - 30)
    cohorts = pd.DataFrame({"customer_id": bounds["customer_id"], "cohort": "c" + (bounds.index % 3).astype(str)})
    groups = ds.customers[["customer_id", "region"]].iloc[:12000]
    rates = pd.DataFrame({"_category": ["Equipment", "Software"], "_rate": [0.5, 0.6]})

    def margin(lf, scan):
        rows = lf.with_columns(nw.col("category").alias("_category")).join(scan(rates), on="_category", how="left")
        return E.weighted_rate(rows, nw.col("_rate").fill_null(0.3))

    return [
        ("totals", lambda lf, scan: E.log_totals(lf), ["rows"]),
        ("nulls", lambda lf, scan: E.null_counts(lf), ["rows"]),
        ("months", lambda lf, scan: E.activity_by_month(lf), ["month"]),
        ("purchase_dates", lambda lf, scan: E.purchase_dates(lf, as_d - 100), ["customer_id"]),
        ("net_revenue", lambda lf, scan: E.net_revenue(lf, as_d - 200, as_d), ["customer_id"]),
        ("net_revenue_bounds", lambda lf, scan: E.net_revenue(lf, bounds=scan(bounds)), ["customer_id"]),
        ("purchasers", lambda lf, scan: E.purchasers(lf, as_d - 90, as_d), ["customer_id"]),
        ("categories", lambda lf, scan: E.category_amounts(lf, as_d - 10), ["customer_id", "category"]),
        ("cohorts", lambda lf, scan: E.period_cohort_revenue(lf, scan(cohorts), "Q", as_d), ["period", "cohort"]),
        ("first_day", lambda lf, scan: E.first_day_amount(lf, as_d - 300), ["customer_id"]),
        ("margin", margin, ["customer_id"]),
        ("orders", lambda lf, scan: E.order_groups(lf, scan(groups), "region"), ["region"]),
        ("occasions", lambda lf, scan: E.occasion_counts(lf), ["rows_in"]),
        ("return_days", lambda lf, scan: E.return_only_days(lf), ["customer_id", "_occ_day"]),
        ("kept", lambda lf, scan: E.drop_customer_days(lf, E.return_only_days(lf)).select(
            nw.len().alias("n"), nw.col("amount").sum()), ["n"]),
        ("bounds", lambda lf, scan: E.date_bounds(lf), ["first"]),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("other", ["pandas", "spark"])
def test_the_report_queries_agree_on_every_engine(pandas_ds, other):
    from toolkit.engine import has_values, histogram, median, quantiles, scan

    if other == "spark":  # reported as a skip with its reason, never silently left out of the comparison
        pytest.importorskip("pyspark", reason="pyspark is not installed: the Spark engine is not compared")
    engines = ["duckdb", other]
    tx = pandas_ds.transactions
    logs = {e: as_log(tx, e) for e in engines}
    for name, query, keys in _queries(pandas_ds):
        frames = {e: collect(query(lf, lambda frame, e=e: scan(frame, e))) for e, lf in logs.items()}
        assert_same_results(frames, keys, name)
    edges = np.logspace(0, 5, 40)
    amt = tx["amount"]
    for e, lf in logs.items():
        np.testing.assert_array_equal(histogram(lf, edges), np.histogram(amt, edges)[0], err_msg=e)
        assert quantiles(lf, [0.5, 0.99]) == [amt.quantile(0.5), amt.quantile(0.99)], e
        assert median(lf) == amt.median(), e
        assert has_values(lf, "category") and not has_values(lf.filter(nw.col("amount") > 1e12), "category"), e
        assert not has_values(lf, "no_such_column"), e


# -------------------------------------------------------------------------------- notebooks
NOTEBOOKS = ["00_data_quality", "01_segmentation", "02_kpi_scorecard", "03_clv", "04_churn", "06_swot"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_code_never_reads_the_rows_into_pandas(name, small_demo_spec, project_root, tmp_path,
                                                        monkeypatch):
    """Each report's code, run in this process on a log-backed small demo, leaves it unmaterialised."""
    import matplotlib
    import matplotlib.pyplot as plt
    import nbformat

    import toolkit.data
    from toolkit.data import loader

    matplotlib.use("Agg")
    loaded = []

    def load_log_backed(spec, tables=None, **options):
        ds = loader.load_dataset(spec, tables, **options)
        if ds.materialised and ds.has("transactions"):   # a loader that keeps the rows in pandas
            ds = log_backed(ds, _write_log(ds, tmp_path / f"log{len(loaded)}.parquet"))
        loaded.append(ds)
        return ds

    monkeypatch.setattr(toolkit.data, "load_dataset", load_log_backed)
    monkeypatch.chdir(project_root)
    nb = nbformat.read(project_root / "notebooks" / f"{name}.ipynb", as_version=4)
    run_dir = tmp_path / "run"
    if name == "06_swot":   # the SWOT report reads what the KPI report published
        _exec_notebook(nbformat.read(project_root / "notebooks" / "02_kpi_scorecard.ipynb", as_version=4),
                       small_demo_spec, run_dir)
    _exec_notebook(nb, small_demo_spec, run_dir)
    plt.close("all")
    assert loaded and all(d.materialised is False for d in loaded if d.has("transactions"))


def _write_log(ds, path):
    tx = ds.transactions
    tx.assign(**{LINE: np.arange(len(tx))}).sample(frac=1.0, random_state=1).to_parquet(path, index=False)
    return path


def _exec_notebook(nb, spec, run_dir) -> None:
    params = f"dataset = {json.dumps(str(spec))}\nrun_dir = {json.dumps(str(run_dir))}\nprivacy = True\n"
    namespace: dict = {"__name__": "__notebook__"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        exec(compile(cell.source, "<cell>", "exec"), namespace)
        if "parameters" in cell.metadata.get("tags", []):
            exec(params, namespace)
