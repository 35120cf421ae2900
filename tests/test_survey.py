"""Survey analysis: Cronbach's alpha and NPS against independent computations, CSAT on any scale,
key drivers (the demo's true driver order, Shapley against brute force), answer-quality counts, and
the survey notebook on the ECSI (mobi) and corporate-reputation surveys."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from toolkit import survey as sv
from toolkit.data import load_dataset

ROOT = Path(__file__).resolve().parents[1]
MOBI = ROOT / "config" / "datasets" / "surveys_mobi.yaml"
CORP = ROOT / "config" / "datasets" / "surveys_corp_rep.yaml"


def alpha_from_covariance(x: pd.DataFrame) -> float:
    """Cronbach's alpha written out from the item covariance matrix C: k/(k-1) * (1 - trace(C) / sum(C))."""
    c = np.cov(x.dropna().to_numpy(float), rowvar=False, ddof=1)
    k = c.shape[0]
    return k / (k - 1) * (1 - np.trace(c) / c.sum())


@pytest.fixture(scope="module")
def mobi(shared_data):
    return load_dataset(MOBI)


@pytest.fixture(scope="module")
def demo(small_demo_spec):
    return load_dataset(small_demo_spec)


def test_mobi_constructs_and_scale(mobi):
    cons = sv.constructs(mobi.surveys, sv.settings(mobi))
    assert {k: len(v) for k, v in cons.items()} == {"cuex": 3, "cusa": 3, "cusco": 1, "cusl": 3, "imag": 5,
                                                    "perq": 7, "perv": 2}
    assert sv.scale(mobi) == (1, 10) and len(mobi.surveys) == 250
    assert mobi.surveys["overall_satisfaction"].mean() == pytest.approx(7.988, abs=0.001)   # SOURCE.txt: CUSA1


def test_cronbach_alpha_matches_covariance_formula(mobi, demo, shared_data):
    for ds in (mobi, demo):
        cons = sv.constructs(ds.surveys, sv.settings(ds))
        rel = sv.reliability(ds.surveys, cons)
        for name, cols in cons.items():
            if len(cols) > 1:
                assert rel.loc[name, "alpha"] == pytest.approx(alpha_from_covariance(ds.surveys[cols]), abs=1e-12)
            else:
                assert np.isnan(rel.loc[name, "alpha"])
    # Alpha does not change under a linear rescaling of the items (mobi as plspm ships it, 0-100).
    perq = mobi.surveys[[f"q_perq{i}" for i in range(1, 8)]]
    assert sv.cronbach_alpha((perq - 1) / 9 * 100) == pytest.approx(sv.cronbach_alpha(perq))
    rel = sv.reliability(mobi.surveys, sv.constructs(mobi.surveys))
    # Against the textbook formula on the raw file (shared/data/surveys/mobi.csv, read here with pandas,
    # not through the loader): alpha = k / (k - 1) * (1 - sum of item variances / variance of the sum).
    raw = pd.read_csv(shared_data / "surveys" / "mobi.csv")
    for name, prefix, k in (("perq", "PERQ", 7), ("cuex", "CUEX", 3), ("imag", "IMAG", 5)):
        items = raw[[f"{prefix}{i}" for i in range(1, k + 1)]].dropna()
        textbook = k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))
        assert rel.loc[name, "alpha"] == pytest.approx(textbook, abs=1e-9), name


def test_demo_alpha_is_near_the_generator_truth(demo):
    truth = json.loads((Path(demo.spec.base) / "ground_truth.json").read_text())["surveys"]["cronbach_alpha_clean"]
    rel = sv.reliability(demo.surveys, sv.constructs(demo.surveys))
    for name, value in truth.items():
        assert rel.loc[name, "alpha"] == pytest.approx(value, abs=0.04), name


def test_nps_and_csat_match_plain_counts(demo):
    frame = sv.respondents(demo)
    got = sv.nps_by(frame, "region", n_boot=500)
    for region, grp in frame.groupby("region"):
        answers = [a for a in grp["nps"].tolist() if a == a]
        promoters = sum(1 for a in answers if a >= 9)
        detractors = sum(1 for a in answers if a <= 6)
        assert got.loc[region, "nps"] == pytest.approx(100 * (promoters - detractors) / len(answers))
        assert got.loc[region, "ci_low"] <= got.loc[region, "nps"] <= got.loc[region, "ci_high"]
    csat = sv.csat_by(frame, "region", (1, 5))
    for region, grp in frame.groupby("region"):
        answers = [a for a in grp["overall_satisfaction"].tolist() if a == a]
        assert csat.loc[region, "csat"] == pytest.approx(sum(1 for a in answers if a in (4, 5)) / len(answers))


