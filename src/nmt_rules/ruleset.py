"""Load and validate ruleset YAML; every problem is reported as file:line:col.

A ruleset that fails validation never reaches durable-rules: the C core coerces types
silently and answers unknown keys with bare numbers, so every check happens here.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from ._files import shown_path
from ._yaml import (
    ID_PATTERN,
    Keys,
    Located,
    Reporter,
    check_mapping,
    describe,
    load_located,
    parse_clean,
    read_source,
    require_choice,
    require_choices,
    require_list,
    require_string,
)
from .catalogue import CatalogueItem, read_item, read_plain
from .errors import Location, RulesetError
from .facts import FactField, all_paths, fact_field
from .rules import (
    AdultWording,
    AllOf,
    AnyOf,
    CautionSpec,
    Comparison,
    Condition,
    HoldSpec,
    Need,
    NeedRef,
    Rule,
    Ruleset,
    comparisons,
)
from .vocabulary import (
    AUDIENCES,
    BANDS,
    INDICATORS,
    INVOLVED,
    NEED_KINDS,
    OPERATORS,
    SEQUENCINGS,
    STAGES,
    Band,
    Indicator,
    Stage,
)

_ORDERED_OPS = ("lt", "lte", "gt", "gte")
_LIST_OPS = ("in", "not_in")
#: Largest `in` / `not_in` list, and most tests in one rule: each becomes a branch of the
#: durable network, and too many children at one node make create_ruleset hang.
MAX_LIST_VALUES: Final = 32
MAX_TESTS_PER_RULE: Final = 64
DEFAULT_PRIORITY: Final = 100
RULESET_KEYS: Final = Keys(
    ("ruleset", "version", "needs", "stages"),
    ("description", "bands", "cut_point_margin", "progress", "safety", "review", "applies_to"),
)
#: `applies_to` value for a plugin ruleset whose rules run in every setting's plans.
EVERY_SETTING: Final = "every-setting"
PROGRESS_KEYS: Final = Keys((), ("min_change", "sustained_improvements"))
SAFETY_KEYS: Final = Keys((), ("recent_flag_months",))
REVIEW_KEYS: Final = Keys((), ("weeks", "severe_weeks", "safety_weeks", "after_release_weeks"))
#: The sections of whole-number settings, and the top level's own (section None).
SETTING_SECTIONS: Final[dict[str | None, Keys]] = {
    None: Keys((), ("cut_point_margin",)),
    "progress": PROGRESS_KEYS,
    "safety": SAFETY_KEYS,
    "review": REVIEW_KEYS,
}
NEED_KEYS: Final = Keys(
    ("stage", "kind", "sequencing", "title"),
    ("description", "audience", "goal", "adult", "protocol", "plain"),
)
#: How a need reads to an adult (18+), who chooses the people who support them.
ADULT_KEYS: Final = Keys(("title",), ("description",))
RULE_KEYS: Final = Keys(
    ("id", "when", "because"),
    ("needs", "cautions", "holds", "priority", "indicator", "references"),
)
CAUTION_KEYS: Final = Keys(("text",), ("needs", "involves", "stages", "sequencing"))
HOLD_KEYS: Final = Keys(("needs", "by", "until"))
#: Every age a safety need's protocol must cover: safety is deliverable at any age.
PROTOCOL_AGES: Final = range(0, 121)


def load_ruleset(path: str | Path, origin: str | None = None) -> Ruleset:
    """Read and validate a ruleset file; raise RulesetError listing every problem.

    `origin` (what provenance records) defaults to the file's path as given; messages show
    it relative to the current folder."""
    text = read_source(path, RulesetError)
    return parse_ruleset(text, shown_path(path), origin or str(path))


@functools.cache
def core_ruleset() -> Ruleset:
    """The core ruleset shipped inside the package (parsed once per process)."""
    resource = resources.files("nmt_rules") / "rulesets" / "core.yaml"
    text = resource.read_text(encoding="utf-8")
    return parse_ruleset(text, shown_path(resource), "core")


def parse_ruleset(
    text: str,
    file: str,
    origin: str = "core",
    known_needs: Mapping[str, Stage] | None = None,
) -> Ruleset:
    """Validate ruleset text; raise RulesetError unless it is clean (warnings allowed).

    `known_needs` are needs declared by the rulesets this one runs with (the core's, for a
    plugin's ruleset), by stage: its rules may then test `needs.<id>` of them."""
    read = functools.partial(read_ruleset, origin=origin, known_needs=known_needs)
    return parse_clean(text, file, read, RulesetError)


def read_ruleset(
    text: str,
    reporter: Reporter,
    origin: str = "core",
    known_needs: Mapping[str, Stage] | None = None,
) -> Ruleset | None:
    """Validate ruleset text, recording every diagnostic; None when it cannot be built."""
    root = load_located(text, reporter)
    if root is None:
        return None
    top = check_mapping(
        root,
        reporter,
        "the ruleset",
        *RULESET_KEYS,
    )
    if top is None:
        return None
    name = require_string(top.get("ruleset"), reporter, "ruleset")
    if name is not None and not ID_PATTERN.match(name):
        reporter.error(
            top["ruleset"], f"ruleset name {name!r} must be lower-case words joined by '-'"
        )
    version = require_string(top.get("version"), reporter, "version (quote numbers: '1.0')")
    description = top["description"].value if "description" in top else ""
    if not isinstance(description, str):
        reporter.error(top["description"], "description must be a string")
        description = ""
    bands = _read_bands(top["bands"], reporter) if "bands" in top else None
    settings: dict[str, int] = {}
    for section, keys in SETTING_SECTIONS.items():
        if section is None:
            settings |= _settings({k: v for k, v in top.items() if k in keys.optional}, reporter)
        else:
            settings |= _read_settings(top.get(section), reporter, section, keys)
    needs = _read_needs(top.get("needs"), reporter)
    need_stages = {**(known_needs or {}), **{n.id: n.stage for n in needs.values()}}
    rules = _read_stages(top.get("stages"), reporter, name or "?", need_stages)
    applies_to = _read_applies_to(top.get("applies_to"), reporter)
    if name is None or version is None:
        return None
    ruleset = Ruleset(
        name=name,
        version=version,
        description=description,
        bands=bands,
        needs=needs,
        rules=tuple(rules),
        source=reporter.file,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        origin=origin,
        settings=settings,
        applies_to=EVERY_SETTING if applies_to == EVERY_SETTING else None,
    )
    if isinstance(applies_to, tuple):
        return ruleset.scoped_to(applies_to, _loc(reporter, top["applies_to"]))
    return ruleset


def _read_applies_to(
    node: Located | None, reporter: Reporter
) -> tuple[str, ...] | Literal["every-setting"] | None:
    """`applies_to`: a list of settings, or every-setting."""
    if node is None:
        return None
    if node.value == EVERY_SETTING:
        return EVERY_SETTING
    what = f"applies_to (a list of settings, or {EVERY_SETTING})"
    settings = []
    for item in require_list(node, reporter, what) or ():
        setting = require_string(item, reporter, "each setting of applies_to")
        if setting is not None and not ID_PATTERN.match(setting):
            reporter.error(item, f"setting {setting!r} must be lower-case words joined by '-'")
        elif setting is not None:
            settings.append(setting)
    return tuple(settings) or None


def _loc(reporter: Reporter, node: Located) -> Location:
    return Location(reporter.file, node.line, node.col)


def _read_bands(node: Located, reporter: Reporter) -> dict[Band, tuple[int, int]] | None:
    fields = check_mapping(node, reporter, "bands", required=BANDS)
    if fields is None:
        return None
    bands: dict[Band, tuple[int, int]] = {}
    for band in BANDS:
        value = fields.get(band)
        if value is None:
            continue
        pair = value.plain()
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 for v in pair
            )
            or pair[0] > pair[1]
        ):
            reporter.error(
                value, f"band {band!r} must be [low, high]: whole numbers 0-100, low <= high"
            )
            continue
        bands[band] = (pair[0], pair[1])
    if len(bands) == len(BANDS):
        _check_band_coverage(bands, node, reporter)
    return bands if len(bands) == len(BANDS) else None


