"""Customer lifetime value: expected purchases x expected spend x margin, discounted per period.

For periods i = 1..horizon of length ``time_unit`` (converted to the transaction model's unit by
day lengths, see :data:`toolkit.clv.summary.TIME_UNITS`):

    CLV = margin * E[spend] * sum_i (E[Y(i)] - E[Y(i-1)]) / (1 + discount_rate)^i

where E[Y(t)] is the transaction model's conditional expected number of purchases in (T, T + t]
and the purchases of period i are discounted at its end. ``discount_rate`` is per period.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.clv.models.base import ArrayLike  # noqa: F401  (type alias used in annotations)
from toolkit.clv.summary import unit_days

__all__ = ["customer_lifetime_value", "discount_factors"]


def discount_factors(horizon: int, discount_rate: float) -> np.ndarray:
    """(1 + d)^-i for i = 1..horizon."""
    if horizon < 1:
        raise ValueError("horizon must be at least one period")
    if discount_rate <= -1:
        raise ValueError("discount_rate must be greater than -1")
    return (1.0 + discount_rate) ** -np.arange(1, horizon + 1, dtype=float)


def customer_lifetime_value(transaction_model, spend_model, frequency: pd.DataFrame | ArrayLike,
                            recency: ArrayLike | None = None, T: ArrayLike | None = None,
                            monetary_value: ArrayLike | None = None, *, horizon: int = 12, discount_rate: float = 0.01,
                            margin: float = 1.0, time_unit: str = "M",
                            model_time_unit: str | None = None) -> np.ndarray | pd.Series:
    """Discounted CLV per customer (vectorised over customers and periods).

    ``frequency`` may be an rfm_summary DataFrame (then recency, T and monetary_value come from it
    and a Series indexed like it is returned). ``model_time_unit`` defaults to the unit the
    transaction model was fitted in (``transaction_model.time_unit_``).
    """
    index = None
    if isinstance(frequency, pd.DataFrame):
        f = frequency
        index = f.index
        model_time_unit = model_time_unit or f.attrs.get("time_unit")
        frequency, recency, T = f["frequency"].to_numpy(float), f["recency"].to_numpy(float), f["T"].to_numpy(float)
        monetary_value = f["monetary_value"].to_numpy(float)
    unit = model_time_unit or getattr(transaction_model, "time_unit_", None)
    if unit is None:
        raise ValueError("the transaction model's time unit is unknown: pass model_time_unit")
    x, tx, T_, m = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float))
                                         for v in (frequency, recency, T, monetary_value)))
    period = unit_days(time_unit) / unit_days(unit)
    t = (np.arange(1, horizon + 1, dtype=float) * period)[:, None]
    cum = transaction_model.conditional_expected_purchases(t, x, tx, T_)      # (H, n)
    inc = np.diff(cum, axis=0, prepend=0.0)
    spend = spend_model.expected_average_value(x, m)
    clv = margin * spend * (discount_factors(horizon, discount_rate)[:, None] * inc).sum(axis=0)
    return pd.Series(clv, index=index, name="clv") if index is not None else clv
