"""Comparing one query's results across engines (shared by the engine and transaction-log tests)."""
from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 1e-9  # sums of floats in another order differ in the last bits; counts and dates are exact


def assert_same_results(frames: dict[str, pd.DataFrame], keys: list[str], name: str = "") -> None:
    """All engines' frames equal after sorting by ``keys`` (floats to RTOL, the rest exactly)."""
    ref_name, ref = next(iter(frames.items()))
    ref = ref.sort_values(keys).reset_index(drop=True)
    assert len(ref) > 0, name
    for engine, other in frames.items():
        other = other.sort_values(keys).reset_index(drop=True)[list(ref.columns)]
        assert len(other) == len(ref), (name, ref_name, engine)
        for c in ref.columns:
            a, b = ref[c], other[c]
            where = f"{name + '.' if name else ''}{c}: {ref_name} vs {engine}"
            if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                np.testing.assert_allclose(a.astype("float64").to_numpy(), b.astype("float64").to_numpy(),
                                           rtol=RTOL, atol=1e-9, err_msg=where)
            else:
                assert a.astype(str).tolist() == b.astype(str).tolist(), where
