"""The brain map in FHIR R4: a Questionnaire, and QuestionnaireResponses mapped to maps and back.

The Questionnaire is generated from the brain map's JSON Schema (itself generated from the
model), so a field added to the brain map becomes a question without touching this module:
objects become groups, lists of objects repeating groups, enumerations ``choice`` questions
answered with a Coding, and every question's ``linkId`` is the field's dotted path
(``domains.cognitive``, ``previous.assessed_on``). Resources are checked with fhir.resources'
R4B models (Questionnaire and QuestionnaireResponse are the same in R4 and R4B), and every
problem is reported by its path in the resource (``item[2].item[3].answer[0].valueInteger``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs
import pydantic

from ._attrs_schema import SCHEMA_BASE
from ._schema_errors import field_path
from .api import version
from .brainmap import brain_map_data, brain_map_schema, parse_brain_map
from .errors import FieldProblem, InputError
from .model import BrainMap

_FHIR_BASE: Final = SCHEMA_BASE.replace("/schema/", "/fhir/")
#: Canonical URL of the brain map Questionnaire; QuestionnaireResponses name it.
QUESTIONNAIRE_URL: Final = f"{_FHIR_BASE}Questionnaire/brain-map"
#: The system of the codes that answer choice questions (the brain map's own values).
CODE_SYSTEM: Final = f"{_FHIR_BASE}CodeSystem/brain-map"
_MIN_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE: Final = "http://hl7.org/fhir/StructureDefinition/maxValue"

Kind = Literal["group", "integer", "decimal", "date", "string", "boolean", "choice"]
#: The answer value[x] of each kind of question.
_VALUE_KEY: Final[Mapping[Kind, str]] = {
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "string": "valueString",
    "boolean": "valueBoolean",
    "choice": "valueCoding",
}


@attrs.frozen
class Question:
    """One brain map field as a Questionnaire item."""

    link_id: str
    key: str
    kind: Kind
    text: str
    required: bool
    repeats: bool
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    children: tuple[Question, ...] = ()
    lifted: tuple[str, ...] = ()  # fields of a repeating group listing more of the same group


@functools.cache
def questions() -> tuple[Question, ...]:
    """The brain map's fields as questions, in schema order."""
    schema = brain_map_schema()
    return _object_questions(schema, schema, "", ())


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """The node with its $ref followed (kept in ``$from``) and `X or null` unwrapped (the
    description kept)."""
    out = dict(node)
    while True:
        if "$ref" in out:
            name = out.pop("$ref").removeprefix("#/$defs/")
            out = {**root["$defs"][name], **out, "$from": name}
        elif "anyOf" in out:
            (only,) = [n for n in out.pop("anyOf") if n.get("type") != "null"]
            out = {**only, **out}
        else:
            return out


def _object_questions(
    node: Mapping[str, Any], root: Mapping[str, Any], prefix: str, within: tuple[str, ...]
) -> tuple[Question, ...]:
    required = set(node.get("required", ()))
    found = (
        _question(key, _resolve(prop, root), root, prefix, key in required, within)
        for key, prop in node["properties"].items()
    )
    return tuple(q for q in found if q is not None)


def _question(
    key: str,
    node: dict[str, Any],
    root: Mapping[str, Any],
    prefix: str,
    required: bool,
    within: tuple[str, ...],
) -> Question | None:
    """The question for one field; None for a list of the very group it is in (earlier
    assessments listing their own earlier ones), whose entries join the outer list."""
    link_id = f"{prefix}{key}"
    text = node.get("description") or key
    repeats = node.get("type") == "array"
    if repeats:
        node = {**_resolve(node["items"], root), "description": text}
    if node.get("type") == "object":
        if "properties" not in node:
            raise TypeError(f"{link_id}: a free-form mapping has no Questionnaire form")
        group = node.get("$from", link_id)
        if group in within:
            if not repeats:
                raise TypeError(f"{link_id}: a group inside itself has no Questionnaire form")
            return None
        children = _object_questions(node, root, f"{link_id}.", (*within, group))
        nested = tuple(
            k
            for k, prop in node["properties"].items()
            if repeats
            and _resolve(prop, root).get("items", {}).get("$ref", "").endswith(f"/{group}")
        )
        return Question(
            link_id, key, "group", text, required, repeats, children=children, lifted=nested
        )
    if "enum" in node:
        options = tuple(str(v) for v in node["enum"])
        return Question(link_id, key, "choice", text, required, repeats, options=options)
    kind: Kind
    match node.get("type"), node.get("format"):
        case "integer", _:
            kind = "integer"
        case "number", _:
            kind = "decimal"
        case "string", "date":
            kind = "date"
        case "string", _:
            kind = "string"
        case "boolean", _:
            kind = "boolean"
        case other:
            raise TypeError(f"{link_id}: no Questionnaire item type for {other}")
    return Question(
        link_id,
        key,
        kind,
        text,
        required,
        repeats,
        minimum=node.get("minimum"),
        maximum=node.get("maximum"),
    )