def test_top2box_generalises_to_any_scale():
    values = pd.Series([1, 6, 7, 9, 10, np.nan])
    assert sv.top2box(values, (1, 10)).tolist()[:5] == [0, 0, 0, 1, 1]
    assert sv.top2box(values, (1, 7)).tolist()[:5] == [0, 1, 1, 1, 1]
    assert np.isnan(sv.top2box(values, (1, 10)).iloc[5])


def test_key_drivers_recover_the_demo_order_and_decompose_r2(demo):
    cons = sv.constructs(demo.surveys)
    scores = sv.construct_scores(demo.surveys, cons)
    kd = sv.key_drivers(scores, demo.surveys["overall_satisfaction"], list(cons))
    # Generator weights: product 0.35, service 0.25, price 0.20, support 0.10.
    assert kd.index[0] == "product" and kd.index[-1] == "support"
    assert kd["lmg"].sum() == pytest.approx(kd.attrs["r2"], abs=1e-9)
    assert kd["relative_weight"].sum() == pytest.approx(kd.attrs["r2"], abs=1e-9)


def test_shapley_matches_brute_force_over_orderings(mobi):
    cons = sv.constructs(mobi.surveys)
    scores = sv.construct_scores(mobi.surveys, cons)[["perq", "perv", "imag"]]
    y = mobi.surveys["overall_satisfaction"]
    kd = sv.key_drivers(scores, y, ["perq", "perv", "imag"])

    def r2(cols):
        return sm.OLS(y, sm.add_constant(scores[list(cols)])).fit().rsquared if cols else 0.0

    orders = list(itertools.permutations(["perq", "perv", "imag"]))
    for d in ("perq", "perv", "imag"):
        gains = [r2(o[: o.index(d) + 1]) - r2(o[: o.index(d)]) for o in orders]
        assert kd.loc[d, "lmg"] == pytest.approx(np.mean(gains), abs=1e-10)


def test_answer_quality_counts_come_from_the_load_report(demo, shared_data):
    truth = json.loads((Path(demo.spec.base) / "ground_truth.json").read_text())["injected"]["surveys"]
    tot = sv.totals(demo)
    assert tot["missing_answers"] == truth["missing_total"] and tot["out_of_range"] == truth["out_of_range_total"]
    aq = sv.answer_quality(demo)
    assert aq["no answer"].sum() == truth["missing_total"] and aq["out of range"].sum() == truth["out_of_range_total"]
    corp = load_dataset(CORP)
    aq = sv.answer_quality(corp)
    # SOURCE.txt: -99 in cusl_1 (3), cusl_2 (4), cusl_3 (3) and cusa (1).
    assert aq.loc[["q_cusl_1", "q_cusl_2", "q_cusl_3"], "missing code"].tolist() == [3, 4, 3]
    # the spec's missing code -99 also applies to overall satisfaction: counted as no answer, not out of range
    assert aq.loc["overall_satisfaction", "missing code"] == 1
    assert aq.loc["overall_satisfaction", "out of range"] == 0
    assert aq.loc["overall_satisfaction", "answered"] == 343


@pytest.mark.parametrize("spec", [MOBI, CORP], ids=["mobi", "corp_rep"])
def test_survey_notebook_runs_on_real_surveys(spec, shared_data, tmp_path):
    import papermill as pm

    from toolkit.results import RunResults

    pm.execute_notebook(str(ROOT / "notebooks" / "05_survey.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"dataset": str(spec), "run_dir": str(tmp_path / "run"), "privacy": True},
                        kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    res = RunResults(tmp_path / "run")
    m = res.read_metrics("survey")
    assert m["available"] and "nps" not in m and m["drivers_r2"] > 0.2
    rel = res.read_table("survey_reliability").set_index("construct")
    ds = load_dataset(spec)
    cons = sv.constructs(ds.surveys, sv.settings(ds))
    for name, cols in cons.items():
        if len(cols) > 1:
            assert rel.loc[name, "alpha"] == pytest.approx(alpha_from_covariance(ds.surveys[cols]), abs=1e-9)
    assert {"survey_answer_quality", "survey_drivers", "survey_ipa"} <= set(res.names())
