"""The error a plan config that does not fit the data raises: a :class:`~toolkit.data.errors.DataError`
whose message names the file and the key at fault (``capacity.per_week must be a positive number``)."""
from __future__ import annotations

from toolkit.data.errors import DataError


class PlanConfigError(DataError):
    """``config/action_plan.yaml`` has a key or value that does not fit (the data or the rules).

    ``key`` is the dotted key at fault (``reasons.win_back.take_up``)."""

    def __init__(self, key: str, message: str, file: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key} {message}", file=file)
