"""The four published JSON Schemas (brain map, plan, ruleset, catalogue), generated in code.

Brain maps and plans are attrs models, so their schemas come from :func:`schema.schema_for`.
Rulesets and catalogues are read by hand-written loaders; their schemas are built here from
the loaders' own vocabularies (operators, stages, bands, need kinds, audiences, modalities,
roles and every fact path), so an editor's completion can never drift from what the loader
accepts. The loaders stay the authority: they also check what a schema cannot say (stage of
a raised need, band coverage, derived facts of higher stages).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from ._attrs_schema import SCHEMA_BASE, SCHEMA_DIALECT, schema_for
from ._yaml import ID_PATTERN, Keys
from .brainmap import brain_map_schema
from .catalogue import (
    AGES_KEYS,
    CATALOGUE_KEYS,
    DOSE_KEYS,
    ITEM_KEYS,
    PLAIN_KEYS,
    PROTOCOL_KEYS,
    RELEASE_TIMINGS,
    VOCABULARY_KEYS,
)
from .facts import STATIC_FIELDS, FactField
from .model import Plan
from .plugins import load_plugins
from .ruleset import (
    ADULT_KEYS,
    CAUTION_KEYS,
    DEFAULT_PRIORITY,
    EVERY_SETTING,
    HOLD_KEYS,
    NEED_KEYS,
    PROGRESS_KEYS,
    REVIEW_KEYS,
    RULE_KEYS,
    RULESET_KEYS,
    SAFETY_KEYS,
    SETTING_RANGES,
)
from .vocabulary import (
    AUDIENCES,
    BANDS,
    INDICATORS,
    INVOLVED,
    MODALITIES,
    NEED_KINDS,
    OPERATORS,
    PLACEMENTS,
    ROLES,
    SEQUENCINGS,
    STAGES,
)

_ID: Final = {"type": "string", "pattern": ID_PATTERN.pattern}
_TEXT: Final = {"type": "string", "minLength": 1, "pattern": r"\S"}
_DERIVED_PATTERNS: Final = {
    rf"^stage\.({'|'.join(STAGES)})\.unmet$": "Derived: an earlier stage raised an intervention need.",
    r"^needs\.[a-z0-9]+(-[a-z0-9]+)*$": "Derived: a need of an earlier stage was raised.",
}


def _header(name: str, title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE}{name}.schema.json",
        "title": title,
        "description": description,
    }


def _object(keys: Keys, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An object schema taking exactly the keys its loader takes."""
    if set(properties) != {*keys.required, *keys.optional}:
        raise AssertionError(
            f"schema properties {sorted(properties)} differ from the loader's {keys}"
        )
    return {
        "type": "object",
        **extra,
        "properties": properties,
        "required": list(keys.required),
        "additionalProperties": False,
    }


_PLAIN: Final = _object(
    PLAIN_KEYS,
    {
        "title": {**_TEXT, "description": "What it is, in a few plain words."},
        "do": {**_TEXT, "description": "What to do, in one or two plain sentences."},
    },
    description="Plain-language texts for handouts (caregiver, teacher, the person): no ids, "
    "no jargon, US grade 8 or below. Without them, handouts show the clinical texts.",
)


def _value_schema(field: FactField) -> dict[str, Any]:
    """What one value compared with the field may be."""
    match field.kind:
        case "enum":
            return {"enum": list(field.values)}
        case "boolean":
            return {"type": "boolean"}
        case "string":
            return {"type": "string"}
        case _:
            bounds = {
                key: int(limit) if float(limit).is_integer() else limit
                for key, limit in (("minimum", field.minimum), ("maximum", field.maximum))
                if limit is not None
            }
            return {"type": "integer" if field.kind == "integer" else "number", **bounds}


def _test_schema(field: FactField) -> dict[str, Any]:
    """`path: value` or `path: {op: value, ...}` for one fact field."""
    value = _value_schema(field)
    ops: dict[str, Any] = {}
    for op in OPERATORS:
        if op == "exists":
            ops[op] = {"type": "boolean"}
        elif op in ("in", "not_in"):
            ops[op] = {"type": "array", "items": value, "minItems": 1}
        elif op in ("lt", "lte", "gt", "gte") and not field.comparable:
            continue  # ordering a boolean, a string or an unordered choice is a loader error
        else:
            ops[op] = value
    return {
        "anyOf": [
            value,
            {
                "type": "object",
                "properties": ops,
                "additionalProperties": False,
                "minProperties": 1,
            },
        ]
    }


