"""A report that stops shows a reader one sentence, never a traceback."""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from toolkit.runner.render import ReportHeader, header_html, prepare_notebook

TRACE = ["\x1b[0;31mTraceback (most recent call last)\x1b[0m", '  File "/work/x.py", line 3, in <module>']


def _nb(ename: str, evalue: str) -> nbformat.NotebookNode:
    nb = new_notebook()
    cell = new_code_cell("fit()")
    cell.outputs = [new_output("stream", name="stdout", text="before\n"),
                    new_output("error", ename=ename, evalue=evalue, traceback=TRACE)]
    nb.cells = [cell]
    return nb


def _texts(nb) -> list[str]:
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_a_data_limit_is_one_sentence_without_traceback():
    out = prepare_notebook(_nb("InsufficientDataError", "9 churners among 160 customers: too few"), "<h1>x</h1>")
    outputs = out.cells[1].outputs
    assert [o.output_type for o in outputs] == ["stream", "stream"]
    assert outputs[1].text == "Stopped here: 9 churners among 160 customers: too few\n"
    assert not any("Traceback" in t or "File \"" in t for t in _texts(out))


def test_a_library_error_names_itself_and_where_the_traceback_is():
    out = prepare_notebook(_nb("ValueError", "Axis limits cannot be NaN or Inf"), "")
    text = out.cells[1].outputs[1].text
    assert text.startswith("Stopped here: ValueError: Axis limits cannot be NaN or Inf")
    assert "notebooks/ folder holds the traceback" in text and "Traceback (most" not in text


def test_the_header_tells_a_data_limit_from_a_failure():
    limit = header_html(ReportHeader(title="Churn", status="failed", error_type="InsufficientDataError",
                                     error_message="too few <churners>"))
    assert "This report stops early: the data cannot support the rest of it." in limit
    assert "too few &lt;churners&gt;" in limit and "This report failed" not in limit
    failure = header_html(ReportHeader(title="Churn", status="failed", error_type="KeyError", error_message="'x'"))
    assert "This report failed." in failure and "stops early" not in failure
