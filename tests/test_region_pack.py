"""One region's pack (``--region``): the dataset narrowed to a region's customers, checked against
an independent filter of the source files; the reports that compare regions keep the whole
company's tests; the runner's region parameter, run folder and latest link."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from toolkit.data import DataError, load_dataset
from toolkit.data.focus import focus_region, match_region
from toolkit.runner.config import load_config
from toolkit.runner.pack import report_parameters
from toolkit.runner.rundir import latest_name, region_slug

CUSTOMERS = pd.DataFrame({"customer_id": [f"c{i}" for i in range(9)],
                          "region": ["Nord", "Nord", "Süd", "Süd", "Süd", "Ost", "Ost", "Ost", "Ost"]})


def _spec(tmp_path, engine: str = "duckdb") -> dict:
    rng = np.random.default_rng(7)
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    tx = pd.DataFrame({"customer_id": rng.choice(CUSTOMERS["customer_id"], 200),
                       "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, 200), unit="D"),
                       "amount": rng.gamma(2.0, 20.0, 200).round(2)})
    tx.to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame({"customer_id": ["c0", "c3", "c5", "c4"], "csat": [5, 4, 2, 3],
                  "date": "2025-06-01"}).to_csv(tmp_path / "surveys.csv", index=False)
    pd.DataFrame({"period": ["2025-01"] * 3, "region": ["Nord", "Süd", "Ost"], "channel": "email",
                  "spend": [100, 200, 300]}).to_csv(tmp_path / "spend.csv", index=False)
    pd.DataFrame({"supplier_id": ["s1", "s2", "s3"], "region": ["Süd", None, "Ost"], "on_time_share": 0.97,
                  "defect_rate": 0.01}).to_csv(tmp_path / "suppliers.csv", index=False)
    return {"name": "tiny_regions", "as_of": "2025-12-31", "base": str(tmp_path), "currency": "EUR", "engine": engine,
            "tables": {
                "customers": {"file": "customers.csv", "columns": {"customer_id": "customer_id", "region": "region"}},
                "transactions": {"file": "tx.csv", "columns": {"customer_id": "customer_id", "date": "date",
                                                               "amount": "amount"}},
                "surveys": {"file": "surveys.csv", "columns": {"customer_id": "customer_id",
                                                              "overall_satisfaction": "csat",
                                                              "response_date": "date"}},
                "marketing_spend": {"file": "spend.csv", "columns": {"period": "period", "region": "region",
                                                                     "channel": "channel", "spend": "spend"}},
                "suppliers": {"file": "suppliers.csv", "columns": {
                    "supplier_id": "supplier_id", "region": "region", "on_time_share": "on_time_share",
                    "defect_rate": "defect_rate"}}}}


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_region_keeps_its_customers_rows_in_every_table(tmp_path, engine):
    ds = load_dataset(_spec(tmp_path, engine))
    south = focus_region(ds, "Süd")
    ids = {"c2", "c3", "c4"}
    assert set(south.customers["customer_id"]) == ids
    raw = pd.read_csv(tmp_path / "tx.csv")            # independent: the source file filtered by hand
    want = raw.loc[raw["customer_id"].isin(ids)]
    got = south.transactions
    assert len(got) == len(want) and set(got["customer_id"]) <= ids
    assert got["amount"].sum() == pytest.approx(want["amount"].sum())
    assert sorted(south.surveys["overall_satisfaction"]) == [3, 4]
    assert south.marketing_spend["spend"].tolist() == [200]
    assert south.suppliers["supplier_id"].tolist() == ["s1", "s2"]   # a supplier without a region serves all
    assert south.focus.customers == 3 and south.focus.company_customers == 9
    assert south.focus.rows["transactions"] == (len(want), len(raw))
    assert south.focus.sentence().startswith("This report is for region Süd: its 3 of the company's 9 customers (33%)")
    assert south.company is ds and len(ds.customers) == 9      # the whole company is untouched
    assert "amount" in south.columns_with_data("transactions")


def test_a_misspelt_region_stops_naming_the_regions_and_case_is_forgiven(tmp_path):
    ds = load_dataset(_spec(tmp_path))
    assert match_region(ds, " ost ") == "Ost"
    with pytest.raises(DataError, match=r"region 'West' is not in the data; the customers' regions are: Nord, Ost, "
                                        r"Süd") as err:
        focus_region(ds, "West")
    assert err.value.column == "region"
    no_region = load_dataset({**_spec(tmp_path), "tables": {"customers": {
        "file": "customers.csv", "columns": {"customer_id": "customer_id"}}}})
    with pytest.raises(DataError, match="needs a region column in the customers table"):
        focus_region(no_region, "Nord")


def test_region_slugs_and_latest_links():
    assert region_slug("Île-de-France") == "Ile-de-France"
    assert region_slug("North East") == "North_East"
    han = region_slug("华东")
    assert han.startswith("r") and len(han) == 9 and han != region_slug("华南")
    assert latest_name() == "latest" and latest_name("North East") == "latest-North_East"


def test_the_config_and_the_command_line_give_the_region(tmp_path, project_root):
    cfg = load_config(project_root / "config" / "reports.yaml", region="East")
    assert cfg.region == "East"
    r = cfg.report("churn")
    assert report_parameters(cfg, r, "x")["region"] == "East"
    company = load_config(project_root / "config" / "reports.yaml")
    assert company.region is None and "region" not in report_parameters(company, r, "x")
    bad = tmp_path / "bad.yaml"
    bad.write_text((project_root / "config" / "reports.yaml").read_text() + "\nregion: 3\n")
    with pytest.raises(Exception, match="'region' must be the name of a region"):
        load_config(bad)


def test_kpi_scorecard_for_a_region_keeps_the_company_tests():
    from toolkit.kpi.scorecard import COMPANY, KPIResult

    sc = pd.DataFrame({"region": ["A", "B", "C", COMPANY], "period": "L12M", "metric": "revenue",
                       "value": [1.0, 2.0, 3.0, 6.0], "p_adj": [0.01, 0.5, 0.2, np.nan],
                       "significant": [True, False, False, False], "comparison": "rest"})
    res = KPIResult(table=sc[["region", "period", "value"]], scorecard=sc, stats=sc[["region", "period"]],
                    basis="activity", period="Q", alpha=0.05, correction="holm", window="L12M")
    b = res.for_region("B")
    assert b.scorecard["region"].tolist() == ["B", COMPANY]
    assert b.scorecard.loc[0, "p_adj"] == 0.5          # adjusted across all three regions, not re-tested
    assert res.for_region("A").flags()["region"].tolist() == ["A"] and b.flags().empty


@pytest.fixture(scope="module")
def region_run(small_demo_spec, tmp_path_factory):
    """Data quality, segmentation and the KPI scorecard of the small demo, for the company and for
    East, into one output folder."""
    from toolkit.runner import load_config, run_pack

    out = tmp_path_factory.mktemp("region_runs")
    only = ["data_quality", "segmentation", "kpi_scorecard"]
    cfg = lambda **kw: load_config(os.path.join(os.getcwd(), "config", "reports.yaml"),  # noqa: E731
                                   dataset=str(small_demo_spec), output_dir=str(out), **kw)
    company = run_pack(cfg(), only=only, echo=lambda *a: None)
    east = run_pack(cfg(region="east"), only=only, echo=lambda *a: None)
    return out, company, east


def test_a_region_pack_runs_beside_the_company_pack(region_run, small_demo_spec):
    out, company, east = region_run
    assert company.exit_code == 0 and east.exit_code == 0
    assert east.run_id.endswith("-East") and east.manifest["region"] == "East"
    assert os.readlink(out / "latest") == company.run_id          # the company's link is left alone
    assert os.readlink(out / "latest-East") == east.run_id
    assert "region East" in east.manifest["title"]
    # segments: only East's customers (pseudonymised ids: count them against the data)
    ds = load_dataset(str(small_demo_spec), tables=["customers"])
    n_east = int((ds.customers["region"] == "East").sum())
    seg_e = pd.read_parquet(east.run_dir / "results" / "customer_segments.parquet")
    seg_c = pd.read_parquet(company.run_dir / "results" / "customer_segments.parquet")
    assert len(seg_e) <= n_east < len(seg_c)
    # the KPI scorecard is the company's, so East is still tested against the rest of the company
    k_e = pd.read_parquet(east.run_dir / "results" / "kpi_scorecard.parquet")
    k_c = pd.read_parquet(company.run_dir / "results" / "kpi_scorecard.parquet")
    pd.testing.assert_frame_equal(k_e, k_c)
    page = (east.run_dir / "kpi_scorecard.html").read_text()
    assert "This report is for region East" in page and "Coastal" not in page
    dq = (east.run_dir / "data_quality.html").read_text()
    assert f"its {n_east:,} of the company" in dq
