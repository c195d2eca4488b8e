"""Round-trip an InferenceService through the kserve SDK's models.

The SDK's generated models (kserve.models.V1beta1InferenceService and friends, whose pod parts
are kubernetes.client models) know every field's name and type. We build the model tree from
the manifest field by field, failing on unknown fields, wrong types and missing required fields
(the models' own setters and, for the kubernetes parts, pydantic), then serialise it back and
compare: anything lost or changed on the way is a finding.
"""

from __future__ import annotations

import re
from typing import Any

_LIST = re.compile(r"^[lL]ist\[(.*)\]$")
_DICT = re.compile(r"^(?:dict\(|Dict\[)([^,]*), (.*)[)\]]$")
_PRIMITIVES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


class ModelMismatch(ValueError):
    pass


def round_trip(document: dict[str, Any]) -> list[str]:
    """Problems found rebuilding `document` as a V1beta1InferenceService (empty when it fits)."""
    try:
        model = _build(document, "V1beta1InferenceService", "$")
    except (ModelMismatch, ValueError, TypeError) as exc:
        return [str(exc).splitlines()[0] if str(exc) else type(exc).__name__]
    back = _serialise(model)
    if back != document:
        return [f"changed by the kserve SDK round trip: {_first_difference(document, back, '$')}"]
    return []


def _model_class(name: str) -> Any:
    import kserve.models
    import kubernetes.client.models

    found = getattr(kserve.models, name, None)
    if found is None:
        found = getattr(kubernetes.client.models, name, None)
    if found is None:
        raise ModelMismatch(f"no SDK model named {name}")
    return found


def _build(data: Any, type_name: str, path: str) -> Any:
    if data is None:
        return None
    if match := _LIST.match(type_name):
        if not isinstance(data, list):
            raise ModelMismatch(f"{path}: expected a list, got {type(data).__name__}")
        return [_build(item, match.group(1), f"{path}[{i}]") for i, item in enumerate(data)]
    if match := _DICT.match(type_name):
        if not isinstance(data, dict):
            raise ModelMismatch(f"{path}: expected a mapping, got {type(data).__name__}")
        return {key: _build(value, match.group(2), f"{path}.{key}") for key, value in data.items()}
    if type_name in _PRIMITIVES:
        return _primitive(data, type_name, path)
    if type_name == "object":
        return data
    cls = _model_class(type_name)
    if not isinstance(data, dict):
        raise ModelMismatch(f"{path}: expected a {type_name} mapping, got {type(data).__name__}")
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    unknown = sorted(set(data) - set(by_json))
    if unknown:
        raise ModelMismatch(f"{path}: unknown field(s) {', '.join(unknown)} for {type_name}")
    arguments = {by_json[key]: _build(value, cls.openapi_types[by_json[key]], f"{path}.{key}")
                 for key, value in data.items()}
    try:
        return cls(**arguments)
    except (ValueError, TypeError) as exc:
        raise ModelMismatch(f"{path}: {type_name}: {str(exc).splitlines()[0]}") from None


def _primitive(data: Any, type_name: str, path: str) -> Any:
    expected = _PRIMITIVES[type_name]
    valid = (isinstance(data, bool) if expected is bool
             else isinstance(data, expected) and not isinstance(data, bool) if expected is int
             else isinstance(data, (int, float)) and not isinstance(data, bool) if expected is float
             else isinstance(data, str))
    if not valid:
        raise ModelMismatch(f"{path}: expected {type_name}, got {data!r}")
    return data


def _serialise(value: Any) -> Any:
    if isinstance(value, list):
        return [_serialise(item) for item in value]
    if isinstance(value, dict):
        return {key: _serialise(item) for key, item in value.items()}
    if hasattr(value, "model_dump"):  # kubernetes client models are pydantic
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    if hasattr(value, "openapi_types"):
        return {value.attribute_map[attr]: _serialise(getattr(value, attr))
                for attr in value.openapi_types if getattr(value, attr) is not None}
    return value


def _first_difference(expected: Any, actual: Any, path: str) -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if expected.get(key) != actual.get(key):
                return _first_difference(expected.get(key), actual.get(key), f"{path}.{key}")
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            if left != right:
                return _first_difference(left, right, f"{path}[{index}]")
    return f"{path}: {expected!r} became {actual!r}"