def questionnaire() -> dict[str, Any]:
    """The FHIR R4 Questionnaire of a brain map."""
    return {
        "resourceType": "Questionnaire",
        "url": QUESTIONNAIRE_URL,
        "version": version(),
        "name": "NmtRulesBrainMap",
        "title": "nmt-rules brain map",
        "status": "active",
        "subjectType": ["Patient"],
        "description": (
            "One assessment of one person in nmt-rules' own open brain map format: four"
            " domains scored 0-100 (100 = age-typical), history and safety flags. Decision"
            " support for trained professionals; not a diagnostic tool; not affiliated with"
            " the Neurosequential Network."
        ),
        "item": [_item(q) for q in questions()],
    }


def _item(q: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": q.link_id, "text": q.text, "type": q.kind}
    if q.required:
        item["required"] = True
    if q.repeats:
        item["repeats"] = True
    value_key = _VALUE_KEY.get(q.kind, "valueInteger")
    limits = [
        (url, v) for url, v in ((_MIN_VALUE, q.minimum), (_MAX_VALUE, q.maximum)) if v is not None
    ]
    if limits:
        item["extension"] = [{"url": url, value_key: v} for url, v in limits]
    if q.options:
        item["answerOption"] = [
            {"valueCoding": {"system": CODE_SYSTEM, "code": o, "display": o.replace("_", " ")}}
            for o in q.options
        ]
    if q.children:
        item["item"] = [_item(c) for c in q.children]
    return item


def brain_map_to_response(
    brain_map: BrainMap | Mapping[str, Any], subject: str | None = None
) -> dict[str, Any]:
    """A completed QuestionnaireResponse holding the brain map (validated first);
    ``subject`` is a FHIR reference such as ``Patient/123``."""
    if not isinstance(brain_map, BrainMap):
        brain_map = parse_brain_map(brain_map)
    data = brain_map_data(brain_map)
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": QUESTIONNAIRE_URL,
        "status": "completed",
    }
    if subject:
        response["subject"] = {"reference": subject}
    response["authored"] = data["assessed_on"]
    response["item"] = _answer_items(questions(), data)
    return response


