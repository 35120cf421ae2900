"""The run's index.html: a self-contained page listing every report of the pack with its outcome."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from toolkit.reports.format import shown_path

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 0; background: #fff; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 40px 64px; box-sizing: border-box; }
h1 { font-size: 1.9em; margin: 0 0 6px; }
h2 { font-size: 1.3em; margin: 28px 0 8px; }
.meta { color: #57606a; margin-bottom: 14px; }
.summary { font-weight: 600; margin: 12px 0; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.95em; }
th, td { border: 1px solid #d0d7de; padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; white-space: nowrap; }
td.error { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em;
           white-space: pre-wrap; word-break: break-word; max-width: 560px; }
.status { font-weight: 600; padding: 1px 8px; border-radius: 10px; white-space: nowrap; }
.status-ok { background: #dafbe1; color: #116329; }
.status-failed { background: #ffebe9; color: #a40e26; }
nav ul { margin: 4px 0; padding-left: 1.2em; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
"""
MAX_ERROR_CHARS = 600


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def index_html(manifest: dict[str, Any]) -> str:
    """The index page for a manifest (see :func:`toolkit.runner.pack.run_pack`); every value escaped."""
    reports = manifest["reports"]
    n_ok = sum(r["status"] == "ok" for r in reports)
    ds = manifest["dataset"]
    dataset = f"<code>{_esc(shown_path(ds['spec']))}</code>"
    if ds.get("title"):
        dataset = f"{_esc(ds['title'])} ({dataset})"
    toc, rows = [], []
    for i, r in enumerate(reports, 1):
        link = (f'<a href="{_esc(r["html"])}">{_esc(r["title"])}</a>' if r.get("html") else _esc(r["title"]))
        toc.append(f"<li>{link} <span class=\"status status-{_esc(r['status'])}\">{_esc(r['status'])}</span></li>")
        error = ""
        if r.get("error_type") or r.get("error_message"):
            msg = str(r.get("error_message") or "")
            if len(msg) > MAX_ERROR_CHARS:
                msg = msg[:MAX_ERROR_CHARS] + " …"
            error = f"{r.get('error_type') or 'Error'}: {msg}"
        duration = "" if r.get("duration_seconds") is None else f"{r['duration_seconds']:.1f} s"
        nb = f'<a href="{_esc(r["executed_notebook"])}">notebook</a>' if r.get("executed_notebook") else ""
        rows.append(
            f'<tr id="report-{_esc(r["name"])}"><td class="num">{i}</td><td>{link}<br><code>{_esc(r["name"])}</code>'
            f'</td><td><span class="status status-{_esc(r["status"])}">{_esc(r["status"])}</span></td>'
            f'<td class="num">{_esc(duration)}</td><td class="error">{_esc(error)}</td><td>{nb}</td></tr>')
    spec_dir = Path(str(ds["spec"])).parent if ds.get("spec") else None
    inputs = "".join(f"<tr><td><code>{_esc(shown_path(f['path'], spec_dir))}</code></td><td class=\"num\">{_esc(_size(f['size']))}</td>"
                     f"<td><code>{_esc(f['sha256'][:16])}…</code></td></tr>" for f in manifest.get("inputs", []))
    summary = f"{n_ok} of {len(reports)} reports ok" + ("" if n_ok == len(reports) else
                                                        f", {len(reports) - n_ok} failed")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{_esc(manifest['title'])} &middot; {_esc(manifest['run_id'])}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{_esc(manifest['title'])}</h1>
<div class="meta">Run <code>{_esc(manifest['run_id'])}</code> &middot; started {_esc(manifest['started'])}
 &middot; {_esc(manifest.get('duration_seconds'))} s &middot; custkit {_esc(manifest['environment']['custkit'])}</div>
<div>Dataset: {dataset}</div>
<div class="summary">{_esc(summary)}</div>
<nav aria-label="Reports"><ul>{''.join(toc)}</ul></nav>
<h2>Reports</h2>
<div class="table-wrap"><table>
<thead><tr><th>#</th><th>Report</th><th>Status</th><th>Duration</th><th>Error</th><th>Executed</th></tr></thead>
<tbody>{''.join(rows)}</tbody>
</table></div>
<h2>Inputs</h2>
<div class="table-wrap"><table>
<thead><tr><th>File</th><th>Size</th><th>sha256</th></tr></thead>
<tbody>{inputs}</tbody>
</table></div>
<p><a href="manifest.json">manifest.json</a> (inputs, software versions, parameters, outcomes) &middot;
<a href="config.yaml">config.yaml</a> (the resolved configuration)</p>
</main>
</body>
</html>
"""


def write_index(run_dir: Path, manifest: dict[str, Any]) -> Path:
    path = run_dir / "index.html"
    path.write_text(index_html(manifest), encoding="utf-8")
    return path
