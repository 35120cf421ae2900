"""The wider network: the optional partners and suppliers tables (loader), their scorecards
(toolkit.network) against the demo generator's truth, and the touchpoint report's "Partners and
suppliers" section on small hand-computed frames, including datasets without either table."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit import network as net
from toolkit.data import load_dataset
from toolkit.data.demo import read_ground_truth
from toolkit.data.errors import DataError
from toolkit.reports import touchpoints as report
from toolkit.reports.context import ReportContext, RunSettings
from toolkit.results import RunResults

PARTNER_COLUMNS = {"partner_id": "code", "partner_name": "name", "region": "region", "period": "quarter",
                   "sales": "sold", "target": "target"}
SUPPLIER_COLUMNS = {"supplier_id": "code", "supplier_name": "name", "period": "quarter",
                    "on_time_share": "on_time", "defect_rate": "defects", "price_index": "price_index"}

# Hand-built frames. Partners (two quarters): A in North 120 + 110 of 100 + 120 (attainment 230 / 220,
# not the mean of the two quarters' 120% and 91.7%),
# B in North 150 + 170 of 200 + 200 (80%, below target), C in South 60 + 40 of 50 + 50 (exactly 100%:
# on target). Suppliers: S1 fine, S2 late (91% on time) and defective (3%), S3 dear (price index 120).
PARTNERS = pd.DataFrame({
    "code": ["A", "A", "B", "B", "C", "C"],
    "name": ["Alpha", "Alpha", "Beta", "Beta", "Gamma", "Gamma"],
    "region": ["North", "North", "North", "North", "South", "South"],
    "quarter": ["2025-01-01", "2025-04-01"] * 3,
    "sold": [120, 110, 150, 170, 60, 40],
    "target": [100, 120, 200, 200, 50, 50],
})
SUPPLIERS = pd.DataFrame({
    "code": ["S1", "S1", "S2", "S2", "S3", "S3"],
    "name": ["Steelco", "Steelco", "Slowship", "Slowship", "Pricey", "Pricey"],
    "quarter": ["2025-01-01", "2025-04-01"] * 3,
    "on_time": [0.97, 0.99, 0.90, 0.92, 0.98, 0.98],
    "defects": [0.01, 0.01, 0.03, 0.03, 0.005, 0.005],
    "price_index": [100.0, 102.0, 99.0, 99.0, 119.0, 121.0],
})
MARKET = pd.DataFrame({"region": ["North"], "competitor": ["Rival"], "market_share": [0.2], "price_index": [1.0],
                       "growth": [0.03]})


def _dataset(folder, partners=None, suppliers=None, market=None, currency="EUR", rules=None):
    """Write the given frames as CSV files and load them through a spec."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, frame, columns in (("partners", partners, PARTNER_COLUMNS), ("suppliers", suppliers, SUPPLIER_COLUMNS),
                                 ("market", market, {c: c for c in MARKET.columns})):
        if frame is None:
            continue
        frame.to_csv(folder / f"{name}.csv", index=False)
        tables[name] = {"file": f"{name}.csv", "columns": dict(columns)}
        if rules:
            tables[name]["rules"] = rules
    spec = {"name": "net", "as_of": "2025-06-30", "tables": tables}
    if currency:
        spec["currency"] = currency
    path = folder / "net.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_dataset(path)


def _context(ds, tmp_path) -> ReportContext:
    from toolkit.plotting import apply_style

    apply_style()
    return ReportContext("touchpoints", ds, RunResults(tmp_path / "run", notebook="touchpoints", pseudonymise=False),
                         RunSettings())


