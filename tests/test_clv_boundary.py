"""Fits at the parameter boundary or with a nearly singular Hessian are flagged, their intervals
withheld, and the scorecard says when the data do not tell the models apart; row keys of
unique_rows cannot overflow.

Test data are simulated: customers who never drop out (Poisson purchases, no death) put the
BG/NBD maximum at the no-dropout limit (a -> 0, b -> inf: the NBD), which is the simulation truth.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, rfm_summary, simulate_bgnbd
from toolkit.clv.evaluation import scorecard as sc
from toolkit.clv.models.base import WITHHELD, _dedupe, fit_flag, unique_rows
from toolkit.clv.evaluation.fitting import model_comparison, parameter_table
from toolkit.clv.valuation.per_customer import TOO_FEW, expected_spend, value_by_group
from toolkit.clv.valuation.value_intervals import intervals_withheld

NO_DROPOUT = f"at the no-dropout boundary: {WITHHELD}"


# ------------------------------------------------------------------------------------ row keys
def test_unique_rows_many_columns_and_levels_against_drop_duplicates():
    """10 columns of 500 levels (500**10 > 2**63: a packed key would overflow) against pandas'
    drop_duplicates, with repeated rows, NaN and text columns."""
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 500, (3000, 10))
    rows = pool[rng.integers(0, len(pool), 20_000)]          # many repeats of 3,000 distinct rows
    cols = [rows[:, j].astype(float) for j in range(8)] + [rows[:, 8].astype(str), rows[:, 9]]
    cols[0][rows[:, 0] == 7] = np.nan
    (uniq, inv) = unique_rows(*cols)
    frame = pd.DataFrame({f"c{j}": c for j, c in enumerate(cols)})
    expected = frame.drop_duplicates()                         # first appearance order, NaN equal to NaN
    assert len(uniq[0]) == len(expected) == len(np.unique(rows, axis=0))
    for j, u in enumerate(uniq):
        pd.testing.assert_series_equal(pd.Series(u), expected[f"c{j}"].reset_index(drop=True), check_names=False)
    for j, c in enumerate(cols):                               # each row maps to a row equal to it
        back = np.asarray(uniq[j])[inv]
        assert (pd.isna(back) & pd.isna(c) | (back == c)).all()


def test_dedupe_weights_many_levels_against_groupby():
    rng = np.random.default_rng(1)
    cols = [rng.integers(0, 500, 5000).astype(float) for _ in range(8)]
    w = rng.uniform(0.5, 2.0, 5000)
    cols = [np.r_[c, c[:1000]] for c in cols]                  # 1,000 exact repeats
    w = np.r_[w, w[:1000]]
    uniq, wu = _dedupe(cols, w)
    frame = pd.DataFrame({f"c{j}": c for j, c in enumerate(cols)}).assign(w=w)
    expected = frame.groupby([f"c{j}" for j in range(8)], sort=False)["w"].sum()
    assert len(wu) == len(expected) == 5000
    got = pd.Series(wu, index=pd.MultiIndex.from_arrays(uniq, names=expected.index.names))
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False, rtol=1e-12)


def test_covariate_dedupe_with_a_region_of_37_levels():
    """The path of the reported OverflowError: _dedupe_frame with 37-level dummy columns."""
    from toolkit.clv.models.covariates import _dedupe_frame
    from toolkit.design import CovariateDesign

    rng = np.random.default_rng(2)
    n = 4000
    attrs = pd.DataFrame({"region": rng.integers(0, 37, n).astype(str), "type": rng.integers(0, 3, n).astype(str)})
    X = CovariateDesign(["region", "type"]).fit(attrs).transform(attrs)
    x = rng.integers(0, 3, n).astype(float)
    T = rng.integers(20, 23, n).astype(float)
    data = _dedupe_frame({"x": x, "tx": np.zeros(n), "T": T, "Xp": X, "Xd": X}, np.ones(n))
    expected = pd.DataFrame({"x": x, "T": T, "region": attrs["region"], "type": attrs["type"]}) \
        .groupby(["x", "T", "region", "type"]).size()
    assert len(data["w"]) == len(expected) and data["w"].sum() == n
    assert sorted(data["w"]) == sorted(expected.to_numpy(float))


# ---------------------------------------------------------------------------- simulated shapes
def no_dropout_rfm(n: int = 2000, r: float = 1.5, alpha: float = 6.0, seed: int = 1) -> pd.DataFrame:
    """Customers who never drop out: Poisson(lambda) purchases on (0, T], lambda ~ Gamma(r, alpha);
    recency is the last of x uniform times on (0, T) (T x Beta(x, 1))."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 52, n)
    lam = rng.gamma(r, 1 / alpha, n)
    x = rng.poisson(lam * T).astype(float)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    out = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    out.attrs["time_unit"] = "W"
    return out


