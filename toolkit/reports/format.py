"""Showing results in a report: tables with captions and units, prose built from numbers.

Every data-derived string is HTML-escaped before it reaches the page, so names, product
descriptions or comments carrying markup never execute in a shared report.
"""
from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
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


def say_built(text: str) -> None:
    """Display a sentence built by a toolkit function that escaped its data values itself."""
    display(Markdown(text))


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


def change_columns(frame: pd.DataFrame, units: Mapping[str, str] | str | None = None) -> list[str]:
    """Columns holding relative changes (0.02 = +2%): a unit naming growth or a relative change.
    They are shown as signed percentages; a change may be negative, so no 0-1 check."""
    if not isinstance(units, Mapping):
        return []
    unit_of = {name.strip(): str(text) for key, text in units.items() for name in str(key).split(" / ")}
    return [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c]) and frame[c].notna().any()
            and re.search(r"\bgrowth\b|relative change", unit_of.get(str(c), ""))]


MIN_GROUP_SIZE = 30   # customers a group needs before it is ranked or called different


def rate_ranking(table: pd.DataFrame, name: str, rate: str = "churn_rate", count: str = "at_start",
                 min_group_size: int = MIN_GROUP_SIZE, overall: float | None = None) -> str:
    """One sentence ranking the groups of ``table`` (index: group) by the share ``rate`` with its
    ``count`` of customers. Groups smaller than ``min_group_size`` are named as too few customers
    and never ranked; up to three groups are all named, more by the highest and the lowest."""
    t = table.loc[table[rate].notna()]
    big, small = t.loc[t[count] >= min_group_size], t.loc[t[count] < min_group_size]
    part = lambda g: f"**{esc(g)}** ({fmt_pct(t.loc[g, rate])} of {fmt_int(t.loc[g, count])})"  # noqa: E731
    order = big[rate].sort_values(ascending=False).index
    if len(order) == 0:
        text = f"No {name} has {min_group_size} or more customers, so no {name} is ranked"
    elif len(order) == 1:
        text = f"Only {part(order[0])} has {min_group_size} or more customers, so there is no ranking by {name}"
    elif len(order) <= 3:
        text = f"By {name}, from highest to lowest: " + ", ".join(part(g) for g in order)
    else:
        text = f"By {name}, the rate is highest in {part(order[0])} and lowest in {part(order[-1])}"
    if overall is not None and np.isfinite(overall):
        text += f", against {fmt_pct(overall)} overall"
    text += "."
    if len(small):
        names = ", ".join(esc(g) for g in small.index[:5]) + (f" and {len(small) - 5} more" if len(small) > 5 else "")
        text += (f" {len(small)} {'group has' if len(small) == 1 else 'groups have'} fewer than {min_group_size} "
                 f"customers and {'is' if len(small) == 1 else 'are'} not ranked (too few customers: {names}).")
    return text


def fmt_value(x: float, unit: str, currency: str = "") -> str:
    """A value in its own unit: money with its currency when ``unit`` is the currency, otherwise
    the number with the unit it counts (e.g. "16.6 customers" for expected churners)."""
    if unit and unit != currency and unit != "currency units":
        return f"{x:,.1f} {unit}"
    return fmt_money(x, currency or unit)


def shows_money(frame: pd.DataFrame, currency: str) -> bool:
    """Whether any cell of a formatted table shows an amount in ``currency``."""
    return bool(currency) and bool(frame.astype(str).apply(lambda c: c.str.contains(currency, regex=False)).any().any())


def show_table(frame: pd.DataFrame, caption: str, units: Mapping[str, str] | str | None = None,
               max_rows: int = 30, precision: int = 2, index: bool = True) -> None:
    """Display a table with a caption and a units line (see :func:`table_html`)."""
    display(HTML(table_html(frame, caption, units, max_rows=max_rows, precision=precision, index=index)))


def header_label(name: object) -> str:
    """A column name as a table header shows it: words, not snake_case (so it can wrap)."""
    return str(name).replace("_", " ")


def table_html(frame: pd.DataFrame, caption: str, units: Mapping[str, str] | str | None = None,
               max_rows: int = 30, precision: int = 2, index: bool = True) -> str:
    """A table as HTML with a caption and a units line (escaped; at most ``max_rows`` rows).
    Shares show as percentages, large whole numbers with thousands separators. A column without
    any value is left out, and so is its unit (no "revenue: EUR" over data without money)."""
    empty = [c for c in frame.columns if frame[c].isna().all()] if len(frame) else []
    if empty:
        frame = frame.drop(columns=empty)
        if isinstance(units, Mapping):
            gone = {str(c) for c in empty}
            units = {k: v for k, v in units.items()
                     if not all(name.strip() in gone for name in str(k).split(" / "))}
    shown = frame.head(max_rows)
    styler = shown.style.format(precision=precision, thousands=",", escape="html", na_rep="–")
    shares, changes = share_columns(shown, units), change_columns(shown, units)
    for col in shown.columns:
        s = shown[col]
        if col in changes:
            styler = styler.format("{:+.1%}", subset=[col], na_rep="–")
        elif col in shares:
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
    # column names read as words and wrap: "churn_rate" is shown (and named in the units line) "churn rate"
    styler = styler.relabel_index([header_label(c) for c in shown.columns], axis="columns")
    h = html.escape
    cap = h(caption)
    if isinstance(units, Mapping) and units:
        cap += " — units: " + "; ".join(f"{h(header_label(k))}: {h(str(v))}" for k, v in units.items())
    elif isinstance(units, str) and units:
        cap += f" — units: {h(units)}"
    if len(frame) > max_rows:
        cap += f" (first {max_rows} of {len(frame):,} rows)"
    styler = styler.set_caption(cap).set_table_attributes('class="custkit-table"')
    return styler.to_html()


def shown_path(path: str | os.PathLike | None, base: str | os.PathLike | None = None) -> str:
    """A file as a page shows it: relative to the project (or to ``base``, e.g. the dataset spec's
    folder) when it lies inside it, else its name; never the machine's absolute path. The manifest
    keeps the full paths. Anything that is not a local absolute path (a URL) is returned unchanged."""
    from toolkit.data.spec import project_root

    text = "" if path is None else str(path)
    p = Path(text)
    if not text or "://" in text or not p.is_absolute():
        return text
    for root in (project_root(), base):
        if root is None:
            continue
        try:
            return p.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return p.name
