"""The action plan's editable assumptions (``config/action_plan.yaml``): loading and checking.

:func:`load_plan_config` reads the file and checks every key; :func:`check_against_data` checks what
names the data (regions, customer types, channels, the owner column). Anything that does not fit
raises :class:`~toolkit.actions.errors.PlanConfigError` naming the key: nothing is silently ignored.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from toolkit.actions.errors import PlanConfigError
from toolkit.data.schema import CONTACT_CHANNELS, CONTACT_KINDS, CUSTOMER_TYPES
from toolkit.data.spec import project_path

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "action_plan.yaml"

REASONS = ("unresolved_complaint", "early_warning", "detractor_call_back", "win_back", "overdue_follow_up",
           "upgrade_candidate", "first_purchase_conversion")
REASON_LABELS = {"unresolved_complaint": "unresolved complaint", "early_warning": "early warning",
                 "detractor_call_back": "detractor call-back", "win_back": "win-back",
                 "overdue_follow_up": "overdue follow-up", "upgrade_candidate": "upgrade candidate",
                 "first_purchase_conversion": "first-purchase conversion"}
TIERS = ("high", "mid", "low", "none")
COMMON = {"offer": str, "offer_cost": "cost", "take_up": "share"}
REASON_KEYS: dict[str, dict[str, Any]] = {
    "unresolved_complaint": {"within_days": "days", "loss_share": "share", **COMMON},
    "early_warning": {"min_probability": "share", **COMMON},
    "detractor_call_back": {"within_days": "days", "max_nps": "nps", "loss_share": "share", **COMMON},
    "win_back": {"within_days": "days", **COMMON},
    "overdue_follow_up": {"loss_share": "share", **COMMON},
    "upgrade_candidate": {"high_tier_quantile": "share", **COMMON},
    "first_purchase_conversion": dict(COMMON),
}
TOP_KEYS = ("plan", "precedence", "reasons", "contact_kinds", "channels", "owner", "capacity", "strategy")
TIER_KEYS = ("service", "offer", "channels")


class PlanConfig(dict):
    """The checked settings (a dict as in the YAML file); ``source`` is the file they came from."""

    source: str = "config/action_plan.yaml"

    @property
    def currency_costs(self) -> dict[str, float]:
        return dict(self["channels"]["cost"])


def _err(key: str, msg: str, source: str | None) -> PlanConfigError:
    return PlanConfigError(key, msg, file=source)


def _unknown(section: Mapping, allowed: Iterable[str], where: str, source: str | None) -> None:
    allowed = list(allowed)
    for k in section:
        if k not in allowed:
            key = f"{where}.{k}" if where else str(k)
            raise _err(key, f"is not a known key (known here: {', '.join(allowed)})", source)


def _number(value: Any, key: str, kind: str, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _err(key, f"must be a number (got {value!r})", source)
    v = float(value)
    if kind == "cost" and v < 0:
        raise _err(key, f"must not be negative (got {value!r}): a cost is zero or more", source)
    if kind == "share" and not 0 <= v <= 1:
        raise _err(key, f"must be a share between 0 and 1 (got {value!r})", source)
    if kind in ("days", "positive") and v <= 0:
        raise _err(key, f"must be a positive number (got {value!r})", source)
    if kind == "nps" and not 0 <= v <= 10:
        raise _err(key, f"must be an NPS answer between 0 and 10 (got {value!r})", source)
    return v


def _channels(value: Any, key: str, source: str | None) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _err(key, f"must be a non-empty list of channels (got {value!r})", source)
    for c in value:
        if c not in CONTACT_CHANNELS:
            raise _err(key, f"names {c!r}, which is not a contact channel (known: {', '.join(CONTACT_CHANNELS)})",
                       source)
    return list(value)


def check_config(raw: Mapping[str, Any], source: str | None = None) -> PlanConfig:
    """Check the structure and values of a plan config (no data needed); returns it with defaults filled."""
    if not isinstance(raw, Mapping):
        raise _err("(top level)", "must be a mapping of settings", source)
    cfg = copy.deepcopy(dict(raw))
    _unknown(cfg, TOP_KEYS, "", source)
    for k in TOP_KEYS:
        if k not in cfg:
            raise _err(k, "is missing", source)
    _unknown(cfg["plan"] or {}, ("weeks",), "plan", source)
    weeks = cfg["plan"].get("weeks", 4)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 1:
        raise _err("plan.weeks", f"must be a whole number of weeks, at least 1 (got {weeks!r})", source)
    prec = cfg["precedence"]
    if not isinstance(prec, list) or sorted(prec) != sorted(REASONS) or len(set(prec)) != len(prec):
        bad = [p for p in (prec if isinstance(prec, list) else []) if p not in REASONS]
        detail = f"unknown reason(s) {', '.join(map(repr, bad))}; " if bad else ""
        raise _err("precedence", f"must list every reason once ({detail}reasons: {', '.join(REASONS)})", source)
    reasons = cfg["reasons"]
    if not isinstance(reasons, Mapping):
        raise _err("reasons", "must be a mapping per reason", source)
    _unknown(reasons, REASONS, "reasons", source)
    for r in REASONS:
        if r not in reasons:
            raise _err(f"reasons.{r}", "is missing", source)
        sec = reasons[r] or {}
        _unknown(sec, REASON_KEYS[r], f"reasons.{r}", source)
        for k, kind in REASON_KEYS[r].items():
            key = f"reasons.{r}.{k}"
            if k not in sec:
                raise _err(key, "is missing", source)
            if kind is str:
                if not isinstance(sec[k], str) or not sec[k].strip():
                    raise _err(key, f"must be a text (got {sec[k]!r})", source)
            else:
                sec[k] = _number(sec[k], key, kind, source)
    kinds = cfg["contact_kinds"]
    if not isinstance(kinds, list) or not kinds or any(k not in CONTACT_KINDS for k in kinds):
        raise _err("contact_kinds", f"must list contact kinds of {', '.join(CONTACT_KINDS)} (got {kinds!r})", source)
    ch = cfg["channels"]
    _unknown(ch, ("cost", "max_cost_share"), "channels", source)
    if not isinstance(ch.get("cost"), Mapping) or not ch["cost"]:
        raise _err("channels.cost", "must give a cost per channel", source)
    for c, v in ch["cost"].items():
        if c not in CONTACT_CHANNELS:
            raise _err(f"channels.cost.{c}", f"is not a contact channel (known: {', '.join(CONTACT_CHANNELS)})", source)
        ch["cost"][c] = _number(v, f"channels.cost.{c}", "cost", source)
    ch["max_cost_share"] = _number(ch.get("max_cost_share", 0.2), "channels.max_cost_share", "share", source)
    _unknown(cfg["owner"] or {}, ("column",), "owner", source)
    col = (cfg["owner"] or {}).get("column", "auto")
    if not isinstance(col, str) or not col:
        raise _err("owner.column", f"must be 'auto', 'region' or a column name (got {col!r})", source)
    cap = cfg["capacity"]
    _unknown(cap, ("per_week", "by_owner"), "capacity", source)
    cap["per_week"] = _number(cap.get("per_week"), "capacity.per_week", "positive", source)
    cap["by_owner"] = dict(cap.get("by_owner") or {})
    for o, v in cap["by_owner"].items():
        cap["by_owner"][o] = _number(v, f"capacity.by_owner.{o}", "positive", source)
    st = cfg["strategy"]
    _unknown(st, ("default", "rules"), "strategy", source)
    default = st.get("default") or {}
    _unknown(default, TIERS, "strategy.default", source)
    for t in TIERS:
        if t not in default:
            raise _err(f"strategy.default.{t}", "is missing", source)
        _unknown(default[t], TIER_KEYS, f"strategy.default.{t}", source)
        for k in TIER_KEYS:
            if k not in default[t]:
                raise _err(f"strategy.default.{t}.{k}", "is missing", source)
        default[t]["channels"] = _channels(default[t]["channels"], f"strategy.default.{t}.channels", source)
        for c in default[t]["channels"]:
            if c not in ch["cost"]:
                raise _err(f"strategy.default.{t}.channels", f"names {c!r}, which has no cost under channels.cost",
                           source)
    rules = st.get("rules") or []
    if not isinstance(rules, list):
        raise _err("strategy.rules", "must be a list of rules", source)
    for i, rule in enumerate(rules):
        where = f"strategy.rules[{i}]"
        if not isinstance(rule, Mapping):
            raise _err(where, "must be a mapping", source)
        _unknown(rule, ("tier", "region", "customer_type", *TIER_KEYS), where, source)
        if rule.get("tier") not in TIERS:
            raise _err(f"{where}.tier", f"must be one of {', '.join(TIERS)} (got {rule.get('tier')!r})", source)
        if "customer_type" in rule and rule["customer_type"] not in CUSTOMER_TYPES:
            raise _err(f"{where}.customer_type", f"must be one of {', '.join(CUSTOMER_TYPES)} "
                       f"(got {rule['customer_type']!r})", source)
        if "channels" in rule:
            rule["channels"] = _channels(rule["channels"], f"{where}.channels", source)
            for c in rule["channels"]:
                if c not in ch["cost"]:
                    raise _err(f"{where}.channels", f"names {c!r}, which has no cost under channels.cost", source)
    st["rules"] = rules
    out = PlanConfig(cfg)
    out.source = source or "config/action_plan.yaml"
    return out


def load_plan_config(path: str | Path | Mapping | None = None) -> PlanConfig:
    """The checked plan config from ``path`` (default ``config/action_plan.yaml``) or a mapping."""
    if isinstance(path, Mapping):
        return check_config(path, "plan config")
    p = project_path(path) if path is not None else DEFAULT_PATH
    if not p.exists():
        raise PlanConfigError("(file)", f"not found: {p}", file=str(path))
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PlanConfigError("(file)", f"is not valid YAML ({exc})", file=str(path)) from None
    return check_config(raw, str(path) if path is not None else "config/action_plan.yaml")


def check_against_data(cfg: PlanConfig, regions: Iterable[str], channels_used: Iterable[str] | None,
                       customer_columns: Iterable[str]) -> None:
    """Regions, channels and the owner column the config names must exist in the data.

    ``channels_used`` are the channels of the contact log (None: the data have no contact log,
    then any known channel is accepted)."""
    src = cfg.source
    regions = {str(r) for r in regions}
    col = cfg["owner"].get("column", "auto")
    if col not in ("auto", "region") and col not in set(customer_columns):
        raise _err("owner.column", f"names {col!r}, which is not a column of the customer table (add it to the "
                   "dataset spec's customers 'extra' list, or use auto / region)", src)
    owner_is_region = col == "region" or (col == "auto" and not {"account_manager", "owner"} & set(customer_columns))
    if owner_is_region:
        for o in cfg["capacity"]["by_owner"]:
            if str(o) not in regions:
                raise _err(f"capacity.by_owner.{o}", f"names a region the data do not have (regions: "
                           f"{', '.join(sorted(regions))})", src)
    for i, rule in enumerate(cfg["strategy"]["rules"]):
        if "region" in rule and str(rule["region"]) not in regions:
            raise _err(f"strategy.rules[{i}].region", f"names {rule['region']!r}, a region the data do not have "
                       f"(regions: {', '.join(sorted(regions))})", src)
    if channels_used is None:
        return
    used = {str(c) for c in channels_used}
    named = [(f"strategy.default.{t}.channels", c) for t, s in cfg["strategy"]["default"].items() for c in s["channels"]]
    named += [(f"strategy.rules[{i}].channels", c) for i, r in enumerate(cfg["strategy"]["rules"])
              for c in r.get("channels", [])]
    for key, c in named:
        if c not in used:
            raise _err(key, f"names {c!r}, a channel the contact log never uses (channels used: "
                       f"{', '.join(sorted(used)) or 'none'})", src)
