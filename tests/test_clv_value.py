"""CLV discounting and its plumbing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.clv import GammaGamma, ParetoNBD, customer_lifetime_value, discount_factors


class ConstantRate:
    """A stand-in transaction model: `rate` purchases per model time unit, forever."""

    time_unit_ = "W"

    def __init__(self, rate):
        self.rate = rate

    def conditional_expected_purchases(self, t, x, tx, T):
        return np.asarray(t, float) * self.rate * np.ones_like(np.asarray(x, float))


class ConstantSpend:
    def expected_average_value(self, x, m):
        return np.full(np.shape(x), 50.0)


def test_discounting_matches_the_geometric_sum():
    per_week = 0.1
    model = ConstantRate(per_week)
    clv = customer_lifetime_value(model, ConstantSpend(), [1, 2], [1, 2], [5, 5], [10, 10],
                                  horizon=24, discount_rate=0.01, margin=0.3, time_unit="M")
    per_month = per_week * 30.4375 / 7
    expected = 0.3 * 50 * per_month * sum(1.01 ** -i for i in range(1, 25))
    np.testing.assert_allclose(clv, expected)
    undiscounted = customer_lifetime_value(model, ConstantSpend(), [1], [1], [5], [10], horizon=12,
                                           discount_rate=0.0, time_unit="W")
    assert undiscounted[0] == pytest.approx(12 * 0.1 * 50)
    np.testing.assert_allclose(discount_factors(3, 0.1), [1 / 1.1, 1 / 1.21, 1 / 1.331])
    with pytest.raises(ValueError):
        discount_factors(0, 0.1)


def test_clv_from_fitted_models_and_a_summary_frame():
    pn = ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")
    gg = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    frame = pd.DataFrame({"frequency": [0.0, 2, 10], "recency": [0.0, 30, 38], "T": [38.9, 38.9, 38.9],
                          "monetary_value": [0.0, 25, 40]}, index=["a", "b", "c"])
    frame.attrs["time_unit"] = "W"
    clv = gg.customer_lifetime_value(pn, frame, horizon=12, discount_rate=0.01, margin=1.0)
    assert list(clv.index) == ["a", "b", "c"] and np.all(clv > 0) and clv["c"] > clv["b"]
    # the same numbers by hand: expected purchases per month x expected spend, discounted
    t = np.arange(1, 13) * 30.4375 / 7
    cum = pn.conditional_expected_purchases(t[:, None], frame)
    inc = np.diff(cum, axis=0, prepend=0)
    hand = (inc * 1.01 ** -np.arange(1, 13)[:, None]).sum(0) * gg.expected_average_value(frame)
    np.testing.assert_allclose(clv.to_numpy(), hand)
    # more margin, more value; longer horizon, more value
    np.testing.assert_allclose(gg.customer_lifetime_value(pn, frame, margin=0.5), clv * 0.5)
    assert np.all(gg.customer_lifetime_value(pn, frame, horizon=24) > clv)
    no_unit = ParetoNBD.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    with pytest.raises(ValueError, match="time unit"):
        customer_lifetime_value(no_unit, gg, [1], [1], [5], [10])
