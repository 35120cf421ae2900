"""Direct tests of survey.item_columns, survey.available_groups and survey.shapley_r2 (issue #19, item 6).

Every expected value is derived in the test: item columns and groups by reading the tiny frames,
Shapley / LMG shares by brute force (ordinary least squares on every subset of predictors, averaged over
every order of entry, computed here with numpy, independently of the correlation-matrix code under test).
"""
from __future__ import annotations

from itertools import permutations
from math import factorial

import numpy as np
import pandas as pd
import pytest

from toolkit.survey import available_groups, item_columns, shapley_r2


# ------------------------------------------------------------------------------------------ item_columns
def test_item_columns_keeps_q_prefixed_columns_in_table_order():
    frame = pd.DataFrame(columns=["customer_id", "q_value_2", "overall_satisfaction", "q_perq5", "nps",
                                  "q_cusco", "Q_upper", "faq_1", "q_value_1"])
    # by reading the list: only names starting with lower-case "q_", in the table's order (not sorted)
    assert item_columns(frame) == ["q_value_2", "q_perq5", "q_cusco", "q_value_1"]


def test_item_columns_empty_and_non_string_column_names():
    assert item_columns(pd.DataFrame()) == []
    assert item_columns(pd.DataFrame(columns=["customer_id", "nps"])) == []
    # integer column labels are not items and must not break the prefix check
    assert item_columns(pd.DataFrame(columns=[0, 1, "q_a"])) == ["q_a"]


# ------------------------------------------------------------------------------------- available_groups
def test_available_groups_needs_two_distinct_values():
    frame = pd.DataFrame({
        "region": ["N", "N", "N", "N"],           # one value: not a grouping
        "segment": ["a", "b", "a", None],         # two values (missing does not count as a value)
        "wave": ["2024Q1", "2024Q2", "2024Q1", "2024Q2"],
        "provider": ["x", "y", "y", "x"],
        "channel": [None, "web", None, None],     # one value plus missing: not a grouping
    })
    # fixed candidates first (region, segment, wave), then the extras in the order given
    assert available_groups(frame) == ["segment", "wave"]
    assert available_groups(frame, ["provider", "channel", "absent"]) == ["segment", "wave", "provider"]


def test_available_groups_no_duplicates_and_empty_frame():
    frame = pd.DataFrame({"wave": ["1", "2"], "region": ["N", "S"]})
    # "wave" named again as an extra must appear once, in its first position
    assert available_groups(frame, ["wave", "region"]) == ["region", "wave"]
    assert available_groups(pd.DataFrame(columns=["region", "segment", "wave"])) == []
    assert available_groups(pd.DataFrame()) == []


# ------------------------------------------------------------------------------------------- shapley_r2
def _ols_r2(x: np.ndarray, y: np.ndarray, cols: tuple[int, ...]) -> float:
    """R^2 of y on an intercept and the columns ``cols`` of x (plain least squares)."""
    if not cols:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x[:, list(cols)]])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    return 1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())


def _lmg_brute_force(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LMG (Lindeman, Merenda & Gold 1980): each predictor's R^2 gain averaged over all p! orders of entry."""
    p = x.shape[1]
    cache: dict[frozenset, float] = {}

    def r2(s: frozenset) -> float:
        if s not in cache:
            cache[s] = _ols_r2(x, y, tuple(sorted(s)))
        return cache[s]

    gains = np.zeros(p)
    for order in permutations(range(p)):
        entered: frozenset = frozenset()
        for j in order:
            gains[j] += r2(entered | {j}) - r2(entered)
            entered = entered | {j}
    return gains / factorial(p)


def _correlated_data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    x = np.column_stack([0.6 * common + rng.normal(size=n) for _ in range(p)])   # correlated drivers
    y = x @ np.linspace(1.0, 0.2, p) + rng.normal(scale=1.5, size=n)
    return x, y


@pytest.mark.parametrize("p,seed", [(2, 1), (3, 2), (4, 3)])
def test_shapley_r2_equals_brute_force_lmg(p, seed):
    x, y = _correlated_data(80, p, seed)
    corr = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    got = shapley_r2(corr)
    expected = _lmg_brute_force(x, y)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    # efficiency of the Shapley value: the shares add up to the full model's R^2
    assert got.sum() == pytest.approx(_ols_r2(x, y, tuple(range(p))), abs=1e-10)


def test_shapley_r2_two_drivers_closed_form():
    # Two drivers: LMG_1 = (r1^2 + (R^2 - r2^2)) / 2, with R^2 = (r1^2 + r2^2 - 2 r1 r2 r12) / (1 - r12^2)
    # (the textbook two-predictor R^2 from correlations).
    r12, r1, r2 = 0.3, 0.5, 0.4
    corr = np.array([[1.0, r12, r1], [r12, 1.0, r2], [r1, r2, 1.0]])
    full = (r1 ** 2 + r2 ** 2 - 2 * r1 * r2 * r12) / (1 - r12 ** 2)
    expected = [(r1 ** 2 + full - r2 ** 2) / 2, (r2 ** 2 + full - r1 ** 2) / 2]
    np.testing.assert_allclose(shapley_r2(corr), expected, atol=1e-12)


def test_shapley_r2_uncorrelated_drivers_get_their_squared_correlation():
    # With orthogonal drivers R^2 = sum r_j^2 and every order gives driver j the same gain r_j^2.
    r = np.array([0.5, 0.3, 0.1])
    corr = np.eye(4)
    corr[:3, 3] = corr[3, :3] = r
    np.testing.assert_allclose(shapley_r2(corr), r ** 2, atol=1e-12)


def test_shapley_r2_single_driver_and_order_of_drivers():
    # one driver: its share is the whole R^2 = r^2
    np.testing.assert_allclose(shapley_r2(np.array([[1.0, -0.6], [-0.6, 1.0]])), [0.36], atol=1e-12)
    # permuting the drivers permutes the shares (nothing depends on the column order)
    x, y = _correlated_data(60, 3, 7)
    perm = [2, 0, 1]
    c1 = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    c2 = np.corrcoef(np.column_stack([x[:, perm], y]), rowvar=False)
    np.testing.assert_allclose(shapley_r2(c2), shapley_r2(c1)[perm], atol=1e-12)


def test_shapley_r2_duplicate_driver_splits_its_share():
    # A driver entered twice (a tie in every sense): by symmetry both copies get the same share; an exactly
    # singular block cannot be solved, so use a copy with a tiny independent perturbation.
    rng = np.random.default_rng(11)
    a = rng.normal(size=200)
    b = rng.normal(size=200)
    y = a + 0.5 * b + rng.normal(size=200)
    a2 = a + 1e-4 * rng.normal(size=200)
    x = np.column_stack([a, a2, b])
    got = shapley_r2(np.corrcoef(np.column_stack([x, y]), rowvar=False))
    np.testing.assert_allclose(got, _lmg_brute_force(x, y), atol=1e-8)
    assert got[0] == pytest.approx(got[1], abs=1e-4)


def test_shapley_r2_refuses_more_than_twelve_drivers():
    with pytest.raises(ValueError, match="at most 12 drivers, got 13"):
        shapley_r2(np.eye(14))
