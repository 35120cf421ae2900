"""The loader's conversions computed once per distinct value give what a per-row map gives."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.data.convert import each_value, normalise_label, to_categories, to_ids, to_numbers

LABELS = ["Web", " web ", "Phone", "", None, "E-mail", "e mail", "Store", "OTHER "]


@pytest.mark.parametrize("dtype", [object, "str", "string"])
@pytest.mark.parametrize("pool", [LABELS, ["a"], [None], ["a", None]])
def test_each_value_matches_map(dtype, pool) -> None:
    rng = np.random.default_rng(3)
    s = pd.Series([pool[i] for i in rng.integers(0, len(pool), 300)], dtype=dtype, name="c",
                  index=rng.permutation(300) + 7)
    for fn in (lambda v: normalise_label(v) if pd.notna(v) else v,
               lambda v: {"web": "online"}.get(normalise_label(v)) if pd.notna(v) else None):
        got, want = each_value(s, fn), s.map(fn)
        pd.testing.assert_series_equal(got, want, check_exact=True)
        assert [type(x) for x in got.astype(object)] == [type(x) for x in want.astype(object)]


def test_each_value_calls_once_per_distinct_value() -> None:
    seen: list = []
    s = pd.Series(["b", "a", None, "b", "a", None], dtype="string")
    out = each_value(s, lambda v: seen.append(v) or (v * 2 if pd.notna(v) else "-"))
    assert out.tolist() == ["bb", "aa", "-", "bb", "aa", "-"]
    assert len(seen) == 3
    assert each_value(s.iloc[:0], str).empty


def test_categories_and_ids_over_many_rows() -> None:
    s = pd.Series(["Web", " web", "E-Mail", "fax", "", None] * 1000, dtype="str")
    vals, bad = to_categories(s, {"web": "online", "E-mail": "email"}, ("online", "email", "phone"))
    assert vals.tolist()[:3] == ["online", "online", "email"] and vals.iloc[3:6].isna().all()
    assert bad.tolist()[:6] == [False, False, False, True, False, False]
    assert int(bad.sum()) == 1000 and vals.index.equals(s.index)
    ids = to_ids(pd.Series([17850.0, np.nan, 2.5, -0.0] * 3))
    assert [ids[0], ids[2], ids[3]] == ["17850", "2.5", "0"] and pd.isna(ids[1])


def test_numbers_strip_currency_only_where_present() -> None:
    vals, bad = to_numbers(pd.Series(["$5", "7 €", "1 234", "abc", "", None], dtype="str"))
    assert vals.tolist()[:3] == [5.0, 7.0, 1234.0] and vals.iloc[3:].isna().all()
    assert bad.tolist() == [False, False, False, True, False, False]
    plain, plain_bad = to_numbers(pd.Series(["1.5", " 2 ", "x"], dtype="str"))
    assert plain.tolist()[:2] == [1.5, 2.0] and plain_bad.tolist() == [False, False, True]


def _local_times_row_by_row(s: pd.Series) -> tuple[pd.Series, int]:
    """The per-row rule, written out here: strip, drop a trailing UTC offset after a clock time."""
    from toolkit.data.convert import _OFFSET

    txt = s.astype("string").str.strip()
    has = txt.str.contains(_OFFSET.replace("(", "(?:", 1), regex=True).fillna(False)
    return txt.str.replace(_OFFSET, r"\1", regex=True), int(has.sum())


@pytest.mark.parametrize("distinct", [40, 30_000])   # few distinct days (factorised) and mostly distinct stamps
def test_local_times_per_distinct_value_equals_the_row_by_row_rule(distinct) -> None:
    from toolkit.data.convert import local_times

    rng = np.random.default_rng(5)
    n = 40_000
    days = (np.datetime64("2024-01-01") + np.arange(distinct).astype("timedelta64[s]") * 3607).astype(str)
    v = days[rng.integers(0, distinct, n)].astype(object)
    v[::3] = [x.replace("T", " ") + "+08:00" for x in v[::3]]
    v[1::7] = [" " + x + "Z " for x in v[1::7]]
    v[2::11] = "2024-03-05 14:35:00 UTC"
    v[::13] = None
    s = pd.Series(v, index=np.arange(n) * 3, name="date")
    got, count = local_times(s)
    want, want_count = _local_times_row_by_row(s)
    pd.testing.assert_series_equal(got, want)
    assert count == want_count > n // 3
    assert got.iloc[2] == "2024-03-05 14:35:00" and "+" not in got.iloc[3] and got.iloc[3] != v[3] and pd.isna(got.iloc[13])
    plain = pd.Series(days[rng.integers(0, distinct, n)].astype(object))
    out, none = local_times(plain)
    assert none == 0 and out is plain
