"""The touchpoint report's editable settings (``config/touchpoints.yaml``): loading and checking.

Every key is checked: an unknown key, a channel or kind the data model does not know, a negative
or non-numeric cost, or bands that do not increase stop with a :class:`TouchpointConfigError` that
names the key. Nothing is silently ignored.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolkit.data.schema import CONTACT_CHANNELS, CONTACT_KINDS
from toolkit.data.spec import project_path

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "touchpoints.yaml"

DEFAULTS: dict[str, Any] = {
    "costs": {"per_contact": {}},
    "outbound_kinds": ["sales"],
    "conversion": {"recency_bands_days": [30, 90, 180, 365], "frequency_bands": [1, 2, 4, 8],
                   "control_step_days": 7, "min_controls": 20, "bootstrap": 200, "randomised": False},
    "complaints": {"resolved_outcomes": ["resolved"], "follow_up_days": 60},
    "sequences": {"length": 3, "lookback_days": 180, "top": 8},
}


class TouchpointConfigError(ValueError):
    """The touchpoint config has a key or value that does not fit; the message names the key."""


@dataclass(frozen=True)
class TouchpointConfig:
    """The checked settings; ``source`` is the file they came from (None: built in code)."""

    costs: dict[str, float] = field(default_factory=dict)
    outbound_kinds: tuple[str, ...] = ("sales",)
    recency_bands_days: tuple[int, ...] = (30, 90, 180, 365)
    frequency_bands: tuple[int, ...] = (1, 2, 4, 8)
    control_step_days: int = 7
    min_controls: int = 20
    bootstrap: int = 200
    randomised: bool = False
    resolved_outcomes: tuple[str, ...] = ("resolved",)
    follow_up_days: int = 60
    sequence_length: int = 3
    lookback_days: int = 180
    top_sequences: int = 8
    source: str | None = None


def _fail(where: str, key: str, msg: str) -> None:
    raise TouchpointConfigError(f"{where}: {key} {msg}")


def _int(where: str, key: str, value: Any, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        _fail(where, key, f"must be a whole number of at least {lowest} (got {value!r})")
    return int(value)


def _increasing(where: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                                        for v in value):
        _fail(where, key, f"must be a list of whole numbers of at least 1 (got {value!r})")
    if list(value) != sorted(set(value)):
        _fail(where, key, f"must increase strictly (got {value!r})")
    return tuple(int(v) for v in value)


def check_config(raw: dict[str, Any], where: str = "touchpoint config") -> TouchpointConfig:
    """Check a config dict (missing sections take the defaults) and return the settings."""
    if not isinstance(raw, dict):
        raise TouchpointConfigError(f"{where}: must be a mapping of sections, got {type(raw).__name__}")
    unknown = set(raw) - set(DEFAULTS)
    if unknown:
        _fail(where, ", ".join(sorted(unknown)), f"is not a setting (sections: {', '.join(DEFAULTS)})")
    cfg = copy.deepcopy(DEFAULTS)
    for section, values in raw.items():
        if isinstance(cfg[section], dict):
            if not isinstance(values, dict):
                _fail(where, section, "must be a mapping")
            extra = set(values) - set(cfg[section])
            if extra:
                _fail(where, f"{section}.{sorted(extra)[0]}",
                      f"is not a setting of {section} (known: {', '.join(cfg[section])})")
            cfg[section].update(values)
        else:
            cfg[section] = values
    costs = cfg["costs"]["per_contact"] or {}
    if not isinstance(costs, dict):
        _fail(where, "costs.per_contact", "must map channels to a cost per contact")
    for ch, v in costs.items():
        key = f"costs.per_contact.{ch}"
        if ch not in CONTACT_CHANNELS:
            _fail(where, key, f"is not a contact channel of the data model ({', '.join(CONTACT_CHANNELS)})")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _fail(where, key, f"must be a number (a cost in the dataset's currency), got {v!r}")
        if v < 0:
            _fail(where, key, f"is {v}; a cost cannot be negative")
    kinds = cfg["outbound_kinds"]
    if not isinstance(kinds, list) or not kinds:
        _fail(where, "outbound_kinds", "must be a non-empty list of contact kinds")
    for k in kinds:
        if k not in CONTACT_KINDS:
            _fail(where, f"outbound_kinds ({k!r})",
                  f"is not a contact kind of the data model ({', '.join(CONTACT_KINDS)})")
    conv, comp, seq = cfg["conversion"], cfg["complaints"], cfg["sequences"]
    if not isinstance(conv["randomised"], bool):
        _fail(where, "conversion.randomised", f"must be true or false (got {conv['randomised']!r})")
    outcomes = comp["resolved_outcomes"]
    if not isinstance(outcomes, list) or not outcomes or not all(isinstance(o, str) and o for o in outcomes):
        _fail(where, "complaints.resolved_outcomes", f"must be a non-empty list of outcome values (got {outcomes!r})")
    return TouchpointConfig(
        costs={k: float(v) for k, v in costs.items()},
        outbound_kinds=tuple(kinds),
        recency_bands_days=_increasing(where, "conversion.recency_bands_days", conv["recency_bands_days"]),
        frequency_bands=_increasing(where, "conversion.frequency_bands", conv["frequency_bands"]),
        control_step_days=_int(where, "conversion.control_step_days", conv["control_step_days"], 1),
        min_controls=_int(where, "conversion.min_controls", conv["min_controls"], 1),
        bootstrap=_int(where, "conversion.bootstrap", conv["bootstrap"], 0),
        randomised=bool(conv["randomised"]),
        resolved_outcomes=tuple(outcomes),
        follow_up_days=_int(where, "complaints.follow_up_days", comp["follow_up_days"], 0),
        sequence_length=_int(where, "sequences.length", seq["length"], 1),
        lookback_days=_int(where, "sequences.lookback_days", seq["lookback_days"], 1),
        top_sequences=_int(where, "sequences.top", seq["top"], 1),
        source=None if where == "touchpoint config" else where,
    )


def load_config(path: str | os.PathLike | None = None) -> TouchpointConfig:
    """Read and check the touchpoint config (default ``config/touchpoints.yaml``; a relative path
    is also looked up from the project root)."""
    p = project_path(path) if path else DEFAULT_PATH
    if not p.exists():
        raise TouchpointConfigError(f"touchpoint config {p} not found")
    root = DEFAULT_PATH.parents[1]
    shown = str(p.resolve().relative_to(root)) if p.resolve().is_relative_to(root) else str(p)
    return check_config(yaml.safe_load(p.read_text()) or {}, shown)
