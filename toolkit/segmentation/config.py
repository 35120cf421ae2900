"""The editable segmentation settings (``config/segmentation.yaml``): loading and checking."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from toolkit.data.spec import project_path

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "segmentation.yaml"
SECTIONS = ("rfm", "tiers", "lifecycle", "demographics", "clustering", "strategy")
SCORE_KEYS = ("r", "f", "m", "fm")


class ConfigError(ValueError):
    """The segmentation config is incomplete or inconsistent."""


def _fail(path: Path | None, msg: str) -> None:
    raise ConfigError(f"{path or 'segmentation config'}: {msg}")


def check_config(cfg: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """Validate a config dict (sections, RFM rules, tier cut-offs, strategy rows); return it."""
    missing = [s for s in SECTIONS if s not in cfg]
    if missing:
        _fail(path, f"missing section(s) {', '.join(missing)}")
    bins = int(cfg["rfm"].get("bins", 5))
    for i, rule in enumerate(cfg["rfm"].get("segments") or []):
        if "name" not in rule:
            _fail(path, f"rfm.segments[{i}] has no name")
        keys = [k for k in SCORE_KEYS if k in rule]
        if not keys:
            _fail(path, f"RFM rule {rule['name']!r} needs at least one of {', '.join(SCORE_KEYS)}")
        for k in keys:
            lo, hi = rule[k]
            if not (1 <= lo <= hi <= bins):
                _fail(path, f"RFM rule {rule['name']!r}: {k} range {rule[k]} must lie within 1..{bins}")
    tiers = cfg["tiers"]
    cuts, labels = list(tiers["cutoffs"]), list(tiers["labels"])
    if len(labels) != len(cuts) + 1:
        _fail(path, f"tiers: {len(cuts)} cut-offs need {len(cuts) + 1} labels, got {len(labels)}")
    if cuts != sorted(set(cuts)) or not all(0 < c < 1 for c in cuts):
        _fail(path, f"tiers.cutoffs {cuts} must increase strictly within (0, 1)")
    lc = cfg["lifecycle"]
    if not lc["new_days"] >= 0 or not 0 < lc["at_risk_days"] <= lc["churned_days"]:
        _fail(path, "lifecycle: need new_days >= 0 and 0 < at_risk_days <= churned_days")
    st = cfg["strategy"]
    for t in labels + [tiers.get("no_purchase", "none")]:
        row = (st.get("tiers") or {}).get(t)
        if row is None:
            _fail(path, f"strategy.tiers has no row for tier {t!r}")
        for key in ("objective", "product", "price", "channel", "contact", "cadence_days"):
            if key not in row:
                _fail(path, f"strategy.tiers.{t} lacks {key!r}")
    return cfg


def load_config(path: str | os.PathLike | None = None, **overrides: dict[str, Any]) -> dict[str, Any]:
    """Read and check the segmentation config (default ``config/segmentation.yaml``).

    ``overrides`` replace keys section by section, e.g. ``tiers={"cutoffs": [0.1, 0.4]}``.
    """
    p = project_path(path) if path else DEFAULT_PATH
    if not p.exists():
        raise ConfigError(f"segmentation config {p} not found")
    cfg = yaml.safe_load(p.read_text()) or {}
    cfg = copy.deepcopy(cfg)
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section {section!r} (sections: {', '.join(SECTIONS)})")
        cfg.setdefault(section, {}).update({k: v for k, v in (values or {}).items() if v is not None})
    return check_config(cfg, p)
