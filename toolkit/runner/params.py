"""Declared notebook parameters and the pre-flight check of the values a run passes.

The cell tagged ``parameters`` is parsed with :mod:`ast` (no kernel is started). A parameter's
expected type is the type of its literal default (or its annotation when the default is not a
literal); ``None`` or a non-literal default accepts any value.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from toolkit.runner.config import RUNNER_PARAMETERS
from toolkit.runner.errors import RunnerError

_UNKNOWN = object()
_ANNOTATIONS = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}


@dataclass(frozen=True)
class Parameter:
    """One assignment of a notebook's parameters cell."""

    name: str
    default: Any          # the literal default, or _UNKNOWN when it is not a literal
    source: str           # the default as written
    expected: type | None  # None: any value accepted

    @property
    def has_literal_default(self) -> bool:
        return self.default is not _UNKNOWN


def _expected_type(default: Any, annotation: ast.expr | None) -> type | None:
    if default is None:
        return None
    if default is not _UNKNOWN:
        return list if isinstance(default, tuple) else type(default)
    if isinstance(annotation, ast.Name):
        return _ANNOTATIONS.get(annotation.id)
    return None


def parse_parameters_source(source: str) -> dict[str, Parameter]:
    """Parameters assigned at top level of a parameters cell's source, in order."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    text = "\n".join(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise RunnerError(f"the parameters cell is not valid Python: {exc}") from None
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Name)]
            value, annotation = node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets, value, annotation = [node.target], node.value, node.annotation
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            default = _UNKNOWN
        src = ast.get_source_segment(text, value) or ""
        for t in targets:
            params[t.id] = Parameter(t.id, default, src, _expected_type(default, annotation))
    return params


def notebook_parameters(path: str | os.PathLike) -> dict[str, Parameter]:
    """Declared parameters of a notebook; a notebook without a cell tagged ``parameters`` is an error."""
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise RunnerError(f"notebook {path} not found") from None
    except Exception as exc:  # malformed JSON or notebook format
        raise RunnerError(f"notebook {path} cannot be read: {exc}") from None
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                return parse_parameters_source(cell.source)
            except RunnerError as exc:
                raise RunnerError(f"notebook {path}: {exc}") from None
    raise RunnerError(f"notebook {path} has no cell tagged 'parameters': papermill would inject values that "
                      "the defaults then overwrite. Tag the cell that assigns the defaults with 'parameters'.")


def _type_ok(value: Any, expected: type | None) -> bool:
    if expected is None:
        return True
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is list:
        return isinstance(value, (list, tuple))
    return isinstance(value, expected)


def check_parameters(notebook: str | os.PathLike, given: dict[str, Any], report: str = "") -> dict[str, Parameter]:
    """Check ``given`` against the notebook's declared parameters; raise RunnerError on any mismatch."""
    declared = notebook_parameters(notebook)
    label = f"report {report!r} ({notebook})" if report else f"notebook {notebook}"
    valid = ", ".join(f"{p.name}={p.source}" for p in declared.values()) or "none"
    problems = []
    unknown = [k for k in given if k not in declared]
    if unknown:
        hint = [k for k in unknown if k in RUNNER_PARAMETERS]
        problems.append(f"unknown parameter(s) {', '.join(unknown)}" + (
            f" (the runner passes {', '.join(k for k in RUNNER_PARAMETERS if k in given)} to every notebook: "
            "declare them in its "
            "parameters cell)" if hint else ""))
    for name, value in given.items():
        p = declared.get(name)
        if p is not None and not _type_ok(value, p.expected):
            problems.append(f"parameter {name!r} expects {p.expected.__name__} (default {p.source}), "
                            f"got {type(value).__name__} {value!r}")
    if problems:
        raise RunnerError(f"{label}: {'; '.join(problems)}. Valid parameters (with defaults): {valid}")
    return declared