# ------------------------------------------------------------------------------------------ scorecards
def test_partner_scorecard_on_hand_computed_frames(tmp_path):
    ds = _dataset(tmp_path, partners=PARTNERS)
    card = net.partner_scorecard(ds.partners).set_index("partner_id")
    assert card.loc["A", "sales"] == 230 and card.loc["A", "target"] == 220
    assert card.loc["A", "attainment"] == pytest.approx(230 / 220)
    assert card.loc["B", "attainment"] == pytest.approx(320 / 400)
    assert card.loc["C", "attainment"] == pytest.approx(1.0)
    assert card["below_target"].to_dict() == {"A": False, "B": True, "C": False}   # exactly 100% is on target
    assert card.loc["A", "share_of_region_sales"] == pytest.approx(230 / 550)
    assert card.loc["C", "share_of_region_sales"] == pytest.approx(1.0)
    assert card.loc["B", "latest_attainment"] == pytest.approx(170 / 200)
    # two periods: the log-linear trend is the change from the first to the second
    assert card.loc["A", "sales_trend"] == pytest.approx(110 / 120 - 1)
    assert card.loc["C", "sales_trend"] == pytest.approx(40 / 60 - 1)
    assert (card["periods"] == 2).all() and card.loc["A", "partner"] == "Alpha"
    regions = net.region_partner_scorecard(card.reset_index())
    assert regions.loc["North", "attainment"] == pytest.approx(550 / 620)
    assert regions.loc["North", "share_of_partner_sales"] == pytest.approx(550 / 650)
    assert regions.loc["North", "below_target"] == 1 and regions.loc["South", "partners"] == 1
    assert list(regions.index) == ["North", "South"]   # lowest attainment first
    # a stricter bar: C at exactly 100% is below a 105% bar
    assert net.partner_scorecard(ds.partners, on_target=1.05).set_index("partner_id")["below_target"]["C"]


def test_partner_scorecard_without_periods_has_no_trend():
    frame = pd.DataFrame({"partner_id": ["A", "A", "B"], "region": ["N", "N", "N"], "sales": [10.0, 5.0, 30.0],
                          "target": [10.0, 10.0, 0.0]})
    card = net.partner_scorecard(frame).set_index("partner_id")
    assert card.loc["A", "attainment"] == pytest.approx(15 / 20) and card.loc["A", "partner"] == "A"
    assert math.isnan(card.loc["B", "attainment"]) and not card.loc["B", "below_target"]   # no target: no verdict
    assert card["sales_trend"].isna().all() and card["latest_attainment"].isna().all()


def test_supplier_scorecard_flags_against_thresholds(tmp_path):
    ds = _dataset(tmp_path, suppliers=SUPPLIERS)
    card = net.supplier_scorecard(ds.suppliers).set_index("supplier_id")
    assert card.loc["S1", "on_time_share"] == pytest.approx(0.98)
    assert card.loc["S2", "defect_rate"] == pytest.approx(0.03)
    assert card.loc["S3", "price_index"] == pytest.approx(120.0)
    assert card["late"].to_dict() == {"S1": False, "S2": True, "S3": False}
    assert card["defective"].to_dict() == {"S1": False, "S2": True, "S3": False}
    assert card["expensive"].to_dict() == {"S1": False, "S2": False, "S3": True}
    assert list(card.index[:2]) == ["S2", "S3"] and card["outside_thresholds"].sum() == 2
    loose = net.supplier_scorecard(ds.suppliers, net.SupplierThresholds(on_time_min=0.9, defect_max=0.05,
                                                                        price_index_max=125)).set_index("supplier_id")
    assert not loose["outside_thresholds"].any()


