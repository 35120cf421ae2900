"""Intervals on the CLV table (toolkit.clv.valuation.value_intervals) and the effects of customer attributes
(toolkit.clv.evaluation.attribute_effects) on the small demo, and the CLV notebook's sections built on them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.clv.evaluation import attribute_effects as ae
from toolkit.clv.evaluation import holdout as ho
from toolkit.clv import rfm_summary
from toolkit.clv.evaluation.fitting import fit_models, fit_spend_model
from toolkit.clv.occasions import first_purchase_amount, purchase_occasions
from toolkit.clv.valuation.per_customer import customer_value, explicit_churn
from toolkit.clv.valuation.value_intervals import value_intervals

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_clv.ipynb"


@pytest.fixture(scope="module")
def demo(small_demo_spec):
    from toolkit.data import load_dataset

    ds = load_dataset(small_demo_spec)
    tx = purchase_occasions(ds.transactions).transactions
    obs = pd.Timestamp(ds.as_of).normalize()
    cal = ho.default_calibration_end(pd.to_datetime(tx["date"]).min().normalize(), obs)
    return ds, tx, obs, rfm_summary(tx, obs, cal, "W"), rfm_summary(tx, obs, None, "W")


def test_attribute_effects_on_the_small_demo(demo):
    ds, _, _, rfm_cal, _ = demo
    assert ae.covariate_columns(None) == []
    assert ae.covariate_columns(ds.customers) == ["region", "customer_type", "acquisition_channel"]
    customers = ds.customers.copy()
    customers.loc[customers.index[:3], "region"] = np.nan            # customers without attributes are dropped
    kept, attrs, dropped = ae.attach_attributes(rfm_cal, customers, ["region", "customer_type"])
    missing = int(rfm_cal.index.isin(customers.loc[customers["region"].isna(), "customer_id"]).sum())
    assert dropped == missing and len(kept) == len(rfm_cal) - missing and attrs.index.equals(kept.index)
    assert kept.attrs.get("time_unit") == rfm_cal.attrs.get("time_unit")

    effects = ae.attribute_effects(rfm_cal, ds.customers)
    assert effects.applicable and not effects.failures and effects.n_used == len(rfm_cal) and effects.n_dropped == 0
    # each model's reference is the most common level among the customers it is fitted on: all of them for
    # BG/NBD, the repeat customers with a positive mean spend for Gamma-Gamma
    attrs = ds.customers.set_index("customer_id").reindex(rfm_cal.index)
    spenders = (rfm_cal["frequency"] > 0) & (rfm_cal["monetary_value"] > 0)
    cols = ["region", "customer_type", "acquisition_channel"]
    assert effects.references == {"BG/NBD": {c: attrs[c].value_counts().idxmax() for c in cols},
                                  "Gamma-Gamma": {c: attrs.loc[spenders, c].value_counts().idxmax() for c in cols}}
    tab = effects.effects.set_index(["process", "term"])
    ent = tab.loc[("purchase", "customer_type[enterprise]")]
    assert ent.multiplier > 1 and ent.ci_lower > 1 and ent.reference == "individual"
    assert {"dropout", "spend"} <= set(tab.index.get_level_values("process"))
    assert tab["sentence"].str.len().gt(20).all()
    assert not ae.attribute_effects(rfm_cal, ds.customers[["customer_id"]]).applicable


def test_value_intervals_on_the_small_demo(demo):
    ds, tx, obs, _, rfm = demo
    final = fit_models(rfm, ["BG/NBD"])[0]["BG/NBD"]
    gg = fit_spend_model(rfm)
    table = customer_value(rfm, final, gg, horizon=12, discount_rate=0.1, margin=0.3,
                           churned=explicit_churn(ds.customers, obs), first_amount=first_purchase_amount(tx, obs))
    vi = value_intervals(final, rfm, gg, table, horizon=12, discount_rate=0.1, n_draws=150, seed=1)
    pop = vi.population.set_index("key")
    assert list(pop.index) == ["expected_purchases", "customers_alive", "total_clv"]
    assert (pop["lower"] <= pop["estimate"]).all() and (pop["estimate"] <= pop["upper"]).all()
    assert (pop["lower"] < pop["upper"]).all()
    assert pop.loc["total_clv", "estimate"] == pytest.approx(table["clv"].sum(), rel=1e-9)
    c = vi.customers
    assert c.index.equals(table.index)
    np.testing.assert_allclose(c["clv"], table["clv"], rtol=1e-12)
    assert (c["clv_lower"] <= c["clv"] * (1 + 1e-9) + 1e-12).mean() > 0.99
    assert (c["clv"] <= c["clv_upper"] * (1 + 1e-9) + 1e-12).mean() > 0.99
    gone = table["explicitly_churned"].to_numpy(bool)
    assert (c.loc[gone, ["clv_lower", "clv_upper", "prob_alive_upper"]] == 0).all().all()
    m = vi.metrics()
    assert m["total_clv_lower"] <= m["total_clv_estimate"] <= m["total_clv_upper"] and m["interval_draws"] == 150


def _run(tmp_path, spec, **params):
    import papermill as pm

    run = tmp_path / "run"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"),
                        parameters={"dataset": str(spec), "run_dir": str(run), "privacy": True, **params},
                        kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    return run, json.loads((run / "results" / "clv.metrics.json").read_text())


def _text(tmp_path) -> str:
    nb = json.loads((tmp_path / "out.ipynb").read_text())
    return "\n".join(json.dumps(cell.get("outputs", [])) + "".join(cell["source"]) for cell in nb["cells"])


@pytest.mark.slow
def test_notebook_sections_on_small_demo(tmp_path, small_demo_spec):
    run, metrics = _run(tmp_path, small_demo_spec)
    effects = pd.read_parquet(run / "results" / "clv_covariate_effects.parquet")
    ent = effects.set_index(["process", "term"]).loc[("purchase", "customer_type[enterprise]")]
    assert ent.multiplier > 1 and ent.ci_lower > 1
    assert metrics["total_clv_lower"] <= metrics["total_clv_estimate"] <= metrics["total_clv_upper"]
    assert metrics["total_clv_estimate"] == pytest.approx(metrics["total_clv"], rel=1e-9)
    export = pd.read_csv(run / "exports" / "customer_clv.csv")
    assert {"clv_lower", "clv_upper"} <= set(export.columns) and export["clv_lower"].notna().all()
    text = _text(tmp_path)
    for phrase in ("How certain are the values?", "parameter uncertainty only", "What drives purchasing",
                   "not causal effects"):
        assert phrase in text, phrase


@pytest.mark.slow
@pytest.mark.realdata
def test_notebook_sections_on_cdnow_sample(tmp_path, shared_data):
    run, metrics = _run(tmp_path, ROOT / "config" / "datasets" / "cdnow_sample.yaml", calibration_end="1997-09-30")
    assert not (run / "results" / "clv_covariate_effects.parquet").exists()
    assert metrics["total_clv_lower"] <= metrics["total_clv_estimate"] <= metrics["total_clv_upper"]
    assert metrics["covariate_customers"] is None
    assert "does not apply" in _text(tmp_path)
