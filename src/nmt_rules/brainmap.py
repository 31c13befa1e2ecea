"""Read and validate brain maps: every problem is reported by field path, never a traceback."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import fastjsonschema
import jsonschema

from ._attrs_schema import schema_for
from ._convert import converter
from ._convert import fast_structure as _structure
from ._json import loads as json_loads
from ._schema_errors import describe as _describe
from ._yaml import MAX_DEPTH, MAX_NUMBER, load_plain, read_text
from .errors import DocumentError, FieldProblem, InputError
from .model import BrainMap, PreviousAssessment

#: The largest brain map read from a file, a JSON line or a request, in characters: a
#: thousand times a full map with history and a dozen earlier assessments.
MAX_MAP_CHARS: Final = 2**20


#: What a brain map must also satisfy that JSON Schema cannot say (it compares no two
#: fields); the published schema names them and `_semantic_problems` checks them.
CROSS_FIELD_RULES: Final = (
    "every earlier assessment (previous, and previous within it) is dated before assessed_on",
    "earlier assessments dated the same day have the same domain scores",
    "an earlier assessment's subject.id, if given, is this map's",
    "a clinician's ready_for comes with a note",
)


@functools.cache
def brain_map_schema(settings: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The JSON Schema of a brain map; given the settings a planner serves, `setting` must be
    one of them, as the planner requires."""
    schema = schema_for(BrainMap, "brain-map", "nmt-rules brain map")
    schema["$comment"] = "Also checked by nmt-rules: " + "; ".join(CROSS_FIELD_RULES) + "."
    if settings is not None:
        schema = copy.deepcopy(schema)
        schema["properties"]["setting"]["anyOf"][0] = {"enum": list(settings)}
    return schema


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


#: The only date form a map takes; `date.fromisoformat` alone also takes week dates
#: (2026-W40-1) and basic forms (20261001).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_brain_map(data: object, source: str | None = None) -> BrainMap:
    """Validate parsed YAML/JSON data and return the model; raise InputError listing problems."""
    doc = data
    problems: list[FieldProblem] = []
    if not _readable(data):
        problems = list(_unreadable_values(data, ""))
        if problems:
            raise InputError(problems, source)
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
    """Read a brain map from a YAML or JSON file (.json), of at most MAX_MAP_CHARS."""
    path = Path(path)
    try:
        text = read_text(path, MAX_MAP_CHARS)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([FieldProblem("", f"cannot read file: {exc}")], str(path)) from None
    data = read_map_text(text, str(path), json_text=path.suffix == ".json")
    return parse_brain_map(data, str(path))


def read_map_text(text: str, source: str, json_text: bool) -> Any:
    """A map's JSON or YAML text as plain data (not yet validated); InputError names
    source:line:col of a syntax problem, a duplicate key, an ambiguous or oversized value,
    or a text longer than MAX_MAP_CHARS."""
    if not json_text:
        return load_plain(text, source, MAX_MAP_CHARS)
    try:
        return json_loads(text, MAX_MAP_CHARS)
    except DocumentError as exc:
        raise InputError([FieldProblem("", exc.message, exc.line, exc.col)], source) from None


def _readable(data: object) -> bool:
    """Whether no value is one `_unreadable_values` would name: a quick pass without paths,
    since every map from JSON or an API goes through it (exact types first: the common
    case costs a few microseconds)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str:
            if not value.isascii() and not _is_unicode(value):
                return False
        elif kind is int or kind is float:
            if not -MAX_NUMBER < value < MAX_NUMBER:  # NaN compares false too
                return False
        elif kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                return False
            if kind is list:
                for item in value:
                    push((item, depth + 1))
                continue
            for key, item in value.items():
                if type(key) is not str or not key.isascii():
                    return False
                push((item, depth + 1))
        elif value is not None and kind is not bool and kind is not dt.date:
            return False  # any other type: the slow pass says whether it is a problem
    return True


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unreadable_values(data: object, path: str, depth: int = 0) -> Iterable[FieldProblem]:
    """Values no map may hold, whatever its schema: NaN, infinities, numbers too large to
    compare exactly, text that is not Unicode, keys that are not text, nesting too deep."""
    if depth > MAX_DEPTH:
        yield FieldProblem(path, f"nested more than {MAX_DEPTH} levels deep")
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, str):
                yield FieldProblem(path, f"keys must be text, got {type(key).__name__}")
                continue
            yield from _unreadable_values(key, path, depth + 1)
            yield from _unreadable_values(value, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            yield from _unreadable_values(value, f"{path}[{index}]", depth + 1)
    elif isinstance(data, float) and not math.isfinite(data):
        what = "NaN" if math.isnan(data) else "infinity"
        yield FieldProblem(path, f"{what} is not a number a map may hold")
    elif isinstance(data, int | float) and not isinstance(data, bool) and abs(data) >= MAX_NUMBER:
        yield FieldProblem(path, "is too large (numbers must be below 10^15)")
    elif isinstance(data, str) and not _is_unicode(data):
        yield FieldProblem(path, "text that is not valid Unicode (a lone surrogate)")


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
