"""The load report: every row dropped, repaired or flagged while loading, counted per rule."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

ACTIONS = ("dropped", "repaired", "flagged", "kept", "info")


@dataclass
class RuleResult:
    table: str
    rule: str
    action: str
    rows: int
    file: str = ""
    column: str = ""
    detail: str = ""
    examples: list = field(default_factory=list)
    lines: list = field(default_factory=list)


@dataclass
class TableCount:
    table: str
    file: str
    rows_read: int
    rows_out: int = 0
    derived: bool = False   # made from another table's rows (not read from a file of its own)


def example_text(value) -> str:
    """An example value as a reader wants it: floats to 12 significant digits (-35.4, not
    -35.400000000000006), everything else as it is."""
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        return f"{float(value):.12g}"
    return str(value)


class LoadReport:
    """What loading did to each table. ``to_frame()`` gives one row per rule that touched rows."""

    def __init__(self) -> None:
        self.results: list[RuleResult] = []
        self.tables: dict[str, TableCount] = {}

    def add(self, table: str, rule: str, action: str, rows: int, *, file: str = "", column: str = "",
            detail: str = "", examples=None, lines=None) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if rows <= 0 and action != "info":
            return
        for r in self.results:   # the same rule again (the next batch of a log): one line, counts summed
            if (r.table, r.rule, r.action, r.file, r.column, r.detail) == (table, rule, action, file, column, detail):
                r.rows += int(rows)
                r.examples = (r.examples + [example_text(e) for e in list(examples or [])])[:5]
                r.lines = (r.lines + [int(x) for x in list(lines or [])])[:10]
                return
        self.results.append(RuleResult(table, rule, action, int(rows), file, column, detail,
                                       [example_text(e) for e in list(examples or [])[:5]],
                                       [int(x) for x in list(lines or [])[:10]]))

    def read(self, table: str, file: str, rows: int, derived: bool = False) -> None:
        self.tables[table] = TableCount(table, file, int(rows), derived=derived)

    @property
    def rows_read(self) -> int:
        """Rows read from the dataset's files (a derived table's rows are not read again)."""
        return sum(t.rows_read for t in self.tables.values() if not t.derived)

    def done(self, table: str, rows_out: int) -> None:
        self.tables[table].rows_out = int(rows_out)

    def count(self, table: str, rule: str) -> int:
        """Rows affected by one rule (0 if it never fired)."""
        return sum(r.rows for r in self.results if r.table == table and r.rule == rule)

    def to_frame(self) -> pd.DataFrame:
        cols = ["table", "rule", "action", "rows", "column", "detail", "examples", "lines", "file"]
        if not self.results:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame([asdict(r) for r in self.results])
        df["examples"] = df["examples"].map(lambda v: ", ".join(v))
        df["lines"] = df["lines"].map(lambda v: ", ".join(str(x) for x in v))
        return df[cols]

    def tables_frame(self) -> pd.DataFrame:
        rows = []
        for t in self.tables.values():
            dropped = sum(r.rows for r in self.results if r.table == t.table and r.action == "dropped")
            repaired = sum(r.rows for r in self.results if r.table == t.table and r.action == "repaired")
            flagged = sum(r.rows for r in self.results if r.table == t.table and r.action == "flagged")
            rows.append({"table": t.table, "file": t.file, "rows_read": t.rows_read, "rows_dropped": dropped,
                         "rows_repaired": repaired, "rows_flagged": flagged, "rows_out": t.rows_out,
                         "derived": t.derived})
        return pd.DataFrame(rows, columns=["table", "file", "rows_read", "rows_dropped", "rows_repaired",
                                           "rows_flagged", "rows_out", "derived"])

    def balance_lines(self) -> list[str]:
        """One sentence per table: rows read, dropped, added and out, which add up."""
        out = []
        for t in self.tables.values():
            dropped = sum(r.rows for r in self.results if r.table == t.table and r.action == "dropped")
            added = sum(r.rows for r in self.results if r.table == t.table and r.rule.startswith("added_"))
            source = "derived" if t.derived else "read"
            out.append(f"{t.table}: {t.rows_read:,} rows {source}, {dropped:,} dropped"
                       + (f", {added:,} added" if added else "") + f", {t.rows_out:,} out")
        return out

    def check_balance(self) -> None:
        """Rows read minus rows dropped must equal rows out (plus rows added by repairs)."""
        for t in self.tables.values():
            dropped = sum(r.rows for r in self.results if r.table == t.table and r.action == "dropped")
            added = sum(r.rows for r in self.results if r.table == t.table and r.rule.startswith("added_"))
            if t.rows_read - dropped + added != t.rows_out:
                raise AssertionError(
                    f"load report for {t.table} does not balance: read {t.rows_read}, dropped {dropped}, "
                    f"added {added}, out {t.rows_out}")
