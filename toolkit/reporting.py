"""Showing results in a report: tables with captions and units, prose built from numbers.

Every data-derived string is HTML-escaped before it reaches the page, so names, product
descriptions or comments carrying markup never execute in a shared report.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping

import pandas as pd
from IPython.display import HTML, Markdown, display


def esc(value: object) -> str:
    """Escape a value for HTML/Markdown output."""
    text = html.escape(str(value), quote=True)
    # Markdown would still interpret these; make them literal.
    for ch in ("*", "_", "`", "[", "]", "|"):
        text = text.replace(ch, "\\" + ch)
    return text


def say(template: str, **values: object) -> None:
    """Display Markdown prose; ``values`` are formatted into ``template`` after escaping."""
    display(Markdown(template.format(**{k: esc(v) if isinstance(v, str) else v for k, v in values.items()})))


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def fmt_pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def fmt_money(x: float, currency: str = "") -> str:
    return f"{currency + ' ' if currency else ''}{x:,.2f}"


_SHARE_NAME = re.compile(r"(^|_)(share|rate|pct|proportion)(_|$)|^share ")


def share_columns(frame: pd.DataFrame, units: Mapping[str, str] | str | None = None) -> list[str]:
    """Columns holding shares (0-1): named share / rate, or with a unit saying share; every value
    between 0 and 1. They are shown as percentages."""
    unit_of: dict[str, str] = {}
    if isinstance(units, Mapping):
        for key, text in units.items():
            for name in str(key).split(" / "):
                unit_of[name.strip()] = str(text)
    out = []
    for col in frame.columns:
        s = frame[col]
        if not pd.api.types.is_float_dtype(s) or s.isna().all():
            continue
        unit = unit_of.get(str(col), units if isinstance(units, str) else "")
        named = bool(_SHARE_NAME.search(str(col))) or "share" in unit or unit == "lost / at start"
        if named and "per period" not in unit and "x " not in unit and s.dropna().between(0, 1).all():
            out.append(col)
    return out


def show_table(frame: pd.DataFrame, caption: str, units: Mapping[str, str] | str | None = None,
               max_rows: int = 30, precision: int = 2, index: bool = True) -> None:
    """Display a table with a caption and a units line (escaped; at most ``max_rows`` rows).
    Shares show as percentages, large whole numbers with thousands separators."""
    shown = frame.head(max_rows)
    styler = shown.style.format(precision=precision, thousands=",", escape="html", na_rep="–")
    shares = share_columns(shown, units)
    for col in shown.columns:
        s = shown[col]
        if col in shares:
            styler = styler.format("{:.1%}", subset=[col], na_rep="–")
        elif pd.api.types.is_datetime64_any_dtype(s):
            styler = styler.format(lambda v: "–" if pd.isna(v) else v.strftime("%Y-%m-%d"), subset=[col])
        elif pd.api.types.is_float_dtype(s) and s.notna().any() and (s.dropna() % 1 == 0).all() \
                and s.abs().max() >= 100:
            styler = styler.format("{:,.0f}", subset=[col], na_rep="–")
    if isinstance(shown.index, pd.DatetimeIndex):
        styler = styler.format_index(lambda v: v.strftime("%Y-%m-%d"))
    else:
        styler = styler.format_index(escape="html")
    if not index:
        styler = styler.hide(axis="index")
    h = html.escape
    cap = h(caption)
    if isinstance(units, Mapping) and units:
        cap += " — units: " + "; ".join(f"{h(str(k))}: {h(str(v))}" for k, v in units.items())
    elif isinstance(units, str) and units:
        cap += f" — units: {h(units)}"
    if len(frame) > max_rows:
        cap += f" (first {max_rows} of {len(frame):,} rows)"
    styler = styler.set_caption(cap).set_table_attributes('class="custkit-table"')
    display(HTML(styler.to_html()))
