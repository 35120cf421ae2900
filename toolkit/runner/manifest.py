"""The run manifest: what ran, on which inputs, with which software, and how each report ended."""
from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "matplotlib", "seaborn",
            "papermill", "nbconvert", "duckdb", "pyarrow")


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def toolkit_version() -> str:
    """Version of the installed custkit distribution ("unknown" when not installed)."""
    return package_version("custkit") or "unknown"


def environment() -> dict[str, Any]:
    """Python and package versions for the manifest."""
    return {
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable, "platform": platform.platform()},
        "custkit": toolkit_version(),
        "packages": {name: package_version(name) for name in PACKAGES},
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON (atomically, via a temp file)."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
