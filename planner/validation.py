"""Turn pydantic validation errors into located, plain-English issues."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from planner.errors import Issue
from planner.schema import Name
from planner.yamlio import LoadedYaml


def _shown(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]  # as YAML writes them
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
        hint = did_you_mean(str(path[-1]), field_names(root))
        if hint == f"; did you mean '{path[-1]}'?":  # a key of another kind of the same thing
            return f"key '{path[-1]}' does not apply here (see the kind)"
        return f"unknown key '{path[-1]}'{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        tags = str(error.get("ctx", {}).get("expected_tags", "")).replace("'kind:", "'")
        return f"unknown kind '{_kind_of(error.get('input'))}' (expected one of {tags})"
    if kind in _PLAIN_MESSAGES:
        message = _PLAIN_MESSAGES[kind]
    elif kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == _NAME_PATTERN:
        message = ("must start with a letter or digit and use only letters, digits, spaces "
                   "and _ . : / + -")
    elif kind == "too_short":
        count = error.get("ctx", {}).get("min_length", 1)
        message = f"needs at least {count} item{'s' if count != 1 else ''}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message.replace("Input should be", "must be", 1)
    # at the root the input is the whole document; a mapping's own check names what is wrong
    # with it in words, and echoing the mapping back only buries that
    if "input" in error and path and not isinstance(error["input"], dict):
        message += f" (got {_shown(error['input'])})"
    return message


def _kind_of(value: Any) -> str:
    return str(value.get("kind")) if isinstance(value, dict) else str(value)


# the pattern of `Name`, so its mismatch can be explained in words
_NAME_PATTERN = next((getattr(item, "pattern", None) for item in typing.get_args(Name)[1].metadata
                      if getattr(item, "pattern", None)), None)

_PLAIN_MESSAGES = {
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "string_type": "must be text",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
}


def _is_union_tag(part: Any) -> bool:
    # inside unions pydantic adds the member type to the location ("float", "list[...]")
    return isinstance(part, str) and (
        part in {"float", "int", "str", "bool"} or "[" in part
        or part.startswith(("function-", "constrained-", "kind:"))
    )


def issues_from_validation_error(
    exc: ValidationError, loaded: LoadedYaml, root: type[BaseModel]
) -> list[Issue]:
    """One issue per pydantic error, located by its path in the YAML document."""
    issues = []
    seen: set[str] = set()
    errors = exc.errors()
    locations = [tuple(error["loc"]) for error in errors]
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "too_short" and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locations
        ):
            continue  # pydantic adds "0 items" to a list whose items failed; the items say why
        path = tuple(part for part in loc if not _is_union_tag(part))
        if error["type"] == "union_tag_invalid":
            path = (*path, "kind")
        issue = loaded.issue(path, _message(error, path, root))
        if str(issue) not in seen:
            seen.add(str(issue))
            issues.append(issue)
    return issues
