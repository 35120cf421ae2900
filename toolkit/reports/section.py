"""A report section: what one part of a report says, as data that can be tested and then shown.

A section function in ``toolkit.reports.<report>`` takes the dataset, parameters and earlier
results and returns a :class:`Section`: its sentences (Markdown, data values escaped), tables
(frame, caption, units) and figures, in reading order, plus ``value``, the domain result later
sections of the same report build on. Tests inspect ``sentences``, ``tables`` and ``figures``;
a notebook cell that ends with the section displays it.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pandas as pd

from toolkit.reports.format import esc, table_html

T = TypeVar("T")


@dataclass
class Table:
    """A table as a report shows it: the frame, a caption and the unit of each column."""

    frame: pd.DataFrame
    caption: str
    units: Mapping[str, str] | str | None = None
    max_rows: int = 30
    precision: int = 2
    index: bool = True

    def _repr_html_(self) -> str:
        return table_html(self.frame, self.caption, self.units, max_rows=self.max_rows,
                          precision=self.precision, index=self.index)


@dataclass
class Figure:
    """A finished matplotlib figure (closed, so it is shown once, where the section puts it)."""

    figure: Any
    title: str = ""


@dataclass
class Section(Generic[T]):
    """Blocks in reading order: Markdown strings, :class:`Table` and :class:`Figure` objects."""

    title: str | None = None
    blocks: list[Any] = field(default_factory=list)
    value: T | None = None

    # ------------------------------------------------------------------ building
    def say(self, template: str, **values: object) -> "Section[T]":
        """Add prose; string ``values`` are escaped before they are formatted into ``template``."""
        self.blocks.append(template.format(**{k: esc(v) if isinstance(v, str) else v for k, v in values.items()}))
        return self

    def text(self, built: str) -> "Section[T]":
        """Add a sentence built by a toolkit function that escaped its data values itself."""
        self.blocks.append(built)
        return self

    def table(self, frame: pd.DataFrame, caption: str, units: Mapping[str, str] | str | None = None,
              **options: Any) -> "Section[T]":
        self.blocks.append(Table(frame, caption, units, **options))
        return self

    def figure(self, fig: Any, title: str = "") -> "Section[T]":
        """Add a matplotlib figure (or an Axes); it is closed so pyplot never shows it twice."""
        import matplotlib.pyplot as plt

        fig = getattr(fig, "figure", fig) if not hasattr(fig, "savefig") else fig
        plt.close(fig)
        self.blocks.append(Figure(fig, title or (fig._suptitle.get_text() if fig._suptitle else "")))
        return self

    def extend(self, other: "Section[Any]") -> "Section[T]":
        self.blocks.extend(other.blocks)
        return self

    # ------------------------------------------------------------------ reading (tests)
    @property
    def sentences(self) -> list[str]:
        return [b for b in self.blocks if isinstance(b, str)]

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    @property
    def text_all(self) -> str:
        """All sentences and table captions as one string (for wording tests)."""
        parts = [self.title or ""] + [b if isinstance(b, str) else b.caption for b in self.blocks
                                      if isinstance(b, (str, Table))]
        return "\n".join(parts)

    # ------------------------------------------------------------------ showing
    def _ipython_display_(self) -> None:
        from IPython.display import HTML, Markdown, display

        if self.title:
            display(Markdown(f"## {self.title}"))
        for block in self.blocks:
            if isinstance(block, str):
                display(Markdown(block))
            elif isinstance(block, Table):
                display(HTML(block._repr_html_()))
            elif isinstance(block, Figure):
                display(block.figure)
            else:
                display(block)


# ------------------------------------------------------------------ sections the data cannot support
class NotComputed:
    """The value of a section the data could not support. Reading an attribute or item of it, or
    calling it, gives itself, so a notebook cell that passes ``earlier.value.part`` on passes it on
    and the section receiving it says what it builds on instead of failing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __getattr__(self, name: str) -> "NotComputed":
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: object) -> "NotComputed":
        return self

    def __call__(self, *args: object, **kwargs: object) -> "NotComputed":
        return self

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"NotComputed({self.reason!r})"


def _limits() -> tuple[type[BaseException], ...]:
    from toolkit.clv.models.base import ConvergenceError
    from toolkit.data.errors import InsufficientDataError

    return InsufficientDataError, ConvergenceError


def degrading(func: Any) -> Any:
    """Wrap a section function so that what the data cannot support is said, not raised: a data
    limit (too few customers or events for a method, a model these data cannot identify) becomes a
    section of one sentence naming the reason, whose value is :class:`NotComputed`; a section
    given a NotComputed value says what it builds on. Other errors (bad input, missing tables,
    defects) still stop the report."""
    if getattr(func, "__degrading__", False):
        return func

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Section[Any]:
        missing = next((a for a in (*args, *kwargs.values()) if isinstance(a, NotComputed)), None)
        if missing is not None:
            return Section(value=missing).say("Not shown: this part builds on one that these data could not "
                                              "support ({r}).", r=missing.reason)
        try:
            return func(*args, **kwargs)
        except _limits() as exc:
            reason = str(exc)
            return Section(value=NotComputed(reason)).say("**Not computed: the data cannot support this part.** "
                                                          "{r}", r=reason)

    run.__degrading__ = True
    return run


def degrade_on_data_limits(namespace: dict[str, Any]) -> None:
    """Make every public section function of a report module's ``namespace`` (its ``globals()``:
    the functions annotated to return a Section) :func:`degrading`."""
    for name, obj in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(obj):
            continue
        ret = obj.__annotations__.get("return")
        if (isinstance(ret, str) and ret.startswith("Section")) or getattr(ret, "__origin__", ret) is Section:
            namespace[name] = degrading(obj)
