"""One region's view of a loaded dataset: the pack for a regional manager.

:func:`focus_region` keeps the customers of one region and, in every other table, the rows that
belong to them: tables keyed by customer (transactions, surveys, interactions) by the region's
customer ids, tables keyed by region (marketing spend, competitors, partners, suppliers) by the
region itself, keeping the rows that name no region (they hold for every region).
A table with neither key (a company-wide supplier list) is kept whole, and :class:`RegionFocus`
says so. The whole company stays reachable as ``focused.company`` for the reports that compare a
region against the rest; the load report is the whole file's (what was read and repaired does not
depend on the region shown).
"""
from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.data.errors import DataError
from toolkit.data.schema import TABLES


@dataclass(frozen=True)
class RegionFocus:
    """Which region a dataset was narrowed to and what that kept, table by table."""

    region: str
    customers: int                 # the region's customers
    company_customers: int         # the whole company's
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)   # table -> (rows kept, rows in all)
    kept_whole: tuple[str, ...] = ()   # tables with no customer or region key, kept for every region

    @property
    def customer_share(self) -> float:
        return self.customers / self.company_customers if self.company_customers else float("nan")

    def sentence(self) -> str:
        """What a reader of a region's report needs first: whose data it shows."""
        share = f" ({self.customer_share:.0%})" if self.company_customers else ""
        text = (f"This report is for region {self.region}: its {self.customers:,} of the company's "
                f"{self.company_customers:,} customers{share} and their transactions, surveys and contacts.")
        if self.kept_whole:
            text += f" {', '.join(self.kept_whole)} carry no region and are shown for the whole company."
        return text


def region_rows(frame: pd.DataFrame, *regions: str) -> pd.DataFrame:
    """The rows of ``frame`` whose region is one of ``regions`` (compared as text), renumbered; a
    frame without a region column is returned as it is."""
    if "region" not in frame.columns:
        return frame
    return frame.loc[frame["region"].astype(str).isin([str(r) for r in regions])].reset_index(drop=True)


def regions_of(ds: Any) -> list[str]:
    """The regions named in the customers table (sorted), or [] when it has no region column."""
    customers = getattr(ds, "customers", None)
    if customers is None or "region" not in customers.columns:
        return []
    return sorted(customers["region"].dropna().astype(str).unique())


def match_region(ds: Any, region: str) -> str:
    """The region as the data spell it: an exact match, else the one region equal to ``region``
    ignoring case and surrounding blanks. Stops naming the known regions otherwise."""
    known = regions_of(ds)
    where = str(getattr(getattr(ds, "spec", None), "path", "") or "")
    if not known or known == ["unknown"]:   # the loader fills a missing region with 'unknown'
        raise DataError(f"a pack for region {region!r} needs a region column in the customers table; "
                        f"dataset {getattr(ds, 'name', '')!r} has none", file=where, column="region",
                        hint="map the customers' region in the dataset spec, or run the pack without --region")
    if region in known:
        return region
    loose = [r for r in known if r.strip().casefold() == str(region).strip().casefold()]
    if len(loose) == 1:
        return loose[0]
    shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    raise DataError(f"region {region!r} is not in the data; the customers' regions are: {shown}",
                    file=where, column="region")


def focus_region(ds: Any, region: str) -> Any:
    """A copy of dataset ``ds`` narrowed to one region's customers (see the module docstring); the
    copy's ``focus`` is a :class:`RegionFocus` and its ``company`` the dataset as loaded."""
    name = match_region(ds, region)
    customers = ds.customers
    ids = customers.loc[customers["region"].astype(str) == name, "customer_id"]
    out = copy.copy(ds)
    rows: dict[str, tuple[int, int]] = {}
    whole: list[str] = []
    for table in TABLES:
        if table == "transactions" or not ds.has(table):
            continue
        frame = getattr(ds, table)
        if "customer_id" in frame.columns:
            mine = frame["customer_id"].isin(ids)
            if "region" in frame.columns:   # e.g. anonymous survey answers that name their region
                mine |= frame["customer_id"].isna() & (frame["region"].astype(str) == name)
            kept = frame.loc[mine]
        elif "region" in frame.columns:   # a row without a region (a company-wide supplier) is every region's
            kept = frame.loc[(frame["region"].astype(str) == name) | frame["region"].isna()]
        else:
            whole.append(table.replace("_", " "))
            continue
        setattr(out, table, kept.reset_index(drop=True))
        rows[table] = (len(kept), len(frame))
    if ds.has("transactions"):
        rows["transactions"] = _focus_transactions(ds, out, ids)
    out.company = getattr(ds, "company", None) or ds
    out.focus = RegionFocus(name, len(ids), len(customers), rows, tuple(whole))
    return out


def _focus_transactions(ds: Any, out: Any, ids: pd.Series) -> tuple[int, int]:
    """Narrow the transactions of ``out`` to ``ids``: in pandas when they are held there, else as a
    Parquet file beside the loader's cleaned log (written once per log and region, atomically)."""
    if ds.materialised or ds._log_path is None:
        frame = ds.transactions
        kept = frame.loc[frame["customer_id"].isin(ids)].reset_index(drop=True)
        out.transactions = kept
        return len(kept), len(frame)
    import duckdb

    src = Path(ds._log_path)
    stat = src.stat()
    key = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{'|'.join(map(str, ids))}".encode()).hexdigest()[:16]
    dest = src.parent / f"region-{key}.parquet"
    con = duckdb.connect()
    try:
        con.register("region_ids", pd.DataFrame({"customer_id": ids.astype(object).to_numpy()}))
        if not dest.exists():
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            con.execute(f"COPY (SELECT * FROM read_parquet('{_sql(src)}') WHERE customer_id IN "
                        f"(SELECT customer_id FROM region_ids)) TO '{_sql(tmp)}' (FORMAT PARQUET)")
            os.replace(tmp, dest)
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_sql(dest)}')").fetchall()]
        counts = con.execute("SELECT COUNT(*), " + ", ".join(f'COUNT("{c}")' for c in cols)
                             + f" FROM read_parquet('{_sql(dest)}')").fetchone()
    finally:
        con.close()
    out._transactions, out._log_path = None, dest
    non_null = {c: int(n) for c, n in zip(cols, counts[1:]) if c in ds._log_stats.get("non_null", {})}
    out._log_stats = {**ds._log_stats, "rows": int(counts[0]), "non_null": non_null}
    return int(counts[0]), int(ds._log_stats["rows"])   # the loader counted the whole log


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")
