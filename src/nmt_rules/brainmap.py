"""Read and validate brain maps: every problem is reported by field path, never a traceback."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import fastjsonschema
import jsonschema
import yaml

from ._attrs_schema import schema_for
from ._convert import converter
from ._convert import fast_structure as _structure
from ._schema_errors import describe as _describe
from .errors import FieldProblem, InputError
from .model import BrainMap, PreviousAssessment


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
    return _flatten(_structure(doc, BrainMap))


def _flatten(brain_map: BrainMap) -> BrainMap:
    """Earlier maps pasted whole may carry their own `previous`: every earlier assessment
    joins one list, oldest first, each date once (the validator refused conflicting ones)."""
    if not any(p.previous for p in brain_map.previous):
        return brain_map
    by_date: dict[dt.date, PreviousAssessment] = {}
    pending = list(brain_map.previous)
    while pending:
        earlier = pending.pop()
        pending += earlier.previous
        by_date.setdefault(earlier.assessed_on, attrs.evolve(earlier, previous=()))
    return attrs.evolve(brain_map, previous=tuple(by_date[d] for d in sorted(by_date)))


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
    subject = doc["subject"]["id"]
    yield from _clinician_problems(doc.get("clinician"), "clinician")
    seen: dict[str, tuple[str, Any]] = {}
    for path, earlier in _earlier(doc.get("previous") or (), "previous"):
        if dt.date.fromisoformat(earlier["assessed_on"]) >= current:
            yield FieldProblem(
                f"{path}.assessed_on",
                f"{earlier['assessed_on']} is not before assessed_on ({doc['assessed_on']})",
            )
        other = (earlier.get("subject") or {}).get("id", subject)
        if other != subject:
            yield FieldProblem(
                f"{path}.subject.id",
                f"{other!r} is another person: this map is for {subject!r}",
            )
        yield from _clinician_problems(earlier.get("clinician"), f"{path}.clinician")
        date = earlier["assessed_on"]
        if date in seen and seen[date][1] != earlier["domains"]:
            yield FieldProblem(
                f"{path}.assessed_on",
                f"{date} is also the date of {seen[date][0]}, with other scores",
            )
        seen.setdefault(date, (path, earlier["domains"]))


def _earlier(entries: Iterable[Any], path: str) -> Iterable[tuple[str, Any]]:
    """Every earlier assessment with its field path, nested ones included."""
    for i, entry in enumerate(entries):
        here = f"{path}[{i}]"
        yield here, entry
        yield from _earlier(entry.get("previous") or (), f"{here}.previous")


def _clinician_problems(clinician: Any, path: str) -> Iterable[FieldProblem]:
    if clinician and clinician.get("ready_for") and not clinician.get("note"):
        yield FieldProblem(
            f"{path}.note",
            "say why the person is ready (a clinician's judgement releases held work, and the "
            "plan quotes it)",
        )


def brain_map_data(brain_map: BrainMap) -> dict[str, Any]:
    """The brain map as plain data holding only what was given (fields at their defaults
    left out): what a person would have written."""
    data: dict[str, Any] = _given(brain_map)
    return data


def _given(value: Any) -> Any:
    if attrs.has(type(value)):
        out = {}
        for field in attrs.fields(type(value)):
            current = getattr(value, field.name)
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if default is not attrs.NOTHING and current == default:
                continue
            out[field.name] = _given(current)
        return out
    if isinstance(value, list | tuple):
        return [_given(v) for v in value]
    return converter.unstructure(value)
