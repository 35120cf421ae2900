"""The action plan: who to contact, why, by whom, when and at what cost (domain logic; the report is
:mod:`toolkit.reports.action_plan`).

* :mod:`~toolkit.actions.config`  the editable assumptions (``config/action_plan.yaml``), checked;
* :mod:`~toolkit.actions.basis`   one row per customer: tier, stage, annual value, owner, cadence;
* :mod:`~toolkit.actions.reasons` why a customer is on the plan (win-back and upgrade lists included);
* :mod:`~toolkit.actions.plan`    one reason per customer, priority, channel, capacity, budget;
* :mod:`~toolkit.actions.export`  CRM columns, CSV/XLSX and the pseudonym key.
"""
from toolkit.actions.basis import OWNER_COLUMNS, annual_value, customer_basis, owner_column
from toolkit.actions.config import (REASON_LABELS, REASONS, PlanConfig, check_against_data, check_config,
                                    load_plan_config)
from toolkit.actions.errors import PlanConfigError
from toolkit.actions.export import CRM_COLUMNS, crm_frame, write_key, write_xlsx
from toolkit.actions.plan import ActionPlan, build_plan, choose_channel, one_per_customer, strategy_for
from toolkit.actions.reasons import (candidates, detractors, last_contacts, open_complaints, upgrade_candidates,
                                     win_back_list)

__all__ = ["ActionPlan", "CRM_COLUMNS", "OWNER_COLUMNS", "PlanConfig", "PlanConfigError", "REASONS", "REASON_LABELS",
           "annual_value", "build_plan", "candidates", "check_against_data", "check_config", "choose_channel",
           "crm_frame", "customer_basis", "last_contacts", "load_plan_config", "one_per_customer", "open_complaints",
           "detractors", "owner_column", "strategy_for", "upgrade_candidates", "win_back_list", "write_key", "write_xlsx"]
