"""The action plan's domain logic (toolkit.actions) on small frames built here: one row per customer,
the precedence, capacity and what did not fit, the budget arithmetic, the privacy key and config
errors that name the key."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import toolkit.actions as act
from toolkit.data.errors import DataError
from toolkit.privacy import pseudonym

AS_OF = pd.Timestamp("2026-06-30")


@pytest.fixture(scope="module")
def cfg() -> act.PlanConfig:
    return act.load_plan_config()


def basis(n: int = 6, **over) -> pd.DataFrame:
    ids = [f"C{i:03d}" for i in range(n)]
    b = pd.DataFrame({
        "region": "North", "customer_type": "individual", "value_tier": "mid", "lifecycle_stage": "active",
        "rfm_segment": "Loyal", "cadence_days": 60.0, "first_purchase": AS_OF - pd.Timedelta(days=800),
        "last_purchase": AS_OF - pd.Timedelta(days=10), "churn_date": pd.NaT, "churn_reason": None,
        "frequency": 5, "value_to_date": 2000.0, "value_12m": 900.0, "annual_value": 1000.0, "owner": "North",
    }, index=pd.Index(ids, name="customer_id"))
    for k, v in over.items():
        b[k] = v
    return b


def contacts(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "date", "channel", "kind", "outcome"]).assign(
        date=lambda d: pd.to_datetime(d["date"]))


# ------------------------------------------------------------------------------------- config errors
@pytest.mark.parametrize("path, value, key", [
    (("capacity", "per_week"), -3, "capacity.per_week"),
    (("capacity", "per_week"), "many", "capacity.per_week"),
    (("channels", "cost", "visit"), -1.0, "channels.cost.visit"),
    (("reasons", "win_back", "take_up"), 1.5, "reasons.win_back.take_up"),
    (("reasons", "win_back", "offer_cost"), -5, "reasons.win_back.offer_cost"),
    (("plan", "weeks"), 0, "plan.weeks"),
])
def test_bad_values_stop_naming_the_key(cfg, path, value, key):
    raw = copy.deepcopy(dict(cfg))
    d = raw
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = value
    with pytest.raises(act.PlanConfigError) as err:
        act.check_config(raw, "plan.yaml")
    assert isinstance(err.value, DataError) and err.value.key == key and key in str(err.value)


def test_unknown_keys_reasons_and_channels_stop(cfg):
    for mutate, key in ((lambda r: r.update(colour="blue"), "colour"),
                        (lambda r: r["reasons"]["win_back"].update(discount=0.1), "reasons.win_back.discount"),
                        (lambda r: r["channels"]["cost"].update(fax=1.0), "channels.cost.fax"),
                        (lambda r: r["strategy"]["default"]["low"].update(channels=["fax"]),
                         "strategy.default.low.channels"),
                        (lambda r: r.update(precedence=["win_back"]), "precedence"),
                        (lambda r: r["strategy"]["rules"].append({"tier": "gold"}), "strategy.rules[2].tier")):
        raw = copy.deepcopy(dict(cfg))
        mutate(raw)
        with pytest.raises(act.PlanConfigError, match=r"^plan.yaml: " + key.replace("[", r"\[").replace(".", r"\.")):
            act.check_config(raw, "plan.yaml")


def test_config_checked_against_the_data(cfg):
    raw = copy.deepcopy(dict(cfg))
    raw["capacity"]["by_owner"] = {"Atlantis": 10}
    c = act.check_config(raw, "plan.yaml")
    with pytest.raises(act.PlanConfigError, match="capacity.by_owner.Atlantis names a region"):
        act.check_against_data(c, ["North", "South"], None, ["customer_id", "region"])
    with pytest.raises(act.PlanConfigError, match="'visit', a channel the contact log never uses"):
        act.check_against_data(cfg, ["North"], ["e-mail", "phone", "messaging", "social"], [])
    raw = copy.deepcopy(dict(cfg))
    raw["owner"]["column"] = "key_account"
    with pytest.raises(act.PlanConfigError, match="owner.column names 'key_account'"):
        act.check_against_data(act.check_config(raw), ["North"], None, ["customer_id"])
    raw = copy.deepcopy(dict(cfg))
    raw["strategy"]["rules"] = [{"tier": "low", "region": "Mars", "channels": ["e-mail"]}]
    with pytest.raises(act.PlanConfigError, match=r"strategy.rules\[0\].region names 'Mars'"):
        act.check_against_data(act.check_config(raw), ["North"], None, [])
    act.check_against_data(cfg, ["North"], ["visit", "phone", "e-mail", "messaging", "social"], [])  # fits


# ------------------------------------------------------------------------------------- reasons
def test_own_complaint_is_not_a_recent_contact(cfg):
    b = basis(2)
    log = contacts([("C000", "2026-06-20", "phone", "complaint", "resolved"),     # own complaint, recent
                    ("C000", "2026-01-01", "visit", "sales", "order"),            # last contact made: 180 days
                    ("C001", "2026-06-01", "phone", "sales", "order")])           # 29 days: not overdue
    c = act.candidates(b, cfg, AS_OF, "EUR", contacts=log)
    fu = c.loc[c["reason"] == "overdue_follow_up"]
    assert fu["customer_id"].tolist() == ["C000"]
    assert "own complaint" in fu["evidence"].iloc[0] and "180 days ago" in fu["evidence"].iloc[0]
    assert fu["value_at_stake"].iloc[0] == pytest.approx(1000.0 * cfg["reasons"]["overdue_follow_up"]["loss_share"])


def test_unresolved_complaint_and_precedence(cfg):
    b = basis(3)
    log = contacts([("C000", "2026-06-01", "phone", "complaint", "unresolved"),
                    ("C000", "2025-06-01", "visit", "sales", "order"),
                    ("C001", "2026-06-01", "phone", "complaint", "resolved")])
    scores = pd.DataFrame({"churn_probability": [0.9, 0.5, 0.1]}, index=b.index)
    c = act.candidates(b, cfg, AS_OF, "EUR", contacts=log, scores=scores)
    reasons = c.groupby("customer_id")["reason"].apply(set)
    assert reasons["C000"] >= {"unresolved_complaint", "early_warning", "overdue_follow_up"}
    assert "unresolved_complaint" not in reasons["C001"]              # resolved
    one = act.one_per_customer(c, list(cfg["precedence"])).set_index("customer_id")
    assert one.loc["C000", "reason"] == "unresolved_complaint"          # first in the precedence
    assert one.loc["C001", "reason"] == "early_warning"
    ew = c.loc[(c["reason"] == "early_warning") & (c["customer_id"] == "C001"), "value_at_stake"].iloc[0]
    assert ew == pytest.approx(0.5 * 1000.0)
    assert "C002" not in set(c.loc[c["reason"] == "early_warning", "customer_id"])   # below min_probability


def test_win_back_and_upgrade_lists_carry_evidence():
    b = basis(4)
    b.loc["C000", ["lifecycle_stage", "churn_reason"]] = ["churned", "price"]
    b.loc["C000", "churn_date"] = AS_OF - pd.Timedelta(days=100)
    b.loc["C001", "lifecycle_stage"] = "churned"                   # no churn date: last purchase counts
    b.loc["C001", "last_purchase"] = AS_OF - pd.Timedelta(days=500)   # too long ago
    wb = act.win_back_list(b, AS_OF, 365, "EUR")
    assert wb.index.tolist() == ["C000"] and wb["days_since_leaving"].iloc[0] == 100
    assert wb["reason"].iloc[0] == "price" and "100 days ago" in wb["evidence"].iloc[0]
    b.loc[["C002", "C003"], "value_tier"] = "high"
    b.loc[["C002", "C003"], "annual_value"] = [3000.0, 5000.0]
    clv = pd.Series([0, 0, 100.0, 200.0], index=b.index).astype(float)
    clv["C001"] = 150.0   # churned: not a candidate
    b2 = b.copy()
    b2.loc["C001", "lifecycle_stage"] = "active"
    up = act.upgrade_candidates(b2, clv, 0.25, "EUR")
    threshold = np.quantile([100.0, 200.0], 0.25)
    assert up.index.tolist() == ["C001"] and up["high_tier_threshold"].iloc[0] == pytest.approx(threshold)
    assert up["gap_to_high_median"].iloc[0] == pytest.approx(4000.0 - 1000.0)
    assert "predicted CLV" in up["evidence"].iloc[0]


# ------------------------------------------------------------------------------------- the plan
def test_each_customer_once_capacity_and_overflow(cfg):
    raw = copy.deepcopy(dict(cfg))
    raw["capacity"] = {"per_week": 2, "by_owner": {"South": 1}}
    raw["plan"]["weeks"] = 2
    c = act.check_config(raw)
    b = basis(10)
    b.loc[b.index[6:], ["region", "owner"]] = "South"
    b["annual_value"] = np.arange(10, 0, -1) * 100.0
    log = contacts([(i, "2025-01-01", "phone", "sales", "order") for i in b.index])
    cands = act.candidates(b, c, AS_OF, "EUR", contacts=log,
                           scores=pd.DataFrame({"churn_probability": 0.8}, index=b.index))
    plan = act.build_plan(cands, b, c, AS_OF)
    everyone = pd.concat([plan.plan, plan.overflow])
    assert everyone["customer_id"].is_unique and set(everyone["customer_id"]) == set(b.index)
    per_week = plan.plan.groupby(["owner", "week"]).size()
    assert per_week.loc["North"].max() <= 2 and per_week.loc["South"].max() <= 1
    assert (plan.plan.groupby("owner").size() == pd.Series({"North": 4, "South": 2})).all()
    assert len(plan.overflow) == 4 and plan.overflow["due_date"].isna().all()
    # the most valuable of each owner fit: North's first four by value, South's first two
    assert set(plan.plan["customer_id"]) == {"C000", "C001", "C002", "C003", "C006", "C007"}
    assert plan.by_owner().loc["North", "not_fitted"] == 2
    assert plan.by_reason()["value_not_fitted"].sum() == pytest.approx(plan.overflow["value_at_stake"].sum())
    week1 = plan.plan.loc[plan.plan["week"] == 1, "due_date"].iloc[0]
    assert week1 == AS_OF + pd.Timedelta(days=7)
    assert plan.plan["priority"].is_monotonic_increasing or sorted(plan.plan["priority"]) == list(plan.plan["priority"])


def test_budget_arithmetic(cfg):
    b = basis(3)
    b["annual_value"] = [10_000.0, 100.0, 1.0]
    scores = pd.DataFrame({"churn_probability": [0.5, 0.5, 0.5]}, index=b.index)
    plan = act.build_plan(act.candidates(b, cfg, AS_OF, "EUR", scores=scores), b, cfg, AS_OF)
    costs, share = cfg["channels"]["cost"], cfg["channels"]["max_cost_share"]
    r = cfg["reasons"]["early_warning"]
    expected_budget, expected_value = 0.0, 0.0
    p = plan.plan.set_index("customer_id")
    for cid, v in b["annual_value"].items():
        stake = 0.5 * v
        channels = ["phone", "e-mail"]               # mid tier default (individual: no rule for mid)
        fit = [ch for ch in channels if costs[ch] <= share * stake]
        ch = fit[0] if fit else min(channels, key=costs.get)
        assert p.loc[cid, "channel"] == ch
        expected_budget += costs[ch] + r["offer_cost"] * r["take_up"]
        expected_value += stake * r["take_up"]
    assert plan.budget == pytest.approx(expected_budget)
    assert plan.expected_value == pytest.approx(expected_value)
    assert plan.roi == pytest.approx((expected_value - expected_budget) / expected_budget)
    nomoney = act.build_plan(act.candidates(b, cfg, AS_OF, "expected purchases", scores=scores), b, cfg, AS_OF,
                             money=False, unit="expected purchases")
    assert nomoney.roi is None and (nomoney.plan["channel"] == "e-mail").all()   # the cheapest without money


def test_strategy_rules_by_type_and_region(cfg):
    b = basis(3)
    b["value_tier"] = ["mid", "mid", "low"]
    b["customer_type"] = ["enterprise", "individual", "individual"]
    s = act.strategy_for(b, cfg)
    assert s.loc["C000", "service_level"] == "account management" and s.loc["C000", "channels"] == ("visit", "phone")
    assert s.loc["C001", "offer"] == "upgrade offer" and s.loc["C001", "channels"] == ("phone", "e-mail")
    assert s.loc["C002", "channels"][0] == "messaging"
    raw = copy.deepcopy(dict(cfg))
    raw["strategy"]["rules"] = [{"tier": "mid", "region": "North", "service": "regional desk"}]
    assert act.strategy_for(b, act.check_config(raw)).loc["C001", "service_level"] == "regional desk"


def test_owner_column_and_annual_value():
    assert act.owner_column(["customer_id", "owner"]) == "owner"
    assert act.owner_column(["account_manager", "owner"]) == "account_manager"
    assert act.owner_column(["account_manager"], "region") is None
    v = act.annual_value(pd.Series([730.0, 100.0]), pd.Series(pd.to_datetime(["2024-06-30", "2026-06-01"])),
                         pd.Series([AS_OF, AS_OF]))
    assert v.iloc[0] == pytest.approx(730.0 / (730 / 365.25)) and v.iloc[1] == pytest.approx(100.0)


def test_export_and_privacy_key(tmp_path, cfg):
    b = basis(2)
    plan = act.build_plan(act.candidates(b, cfg, AS_OF, "EUR", scores=pd.DataFrame(
        {"churn_probability": 0.9}, index=b.index)), b, cfg, AS_OF)
    crm = act.crm_frame(plan.plan, "EUR")
    assert list(crm.columns) == list(act.CRM_COLUMNS) and crm["due_date"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    path = act.write_xlsx(crm, tmp_path / "plan.xlsx")
    back = pd.read_excel(path, sheet_name=None)
    assert set(back) == {"action_plan", "columns"} and back["action_plan"]["customer_id"].tolist() == crm["customer_id"].tolist()
    key = act.write_key(crm["customer_id"], tmp_path, "plan")
    k = pd.read_csv(key)
    assert key.parent.name == "restricted" and (key.stat().st_mode & 0o077) == 0
    assert (k["pseudonym"] == pseudonym(k["customer_id"].astype(str))).all() and set(k["customer_id"]) == set(b.index)


def test_relative_config_path_is_found_from_the_notebooks_folder(monkeypatch, cfg):
    # nbval and JupyterLab run a notebook with notebooks/ as the working folder; the project-relative
    # default must still be found there, and a missing file must stop naming it
    from toolkit.actions.config import DEFAULT_PATH
    monkeypatch.chdir(DEFAULT_PATH.parents[1] / "notebooks")
    assert act.load_plan_config("config/action_plan.yaml") == cfg
    with pytest.raises(act.PlanConfigError, match="no_such_plan.yaml"):
        act.load_plan_config("config/no_such_plan.yaml")
