"""Mapping one table's source rows onto the data model: conversions and row rules, each counted.

:class:`TableValidator` applies the model's types and the spec's rules to a frame of source rows
(all of a table, or one batch of a large transaction log) and records every row it drops,
repairs or flags in the :class:`~toolkit.data.report.LoadReport`.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from toolkit.data import convert
from toolkit.data.errors import DataError, SpecError
from toolkit.data.readers import LINE

NUMERIC = "__number"   # batch mode: suffix of an extra attribute's numeric reading
from toolkit.data.report import LoadReport
from toolkit.data.schema import Table
from toolkit.data.spec import DURATION_UNITS, TableSpec

def source_col(df: pd.DataFrame, src: str, ts: TableSpec, model_col: str) -> pd.Series:
    if src not in df.columns:
        found = ", ".join(repr(c) for c in df.columns if c != LINE)
        raise DataError(f"model column {model_col!r} maps to source column {src!r}, which the file does not "
                        f"have (found: {found[:400]})", file=str(ts.path), column=src,
                        hint="fix 'columns' in the spec")
    return df[src]


def mapped_raw(df: pd.DataFrame, ts: TableSpec, table: Table) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Select/compute the raw model columns; returns the raw frame and per-column options."""
    out = pd.DataFrame(index=df.index)
    opts: dict[str, dict] = {}
    for col, m in ts.columns.items():
        if isinstance(m, str):
            out[col] = source_col(df, m, ts, col)
            opts[col] = {"source": m}
        elif isinstance(m, dict):
            if "value" in m:
                out[col] = m["value"]
                opts[col] = {"source": f"constant {m['value']!r}", "constant": True}
            elif "multiply" in m:
                parts = [source_col(df, c, ts, col) for c in m["multiply"]]
                opts[col] = {"source": " x ".join(m["multiply"]), "multiply": parts}
                out[col] = parts[0]
            elif "row_number" in m:
                out[col] = str(m["row_number"]) + df[LINE].astype(str)
                opts[col] = {"source": "row number"}
            elif "source" in m:
                out[col] = source_col(df, m["source"], ts, col)
                opts[col] = dict(m)
            else:
                raise SpecError(f"column {col!r} of table {ts.name!r} needs 'source', 'value', 'multiply' or "
                                "'row_number'", file=ts.spec_file)
        else:
            raise SpecError(f"column {col!r} of table {ts.name!r} must be a source column name or a mapping",
                            file=ts.spec_file)
    for c in table.required:
        # a log may have no order id (one order per customer and day) or no amounts (counts only)
        if c not in out.columns and not (table.name == "transactions" and c in ("order_id", "amount")):
            raise DataError(f"the spec maps no source column onto required model column {c!r} of table "
                            f"{ts.name!r}", file=str(ts.path or ts.spec_file), column=c,
                            hint=f"add it under tables.{ts.name}.columns in {ts.spec_file}")
    extra = ts.raw.get("extra") or []
    extra_map = extra if isinstance(extra, dict) else {convert.snake(c): c for c in extra}
    model_names = set(table.names)
    for name, src in extra_map.items():
        if name in model_names or name.startswith("x_") and name[2:] in model_names:
            # an extra is never a model column: 'Tenure' in years must not become tenure in months
            name = f"x_{name}" if not name.startswith("x_") else name
            opts.setdefault("_renamed", []).append((src, name))
        out[name] = source_col(df, src, ts, name)
        opts[name] = {"source": src, "extra": True}
    out[LINE] = df[LINE]
    return out, opts