def no_dropout_log(n: int = 1500, r: float = 1.5, alpha: float = 6.0, seed: int = 1,
                   start: str = "2022-01-01", end: str = "2023-12-31") -> pd.DataFrame:
    """A transaction log of customers who never drop out (rates per week, purchases on whole days)."""
    rng = np.random.default_rng(seed)
    s0 = pd.Timestamp(start)
    span = (pd.Timestamp(end) - s0).days
    first = rng.integers(0, span // 2, n)
    k = rng.poisson(rng.gamma(r, 1 / alpha, n) / 7 * (span - first))
    owner = np.r_[np.arange(n), np.repeat(np.arange(n), k)]
    day = np.r_[first, first[owner[n:]] + np.floor(rng.uniform(0, 1, k.sum()) * (span - first[owner[n:]]))]
    return pd.DataFrame({"customer_id": owner, "date": s0 + pd.to_timedelta(day, "D"),
                         "amount": rng.gamma(3.0, 10.0, len(owner))}).sort_values(["customer_id", "date"])


def _fit(cls, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls().fit(data)


@pytest.fixture(scope="module")
def no_dropout_fits():
    rfm = no_dropout_rfm()
    return {"BG/NBD": _fit(BetaGeo, rfm), "MBG/NBD": _fit(ModifiedBetaGeo, rfm), "Pareto/NBD": _fit(ParetoNBD, rfm)}


def test_no_dropout_fits_are_flagged_and_their_intervals_withheld(no_dropout_fits):
    for name, m in no_dropout_fits.items():
        flag, reason = fit_flag(m)
        assert flag == "boundary" and reason.endswith(WITHHELD), name
        assert m.se_.isna().all() and m.confidence_intervals_.isna().all().all(), name
        tab = m.summary_frame()
        assert tab[["std_err", "ci_lower", "ci_upper"]].isna().all().all()
        assert (tab["interval_note"] == reason).all() and tab.attrs["intervals_withheld"] == reason
        text = m.summary()
        assert f"Fit flagged, {reason}." in " ".join(text.split())
        assert m.intervals_withheld_ == reason
    for name in ("BG/NBD", "MBG/NBD"):                    # the truth: nobody drops out
        m = no_dropout_fits[name]
        assert fit_flag(m)[1] == NO_DROPOUT
        assert m.params_["a"] < 1e-6 and m.params_["b"] > 1e6
        # the purchase process is still estimated (simulation truth r = 1.5, alpha = 6)
        assert m.params_["r"] == pytest.approx(1.5, rel=0.15) and m.params_["alpha"] == pytest.approx(6.0, rel=0.15)


def test_demo_like_fits_are_not_flagged():
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.9, "b": 3.0}       # interior parameters with dropout
    rfm = simulate_bgnbd(3000, **truth, T=52.0, seed=3)
    for cls in (BetaGeo, ParetoNBD, ModifiedBetaGeo):
        m = _fit(cls, rfm)
        assert fit_flag(m) == ("", ""), cls.__name__
        assert m.confidence_intervals_.notna().all().all() and "interval_note" not in m.summary_frame()
        assert m.intervals_withheld_ == ""
    bg = _fit(BetaGeo, rfm)
    ci = bg.confidence_intervals_
    assert all(ci.loc[p, "lower"] / 2 < v < ci.loc[p, "upper"] * 2 for p, v in truth.items())


def test_singular_flag_when_intervals_would_leave_the_parameter_range():
    """A fit whose Wald interval on the log scale runs past 1e-7..1e7 is flagged "singular"."""
    m = _fit(BetaGeo, simulate_bgnbd(3000, 0.5, 5.0, 0.9, 3.0, T=52.0, seed=3))
    names = list(m.param_names)
    phi = np.log(m.params_.to_numpy(float))
    se_phi = np.array([0.1, 0.1, 9.0, 0.1])                   # a's interval would reach exp(+-17.6)
    flag, reason = m._flag(phi, se_phi, np.ones(4, bool), [], [])
    assert flag == "singular" and "barely identify a " in reason and reason.endswith(WITHHELD)
    assert m._flag(phi, np.full(4, 0.1), np.ones(4, bool), [], []) == ("", "")
    assert names == ["r", "alpha", "a", "b"]


# ----------------------------------------------------------------------------------- scorecard
@pytest.fixture(scope="module")
def no_dropout_card():
    log = no_dropout_log()
    rfm = rfm_summary(log, "2023-12-31", "2023-06-30", "W")
    models = {"BG/NBD": _fit(BetaGeo, rfm), "Pareto/NBD": _fit(ParetoNBD, rfm), "MBG/NBD": _fit(ModifiedBetaGeo, rfm)}
    spend, _ = expected_spend(_fit(GammaGamma, rfm), rfm)
    return models, sc.holdout_scorecard(rfm, models, spend, log)


def test_scorecard_says_when_every_model_is_at_the_boundary(no_dropout_card):
    models, card = no_dropout_card
    m = card.metrics
    assert (m["fit_flag"] == "boundary").all() and m["flagged"].all()
    assert set(card.flags) == set(models)
    assert card.caveat.startswith("No model can be preferred on its merits: every model is flagged (")
    assert NO_DROPOUT in card.caveat
    assert "The choice below is by rule only: " + sc.CHOICE_RULE + "." in card.caveat
    assert card.reason.startswith(card.caveat)
    # BG/NBD and MBG/NBD both reduce to the NBD: the same log-likelihood, so the tie is said
    ll = m["log_likelihood"]
    if ll.max() - ll.min() <= sc.LOGLIK_TIE:
        assert f"within {sc.LOGLIK_TIE} of each other" in card.caveat
    assert card.recommended in models


def test_scorecard_prefers_a_regular_fit_among_equally_good_ones():
    """Flag the model the scorecard recommends on regular data: an equally good regular fit is
    then preferred, and the reason says why; a flagged model that stays best is named as flagged."""
    from toolkit.clv import simulate_transactions

    cal, obs = "2023-06-30", "2023-12-31"
    log = simulate_transactions(2000, model="paretonbd", start="2022-01-01", acquisition_days=300, end=obs, seed=5)
    rfm = rfm_summary(log, obs, cal, "W")
    models = {"BG/NBD": _fit(BetaGeo, rfm), "Pareto/NBD": _fit(ParetoNBD, rfm), "MBG/NBD": _fit(ModifiedBetaGeo, rfm)}
    spend, _ = expected_spend(_fit(GammaGamma, rfm), rfm)
    before = sc.holdout_scorecard(rfm, models, spend, log)
    assert before.caveat == "" and not before.metrics["flagged"].any() and before.flags == {}
    first = before.recommended
    equivalent = [n for n in before.metrics.index if before.metrics.loc[n, "equivalent"] and n != first]
    models[first].diagnostics_.flag, models[first].diagnostics_.flag_reason = "boundary", NO_DROPOUT
    after = sc.holdout_scorecard(rfm, models, spend, log)
    assert after.flags == {first: NO_DROPOUT} and after.caveat == ""
    if equivalent:
        expected = after.metrics.loc[equivalent, "bic"].idxmin()
        assert after.recommended == expected
        assert f"{first} was practically as good on the holdout but flagged ({first} {NO_DROPOUT}), so the " \
               f"regular fit of {expected} is preferred." in after.reason
        assert "among the regular (unflagged) fits" in after.reason
    else:
        assert after.recommended == first
        assert f"Note: the recommended {first} fit is {NO_DROPOUT}." in after.reason


# ------------------------------------------------------------------------------ report wording
def test_report_tables_and_sentences_for_flagged_fits(no_dropout_fits):
    from toolkit.reports.clv import wording as cr

    params = parameter_table(no_dropout_fits)
    assert params[["std_err", "ci_lower", "ci_upper"]].isna().all().all()
    bg = params.loc[params["model"] == "BG/NBD"]
    assert (bg["interval_note"] == NO_DROPOUT).all()
    comp = model_comparison(no_dropout_fits)
    assert (comp["fit_flag"] == "boundary").all()
    sentences = cr.flag_sentences(no_dropout_fits)
    assert len(sentences) == 3
    assert sentences[0].startswith(f"BG/NBD is flagged, {NO_DROPOUT}. Maximum on the boundary")
    bic = cr.bic_sentence(comp)
    best = comp.sort_values("bic").iloc[0]["model"]
    assert bic.startswith(f"By BIC the calibration data are described best by {best} ")
    assert bic.endswith(f"That fit is flagged ({fit_flag(no_dropout_fits[best])[1]}).")
    assert cr.final_fit_note("BG/NBD", no_dropout_fits["BG/NBD"]).startswith(
        f"The BG/NBD fit on all data is flagged ({NO_DROPOUT}). The table shows the point estimates only")
    pa = pd.Series(no_dropout_fits["BG/NBD"].prob_alive(no_dropout_rfm()))
    assert pa.mean() > 0.999                                   # 1 by construction at the boundary
    assert "P(alive) is 1 by construction" in cr.prob_alive_sentence(no_dropout_fits["BG/NBD"], pa)
    withheld = intervals_withheld("BG/NBD", no_dropout_fits["BG/NBD"])
    assert withheld.startswith("No intervals are given for the values: the BG/NBD fit is at the no-dropout boundary. ")
    assert cr.alive_caveat(no_dropout_fits["BG/NBD"]) == " (1 by construction: the fit is at the no-dropout boundary)"
    assert "interval_note" in cr.without_empty_notes(params).columns


def test_value_intervals_refuse_a_flagged_fit(no_dropout_fits):
    from toolkit.clv.valuation.value_intervals import value_intervals

    rfm = no_dropout_rfm(200)
    with pytest.raises(ValueError, match="No intervals are given for the values: the BG/NBD fit is at the no-dropout"):
        value_intervals(no_dropout_fits["BG/NBD"], rfm, None, pd.DataFrame(index=rfm.index), clv_method="dert")


def test_report_sentences_for_regular_fits():
    from toolkit.reports.clv import wording as cr

    m = _fit(BetaGeo, simulate_bgnbd(1500, 0.5, 5.0, 0.9, 3.0, T=52.0, seed=4))
    models = {"BG/NBD": m}
    assert cr.flag_sentences(models) == [] and cr.final_fit_note("BG/NBD", m) == ""
    assert intervals_withheld("BG/NBD", m) == ""
    assert (parameter_table(models)["interval_note"] == "").all() and cr.alive_caveat(m) == ""
    assert list(cr.without_empty_notes(parameter_table(models)).columns) == [
        "model", "parameter", "estimate", "std_err", "ci_lower", "ci_upper"]
    assert "flagged" not in cr.bic_sentence(model_comparison(models))
    pa = pd.Series([0.2, 0.9, 0.6, 0.4])
    assert cr.prob_alive_sentence(m, pa) == ("Mean P(alive) across customers: 52.5%; 2 customers (50.0%) are more "
                                             "likely gone than active (P(alive) below 0.5).")


def test_bic_sentence_says_when_log_likelihoods_tie():
    from toolkit.reports.clv import wording as cr

    comp = pd.DataFrame({"model": ["A", "B"], "log_likelihood": [-100.0, -100.3], "bic": [210.0, 210.6],
                         "delta_bic": [0.0, 0.6], "fit_note": ["", ""]})
    text = cr.bic_sentence(comp)
    assert text.startswith("By BIC the calibration data are described best by A (log-likelihood -100.0); the "
                           "others are B 0.6 BIC points behind.")
    assert "within 0.5 of each other" in text
    assert "within" not in cr.bic_sentence(comp.assign(log_likelihood=[-100.0, -101.0]))


# ----------------------------------------------------------------------- group size in rankings
def _groups(sizes: dict[str, int], means: dict[str, float]) -> pd.DataFrame:
    """A CLV table with the given customers and (constant) CLV per group, and their groups."""
    rows = [(g, means[g]) for g, n in sizes.items() for _ in range(n)]
    table = pd.DataFrame({"clv": [v for _, v in rows], "prob_alive": 0.5},
                         index=pd.Index([f"c{i}" for i in range(len(rows))], name="customer_id"))
    return table, pd.Series([g for g, _ in rows], index=table.index)


def test_small_groups_are_never_ranked_first_or_last():
    from toolkit.reports.clv import wording as cr

    table, groups = _groups({"Tiny": 4, "North": 40, "South": 35, "Mini": 2},
                            {"Tiny": 900.0, "North": 300.0, "South": 200.0, "Mini": 1.0})
    by = value_by_group(table, groups, None, "region", min_group_size=30)
    assert dict(zip(by["region"], by["note"])) == {"Tiny": TOO_FEW, "North": "", "South": "", "Mini": TOO_FEW}
    text = cr.group_ranking_sentence(by, "region", "EUR", 30)
    assert text == ("Mean CLV is highest in North (300 EUR) and lowest in South (200 EUR) among the regions with at "
                    "least 30 customers. 2 groups have fewer than 30 customers (Tiny (4), Mini (2)): shown as too few "
                    "customers and not ranked.")
    # without a minimum the 4-customer group would be first: the rule is what keeps it out
    assert cr.group_ranking_sentence(by, "region", "EUR", 1).startswith("Mean CLV is highest in Tiny (900 EUR) and "
                                                                        "lowest in Mini (1 EUR).")
    assert cr.top_group_sentence(by, "region", "EUR", 30).startswith("North customers hold ")
    assert "note" not in value_by_group(table, groups, None, "region").columns


def test_group_ranking_with_fewer_than_two_large_groups():
    from toolkit.reports.clv import wording as cr

    table, groups = _groups({"A": 31, "B": 5}, {"A": 10.0, "B": 50.0})
    by = value_by_group(table, groups, None, "customer_type", min_group_size=30)
    assert cr.group_ranking_sentence(by, "customer_type", "EUR", 30) == (
        "Mean CLV is not ranked by customer type: only A has 30 or more customers. 1 group has fewer than 30 "
        "customers (B (5)): shown as too few customers and not ranked.")
    assert cr.group_ranking_sentence(by, "customer_type", "EUR", 100).startswith(
        "Mean CLV is not ranked by customer type: no customer type has 100 or more customers.")


def test_cac_sentence_leaves_small_regions_out():
    from toolkit.reports.clv import wording as cr

    table, groups = _groups({"North": 40, "South": 35, "Tiny": 3}, {"North": 300.0, "South": 100.0, "Tiny": 5.0})
    cac = pd.Series({"North": 150.0, "South": 125.0, "Tiny": 500.0})
    by = value_by_group(table, groups, cac, "region", min_group_size=30)
    assert cr.cac_sentence(by, 12, 30) == (
        "CAC is the acquisition spend per customer won over the whole period. Mean 12-month CLV / CAC ranges from "
        "0.80 to 2.00; in South the next 12 months of margin do not pay back what winning a customer costs "
        "(regions with fewer than 30 customers left out: Tiny).")
