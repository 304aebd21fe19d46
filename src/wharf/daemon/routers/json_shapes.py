"""Refusing JSON bodies whose fields have the wrong type, with the words of Docker's Go decoder
(400, "json: cannot unmarshal string into Go struct field ..."), before a handler trips on them."""

from __future__ import annotations

from typing import Any

from wharf import errdefs

STRING_MAP = "map[string]string"
STRING_LIST = "[]string"
_GO_NAMES = {str: "string", bool: "bool", int: "int", dict: "object", list: "array", STRING_MAP: STRING_MAP,
             STRING_LIST: STRING_LIST}


def _json_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, expected: Any) -> bool:
    if expected == STRING_MAP:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if expected == STRING_LIST:
        return isinstance(value, list)  # the elements are checked one by one, with their own words
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def require_object(body: Any, struct: str) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise errdefs.InvalidArgument(f"json: cannot unmarshal {_json_name(body)} into Go value of type {struct}")
    return body


def require_types(body: dict[str, Any], fields: dict[str, Any], struct: str) -> None:
    """`fields`: name → str, bool, int, dict, list or STRING_MAP; null is always accepted."""
    for name, expected in fields.items():
        value = body.get(name)
        if expected == STRING_LIST and isinstance(value, list):
            # Go reads a null element as "" and names the element's type, not the list's.
            for item in value:
                if item is not None and not isinstance(item, str):
                    raise errdefs.InvalidArgument(
                        f"json: cannot unmarshal {_json_name(item)} into Go struct field {struct}.{name} "
                        "of type string"
                    )
            continue
        if value is not None and not _fits(value, expected):
            raise errdefs.InvalidArgument(
                f"json: cannot unmarshal {_json_name(value)} into Go struct field {struct}.{name} "
                f"of type {_GO_NAMES[expected]}"
            )