def _check_band_coverage(
    bands: Mapping[Band, tuple[int, int]], node: Located, reporter: Reporter
) -> None:
    """Bands must cover 0-100 once each, in order: a gap or overlap makes a score ambiguous."""
    expected_low = 0
    for band in BANDS:
        low, high = bands[band]
        at = node.value[band]
        if low > expected_low:
            reporter.error(at, f"bands leave a gap: scores {expected_low}-{low - 1} are in no band")
        elif low < expected_low:
            reporter.error(
                at, f"band {band!r} overlaps the band below it at {low}-{expected_low - 1}"
            )
        expected_low = high + 1
    if expected_low <= 100:
        reporter.error(
            node.value[BANDS[-1]], f"bands leave a gap: scores {expected_low}-100 are in no band"
        )


#: Whole-number settings of a ruleset: the range each may take.
SETTING_RANGES: Final = {
    "min_change": (1, 100),
    "sustained_improvements": (1, 10),
    "cut_point_margin": (0, 20),
    "recent_flag_months": (0, 120),
    "weeks": (1, 104),
    "severe_weeks": (1, 104),
    "safety_weeks": (1, 104),
    "after_release_weeks": (1, 52),
}


def _read_settings(
    node: Located | None, reporter: Reporter, what: str, keys: Keys
) -> dict[str, int]:
    """The whole-number settings of one section."""
    fields = check_mapping(node, reporter, what, *keys) if node is not None else None
    return _settings(fields or {}, reporter)


