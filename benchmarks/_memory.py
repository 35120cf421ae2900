"""Resident-memory readings for the benchmarks (Linux /proc), shared by every benchmark script.

Plain standard library so that it also runs under the comparator venv (.benchvenv-lifetimes).
Scripts in benchmarks/ import it as ``_memory`` (their folder is first on sys.path).
"""
from __future__ import annotations

from pathlib import Path


def rss_kb(field: str) -> int:
    """A memory field of this process in kB: VmRSS (now) or VmHWM (peak); -1 if unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