def _answer_items(qs: Sequence[Question], data: Mapping[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for q in qs:
        if q.key not in data:
            continue
        values = data[q.key] if q.repeats else [data[q.key]]
        if q.lifted:
            values = list(_lift(values, q.lifted))
        if q.kind == "group":  # an empty group is kept: given empty is not absent
            for v in values:
                children = _answer_items(q.children, v)
                items.append({"linkId": q.link_id, **({"item": children} if children else {})})
        else:
            items.append({"linkId": q.link_id, "answer": [_answer(q, v) for v in values]})
    return items


def _lift(entries: Iterable[Mapping[str, Any]], keys: tuple[str, ...]) -> Iterable[dict[str, Any]]:
    """Entries of a repeating group with the entries they list under ``keys`` lifted beside
    them (an earlier assessment's own earlier ones join the map's list)."""
    for entry in entries:
        yield {k: v for k, v in entry.items() if k not in keys}
        for key in keys:
            yield from _lift(entry.get(key, ()), keys)


def _answer(q: Question, value: Any) -> dict[str, Any]:
    if q.kind == "choice":
        return {"valueCoding": {"system": CODE_SYSTEM, "code": str(value)}}
    return {_VALUE_KEY[q.kind]: value}


def response_to_brain_map(response: object, source: str | None = None) -> BrainMap:
    """The brain map a QuestionnaireResponse holds; InputError names each problem by its
    path in the resource."""
    _check_resource(response, source)
    assert isinstance(response, Mapping)
    reader = _Reader()
    data = reader.group(questions(), response.get("item") or [], "", "")
    problems = list(reader.problems)
    try:
        brain_map = parse_brain_map(data, source)
    except InputError as exc:
        # An answer the reader already refused shows up again as a bad value: say it once.
        refused = tuple(p.path for p in reader.problems)
        located = (reader.locate(p) for p in exc.problems)
        problems += [p for p in located if not p.path.startswith(refused)]
    if problems:
        raise InputError(problems, source)
    return brain_map


def _check_resource(response: object, source: str | None) -> None:
    """FHIR structure (fhir.resources) and that it answers this Questionnaire."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    if not isinstance(response, Mapping):
        raise InputError([FieldProblem("", "expected a FHIR resource (a JSON object)")], source)
    if response.get("resourceType") != "QuestionnaireResponse":
        found = response.get("resourceType")
        problem = FieldProblem("resourceType", f"{found!r} is not 'QuestionnaireResponse'")
        raise InputError([problem], source)
    try:
        QuestionnaireResponse.model_validate(response)
    except pydantic.ValidationError as exc:
        problems = [
            FieldProblem(field_path(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)
        ]
        raise InputError(problems, source) from None
    named = str(response.get("questionnaire", QUESTIONNAIRE_URL)).split("|")[0]
    if named != QUESTIONNAIRE_URL:
        problem = FieldProblem(
            "questionnaire", f"{named!r} is not the brain map Questionnaire ({QUESTIONNAIRE_URL})"
        )
        raise InputError([problem], source)


class _Reader:
    """Reads answers into brain map data, remembering where in the resource each field was."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []
        self.where: dict[str, str] = {}  # brain map path -> resource path

    def group(
        self, qs: Sequence[Question], items: Iterable[Any], at: str, data_path: str
    ) -> dict[str, Any]:
        by_link = {q.link_id: q for q in qs}
        data: dict[str, Any] = {}
        for index, item in enumerate(items):
            path = f"{at}item[{index}]"
            q = by_link.get(item.get("linkId", ""))
            if q is None:
                known = ", ".join(by_link)
                self.problems.append(
                    FieldProblem(
                        f"{path}.linkId",
                        f"unknown question {item.get('linkId')!r} (known: {known})",
                    )
                )
                continue
            field = f"{data_path}.{q.key}" if data_path else q.key
            if q.kind == "group":
                if q.repeats:
                    entries = data.setdefault(q.key, [])
                    field = f"{field}[{len(entries)}]"
                    self.where[field] = path
                    entries.append(
                        self.group(q.children, item.get("item") or [], f"{path}.", field)
                    )
                elif self._once(data, q, path):
                    self.where[field] = path
                    data[q.key] = self.group(q.children, item.get("item") or [], f"{path}.", field)
            elif "answer" in item and self._once(data, q, path):
                self.where[field] = path
                values = [
                    self._value(q, a, f"{path}.answer[{i}]", field)
                    for i, a in enumerate(item["answer"])
                ]
                if q.repeats:
                    for i, _ in enumerate(values):
                        self.where[f"{field}[{i}]"] = f"{path}.answer[{i}].{_VALUE_KEY[q.kind]}"
                    data[q.key] = values
                elif len(values) == 1:
                    self.where[field] = f"{path}.answer[0].{_VALUE_KEY[q.kind]}"
                    data[q.key] = values[0]
                else:
                    self.problems.append(
                        FieldProblem(
                            f"{path}.answer", f"{q.link_id} takes one answer, got {len(values)}"
                        )
                    )
        return data

    def _once(self, data: Mapping[str, Any], q: Question, path: str) -> bool:
        if q.key in data:
            self.problems.append(FieldProblem(f"{path}.linkId", f"{q.link_id} is answered twice"))
            return False
        return True

    def _value(self, q: Question, answer: Mapping[str, Any], path: str, field: str) -> Any:
        key = _VALUE_KEY[q.kind]
        if key not in answer:
            given = ", ".join(k for k in answer if k.startswith("value")) or "no value"
            self.problems.append(FieldProblem(path, f"{q.link_id} takes {key}, got {given}"))
            return None
        value = answer[key]
        if q.kind != "choice":
            return value
        system = value.get("system", CODE_SYSTEM)
        if system != CODE_SYSTEM:
            self.problems.append(
                FieldProblem(f"{path}.{key}.system", f"{system!r} is not {CODE_SYSTEM}")
            )
        return value.get("code")

    def locate(self, problem: FieldProblem) -> FieldProblem:
        """A brain map problem, placed at the answer it came from (or the nearest group)."""
        path = problem.path
        if path in self.where:
            return FieldProblem(self.where[path], f"{problem.message} ({path})")
        parent = path
        while parent and parent not in self.where:
            parent = parent.rpartition(".")[0] if "." in parent else ""
        at = f"{self.where[parent]}.item" if parent else "item"
        if problem.message == "required field is missing":
            return FieldProblem(at, f"required question {_link_id(path)!r} is not answered")
        return FieldProblem(at, f"{problem.message} ({path})")


def _link_id(path: str) -> str:
    """``previous[0].domains.cognitive`` -> ``previous.domains.cognitive``."""
    parts = [p.split("[")[0] for p in path.split(".")]
    return ".".join(parts)
