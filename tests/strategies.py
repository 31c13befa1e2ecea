"""Hypothesis strategies for brain maps, shaped like what hosts send."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from nmt_rules.vocabulary import (
    ADVERSITY_LEVELS,
    DOMAINS,
    FUNCTIONS,
    PERIODS,
    RELATIONAL_HEALTH_LEVELS,
    SAFETY_FLAGS,
)

scores = st.integers(min_value=0, max_value=100)
SETTINGS = ("school", "foster-care", "justice-reentry")


@st.composite
def brain_maps(draw: st.DrawFn, flags: bool = True, settings: bool = True) -> dict[str, Any]:
    """Any valid brain map: every optional part may or may not be present."""
    data: dict[str, Any] = {
        "subject": {"id": "h-1", "age_years": draw(st.integers(0, 80))},
        "assessed_on": "2026-10-01",
        "domains": {d: draw(scores) for d in DOMAINS},
    }
    functions = draw(st.dictionaries(st.sampled_from(sorted(FUNCTIONS)), scores, max_size=4))
    if functions:
        data["functions"] = functions
    history = draw(
        st.dictionaries(
            st.sampled_from(PERIODS),
            st.fixed_dictionaries(
                {},
                optional={
                    "adversity": st.sampled_from(ADVERSITY_LEVELS),
                    "relational_health": st.sampled_from(RELATIONAL_HEALTH_LEVELS),
                },
            ),
            max_size=4,
        )
    )
    if history:
        data["history"] = history
    if draw(st.booleans()):
        data["relational_health_now"] = draw(st.sampled_from(RELATIONAL_HEALTH_LEVELS))
    if flags:
        chosen = draw(st.lists(st.sampled_from(SAFETY_FLAGS), unique=True, max_size=2))
        if chosen:
            data["flags"] = chosen
    if settings and draw(st.booleans()):
        data["setting"] = draw(st.sampled_from(SETTINGS))
    if draw(st.booleans()):
        data["previous"] = [
            {"assessed_on": "2026-03-15", "domains": {d: draw(scores) for d in DOMAINS}}
        ]
    return data


def from_schema(
    schema: dict[str, Any], overrides: dict[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Any document a JSON Schema of nmt-rules' own (the brain map's) accepts, built from the
    schema itself, so fields added to the model are generated without touching this file.
    ``overrides`` replaces the strategy of a field by its dotted path (``previous.assessed_on``),
    for what the schema cannot say (dates before the assessment, installed settings)."""
    root = schema
    chosen = overrides or {}

    def build(node: dict[str, Any], path: str) -> st.SearchStrategy[Any]:
        if path in chosen:
            return chosen[path]
        if "$ref" in node:
            return build({**root["$defs"][node["$ref"].removeprefix("#/$defs/")]}, path)
        if "anyOf" in node:
            return st.one_of(*(build(n, path) for n in node["anyOf"]))
        if "enum" in node:
            return st.sampled_from(node["enum"])
        kind = node.get("type")
        if kind == "object":
            required = set(node.get("required", ()))
            fields = {
                k: build(v, f"{path}.{k}" if path else k) for k, v in node["properties"].items()
            }
            return st.fixed_dictionaries(
                {k: v for k, v in fields.items() if k in required},
                optional={k: v for k, v in fields.items() if k not in required},
            )
        if kind == "array":
            items = build(node["items"], path)
            return st.lists(items, max_size=3, unique=node.get("uniqueItems", False))
        if kind == "integer":
            return st.integers(node.get("minimum"), node.get("maximum"))
        if kind == "number":
            return st.floats(node.get("minimum"), node.get("maximum"), allow_nan=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "string" and node.get("format") == "date":
            return st.dates().map(lambda d: d.isoformat())
        if kind == "string" and "pattern" in node:
            return st.from_regex(node["pattern"], fullmatch=True)
        if kind == "string":
            printable = st.characters(blacklist_categories=("Cc", "Cs"))
            return st.text(printable, min_size=node.get("minLength", 0), max_size=20)
        raise TypeError(f"{path}: no strategy for schema {node}")

    return build(schema, "")
