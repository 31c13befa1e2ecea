"""JSON Schemas generated from the attrs models, so the schema and the code cannot drift."""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any, Literal, Union

import attrs

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://nmt-rules.example/schema/"


def schema_for(cls: type, name: str, title: str) -> dict[str, Any]:
    """Return a self-contained JSON Schema (draft 2020-12) for an attrs class."""
    defs: dict[str, Any] = {}
    root = _class_schema(cls, defs)
    defs.pop(cls.__name__)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}{name}.schema.json",
        "title": title,
        **root,
        **({"$defs": dict(sorted(defs.items()))} if defs else {}),
    }


def _class_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    if cls.__name__ in defs:
        return {"$ref": f"#/$defs/{cls.__name__}"}
    defs[cls.__name__] = {}  # placeholder breaks recursion
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    # Required fields first: a reader (or a form built from the schema) meets them first,
    # whatever class they were inherited from.
    fields = sorted(attrs.fields(cls), key=lambda f: f.default is not attrs.NOTHING)
    for field in fields:
        meta = dict(field.metadata)
        description = meta.pop("description", None)
        prop = _type_schema(hints[field.name], meta, defs)
        if description:
            prop = {"description": description, **prop}
        properties[field.name] = prop
        if field.default is attrs.NOTHING:
            required.append(field.name)
    schema: dict[str, Any] = {"type": "object"}
    if cls.__doc__:
        schema["description"] = cls.__doc__.strip().splitlines()[0]
    schema["properties"] = properties
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    defs[cls.__name__] = schema
    return schema


def _type_schema(tp: Any, constraints: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        (only,) = inner
        return {"anyOf": [_type_schema(only, constraints, defs), {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(args), **constraints}
    if origin is tuple:
        # `items` in a field's metadata constrains each element (e.g. a text's length).
        outer = {k: v for k, v in constraints.items() if k != "items"}
        element = _type_schema(args[0], dict(constraints.get("items", {})), defs)
        return {"type": "array", "items": element, **outer}
    if origin is dict:
        return {"type": "object", **constraints}
    if attrs.has(tp):
        _class_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    simple = {
        str: {"type": "string"},
        int: {"type": "integer"},
        float: {"type": "number"},
        bool: {"type": "boolean"},
        dt.date: {"type": "string", "format": "date"},
    }
    if tp in simple:
        return {**simple[tp], **constraints}
    raise TypeError(f"no JSON Schema mapping for {tp!r}")
