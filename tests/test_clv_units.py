"""Unit-safe CLV: unit names and rates, the same CLV whatever the model unit, DERT, cash flows, margins."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate

from toolkit.clv import BetaGeo, GammaGamma, ParetoNBD, rfm_summary, simulate_transactions
from toolkit.clv.valuation import units as U
from toolkit.clv.valuation.cashflow import cash_flow_table, customer_margin, dert, dert_paretonbd, period_purchases
from toolkit.clv.valuation.per_customer import customer_value

OBS = "2023-12-31"


def test_units_and_rates():
    assert [U.normalize_unit(u) for u in ("day", "Weeks", "monthly", "Q", "year", "annual")] == \
        ["D", "W", "M", "Q", "Y", "Y"]
    with pytest.raises(ValueError, match="unknown time unit"):
        U.normalize_unit("fortnight")
    assert U.convert_duration(1, "year", "week") == pytest.approx(365.25 / 7)
    assert U.convert_duration(3, "month", "quarter") == pytest.approx(1.0)
    assert U.periods_per_year("M") == 12
    # twelve monthly discounts are one yearly discount; continuous rates add up the same way
    assert (1 + U.period_rate(0.10, "month")) ** 12 == pytest.approx(1.10)
    assert (1 + U.period_rate(0.10, "W")) ** (365.25 / 7) == pytest.approx(1.10)
    assert U.continuous_rate(0.10, "Y") == pytest.approx(math.log(1.1))
    assert U.continuous_rate(0.10, "Q") * 4 == pytest.approx(math.log(1.1))
    for bad in (-1.0, 10.0):
        with pytest.raises(ValueError):
            U.period_rate(bad, "M")


@pytest.fixture(scope="module")
def log():
    return simulate_transactions(1500, model="paretonbd", start="2022-01-01", acquisition_days=300, end=OBS, seed=11)


def test_clv_does_not_depend_on_the_model_time_unit(log):
    """Fitting in days, weeks or months gives the same model (rates rescale) and the same CLV."""
    out = {}
    for unit in ("D", "W", "M"):
        rfm = rfm_summary(log, OBS, None, unit)
        m = ParetoNBD().fit(rfm)
        gg = GammaGamma().fit(rfm)
        out[unit] = (m, customer_value(rfm, m, gg, horizon=12, discount_rate=0.10, margin=0.3, horizon_unit="month"),
                     customer_value(rfm, m, gg, discount_rate=0.10, margin=0.3, method="dert"))
    (mw, tw, dw), (md, td, dd), (mm, tm, dm) = out["W"], out["D"], out["M"]
    assert md.params_["alpha"] == pytest.approx(7 * mw.params_["alpha"], rel=1e-4)
    assert mm.params_["beta"] == pytest.approx(mw.params_["beta"] * 7 / 30.4375, rel=1e-4)
    for other in (td, tm):
        np.testing.assert_allclose(other["clv"], tw["clv"], rtol=1e-4)
        np.testing.assert_allclose(other["prob_alive"], tw["prob_alive"], rtol=1e-4, atol=1e-9)
    for other in (dd, dm):
        np.testing.assert_allclose(other["clv"], dw["clv"], rtol=1e-4)
    # a 12-month horizon is 52.18 weeks: the same as asking for the horizon in weeks
    rfm = rfm_summary(log, OBS, None, "W")
    by_week = customer_value(rfm, mw, GammaGamma().fit(rfm), horizon=1, horizon_unit="Y", discount_rate=0.0)
    direct = mw.conditional_expected_purchases(365.25 / 7, rfm)
    np.testing.assert_allclose(by_week["expected_purchases"], direct, rtol=1e-10)


def test_dert_against_the_closed_form_and_a_quadrature(log):
    rfm = rfm_summary(log, OBS, None, "W")
    pn = ParetoNBD().fit(rfm)
    for rate in (0.03, 0.10, 0.30):
        delta = U.continuous_rate(rate, "W")
        np.testing.assert_allclose(dert(pn, rfm, rate), dert_paretonbd(pn, rfm, delta=delta), rtol=1e-4)
    bg = BetaGeo().fit(rfm)
    delta = U.continuous_rate(0.10, "W")
    some = rfm.iloc[[0, 5, 50, 500]]
    for (_, row), value in zip(some.iterrows(), dert(bg, some, 0.10)):
        def dens(t):    # discounted rate of expected purchases: e^(-delta t) dE[Y(t)]/dt
            h = 1e-4 * max(t, 1.0)
            up = bg.conditional_expected_purchases(t + h, row.frequency, row.recency, row["T"])[0]
            dn = bg.conditional_expected_purchases(max(t - h, 0.0), row.frequency, row.recency, row["T"])[0]
            return math.exp(-delta * t) * (up - dn) / (t + h - max(t - h, 0.0))
        direct = integrate.quad(dens, 0, np.inf, limit=400)[0]
        assert value == pytest.approx(direct, rel=1e-3)
    with pytest.raises(ValueError):
        dert(pn, rfm, 0.0)


def test_cash_flow_table_adds_up_to_the_clv(log):
    rfm = rfm_summary(log, OBS, None, "W")
    m, gg = BetaGeo().fit(rfm), GammaGamma().fit(rfm)
    table = customer_value(rfm, m, gg, horizon=6, discount_rate=0.08, margin=0.25, horizon_unit="M")
    inc = period_purchases(m, rfm, 6, "M")
    seg = pd.Series(np.where(rfm.frequency > 2, "frequent", "rare"), index=rfm.index)
    flows = cash_flow_table(table, inc, seg, 0.08, "M", start="2024-01-01")
    assert set(flows["segment"]) == {"frequent", "rare"} and len(flows) == 12
    total = flows.groupby("segment")["discounted_margin"].sum()
    assert total.sum() == pytest.approx(table["clv"].sum(), rel=1e-10)
    assert total["frequent"] == pytest.approx(table.loc[seg == "frequent", "clv"].sum(), rel=1e-10)
    first = flows.iloc[0]
    sel = (seg == first["segment"]).to_numpy()
    assert first["expected_purchases"] == pytest.approx(inc[0, sel].sum())
    assert first["discount_factor"] == pytest.approx(1 / (1 + U.period_rate(0.08, "M")))
    assert flows["period_start"].iloc[1] == pd.Timestamp("2024-01-31")          # + 30.4375 days, rounded
    last = flows.loc[flows["segment"] == "rare"].iloc[-1]
    assert last["cumulative_discounted_margin"] == pytest.approx(total["rare"])


def test_customer_margin_by_category_and_column():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
                       "category": ["Software", "Services", "Software", "Other", "Other"],
                       "amount": [100.0, 300.0, 50.0, 50.0, -10.0],
                       "rate": [0.5, 0.1, 0.5, 0.2, 0.9]})
    ids = pd.Index(["a", "b", "c", "d"])
    m, text = customer_margin(ids, 0.3, tx, {"Software": 0.6, "Services": 0.4})
    assert m["a"] == pytest.approx((100 * 0.6 + 300 * 0.4) / 400)
    assert m["b"] == pytest.approx((50 * 0.6 + 50 * 0.3) / 100)      # "Other" has no margin: the default
    assert m["c"] == m["d"] == 0.3 and "Other" in text
    cu = pd.DataFrame({"customer_id": ["a", "b"], "margin": [0.2, 0.5]})
    m2, _ = customer_margin(ids, 0.3, tx, customers=cu, margin_column="margin")
    assert m2.tolist() == [0.2, 0.5, 0.3, 0.3]
    m3, _ = customer_margin(ids, 0.3, tx, margin_column="rate")
    assert m3["a"] == pytest.approx((100 * 0.5 + 300 * 0.1) / 400)
    flat, text = customer_margin(ids, 0.3, tx.drop(columns="category"), {"Software": 0.6})
    assert (flat == 0.3).all() and "no product category" in text
    with pytest.raises(ValueError):
        customer_margin(ids, 1.5)
