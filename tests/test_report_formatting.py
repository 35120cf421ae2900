"""How numbers look in a report: shares as percentages, only where the column is a share."""
from __future__ import annotations

import pandas as pd
import toolkit.reports.format as rp
from toolkit.reports.format import share_columns, show_table


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


def test_growth_shows_as_a_signed_percentage_even_when_negative():
    """The SWOT's competitor table printed yearly growth of 0.020 as 0.020; a fall is a change too."""
    f = pd.DataFrame({"market_share": [0.18, 0.22], "growth": [0.02, -0.035], "price_index": [1.05, 0.97]})
    units = {"market_share": "share of the market", "growth": "yearly revenue growth", "price_index": "1 = parity"}
    assert rp.change_columns(f, units) == ["growth"] and "growth" not in share_columns(f, units)
    page = _html(f, units=units)
    assert "+2.0%" in page and "-3.5%" in page and "18.0%" in page and "1.05" in page and "0.020" not in page


def _rates(**groups) -> pd.DataFrame:
    return pd.DataFrame({"at_start": [n for n, _ in groups.values()], "churn_rate": [r for _, r in groups.values()]},
                        index=list(groups))


def test_a_ranking_of_three_groups_names_all_three_with_rate_and_count():
    text = rp.rate_ranking(_rates(North=(120, 0.32), South=(98, 0.17), East=(80, 0.16)), "region", overall=0.2)
    assert text == ("By region, from highest to lowest: **North** (32.0% of 120), **South** (17.0% of 98), "
                    "**East** (16.0% of 80), against 20.0% overall.")


def test_small_and_empty_groups_are_never_ranked():
    t = _rates(North=(120, 0.30), Islands=(4, 0.75), Alpine=(3, 0.0), West=(90, 0.10), Void=(0, float("nan")),
               South=(60, 0.2), East=(40, 0.25))
    text = rp.rate_ranking(t, "region", min_group_size=30)
    # the 4-customer region has the highest rate but is not ranked first; the empty one is left out
    assert text.startswith("By region, the rate is highest in **North** (30.0% of 120) and lowest in **West** (10.0% of 90).")
    assert "2 groups have fewer than 30 customers and are not ranked (too few customers: Islands, Alpine)." in text
    assert "Void" not in text


def test_no_group_big_enough_says_so():
    assert rp.rate_ranking(_rates(A=(5, 0.2), B=(7, 0.1)), "region").startswith(
        "No region has 30 or more customers, so no region is ranked.")
    assert rp.rate_ranking(_rates(A=(50, 0.2), B=(7, 0.1)), "region").startswith(
        "Only **A** (20.0% of 50) has 30 or more customers, so there is no ranking by region.")


def test_a_value_is_money_only_when_its_unit_is_the_currency():
    assert rp.fmt_value(976.48, "EUR", "EUR") == "EUR 976.48"
    # no value data: the value at risk counts expected churners, and says so, with no currency
    assert rp.fmt_value(976.48, "customers", "EUR") == "976.5 customers"
    assert rp.fmt_value(5.0, "currency units", "") == "currency units 5.00"


def test_a_column_without_values_and_its_unit_are_left_out():
    f = pd.DataFrame({"customers": [10.0, 20.0], "revenue": [float("nan")] * 2, "aov": [float("nan")] * 2},
                     index=["North", "South"])
    page = _html(f, units={"customers": "count", "revenue / aov": "EUR", "first / last": "dates"})
    assert "EUR" not in page and "revenue" not in page and "customers: count" in page and "first / last" in page


def test_a_money_unit_is_stated_only_when_the_table_shows_money():
    assert rp.shows_money(pd.DataFrame({"Revenue": ["EUR 1,200", "–"]}), "EUR")
    assert not rp.shows_money(pd.DataFrame({"Revenue": ["–", "–"], "Customers": ["12", "4"]}), "EUR")
    assert not rp.shows_money(pd.DataFrame({"Revenue": ["1,200"]}), "")


def test_table_headers_and_units_line_read_as_words_so_wide_tables_wrap():
    import pandas as pd

    from toolkit.reports.format import table_html

    frame = pd.DataFrame({"churn_probability_month_1": [0.25], "revenue_12m": [1200.0]})
    page = table_html(frame, "Churn", {"churn_probability_month_1": "share", "revenue_12m": "EUR"}, index=False)
    assert ">churn probability month 1</th>" in page and ">revenue 12m</th>" in page
    assert "units: churn probability month 1: share; revenue 12m: EUR" in page
    assert "churn_probability" not in page and "25.0%" in page   # the share is still recognised by its name
