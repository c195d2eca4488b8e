"""A catalog file that contradicts itself: one row defined twice, or an accelerator alias that
is another accelerator's name.

Across files, a later file overriding a row of an earlier one is the documented way to use
your own prices. Within one file a repeated key is a mistake (which of the two prices is
meant?), and so is an alias naming a different accelerator (which one does `quotas:` mean?);
the loader used to keep the last silently. Each repeat is reported at its second use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from planner.errors import InputError, Issue
from planner.yamlio import LoadedYaml


def _repeats(loaded: LoadedYaml, section: str, rows: Sequence[Any], kind: str,
             key: Callable[[Any], str]) -> list[Issue]:
    first: dict[str, int] = {}
    issues = []
    for index, row in enumerate(rows):
        name = key(row)
        if name in first:
            line, _ = loaded.position((section, first[name]))
            same = "identically" if row == rows[first[name]] else "differently"
            issues.append(loaded.issue((section, index), f"{kind} '{name}' is defined twice in "
                                       f"this file, {same} (first on line {line})"))
        else:
            first[name] = index
    return issues


def self_contradictions(loaded: LoadedYaml, parsed: Any) -> list[Issue]:
    """Issues for rows of `parsed` (a `CatalogFile` read from `loaded`) that repeat a key of
    the same file, and for aliases that name another accelerator of the file."""
    issues = _repeats(loaded, "offers", parsed.offers, "offer", lambda row: row.key)
    issues += _repeats(loaded, "accelerators", parsed.accelerators, "accelerator",
                       lambda row: row.name)
    issues += _repeats(loaded, "models", parsed.models, "model", lambda row: row.name)
    issues += _repeats(loaded, "variants", parsed.variants, "variant", lambda row: row.name)
    owner = {row.name.lower(): row.name for row in parsed.accelerators}
    for index, row in enumerate(parsed.accelerators):
        for a_index, alias in enumerate(row.aliases):
            other = owner.get(alias.lower())
            if other is not None and other != row.name:
                issues.append(loaded.issue(("accelerators", index, "aliases", a_index),
                                           f"alias '{alias}' of {row.name} is the name of "
                                           f"accelerator {other}"))
    return issues


def raise_self_contradictions(loaded: LoadedYaml, parsed: Any) -> None:
    """Raise `InputError` listing `self_contradictions(loaded, parsed)`, if there are any."""
    issues = self_contradictions(loaded, parsed)
    if issues:
        raise InputError(issues)
