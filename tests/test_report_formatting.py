"""How numbers look in a report: shares as percentages, only where the column is a share."""
from __future__ import annotations

import pandas as pd
import toolkit.reporting as rp
from toolkit.reporting import share_columns, show_table


def _html(frame, **kw) -> str:
    shown = []
    real, rp.display = rp.display, shown.append
    try:
        show_table(frame, "t", **kw)
    finally:
        rp.display = real
    return "".join(o.data for o in shown)


def test_shares_are_found_by_name_or_unit_and_only_between_0_and_1():
    f = pd.DataFrame({"churn_rate": [0.32, 0.17], "customers": [10.0, 20.0], "revenue_share": [0.5, 0.5],
                      "lift": [1.2, 0.3], "x": [0.1, 0.2], "continuous_rate": [0.01, 0.02], "growth_rate": [0.1, 1.5]})
    units = {"x": "share of customers", "continuous_rate": "per period, continuously compounded", "lift": "x base rate"}
    # growth_rate is named a rate but holds 1.5: not a share; lift's unit is a multiple
    assert share_columns(f, units) == ["churn_rate", "revenue_share", "x"]


def test_a_unit_key_naming_several_columns_counts_for_each():
    f = pd.DataFrame({"customer_share": [0.25], "value_share": [0.75], "clv": [0.5]})
    assert share_columns(f, {"customer_share / value_share": "share of customers / of value"}) == \
        ["customer_share", "value_share"]


def test_show_table_prints_shares_as_percentages_and_counts_with_separators():
    f = pd.DataFrame({"customers": [1200.0, 35.0], "churn_rate": [0.3214, 0.17]}, index=["North", "South"])
    page = _html(f, units={"customers": "count", "churn_rate": "lost / at start"})
    assert "32.1%" in page and "17.0%" in page and "0.32" not in page
    assert "1,200" in page

