"""Run the report pack inside this Python process, cell by cell, and render every report.

The runner (``toolkit.runner``) starts a kernel per report; for the data-shape matrix that start-up
and the imports would cost more than the reports themselves. This harness executes the same
notebooks, with the same parameters the runner passes, in one IPython shell per process, keeps
each cell's outputs (text, tables, figures, errors) in the notebook and renders it with the
runner's own renderer, so a report that renders here renders in a run.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_output

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ReportOutcome:
    """What one report did: its status, the error it stopped on, and its rendered page."""

    name: str
    status: str
    error_type: str | None = None
    error_message: str | None = None
    html: Path | None = None
    seconds: float = 0.0
    outputs_text: str = field(default="", repr=False)


def _placeholder_png() -> str:
    """A 1 x 1 white PNG, base64-encoded as a kernel sends images."""
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def rasterise_figures(on: bool) -> None:
    """Draw each displayed figure as a PNG (as a kernel does), or show a 1 x 1 placeholder: the plotting
    code still runs and the figure is placed on the page, but it is not drawn. Drawing is about a third
    of a report's time and says nothing about the data's shape; every figure is drawn in the real runs
    of tests/test_notebooks.py and tests/test_browser.py."""
    from matplotlib.figure import Figure

    png = _shell().display_formatter.formatters["image/png"]
    if on:
        from IPython.core.pylabtools import print_figure
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight", base64=True))
    else:
        placeholder = _placeholder_png()
        png.for_type(Figure, lambda fig: placeholder)


def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    if not getattr(shell, "_custkit_inline", False):
        shell.enable_gui = lambda gui=None: None   # a plain shell has no GUI loop; inline needs none
        shell.enable_matplotlib("inline")
        # a kernel sends an error as an error output, never as printed text: execute_notebook adds it
        shell.showtraceback = lambda *args, **kwargs: None
        # a kernel sends a cell's value as display data, without the terminal's "Out[n]: " prompt
        shell.displayhook.write_output_prompt = lambda: None
        shell._custkit_inline = True
    return shell


def _text_of(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    data = output.get("data", {})
    return str(data.get("text/html") or data.get("text/markdown") or data.get("text/plain") or "")


def execute_notebook(path: Path, parameters: dict[str, Any]) -> tuple[nbformat.NotebookNode, BaseException | None]:
    """Execute ``path`` with ``parameters`` injected after its parameters cell, as papermill does."""
    from IPython.utils.capture import capture_output
    import matplotlib.pyplot as plt

    shell = _shell()
    shell.reset(new_session=False)
    nb = nbformat.read(path, as_version=4)
    injected = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    error = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            source = f"{source}\n# injected parameters\n{injected}"
        t0 = time.perf_counter()
        with capture_output() as cap:
            result = shell.run_cell(source, store_history=False)
        cell.metadata["execution_seconds"] = round(time.perf_counter() - t0, 3)
        outputs = []
        if cap.stdout:
            outputs.append(new_output("stream", name="stdout", text=cap.stdout))
        if cap.stderr:
            outputs.append(new_output("stream", name="stderr", text=cap.stderr))
        outputs += [new_output("display_data", data=o.data, metadata=o.metadata) for o in cap.outputs]
        error = result.error_in_exec or result.error_before_exec
        if error is not None:
            outputs.append(new_output("error", ename=type(error).__name__, evalue=str(error), traceback=[]))
        cell.outputs = outputs
        if error is not None:
            break
    plt.close("all")
    return nb, error


def run_pack_inprocess(dataset: str | os.PathLike, run_dir: str | os.PathLike,
                       config: str | os.PathLike = ROOT / "config" / "reports.yaml",
                       figures: bool = True) -> dict[str, ReportOutcome]:
    """Run every report of ``config`` on ``dataset`` in order, publishing into ``run_dir``; with
    ``figures=False`` figures are placed but not drawn (:func:`rasterise_figures`)."""
    rasterise_figures(figures)
    from toolkit.runner import load_config
    from toolkit.runner.pack import report_parameters
    from toolkit.runner.render import ReportHeader, render_notebook

    run_dir = Path(run_dir).resolve()
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(ROOT)   # config and notebook paths are relative to the project, as for the runner
    outcomes: dict[str, ReportOutcome] = {}
    try:
        cfg = load_config(config, dataset=str(dataset), output_dir=str(run_dir))
        for r in cfg.reports:
            params = report_parameters(cfg, r, str(run_dir.resolve()))
            t0 = time.monotonic()
            nb, error = execute_notebook(r.notebook, params)
            executed = run_dir / "notebooks" / f"{r.name}.ipynb"
            nbformat.write(nb, executed)
            status = "ok" if error is None else "failed"
            header = ReportHeader(title=r.title, pack_title=cfg.title, dataset=str(dataset), parameters=params,
                                  status=status, error_type=type(error).__name__ if error else None,
                                  error_message=str(error) if error else None)
            html = render_notebook(executed, run_dir / f"{r.name}.html", header)
            text = "\n".join(_text_of(o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
            outcomes[r.name] = ReportOutcome(r.name, status, header.error_type, header.error_message, html,
                                             round(time.monotonic() - t0, 2), text)
    finally:
        os.chdir(here)
    (run_dir / "outcomes.json").write_text(json.dumps(
        {n: {"status": o.status, "error_type": o.error_type, "error_message": o.error_message,
             "seconds": o.seconds} for n, o in outcomes.items()}, indent=2))
    return outcomes
