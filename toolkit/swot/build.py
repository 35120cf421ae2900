"""Assemble the evidence of one dataset and run the SWOT rules and analyst items over it."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from toolkit.data.focus import region_rows
from toolkit.data.spec import project_path
from toolkit.engine import as_day, collect, purchasers, transaction_log
from toolkit.kpi import COMPANY
from toolkit.swot import evidence as E
from toolkit.swot.analyst import load_analyst_items
from toolkit.swot.rules import ITEM_COLUMNS, Rule, apply_rules, load_rules

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "config" / "swot.yaml"
DEFAULT_ANALYST = ROOT / "config" / "swot_analyst.yaml"


@dataclass
class SwotResult:
    items: pd.DataFrame
    evidence: pd.DataFrame
    regions: list[str]
    notes: list[str] = field(default_factory=list)

    def for_region(self, region: str) -> "SwotResult":
        """The items and evidence of one region (a regional pack's view); each was derived against
        the rest of the whole company."""
        return replace(self, items=region_rows(self.items, region), evidence=region_rows(self.evidence, region),
                       regions=[r for r in self.regions if str(r) == str(region)])

    def counts(self) -> pd.DataFrame:
        """Items per region and quadrant."""
        t = pd.crosstab(self.items["region"], self.items["quadrant"]) if len(self.items) else pd.DataFrame()
        return t.reindex(index=self.regions, columns=["Strength", "Weakness", "Opportunity", "Threat"], fill_value=0)


def _window_bounds(scorecard: pd.DataFrame, label: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    rows = scorecard.loc[scorecard["period"] == label]
    if rows.empty:
        return None
    return pd.Timestamp(rows["period_start"].iloc[0]), pd.Timestamp(rows["period_end"].iloc[0])


def _active_ids(ds, bounds) -> pd.Series | None:
    """Customers with a purchase (positive amount) from day ``bounds[0]`` to day ``bounds[1]``
    inclusive, sorted; aggregated by the dataset's engine."""
    if bounds is None or not ds.has("transactions"):
        return None
    ids = collect(purchasers(transaction_log(ds), as_day(bounds[0]), as_day(bounds[1])), sort=["customer_id"])
    return pd.Series(ids["customer_id"].astype(object).to_numpy())


def collect_evidence(ds, scorecard: pd.DataFrame, window: str = "L12M", previous: str = "P12M",
                     alpha: float = 0.05, correction: str = "holm", segment: pd.Series | None = None,
                     clv_by_region: pd.DataFrame | None = None,
                     hazard_ratios: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The long evidence table (see :mod:`toolkit.swot.evidence`) and notes on what was missing."""
    notes: list[str] = []
    parts = [E.from_scorecard(scorecard, window)]
    bounds = _window_bounds(scorecard, window)
    if ds.market is not None:
        parts.append(E.from_market(ds.market))
    else:
        notes.append("The dataset has no market table: no competitor evidence (share, price index, growth).")
    if bounds is not None and ds.customers is not None and "churn_reason" in ds.customers.columns:
        parts.append(E.churn_reasons(ds.customers, bounds[0], bounds[1], alpha, correction, window))
    else:
        notes.append("No churn reasons in the dataset: reason-based rules cannot fire.")
    if segment is not None:
        parts.append(E.segments(ds.customers, segment, ds.as_of, _active_ids(ds, bounds),
                                _active_ids(ds, _window_bounds(scorecard, previous)), alpha, correction, window))
    if clv_by_region is not None:
        parts.append(E.from_clv(clv_by_region))
    regions = sorted(set(scorecard["region"]) - {COMPANY}) if len(scorecard) else []
    if hazard_ratios is not None:
        hr = E.from_churn_model(hazard_ratios, regions, alpha)
        if hr.empty:
            notes.append("The churn report's hazard-ratio table has no recognisable region terms; not used.")
        parts.append(hr)
    parts = [p for p in parts if len(p)]
    ev = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=E.COLUMNS)
    return ev, notes


def build_swot(ds, scorecard: pd.DataFrame, window: str = "L12M", rules: str | Path | list[Rule] = DEFAULT_RULES,
               analyst: str | Path | None = DEFAULT_ANALYST, settings: dict | None = None, alpha: float = 0.05,
               correction: str = "holm", segment: pd.Series | None = None,
               clv_by_region: pd.DataFrame | None = None, hazard_ratios: pd.DataFrame | None = None) -> SwotResult:
    """Candidate SWOT items per region from rules over the evidence, plus analyst items."""
    if isinstance(rules, (str, Path)):
        rule_list, cfg = load_rules(rules)
    else:
        rule_list, cfg = list(rules), {}
    cfg = {**cfg, **(settings or {})}
    ev, notes = collect_evidence(ds, scorecard, window, f"P{window[1:]}" if window.startswith("L") else "P12M",
                                 alpha, correction, segment, clv_by_region, hazard_ratios)
    regions = sorted(set(ev.loc[ev["source"] == "kpi", "region"]) - {COMPANY}) or sorted(set(ev["region"]) - {COMPANY})
    items = apply_rules(ev, rule_list, cfg, ds.currency) if len(ev) else pd.DataFrame(columns=ITEM_COLUMNS)
    if analyst is not None and not project_path(analyst).exists():
        notes.append(f"The analyst items file {analyst} does not exist: no analyst items.")
    manual = load_analyst_items(analyst, regions)
    if len(manual):
        items = pd.concat([items, manual], ignore_index=True) if len(items) else manual
    items = items.sort_values(["region", "quadrant", "priority", "score"], ascending=[True, True, False, False])
    return SwotResult(items.reset_index(drop=True), ev, regions, notes)
