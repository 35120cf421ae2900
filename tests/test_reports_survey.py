"""The survey report's sections (toolkit.reports.survey) on small survey datasets written here:
every wording branch (no survey, no NPS question, no breakdown, segments from the customer type,
no Likert items, groups that differ / none that does, constructs below the alpha threshold / all
above / none with an alpha, too few answers for the key drivers), the tables as a reader sees them
and the published results. Expected figures are computed independently in the tests (counts and
shares with pandas, Wilson intervals with statsmodels, alpha from its covariance formula, R² from
a least-squares fit)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from toolkit.data import load_dataset
from toolkit.reports import survey as report
from toolkit.reports.context import ReportContext
from toolkit.reports.format import fmt_pct
from toolkit.results import RunResults


@pytest.fixture(autouse=True)
def _agg():
    import matplotlib

    matplotlib.use("Agg")


def _dataset(d, answers: pd.DataFrame | None, customers: pd.DataFrame, items: str | None = "^(prod|serv)[0-9]+$",
             name: str = "svtest"):
    """A dataset of ``customers`` and (when given) the survey ``answers`` (columns sat, rec, items)."""
    d.mkdir(parents=True, exist_ok=True)
    customers.to_csv(d / "customers.csv", index=False)
    tables = {"customers": {"file": "customers.csv", "columns": {c: c for c in customers.columns}}}
    if answers is not None:
        answers.to_csv(d / "surveys.csv", index=False)
        cols = {"customer_id": "customer_id", "overall_satisfaction": "sat"}
        if "rec" in answers.columns:
            cols["nps"] = "rec"
        if "date" in answers.columns:
            cols["response_date"] = "date"
        tables["surveys"] = {"file": "surveys.csv", "columns": cols, "scale": [1, 5]}
        if items:
            tables["surveys"]["items"] = {"pattern": items}
    return load_dataset({"name": name, "title": f"Survey <i>{name}</i>", "as_of": "2025-06-30", "base": str(d),
                         "tables": tables})


def _rep(ds, tmp_path) -> ReportContext:
    return ReportContext("survey", ds, RunResults(tmp_path / "run", notebook="survey"))


def _answers(n_per_region=20, differ=True, seed=1):
    """Two regions; North answers high and South low when ``differ`` (else both alike)."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_region
    ids = [f"c{i}" for i in range(n)]
    customers = pd.DataFrame({"customer_id": ids, "region": ["North"] * n_per_region + ["South"] * n_per_region})
    shift = np.r_[np.ones(n_per_region), -np.ones(n_per_region)] if differ else np.zeros(n)
    latent = shift + rng.normal(0, 0.5, n)

    def item(noise):
        return np.clip(np.round(3 + 1.2 * latent + rng.normal(0, noise, n)), 1, 5).astype(int)

    answers = pd.DataFrame({"customer_id": ids, "sat": item(0.5),
                            "rec": np.clip(np.round(6 + 3 * latent + rng.normal(0, 1, n)), 0, 10).astype(int),
                            "prod1": item(0.6), "prod2": item(0.6), "serv1": item(0.6)})
    return answers, customers


def _run_all(rep, data, alpha=0.05, min_alpha=0.7):
    return {"quality": report.answer_quality(rep, data), "items": report.item_answers(rep, data),
            "scores": report.scores_by_group(rep, data, alpha, "holm", 200),
            "reliability": report.reliability(rep, data, min_alpha), "drivers": report.drivers(rep, data, alpha)}


# ------------------------------------------------------------------------------ the whole report on one survey
@pytest.fixture(scope="module")
def full(tmp_path_factory):
    d = tmp_path_factory.mktemp("survey_full")
    answers, customers = _answers()
    ds = _dataset(d / "data", answers, customers)
    rep = _rep(ds, d)
    over = report.overview(rep, None, True)
    secs = _run_all(rep, over.value)
    report.publish(rep, over.value)
    return answers, rep, over, secs


