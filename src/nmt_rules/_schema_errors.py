"""jsonschema errors in plain words, located by field path (brain maps, CDS Hooks requests)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema

from ._yaml import ID_PATTERN
from .errors import FieldProblem


def field_path(parts: Iterable[str | int]) -> str:
    """``domains.cognitive``, ``previous[0].assessed_on``: the path a person reads."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems(validator: jsonschema.protocols.Validator, doc: Any) -> list[FieldProblem]:
    """Every problem the validator finds in doc, described, sorted and without repeats."""
    found = {describe(error) for error in validator.iter_errors(doc)}
    return sorted(found, key=lambda p: (p.path, p.message))


def describe(error: jsonschema.ValidationError) -> FieldProblem:
    """Turn a jsonschema error into 'field.path: what is wrong' in plain words."""
    if error.validator == "anyOf" and error.context:
        # Optional fields are "X or null": the X branch says what is really wrong.
        inner = [e for e in error.context if e.validator != "type" or e.validator_value != "null"]
        if inner:
            best = jsonschema.exceptions.best_match(inner)
            if best is not None:  # its absolute_path already includes this error's path
                return describe(best)
    path = field_path(error.absolute_path)
    value: Any = error.instance
    rule: Any = error.validator_value
    schema: Any = error.schema
    match error.validator:
        case "additionalProperties":
            extra = sorted(set(value) - set(schema.get("properties", {})))
            known = ", ".join(schema.get("properties", {}))
            field = field_path([*error.absolute_path, extra[0]]) if extra else path
            return FieldProblem(field, f"unknown field (known fields: {known})")
        case "required":
            missing = rule if isinstance(rule, list) else [rule]
            absent = next((m for m in missing if m not in value), missing[0])
            return FieldProblem(
                field_path([*error.absolute_path, absent]), "required field is missing"
            )
        case "maximum":
            return FieldProblem(path, f"{value!r} is above {rule}")
        case "minimum":
            return FieldProblem(path, f"{value!r} is below {rule}")
        case "enum":
            return FieldProblem(path, f"{value!r} is not one of: {', '.join(map(str, rule))}")
        case "const":
            return FieldProblem(path, f"{value!r} is not {rule!r}")
        case "type":
            return FieldProblem(path, f"expected {_TYPE_WORDS.get(rule, rule)}, got {value!r}")
        case "format":
            return FieldProblem(path, f"{value!r} is not {_FORMAT_WORDS.get(rule, rule)}")
        case "uniqueItems":
            return FieldProblem(path, "lists the same value twice")
        case "pattern" if rule == ID_PATTERN.pattern:
            return FieldProblem(path, f"{value!r} must be lower-case words joined by '-'")
        case "pattern":
            return FieldProblem(path, f"{value!r} does not match {rule}")
        case "minLength" | "minProperties" | "minItems":
            return FieldProblem(path, "must not be empty")
    return FieldProblem(path, error.message)


_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
}
_FORMAT_WORDS = {
    "date": "a date (use YYYY-MM-DD)",
    "uuid": "a UUID",
    "uri": "an absolute URL",
    "date-time": "a date and time (RFC 3339, e.g. 2026-10-01T09:30:00Z)",
}