def test_period_name():
    assert net.period_name(pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01"])) == "quarter"
    assert net.period_name(pd.to_datetime(["2025-01-01", "2025-02-01"])) == "month"
    assert net.period_name(pd.to_datetime(["2024-01-01", "2025-01-01"])) == "year"
    assert net.period_name(pd.to_datetime(["2025-01-01"])) == "period"


# ---------------------------------------------------------------------------- the demo's planted truth
@pytest.fixture(scope="module")
def demo_network(small_demo_spec):
    ds = load_dataset(small_demo_spec, tables=["partners", "suppliers"])
    truth = read_ground_truth(small_demo_spec.parent / "data")["network"]
    return ds, truth


def test_scorecard_recovers_the_planted_partners(demo_network):
    ds, truth = demo_network
    card = net.partner_scorecard(ds.partners).set_index("partner_id")
    assert set(card.index) == set(truth["partners"])
    assert sorted(card.index[card["below_target"]]) == truth["partners_below_target"] == ["PT07", "PT11", "PT16"]
    nq = len(truth["quarters"])
    assert (card["periods"] == nq).all()
    sd = truth["partner_sales_noise_sd_log"]
    growth = (1 + truth["partner_target_growth_per_quarter"]) ** np.arange(nq)
    for pid, t in truth["partners"].items():
        # sales_q = target_q x a_q x exp(e_q - sd^2/2), e_q ~ N(0, sd^2) independent: the summed sales over the
        # summed target has relative standard deviation sd x sqrt(sum w^2) / sum w, w_q = target_q x a_q
        # (first order in sd). Four of them: a false alarm among 18 partners has probability below 0.2%.
        w = growth * np.linspace(t["attainment_first_quarter"], t["attainment_last_quarter"], nq)
        rel_sd = sd * math.sqrt((w ** 2).sum()) / w.sum()
        assert card.loc[pid, "attainment"] == pytest.approx(t["attainment"], rel=4 * rel_sd), pid
        assert card.loc[pid, "region"] == t["region"]
        # the trend: log sales = log w_q + noise; the slope's standard deviation is sd / sqrt(sum (q - mean)^2)
        q = np.arange(nq)
        slope_sd = sd / math.sqrt(((q - q.mean()) ** 2).sum())
        expected = np.polyfit(q, np.log(w), 1)[0]
        assert math.log1p(card.loc[pid, "sales_trend"]) == pytest.approx(expected, abs=4 * slope_sd), pid
    declining = truth["partners_declining"]
    assert declining == ["PT16"] and card["sales_trend"].idxmin() == "PT16" and card.loc["PT16", "sales_trend"] < 0


def test_scorecard_recovers_the_planted_suppliers(demo_network):
    ds, truth = demo_network
    th = truth["thresholds"]
    card = net.supplier_scorecard(ds.suppliers, net.SupplierThresholds(th["on_time_min"], th["defect_max"],
                                                                       th["price_index_max"])).set_index("supplier_id")
    assert sorted(card.index[card["outside_thresholds"]]) == truth["suppliers_outside_thresholds"]
    assert truth["suppliers_outside_thresholds"] == ["SU04", "SU05", "SU06", "SU07"]
    nq = len(truth["quarters"])
    n, m = truth["supplier_deliveries_per_quarter"], truth["supplier_units_inspected_per_quarter"]
    for sid, t in truth["suppliers"].items():
        for flag in ("late", "defective", "expensive"):
            assert bool(card.loc[sid, flag]) == t[flag], (sid, flag)
        # means of nq binomial shares (and of normal prices): four standard errors
        p, d = t["on_time_share"], t["defect_rate"]
        assert card.loc[sid, "on_time_share"] == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / (n * nq)))
        assert card.loc[sid, "defect_rate"] == pytest.approx(d, abs=4 * math.sqrt(d * (1 - d) / (m * nq)))
        assert card.loc[sid, "price_index"] == pytest.approx(t["price_index"],
                                                             abs=4 * truth["supplier_price_noise_sd"] / math.sqrt(nq))


def test_the_demo_network_dirt_is_counted(demo_network):
    ds, truth = demo_network
    rep = ds.report.to_frame()
    dup = rep.loc[(rep["table"] == "partners") & (rep["rule"] == "duplicates")]
    assert dup["rows"].sum() == truth["injected"]["partners_duplicate_rows"] == 1
    pct = rep.loc[(rep["table"] == "suppliers") & (rep["rule"] == "out_of_range")]
    assert pct["rows"].sum() == truth["injected"]["suppliers_on_time_in_percent_rows"] == 1
    assert pct["column"].tolist() == ["on_time"] and pct["file"].iloc[0].endswith("suppliers.csv")
    bad = truth["injected"]["suppliers_on_time_in_percent"][0]
    kept = ds.suppliers.loc[(ds.suppliers["supplier_id"] == bad["supplier"])
                            & (ds.suppliers["period"] == pd.Timestamp(bad["quarter"]))]
    assert len(kept) == 1 and kept["on_time_share"].iloc[0] <= 1   # the real row stays, the percent copy goes
    nq, n_partners, n_suppliers = len(truth["quarters"]), len(truth["partners"]), len(truth["suppliers"])
    assert len(ds.partners) == nq * n_partners and len(ds.suppliers) == nq * n_suppliers


