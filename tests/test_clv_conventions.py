"""rfm_summary's conventions for comparing with other libraries (issue #18 items 3 and 4).

The expected figures are counted by hand on tiny logs (calendar weeks Monday-Sunday, calendar
months, day counts) and, for lifetimes' documented behaviour (``summary_data_from_transaction_data``
and ``calibration_and_holdout_data`` with ``freq="W"`` or ``"M"``: dates become pandas periods,
durations are differences of periods, an occasion is a customer-period), recomputed independently
here with pandas periods. Every engine, and the in-memory kernel as well as the DuckDB query,
must agree.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import rfm_summary
from toolkit.clv import summary as summary_module

# 2024-01-01 is a Monday: weeks are [01-01, 01-07], [01-08, 01-14], [01-15, 01-21], [01-22, 01-28], [01-29, 02-04]
ROWS = [
    ("a", "2024-01-01", 10.0), ("a", "2024-01-03", 5.0), ("a", "2024-01-07 23:00", 1.0),   # week 0: one occasion of 16
    ("a", "2024-01-08", 20.0),                                                            # week 1
    ("a", "2024-01-26", 30.0),                                                            # week 3
    ("b", "2024-01-28", 7.0),                                                             # a Sunday, week 3
    ("c", "2024-01-29", 4.0), ("c", "2024-01-31", -4.0),                                  # week 4, nets to 0
]
OBS = "2024-01-31"      # a Wednesday, week 4


@pytest.fixture()
def log() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"], format="ISO8601"))


@pytest.fixture(params=["kernel", "duckdb query", "pandas"])
def run(request, monkeypatch):
    """rfm_summary through the in-memory kernel, the DuckDB query and the pandas engine."""
    if request.param == "duckdb query":
        monkeypatch.setattr(summary_module, "IN_MEMORY_ROWS", -1)
    engine = "pandas" if request.param == "pandas" else None

    def go(log, *args, **kwargs):
        if request.param == "duckdb query":   # a relation: the kernel is only skipped for paths/relations
            import duckdb
            log = duckdb.from_df(log)
        return rfm_summary(log, *args, engine=engine, **kwargs)
    return go


def test_calendar_weeks_counted_by_hand(log, run):
    s = run(log, OBS, time_unit="W", periods="calendar")
    a, b, c = s.loc["a"], s.loc["b"], s.loc["c"]
    # a: occasions in weeks 0, 1, 3 -> 2 repeats, recency 3 weeks, age 4 weeks (week 4 - week 0)
    assert (a.frequency, a.recency, a["T"]) == (2, 3, 4)
    assert a.monetary_value == pytest.approx((20 + 30) / 2)
    # b: one Sunday purchase in week 3: T is one calendar week although only three days passed
    assert (b.frequency, b.recency, b["T"], b.monetary_value) == (0, 0, 1, 0)
    # c: a purchase and its return in one week are one occasion
    assert (c.frequency, c["T"]) == (0, 0)
    assert s.attrs["periods"] == "calendar"


def test_default_is_days_divided_by_seven(log, run):
    s = run(log, OBS, time_unit="W")
    a = s.loc["a"]
    assert a.frequency == 4 and a.recency == pytest.approx(25 / 7) and a["T"] == pytest.approx(30 / 7)
    assert s.loc["b"]["T"] == pytest.approx(3 / 7)
    assert "periods" not in s.attrs


def _lifetimes_like(log: pd.DataFrame, obs: str, cal: str | None, freq: str) -> pd.DataFrame:
    """lifetimes' documented period convention, recomputed with pandas periods: dates -> periods
    of ``freq`` (weeks W-SUN, i.e. Monday-Sunday), one occasion per customer-period, amounts summed
    per period, durations as differences of periods; with ``cal``, holdout periods from the rows
    after it. Checked once against lifetimes 0.11.3 itself on this log with date-only timestamps:
    for weeks every calibration column, frequency_holdout and duration_holdout are equal; lifetimes
    differs in two places kept out of this reference: its holdout monetary value is the mean of
    rows (here and in custkit, of occasions), and for "M" it divides days between month starts by
    30.436875 (up to 0.05 month from the calendar count used here)."""
    tx = log.copy()
    tx["p"] = tx["date"].dt.to_period(freq)
    end = pd.Timestamp(cal or obs).to_period(freq)
    ordinal = lambda per: per.apply(lambda v: v.ordinal) if isinstance(per, pd.Series) else per.ordinal  # noqa: E731
    cal_rows = tx[tx["date"] <= pd.Timestamp(cal or obs) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")]
    occ = cal_rows.groupby(["customer_id", "p"])["amount"].sum().reset_index()
    occ["o"] = ordinal(occ["p"])
    g = occ.sort_values(["customer_id", "o"]).groupby("customer_id")
    first = g["o"].min()
    out = pd.DataFrame({"frequency": g.size() - 1.0, "recency": (g["o"].max() - first).astype(float),
                        "T": (ordinal(end) - first).astype(float)})
    rep = g["amount"].sum() - g["amount"].first()
    out["monetary_value"] = np.where(out["frequency"] > 0, rep / out["frequency"].clip(lower=1), 0.0)
    if cal is not None:
        hold = tx[(tx["date"] > pd.Timestamp(cal) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"))
                  & (tx["date"] < pd.Timestamp(obs) + pd.Timedelta(days=1))]
        h = hold.groupby(["customer_id", "p"])["amount"].sum().groupby("customer_id")
        out["frequency_holdout"] = h.size().reindex(out.index, fill_value=0).astype(float)
        out["monetary_value_holdout"] = (h.sum() / h.size()).reindex(out.index, fill_value=0.0)
        out["duration_holdout"] = float(ordinal(pd.Timestamp(obs).to_period(freq)) - ordinal(end))
    return out


@pytest.mark.parametrize("freq", ["W", "M"])
def test_calendar_periods_match_lifetimes_documented_behaviour_on_a_random_log(run, freq):
    rng = np.random.default_rng(7)
    n = 3000
    log = pd.DataFrame({"customer_id": rng.integers(0, 120, n),
                        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500 * 24, n), "h"),
                        "amount": rng.normal(20, 10, n).round(2)})
    obs, cal = "2024-05-14", "2023-11-08"   # both mid-week and mid-month: their periods split
    got = run(log, obs, cal, time_unit=freq, periods="calendar")
    ref = _lifetimes_like(log, obs, cal, freq)
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_names=False, check_exact=False, rtol=1e-12)


def test_a_week_split_by_the_calibration_end(run):
    # calibration ends on Wednesday 2024-01-10 (week 1); the same week's Thursday and Friday are holdout
    log = pd.DataFrame({"customer_id": ["d"] * 5,
                        "date": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-11", "2024-01-12", "2024-01-15"]),
                        "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    s = run(log, "2024-01-21", "2024-01-10", time_unit="W", periods="calendar").loc["d"]
    assert (s.frequency, s.recency, s["T"]) == (1, 1, 1)
    assert (s.frequency_holdout, s.duration_holdout) == (2, 1)          # weeks 1 (Thu + Fri) and 2
    assert s.monetary_value_holdout == pytest.approx((3 + 4 + 5) / 2)


def test_calendar_months_and_the_30_day_month(run):
    log = pd.DataFrame({"customer_id": ["c"] * 4,
                        "date": pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-29", "2024-04-15"]),
                        "amount": [1.0, 2.0, 3.0, 4.0]})
    cal = run(log, "2024-05-10", time_unit="M", periods="calendar").loc["c"]
    assert (cal.frequency, cal.recency, cal["T"]) == (2, 3, 4)          # Jan, Feb, Apr; May - Jan
    assert cal.monetary_value == pytest.approx((2 + 3 + 4) / 2)        # February's two days are one occasion
    days = run(log, "2024-05-10", time_unit="M").loc["c"]
    thirty = run(log, "2024-05-10", time_unit="M", month_days=30).loc["c"]
    # 2024-01-31 -> 2024-04-15 is 75 days, -> 2024-05-10 is 100 days
    assert days.recency == pytest.approx(75 / 30.4375) and days["T"] == pytest.approx(100 / 30.4375)
    assert thirty.recency == pytest.approx(75 / 30) and thirty["T"] == pytest.approx(100 / 30)
    assert thirty.frequency == days.frequency == 3


def test_end_of_day_age_counts_the_last_day(log, run):
    s = run(log, OBS, "2024-01-28", time_unit="D", age="end_of_day")
    d = run(log, OBS, "2024-01-28", time_unit="D")
    # a: first day 2024-01-01, calibration end 2024-01-28: 27 days elapsed, 28 at the end of that day
    assert d.loc["a"]["T"] == 27 and s.loc["a"]["T"] == 28
    assert s.loc["b"]["T"] == 1 and d.loc["b"]["T"] == 0               # bought on the calibration end day
    pd.testing.assert_series_equal(s["recency"], d["recency"])
    pd.testing.assert_series_equal(s["duration_holdout"], d["duration_holdout"])
    assert s.attrs["age"] == "end_of_day"


def test_bad_convention_arguments(log):
    with pytest.raises(ValueError, match="periods"):
        rfm_summary(log, OBS, periods="fiscal")
    with pytest.raises(ValueError, match="age"):
        rfm_summary(log, OBS, age="start")
    with pytest.raises(ValueError, match="month_days"):
        rfm_summary(log, OBS, time_unit="W", month_days=30)
    with pytest.raises(ValueError, match="month_days"):
        rfm_summary(log, OBS, time_unit="M", periods="calendar", month_days=30)
