"""Answer quality of a surveys table: missing answers, missing codes and out-of-range codes.

The counts come from the loader's report (nothing is recounted from the raw file); the number of
usable answers per column comes from the loaded table.
"""
from __future__ import annotations

import pandas as pd

from toolkit.data.convert import snake

RULES = {"missing_answer": "no answer", "missing_code": "missing code", "out_of_range_answer": "out of range",
         "out_of_range": "out of range", "bad_numbers": "not a number"}
COLUMNS = ["no answer", "missing code", "out of range", "not a number"]


def _model_names(ds) -> dict[str, str]:
    """Source column -> model column of the surveys table."""
    ts = ds.spec.tables["surveys"]
    out = {}
    for model, src in ts.columns.items():
        if isinstance(src, str):
            out[src] = model
        elif isinstance(src, dict) and "source" in src:
            out[src["source"]] = model
    for col in ds.surveys.columns:
        if col.startswith("q_"):
            out.setdefault(col, col)
    items = ts.raw.get("items") or {}
    if isinstance(items, dict) and "pattern" not in items:
        out.update({src: (n if n.startswith("q_") else f"q_{snake(n)}") for n, src in items.items()})
    return out


def answer_quality(ds) -> pd.DataFrame:
    """Per answer column: usable answers and the counts of each problem the loader recorded."""
    rep = ds.report.to_frame()
    rep = rep.loc[(rep["table"] == "surveys") & rep["rule"].isin(list(RULES))]
    names = _model_names(ds)
    counts = pd.DataFrame(0, index=pd.Index([], name="column"), columns=COLUMNS)
    if len(rep):
        rep = rep.assign(problem=rep["rule"].map(RULES),
                         column=rep["column"].map(lambda c: names.get(c, f"q_{snake(c)}"
                                                                     if f"q_{snake(c)}" in ds.surveys else c)))
        counts = rep.pivot_table(index="column", columns="problem", values="rows", aggfunc="sum", fill_value=0)
        counts = counts.reindex(columns=COLUMNS, fill_value=0)
    cols = [c for c in ("overall_satisfaction", "nps") if c in ds.surveys.columns]
    cols += [c for c in ds.surveys.columns if c.startswith("q_")]
    out = counts.reindex(cols, fill_value=0)
    out.insert(0, "answered", ds.surveys[cols].notna().sum())
    out["responses"] = len(ds.surveys)
    out.index.name = "column"
    return out.astype(int)


def totals(ds) -> dict[str, int]:
    """Total counts over the table, straight from the load report."""
    rep = ds.report
    return {"responses": int(len(ds.surveys)),
            "missing_answers": rep.count("surveys", "missing_answer"),
            "missing_codes": rep.count("surveys", "missing_code"),
            "out_of_range": rep.count("surveys", "out_of_range_answer") + rep.count("surveys", "out_of_range"),
            "not_a_number": rep.count("surveys", "bad_numbers")}
