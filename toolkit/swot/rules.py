"""Editable SWOT rules (``config/swot.yaml``) turned into candidate items with their evidence.

A rule names a quadrant and a list of conditions that must all hold in one region::

    - id: churn_high
      quadrant: Weakness
      priority: 3                      # ranks risks and actions in the executive summary
      when:
        - {source: kpi, metric: churn_rate, direction: higher, significant: true}
      support:                         # attached as evidence when present, never required
        - {source: churn_model, metric: hazard_ratio}
      title: "Churn above the rest of the company"
      action: "Retention programme in {region}"

Condition keys (all optional except ``metric``): ``source`` (default kpi), ``comparison``
(default ``rest`` for kpi rows), ``scope: company`` (match the company-level rows instead of the
region's), ``subject`` / ``subject_in``, ``direction`` (higher / lower), ``significant``,
``value_lt`` / ``value_le`` / ``value_gt`` / ``value_ge``, ``rank_le``, ``min_relative_difference``
(default: the config's setting, applied to significant conditions). With ``join: <source>`` (e.g.
``join: market``) the conditions on that source must match the same subject (competitor, segment)
and the rule yields one item per such subject.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from toolkit.data.spec import project_path
from toolkit.kpi import COMPANY

QUADRANTS = ("Strength", "Weakness", "Opportunity", "Threat")
CONDITION_KEYS = {"source", "metric", "comparison", "scope", "subject", "subject_in", "direction", "significant",
                  "value_lt", "value_le", "value_gt", "value_ge", "rank_le", "min_relative_difference"}
RULE_KEYS = {"id", "quadrant", "when", "support", "title", "action", "priority", "join", "description"}
ITEM_COLUMNS = ["region", "quadrant", "title", "statement", "action", "priority", "score", "origin", "rule",
                "subject", "metric", "value", "reference", "reference_label", "test", "p_value", "p_adj", "evidence"]


@dataclass(frozen=True)
class Rule:
    id: str
    quadrant: str
    when: tuple[dict, ...]
    title: str
    action: str = ""
    priority: int = 1
    join: str = ""
    support: tuple[dict, ...] = ()




def load_rules(path: str | Path) -> tuple[list[Rule], dict[str, Any]]:
    """Rules and settings from a YAML file; every problem is reported with the rule's id."""
    raw = yaml.safe_load(project_path(path).read_text(encoding="utf-8")) or {}
    return parse_rules(raw, str(path))


def parse_rules(raw: dict, where: str = "<rules>") -> tuple[list[Rule], dict[str, Any]]:
    settings = dict(raw.get("settings") or {})
    rules, errors = [], []
    for i, r in enumerate(raw.get("rules") or []):
        rid = r.get("id", f"rules[{i}]") if isinstance(r, dict) else f"rules[{i}]"
        if not isinstance(r, dict):
            errors.append(f"{rid}: must be a mapping")
            continue
        unknown = set(r) - RULE_KEYS
        if unknown:
            errors.append(f"{rid}: unknown key(s) {', '.join(sorted(unknown))}")
        if r.get("quadrant") not in QUADRANTS:
            errors.append(f"{rid}: quadrant must be one of {', '.join(QUADRANTS)}")
        when = r.get("when") or []
        if not when:
            errors.append(f"{rid}: needs at least one condition under 'when'")
        for c in [*when, *(r.get("support") or [])]:
            if not isinstance(c, dict) or "metric" not in c or set(c) - CONDITION_KEYS:
                errors.append(f"{rid}: a condition needs 'metric' and only the keys "
                              f"{', '.join(sorted(CONDITION_KEYS))}")
        rules.append(Rule(str(rid), str(r.get("quadrant")), tuple(when), str(r.get("title", rid)),
                          str(r.get("action", "")), int(r.get("priority", 1)), str(r.get("join", "")),
                          tuple(r.get("support") or ())))
    if errors:
        raise ValueError(f"invalid SWOT rules in {where}: " + "; ".join(errors))
    return rules, settings


def _match(ev: pd.DataFrame, region: str, cond: dict, settings: dict) -> pd.DataFrame:
    source = cond.get("source", "kpi")
    sel = (ev["source"] == source) & (ev["metric"] == cond["metric"])
    sel &= ev["region"] == (COMPANY if cond.get("scope") == "company" else region)
    comparison = cond.get("comparison", "rest" if source in ("kpi", "churn_reasons", "segments", "clv") else None)
    if comparison and cond.get("scope") != "company":
        sel &= ev["comparison"] == comparison
    if "subject" in cond:
        sel &= ev["subject"] == str(cond["subject"])
    if "subject_in" in cond:
        sel &= ev["subject"].isin([str(s) for s in cond["subject_in"]])
    if "direction" in cond:
        sel &= ev["direction"] == cond["direction"]
    if "significant" in cond:
        sel &= ev["significant"] == bool(cond["significant"])
    for key, op in (("value_lt", np.less), ("value_le", np.less_equal), ("value_gt", np.greater),
                    ("value_ge", np.greater_equal)):
        if key in cond:
            sel &= op(ev["value"], float(cond[key]))
    if "rank_le" in cond:
        sel &= ev["rank"] <= float(cond["rank_le"])
    min_rel = cond.get("min_relative_difference",
                       settings.get("min_relative_difference", 0.0) if cond.get("significant") else 0.0)
    if min_rel:
        sel &= ev["relative_difference"].abs() >= float(min_rel)
    return ev.loc[sel.fillna(False).astype(bool)]


