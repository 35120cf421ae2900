"""Rendering an executed notebook to a self-contained HTML report.

A copy of the notebook gets a header (title, dataset, parameters, run, version, error if any) as a
raw HTML cell; stderr streams are dropped; the ``custkit`` nbconvert template leaves out everything
that would load from the network. A table of contents is built afterwards from the ``h2``/``h3``
headings nbconvert rendered (it gives them ids), so the links match the page exactly.
"""
from __future__ import annotations

import copy
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from toolkit.reports.format import shown_path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE_NAME = "custkit"
TOC_PLACEHOLDER = "<!-- custkit-toc -->"
_HEADING = re.compile(r"<h([23])\b([^>]*)>(.*?)</h\1>", re.DOTALL | re.IGNORECASE)
_ID_ATTR = re.compile(r'\bid="([^"]*)"')
_TAG = re.compile(r"<[^>]+>")
# BeautifulSoup re-serialises nbconvert's page (attribute order may change): match loosely.
_TOC_NAV = re.compile(r'<nav\b[^>]*class="ck-toc"[^>]*>\s*' + re.escape(TOC_PLACEHOLDER) + r"\s*</nav>")


@dataclass
class ReportHeader:
    """What the top of a report page states about the run."""

    title: str
    pack_title: str = ""
    dataset: str | None = None
    dataset_title: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    run_date: str = ""
    version: str = ""
    status: str = "ok"
    error_type: str | None = None
    error_message: str | None = None
    index_href: str | None = "index.html"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def format_value(value: Any) -> str:
    """A parameter value as plain text: a mapping as "key: value; …" (None as "default", e.g. the
    run settings), anything else but a string as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{k}: {'default' if v is None else format_value(v)}" for k, v in value.items())
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def header_html(h: ReportHeader) -> str:
    """The report header as HTML; every value is escaped."""
    parts = ['<div class="ck-header">']
    if h.index_href:
        back = f"&larr; {_esc(h.pack_title)}" if h.pack_title else "&larr; Report index"
        parts.append(f'<div class="ck-back"><a href="{_esc(h.index_href)}">{back}</a></div>')
    parts.append(f"<h1>{_esc(h.title)}</h1>")
    meta = [f"Run <code>{_esc(h.run_id)}</code>" if h.run_id else "", _esc(h.run_date),
            f"custkit {_esc(h.version)}" if h.version else ""]
    parts.append(f'<div class="ck-meta">{" &middot; ".join(m for m in meta if m)}</div>')
    if h.status != "ok" and h.error_type in DATA_LIMITS:
        parts.append('<div class="ck-error"><strong>This report stops early: the data cannot support the rest '
                     'of it.</strong> The sections below run up to that point.'
                     f"<p>{_esc(h.error_message)}</p></div>")
    elif h.status != "ok":
        parts.append('<div class="ck-error"><strong>This report failed.</strong> '
                     'The output below stops at the failing cell '
                     '(<a href="#papermill-error-cell">jump to the error</a>).'
                     f"<pre>{_esc(h.error_type or 'Error')}: {_esc(h.error_message)}</pre></div>")
    rows = []
    if h.dataset is not None:
        ds = f"<code>{_esc(shown_path(h.dataset))}</code>"
        if h.dataset_title:
            ds = f"{_esc(h.dataset_title)} ({ds})"
        rows.append(f"<tr><th>Dataset</th><td>{ds}</td></tr>")
    for name, value in h.parameters.items():
        if name in ("run_dir", "dataset"):
            continue
        rows.append(f"<tr><th><code>{_esc(name)}</code></th><td><code>{_esc(format_value(value))}</code></td></tr>")
    if rows:
        parts.append('<table class="ck-params"><thead><tr><th>Setting</th><th>Value</th></tr></thead><tbody>'
                     + "".join(rows) + "</tbody></table>")
    parts.append(f'<nav class="ck-toc" aria-label="Contents">{TOC_PLACEHOLDER}</nav>')
    parts.append("</div>")
    return "".join(parts)


# Errors that state what the data cannot support (toolkit.data's DataError family): a reader gets
# the sentence, never a traceback.
DATA_LIMITS = {"DataError", "SpecError", "MissingTableError", "InsufficientDataError", "PlanConfigError",
               "ConvergenceError"}   # a model these data cannot identify; its message says why


def _one_line(output: dict) -> dict:
    """An error output as one sentence; the traceback stays in the executed notebook for developers."""
    name, value = output.get("ename", "Error"), output.get("evalue", "")
    text = value if name in DATA_LIMITS else (f"{name}: {value} (the executed notebook in the run's notebooks/ "
                                               "folder holds the traceback)")
    return nbformat.v4.new_output("stream", name="stdout", text=f"Stopped here: {text}\n")


def prepare_notebook(nb: nbformat.NotebookNode, header: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` for display: header cell first, no stderr streams, no duplicate papermill banner."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "papermill-error-cell-tag" in tags and 'id="papermill-error-cell"' not in "".join(cell.source):
            continue  # the "An Exception was encountered" banner: the header states the error instead
        if cell.cell_type == "code":
            cell.outputs = [_one_line(o) if o.get("output_type") == "error" else o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    head = nbformat.v4.new_raw_cell(header)
    head.metadata["raw_mimetype"] = "text/html"
    head.metadata["custkit_header"] = True
    nb.cells = [head] + cells
    return nb


def add_toc(page: str) -> str:
    """Fill the TOC placeholder from the page's h2/h3 headings with ids (made unique); drop it if none."""
    seen: dict[str, int] = {}
    entries: list[tuple[int, str, str]] = []

    def visit(m: re.Match) -> str:
        level, attrs, inner = m.group(1), m.group(2), m.group(3)
        idm = _ID_ATTR.search(attrs)
        if not idm:
            return m.group(0)
        old = idm.group(1)
        seen[old] = seen.get(old, 0) + 1
        new = old if seen[old] == 1 else f"{old}-{seen[old]}"
        if new != old:
            attrs = attrs.replace(f'id="{old}"', f'id="{new}"', 1)
            inner = inner.replace(f'href="#{old}"', f'href="#{new}"')
        text = html.unescape(_TAG.sub("", inner.replace("¶", ""))).strip()
        entries.append((int(level), new, text))
        return f"<h{level}{attrs}>{inner}</h{level}>"

    start = page.find(TOC_PLACEHOLDER)
    if start < 0:
        return page
    head, body = page[:start], page[start:]
    body = _HEADING.sub(visit, body)
    page = head + body
    if not entries:
        return _TOC_NAV.sub("", page, count=1)
    items = "".join(f'<li class="ck-toc-{lvl}"><a href="#{anchor}">{html.escape(text)}</a></li>'
                    for lvl, anchor, text in entries)
    toc = f'<div class="ck-toc-title">Contents</div><ul>{items}</ul>'
    return page.replace(TOC_PLACEHOLDER, toc, 1)


def exporter():
    """The HTML exporter: custkit template, code and prompts hidden, images embedded."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exp = HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES)],
                       exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                       embed_images=True)
    exp.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"remove-cell"},
                                                    remove_all_outputs_tags={"remove-output"},
                                                    enabled=True), enabled=True)
    return exp


def render_notebook(notebook: str | os.PathLike, html_path: str | os.PathLike, header: ReportHeader) -> Path:
    """Render ``notebook`` (executed) to ``html_path`` with ``header`` on top; return the HTML path."""
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["title"] = header.title
    page, _ = exporter().from_notebook_node(prepare_notebook(nb, header_html(header)),
                                            resources={"metadata": {"name": header.title}})
    html_path = Path(html_path)
    html_path.write_text(add_toc(page), encoding="utf-8")
    return html_path
