"""rfm_summary: occasions, durations, holdout, inputs."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from toolkit.clv import TIME_UNITS, rfm_summary


@pytest.fixture()
def log() -> pd.DataFrame:
    rows = [
        ("a", "2020-01-01", 10.0), ("a", "2020-01-01", 5.0),    # one occasion of 15
        ("a", "2020-01-15", 20.0), ("a", "2020-01-29", -4.0),   # a return counts as an occasion
        ("a", "2020-01-29", 30.0), ("a", "2020-03-01", 7.0),    # 2020-03-01 is holdout
        ("b", "2020-01-08", 12.0),                              # one-time buyer
        ("c", "2020-02-20", 9.0),                               # first purchase after calibration
        ("d", "2020-01-10 13:45", 3.0), ("d", "2020-01-10 08:00", 4.0),  # times of day: one day
        ("d", "2020-05-01", 99.0),                              # after observation end: ignored
    ]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"], format="ISO8601"))


def test_occasions_recency_T_and_monetary(log):
    s = rfm_summary(log, "2020-03-31", "2020-01-31", time_unit="D")
    assert list(s.index) == ["a", "b", "d"]                    # c first bought after calibration
    a = s.loc["a"]
    assert a.frequency == 2 and a.recency == 28 and a["T"] == 30
    assert a.monetary_value == pytest.approx((20 + 26) / 2)    # repeat occasions only, same day summed
    assert a.frequency_holdout == 1 and a.monetary_value_holdout == 7 and a.duration_holdout == 60
    b = s.loc["b"]
    assert b.frequency == 0 and b.recency == 0 and b.monetary_value == 0 and b.frequency_holdout == 0
    d = s.loc["d"]
    assert d.frequency == 0 and d["T"] == 21 and d.frequency_holdout == 0   # 2020-05-01 is after the end
    assert s.attrs["time_unit"] == "D" and s.attrs["calibration_end"] == "2020-01-31"


@pytest.mark.parametrize("unit", sorted(TIME_UNITS))
def test_time_units_are_day_counts_divided_by_unit_length(log, unit):
    days = rfm_summary(log, "2020-03-31", "2020-01-31", time_unit="D")
    s = rfm_summary(log, "2020-03-31", "2020-01-31", time_unit=unit)
    np.testing.assert_allclose(s[["recency", "T", "duration_holdout"]].to_numpy(),
                               days[["recency", "T", "duration_holdout"]].to_numpy() / TIME_UNITS[unit])
    assert TIME_UNITS["W"] == 7 and TIME_UNITS["M"] == 30.4375


def test_without_calibration_end_everything_is_calibration(log):
    s = rfm_summary(log, "2020-03-31")
    assert "frequency_holdout" not in s.columns
    assert s.loc["a"].frequency == 3 and s.loc["c"]["T"] == pytest.approx(40 / 7)


def test_path_relation_and_custom_columns(log, tmp_path):
    ref = rfm_summary(log, "2020-03-31", "2020-01-31")
    p = tmp_path / "tx.parquet"
    log.to_parquet(p)
    pd.testing.assert_frame_equal(rfm_summary(p, "2020-03-31", "2020-01-31"), ref)
    c = tmp_path / "tx.csv"
    log.to_csv(c, index=False)
    pd.testing.assert_frame_equal(rfm_summary(c, "2020-03-31", "2020-01-31"), ref)
    rel = duckdb.sql("SELECT * FROM log")
    pd.testing.assert_frame_equal(rfm_summary(rel, "2020-03-31", "2020-01-31"), ref)
    renamed = log.rename(columns={"customer_id": "cid", "date": "ts", "amount": "net"})
    got = rfm_summary(renamed, "2020-03-31", "2020-01-31", customer_id_col="cid", date_col="ts", amount_col="net")
    pd.testing.assert_frame_equal(got, ref)


def test_bad_arguments(log):
    with pytest.raises(ValueError, match="calibration_end"):
        rfm_summary(log, "2020-01-01", "2020-02-01")
    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(log, "2020-03-31", time_unit="H")
    with pytest.raises(KeyError, match="lack columns"):
        rfm_summary(log.drop(columns="amount"), "2020-03-31")


def test_matches_a_pandas_reference_on_random_logs():
    rng = np.random.default_rng(3)
    n = 5000
    tx = pd.DataFrame({"customer_id": rng.integers(0, 400, n),
                       "date": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
                       "amount": rng.normal(20, 10, n).round(2)})
    got = rfm_summary(tx, "2021-10-01", "2021-06-30", time_unit="W")
    occ = tx.groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    cal = occ[occ.date <= "2021-06-30"].sort_values(["customer_id", "date"])
    g = cal.groupby("customer_id")
    first = g.date.min()
    ref = pd.DataFrame({"frequency": g.size() - 1.0,
                        "recency": (g.date.max() - first).dt.days / 7,
                        "T": (pd.Timestamp("2021-06-30") - first).dt.days / 7})
    rep_sum = g.amount.sum() - g.amount.first()
    ref["monetary_value"] = np.where(ref.frequency > 0, rep_sum / ref.frequency.clip(lower=1), 0.0)
    hold = occ[(occ.date > "2021-06-30") & (occ.date <= "2021-10-01")].groupby("customer_id").amount
    ref["frequency_holdout"] = hold.size().reindex(ref.index, fill_value=0).astype(float)
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_names=False, check_exact=False)


@pytest.mark.parametrize("ids", ["int", "str"])
def test_in_memory_kernel_equals_the_engine_queries(ids, monkeypatch, tmp_path):
    """Frames and Parquet files of up to IN_MEMORY_ROWS rows are summarised by the numpy kernel
    (rfm_arrays); the DuckDB and pandas queries must give the same frame (index, dtypes, values),
    with missing ids and dates, returns, same-day lines and times of day in the log."""
    from toolkit.clv import summary as summary_module
    rng = np.random.default_rng(11)
    n = 20000
    cid = rng.integers(0, 900, n)
    tx = pd.DataFrame({"customer_id": cid if ids == "int" else pd.Series([f"c{i:04d}" for i in cid], dtype="str"),
                       "date": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 400 * 24, n), "h"),
                       "amount": rng.normal(20, 15, n).round(2)})
    tx.loc[rng.choice(n, 30, replace=False), "date"] = pd.NaT
    if ids == "str":
        tx.loc[rng.choice(n, 30, replace=False), "customer_id"] = None
    args = ("2022-01-31", "2021-09-30")
    kernel = rfm_summary(tx, *args)
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    from_path = rfm_summary(path, *args)
    monkeypatch.setattr(summary_module, "IN_MEMORY_ROWS", -1)
    query = rfm_summary(duckdb.from_df(tx), *args)
    reference = rfm_summary(tx, *args, engine="pandas")
    for other in (from_path, query, reference):
        pd.testing.assert_frame_equal(kernel, other, check_exact=False, rtol=1e-12)
    for c in ("frequency", "recency", "T", "frequency_holdout", "duration_holdout"):
        assert (kernel[c] == query[c]).all()
