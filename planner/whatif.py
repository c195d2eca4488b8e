"""`plan whatif`: change a problem (and the catalog's prices) on the command line, solve the base
and the changed problem, and show what changes.

A setting is `PATH=VALUE`. PATH is dotted into the problem, workloads addressed by name
(`workloads.chat.rate_rps`, `workloads.*.max_spot_share` for every workload), list items by
index (`quotas.0.max_accelerators`). VALUE is YAML (`80`, `null`, `[fp8, int8]`,
`{ttft_ms: 500}`) or a multiplier of the current number (`x1.5`). `prices.<mode>=xK` and
`prices.all=xK` scale the catalog's hourly prices for this run. The changed problem is
validated by the same schema as a problem file, so a bad value gives the usual located error.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from planner.backends import SolveOptions
from planner.catalog import Catalog, Prices, did_you_mean, load_catalog
from planner.diff import SCHEMA_VERSION, PlanDiff, diff_plans
from planner.diff import FieldChange as AppliedChange  # what a setting did, workloads by name
from planner.diff_report import diff_blocks
from planner.errors import InputError, Issue
from planner.plan import Plan
from planner.problem import Problem, _check_references
from planner.report_document import Block, Heading, Paragraph, Report, Table, field_text
from planner.validation import issues_from_validation_error
from planner.yamlio import LoadedYaml, format_path

OPTION = "--set"
PRICES = "prices"
ALL_PRICES = "all"
WILDCARD = "*"
MAX_MULTIPLIER = 1e6
_MULTIPLIER = re.compile(r"^[xX\u00d7]\s*(?P<factor>[0-9][0-9_.eE+-]*)$")

DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Setting:
    """One `--set PATH=VALUE`, parsed but not yet applied."""

    text: str
    path: tuple[str, ...]
    value: Any = None
    multiplier: float | None = None

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def setting_error(setting: str, message: str) -> InputError:
    """An error that names the option and the path it is about."""
    return InputError([Issue(OPTION, None, None, setting, message)])


def parse_setting(text: str) -> Setting:
    """`workloads.chat.rate_rps=80` -> Setting; the value is YAML or a multiplier `xK`.

    Raises:
        InputError: naming `--set` and the path when the text is not PATH=VALUE.
    """
    path_text, equals, value_text = text.partition("=")
    path = tuple(part.strip() for part in path_text.strip().split("."))
    if not equals or not path_text.strip() or any(not part for part in path):
        raise setting_error(text, "expected PATH=VALUE, e.g. workloads.chat.rate_rps=80 or prices.spot=x1.5")
    dotted = ".".join(path)
    value_text = value_text.strip()
    if not value_text:
        raise setting_error(dotted, "needs a value after '=' (write null to clear an optional field)")
    match = _MULTIPLIER.match(value_text)
    if match:
        try:
            factor = float(match.group("factor"))
        except ValueError:
            factor = math.nan
        if not (math.isfinite(factor) and 0 < factor <= MAX_MULTIPLIER):
            raise setting_error(dotted, f"multiplier must be a number above 0 and at most "
                                        f"{MAX_MULTIPLIER:g} (got {value_text})")
        return Setting(text, path, multiplier=factor)
    if path[0] == PRICES:
        raise setting_error(dotted, f"prices take a multiplier such as x1.5 (got {value_text})")
    try:
        value = yaml.safe_load(value_text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise setting_error(dotted, f"value is not valid YAML: {problem} (got {value_text})") from None
    return Setting(text, path, value=value)


def _unknown(setting: Setting, depth: int, got: str, choices: Sequence[str], kind: str = "key") -> InputError:
    where = ".".join(setting.path[:depth]) or "the problem"
    listed = ", ".join(choices) if choices else "none"
    return setting_error(setting.dotted, f"unknown {kind} '{got}' in {where}"
                                         f"{did_you_mean(got, choices)} (valid: {listed})")


def _step(node: Any, part: str, setting: Setting, depth: int, at: DataPath
          ) -> list[tuple[DataPath, str]]:
    """The children of `node` that `part` names, as (data path, shown path part)."""
    if at == ("workloads",):
        names = [str(workload["name"]) for workload in node]
        if part == WILDCARD:
            return [((*at, index), name) for index, name in enumerate(names)]
        if part not in names:
            raise _unknown(setting, depth, part, [*names, WILDCARD], "workload")
        return [((*at, names.index(part)), part)]
    if isinstance(node, dict):
        if part not in node:
            choices = sorted(node) + ([PRICES] if not at else [])
            raise _unknown(setting, depth, part, choices)
        return [((*at, part), part)]
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise setting_error(setting.dotted, f"'{'.'.join(setting.path[:depth])}' is a list of "
                                                f"{len(node)} items; address one by index 0 to "
                                                f"{len(node) - 1} (got {part})" if node else
                                f"'{'.'.join(setting.path[:depth])}' is empty; set the whole list")
        return [((*at, int(part)), part)]
    shown = "null" if node is None else repr(node)
    raise setting_error(setting.dotted, f"'{'.'.join(setting.path[:depth])}' is {shown}, which has "
                                        "no fields; set it whole instead")


def _get(data: Any, path: DataPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _targets(data: dict[str, Any], setting: Setting) -> list[tuple[DataPath, str]]:
    found: list[tuple[DataPath, str]] = [((), "")]
    for depth, part in enumerate(setting.path):
        found = [(path, f"{shown}.{name}" if shown else name)
                 for at, shown in found
                 for path, name in _step(_get(data, at), part, setting, depth, at)]
    return found


def _scaled(current: Any, factor: float, setting: Setting) -> Any:
    if isinstance(current, bool) or not isinstance(current, int | float):
        shown = "null" if current is None else repr(current)
        raise setting_error(setting.dotted, f"a multiplier needs a number to scale (current value {shown})")
    value = current * factor
    return int(value) if isinstance(current, int) and float(value).is_integer() else value


def _price_factors(settings: Sequence[Setting]) -> dict[str, float]:
    modes = list(Prices.model_fields)
    factors: dict[str, float] = {}
    for setting in settings:
        if len(setting.path) != 2:
            raise setting_error(setting.dotted, f"write prices.<mode>=xK with one pricing mode of "
                                                f"{', '.join([*modes, ALL_PRICES])}")
        if setting.path[1] not in (*modes, ALL_PRICES):
            raise _unknown(setting, 1, setting.path[1], [*modes, ALL_PRICES], "pricing mode")
        if setting.multiplier is None:
            raise setting_error(setting.dotted, "prices take a multiplier such as x1.5")
        factors[setting.path[1]] = factors.get(setting.path[1], 1.0) * setting.multiplier
    return factors


def scale_prices(catalog: Catalog, factors: dict[str, float]) -> Catalog:
    """The catalog with each pricing mode's hourly prices multiplied (`all` scales every mode)."""
    if not factors:
        return catalog
    every = factors.get(ALL_PRICES, 1.0)

    def scaled(prices: Prices) -> Prices:
        update = {mode: value * every * factors.get(mode, 1.0)
                  for mode in Prices.model_fields if (value := getattr(prices, mode)) is not None}
        return prices.model_copy(update=update)

    offers = tuple(offer.model_copy(update={"prices_usd_per_hour": scaled(offer.prices_usd_per_hour)})
                   for offer in catalog.offers)
    return dataclasses.replace(catalog, offers=offers)


