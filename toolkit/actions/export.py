"""The plan as a CRM imports it: documented columns, CSV and XLSX, and the pseudonym key.

With privacy on, the exported files carry pseudonyms (:func:`toolkit.privacy.pseudonym`) and the key
that maps them back to the customer ids is written to a separate file, outside ``exports/`` and
``results/``, for the data owner only (``<run>/restricted/<name>_id_key.csv``, readable by its owner
only). With privacy off the files carry the real ids and no key is written.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from toolkit.privacy import pseudonym

#: The exported columns and what each holds (the CRM import documentation; shown in the report).
CRM_COLUMNS: dict[str, str] = {
    "customer_id": "customer id (pseudonym when the run pseudonymises; the data owner's key file maps it back)",
    "priority": "1 = most valuable contact of the plan (by expected value)",
    "reason": "why: unresolved_complaint, early_warning, detractor_call_back, win_back, overdue_follow_up, "
              "upgrade_candidate or first_purchase_conversion",
    "owner": "who contacts: account manager / owner column of the customer table, else the region",
    "due_date": "contact by this date (YYYY-MM-DD)",
    "channel": "visit, phone, e-mail, messaging or social",
    "service_level": "service level of the customer's strategy",
    "offer": "what to offer",
    "value_at_stake": "expected value at stake (unit in value_unit)",
    "value_unit": "the currency, or 'expected purchases' when the data hold no amounts",
    "take_up": "assumed share of contacted customers who accept (config)",
    "budget": "contact cost + offer cost x take-up, in the currency",
    "region": "region",
    "customer_type": "enterprise / individual",
    "value_tier": "high / mid / low / none (segmentation's value tiers)",
    "evidence": "the facts behind the reason",
}


def crm_frame(plan: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The plan's rows with the documented CRM columns, due dates as YYYY-MM-DD."""
    out = plan.assign(value_unit=unit)
    out["due_date"] = pd.to_datetime(out["due_date"]).dt.strftime("%Y-%m-%d")
    return out[list(CRM_COLUMNS)].reset_index(drop=True)


def write_xlsx(frame: pd.DataFrame, path: str | os.PathLike, sheet: str = "action_plan") -> Path:
    """The frame as an Excel sheet (openpyxl), with a second sheet documenting the columns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = pd.DataFrame({"column": list(CRM_COLUMNS), "meaning": list(CRM_COLUMNS.values())})
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        frame.to_excel(xl, sheet_name=sheet, index=False)
        doc.to_excel(xl, sheet_name="columns", index=False)
    return path


def write_key(ids: pd.Series, run_dir: str | os.PathLike, name: str, salt: str = "") -> Path:
    """The pseudonym -> customer id key, for the data owner only (permissions 0600)."""
    d = Path(run_dir) / "restricted"
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    ids = pd.Series(ids.astype(str).unique())
    key = pd.DataFrame({"pseudonym": pseudonym(ids, salt).to_numpy(), "customer_id": ids.to_numpy()})
    path = d / f"{name}_id_key.csv"
    key.to_csv(path, index=False)
    os.chmod(path, 0o600)
    return path
