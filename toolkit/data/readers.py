"""Reading a source file (csv, parquet, xlsx) as it is, with errors that name the file."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from toolkit.data.errors import DataError, SpecError
from toolkit.data.spec import TableSpec

LINE = "_line"  # column carrying each row's line number in the source file


def _line_offset(header, skiprows) -> int:
    """Line number of data row 0 in a text file (1-based, header counted)."""
    skip = skiprows if isinstance(skiprows, int) else 0
    if header is None:
        return 1 + skip
    return 2 + (header if isinstance(header, int) else 0) + skip


def _sniff_separator(path: Path, encoding: str) -> str | None:
    try:
        with open(path, encoding=encoding, errors="replace") as fh:
            sample = fh.read(4096)
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except (csv.Error, OSError):
        return None


def _csv_error(exc: Exception, path: Path, encoding: str | None, sep: str, after_line: int | None = None) -> DataError:
    """The error for a CSV that cannot be decoded or parsed, in its first batch or ``after_line``."""
    if isinstance(exc, UnicodeDecodeError):
        where = f"after line {after_line}" if after_line is not None else f"at offset {exc.start}"
        return DataError(f"cannot be read as {encoding}: byte {exc.object[exc.start:exc.start + 1]!r} {where} is not "
                         "valid", file=str(path), hint="set 'encoding' in the spec (e.g. latin-1, cp1252, gbk)")
    where = f" after line {after_line}" if after_line is not None else ""
    return DataError(f"cannot be parsed as CSV with separator {sep!r}{where}: {exc}", file=str(path),
                     hint="check 'read: {sep: ...}' and quoting in the spec")


def read_source(ts: TableSpec) -> pd.DataFrame:
    """Read the table's file with every text value kept as a string; adds a ``_line`` column."""
    return next(read_batches(ts, None))


def read_batches(ts: TableSpec, batch_rows: int | None = 500_000) -> Iterator[pd.DataFrame]:
    """The table's file in consecutive batches of at most ``batch_rows`` rows (all rows at once for
    ``None``), parsed as :func:`read_source` parses it, each with its ``_line`` numbers."""
    path = ts.path
    assert path is not None
    if not path.exists():
        raise SpecError(f"table {ts.name!r} points at a file that does not exist: {path}", file=ts.spec_file,
                        hint="check 'file' and 'base' in the spec")
    if path.stat().st_size == 0:
        raise DataError("the file is empty (0 bytes)", file=str(path))
    fmt = ts.format
    opts = dict(ts.raw.get("read") or {})
    encoding = None
    if fmt == "csv":
        encoding = ts.raw.get("encoding", "utf-8-sig")
        if str(encoding).lower().replace("_", "-") in ("utf-8", "utf8"):
            encoding = "utf-8-sig"  # accept a byte-order mark
        opts.setdefault("sep", ",")
        opts.setdefault("dtype", str)
        opts.setdefault("keep_default_na", False)
        opts.setdefault("na_values", [""])
        if opts["sep"] == r"\s+":
            opts.setdefault("engine", "python" if opts.get("header", "infer") is None else "c")
        header = opts.get("header", 0)
        if batch_rows:
            opts["chunksize"] = batch_rows
        try:
            reader = pd.read_csv(path, encoding=encoding, **opts)
            chunks = reader if batch_rows else iter([reader])
            df = next(chunks, None)
            if df is None:   # a header and no rows
                df = pd.DataFrame()
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise _csv_error(exc, path, encoding, opts["sep"]) from None
        except pd.errors.EmptyDataError:
            raise DataError("the file has no header and no data", file=str(path)) from None
        except (ValueError, TypeError) as exc:
            raise DataError(f"cannot be read with the spec's read options {sorted(opts)}: {exc}",
                            file=str(path)) from None
        offset = _line_offset(header if header != "infer" else 0, opts.get("skiprows"))
        if len(df.columns) == 1 and opts["sep"] not in (r"\s+",):
            guess = _sniff_separator(path, encoding)
            if guess and guess != opts["sep"]:
                raise DataError(f"the file has a single column {str(df.columns[0])[:60]!r} with separator "
                                f"{opts['sep']!r}; it looks {guess!r}-separated", file=str(path),
                                hint=f"set 'read: {{sep: \"{guess}\"}}' for table {ts.name!r} in the spec")
        df.columns = [str(c).strip() for c in df.columns]
        names = list(df.columns)
    elif fmt == "parquet":
        try:
            if batch_rows and not opts:
                import pyarrow.parquet as pq
                chunks = (b.to_pandas() for b in pq.ParquetFile(path).iter_batches(batch_size=batch_rows))
                df = next(chunks, None)
                if df is None:
                    df = pd.DataFrame()
            else:
                df, chunks = pd.read_parquet(path, **opts), iter(())
        except Exception as exc:  # pyarrow raises several types
            raise DataError(f"cannot be read as parquet: {exc}", file=str(path)) from None
        offset = 1
        names = None
    elif fmt == "xlsx":
        sheet = ts.raw.get("sheet", 0)
        try:
            df = pd.read_excel(path, sheet_name=sheet, dtype=object, **opts)
        except Exception as exc:
            raise DataError(f"cannot be read as an Excel workbook (sheet {sheet!r}): {exc}",
                            file=str(path)) from None
        offset = 2
        df.columns = [str(c).strip() for c in df.columns]
        chunks, names = iter(()), None
    else:
        raise SpecError(f"table {ts.name!r}: unknown format {fmt!r} (csv, parquet or xlsx)", file=ts.spec_file)
    if len(df) == 0:
        raise DataError("the file has a header but no data rows", file=str(path))
    start = 0
    while df is not None:
        df = df.reset_index(drop=True)
        if names is not None:
            df.columns = names
        df[LINE] = df.index.to_numpy() + offset + start
        start += len(df)
        yield df
        try:
            df = next(chunks, None)
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise _csv_error(exc, path, encoding, opts["sep"], after_line=start + offset - 1) from None
