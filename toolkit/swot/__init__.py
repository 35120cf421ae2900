"""Regional SWOT from evidence: KPI scorecard, survey, market and churn figures run through
editable rules (config/swot.yaml), merged with analyst items (config/swot_analyst.yaml).

    from toolkit.swot import build_swot, swot_grid_html
    res = build_swot(ds, kpi.scorecard)          # kpi = toolkit.kpi.build_scorecard(ds)
    res.items                                    # one row per item: quadrant, statement, figures, test
    swot_grid_html(res.items, "East")            # the 2x2 grid of a region (escaped HTML)
"""
from toolkit.swot.analyst import load_analyst_items, parse_analyst_items
from toolkit.swot.build import DEFAULT_ANALYST, DEFAULT_RULES, SwotResult, build_swot, collect_evidence
from toolkit.swot.evidence import COLUMNS as EVIDENCE_COLUMNS
from toolkit.swot.render import swot_grid_html
from toolkit.swot.rules import ITEM_COLUMNS, QUADRANTS, Rule, apply_rules, describe, load_rules, parse_rules

__all__ = ["build_swot", "collect_evidence", "SwotResult", "apply_rules", "load_rules", "parse_rules", "Rule",
           "describe", "load_analyst_items", "parse_analyst_items", "swot_grid_html", "QUADRANTS", "ITEM_COLUMNS",
           "EVIDENCE_COLUMNS", "DEFAULT_RULES", "DEFAULT_ANALYST"]