# ------------------------------------------------------------------------------------------------ loader
def test_loader_counts_and_reports_bad_network_rows(tmp_path):
    partners = PARTNERS.astype({"target": object})
    partners.loc[1, "sold"] = -5          # line 3: negative sales
    partners.loc[4, "target"] = "n/a"     # line 6: not a number
    suppliers = SUPPLIERS.copy()
    suppliers.loc[2, "on_time"] = 91.0    # line 4: a percentage, not a share
    suppliers.loc[5, "defects"] = -0.01   # line 7: below 0
    suppliers.loc[0, "price_index"] = -3  # line 2: optional column, set to missing (row kept)
    ds = _dataset(tmp_path, partners=partners, suppliers=suppliers, rules={"max_bad_fraction": 0.5})
    rep = {(r.table, r.rule, r.column): r for r in ds.report.results}
    neg = rep[("partners", "out_of_range", "sold")]
    assert (neg.rows, neg.action, neg.lines) == (1, "dropped", [3]) and neg.file.endswith("partners.csv")
    nan = rep[("partners", "bad_numbers", "target")]
    assert (nan.rows, nan.lines, [str(x) for x in nan.examples]) == (1, [6], ["n/a"])
    assert rep[("suppliers", "out_of_range", "on_time")].lines == [4]
    assert rep[("suppliers", "out_of_range", "defects")].lines == [7]
    price = rep[("suppliers", "out_of_range", "price_index")]
    assert (price.action, price.lines) == ("repaired", [2])
    shown = ds.report.to_frame()   # the load report as the data-quality report shows it names the rows too
    assert "3" in shown.loc[(shown["table"] == "partners") & (shown["column"] == "sold"), "lines"].iloc[0]
    assert len(ds.partners) == 4 and len(ds.suppliers) == 4
    assert ds.suppliers["price_index"].isna().sum() == 1
    for t in ("partners", "suppliers"):   # the counts balance: read - dropped = out
        c = ds.report.tables[t]
        assert (c.rows_read, c.rows_out) == (6, 4)


def test_loader_stops_on_a_network_table_that_is_mostly_bad(tmp_path):
    suppliers = SUPPLIERS.copy()
    suppliers["on_time"] = suppliers["on_time"] * 100   # every share given in percent
    with pytest.raises(DataError) as err:
        _dataset(tmp_path, suppliers=suppliers)
    assert err.value.column == "on_time" and err.value.rows == [2, 3, 4, 5, 6, 7]
    assert err.value.file.endswith("suppliers.csv") and "out_of_range" in str(err.value)


def test_spec_rejects_an_unknown_network_column(tmp_path):
    from toolkit.data.errors import SpecError
    from toolkit.data.spec import parse_spec

    with pytest.raises(SpecError, match="no model column 'revenue'"):
        parse_spec({"name": "x", "tables": {"partners": {"file": "p.csv", "columns": {"revenue": "sold"}}}})