def _settings(fields: Mapping[str, Located], reporter: Reporter) -> dict[str, int]:
    """Whole-number settings among the fields, each checked against its range."""
    out: dict[str, int] = {}
    for key, value in fields.items():
        if key not in SETTING_RANGES:
            continue
        low, high = SETTING_RANGES[key]
        number = value.value
        if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
            reporter.error(
                value, f"{key} must be a whole number {low}-{high}, got {describe(number)}"
            )
            continue
        out[key] = number
    return out


def _read_needs(node: Located | None, reporter: Reporter) -> dict[str, Need]:
    needs: dict[str, Need] = {}
    if node is None:
        return needs
    if not isinstance(node.value, dict):
        reporter.error(
            node, f"needs must be a mapping of need id to need, got {describe(node.value)}"
        )
        return needs
    for need_id, value in node.items():
        at = node.key_positions.get(need_id, (value.line, value.col))
        if not ID_PATTERN.match(need_id):
            reporter.error(at, f"need id {need_id!r} must be lower-case words joined by '-'")
        fields = check_mapping(
            value,
            reporter,
            f"need {need_id!r}",
            *NEED_KEYS,
        )
        if fields is None:
            continue
        stage = require_choice(fields.get("stage"), STAGES, "stage", reporter)
        kind = require_choice(fields.get("kind"), NEED_KINDS, "kind", reporter)
        if stage and kind and (stage == "safety") != (kind == "safety"):
            reporter.error(
                fields["kind"],
                "safety needs (kind: safety) belong to stage safety, and only they do",
            )
        title = require_string(fields.get("title"), reporter, "title")
        description = (
            require_string(fields.get("description"), reporter, "description")
            if "description" in fields
            else ""
        )
        audience = require_choices(fields.get("audience"), AUDIENCES, "audience", reporter)
        sequencing = require_choice(fields.get("sequencing"), SEQUENCINGS, "sequencing", reporter)
        if kind == "safety" and sequencing == "demand":
            reporter.error(fields["sequencing"], "safety needs never wait: sequencing: foundation")
        protocol = _read_protocol(fields.get("protocol"), need_id, reporter)
        if kind == "safety":
            _check_protocol_ages(protocol, need_id, at, reporter)
        plain = read_plain(fields["plain"], reporter) if "plain" in fields else None
        goal = require_string(fields["goal"], reporter, "goal") if "goal" in fields else None
        adult = _read_adult(fields.get("adult"), reporter)
        if stage and kind and sequencing and title is not None and description is not None:
            needs[need_id] = Need(
                need_id,
                stage,
                kind,
                sequencing,
                title,
                description,
                tuple(audience),
                Location(reporter.file, *at),
                protocol,
                goal.strip() if goal else None,
                adult,
                plain,
            )
    return needs


def _read_adult(node: Located | None, reporter: Reporter) -> AdultWording | None:
    if node is None:
        return None
    fields = check_mapping(node, reporter, "adult", *ADULT_KEYS)
    if fields is None:
        return None
    title = require_string(fields.get("title"), reporter, "adult title")
    description = (
        require_string(fields["description"], reporter, "adult description")
        if "description" in fields
        else None
    )
    if title is None:
        return None
    return AdultWording(title.strip(), description.strip() if description else None)


def _read_protocol(
    node: Located | None, need_id: str, reporter: Reporter
) -> tuple[CatalogueItem, ...]:
    if node is None:
        return ()
    items = [
        read_item(item, reporter, need_id)
        for item in require_list(node, reporter, "protocol") or ()
    ]
    return tuple(item for item in items if item is not None)


