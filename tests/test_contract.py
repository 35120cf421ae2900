"""The typed contract between reports (toolkit/contract.py, issue 16 item 3): a renamed, missing or
malformed shared result is a clear error naming the result, the column and the producing report, or an
explicit "not available" that names the report; never a silent None."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import contract
from toolkit.contract import SHARED, ContractError, ResultUnavailable
from toolkit.privacy import pseudonym
from toolkit.results import ResultNotFound, RunResults
from toolkit.segmentation import published_clv
from toolkit.survey import segment_source

BASELINE = Path(__file__).resolve().parent / "data" / "published_baseline"


class _Dataset:
    """The two attributes segment_source reads."""

    def __init__(self, customers: pd.DataFrame):
        self.customers = customers


def _segments(ids) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pseudonym(pd.Series(ids)), "rfm_segment": ["Champions", "Lost", "Loyal"],
                         "value_tier": ["high", "low", "mid"], "persona": ["A", "B", "C"]})


IDS = ["c1", "c2", "c3"]
CUSTOMERS = pd.DataFrame({"customer_id": IDS, "customer_type": ["retail", "retail", "b2b"]})


# ------------------------------------------------------------------------------ the entries themselves
def test_every_entry_names_a_known_producer_and_kinds():
    for spec in SHARED.values():
        assert spec.producer in contract.REPORTS, spec.name
        assert spec.kind in ("table", "metrics"), spec.name
        kinds = contract.TABLE_KINDS if spec.kind == "table" else contract.METRIC_KINDS
        for kind in {**spec.columns, **spec.optional, **spec.keys, **spec.keys_if_available}.values():
            assert kind in kinds, (spec.name, kind)
    assert set(contract.SUMMARISED) <= set(SHARED)


@pytest.mark.parametrize("name", sorted(SHARED))
def test_the_recorded_demo_pack_fits_every_entry(name):
    """What the producers published on the demo (tests/data/published_baseline, recorded before the
    contract existed) fits the contract: the entries describe the real results."""
    spec = SHARED[name]
    meta = json.loads((BASELINE / f"{name}.meta.json").read_text())
    assert meta["notebook"] == spec.producer and meta["kind"] == spec.kind
    if spec.kind == "table":
        spec.check(pd.read_parquet(BASELINE / f"{name}.parquet"))
    else:
        spec.check(json.loads((BASELINE / f"{name}.metrics.json").read_text()))


# ------------------------------------------------------------------------------ missing producer
def test_a_result_whose_producer_did_not_run_is_unavailable_naming_the_report(tmp_path):
    run = RunResults(tmp_path)
    with pytest.raises(ResultUnavailable) as err:
        contract.read(run, "kpi_scorecard")
    assert err.value.reason == "the KPI scorecard report has not published kpi_scorecard in this run"
    assert err.value.producer == "kpi_scorecard" and "'kpi_scorecard'" in str(err.value)
    assert isinstance(err.value, ResultNotFound)             # callers catching the old error still do
    assert not contract.available(run, "kpi_scorecard")
    # the readers say so, instead of a silent None
    seg, phrase = segment_source(_Dataset(CUSTOMERS), tmp_path)
    assert phrase == "the customer type (the segmentation report has not published customer_segments in this run)"
    assert seg.to_dict() == {"c1": "retail", "c2": "retail", "c3": "b2b"}
    assert published_clv(tmp_path, pd.Index(IDS)) is None          # documented: the caller reports it
    assert SHARED["customer_clv"].not_published() == \
        "the customer lifetime value report has not published customer_clv in this run"


def test_reading_an_unknown_name_is_an_error_listing_the_shared_results(tmp_path):
    with pytest.raises(KeyError, match="'customer_segment' is not a shared result .*customer_segments"):
        contract.read(RunResults(tmp_path), "customer_segment")


# ------------------------------------------------------------------------------ renamed table
def test_a_renamed_table_is_not_read_as_missing_data_but_reported_unavailable(tmp_path):
    """The segmentation report publishing its segments under another name: the survey says the run's
    segments are not available and from which report, and uses the customer type."""
    RunResults(tmp_path, notebook="segmentation").table("customer_segment_table", _segments(IDS))
    with pytest.raises(ResultUnavailable, match="segmentation report has not published customer_segments"):
        contract.read(RunResults(tmp_path), "customer_segments")
    _, phrase = segment_source(_Dataset(CUSTOMERS), tmp_path)
    assert "has not published customer_segments" in phrase
    # under its contract name the same table is read, through the pseudonymised ids
    RunResults(tmp_path, notebook="segmentation").table("customer_segments", _segments(IDS))
    seg, phrase = segment_source(_Dataset(CUSTOMERS), tmp_path)
    assert phrase == "the segmentation report of this run (customer_segments)"
    assert seg.to_dict() == {"c1": "A", "c2": "B", "c3": "C"}     # persona comes before value tier


def test_a_renamed_column_fails_where_it_is_published_naming_result_column_and_report(tmp_path):
    frame = _segments(IDS).rename(columns={"rfm_segment": "rfm"})
    with pytest.raises(ContractError) as err:
        RunResults(tmp_path, notebook="segmentation").export("customer_segments", frame)
    text = str(err.value)
    assert "'customer_segments'" in text and "'segmentation'" in text and "rfm_segment" in text
    assert not (tmp_path / "results" / "customer_segments.parquet").exists()   # nothing half-published


# ------------------------------------------------------------------------------ missing column
def test_a_missing_column_in_a_result_already_in_the_run_fails_the_reader(tmp_path):
    """A result written around the contract (an older run folder, a hand-made file): the reader stops
    with the result, the column and the producer instead of carrying on with None."""
    (tmp_path / "results").mkdir()
    pd.DataFrame({"customer_id": ["P1"], "predicted": [1.0]}).to_parquet(tmp_path / "results" / "customer_clv.parquet")
    (tmp_path / "results" / "customer_clv.meta.json").write_text(json.dumps({"name": "customer_clv", "kind": "table",
                                                                              "notebook": "clv"}))
    with pytest.raises(ContractError, match=r"'customer_clv' \(published by report 'clv'\) lacks column\(s\) clv"):
        published_clv(tmp_path, pd.Index(IDS))
    with pytest.raises(ContractError, match="lacks column"):
        contract.read(RunResults(tmp_path), "customer_clv")


def test_missing_metric_keys_are_named_unless_the_producer_said_it_had_nothing(tmp_path):
    out = RunResults(tmp_path, notebook="kpi_scorecard")
    with pytest.raises(ContractError, match=r"'kpi' \(published by report 'kpi_scorecard'\) lacks key\(s\) alpha"):
        out.metrics("kpi", {"dataset": "d", "window": "L12M", "correction": "holm", "flags": []})
    out.metrics("kpi", {"dataset": "d", "available": False, "notes": ["no transactions"]})   # nothing to compute
    assert contract.read(RunResults(tmp_path), "kpi")["available"] is False


# ------------------------------------------------------------------------------ wrong dtype
def test_a_wrong_dtype_is_an_error_naming_result_column_and_report(tmp_path):
    clv = pd.DataFrame({"customer_id": IDS, "clv": ["12.5", "3", "n/a"]})        # text, not numbers
    with pytest.raises(ContractError) as err:
        RunResults(tmp_path, notebook="clv").export("customer_clv", clv)
    assert str(err.value).startswith("shared result 'customer_clv' (published by report 'clv'): column 'clv' must "
                                     "hold number values, got dtype ")
    with pytest.raises(ContractError, match="column 'significant' must hold bool values"):
        SHARED["kpi_scorecard"].check(_scorecard(significant=["yes", "no"]))
    with pytest.raises(ContractError, match="column 'period_start' must hold datetime values"):
        SHARED["kpi_scorecard"].check(_scorecard(period_start=["2025-01-01", "2025-04-01"]))
    with pytest.raises(ContractError, match="key 'alpha' must hold a number value, got str '5%'"):
        SHARED["kpi"].check({"dataset": "d", "window": "L12M", "alpha": "5%", "correction": "holm", "flags": []})


def _scorecard(**override) -> pd.DataFrame:
    cols = {"region": ["East", "West"], "period": ["L12M"] * 2, "period_start": pd.to_datetime(["2025-01-01"] * 2),
            "period_end": pd.to_datetime(["2025-12-31"] * 2), "metric": ["churn_rate"] * 2, "label": ["Churn rate"] * 2,
            "unit": ["share"] * 2, "value": [0.3, 0.1], "n": [100.0, 90.0], "comparison": ["rest"] * 2,
            "reference_label": ["rest of company"] * 2, "reference": [0.1, 0.3], "test": ["z"] * 2,
            "p_value": [0.01, 0.01], "p_adj": [0.02, 0.02], "significant": [True, True],
            "direction": ["higher", "lower"]}
    return pd.DataFrame({**cols, **override})


def test_dtypes_accept_what_producers_legitimately_write():
    spec = SHARED["kpi_scorecard"]
    spec.check(_scorecard())
    spec.check(_scorecard(region=pd.array(["East", "West"], dtype="string"),
                          metric=pd.Categorical(["churn_rate", "csat"]), n=[100, 90]))   # ints are numbers
    spec.check(_scorecard().iloc[:0])                                         # an empty table
    empty = pd.DataFrame(columns=["term", "hazard_ratio", "lower", "upper", "p_value"])   # churn without a model
    SHARED["cox_hazard_ratios"].check(empty)
    SHARED["customer_clv"].check(pd.DataFrame({"customer_id": ["a", "b"], "clv": [np.nan, np.nan]}))
    with pytest.raises(ContractError, match="column 'cluster' must hold integer values"):   # optional, typed
        SHARED["customer_segments"].check(_segments(IDS).assign(cluster=[0.5, 1.5, 2.5]))


# ------------------------------------------------------------------------------ who publishes
def test_only_the_producer_may_publish_a_shared_result(tmp_path):
    with pytest.raises(ContractError, match="'kpi_scorecard' .*cannot be published by report 'swot'"):
        RunResults(tmp_path, notebook="swot").table("kpi_scorecard", _scorecard())
    RunResults(tmp_path).table("kpi_scorecard", _scorecard())        # an interactive session names no report
    RunResults(tmp_path, notebook="swot").table("swot_notes", pd.DataFrame({"x": ["free"]}))   # not shared: any shape


def test_a_result_of_the_wrong_kind_is_an_error(tmp_path):
    RunResults(tmp_path, notebook="churn").metrics("not_shared", {"a": 1})
    (tmp_path / "results" / "cox_hazard_ratios.meta.json").write_text(json.dumps(
        {"name": "cox_hazard_ratios", "kind": "metrics", "notebook": "churn"}))
    with pytest.raises(ContractError, match="must be table, but the run holds metrics"):
        contract.read(RunResults(tmp_path), "cox_hazard_ratios")