def test_overview_states_what_the_survey_holds(full):
    answers, _, over, _ = full
    assert over.sentences == [
        "**40** responses, answer scale **1-5**, **3** Likert items in **2** constructs (Prod (prod), Serv (serv)); "
        "overall satisfaction is the column `overall_satisfaction`.",
        "NPS comes from the 0-10 recommendation question.",
        "Breakdowns: region."]
    assert over.value.available and over.value.groups == ["region"] and over.value.has_nps


def test_answer_quality_counts_and_publishes(full):
    answers, rep, _, secs = full
    sec = secs["quality"]
    assert "Of 120 item answers expected, **0** were left blank" in sec.sentences[0]   # 40 responses x 3 items
    assert sec.tables[0].frame.loc["q_prod1", "answered"] == 40
    assert rep.out.read_table("survey_answer_quality")["answered"].sum() == 40 * 5   # sat, nps and three items


def test_most_and_least_favourable_item(full):
    answers, _, _, secs = full
    above = {f"q_{c}": (answers[c] > 3).mean() for c in ("prod1", "prod2", "serv1")}
    best, worst = max(above, key=above.get), min(above, key=above.get)
    esc = lambda s: s.replace("_", "\\_")  # noqa: E731
    assert secs["items"].sentences == [
        f"Most favourable item: **{esc(best)}** ({fmt_pct(above[best])} of answers above the midpoint); least "
        f"favourable: **{esc(worst)}** ({fmt_pct(above[worst])})."]
    assert len(secs["items"].figures) == 1


def test_csat_and_nps_overall_and_by_region(full):
    answers, rep, _, secs = full
    sec = secs["scores"]
    top = (answers["sat"] >= 4)
    lo, hi = proportion_confint(top.sum(), len(top), alpha=0.05, method="wilson")
    assert sec.sentences[0].startswith(f"Overall CSAT is **{fmt_pct(top.mean())}** (95% interval {fmt_pct(lo)}-"
                                       f"{fmt_pct(hi)}, 40 answers); NPS is **")
    north = top[:20].mean()
    south = top[20:].mean()
    assert any(s.startswith(f"- region **North**: CSAT {fmt_pct(north)} vs {fmt_pct(south)} for the other "
                            "respondents (higher; adjusted p = ") for s in sec.sentences)
    csat, nps = (t.frame for t in sec.tables)
    assert list(csat.columns) == ["region", "responses", "top two", "CSAT", "interval", "others", "difference",
                                  "adjusted p", "differs"]
    assert csat.set_index("region").loc["North", "differs"] == "higher"
    promoters = (answers["rec"][:20] >= 9).mean()
    assert nps.set_index("region").loc["North", "promoters"] == fmt_pct(promoters)
    assert len(sec.figures) == 2
    pub = rep.out.read_table("survey_csat")
    assert set(pub["breakdown"]) == {"region"} and set(pub["group"]) == {"North", "South"}
    assert rep.out.has("survey_nps")


def test_reliability_alpha_from_its_covariance_formula(full):
    answers, rep, _, secs = full
    items = answers[["prod1", "prod2"]]
    k, cov = 2, items.cov()
    alpha = k / (k - 1) * (1 - np.trace(cov) / cov.to_numpy().sum())
    rel = secs["reliability"].value
    assert rel.loc["prod", "alpha"] == pytest.approx(alpha) and np.isnan(rel.loc["serv", "alpha"])
    assert secs["reliability"].sentences[0] == f"Alpha ranges from **{alpha:.2f}** (Prod) to **{alpha:.2f}** (Prod)."
    assert secs["reliability"].sentences[1] == "Every multi-item construct reaches alpha >= 0.7."
    assert rep.out.read_table("survey_reliability")["construct"].tolist() == ["prod", "serv"]


