"""Formula CLTV, CAC, CLV/CAC and value tiers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import cac, clv_cac, formula_cltv, value_tiers


@pytest.fixture()
def tx():
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c"],
        "date": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-06-01", "2023-03-01", "2023-02-01", "2023-12-31"]),
        "amount": [10.0, 30.0, 60.0, 50.0, 20.0, 30.0],
    })


@pytest.fixture()
def customers():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "region": ["north", "north", "south", "south"],
        "acquisition_date": pd.to_datetime(["2023-01-01", "2023-01-20", "2023-02-01", "2023-02-15"]),
        "acquisition_channel": ["web", "web", "shop", "web"],
    })


@pytest.fixture()
def spend():
    return pd.DataFrame({
        "period": pd.to_datetime(["2023-01-01", "2023-02-01", "2023-02-01", "2023-03-01"]),
        "region": ["north", "south", "south", "north"],
        "channel": ["web", "shop", "web", "web"],
        "spend": [300.0, 80.0, 50.0, 40.0],
    })


def test_formula_cltv(tx, customers):
    out = formula_cltv(tx, lifespan=3, period="Y")
    row = out.iloc[0]
    # 5 orders (customer-days) of 3 customers over one year; revenue 200
    assert row.orders == 5 and row.customers == 3 and row.periods == pytest.approx(365 / 365.25)
    assert row.average_order_value == pytest.approx(40)
    assert row.cltv == pytest.approx(5 / 3 / (365 / 365.25) * 40 * 3)
    by = formula_cltv(tx, lifespan={"north": 2, "south": 4}, by="region", customers=customers).set_index("region")
    assert by.loc["north", "orders"] == 3 and by.loc["south", "lifespan"] == 4
    assert by.loc["south", "cltv"] == pytest.approx(2 / 1 / (365 / 365.25) * 25 * 4)


def test_cac_per_period_region_channel(spend, customers):
    out = cac(spend, customers, freq="M").set_index(["period", "region", "channel"])
    assert out.loc[(pd.Timestamp("2023-01-01"), "north", "web"), "cac"] == 150          # 300 / 2
    assert out.loc[(pd.Timestamp("2023-02-01"), "south", "shop"), "cac"] == 80
    assert out.loc[(pd.Timestamp("2023-02-01"), "south", "web"), "cac"] == 50
    assert np.isnan(out.loc[(pd.Timestamp("2023-03-01"), "north", "web"), "cac"])      # nobody won
    by_region = cac(spend, customers, by=["region"]).set_index("region")
    assert by_region.loc["north", "cac"] == pytest.approx(340 / 2)
    assert cac(spend, customers, by=[]).cac.iloc[0] == pytest.approx(470 / 4)


def test_clv_cac_ratio(spend, customers):
    clv = pd.Series({"a": 600.0, "b": 300.0, "c": 160.0, "d": 100.0})
    out = clv_cac(clv, customers, spend, by=["region", "channel"]).set_index(["region", "channel"])
    assert out.loc[("north", "web"), "clv_cac"] == pytest.approx(450 / 170)
    assert out.loc[("south", "shop"), "clv_cac"] == pytest.approx(160 / 80)


def test_value_tiers():
    """The CLV side's value tiers are the one rule (toolkit.segmentation.tiers): cumulative cut-offs,
    customers without a prediction "none"."""
    clv = pd.Series(np.arange(10, 0, -1.0), index=list("abcdefghij"))
    tiers = value_tiers(clv)
    assert list(tiers) == ["high"] * 2 + ["mid"] * 3 + ["low"] * 5
    custom = value_tiers(clv.to_numpy(), (0.1, 0.2, 0.5), ("A", "B", "C", "D"))
    assert custom.value_counts().to_dict() == {"A": 1, "B": 1, "C": 3, "D": 5}
    assert value_tiers(clv.where(clv > 5)).value_counts().to_dict() == {"high": 1, "mid": 1, "low": 3, "none": 5}
    with pytest.raises(ValueError):
        value_tiers(clv, (0.2,), ("x", "y", "z"))
    with pytest.raises(ValueError):
        value_tiers(clv, (0.5, 0.2))