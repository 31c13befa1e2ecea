"""Read and validate brain maps: every problem is reported by field path, never a traceback."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import yaml

from ._attrs_schema import schema_for
from ._convert import converter
from ._convert import fast_structure as _structure
from ._schema_errors import describe as _describe
from .errors import FieldProblem, InputError
from .model import BrainMap


@functools.cache
def brain_map_schema() -> dict[str, Any]:
    """The JSON Schema of a brain map."""
    return schema_for(BrainMap, "brain-map", "nmt-rules brain map")


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        brain_map_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@functools.cache
def _fast_check() -> Callable[[object], object]:
    """The same schema compiled to Python code: ~30x faster than jsonschema on valid maps,
    but it stops at the first problem, so invalid maps are re-checked by jsonschema, which
    reports them all. The schema uses nothing draft 2020-12 adds to draft 7."""
    # A deep copy: fastjsonschema annotates the schema it compiles, and this one is shared.
    schema = {
        **copy.deepcopy(brain_map_schema()),
        "$schema": "http://json-schema.org/draft-07/schema#",
    }
    check: Callable[[object], object] = fastjsonschema.compile(schema, formats={"date": _is_date})
    return check


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == len("YYYY-MM-DD")


def parse_brain_map(data: object, source: str | None = None) -> BrainMap:
    """Validate parsed YAML/JSON data and return the model; raise InputError listing problems."""
    doc = data
    problems: list[FieldProblem] = []
    if not _passes_fast_check(doc):
        # YAML gives dates as date objects: as ISO strings they may pass. Copying only here
        # spares JSON input (every HTTP request) a walk over the whole map.
        doc = _jsonable(data)
        if not _passes_fast_check(doc):
            problems = [_describe(e) for e in _validator().iter_errors(doc)]
    if not problems:  # jsonschema is the authority where the two validators differ
        problems = list(_semantic_problems(doc))
    if problems:
        raise InputError(sorted(set(problems), key=lambda p: (p.path, p.message)), source)
    return _structure(doc, BrainMap)


def _passes_fast_check(doc: object) -> bool:
    try:
        _fast_check()(doc)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def load_brain_map(path: str | Path) -> BrainMap:
    """Read a brain map from a YAML or JSON file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([FieldProblem("", f"cannot read file: {exc}")], str(path)) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}:{exc.colno}"
        raise InputError([FieldProblem("", f"invalid JSON: {exc.msg}")], where) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InputError([FieldProblem("", f"invalid YAML: {exc.problem}")], where) from None
    except yaml.YAMLError as exc:
        raise InputError([FieldProblem("", f"invalid YAML: {exc}")], str(path)) from None
    return parse_brain_map(data, str(path))


def _jsonable(data: object) -> object:
    """YAML gives dates as date objects; the schema speaks JSON, so make them ISO strings."""
    if isinstance(data, Mapping):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


def _semantic_problems(doc: Any) -> Iterable[FieldProblem]:
    """Checks a schema cannot express."""
    current = dt.date.fromisoformat(doc["assessed_on"])
    for i, earlier in enumerate(doc.get("previous") or ()):
        if dt.date.fromisoformat(earlier["assessed_on"]) >= current:
            yield FieldProblem(
                f"previous[{i}].assessed_on",
                f"{earlier['assessed_on']} is not before assessed_on ({doc['assessed_on']})",
            )


def brain_map_data(brain_map: BrainMap) -> dict[str, Any]:
    """The brain map as plain data without empty fields: what a person would have written."""
    data: dict[str, Any] = _pruned(converter.unstructure(brain_map))
    return data


def _pruned(data: Any) -> Any:
    if isinstance(data, Mapping):
        kept = {k: _pruned(v) for k, v in data.items()}
        return {k: v for k, v in kept.items() if v not in (None, [], {})}
    if isinstance(data, list | tuple):
        return [_pruned(v) for v in data]
    return data
