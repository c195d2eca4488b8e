"""Turn pydantic validation errors into located, plain-English issues."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from planner.errors import Issue
from planner.yamlio import LoadedYaml


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@cache
def field_names(root: type[BaseModel]) -> tuple[str, ...]:
    """Every field name reachable from a schema class, for 'did you mean' hints."""
    seen: set[type[BaseModel]] = set()
    names: set[str] = set()
    stack: list[type[BaseModel]] = [root]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(name)
            stack.extend(_models_in(info.annotation))
    return tuple(sorted(names))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _message(error: Any, path: tuple[Any, ...], root: type[BaseModel]) -> str:
    from planner.catalog import did_you_mean

    kind = error["type"]
    if kind == "extra_forbidden" and path:
        return f"unknown key '{path[-1]}'{did_you_mean(str(path[-1]), field_names(root))}"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "input" in error:
        message += f" (got {_shown(error['input'])})"
    return message


def _is_union_tag(part: Any) -> bool:
    # inside unions pydantic adds the member type to the location ("float", "list[...]")
    return isinstance(part, str) and (
        part in {"float", "int", "str", "bool"} or "[" in part
        or part.startswith(("function-", "constrained-"))
    )


def issues_from_validation_error(
    exc: ValidationError, loaded: LoadedYaml, root: type[BaseModel]
) -> list[Issue]:
    """One issue per pydantic error, located by its path in the YAML document."""
    issues = []
    seen: set[str] = set()
    for error in exc.errors():
        path = tuple(part for part in error["loc"] if not _is_union_tag(part))
        issue = loaded.issue(path, _message(error, path, root))
        if str(issue) not in seen:
            seen.add(str(issue))
            issues.append(issue)
    return issues
