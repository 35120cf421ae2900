"""A section the data cannot support says so in one sentence and the report goes on
(toolkit.reports.section.degrading); bad input and defects still stop the report."""
from __future__ import annotations

import pytest

from toolkit.clv.models.base import ConvergenceError
from toolkit.data.errors import InsufficientDataError, MissingTableError
from toolkit.reports.section import NotComputed, Section, degrade_on_data_limits, degrading

CALLS: list[str] = []


def model(n: int) -> Section[dict]:
    CALLS.append("model")
    if n < 10:
        raise InsufficientDataError(f"{n} churners among 40 customers: too few to fit a model")
    return Section(value={"auc": 0.8, "fit": {"n": n}}).say("fitted")


def drivers(rep: object, fit: dict) -> Section[None]:
    CALLS.append("drivers")
    return Section().say("drivers of {n}", n=str(fit["n"]))


def test_a_data_limit_is_said_and_the_later_sections_say_what_they_build_on():
    CALLS.clear()
    m, d = degrading(model), degrading(drivers)
    sec = m(3)
    assert isinstance(sec.value, NotComputed)
    assert sec.sentences == ["**Not computed: the data cannot support this part.** 3 churners among 40 customers: "
                             "too few to fit a model"]
    later = d(None, sec.value["fit"])          # a notebook cell reads into the value: still NotComputed
    assert later.sentences[0].startswith("Not shown: this part builds on one that these data could not support "
                                         "(3 churners among 40 customers")
    assert CALLS == ["model"]                  # drivers never ran on a missing fit
    assert not sec.value and sec.value.anything.deeper() is sec.value
    ok = m(12)
    assert ok.value["auc"] == 0.8 and d(None, ok.value["fit"]).sentences == ["drivers of 12"]


def test_an_unidentified_model_is_a_data_limit_but_bad_input_and_defects_stop():
    def fit() -> Section[None]:
        raise ConvergenceError("GammaGamma: no maximum found")

    assert "GammaGamma: no maximum found" in degrading(fit)().sentences[0]

    def needs_table() -> Section[None]:
        raise MissingTableError("this report needs the table(s) interactions")

    def defect() -> Section[None]:
        raise KeyError("customer_id")

    with pytest.raises(MissingTableError):
        degrading(needs_table)()
    with pytest.raises(KeyError):
        degrading(defect)()


def test_only_public_section_functions_are_wrapped():
    def _helper() -> Section[None]:
        raise InsufficientDataError("x")

    def frame() -> int:
        raise InsufficientDataError("x")

    ns = {"model": model, "_helper": _helper, "frame": frame, "Section": Section}
    degrade_on_data_limits(ns)
    assert getattr(ns["model"], "__degrading__", False)
    assert ns["_helper"] is _helper and ns["frame"] is frame and ns["Section"] is Section
    import toolkit.reports.churn as churn
    import toolkit.reports.kpi_scorecard as kpi
    assert churn.churn_model.__degrading__ and kpi.scorecard.__degrading__
    assert not getattr(kpi.flag_table, "__degrading__", False)   # returns a frame, not a section


def test_touchpoints_without_a_contact_log_still_score_partners(tmp_path):
    # a dataset with partners but no interactions: the contact sections say they are not shown, the
    # partner scorecard runs (the section's own tests check its figures)
    import pandas as pd

    from toolkit.data import load_dataset
    from toolkit.reports import touchpoints as report
    from toolkit.reports.context import ReportContext
    from toolkit.results import RunResults

    pd.DataFrame({"partner_id": ["P1", "P2"], "region": ["A", "B"], "sales": [80.0, 120.0],
                  "target": [100.0, 100.0]}).to_csv(tmp_path / "partners.csv", index=False)
    ds = load_dataset({"name": "partners_only", "as_of": "2025-12-31", "base": str(tmp_path), "currency": "EUR",
                       "tables": {"partners": {"file": "partners.csv", "columns": {
                           "partner_id": "partner_id", "region": "region", "sales": "sales", "target": "target"}}}})
    rep = ReportContext("touchpoints", ds, RunResults(str(tmp_path / "run"), notebook="touchpoints"))
    basis = report.contact_log(rep)
    assert isinstance(basis.value, NotComputed) and "no contact log" in basis.sentences[0]
    assert report.contacts_by_channel(rep, basis.value).sentences[0].startswith("Not shown:")
    net = report.partners_and_suppliers(rep)
    assert "P1" in net.text_all or any("P1" in t.frame.to_string() for t in net.tables)