# ----------------------------------------------------------------------------------------------- section
def test_section_names_partners_below_target_and_suppliers_outside(tmp_path):
    ds = _dataset(tmp_path, partners=PARTNERS, suppliers=SUPPLIERS)
    sec = report.partners_and_suppliers(_context(ds, tmp_path))
    text = sec.text_all
    assert "Sales through **3 partners** were **EUR 650.00** against targets of EUR 720.00" in text
    assert "over 2 quarters" in text and "**90.3%** of target" in text
    assert "1 partner of 3 is below target: **Beta** in North (80.0%)." in text
    assert "Alpha" not in " ".join(s for s in sec.sentences if "below target" in s)
    assert "Sales are falling through **Gamma** (-33.3% per quarter; 80.0% of target in the latest quarter), " \
           "**Alpha** (-8.3% per quarter; 91.7% of target in the latest quarter)." in text
    assert ("2 suppliers of 3 are outside the thresholds (on time at least 95%, defects at most 2%, price index at "
            "most 110): **Slowship** (on time 91.0%; defects 3.0%), **Pricey** (price index 120.0).") in text
    assert len(sec.figures) == 1
    fig = sec.figures[0].figure
    ax = fig.axes[0]
    assert sec.figures[0].title == "Partner sales against target"
    assert ax.get_xlabel() == "Attainment of target (%)" and ax.get_ylabel() == "Partner"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Beta (North)", "Gamma (South)", "Alpha (North)"]
    units = {t.caption: t.units for t in sec.tables}
    region_units = units["Sales through partners against target by region"]
    assert region_units["sales / target"] == "EUR" and region_units["attainment (%)"] == "% of target"
    shown = sec.tables[0].frame
    assert shown.loc["North", "attainment (%)"] == pytest.approx(100 * 550 / 620)
    assert "share of deliveries on time" in units["Supplier scorecard (outside the thresholds first)"].values()
    html = sec.tables[-1]._repr_html_()
    assert "91.0%" in html and "late deliveries, defects" in html   # shares shown as percentages
    published = RunResults(tmp_path / "run").read_table("network_partners").set_index("partner_id")
    assert published.loc["B", "attainment"] == pytest.approx(0.8)
    assert RunResults(tmp_path / "run").read_table("network_suppliers")["outside_thresholds"].sum() == 2
    assert sec.value.partners is not None and sec.value.suppliers is not None


def test_section_when_everyone_is_on_target_and_within_thresholds(tmp_path):
    partners = PARTNERS.assign(sold=PARTNERS["target"] * 1.1)
    suppliers = SUPPLIERS.assign(on_time=0.99, defects=0.005, price_index=100.0)
    ds = _dataset(tmp_path, partners=partners, suppliers=suppliers)
    text = report.partners_and_suppliers(_context(ds, tmp_path)).text_all
    assert "All 3 partners reached their target (100% or more of it)." in text
    assert "below target:" not in text and "falling" not in text
    assert "Sales through every partner grew or held over the quarters." in text
    assert "All 3 suppliers are within the thresholds (on time at least 95%, defects at most 2%, price index at " \
           "most 110)." in text


def test_section_thresholds_are_parameters(tmp_path):
    ds = _dataset(tmp_path, suppliers=SUPPLIERS)
    text = report.partners_and_suppliers(_context(ds, tmp_path), on_time_min=0.9, defect_max=0.05,
                                         price_index_max=125).text_all
    assert "All 3 suppliers are within the thresholds (on time at least 90%, defects at most 5%, price index at " \
           "most 125)." in text


def test_section_with_one_of_the_two_tables(tmp_path):
    only_p = _dataset(tmp_path / "p", partners=PARTNERS, currency=None)
    sec = report.partners_and_suppliers(_context(only_p, tmp_path / "p"))
    assert "The data hold no supplier table, so there is no supplier scorecard." in sec.sentences
    assert "EUR" not in sec.text_all and "were **650.00**" in sec.text_all   # no currency given: none invented
    assert sec.tables[0].units["sales / target"] == "currency units" and len(sec.figures) == 1
    only_s = _dataset(tmp_path / "s", suppliers=SUPPLIERS)
    sec = report.partners_and_suppliers(_context(only_s, tmp_path / "s"))
    assert sec.sentences[0] == "The data hold no partner table, so there is no partner scorecard."
    assert len(sec.tables) == 1 and len(sec.figures) == 1
    ax = sec.figures[0].figure.axes[0]
    assert ax.get_xlabel() == "Deliveries on time (%)" and ax.get_ylabel() == "Defect rate (%)"


def test_section_without_partner_or_supplier_table_is_one_sentence(tmp_path):
    ds = _dataset(tmp_path, market=MARKET)
    assert ds.table_names == ["market"]
    sec = report.partners_and_suppliers(_context(ds, tmp_path))
    assert sec.blocks == ["The data hold no partner or supplier table, so there is no partner or supplier scorecard."]
    assert sec.value is None
    assert not (tmp_path / "run").exists() or not list((tmp_path / "run").rglob("network_*"))