def ruleset_schema() -> dict[str, Any]:
    """JSON Schema of a ruleset file."""
    condition_ref = {"$ref": "#/$defs/condition"}
    group = {"type": "array", "items": condition_ref, "minItems": 1}
    paths = {
        path: {"description": f"{field.kind} fact", **_test_schema(field)}
        for path, field in STATIC_FIELDS.items()
    }
    boolean_test = _test_schema(STATIC_FIELDS["flags.any"])
    derived = {
        pattern: {"description": text, **boolean_test}
        for pattern, text in _DERIVED_PATTERNS.items()
    }
    need = _object(
        NEED_KEYS,
        {
            "stage": {"enum": list(STAGES)},
            "kind": {"enum": list(NEED_KINDS)},
            "title": _TEXT,
            "description": {"type": "string"},
            "sequencing": {
                "enum": list(SEQUENCINGS),
                "description": "foundation: never waits (co-regulation, rhythm, sleep, safe "
                "adults, stability, safety, teaching the adults); demand: waits while a lower "
                "domain is severe (talk, insight, trauma processing, skills programmes).",
            },
            "audience": {"type": "array", "items": {"enum": list(AUDIENCES)}, "minItems": 1},
            "goal": {
                **_TEXT,
                "description": "An observable sign that the work is helping "
                "(e.g. 'falls asleep within 30 minutes on 5 nights a week').",
            },
            "adult": _object(
                ADULT_KEYS,
                {"title": _TEXT, "description": _TEXT},
                description="How the need reads to an adult (18+), who chooses their supporters.",
            ),
            "protocol": {
                "type": "array",
                "items": {"$ref": "#/$defs/protocol_item"},
                "minItems": 1,
                "description": "The generic way to deliver the need where a setting has no "
                "item for the person's age; safety needs must cover every age 0-120.",
            },
            "plain": _PLAIN,
        },
        description="What the brain needs; setting catalogues say how it is delivered.",
    )
    return {
        **_header(
            "ruleset",
            "nmt-rules ruleset",
            "Declarative rules, stage by stage, that say what a person's brain needs.",
        ),
        **_object(
            RULESET_KEYS,
            {
                "ruleset": {**_ID, "description": "Name, lower-case kebab-case."},
                "version": {**_TEXT, "description": "Quote numbers: '1.0'."},
                "description": {"type": "string"},
                "bands": _object(
                    Keys(BANDS),
                    {band: {"$ref": "#/$defs/band_range"} for band in BANDS},
                    description="Inclusive 0-100 ranges covering every score once (primary ruleset only).",
                ),
                "cut_point_margin": _setting("cut_point_margin"),
                "applies_to": {
                    "description": "Settings whose plans the rules run in: a list, or "
                    f"{EVERY_SETTING}. Default: every setting, but a plugin's ruleset runs "
                    "only in the plugin's own settings.",
                    "anyOf": [
                        {"const": EVERY_SETTING},
                        {"type": "array", "items": _ID, "minItems": 1},
                    ],
                },
                "progress": _object(
                    PROGRESS_KEYS, {key: _setting(key) for key in PROGRESS_KEYS.optional}
                ),
                "safety": _object(
                    SAFETY_KEYS, {key: _setting(key) for key in SAFETY_KEYS.optional}
                ),
                "review": _object(
                    REVIEW_KEYS, {key: _setting(key) for key in REVIEW_KEYS.optional}
                ),
                "needs": {
                    "type": "object",
                    "propertyNames": _ID,
                    "additionalProperties": {"$ref": "#/$defs/need"},
                },
                "stages": {
                    "type": "object",
                    "properties": {
                        stage: {
                            "type": "array",
                            "items": {
                                "$ref": f"#/$defs/{'safety_rule' if stage == 'safety' else 'rule'}"
                            },
                        }
                        for stage in STAGES
                    },
                    "additionalProperties": False,
                },
            },
        ),
        "$defs": {
            "band_range": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 100},
                "minItems": 2,
                "maxItems": 2,
            },
            "condition": {
                "description": "A list (all of), {all: [...]}, {any: [...]} or one `fact.path: test`.",
                "anyOf": [
                    group,
                    {
                        "type": "object",
                        "properties": {"all": group, "any": group, **paths},
                        "patternProperties": derived,
                        "additionalProperties": False,
                        "minProperties": 1,
                        "maxProperties": 1,
                    },
                ],
            },
            "need": need,
            "protocol_item": _item_schema(PROTOCOL_KEYS),
            "rule": _rule_schema([i for i in INDICATORS if i != "critical"]),
            "safety_rule": _rule_schema(list(INDICATORS)),
        },
    }


def _setting(key: str) -> dict[str, Any]:
    low, high = SETTING_RANGES[key]
    return {"type": "integer", "minimum": low, "maximum": high}