def _check_protocol_ages(
    protocol: Iterable[CatalogueItem], need_id: str, at: tuple[int, int], reporter: Reporter
) -> None:
    """A safety need must be deliverable at every age, in any setting: its protocol is the
    fallback when a setting's catalogue has no item for the person's age."""
    covered = {age for item in protocol for age in range(item.min_age, item.max_age + 1)}
    missing = [age for age in PROTOCOL_AGES if age not in covered]
    if missing:
        reporter.error(
            at,
            f"safety need {need_id!r} needs a `protocol` covering every age 0-120, so it can be "
            f"delivered in any setting; no protocol item covers ages {age_spans(missing)}",
        )


def age_spans(ages: Iterable[int]) -> str:
    """Whole ages as runs: 0-4, 9, 18-120."""
    runs: list[list[int]] = []
    for age in sorted(ages):
        if runs and age == runs[-1][-1] + 1:
            runs[-1].append(age)
        else:
            runs.append([age])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _read_stages(
    node: Located | None, reporter: Reporter, ruleset: str, need_stages: Mapping[str, Stage]
) -> list[Rule]:
    rules: list[Rule] = []
    if node is None:
        return rules
    fields = check_mapping(node, reporter, "stages", required=(), optional=STAGES)
    seen: dict[str, Location] = {}
    for stage in STAGES:
        stage_node = (fields or {}).get(stage)
        if stage_node is None:
            continue
        if not isinstance(stage_node.value, list):
            reporter.error(
                stage_node,
                f"stage {stage!r} must be a list of rules, got {describe(stage_node.value)}",
            )
            continue
        for rule_node in stage_node.value:
            rule = _read_rule(rule_node, reporter, ruleset, stage, need_stages)
            if rule is None:
                continue
            if rule.id in seen:
                reporter.error(
                    rule_node.value["id"],
                    f"duplicate rule id {rule.id!r} (first defined at {seen[rule.id]})",
                )
                continue
            seen[rule.id] = rule.location
            rules.append(rule)
    return rules


def _read_rule(
    node: Located, reporter: Reporter, ruleset: str, stage: Stage, need_stages: Mapping[str, Stage]
) -> Rule | None:
    fields = check_mapping(
        node,
        reporter,
        "a rule",
        *RULE_KEYS,
    )
    if fields is None:
        return None
    rule_id = require_string(fields.get("id"), reporter, "rule id")
    if rule_id is not None and not ID_PATTERN.match(rule_id):
        reporter.error(fields["id"], f"rule id {rule_id!r} must be lower-case words joined by '-'")
    errors_before = len(reporter.diagnostics)
    when = (
        _read_condition(fields["when"], reporter, stage, need_stages) if "when" in fields else None
    )
    if when is not None and sum(1 for _ in comparisons(when)) > MAX_TESTS_PER_RULE:
        reporter.error(
            fields["when"], f"a rule may have at most {MAX_TESTS_PER_RULE} tests; split it"
        )
    needs = (
        _read_need_refs(fields["needs"], reporter, stage, need_stages) if "needs" in fields else []
    )
    cautions = _read_cautions(fields.get("cautions"), reporter)
    holds = _read_holds(fields.get("holds"), reporter)
    if not ({"needs", "cautions", "holds"} & fields.keys()):
        reporter.error(node, "a rule must raise `needs`, add `cautions` or `holds`, or several")
    because = require_string(fields.get("because"), reporter, "because")
    priority = DEFAULT_PRIORITY
    if "priority" in fields:
        value = fields["priority"].value
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
            reporter.error(
                fields["priority"], f"priority must be a whole number 1-1000, got {describe(value)}"
            )
        else:
            priority = value
    indicator: Indicator = "critical" if stage == "safety" else "info"
    if "indicator" in fields:
        chosen = require_choice(fields["indicator"], INDICATORS, "indicator", reporter)
        if chosen == "critical" and stage != "safety":
            reporter.error(
                fields["indicator"], "only safety rules are critical; use warning or info"
            )
        elif chosen is not None and stage != "safety":
            indicator = chosen
    references = fields.get("references")
    refs: list[str] = []
    if references is not None:
        for ref in require_list(references, reporter, "references") or ():
            if require_string(ref, reporter, "a reference") is not None:
                refs.append(ref.value)
    if (
        rule_id is None
        or when is None
        or needs is None
        or because is None
        or any(d.level == "error" for d in reporter.diagnostics[errors_before:])
    ):
        return None
    return Rule(
        id=rule_id,
        ruleset=ruleset,
        stage=stage,
        when=when,
        needs=tuple(needs),
        because=because.strip(),
        priority=priority,
        indicator=indicator,
        references=tuple(refs),
        location=_loc(reporter, node),
        cautions=cautions,
        holds=holds,
    )


