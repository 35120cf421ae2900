"""Time units and discount rates for CLV: one declared unit, yearly rates converted per period.

Units are the five of :data:`toolkit.clv.summary.TIME_UNITS`, by their letter or by name
("D"/"day", "W"/"week", "M"/"month", "Q"/"quarter", "Y"/"year"). Lengths are fixed day counts
(a month is 365.25 / 12 = 30.4375 days), so conversions are exact and reversible:

* a duration of ``v`` units ``a`` is ``v * days(a) / days(b)`` units ``b``;
* a yearly discount rate ``d`` becomes ``(1 + d) ** (days(unit) / 365.25) - 1`` per period
  (compounding once per period: twelve monthly discounts equal one yearly discount);
* the matching continuously compounded rate per unit (used for DERT) is
  ``log(1 + d) * days(unit) / 365.25``.
"""
from __future__ import annotations

import math

from toolkit.clv.summary import TIME_UNITS, unit_days

__all__ = ["UNIT_NAMES", "normalize_unit", "unit_name", "convert_duration", "periods_per_year",
           "period_rate", "continuous_rate"]

#: Accepted spellings of each unit (case-insensitive).
UNIT_NAMES: dict[str, str] = {
    "d": "D", "day": "D", "days": "D", "daily": "D",
    "w": "W", "week": "W", "weeks": "W", "weekly": "W",
    "m": "M", "month": "M", "months": "M", "monthly": "M",
    "q": "Q", "quarter": "Q", "quarters": "Q", "quarterly": "Q",
    "y": "Y", "a": "Y", "year": "Y", "years": "Y", "yearly": "Y", "annual": "Y", "annually": "Y",
}
_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def normalize_unit(unit: str) -> str:
    """The one-letter code ("D", "W", "M", "Q", "Y") of a unit given by letter or name."""
    if not isinstance(unit, str):
        raise TypeError(f"a time unit is a string such as 'week' or 'W', not {unit!r}")
    code = UNIT_NAMES.get(unit.strip().lower())
    if code is None:
        raise ValueError(f"unknown time unit {unit!r}: use one of day, week, month, quarter, year "
                         f"(or {', '.join(TIME_UNITS)})")
    return code


def unit_name(unit: str, plural: bool = False) -> str:
    """'week' / 'weeks' for "W", and so on."""
    name = _NAMES[normalize_unit(unit)]
    return name + "s" if plural else name


def convert_duration(value: float, from_unit: str, to_unit: str) -> float:
    """A duration in ``from_unit`` expressed in ``to_unit`` (fixed day lengths)."""
    return value * unit_days(normalize_unit(from_unit)) / unit_days(normalize_unit(to_unit))


def periods_per_year(unit: str) -> float:
    """How many periods of ``unit`` make a year of 365.25 days (52.18 weeks, 12 months, ...)."""
    return 365.25 / unit_days(normalize_unit(unit))


def _check_rate(yearly_rate: float) -> float:
    rate = float(yearly_rate)
    if not math.isfinite(rate) or rate <= -1:
        raise ValueError(f"a yearly discount rate must be a number above -1 (0.10 = 10% a year), not {yearly_rate!r}")
    if rate > 1:
        raise ValueError(f"yearly discount rate {rate:g} is above 100%: give it as a fraction (0.10 = 10% a year)")
    return rate


def period_rate(yearly_rate: float, unit: str) -> float:
    """The per-period discount rate equivalent to ``yearly_rate`` (compounded once per period)."""
    rate = _check_rate(yearly_rate)
    return (1.0 + rate) ** (1.0 / periods_per_year(unit)) - 1.0


def continuous_rate(yearly_rate: float, unit: str) -> float:
    """The continuously compounded discount rate per ``unit`` equivalent to ``yearly_rate``."""
    rate = _check_rate(yearly_rate)
    return math.log1p(rate) / periods_per_year(unit)