def _fmt_value(value: float, unit: str, currency: str) -> str:
    if pd.isna(value):
        return "n/a"
    if unit.startswith("share") or unit in ("yearly revenue growth", "change vs previous window"):
        return f"{100 * value:.1f}%"
    if unit.startswith("currency"):
        return f"{currency + ' ' if currency else ''}{value:,.0f}"
    if unit.startswith("points"):
        return f"{value:+.1f}"
    return f"{value:,.2f}"


def describe(row: pd.Series, currency: str = "") -> str:
    """One sentence stating a figure, its baseline and the test behind it."""
    subject = f" ({row['subject']})" if row["subject"] else ""
    text = f"{row['label']}{subject}: {_fmt_value(row['value'], row['unit'], currency)}"
    if pd.notna(row["reference"]) and row["reference_label"]:
        text += f" vs {_fmt_value(row['reference'], row['unit'], currency)} ({row['reference_label']})"
    if pd.notna(row["p_adj"]):
        text += f"; {row['test']}, adjusted p = {row['p_adj']:.2g}"
    elif row["test"]:
        text += f"; {row['test']}"
    elif pd.notna(row["reference"]) and row["source"] in ("kpi", "clv"):
        text += "; descriptive, no test"
    return text + "."


def _evidence_record(row: pd.Series) -> dict:
    keys = ("source", "region", "subject", "metric", "period", "comparison", "value", "reference", "reference_label",
            "test", "p_value", "p_adj", "n")
    rec = {k: row[k] for k in keys}
    return {k: (None if isinstance(v, float) and np.isnan(v) else (float(v) if isinstance(v, (np.floating, float))
                                                                    else v)) for k, v in rec.items()}


def _item(rule: Rule, region: str, subject: str, rows: list[pd.DataFrame], support: pd.DataFrame,
          currency: str) -> dict:
    ev = pd.concat([*rows, support], ignore_index=True).drop_duplicates(["source", "region", "subject", "metric",
                                                                           "comparison"])
    main = rows[0].iloc[0]
    fill = {"region": region, "subject": subject, "competitor": subject, "segment": subject}
    statement = " ".join(describe(r, currency) for _, r in ev.iterrows())
    score = float(np.nanmax(np.abs(ev["relative_difference"].to_numpy(float)))) if \
        ev["relative_difference"].notna().any() else 0.0
    return {"region": region, "quadrant": rule.quadrant, "title": rule.title.format(**fill),
            "statement": statement, "action": rule.action.format(**fill), "priority": rule.priority, "score": score,
            "origin": "rule", "rule": rule.id, "subject": subject, "metric": main["metric"],
            "value": float(main["value"]), "reference": float(main["reference"]) if pd.notna(main["reference"])
            else np.nan, "reference_label": main["reference_label"], "test": main["test"],
            "p_value": float(main["p_value"]) if pd.notna(main["p_value"]) else np.nan,
            "p_adj": float(main["p_adj"]) if pd.notna(main["p_adj"]) else np.nan,
            "evidence": json.dumps([_evidence_record(r) for _, r in ev.iterrows()])}


def apply_rules(evidence: pd.DataFrame, rules: list[Rule], settings: dict | None = None,
                currency: str = "") -> pd.DataFrame:
    """Candidate SWOT items: one per rule, region (and subject with ``join: subject``) whose conditions hold."""
    settings = settings or {}
    regions = sorted(set(evidence["region"]) - {COMPANY})
    items = []
    for rule in rules:
        for region in regions:
            matches = [_match(evidence, region, c, settings) for c in rule.when]
            if any(m.empty for m in matches):
                continue
            support = [_match(evidence, region, c, {}) for c in rule.support]
            support = pd.concat(support, ignore_index=True) if support else evidence.iloc[:0]
            if rule.join:
                keyed = [i for i, c in enumerate(rule.when) if c.get("source", "kpi") == rule.join]
                common = set.intersection(*(set(matches[i]["subject"]) for i in keyed)) if keyed else set()
                for subj in sorted(common):
                    rows = [m.loc[m["subject"] == subj] if i in keyed else m for i, m in enumerate(matches)]
                    sup = support.loc[(support["source"] != rule.join) | (support["subject"] == subj)]
                    items.append(_item(rule, region, subj, rows, sup, currency))
            else:
                subject = next((str(m["subject"].iloc[0]) for m in matches if m["subject"].iloc[0]), "")
                items.append(_item(rule, region, subject, matches, support, currency))
    return pd.DataFrame(items, columns=ITEM_COLUMNS)