class TableValidator:
    """Applies the model's types and the spec's rules to one table, reporting as it goes."""

    def __init__(self, ts: TableSpec, table: Table, report: LoadReport, as_of: pd.Timestamp | None) -> None:
        self.ts, self.table, self.report, self.as_of = ts, table, report, as_of
        self.rules = ts.rules
        self.file = str(ts.path) if ts.path else f"(derived from {ts.derived_from})"
        self.n_in = 0
        # Batch mode (a transaction log read in batches): the share of rows a rule drops is known
        # only after the last batch, so the max_bad_fraction guard waits for check_guards(); extra
        # attributes keep their text and a numeric reading until every batch has been seen.
        self.batched = False
        self.guarded: dict[str, str] = {}             # rule -> column, for check_guards
        self.extra_kinds: dict[str, list] = {}   # column -> [all numbers, any value, blanks, lines, source]

    def _lines(self, df: pd.DataFrame, mask: pd.Series) -> list[int]:
        return df.loc[mask, LINE].head(10).tolist()

    def drop(self, df: pd.DataFrame, mask: pd.Series, rule: str, column: str = "", detail: str = "",
             examples=None, guarded: bool = True, action: str | None = None) -> pd.DataFrame:
        """Apply ``rule`` to the rows of ``mask``: drop them, keep them (counted) or stop, as the
        spec sets it; every outcome is reported."""
        mask = mask.fillna(False).astype(bool)
        n = int(mask.sum())
        if n == 0:
            return df
        setting = self.decide(rule, n, self._lines(df, mask), column, detail, examples, guarded, action)
        return df if setting == "keep" else df.loc[~mask]

    def decide(self, rule: str, n: int, lines: list[int], column: str = "", detail: str = "", examples=None,
               guarded: bool = True, action: str | None = None) -> str:
        """What to do with ``n`` rows failing ``rule`` (first ``lines``): report them as dropped or
        kept and return ``"drop"`` or ``"keep"``, or raise when the spec says error or when a guarded
        rule would drop more than ``max_bad_fraction`` of the table."""
        setting = action or self.rules.get(rule, "drop")
        if guarded and self.batched and setting != "error":
            self.guarded[rule] = column
        elif setting == "error" or (guarded and self.n_in and n / self.n_in > self.rules["max_bad_fraction"]):
            self._refuse(rule, n, self.n_in, lines, column, detail, examples if examples is not None else [],
                         f"the spec says rule {rule!r}: error" if setting == "error" else None)
        kept = setting == "keep"
        self.report.add(self.table.name, rule, "kept" if kept else "dropped", n, file=self.file, column=column,
                        detail=detail, examples=examples, lines=lines)
        return "keep" if kept else "drop"

    def _refuse(self, rule: str, n: int, n_in: int, lines: list, column: str, detail: str, examples: list,
                why: str | None = None) -> None:
        why = why or (f"more than max_bad_fraction={self.rules['max_bad_fraction']:.0%} of the table, so this "
                      "looks like a wrong spec setting rather than dirty rows")
        raise DataError(f"{n} of {n_in} rows ({n / max(n_in, 1):.0%}) fail rule {rule!r} ({detail}); {why}",
                        file=self.file, column=column or None, rows=lines, examples=examples,
                        hint="check the column's format, decimal/thousands separators and encoding in the spec, "
                             "or raise max_bad_fraction under rules")

    def check_guards(self, n_in: int) -> None:
        """Batch mode: stop, as :meth:`drop` would have, when a guarded rule dropped more than
        ``max_bad_fraction`` of the ``n_in`` rows read."""
        for rule, column in self.guarded.items():
            hits = [r for r in self.report.results if r.table == self.table.name and r.rule == rule
                    and r.action == "dropped"]
            n = sum(r.rows for r in hits)
            if n_in and n / n_in > self.rules["max_bad_fraction"]:
                self._refuse(rule, n, n_in, [x for r in hits for x in r.lines][:10], column,
                             hits[0].detail if hits else "", [x for r in hits for x in r.examples][:5])

    def repaired(self, df: pd.DataFrame, mask: pd.Series, rule: str, column: str, detail: str, examples=None):
        mask = mask.fillna(False).astype(bool)
        self.report.add(self.table.name, rule, "repaired", int(mask.sum()), file=self.file, column=column,
                        detail=detail, examples=examples, lines=self._lines(df, mask))

    # ---------------------------------------------------------------------------- conversion
    def convert(self, raw: pd.DataFrame, opts: dict[str, dict]) -> pd.DataFrame:
        self.renamed_extras(opts)
        df = raw
        decimal = str(self.ts.raw.get("decimal", "."))
        thousands = self.ts.raw.get("thousands")
        scale = self.ts.raw.get("scale")
        for col in list(df.columns):
            if col == LINE:
                continue
            o = opts.get(col, {})
            src = o.get("source", col)
            if o.get("extra"):
                df[col] = self._extra(df, col, src)
                continue
            if col.startswith("q_") and self.table.name == "surveys":
                continue
            c = self.table.column(col)
            src = o.get("source", col)
            original = df[col]
            if c.kind == "id":
                df[col] = convert.to_ids(df[col])
                if c.name == "customer_id" or c.required:
                    df = self.drop(df, df[col].isna(), "missing_ids", src, "identifier is empty",
                                   action=self.rules["missing_ids"])
            elif c.kind == "date":
                local, n_offsets = convert.local_times(df[col])
                if n_offsets:
                    self.report.add(self.table.name, "time_zones", "repaired", n_offsets, file=self.file, column=src,
                                    detail="timestamp with a UTC offset; kept as the local time it states",
                                    examples=original[local.ne(original.astype("string")).fillna(False)].head(3).tolist())
                vals, bad = convert.to_dates(local, o.get("format"), bool(o.get("dayfirst", False)))
                df[col] = vals
                ex = original[bad].head(5).tolist()
                fmt = o.get("format") or "ISO 8601 (YYYY-MM-DD)"
                if c.required:
                    df = self.drop(df, bad, "bad_dates", src, f"not a date in format {fmt}", ex,
                                   action=self.rules["bad_dates"])
                    df = self.drop(df, df[col].isna(), "missing_dates", src, "date is empty", guarded=True,
                                   action="drop")
                elif bad.any():
                    self.repaired(df, bad, "bad_dates", src, f"not a date in format {fmt}; set to missing", ex)
            elif c.kind == "float":
                if "multiply" in o:
                    vals = pd.Series(1.0, index=df.index)
                    bad = pd.Series(False, index=df.index)
                    for part in o["multiply"]:
                        v, b = convert.to_numbers(part.loc[df.index], decimal, thousands)
                        vals, bad = vals * v, bad | b
                else:
                    vals, bad = convert.to_numbers(df[col], decimal, thousands)
                vals = self._rescale(vals, col, o, src)
                ex = original[bad].head(5).tolist()
                codes = set(self.ts.raw.get("missing_codes") or []) if self.table.name == "surveys" else set()
                coded = vals.isin(list(codes))
                if coded.any():
                    self.repaired(df, coded, "missing_code", src, f"code in {sorted(codes)} means no answer",
                                  vals[coded].head(3).tolist())
                    vals = vals.mask(coded)
                df[col] = vals
                lo, hi = c.lower, c.upper
                if self.table.name == "surveys" and col == "overall_satisfaction" and scale:
                    lo, hi = scale
                strict = c.required and self.table.name != "surveys"  # a survey answer is repaired, not dropped
                if strict:
                    df = self.drop(df, bad, "bad_numbers", src, "not a number", ex, action=self.rules["bad_numbers"])
                    df = self.drop(df, df[col].isna(), "missing_values", src, "value is empty", action="drop")
                elif bad.any():
                    self.repaired(df, bad, "bad_numbers", src, "not a number; set to missing", ex)
                out = pd.Series(False, index=df.index)
                if lo is not None:
                    out |= df[col] < lo
                if hi is not None:
                    out |= df[col] > hi
                if out.any():
                    ex = df.loc[out, col].head(5).tolist()
                    if strict:
                        df = self.drop(df, out, "out_of_range", src, f"outside [{lo}, {hi}]", ex, action="drop")
                    else:
                        self.repaired(df, out, "out_of_range", src, f"outside [{lo}, {hi}]; set to missing", ex)
                        df.loc[out, col] = np.nan
            elif c.kind == "bool":
                vals, bad = convert.to_bools(df[col])
                if bad.any():
                    self.repaired(df, bad, "bad_values", src, "not yes/no; set to missing",
                                  original[bad].head(5).tolist())
                df[col] = vals
            elif c.kind == "category":
                vals, bad = convert.to_categories(df[col], o.get("values"), c.allowed)
                if bad.any():
                    fallback = "other" if "other" in (c.allowed or ()) else None
                    self.repaired(df, bad, "unknown_category", src,
                                  f"not one of {', '.join(c.allowed or ())}; set to {fallback or 'missing'}",
                                  sorted(set(map(str, original[bad].head(50))))[:5])
                    if fallback:
                        vals = vals.where(~bad, fallback)
                df[col] = vals
            else:
                df[col] = df[col].astype("string").astype(object)
        return df

    def _rescale(self, vals: pd.Series, col: str, o: dict, src: str) -> pd.Series:
        """A spec's ``scale`` (amounts in cents: 0.01) and ``unit`` (a duration in days, weeks or
        years, converted into the model's unit), each stated once in the load report."""
        factor, said = 1.0, []
        if "scale" in o:
            factor *= float(o["scale"])
            said.append(f"multiplied by {float(o['scale']):g} (the spec's scale)")
        unit = o.get("unit")
        model_unit = self.table.column(col).unit
        if unit and unit != model_unit:
            factor *= DURATION_UNITS[unit] / DURATION_UNITS[model_unit]
            said.append(f"converted from {unit} to {model_unit}")
        if said and not self._said(col):
            self.report.add(self.table.name, "converted_units", "info", 0, file=self.file, column=src,
                            detail=f"{col}: " + "; ".join(said))
        return vals * factor if factor != 1.0 else vals

    def _said(self, col: str) -> bool:
        return any(r.table == self.table.name and r.rule == "converted_units" and r.detail.startswith(f"{col}:")
                   for r in self.report.results)

    def renamed_extras(self, opts: dict) -> None:
        """Extra attributes named like a model column keep their own meaning under an ``x_`` name."""
        for src, name in opts.get("_renamed", []):
            if not any(r.table == self.table.name and r.rule == "renamed_extra" and r.column == src
                       for r in self.report.results):
                self.report.add(self.table.name, "renamed_extra", "info", 0, file=self.file, column=src,
                                detail=f"extra column {src!r} kept as {name!r}: {name[2:]!r} is a model column, "
                                       f"which only 'columns:' maps (with 'unit:' for durations)")

    def _extra(self, df: pd.DataFrame, col: str, src: str) -> pd.Series:
        """Extra attributes: numeric when every non-empty value is a number, else text."""
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            return s
        vals, bad = convert.to_numbers(s, str(self.ts.raw.get("decimal", ".")), self.ts.raw.get("thousands"))
        txt = s.astype("string").str.strip()
        blank = txt.isna() | (txt == "")
        if self.batched:   # decided in finish_extras once every batch has been seen
            kind = self.extra_kinds.setdefault(col, [True, False, 0, [], src])
            kind[0] = kind[0] and not bad.any()
            kind[1] = kind[1] or bool(vals.notna().any())
            kind[2] += int(blank.sum())
            kind[3] = (kind[3] + self._lines(df, blank))[:10]
            df[col + NUMERIC] = vals
            return txt.mask(blank).astype(object)
        if not bad.any() and vals.notna().any():
            if blank.any():
                self.report.add(self.table.name, "missing_values", "kept", int(blank.sum()), file=self.file,
                                column=src, detail="empty numeric attribute; kept as missing",
                                lines=self._lines(df, blank))
            return vals
        return txt.mask(blank).astype(object)

    def finish_extras(self) -> dict[str, bool]:
        """Batch mode: which extra attributes are numeric (every non-empty value a number), with
        their empty values counted as :meth:`_extra` counts them."""
        numeric = {}
        for col, (all_numbers, any_value, blanks, lines, src) in self.extra_kinds.items():
            numeric[col] = all_numbers and any_value
            if numeric[col] and blanks:
                self.report.add(self.table.name, "missing_values", "kept", blanks, file=self.file, column=src,
                                detail="empty numeric attribute; kept as missing", lines=lines)
        return numeric

    def survey_items(self, df: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
        """Likert items: map, code missing answers, blank out-of-range codes (all counted)."""
        items = self.ts.raw.get("items") or {}
        scale = self.ts.raw.get("scale") or [1, 5]
        missing_codes = set(self.ts.raw.get("missing_codes") or [])
        if isinstance(items, dict) and "pattern" in items:
            pat = re.compile(items["pattern"])
            items = {c: c for c in source.columns if pat.search(str(c))}
        elif isinstance(items, list):
            items = {c: c for c in items}
        for name, src in items.items():
            qname = name if name.startswith("q_") else f"q_{convert.snake(name)}"
            raw = source_col(source, src, self.ts, qname).loc[df.index]
            vals, bad = convert.to_numbers(raw)
            coded = vals.isin(list(missing_codes))
            if coded.any():
                self.repaired(df, coded, "missing_code", src, f"code in {sorted(missing_codes)} means no answer",
                              vals[coded].head(3).tolist())
            vals = vals.mask(coded)
            if bad.any():
                self.repaired(df, bad, "bad_numbers", src, "not a number; set to missing", raw[bad].head(5).tolist())
            out = (vals < scale[0]) | (vals > scale[1])
            if out.any():
                self.repaired(df, out, "out_of_range_answer", src, f"outside the {scale[0]}-{scale[1]} scale; "
                              "set to missing", vals[out].head(5).tolist())
            vals = vals.mask(out)
            blank = vals.isna() & ~coded & ~out & ~bad
            if blank.any():
                self.report.add("surveys", "missing_answer", "kept", int(blank.sum()), file=self.file, column=src,
                                detail="no answer given")
            df[qname] = vals
        return df


def apply_filters(df: pd.DataFrame, ts: TableSpec, report: LoadReport, file: str) -> pd.DataFrame:
    for flt in ts.raw.get("filters") or []:
        col, op, val = flt["column"], flt["op"], flt.get("value")
        s = source_col(df, col, ts, f"filter on {col}")
        txt = s.astype("string")
        if op in ("gt", "ge", "lt", "le"):
            num, _ = convert.to_numbers(s)
            mask = {"gt": num > val, "ge": num >= val, "lt": num < val, "le": num <= val}[op]
        else:
            mask = {
                "eq": txt == str(val), "ne": txt != str(val),
                "in": txt.isin([str(v) for v in (val or [])]), "not_in": ~txt.isin([str(v) for v in (val or [])]),
                "startswith": txt.str.startswith(str(val)), "not_startswith": ~txt.str.startswith(str(val)),
                "contains": txt.str.contains(str(val), regex=False),
                "isnull": s.isna() | (txt.str.strip() == ""), "notnull": s.notna() & (txt.str.strip() != ""),
            }[op]
        mask = mask.fillna(False).astype(bool)
        rule = flt.get("rule", f"filter_{col}_{op}")
        report.add(ts.name, rule, "dropped", int(mask.sum()), file=file, column=col,
                   detail=flt.get("reason", f"{col} {op} {val!r}"), examples=s[mask].head(5).tolist(),
                   lines=df.loc[mask, LINE].head(10).tolist())
        df = df.loc[~mask]
    return df
