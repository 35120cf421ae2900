"""List the names in each toolkit package's ``__all__`` that no test file mentions (issue #19).

    .venv/bin/python tools/untested_names.py [package ...]     # default: churn segmentation survey kpi

A name counts as mentioned when it occurs as a whole word in any tests/*.py file. Prints, per package,
"untested/total" and the untested names.
"""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def untested(package: str, text: str) -> tuple[list[str], int]:
    names = list(importlib.import_module(f"toolkit.{package}").__all__)
    return [n for n in names if not re.search(rf"\b{re.escape(n)}\b", text)], len(names)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    text = "\n".join(p.read_text() for p in sorted((ROOT / "tests").glob("*.py")))
    for package in argv or ["churn", "segmentation", "survey", "kpi"]:
        missing, total = untested(package, text)
        print(f"{package}: {len(missing)}/{total} untested: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
