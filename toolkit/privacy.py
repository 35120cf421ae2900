"""Privacy for anything that leaves the run: pseudonymised customer ids, no direct identifiers.

On by default; a run config can turn it off (``privacy: false``) for internal use.
Pseudonyms are a keyed SHA-256 of the id, so the same customer gets the same pseudonym across
tables of one run (joins still work) while the original id cannot be read back.
"""
from __future__ import annotations

import hashlib
import re

import pandas as pd

ID_COLUMNS = ("customer_id",)
# Column names that hold direct identifiers (matched case-insensitively on word parts).
_IDENTIFIER = re.compile(
    r"(^|_)(name|first_?name|last_?name|full_?name|customer_?name|email|e_?mail|phone|telephone|mobile|"
    r"address|street|postcode|postal_?code|zip|zip_?code|lat_?long|latitude|longitude)($|_)",
    re.IGNORECASE,
)


def pseudonym(values: pd.Series, salt: str = "") -> pd.Series:
    """Map ids to stable pseudonyms 'P' + 12 hex digits."""
    uniq = pd.unique(values.astype(str))
    mapping = {u: "P" + hashlib.sha256((salt + "\x00" + u).encode()).hexdigest()[:12] for u in uniq}
    out = values.astype(str).map(mapping)
    return out.where(values.notna(), None)


def identifier_columns(columns) -> list[str]:
    """Columns whose names mark them as direct identifiers (names, e-mails, phones, addresses)."""
    norm = {c: re.sub(r"[^0-9a-zA-Z]+", "_", str(c)).strip("_") for c in columns}
    return [c for c, n in norm.items() if _IDENTIFIER.search(n)]


def protect(frame: pd.DataFrame, enabled: bool = True, salt: str = "") -> pd.DataFrame:
    """Return a copy safe to share: ids pseudonymised, identifier columns dropped (if enabled)."""
    if not enabled:
        return frame.copy()
    out = frame.drop(columns=identifier_columns(frame.columns)).copy()
    for col in ID_COLUMNS:
        if col in out.columns:
            out[col] = pseudonym(out[col], salt)
    if out.index.name in ID_COLUMNS:
        out.index = pd.Index(pseudonym(out.index.to_series(), salt).values, name=out.index.name)
    return out
