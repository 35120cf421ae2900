"""Errors for bad input: each names the file, the column and the rows at fault."""
from __future__ import annotations

from collections.abc import Sequence


def _fmt_rows(rows: Sequence[int], limit: int = 8) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return shown + more


def _fmt_values(values: Sequence[object], limit: int = 5) -> str:
    out = []
    for v in list(values)[:limit]:
        s = repr(v) if not isinstance(v, str) else repr(v[:40])
        out.append(s)
    return ", ".join(out)


class DataError(ValueError):
    """Input data that cannot be used as it is.

    Attributes ``file``, ``column``, ``rows`` (line numbers in the file, header = line 1 for text
    files, 1-based row numbers for parquet/xlsx) and ``examples`` (offending values) are kept for
    programs; ``str(err)`` is a complete sentence for people.
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 rows: Sequence[int] | None = None, examples: Sequence[object] | None = None,
                 hint: str | None = None) -> None:
        self.file = file
        self.column = column
        self.rows = list(rows or [])
        self.examples = list(examples or [])
        self.hint = hint
        self.message = message
        parts = []
        if file:
            parts.append(f"{file}")
        if column:
            parts.append(f"column {column!r}")
        if self.rows:
            parts.append(f"row{'s' if len(self.rows) > 1 else ''} {_fmt_rows(self.rows)}")
        where = ", ".join(parts)
        text = f"{where}: {message}" if where else message
        if self.examples:
            text += f" (example values: {_fmt_values(self.examples)})"
        if hint:
            text += f". {hint}"
        super().__init__(text)


class SpecError(DataError):
    """A dataset spec that is malformed or points at something that does not exist."""


class MissingTableError(DataError):
    """A notebook needs a table that the dataset does not provide."""


class InsufficientDataError(DataError):
    """The data loaded fine but cannot support an analysis (one customer, one region, no churners...)."""