def test_key_drivers_r2_from_least_squares(full):
    answers, rep, _, secs = full
    x = pd.DataFrame({"prod": answers[["prod1", "prod2"]].mean(axis=1), "serv": answers["serv1"]})
    z = (x - x.mean()) / x.std()
    y = (answers["sat"] - answers["sat"].mean()) / answers["sat"].std()
    coef, *_ = np.linalg.lstsq(np.c_[np.ones(len(z)), z.to_numpy()], y.to_numpy(), rcond=None)
    r2 = 1 - ((y - np.c_[np.ones(len(z)), z.to_numpy()] @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    sec = secs["drivers"]
    assert sec.sentences[0].startswith(f"The drivers explain **{fmt_pct(r2)}** of the variance of overall "
                                       "satisfaction. The most important is **")
    assert sec.sentences[-1].startswith("Concentrate here (important but below-average performance): **")
    table = sec.tables[0].frame
    assert list(table.columns) == ["driver", "r", "beta", "interval of beta", "p", "relative weight", "LMG",
                                   "importance"]
    assert set(table["driver"]) == {"Prod", "Serv"} and len(sec.figures) == 2
    assert rep.out.has("survey_drivers") and rep.out.has("survey_ipa")


def test_headline_collects_every_section(full):
    answers, rep, _, _ = full
    m = rep.out.read_metrics("survey")
    assert m["dataset"] == "svtest" and m["available"] is True and m["responses"] == 40 and m["scale"] == [1, 5]
    assert m["csat"] == pytest.approx((answers["sat"] >= 4).mean())
    assert {"csat_ci", "nps", "nps_ci", "cronbach_alpha", "drivers_r2", "top_driver", "concentrate_here",
            "missing_answers", "out_of_range"} <= set(m)
    assert set(m["cronbach_alpha"]) == {"prod"}


# ------------------------------------------------------------------------------ other branches
def test_no_survey_responses(tmp_path):
    ds = _dataset(tmp_path / "d", None, pd.DataFrame({"customer_id": ["c1"], "region": ["North"]}), name="plain")
    rep = _rep(ds, tmp_path)
    over = report.overview(rep, None, True)
    assert over.sentences == ["**Dataset Survey &lt;i&gt;plain&lt;/i&gt; has no survey responses**, so there is "
                              "nothing to report here. Add a surveys table to the dataset spec to get this report."]
    assert all(sec.blocks == [] for sec in _run_all(rep, over.value).values())
    report.publish(rep, over.value)
    assert rep.out.read_metrics("survey") == {"dataset": "plain", "available": False}
    assert rep.out.names() == ["survey"]


def test_regions_alike_no_nps_question_and_segments_from_the_customer_type(tmp_path):
    answers, customers = _answers(differ=False)
    answers = answers.drop(columns=["rec"])
    same = ["sat", "prod1", "prod2", "serv1"]
    answers.loc[20:, same] = answers.loc[:19, same].to_numpy()   # South answers exactly as North
    customers["customer_type"] = ["enterprise", "individual"] * 20
    ds = _dataset(tmp_path / "d", answers, customers)
    rep = _rep(ds, tmp_path)
    over = report.overview(rep, None, True)
    assert "The survey has no 0-10 recommendation question, so **no NPS** is reported." in over.sentences
    assert "Breakdowns: region, segment." in over.sentences
    assert "Segments come from the customer type." in over.sentences
    sec = report.scores_by_group(rep, over.value, 0.05, "holm", 200)
    assert "No region group differs significantly in CSAT from the other respondents." in sec.sentences
    assert "NPS is" not in sec.sentences[0] and [t.caption for t in sec.tables] == ["CSAT (top-2-box) by region",
                                                                                    "CSAT (top-2-box) by segment"]
    assert "nps" not in over.value.headline and not rep.out.has("survey_nps") and rep.out.has("survey_csat")


def test_no_breakdown_and_no_items(tmp_path):
    answers, customers = _answers()
    customers["region"] = "North"
    ds = _dataset(tmp_path / "d", answers[["customer_id", "sat", "rec"]], customers, items=None)
    rep = _rep(ds, tmp_path)
    over = report.overview(rep, None, True)
    assert "Breakdowns: none (the data have no region, segment, wave or grouping column)." in over.sentences
    assert report.item_answers(rep, over.value).sentences == [
        "The survey has no Likert items besides overall satisfaction."]
    sec = report.scores_by_group(rep, over.value, 0.05, "holm", 200)
    assert len(sec.sentences) == 1 and sec.tables == [] and sec.value == {}
    assert report.reliability(rep, over.value).blocks == [] and report.drivers(rep, over.value).blocks == []
    assert not rep.out.has("survey_csat") and not rep.out.has("survey_reliability")


def test_a_construct_below_the_threshold(tmp_path):
    answers, customers = _answers()
    answers["prod2"] = np.random.default_rng(7).integers(1, 6, len(answers))   # unrelated to prod1
    ds = _dataset(tmp_path / "d", answers, customers)
    rep = _rep(ds, tmp_path)
    data = report.overview(rep, None, True).value
    sec = report.reliability(rep, data, 0.7)
    items = answers[["prod1", "prod2"]]
    cov = items.cov()
    alpha = 2 * (1 - np.trace(cov) / cov.to_numpy().sum())
    assert alpha < 0.7
    assert sec.sentences[-1] == (f"Below 0.7: Prod ({alpha:.2f}) — their items do not measure one thing "
                                 "consistently; read their scores with care.")


def test_single_item_constructs_have_no_alpha(tmp_path):
    answers, customers = _answers()
    ds = _dataset(tmp_path / "d", answers.rename(columns={"prod2": "serv2"})[["customer_id", "sat", "rec", "prod1",
                                                                            "serv1"]], customers)
    rep = _rep(ds, tmp_path)
    data = report.overview(rep, None, True).value
    sec = report.reliability(rep, data)
    assert sec.sentences == ["No construct has an alpha (each has a single item, or too few complete answers), so "
                             "the consistency of the constructs cannot be checked."]
    assert data.headline["cronbach_alpha"] == {}


def test_too_few_answers_for_the_key_drivers(tmp_path):
    answers, customers = _answers(n_per_region=2)
    ds = _dataset(tmp_path / "d", answers, customers)
    rep = _rep(ds, tmp_path)
    data = report.overview(rep, None, True).value
    sec = report.drivers(rep, data)
    assert sec.sentences == ["No key-driver analysis: only 4 complete responses for 2 drivers."]
    assert sec.value.empty and not rep.out.has("survey_drivers") and "drivers_r2" not in data.headline


# ------------------------------------------------------------------------------ tables as a reader sees them
def test_csat_and_nps_tables_by_hand():
    c = pd.DataFrame({"responses": [10, 20], "top2": [5.0, 4.0], "csat": [0.5, 0.2], "ci_low": [0.2366, 0.0806],
                      "ci_high": [0.7634, 0.4160], "rest": [0.2, 0.5], "difference": [0.3, -0.3],
                      "p_value": [0.01, 0.5], "p_adj": [0.02, 0.5], "significant": [True, False],
                      "direction": ["higher", "lower"]}, index=pd.Index(["X", "Y"], name="wave"))
    t = report.csat_table(c)
    assert t.iloc[0].tolist() == ["X", 10, 5, "50.0%", "23.7% to 76.3%", "20.0%", "+30.0", "0.02", "higher"]
    assert t.iloc[1].tolist() == ["Y", 20, 4, "20.0%", "8.1% to 41.6%", "50.0%", "-30.0", "0.5", "no"]
    n = pd.DataFrame({"responses": [10.0], "promoters": [0.5], "passives": [0.2], "detractors": [0.3], "nps": [20.0],
                      "ci_low": [-10.0], "ci_high": [50.0], "rest": [-5.25], "difference": [25.25],
                      "p_value": [0.001], "p_adj": [0.00123], "significant": [True], "direction": ["higher"]},
                     index=pd.Index(["X"], name="region"))
    assert report.nps_table(n).iloc[0].tolist() == ["X", 10, "50.0%", "20.0%", "30.0%", "+20.0", "-10.0 to +50.0",
                                                    "-5.2", "+25.2", "0.0012", "higher"]
