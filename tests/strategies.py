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
    RELEASABLE_STAGES,
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
    earlier = draw(
        st.lists(_earlier_assessment(), max_size=3, unique_by=lambda p: p["assessed_on"])
    )
    if earlier:
        data["previous"] = earlier
    if draw(st.integers(0, 5)) == 0:
        data["clinician"] = {
            "ready_for": draw(
                st.lists(st.sampled_from(RELEASABLE_STAGES), unique=True, min_size=1)
            ),
            "note": "Stays regulated through a 20-minute verbal session with a familiar adult.",
        }
    return data


@st.composite
def _earlier_assessment(draw: st.DrawFn) -> dict[str, Any]:
    """An earlier assessment: 1-24 months before the map's date, maybe with flags."""
    months = draw(st.integers(1, 24))
    year, month = divmod(2026 * 12 + 9 - months, 12)
    entry: dict[str, Any] = {
        "assessed_on": f"{year}-{month + 1:02d}-01",
        "domains": {d: draw(scores) for d in DOMAINS},
    }
    flags = draw(st.lists(st.sampled_from(SAFETY_FLAGS), unique=True, max_size=2))
    if flags:
        entry["flags"] = flags
    return entry


def from_schema(
    schema: dict[str, Any], overrides: dict[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Any document a JSON Schema of nmt-rules' own (the brain map's) accepts, built from the
    schema itself, so fields added to the model are generated without touching this file.
    ``overrides`` replaces the strategy of a field by its dotted path (``previous.assessed_on``),
    for what the schema cannot say (dates before the assessment, installed settings)."""
    root = schema
    chosen = overrides or {}
    cut: st.SearchStrategy[Any] = st.nothing()  # where recursion stops

    def build(
        node: dict[str, Any], path: str, refs: tuple[str, ...] = ()
    ) -> st.SearchStrategy[Any]:
        if path in chosen:
            return chosen[path]
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/$defs/")
            if refs.count(name) >= 2:  # a type within itself (earlier assessments): two deep
                return cut
            return build({**root["$defs"][name]}, path, (*refs, name))
        if "anyOf" in node:
            return st.one_of(*(build(n, path, refs) for n in node["anyOf"]))
        if "enum" in node:
            return st.sampled_from(node["enum"])
        kind = node.get("type")
        if kind == "object":
            required = set(node.get("required", ()))
            fields = {
                k: build(v, f"{path}.{k}" if path else k, refs)
                for k, v in node["properties"].items()
            }
            return st.fixed_dictionaries(
                {k: v for k, v in fields.items() if k in required},
                optional={k: v for k, v in fields.items() if k not in required},
            )
        if kind == "array":
            items = build(node["items"], path, refs)
            if items is cut:
                return st.just([])
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
        longest = min(node.get("maxLength", 20), 20)
        if kind == "string" and "pattern" in node:
            return st.from_regex(node["pattern"], fullmatch=True).filter(
                lambda t: len(t) <= longest
            )
        if kind == "string":
            # Letters, digits, punctuation, symbols and spaces: FHIR strings refuse other
            # whitespace and format characters.
            printable = st.characters(
                whitelist_categories=("L", "N", "P", "S"), whitelist_characters=" "
            )
            # At least one character: FHIR has no empty strings (a brain map's "" cannot
            # travel as a QuestionnaireResponse answer).
            return st.text(printable, min_size=max(1, node.get("minLength", 0)), max_size=longest)
        raise TypeError(f"{path}: no strategy for schema {node}")

    return build(schema, "")
