"""The SWOT as a 2x2 HTML grid per region; every piece of text is escaped."""
from __future__ import annotations

import html

import pandas as pd

from toolkit.swot.rules import QUADRANTS

_COLOURS = {"Strength": "#e8f1e4", "Weakness": "#f6e3e2", "Opportunity": "#e3edf6", "Threat": "#fbeedd"}
_PLURAL = {"Strength": "Strengths", "Weakness": "Weaknesses", "Opportunity": "Opportunities", "Threat": "Threats"}
_STYLE = ("<style>.swot-grid{display:grid;grid-template-columns:1fr 1fr;gap:6px;margin:6px 0 18px 0;"
          "max-width:1180px}.swot-cell{padding:8px 12px;border-radius:4px;font-size:13px}"
          ".swot-cell h4{margin:2px 0 6px 0}.swot-cell ul{margin:0;padding-left:18px}"
          ".swot-cell li{margin-bottom:6px}.swot-act{font-style:italic;color:#333}"
          ".swot-none{color:#777}</style>")


def _cell(items: pd.DataFrame, quadrant: str) -> str:
    e = html.escape
    head = f"<h4>{e(_PLURAL[quadrant])}</h4>"
    if items.empty:
        body = '<p class="swot-none">No item.</p>'
    else:
        lis = []
        for _, it in items.iterrows():
            origin = " (analyst)" if it["origin"] == "analyst" else ""
            act = f'<br><span class="swot-act">Action: {e(str(it["action"]))}</span>' if it["action"] else ""
            lis.append(f"<li><b>{e(str(it['title']))}</b>{e(origin)}<br>{e(str(it['statement']))}{act}</li>")
        body = "<ul>" + "".join(lis) + "</ul>"
    return f'<div class="swot-cell" style="background:{_COLOURS[quadrant]}">{head}{body}</div>'


def swot_grid_html(items: pd.DataFrame, region: str) -> str:
    """The 2x2 grid (Strengths | Weaknesses / Opportunities | Threats) of one region."""
    mine = items.loc[items["region"] == region].sort_values(["priority", "score"], ascending=False)
    cells = "".join(_cell(mine.loc[mine["quadrant"] == q], q) for q in QUADRANTS)
    return f'{_STYLE}<h3>{html.escape(str(region))}</h3><div class="swot-grid">{cells}</div>'
