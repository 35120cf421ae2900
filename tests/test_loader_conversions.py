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