def _read_cautions(node: Located | None, reporter: Reporter) -> tuple[CautionSpec, ...]:
    out: list[CautionSpec] = []
    for item in (require_list(node, reporter, "cautions") or []) if node is not None else []:
        fields = check_mapping(item, reporter, "a caution", *CAUTION_KEYS)
        if fields is None:
            continue
        text = require_string(fields.get("text"), reporter, "caution text")
        needs = tuple(_ids(fields.get("needs"), reporter, "needs"))
        involves = tuple(require_choices(fields.get("involves"), INVOLVED, "involves", reporter))
        stages = tuple(require_choices(fields.get("stages"), STAGES, "stages", reporter))
        sequencing = require_choice(fields.get("sequencing"), SEQUENCINGS, "sequencing", reporter)
        if not ({"needs", "involves", "stages", "sequencing"} & fields.keys()):
            reporter.error(
                item,
                "a caution says which items it concerns: needs, involves, stages or sequencing",
            )
        elif text is not None:
            out.append(CautionSpec(text.strip(), needs, involves, stages, sequencing))  # type: ignore[arg-type]
    return tuple(out)


def _read_holds(node: Located | None, reporter: Reporter) -> tuple[HoldSpec, ...]:
    out: list[HoldSpec] = []
    for item in (require_list(node, reporter, "holds") or []) if node is not None else []:
        fields = check_mapping(item, reporter, "a hold", *HOLD_KEYS)
        if fields is None:
            continue
        needs = _refs(fields.get("needs"), reporter, "needs")
        by = _refs(fields.get("by"), reporter, "by")
        until = require_string(fields.get("until"), reporter, "until")
        if needs and by and until is not None:
            out.append(HoldSpec(needs, by, until.strip()))
    return tuple(out)


def _ids(node: Located | None, reporter: Reporter, what: str) -> list[str]:
    """A non-empty list of need ids (checked against the declared needs when compiled)."""
    return [ref.id for ref in _refs(node, reporter, what)]


def _refs(node: Located | None, reporter: Reporter, what: str) -> tuple[NeedRef, ...]:
    if node is None:
        return ()
    refs = []
    for item in require_list(node, reporter, what) or ():
        if require_string(item, reporter, "a need id") is not None:
            refs.append(NeedRef(item.value, _loc(reporter, item)))
    return tuple(refs)


def _read_need_refs(
    node: Located, reporter: Reporter, stage: Stage, need_stages: Mapping[str, Stage]
) -> list[NeedRef] | None:
    if require_list(node, reporter, "needs") is None:
        return None
    refs = list(_refs(node, reporter, "needs"))
    for ref in refs:
        # Needs declared in another ruleset are checked when rulesets are combined.
        if ref.id in need_stages and need_stages[ref.id] != stage:
            reporter.error(
                (ref.location.line, ref.location.col),
                f"need {ref.id!r} belongs to stage {need_stages[ref.id]}, not {stage}; a rule raises needs of its own stage",
            )
    return refs


def _read_condition(
    node: Located, reporter: Reporter, stage: Stage, need_stages: Mapping[str, Stage]
) -> Condition | None:
    if isinstance(node.value, list):
        return _group(AllOf, node, reporter, stage, need_stages)
    if not isinstance(node.value, dict) or not node.value:
        reporter.error(
            node,
            f"a condition must be a list (all of), {{all: [...]}}, {{any: [...]}} or {{field: test}}; got {describe(node.value)}",
        )
        return None
    if len(node.value) != 1:
        keys = ", ".join(node.value)
        reporter.error(
            node, f"a condition has exactly one key, got {keys}; list several tests under `all:`"
        )
        return None
    ((key, value),) = node.items()
    if key in ("all", "any"):
        if not isinstance(value.value, list) or not value.value:
            reporter.error(
                value, f"`{key}` takes a non-empty list of conditions, got {describe(value.value)}"
            )
            return None
        return _group(AllOf if key == "all" else AnyOf, value, reporter, stage, need_stages)
    at = node.key_positions.get(key, (node.line, node.col))
    return _read_test(key, Location(reporter.file, *at), value, reporter, stage, need_stages)