def _validate(data: dict[str, Any], loaded: LoadedYaml, changed: dict[str, str]) -> Problem:
    """The changed document through the problem schema; errors located in the problem file."""
    try:
        return Problem.model_validate(data)
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, loaded, Problem)
    raise InputError([_attributed(issue, changed) for issue in issues]) from None


def _attributed(issue: Issue, changed: dict[str, str]) -> Issue:
    """Say which setting made the value, when one did."""
    for located, setting in changed.items():
        if issue.field == located or issue.field.startswith((located + ".", located + "[")):
            return dataclasses.replace(issue, message=f"{issue.message} (from {OPTION} {setting})")
    return issue


def apply_settings(problem: Problem, catalog: Catalog, loaded: LoadedYaml, settings: Sequence[Setting],
                   folder: Path) -> tuple[Problem, Catalog, tuple[AppliedChange, ...]]:
    """The changed problem and catalog, and what each setting changed.

    Raises:
        InputError: an unknown path or bad value, naming `--set` and the path, or the changed
        problem's schema and catalog errors located in the problem file.
    """
    data: dict[str, Any] = problem.model_dump(mode="json")
    changes: list[AppliedChange] = []
    located: dict[str, str] = {}
    price_settings = [s for s in settings if s.path[0] == PRICES]
    for setting in settings:
        if setting.path[0] == PRICES:
            continue
        for path, shown in _targets(data, setting):
            parent, key = _get(data, path[:-1]), path[-1]
            before = parent[key]
            after = (setting.value if setting.multiplier is None
                     else _scaled(before, setting.multiplier, setting))
            parent[key] = after
            changes.append(AppliedChange(shown, before, after))
            located[format_path(path)] = setting.text
    changed = _validate(data, loaded, located) if changes else problem
    if changed.catalogs != problem.catalogs:
        catalog = load_catalog(changed.catalogs, relative_to=folder)
    factors = _price_factors(price_settings)
    changes += [AppliedChange(f"{PRICES}.{mode}", None, f"x{factor:g}") for mode, factor in factors.items()]
    issues = _check_references(changed, catalog, loaded)
    if issues:
        raise InputError([_attributed(issue, located) for issue in issues])
    return changed, scale_prices(catalog, factors), tuple(changes)


