"""The runner's one user-facing error type."""
from __future__ import annotations


class RunnerError(Exception):
    """An expected user error (bad config, unknown parameter, missing file): reported without traceback."""
