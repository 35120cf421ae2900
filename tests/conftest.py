"""Shared fixtures: project paths, the real data sets beside the project, a small demo dataset."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CUSTKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; its absence is a broken test setup, not a reason to skip."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.fail(f"real data sets not found at {SHARED_DATA} (set CUSTKIT_SHARED_DATA)")
    return SHARED_DATA
