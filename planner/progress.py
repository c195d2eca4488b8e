"""Progress of long work, for whoever listens (`plan solve` prints it on stderr).

The solver's worker and the decomposition tell what they are at (`tell`): the best plan and
bound so far, a column-generation round. Nobody listens unless a command asks (`reporting`),
so library calls stay silent and telling costs nothing then. `Throttled` keeps a terminal
readable: a short solve prints nothing, a long one a line every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str], None]
_listeners: list[Listener] = []
EVERY_S = 5.0
"""Seconds between two lines that `Throttled` prints."""


@contextmanager
def reporting(listener: Listener) -> Iterator[None]:
    """`listener` hears everything told while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def listening() -> bool:
    return bool(_listeners)


def tell(text: str) -> None:
    for listener in list(_listeners):
        listener(text)


def plan_and_bound(objective: float | None, bound: float | None) -> str:
    """`best plan $12,633/month, bound $12,377 (gap 2.0 %)`, or what is known of it."""
    if objective is None:
        return "no plan yet" + ("" if bound is None else f", bound ${bound:,.0f}/month")
    text = f"best plan ${objective:,.0f}/month"
    if bound is None:
        return text
    gap = max(0.0, objective - bound) / max(abs(objective), 1e-9)
    return f"{text}, bound ${bound:,.0f}/month (gap {gap:.2%})"


class Throttled:
    """Passes on what it hears, at most one line every `EVERY_S` seconds, each with the
    seconds since it was made: `  12 s  round 7: master LP ...`."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.started = self.last = time.monotonic()

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last >= EVERY_S:
            self.last = now
            self.write(f"  {now - self.started:4.0f} s  {text.strip()}")
