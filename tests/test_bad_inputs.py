"""The bad-input corpus (tests/data/bad/, written by tools/make_bad_corpus.py).

Each case ends either in a DataError whose message names the file, column and rows at fault, or in
a documented repair counted in the load report. None may end in an exception from inside a library,
and none may modify its input files.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from toolkit.data import DataError, load_dataset

CORPUS = Path(__file__).parent / "data" / "bad"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "case.yaml").exists())


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_corpus_is_large_enough():
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bad_input_case(case: Path):
    meta = yaml.safe_load((case / "case.yaml").read_text())
    spec = dict(meta["spec"])
    spec["base"] = str(case)
    before = _hashes(case)
    if meta["expect"] == "error":
        with pytest.raises(DataError) as err:  # our own error type, never a library's
            load_dataset(spec)
        msg = str(err.value)
        for part in meta.get("match", []):
            assert part in msg, f"{part!r} not in: {msg}"
        if "column" in meta:
            assert err.value.column == meta["column"]
    else:
        ds = load_dataset(spec)
        for key, n in (meta.get("counts") or {}).items():
            table, rule = key.split(".")
            assert ds.report.count(table, rule) == n, (key, ds.report.to_frame().to_string())
        for table, n in (meta.get("rows") or {}).items():
            assert len(getattr(ds, table)) == n
        for key, values in (meta.get("values") or {}).items():
            table, col = key.split(".")
            assert getattr(ds, table)[col].tolist() == values
        ds.report.check_balance()
    assert _hashes(case) == before, "the input files were modified"