def _group(
    cls: type[AllOf] | type[AnyOf],
    node: Located,
    reporter: Reporter,
    stage: Stage,
    need_stages: Mapping[str, Stage],
) -> Condition | None:
    if not node.value:
        reporter.error(node, "a condition list must not be empty")
        return None
    children = [_read_condition(child, reporter, stage, need_stages) for child in node.value]
    if any(c is None for c in children):
        return None
    return cls(tuple(c for c in children if c is not None))


def _read_test(
    path: str,
    at: Location,
    node: Located,
    reporter: Reporter,
    stage: Stage,
    need_stages: Mapping[str, Stage],
) -> Condition | None:
    field = fact_field(path, need_stages)
    where = (at.line, at.col)
    if field is None:
        hint = difflib.get_close_matches(path, all_paths(need_stages), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        reporter.error(where, f"unknown fact field {path!r}{suggestion}")
        return None
    if field.derived_from is not None and STAGES.index(field.derived_from) >= STAGES.index(stage):
        reporter.error(
            where,
            f"{path!r} is set by the {field.derived_from} stage; a {stage} rule can only see derived facts of lower stages",
        )
        return None
    ops = node.value if isinstance(node.value, dict) else {"eq": node}
    if not ops:
        reporter.error(node, "an operator mapping must not be empty")
        return None
    tests: list[Comparison] = []
    for op, value in ops.items():
        op_at = (
            node.key_positions.get(op, (value.line, value.col))
            if isinstance(node.value, dict)
            else where
        )
        if op not in OPERATORS:
            hint = difflib.get_close_matches(op, OPERATORS, n=1)
            suggestion = (
                f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(OPERATORS)})"
            )
            reporter.error(op_at, f"unknown operator {op!r}{suggestion}")
            continue
        checked = _check_value(field, op, value, reporter)
        if checked is not _INVALID:
            tests.append(Comparison(path, op, checked, Location(reporter.file, *op_at)))
    if len(tests) != len(ops):
        return None
    return tests[0] if len(tests) == 1 else AllOf(tuple(tests))


_INVALID: Final = object()


def _check_value(field: FactField, op: str, node: Located, reporter: Reporter) -> Any:
    value = node.plain()
    if op == "exists":
        if not isinstance(value, bool):
            reporter.error(node, f"exists takes true or false, got {describe(value)}")
            return _INVALID
        return value
    if op in _LIST_OPS:
        if not isinstance(value, list) or not value:
            reporter.error(node, f"{op} takes a non-empty list, got {describe(value)}")
            return _INVALID
        if len(value) > MAX_LIST_VALUES:
            reporter.error(node, f"{op} takes at most {MAX_LIST_VALUES} values")
            return _INVALID
        items = node.value
        checked = [_check_scalar(field, op, item, reporter) for item in items]
        return _INVALID if any(c is _INVALID for c in checked) else checked
    if op in _ORDERED_OPS and not field.comparable:
        what = "an unordered choice" if field.kind == "enum" else f"a {field.kind} field"
        reporter.error(
            node,
            f"operator {op} does not apply to {field.path!r}, {what}; use eq, ne, in or not_in",
        )
        return _INVALID
    return _check_scalar(field, op, node, reporter)


def _check_scalar(field: FactField, op: str, node: Located, reporter: Reporter) -> Any:
    value = node.value
    match field.kind:
        case "boolean":
            if isinstance(value, bool):
                return value
            reporter.error(node, f"{field.path!r} is true or false, got {describe(value)}")
        case "integer" | "number":
            if isinstance(value, int | float) and not isinstance(value, bool):
                low, high = field.minimum, field.maximum
                if (low is not None and value < low) or (high is not None and value > high):
                    span = f"{low:g}-{high:g}" if high is not None else f">= {low:g}"
                    reporter.warning(
                        node,
                        f"{value} is outside {field.path!r}'s range {span}; this test is constant",
                    )
                return value
            reporter.error(node, f"{field.path!r} is a number, got {describe(value)}")
        case "enum":
            if isinstance(value, str) and value in field.values:
                return value
            hint = difflib.get_close_matches(str(value), field.values, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            reporter.error(
                node,
                f"{describe(value)} is not a value of {field.path!r} ({', '.join(field.values)}){suggestion}",
            )
        case "string":
            if isinstance(value, str):
                return value
            reporter.error(node, f"{field.path!r} is a string, got {describe(value)}")
    return _INVALID
