"""The action-plan report's sections (toolkit/reports/action_plan.py) and their wording branches: no
money, no churn model, no contact log, one region; exports with and without privacy. Expected values
are computed here from the frames the tests build."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

import toolkit.actions as act
from toolkit.privacy import pseudonym
from toolkit.reports import action_plan as report
from toolkit.reports.context import ReportContext
from toolkit.results import RunResults

AS_OF = pd.Timestamp("2026-06-30")


def basis(regions=("North", "South")) -> pd.DataFrame:
    ids = [f"C{i:03d}" for i in range(8)]
    b = pd.DataFrame({
        "region": [regions[i % len(regions)] for i in range(8)], "customer_type": "individual",
        "value_tier": ["high", "high", "mid", "mid", "mid", "low", "low", "none"],
        "lifecycle_stage": ["active", "active", "active", "churned", "at risk", "active", "active", "potential"],
        "rfm_segment": "Loyal", "cadence_days": 60.0, "first_purchase": AS_OF - pd.Timedelta(days=800),
        "last_purchase": AS_OF - pd.Timedelta(days=20), "churn_date": pd.NaT,
        "churn_reason": [None, None, None, "price", None, None, None, None],
        "frequency": [9, 8, 5, 4, 4, 2, 1, 0], "value_to_date": 0.0,
        "value_12m": [5000.0, 4000.0, 4500.0, 0, 800, 100, 50, 0],
        "annual_value": [5000.0, 4000.0, 1500.0, 1200, 800, 100, 50, 0], "owner": None,
    }, index=pd.Index(ids, name="customer_id"))
    b["owner"] = b["region"]
    b.loc["C003", "churn_date"] = AS_OF - pd.Timedelta(days=60)
    b.loc["C007", "first_purchase"] = pd.NaT
    return b


def inputs(money=True, contacts=True, scores=True, regions=("North", "South")) -> report.PlanInputs:
    b = basis(regions)
    log = pd.DataFrame({"customer_id": ["C000", "C002", "C004"], "date": pd.to_datetime(["2026-06-10", "2025-06-01",
                                                                                          "2026-06-25"]),
                        "channel": ["phone", "e-mail", "phone"], "kind": ["complaint", "sales", "sales"],
                        "outcome": ["unresolved", "order", "order"]}) if contacts else None
    sc = pd.DataFrame({"churn_probability": [0.1, 0.6, 0.2, None, 0.7, 0.1, 0.1, None]}, index=b.index) if scores else None
    unit = "EUR" if money else "expected purchases"
    return report.PlanInputs(b, act.load_plan_config(), AS_OF, money, unit, log, None, sc, None, ("resolved",))


def ctx(tmp_path, privacy=True, currency="EUR"):
    ds = SimpleNamespace(name="tiny", currency=currency, has_money=bool(currency))
    return ReportContext("action_plan", ds, RunResults(tmp_path, notebook="action_plan", pseudonymise=privacy))


def test_plan_sections_publish_and_say_what_fits(tmp_path):
    rep, data = ctx(tmp_path), inputs()
    sec = report.action_plan(rep, data)
    plan = sec.value
    qualifying = data.basis.index.drop(["C005", "C006"])     # low tier, recently bought, no contact log entry...
    assert plan.plan["customer_id"].is_unique
    assert sec.sentences[0].startswith(f"**{len(plan.plan) + len(plan.overflow)}** customers qualify")
    assert "Everyone who qualifies fits the capacity." in sec.sentences
    by_reason = sec.tables[0].frame
    assert by_reason["customers"].sum() == len(plan.plan)
    row = plan.plan.set_index("customer_id")
    assert row.loc["C000", "reason"] == "unresolved_complaint" and row.loc["C001", "reason"] == "early_warning"
    assert row.loc["C003", "reason"] == "win_back" and row.loc["C007", "reason"] == "first_purchase_conversion"
    assert set(row.index) <= set(qualifying) | {"C005", "C006"}
    exported = pd.read_csv(tmp_path / "exports" / "action_plan_contacts.csv")
    assert list(exported.columns) == list(act.CRM_COLUMNS)
    assert exported["customer_id"].str.match(r"^P[0-9a-f]{12}$").all()
    xlsx = pd.read_excel(tmp_path / "exports" / "action_plan_contacts.xlsx")
    assert xlsx["customer_id"].tolist() == exported["customer_id"].tolist()
    key = pd.read_csv(tmp_path / "restricted" / "action_plan_contacts_id_key.csv")
    assert set(key["pseudonym"]) == set(exported["customer_id"])
    assert (pseudonym(key["customer_id"]) == key["pseudonym"]).all()
    assert "restricted/action_plan_contacts_id_key.csv" in sec.text_all
    assert "C000" not in sec.tables[2].frame["customer_id"].tolist()       # shown ids pseudonymised too


def test_privacy_off_exports_real_ids_and_no_key(tmp_path):
    report.action_plan(ctx(tmp_path, privacy=False), inputs())
    exported = pd.read_csv(tmp_path / "exports" / "action_plan_contacts.csv")
    assert exported["customer_id"].str.match(r"^C\d{3}$").all()
    assert not (tmp_path / "restricted").exists()


def test_overflow_is_reported_with_its_value(tmp_path):
    data = inputs()
    raw = dict(data.config)
    raw["capacity"] = {"per_week": 1, "by_owner": {}}
    raw["plan"] = {"weeks": 1}
    data.config = act.check_config(raw)
    sec = report.action_plan(ctx(tmp_path), data)
    over = sec.value.overflow
    assert len(over) and len(sec.value.plan) == 2                        # one per owner and week
    assert f"**{len(over)}** did not fit, with **{over['value_at_stake'].sum():,.0f} EUR**" in sec.text_all


def test_budget_money_and_no_money(tmp_path):
    rep = ctx(tmp_path)
    plan = report.action_plan(rep, inputs()).value
    sec = report.budget(rep, plan)
    b, e = plan.plan["budget"].sum(), plan.plan["expected_value"].sum()
    assert f"Budget: **{b:,.0f} EUR**" in sec.sentences[0] and f"**{(e - b) / b:.1f}x**" in sec.sentences[0]
    assert RunResults(tmp_path).read_metrics("action_plan")["budget"] == pytest.approx(b)
    rep2 = ctx(tmp_path / "nm", currency="")
    plan2 = report.action_plan(rep2, inputs(money=False)).value
    sec2 = report.budget(rep2, plan2)
    assert "no return in money can be computed" in sec2.sentences[0] and "EUR" not in sec2.text_all
    assert "expected purchases" in sec2.sentences[0] and plan2.roi is None


def test_no_churn_model_and_no_contact_log(tmp_path):
    plan = report.action_plan(ctx(tmp_path), inputs(contacts=False, scores=False)).value
    reasons = set(plan.plan["reason"])
    assert not reasons & {"early_warning", "unresolved_complaint", "overdue_follow_up"}
    assert {"win_back", "first_purchase_conversion"} <= reasons


def test_one_region_one_owner(tmp_path):
    plan = report.action_plan(ctx(tmp_path), inputs(regions=("North",))).value
    assert set(plan.plan["owner"]) == {"North"} and list(plan.by_owner().index) == ["North"]


def test_win_back_and_upgrade_sections(tmp_path):
    rep, data = ctx(tmp_path), inputs()
    wb = report.win_back(rep, data)
    assert wb.value.index.tolist() == ["C003"]
    assert wb.sentences[0].startswith("**1** customers left in the last 365 days; together they brought **1,200 EUR**")
    assert "**price** (100.0% of them)" in wb.sentences[0]
    up = report.upgrades(rep, data)
    # behaviour: the 12-month value against the high tier's 25% quantile (4,000 and 5,000 -> 4,250)
    assert up.value.index.tolist() == ["C002"] and "value in the last 12 months" in up.sentences[0]
    assert pd.read_csv(tmp_path / "exports" / "upgrade_candidates.csv")["customer_id"].str.startswith("P").all()
    data.basis.loc["C003", "churn_date"] = AS_OF - pd.Timedelta(days=500)
    assert "there is no one to win back" in report.win_back(rep, data).sentences[0]


def test_strategy_section_lists_default_and_rules(tmp_path):
    sec = report.strategy(ctx(tmp_path), inputs())
    t = sec.value
    assert t.loc[t["tier"] == "high", "service"].iloc[0] == "priority service"
    assert t.loc[(t["tier"] == "low") & (t["region"] == "any") & (t["customer_type"] == "any"), "channels"].iloc[0] \
        == "e-mail, messaging, social"
    assert len(t) == 4 + len(act.load_plan_config()["strategy"]["rules"])


def test_by_real_id_matches_pseudonyms():
    ids = pd.Index(["A1", "B2", "C3"])
    table = pd.DataFrame({"customer_id": pseudonym(pd.Series(["B2", "A1"])), "churn_probability": [0.2, 0.4]})
    out = report.by_real_id(table, ids, privacy=True)
    assert out["churn_probability"].to_dict() == {"A1": 0.4, "B2": 0.2}


def test_inputs_on_the_small_demo_without_churn_scores(small_demo_spec, tmp_path):
    from toolkit.reports import open_report

    rep = open_report("action_plan", str(small_demo_spec), str(tmp_path), True, None)
    sec = report.inputs(rep, None, "config/action_plan.yaml")
    assert "- No early warnings: the churn report has not published churn\\_scores in this run." in sec.sentences
    assert any(s.startswith("- Upgrade candidates by behaviour") for s in sec.sentences)
    assert "Owners: the region (the customer table has no `account_manager` or `owner` column)." in sec.sentences
    assert sec.tables[0].frame["setting"].str.startswith("reasons.win_back").any()
    assert len(sec.value.basis) == rep.ds.customers["customer_id"].nunique()


def test_bad_config_stops_naming_the_key(small_demo_spec, tmp_path):
    import yaml

    from toolkit.reports import open_report

    raw = yaml.safe_load(open(report.ROOT / "config" / "action_plan.yaml"))
    raw["capacity"]["by_owner"] = {"Atlantis": 5}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(raw))
    rep = open_report("action_plan", str(small_demo_spec), str(tmp_path), True, None)
    with pytest.raises(act.PlanConfigError, match="capacity.by_owner.Atlantis names a region the data do not have"):
        report.inputs(rep, None, str(path))