def _rule_schema(indicators: list[str]) -> dict[str, Any]:
    return _object(
        RULE_KEYS,
        {
            "id": _ID,
            "when": {"$ref": "#/$defs/condition"},
            "needs": {"type": "array", "items": _ID, "minItems": 1},
            "cautions": {
                "type": "array",
                "minItems": 1,
                "description": "Cautions added to the plan items matching every selector given.",
                "items": _object(
                    CAUTION_KEYS,
                    {
                        "text": _TEXT,
                        "needs": {"type": "array", "items": _ID, "minItems": 1},
                        "involves": {
                            "type": "array",
                            "items": {"enum": list(INVOLVED)},
                            "minItems": 1,
                            "description": "Items whose audience or delivery involves these people.",
                        },
                        "stages": {"type": "array", "items": {"enum": list(STAGES)}, "minItems": 1},
                        "sequencing": {"enum": list(SEQUENCINGS)},
                    },
                    anyOf=[{"required": [k]} for k in CAUTION_KEYS.optional],
                ),
            },
            "holds": {
                "type": "array",
                "minItems": 1,
                "description": "Demands held back (never foundations), by what, until when.",
                "items": _object(
                    HOLD_KEYS,
                    {
                        "needs": {"type": "array", "items": _ID, "minItems": 1},
                        "by": {"type": "array", "items": _ID, "minItems": 1},
                        "until": _TEXT,
                    },
                ),
            },
            "because": {**_TEXT, "description": "Why, in a clinician's words."},
            "priority": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "default": DEFAULT_PRIORITY,
                "description": "Lower acts first.",
            },
            "indicator": {"enum": indicators},
            "references": {"type": "array", "items": _TEXT, "minItems": 1},
        },
        anyOf=[{"required": [k]} for k in ("needs", "cautions", "holds")],
    )


def _open(shared: tuple[str, ...], section: str) -> dict[str, Any]:
    """One of the shared words, or one the catalogue declares under `vocabulary`."""
    declared = {**_ID, "description": f"declared under vocabulary.{section}"}
    return {"anyOf": [{"enum": list(shared)}, declared]}


def _item_schema(keys: Keys, declared: bool = False) -> dict[str, Any]:
    """A catalogue item, or (without `meets`) a need's protocol item; `declared`: a catalogue
    may use roles and modalities it declares."""
    role = _open(ROLES, "roles") if declared else {"enum": list(ROLES)}
    roles = {"type": "array", "items": role, "minItems": 1}
    texts = {"type": "array", "items": _TEXT, "minItems": 1}
    age = {"type": "integer", "minimum": 0, "maximum": 120}
    properties = {
        "id": _ID,
        "meets": {**texts, "description": "Need ids from a loaded ruleset."},
        "title": _TEXT,
        "description": _TEXT,
        "modality": _open(MODALITIES, "modalities") if declared else {"enum": list(MODALITIES)},
        "delivered_by": roles,
        "audience": {**roles, "description": "Who the description is written for."},
        "ages": _object(AGES_KEYS, {"min": age, "max": age}),
        "dose": _object(DOSE_KEYS, {"frequency": _TEXT, "duration": _TEXT}),
        "contraindications": texts,
        "reference": _TEXT,
        "placements": {
            "type": "array",
            "items": {"enum": list(PLACEMENTS)},
            "minItems": 1,
            "description": "Placements the item suits (omit: any).",
        },
        "conditions": {
            "type": "array",
            "items": _ID,
            "minItems": 1,
            "description": "Conditions the item is adapted for; shown only to people with one.",
        },
        "release": {
            "enum": list(RELEASE_TIMINGS),
            "description": "Reentry: in place by the day of release, or started after it.",
        },
        "builds_on": {
            **texts,
            "description": "Interest word stems the item builds on (default: by modality).",
        },
        "plain": _PLAIN,
    }
    known = {*keys.required, *keys.optional}
    return _object(
        keys,
        {k: v for k, v in properties.items() if k in known},
        description="One way the setting meets one or more needs, for an age range.",
    )


def catalogue_schema() -> dict[str, Any]:
    """JSON Schema of a setting catalogue file."""
    item = _item_schema(ITEM_KEYS, declared=True)
    words = {"type": "array", "items": _ID, "minItems": 1}
    return {
        **_header(
            "catalogue",
            "nmt-rules setting catalogue",
            "How one setting delivers the needs rulesets raise.",
        ),
        **_object(
            CATALOGUE_KEYS,
            {
                "catalogue": _ID,
                "version": {**_TEXT, "description": "Quote numbers: '1.0'."},
                "setting": _ID,
                "description": _TEXT,
                "vocabulary": _object(
                    VOCABULARY_KEYS,
                    {"roles": words, "modalities": words},
                    description="Roles and modalities of the setting beyond the shared ones.",
                ),
                "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1},
            },
        ),
        "$defs": {"item": item},
    }


def installed_settings() -> tuple[str, ...]:
    """Settings the installed plugins serve, which a published brain map schema lists."""
    return tuple(sorted({c.setting for c in load_plugins().catalogues}))


def plan_schema() -> dict[str, Any]:
    """JSON Schema of a plan (the JSON contract host applications read)."""
    return schema_for(Plan, "plan", "nmt-rules plan")


#: Every published schema by name; files are schema/<name>.schema.json.
SCHEMAS: Final[Mapping[str, Callable[[], dict[str, Any]]]] = {
    "brain-map": lambda: brain_map_schema(installed_settings()),
    "catalogue": catalogue_schema,
    "plan": plan_schema,
    "ruleset": ruleset_schema,
}


def schema_text(name: str) -> str:
    """A published schema as the exact text committed under schema/."""
    return json.dumps(SCHEMAS[name](), indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into a directory; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = directory / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        written.append(path)
    return written
