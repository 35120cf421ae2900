"""Write a notebook from a compact list of cells (used by maintainers to author notebooks/).

Usage in a script: build("notebooks/00_data_quality.ipynb", [("params", src), ("md", text), ("code", src)])
The result has no outputs, a `parameters`-tagged first cell and the python3 kernelspec.
"""
from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def build(path: str, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "params":
            cell = new_code_cell(src)
            cell.metadata["tags"] = ["parameters"]
        elif kind == "md":
            cell = new_markdown_cell(src)
        else:
            cell = new_code_cell(src)
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"
    nbformat.validate(nb)
    nbformat.write(nb, path)
