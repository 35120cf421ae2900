"""Direct tests of kpi.Metric, kpi.Periods, kpi.churn_basis and kpi.survey_scale (issue #19, item 6).

Expected values are read off the tiny inputs by hand: period numbers by placing each date between the
period edges written in the test, CSAT top-2 counts by counting answers in the top two scale points.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from toolkit.data import load_dataset
from toolkit.kpi import METRICS, Metric, Periods, calendar_periods, churn_basis, period_stats, survey_scale


# ------------------------------------------------------------------------------------------------ Metric
def test_metric_defaults_and_frozen():
    m = Metric("x", "Some metric", "units", "count")
    assert (m.better, m.test) == ("", "")          # descriptive by default: no direction, no test
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.name = "y"                                 # type: ignore[misc]
    assert m == Metric("x", "Some metric", "units", "count")   # value semantics


def test_metric_registry_is_keyed_by_name_and_directions_make_sense():
    assert all(k == m.name for k, m in METRICS.items())
    # by the module's definitions: losing customers and paying more per customer are bad
    assert METRICS["churn_rate"].better == "lower" and METRICS["cac"].better == "lower"
    assert METRICS["retention_rate"].better == "higher" and METRICS["churn_rate"].kind == "proportion"
    # the starting base is descriptive: no direction and no test
    assert METRICS["customers"].better == "" and METRICS["customers"].test == ""
    assert {m.kind for m in METRICS.values()} <= {"count", "total", "proportion", "mean", "ratio", "nps", "cac",
                                                  "derived"}


# ----------------------------------------------------------------------------------------------- Periods
@pytest.fixture
def quarters() -> Periods:
    edges = pd.DatetimeIndex(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"])
    return Periods(edges, ("2024Q1", "2024Q2", "2024Q3"), "Q")


def test_periods_starts_ends_len_and_frame(quarters):
    assert len(quarters) == 3
    assert list(quarters.starts) == list(pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"]))
    # last day of each period, inclusive: the day before the next edge
    assert list(quarters.ends) == list(pd.to_datetime(["2024-03-31", "2024-06-30", "2024-09-30"]))
    f = quarters.frame()
    assert f.columns.tolist() == ["period", "period_start", "period_end"]
    assert f["period"].tolist() == ["2024Q1", "2024Q2", "2024Q3"]
    assert f["period_end"].iloc[1] == pd.Timestamp("2024-06-30")


def test_periods_index_boundaries_missing_and_outside(quarters):
    dates = pd.Series([pd.Timestamp(d) if d else pd.NaT for d in [
        "2023-12-31",            # before the first edge -> -1
        "2024-01-01",            # first day of Q1 -> 0 (interval is [start, next start))
        "2024-03-31 23:59",      # still Q1 -> 0
        "2024-04-01",            # first day of Q2 -> 1
        "2024-09-30",            # last day of Q3 -> 2
        "2024-10-01",            # on the end edge -> len = 3
        "2030-01-01",            # far after -> 3
        None,                    # missing -> -2
    ]], dtype="datetime64[ns]")
    got = quarters.index(dates)
    assert got.tolist() == [-1, 0, 0, 1, 2, 3, 3, -2]
    assert got.dtype == np.int64


def test_periods_index_of_empty_series_and_ties(quarters):
    assert quarters.index(pd.Series([], dtype="datetime64[ns]")).tolist() == []
    same = pd.Series(pd.to_datetime(["2024-05-05"] * 3))
    assert quarters.index(same).tolist() == [1, 1, 1]


def test_periods_without_any_period():
    # calendar_periods with no complete quarter yet: an empty Periods whose single edge is the first day
    p = calendar_periods(pd.Timestamp("2024-05-10"), pd.Timestamp("2024-05-20"), "Q")
    assert len(p) == 0 and p.labels == ()
    assert list(p.edges) == [pd.Timestamp("2024-05-10")]
    # before the first day -> -1; on or after it -> len (= 0); missing -> -2
    got = p.index(pd.Series(pd.to_datetime(["2024-05-09", "2024-05-10", None])))
    assert got.tolist() == [-1, 0, -2]
    assert p.frame().empty


def test_calendar_periods_builds_consecutive_quarters():
    # 2024-02-15 .. 2024-07-10: Q1 and Q2 complete, Q3 partial (dropped unless include_partial)
    p = calendar_periods(pd.Timestamp("2024-02-15"), pd.Timestamp("2024-07-10"), "Q")
    assert p.labels == ("2024Q1", "2024Q2")
    assert list(p.edges) == list(pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"]))
    part = calendar_periods(pd.Timestamp("2024-02-15"), pd.Timestamp("2024-07-10"), "Q", include_partial=True)
    assert part.labels == ("2024Q1", "2024Q2", "2024Q3")
    assert part.edges[-1] == pd.Timestamp("2024-07-11")          # the day after as_of closes the partial period
    assert part.ends[-1] == pd.Timestamp("2024-07-10")


# ------------------------------------------------------------------------------- churn_basis, survey_scale
CUSTOMERS = """customer_id,region,acquisition_date,churn_date
c1,A,2024-01-05,
c2,A,2024-02-10,2024-05-03
c3,B,2024-03-01,
"""
TRANSACTIONS = """customer_id,order_id,date,amount
c1,o1,2024-02-01,10
c2,o2,2024-03-01,20
c3,o3,2024-04-01,30
"""
SURVEYS = """customer_id,response_date,overall_satisfaction
c1,2024-04-10,5
c2,2024-04-11,4
c3,2024-04-12,4
c1,2024-05-10,3
c2,2024-05-11,1
c3,2024-05-12,
"""


def _dataset(tmp_path, churn_date: bool = True, scale=None, surveys: bool = True):
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "transactions.csv").write_text(TRANSACTIONS)
    (tmp_path / "surveys.csv").write_text(SURVEYS)
    cols = lambda *c: {k: k for k in c}  # noqa: E731
    cu = ["customer_id", "region", "acquisition_date"] + (["churn_date"] if churn_date else [])
    tables = {
        "transactions": {"file": "transactions.csv", "columns": cols("customer_id", "order_id", "date", "amount")},
        "customers": {"file": "customers.csv", "columns": cols(*cu)},
    }
    if surveys:
        tables["surveys"] = {"file": "surveys.csv",
                             "columns": cols("customer_id", "response_date", "overall_satisfaction")}
        if scale is not None:
            tables["surveys"]["scale"] = scale
    spec = {"name": "t", "currency": "EUR", "as_of": "2024-06-30", "base": str(tmp_path), "tables": tables}
    return load_dataset(spec)


def test_churn_basis_contractual_with_churn_dates(tmp_path):
    assert churn_basis(_dataset(tmp_path, churn_date=True)) == "contractual"


def test_churn_basis_activity_without_churn_dates(tmp_path):
    assert churn_basis(_dataset(tmp_path, churn_date=False)) == "activity"


def test_churn_basis_edge_cases():
    # no customers table at all
    assert churn_basis(SimpleNamespace(customers=None)) == "activity"
    # a churn-date column where nobody has churned yet still makes the data contractual (everyone censored)
    cu = pd.DataFrame({"customer_id": ["a", "b"], "acquisition_date": pd.to_datetime(["2024-01-01", None]),
                       "churn_date": pd.to_datetime([None, None])})
    assert churn_basis(SimpleNamespace(customers=cu)) == "contractual"
    # churn dates but no acquisition date anywhere: no base can be formed, so the activity basis
    cu2 = cu.assign(acquisition_date=pd.NaT)
    assert churn_basis(SimpleNamespace(customers=cu2)) == "activity"
    # an empty customers table
    assert churn_basis(SimpleNamespace(customers=cu.iloc[0:0])) == "activity"


def test_survey_scale_from_spec_and_default(tmp_path):
    for sub in ("a", "b", "c"):
        (tmp_path / sub).mkdir()
    assert survey_scale(_dataset(tmp_path / "a", scale=[1, 7])) == (1.0, 7.0)
    got = survey_scale(_dataset(tmp_path / "b"))
    assert got == (1.0, 5.0) and all(isinstance(v, float) for v in got)        # the documented default
    assert survey_scale(_dataset(tmp_path / "c", surveys=False)) == (1.0, 5.0)   # no surveys table


def test_survey_scale_drives_the_csat_top_two_box(tmp_path):
    # Q2 2024 answers: 5, 4, 4, 3, 1 and a missing one (5 answered). The top two points of the scale count:
    # 1-5 -> {4, 5}: 3 of 5; 1-6 -> {5, 6}: 1 of 5; 1-7 -> {6, 7}: 0 of 5 (counted by hand).
    q2 = Periods(pd.DatetimeIndex(["2024-04-01", "2024-07-01"]), ("2024Q2",), "Q")
    for sub, scale, top2 in (("five", None, 3), ("six", [1, 6], 1), ("seven", [1, 7], 0)):
        (tmp_path / sub).mkdir()
        st = period_stats(_dataset(tmp_path / sub, scale=scale), q2)
        tot = st[["csat_n", "csat_top2"]].sum()
        assert (tot["csat_n"], tot["csat_top2"]) == (5, top2), sub
