"""Golden cases: brain maps and what their plans must say, in YAML, run without Python.

A case file holds `cases:`, each with a name, a brain map (inline `map:` or `map_file:`
relative to the case file), an optional `setting` and `expect:` (see docs/golden-cases.md).
Case files are validated like rulesets, so a typo in an expectation is an error at its
line and column instead of a test that silently passes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import attrs

from ._cautions import NEAR_CUT_POINT_RULE
from ._yaml import (
    MAX_DOCUMENT_CHARS,
    Located,
    Reporter,
    check_mapping,
    describe,
    load_located,
    read_text,
    require_choice,
    require_list,
    require_string,
)
from .api import Planner
from .brainmap import load_brain_map, parse_brain_map
from .errors import Diagnostic, InputError, NmtRulesError
from .model import BrainMap, Plan, PlanItem
from .plan import SAFETY_FLOOR_NEED
from .vocabulary import INDICATORS, SEQUENCINGS, STAGES

SUFFIXES: Final = (".yaml", ".yml")
_EXPECT_KEYS: Final = (
    "needs",
    "absent",
    "items",
    "first",
    "order",
    "now_count",
    "deferred_count",
    "rules_fired",
    "rules_not_fired",
    "plan_cautions_from",
    "review_by",
    "review_because_includes",
    "review_overdue_days",
)
_ITEM_KEYS: Final = (
    "status",
    "indicator",
    "rule",
    "held_by",
    "held_by_includes",
    "delivery_includes",
    "delivery_excludes",
    "no_delivery",
    "sequencing",
    "cautions_from",
    "no_cautions",
    "released_by_includes",
    "goal",
    "audience_includes",
    "title_includes",
    "build_on",
    "in_place_by",
    "delivery_age",
)
_FIRST_KEYS: Final = ("need", "stage", "status", "indicator")
_STATUSES: Final = ("now", "deferred")


@attrs.frozen
class ItemExpectation:
    """What one plan item must look like; None means not checked."""

    need: str
    status: str | None = None
    indicator: str | None = None
    rule: str | None = None
    held_by: tuple[str, ...] | None = None
    held_by_includes: tuple[str, ...] = ()
    delivery_includes: tuple[str, ...] = ()
    delivery_excludes: tuple[str, ...] = ()
    no_delivery: bool | None = None
    sequencing: str | None = None
    cautions_from: tuple[str, ...] = ()
    no_cautions: bool | None = None
    released_by_includes: str | None = None
    goal: bool | None = None  # whether the item states a goal
    audience_includes: tuple[str, ...] = ()
    title_includes: str | None = None
    build_on: tuple[str, ...] | None = None
    in_place_by: dt.date | None = None
    delivery_age: float | None = None


@attrs.frozen
class Expectations:
    """Everything a case expects of its plan and its evaluation."""

    needs: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    items: tuple[ItemExpectation, ...] = ()
    first: Mapping[str, str] = attrs.field(factory=dict)
    order: tuple[str, ...] = ()
    now_count: int | None = None
    deferred_count: int | None = None
    rules_fired: tuple[str, ...] = ()
    rules_not_fired: tuple[str, ...] = ()
    plan_cautions_from: tuple[str, ...] = ()
    review_by: dt.date | None = None
    review_because_includes: str | None = None
    review_overdue_days: int | None = None


@attrs.frozen
class GoldenCase:
    """One brain map and what its plan must say."""

    name: str
    file: str
    line: int
    col: int
    brain_map: BrainMap
    setting: str | None
    expect: Expectations

    @property
    def where(self) -> str:
        """file:line:col of the case."""
        return f"{self.file}:{self.line}:{self.col}"


@attrs.frozen
class CaseResult:
    """The outcome of one case: failures (empty when it passed) and the rules it fired."""

    case: GoldenCase
    failures: tuple[str, ...]
    fired: frozenset[str]
    plan: Plan | None

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return not self.failures


@attrs.frozen
class Coverage:
    """Which rules of the rulesets in play fired in at least one case."""

    fired: tuple[str, ...]
    missed: tuple[tuple[str, str], ...]  # (qualified rule id, file:line:col)

    @property
    def percent(self) -> float:
        """Share of rules that fired, 0-100 (100 when there are no rules)."""
        total = len(self.fired) + len(self.missed)
        return 100.0 if total == 0 else 100.0 * len(self.fired) / total


@attrs.frozen
class KnownIds:
    """Need, rule and catalogue item ids a case may name; None skips that check."""

    needs: frozenset[str] | None = None
    rules: frozenset[str] | None = None
    deliveries: frozenset[str] | None = None

    @classmethod
    def of(cls, planner: Planner) -> KnownIds:
        """What a planner knows: its needs (and the safety floor's), its rules by bare and
        qualified id, and the items of its catalogues."""
        rules = planner.rules
        return cls(
            frozenset({*planner.needs, SAFETY_FLOOR_NEED}),
            frozenset(
                {r.id for r in rules} | {r.qualified_id for r in rules} | {NEAR_CUT_POINT_RULE}
            ),
            frozenset(
                {i.id for c in planner.catalogues for i in c.items}
                | {i.id for n in planner.needs.values() for i in n.protocol}
            ),
        )


def find_case_files(paths: Iterable[Path]) -> list[Path]:
    """Case files named, and *.yaml / *.yml under directories named."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            out.append(path)
    return out


def load_cases(
    paths: Iterable[Path], planner: Planner | None = None
) -> tuple[list[GoldenCase], list[Diagnostic]]:
    """Read case files; problems come back as diagnostics with file:line:col.

    With a planner, need and rule ids are checked against its rulesets, so a typo in
    `absent` or `rules_not_fired` is an error instead of an expectation that always holds.
    """
    known = KnownIds() if planner is None else KnownIds.of(planner)
    cases: list[GoldenCase] = []
    problems: list[Diagnostic] = []
    for path in find_case_files(paths):
        reporter = Reporter(str(path))
        try:
            text = read_text(path, MAX_DOCUMENT_CHARS)
        except (OSError, UnicodeDecodeError) as exc:
            reporter.error((1, 1), f"cannot read file: {exc}")
        else:
            cases += _read_file(text, path, reporter, known)
        problems += sorted(reporter.diagnostics, key=lambda d: (d.line, d.col))
    return cases, problems


def _read_file(text: str, path: Path, reporter: Reporter, known: KnownIds) -> list[GoldenCase]:
    root = load_located(text, reporter)
    if root is None:
        return []
    top = check_mapping(root, reporter, "a golden case file", required=("cases",))
    if top is None:
        return []
    out = []
    for node in require_list(top.get("cases"), reporter, "cases") or ():
        case = _read_case(node, path, reporter, known)
        if case is not None:
            out.append(case)
    return out


def _read_case(node: Located, path: Path, reporter: Reporter, known: KnownIds) -> GoldenCase | None:
    fields = check_mapping(
        node,
        reporter,
        "a case",
        required=("name", "expect"),
        optional=("map", "map_file", "setting"),
    )
    if fields is None:
        return None
    before = len(reporter.diagnostics)
    name = require_string(fields.get("name"), reporter, "name")
    setting = (
        require_string(fields["setting"], reporter, "setting") if "setting" in fields else None
    )
    brain_map = _read_map(node, fields, path, reporter)
    expect = _read_expect(fields.get("expect"), reporter, known)
    if len(reporter.diagnostics) > before or name is None or brain_map is None or expect is None:
        return None
    return GoldenCase(name, str(path), node.line, node.col, brain_map, setting, expect)


def _read_map(
    node: Located, fields: Mapping[str, Located], path: Path, reporter: Reporter
) -> BrainMap | None:
    if ("map" in fields) == ("map_file" in fields):
        reporter.error(node, "a case gives exactly one of `map` (inline) or `map_file` (a path)")
        return None
    if "map_file" in fields:
        name = require_string(fields["map_file"], reporter, "map_file")
        if name is None:
            return None
        try:
            return load_brain_map(path.parent / name)
        except InputError as exc:
            reporter.error(fields["map_file"], f"invalid map_file: {exc}")
            return None
    inline: Located = fields["map"]
    try:
        return parse_brain_map(inline.plain(), f"{path}:{inline.line}:{inline.col}")
    except InputError as exc:
        for problem in exc.problems:
            # At the field's own line where the map has it; at the map for a missing one.
            reporter.error(inline.find(problem.path) or inline, f"invalid brain map: {problem}")
        return None


def _id(
    node: Located, reporter: Reporter, what: str, known: frozenset[str] | None, kind: str
) -> str | None:
    value = require_string(node, reporter, f"each of {what}")
    if value is not None and known is not None and value not in known:
        hint = difflib.get_close_matches(value, sorted(known), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        reporter.error(node, f"unknown {kind} {value!r} in {what}{suggestion}")
        return None
    return value


def _ids(
    node: Located | None,
    reporter: Reporter,
    what: str,
    known: frozenset[str] | None,
    kind: str = "need",
) -> tuple[str, ...]:
    if node is None:
        return ()
    items = require_list(node, reporter, what) or ()
    return tuple(v for v in (_id(i, reporter, what, known, kind) for i in items) if v)


def _count(node: Located | None, reporter: Reporter, what: str) -> int | None:
    if node is None:
        return None
    if not isinstance(node.value, int) or isinstance(node.value, bool) or node.value < 0:
        reporter.error(node, f"{what} must be a whole number 0 or more, got {describe(node.value)}")
        return None
    return node.value


def _read_expect(node: Located | None, reporter: Reporter, known: KnownIds) -> Expectations | None:
    if node is None:
        return None
    fields = check_mapping(node, reporter, "expect", required=(), optional=_EXPECT_KEYS)
    if fields is None:
        return None
    if not fields:
        reporter.error(node, "expect must say something: needs, absent, items, first, order, ...")
    first: dict[str, str] = {}
    if "first" in fields:
        first_fields = (
            check_mapping(fields["first"], reporter, "first", required=(), optional=_FIRST_KEYS)
            or {}
        )
        choices = {"stage": STAGES, "status": _STATUSES, "indicator": INDICATORS}
        for key, value in first_fields.items():
            if key == "need":
                chosen = _id(value, reporter, "first", known.needs, "need")
            elif key in choices:  # unknown keys were reported by check_mapping
                chosen = require_choice(value, choices[key], key, reporter)
            else:
                continue
            if chosen is not None:
                first[key] = chosen
    items = tuple(
        item
        for item_node in (
            require_list(fields["items"], reporter, "items") or () if "items" in fields else ()
        )
        if (item := _read_item(item_node, reporter, known)) is not None
    )
    return Expectations(
        needs=_ids(fields.get("needs"), reporter, "needs", known.needs),
        absent=_ids(fields.get("absent"), reporter, "absent", known.needs),
        items=items,
        first=first,
        order=_ids(fields.get("order"), reporter, "order", known.needs),
        now_count=_count(fields.get("now_count"), reporter, "now_count"),
        deferred_count=_count(fields.get("deferred_count"), reporter, "deferred_count"),
        rules_fired=_ids(fields.get("rules_fired"), reporter, "rules_fired", known.rules, "rule"),
        rules_not_fired=_ids(
            fields.get("rules_not_fired"), reporter, "rules_not_fired", known.rules, "rule"
        ),
        plan_cautions_from=_ids(
            fields.get("plan_cautions_from"),
            reporter,
            "plan_cautions_from",
            known.rules,
            "rule",
        ),
        review_by=_date(fields.get("review_by"), reporter, "review_by"),
        review_because_includes=_text(fields.get("review_because_includes"), reporter),
        review_overdue_days=_count(
            fields.get("review_overdue_days"), reporter, "review_overdue_days"
        ),
    )


def _read_item(node: Located, reporter: Reporter, known: KnownIds) -> ItemExpectation | None:
    fields = check_mapping(
        node, reporter, "an item expectation", required=("need",), optional=_ITEM_KEYS
    )
    if fields is None or "need" not in fields:
        return None
    need = _id(fields["need"], reporter, "need", known.needs, "need")
    if need is None:
        return None
    held_by = fields.get("held_by")
    released_by = fields.get("released_by_includes")
    return ItemExpectation(
        need=need,
        status=require_choice(fields.get("status"), _STATUSES, "status", reporter),
        indicator=require_choice(fields.get("indicator"), INDICATORS, "indicator", reporter),
        rule=require_string(fields["rule"], reporter, "rule") if "rule" in fields else None,
        held_by=None if held_by is None else _ids(held_by, reporter, "held_by", None),
        held_by_includes=_ids(fields.get("held_by_includes"), reporter, "held_by_includes", None),
        delivery_includes=_ids(
            fields.get("delivery_includes"),
            reporter,
            "delivery_includes",
            known.deliveries,
            "catalogue item",
        ),
        delivery_excludes=_ids(
            fields.get("delivery_excludes"),
            reporter,
            "delivery_excludes",
            known.deliveries,
            "catalogue item",
        ),
        no_delivery=_flag(fields.get("no_delivery"), reporter, "no_delivery"),
        sequencing=require_choice(fields.get("sequencing"), SEQUENCINGS, "sequencing", reporter),
        cautions_from=_ids(
            fields.get("cautions_from"), reporter, "cautions_from", known.rules, "rule"
        ),
        no_cautions=_flag(fields.get("no_cautions"), reporter, "no_cautions"),
        released_by_includes=_text(released_by, reporter),
        goal=_flag(fields.get("goal"), reporter, "goal"),
        audience_includes=_ids(
            fields.get("audience_includes"), reporter, "audience_includes", None
        ),
        title_includes=_text(fields.get("title_includes"), reporter),
        build_on=None
        if "build_on" not in fields
        else tuple(
            v
            for i in require_list(fields["build_on"], reporter, "build_on") or ()
            if (v := require_string(i, reporter, "each of build_on")) is not None
        ),
        in_place_by=_date(fields.get("in_place_by"), reporter, "in_place_by"),
        delivery_age=_number(fields.get("delivery_age"), reporter, "delivery_age"),
    )


def _text(node: Located | None, reporter: Reporter) -> str | None:
    return None if node is None else require_string(node, reporter, "a text to look for")


def _date(node: Located | None, reporter: Reporter, what: str) -> dt.date | None:
    if node is None:
        return None
    value = node.value
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        reporter.error(node, f"{what} must be a date (YYYY-MM-DD), got {describe(value)}")
        return None


def _number(node: Located | None, reporter: Reporter, what: str) -> float | None:
    if node is None:
        return None
    if not isinstance(node.value, int | float) or isinstance(node.value, bool):
        reporter.error(node, f"{what} must be a number, got {describe(node.value)}")
        return None
    return float(node.value)


def _flag(node: Located | None, reporter: Reporter, what: str) -> bool | None:
    if node is None:
        return None
    if not isinstance(node.value, bool):
        reporter.error(node, f"{what} must be true or false, got {describe(node.value)}")
        return None
    return node.value


# --- running --------------------------------------------------------------------------------


def run_case(planner: Planner, case: GoldenCase) -> CaseResult:
    """Make the case's plan and compare it with what the case expects."""
    try:
        plan, evaluation = planner.plan_and_evaluation(case.brain_map, case.setting)
    except NmtRulesError as exc:  # e.g. a setting no installed plugin provides
        return CaseResult(case, (f"could not make a plan: {exc}",), frozenset(), None)
    fired = frozenset(c.qualified_id for c in evaluation.fired)
    failures = compare(case.expect, plan, fired)
    return CaseResult(case, tuple(failures), fired, plan)


def _fired(rule: str, fired: frozenset[str]) -> bool:
    """A bare rule id matches that rule in any ruleset; `ruleset/rule` matches exactly."""
    return rule in fired if "/" in rule else any(f.split("/", 1)[1] == rule for f in fired)


def compare(expect: Expectations, plan: Plan, fired: frozenset[str]) -> list[str]:
    """Every way the plan differs from the expectations, one readable line each."""
    items = {item.need: item for item in plan.items}
    position = {item.need: i + 1 for i, item in enumerate(plan.items)}
    out = [f"needs: expected {n!r} in the plan; it is not" for n in expect.needs if n not in items]
    out += [
        f"absent: expected {n!r} not to be in the plan; it is (#{position[n]}, raised by {items[n].rule})"
        for n in expect.absent
        if n in items
    ]
    for want in expect.items:
        got = items.get(want.need)
        if got is None:
            out.append(f"items: expected an item for {want.need!r}; there is none")
        else:
            out += [f"item {want.need!r}: {problem}" for problem in _item_problems(want, got)]
    if expect.first:
        if not plan.items:
            out.append("first: expected a first item; the plan is empty")
        else:
            head = plan.items[0]
            for key, value in expect.first.items():
                have = getattr(head, key)
                if have != value:
                    out.append(f"first: expected {key} {value!r}, got {have!r} ({head.id})")
    present = [n for n in expect.order if n in items]
    out += [
        f"order: expected {n!r} in the plan to check its order; it is not"
        for n in expect.order
        if n not in items
    ]
    for earlier, later in itertools.pairwise(present):
        if position[earlier] > position[later]:
            out.append(
                f"order: expected {earlier!r} before {later!r}; got {later!r} at #{position[later]}, {earlier!r} at #{position[earlier]}"
            )
    for status, count in (("now", expect.now_count), ("deferred", expect.deferred_count)):
        if count is not None:
            have = sum(item.status == status for item in plan.items)
            if have != count:
                out.append(f"{status}_count: expected {count}, got {have}")
    out += [
        f"rules_fired: expected {r!r} to fire; it did not"
        for r in expect.rules_fired
        if not _fired(r, fired)
    ]
    out += [
        f"rules_not_fired: expected {r!r} not to fire; it did"
        for r in expect.rules_not_fired
        if _fired(r, fired)
    ]
    if expect.review_by is not None and plan.review_by != expect.review_by:
        out.append(f"review_by: expected {expect.review_by}, got {plan.review_by}")
    wanted = expect.review_because_includes
    if wanted is not None and wanted.lower() not in (plan.review_because or "").lower():
        out.append(
            f"review_because: expected it to mention {wanted!r}, got {plan.review_because!r}"
        )
    if expect.review_overdue_days is not None:
        late = plan.context.review_overdue_days if plan.context else None
        if (late or 0) != expect.review_overdue_days:
            out.append(f"review_overdue_days: expected {expect.review_overdue_days}, got {late}")
    plan_cautions = frozenset(c.rule for c in plan.cautions)
    out += [
        f"plan_cautions_from: expected a plan caution from {r!r}; got {sorted(plan_cautions)}"
        for r in expect.plan_cautions_from
        if not _fired(r, plan_cautions)
    ]
    return out


def _item_problems(want: ItemExpectation, got: PlanItem) -> Iterable[str]:
    for key in ("status", "indicator", "rule"):
        expected = getattr(want, key)
        if expected is not None and getattr(got, key) != expected:
            yield f"{key}: expected {expected!r}, got {getattr(got, key)!r}"
    if want.held_by is not None and tuple(got.held_by) != want.held_by:
        yield f"held_by: expected {list(want.held_by)}, got {list(got.held_by)}"
    missing = [h for h in want.held_by_includes if h not in got.held_by]
    if missing:
        yield f"held_by: expected to include {missing}, got {list(got.held_by)}"
    delivered = [d.id for d in got.delivery]
    missing = [d for d in want.delivery_includes if d not in delivered]
    if missing:
        yield f"delivery: expected to include {missing}, got {delivered}"
    present = [d for d in want.delivery_excludes if d in delivered]
    if present:
        yield f"delivery: expected not to include {present}, got {delivered}"
    if want.no_delivery is not None and want.no_delivery == bool(got.delivery):
        yield f"delivery: expected {'none' if want.no_delivery else 'some'}, got {delivered}"
    if want.sequencing is not None and got.sequencing != want.sequencing:
        yield f"sequencing: expected {want.sequencing!r}, got {got.sequencing!r}"
    cautioned = frozenset(c.rule for c in got.cautions)
    missing = [r for r in want.cautions_from if not _fired(r, cautioned)]
    if missing:
        yield f"cautions: expected cautions from {missing}, got {sorted(cautioned)}"
    if want.no_cautions is not None and want.no_cautions == bool(got.cautions):
        yield f"cautions: expected {'none' if want.no_cautions else 'some'}, got {sorted(cautioned)}"
    for key, have in (("released_by", got.released_by), ("title", got.title)):
        wanted = getattr(want, f"{key}_includes")
        if wanted is not None and wanted.lower() not in (have or "").lower():
            yield f"{key}: expected it to mention {wanted!r}, got {have!r}"
    if want.goal is not None and want.goal != bool(got.goal):
        yield f"goal: expected {'one' if want.goal else 'none'}, got {got.goal!r}"
    missing = [a for a in want.audience_includes if a not in got.audience]
    if missing:
        yield f"audience: expected to include {missing}, got {list(got.audience)}"
    if want.build_on is not None and tuple(got.build_on) != want.build_on:
        yield f"build_on: expected {list(want.build_on)}, got {list(got.build_on)}"
    if want.in_place_by is not None and got.in_place_by != want.in_place_by:
        yield f"in_place_by: expected {want.in_place_by}, got {got.in_place_by}"
    if want.delivery_age is not None and got.delivery_age != want.delivery_age:
        yield f"delivery_age: expected {want.delivery_age:g}, got {got.delivery_age}"


def coverage(
    planner: Planner, results: Iterable[CaseResult], ruleset: str | None = None
) -> Coverage:
    """Rules of the planner's rulesets (or of the one named) that fired in at least one
    case, and those that did not."""
    fired: set[str] = set()
    for result in results:
        fired |= result.fired
    hit, missed = [], []
    for rule in planner.rules:
        if ruleset is not None and rule.ruleset != ruleset:
            continue
        if rule.qualified_id in fired:
            hit.append(rule.qualified_id)
        else:
            missed.append((rule.qualified_id, str(rule.location)))
    return Coverage(tuple(hit), tuple(missed))


def describe_plan(plan: Plan | None) -> list[str]:
    """The plan's items, one line each, as a failure report shows them."""
    if plan is None:
        return []
    lines = []
    for i, item in enumerate(plan.items, 1):
        held = f" held by {', '.join(item.held_by)}" if item.held_by else ""
        delivery = f" delivery: {', '.join(d.id for d in item.delivery)}" if item.delivery else ""
        lines.append(
            f"{i:>3}. {item.id} [{item.status}, {item.indicator}] by {item.rule}{held}{delivery}"
        )
    return lines


def format_failure(result: CaseResult) -> str:
    """A failed case as text: where, what was expected and got, and the plan it got."""
    lines = [f"FAIL {result.case.where}: {result.case.name}"]
    lines += [f"  - {failure}" for failure in result.failures]
    plan_lines = describe_plan(result.plan)
    if plan_lines:
        lines.append("  plan, in order:")
        lines += [f"    {line}" for line in plan_lines]
    return "\n".join(lines)
