"""The transaction log on disk: the loader's cleaned transactions as Parquet, read by the engines."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_log(path: str | Path) -> pd.DataFrame:
    """A cleaned transaction log read into pandas, with the loader's dtypes (text as object)."""
    frame = pd.read_parquet(path)
    for c in frame.columns:
        if pd.api.types.is_string_dtype(frame[c].dtype) and not pd.api.types.is_object_dtype(frame[c].dtype):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame
