"""Segment migration between two dates on the small demo: a partition at each date, matrices that
add up, revenue of the period, and nothing dated after either date used."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toolkit.segmentation as sg
from toolkit.data import load_dataset
from toolkit.segmentation.config import ConfigError
from toolkit.segmentation.migration import (NOT_YET, check_partition, migration_from_dataset, rule_matches,
                                            segment_migration, segments_at)


@pytest.fixture(scope="module")
def demo(small_demo_spec):
    return load_dataset(small_demo_spec)


@pytest.fixture(scope="module")
def cfg():
    return sg.load_config()


@pytest.fixture(scope="module")
def dates(demo):
    t1 = pd.Timestamp(demo.as_of)
    return t1 - pd.Timedelta(days=182), t1


@pytest.fixture(scope="module")
def mig(demo, dates):
    return migration_from_dataset(demo, *dates)


def test_rule_table_covers_all_125_score_combinations_exactly_once(cfg):
    tab = check_partition(cfg["rfm"]["segments"], 5)
    assert len(tab) == 125 and len(tab[["R", "F", "M"]].drop_duplicates()) == 125
    assert (tab["n_rules"] == 1).all()
    assert set(tab["segment"]) == {r["name"] for r in cfg["rfm"]["segments"]}


def test_overlapping_or_incomplete_rule_tables_are_refused(cfg):
    rules = cfg["rfm"]["segments"]
    with pytest.raises(ConfigError, match="match no rule"):
        check_partition([r for r in rules if r["name"] != "Lost"])
    with pytest.raises(ConfigError, match="several rules"):
        check_partition(rules + [{"name": "Everyone", "r": [1, 5]}])
    assert (rule_matches(rules + [{"name": "Everyone", "r": [1, 5]}])["n_rules"] == 2).all()


def test_every_customer_is_in_exactly_one_segment_at_each_date(mig, demo, dates):
    seg = mig.segments
    known_t1 = sg.customer_features(demo.transactions, demo.customers, dates[1]).index
    assert seg.index.is_unique and set(seg.index) == set(known_t1)
    assert seg[["segment_t0", "segment_t1"]].notna().all().all()
    assert not seg.isin(["Other"]).any().any()
    assert NOT_YET not in set(seg["segment_t1"])
    known_t0 = sg.customer_features(demo.transactions, demo.customers, dates[0]).index
    assert (seg.loc[~seg.index.isin(known_t0), "segment_t0"] == NOT_YET).all()
    assert (seg.loc[seg.index.isin(known_t0), "segment_t0"] != NOT_YET).all()


def test_matrix_sums_to_the_customer_count_and_matches_the_labels(mig):
    c = mig.customers
    assert int(c.to_numpy().sum()) == mig.n_customers == len(mig.segments)
    pd.testing.assert_series_equal(c.sum(axis=1), mig.segments["segment_t0"].value_counts().reindex(c.index),
                                   check_names=False)
    t1 = mig.segments["segment_t1"].value_counts()
    assert (c.sum(axis=0).loc[t1.index] == t1).all() and c.sum(axis=0).sum() == t1.sum()
    assert mig.table["customers"].sum() == mig.n_customers
    shares = mig.table.groupby("segment_t0")["share_of_t0"].sum()
    np.testing.assert_allclose(shares, 1.0)
    summ = mig.summary()
    assert summ["customers_t0"].sum() == summ["customers_t1"].sum() == mig.n_customers


def test_revenue_is_the_net_revenue_between_the_dates(mig, demo, dates):
    t0, t1 = dates
    tx = demo.transactions
    period = tx.loc[(tx["date"] >= t0 + pd.Timedelta(days=1))
                    & (tx["date"] < t1 + pd.Timedelta(days=1))]
    assert mig.revenue.to_numpy().sum() == pytest.approx(period["amount"].sum())
    assert mig.table["revenue"].sum() == pytest.approx(period["amount"].sum())
    assert "after t0 up to and including t1" in mig.revenue_basis
    # customers first seen after t0 bring only period revenue: all of their history is in it
    new = mig.segments.loc[mig.segments["segment_t0"] == NOT_YET]
    hist = tx.loc[tx["customer_id"].isin(new.index)].groupby("customer_id")["amount"].sum()
    np.testing.assert_allclose(new["period_revenue"].reindex(hist.index), hist)


def test_segments_use_nothing_after_each_date(demo, dates, cfg):
    t0, t1 = dates
    rules = cfg["rfm"]["segments"]
    early = segments_at(demo.transactions.loc[demo.transactions["date"] < t0 + pd.Timedelta(days=1)],
                        demo.customers, t0, rules)
    full = segments_at(demo.transactions, demo.customers, t0, rules)
    pd.testing.assert_series_equal(early["rfm_segment"], full["rfm_segment"])
    # transactions after t1 change nothing in the migration either
    cut = demo.transactions.loc[demo.transactions["date"] < t1 + pd.Timedelta(days=1)]
    earlier = segment_migration(cut, demo.customers, t0 - pd.Timedelta(days=91), t1 - pd.Timedelta(days=91))
    later = segment_migration(demo.transactions, demo.customers, t0 - pd.Timedelta(days=91),
                              t1 - pd.Timedelta(days=91))
    pd.testing.assert_frame_equal(earlier.customers, later.customers)
    pd.testing.assert_frame_equal(earlier.revenue, later.revenue)


def test_dates_must_be_ordered(demo, dates):
    with pytest.raises(ValueError, match="before"):
        migration_from_dataset(demo, dates[1], dates[0])