@dataclass(frozen=True)
class WhatIf:
    """The base plan, the changed plan and what differs between them."""

    problem: str
    changes: tuple[AppliedChange, ...]
    base: Plan
    changed: Plan
    diff: PlanDiff

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "problem": self.problem,
                "changes": [change.to_dict() for change in self.changes],
                "diff": self.diff.to_dict(), "base": self.base.to_dict(),
                "changed": self.changed.to_dict()}


def run_whatif(path: Path, settings: Sequence[str], solver: str = "highs",
               options: SolveOptions | None = None,
               progress: Callable[[str], None] = lambda message: None) -> WhatIf:
    """Solve the problem in `path` as written and with `settings` applied; diff the plans.

    Raises:
        InputError: for a bad problem file or a bad setting (before any solve runs).
    """
    from planner.problem import load_problem
    from planner.solve import solve
    from planner.yamlio import read_yaml

    parsed = [parse_setting(text) for text in settings]
    problem, catalog = load_problem(path)
    changed, changed_catalog, changes = apply_settings(
        problem, catalog, read_yaml(path, "problem file"), parsed, path.parent)
    progress(f"solving {problem.name} as written ...")
    base = solve(problem, catalog, solver, options)
    progress(f"solving {problem.name} with {len(changes)} change{'s' if len(changes) != 1 else ''} ...")
    after = solve(changed, changed_catalog, solver, options)
    diff = diff_plans(base.to_dict(), after.to_dict(), "base", "what-if")
    return WhatIf(problem.name, changes, base, after, diff)


def whatif_report(result: WhatIf) -> Report:
    rows = tuple((change.path, field_text(change.path, change.before), field_text(change.path, change.after))
                 for change in result.changes)
    blocks: list[Block] = [Heading("Changes")]
    blocks += [Table(("setting", "base", "what-if"), rows)] if rows else [Paragraph("No changes given.")]
    blocks += [Heading("Result"), *diff_blocks(result.diff)]
    return Report(f"What if: {result.problem}", tuple(blocks))
