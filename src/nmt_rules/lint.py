"""Warnings about rulesets that load but are probably wrong: one function per check.

The loader rejects what cannot run; these checks find what runs but cannot be meant: a rule
that can never fire, a rule another rule makes redundant, a need nothing raises or no
setting delivers, a `because` too short to explain anything.

Whether tests can hold together is decided per *group* of linked fact fields (a domain
score and its band, a function rating and its band, age in years and age group; every other
field alone) by trying representative values: every threshold a rule names, the values
either side of it and every enum value. Fields in different groups are treated as
independent, which only ever hides a contradiction, never invents one, so every warning
here is sound.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from .catalogue import Catalogue, missing_plain
from .errors import Diagnostic, Location
from .facts import DEFAULT_BANDS, STATIC_FIELDS, FactField
from .rules import AnyOf, Comparison, Condition, Rule, Ruleset, comparisons
from .ruleset import EVERY_SETTING, age_spans
from .vocabulary import AGE_GROUP_LIMITS, BANDS, INDICATORS, Band, age_group

#: Largest disjunctive normal form examined; bigger conditions are skipped (never guessed).
MAX_CONJUNCTIONS: Final = 256
#: A `because` shorter than this many words cannot explain a recommendation to a clinician.
MIN_BECAUSE_WORDS: Final = 4

_ABSENT: Final = object()
#: Fact fields a brain map may leave out (unrated functions, no history, no earlier map...).
_OPTIONAL_PREFIXES: Final = (
    "functions.",
    "function_bands.",
    "history.",
    "relational_health_now",
    "setting",
    "change.",
    "previous_bands.",
    "assessments.months_since_previous",
)
_ALWAYS_PRESENT: Final = ("history.high_adversity_periods",)
_SCORE_PAIRS: Final = {"bands.": "domains.", "function_bands.": "functions."}

World = dict[str, Any]


def _field(path: str) -> FactField:
    # stage.* and needs.* are booleans the engine always sets.
    return STATIC_FIELDS.get(path) or FactField(path, "boolean")


def _optional(path: str) -> bool:
    return path.startswith(_OPTIONAL_PREFIXES) and path not in _ALWAYS_PRESENT


def _group(path: str) -> str:
    """Name of the group of linked fields a path belongs to."""
    for band_prefix, score_prefix in _SCORE_PAIRS.items():
        if path.startswith(band_prefix):
            return score_prefix + path.removeprefix(band_prefix)
    return "age" if path.startswith("age.") else path


def conjunctions(condition: Condition) -> list[list[Comparison]] | None:
    """The condition as alternatives of all-of test lists; None when it would be too large."""
    if isinstance(condition, Comparison):
        return [[condition]]
    parts = [conjunctions(child) for child in condition.children]
    if any(p is None for p in parts):
        return None
    options = [p for p in parts if p is not None]
    if isinstance(condition, AnyOf):
        flat = [conj for option in options for conj in option]
        return flat if len(flat) <= MAX_CONJUNCTIONS else None
    if math.prod(len(o) for o in options) > MAX_CONJUNCTIONS:
        return None
    return [[t for conj in combo for t in conj] for combo in itertools.product(*options)]


def comparison_holds(test: Comparison, world: Mapping[str, Any]) -> bool:
    """Whether a test holds in a world (rule-space values; missing key = absent field)."""
    value = world.get(test.path, _ABSENT)
    if test.op == "exists":
        return (value is not _ABSENT) is bool(test.value)
    if value is _ABSENT:
        return False
    field = _field(test.path)
    match test.op:
        case "eq":
            return bool(value == test.value)
        case "ne":
            return bool(value != test.value)
        case "in":
            return value in test.value
        case "not_in":
            return value not in test.value
    have, want = field.encode(value), field.encode(test.value)
    match test.op:
        case "lt":
            return bool(have < want)
        case "lte":
            return bool(have <= want)
        case "gt":
            return bool(have > want)
    return bool(have >= want)


def _numbers(tests: Iterable[Comparison], path: str) -> set[float]:
    out: set[float] = set()
    for t in tests:
        if t.path == path and t.op not in ("exists",):
            values = t.value if isinstance(t.value, list) else [t.value]
            out.update(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))
    return out


def _around(points: Iterable[float], low: float, high: float, whole: bool) -> list[float]:
    """Representative values: each point, values just either side, and the ends."""
    marks = sorted({low, high, *(p for p in points if low <= p <= high)})
    out = set(marks)
    for a, b in itertools.pairwise(marks):
        out.add(math.floor((a + b) / 2) if whole else (a + b) / 2)
    if whole:
        out |= {m + d for m in marks for d in (-1, 1) if low <= m + d <= high}
        out = {float(math.ceil(v)) for v in out if low <= math.ceil(v) <= high}
    return sorted(out)


def worlds(
    group: str, tests: Sequence[Comparison], bands: Mapping[Band, tuple[int, int]]
) -> Iterator[World]:
    """Representative assignments of one group's fields, enough to decide any of its tests."""
    if group.startswith(tuple(_SCORE_PAIRS.values())):
        prefix, name = group.split(".", 1)
        band_path = ("bands." if prefix == "domains" else "function_bands.") + name
        band_of = {s: b for b, (low, high) in bands.items() for s in range(low, high + 1)}
        for score in range(101):
            yield {group: score, band_path: band_of.get(score, BANDS[0])}
        if _optional(group):
            yield {}
        return
    if group == "age":
        limits = [limit for limit, _ in AGE_GROUP_LIMITS]
        for age in _around([*_numbers(tests, "age.years"), *limits], 0, 120, whole=False):
            yield {"age.years": age, "age.group": age_group(age)}
        return
    field = _field(group)
    if _optional(group):
        yield {}
    match field.kind:
        case "enum":
            values: Iterable[Any] = field.values
        case "boolean":
            values = (False, True)
        case "string":
            named = {
                v for t in tests for v in (t.value if isinstance(t.value, list) else [t.value])
            }
            values = sorted({*(v for v in named if isinstance(v, str)), "\x00another value"})
        case _:
            low = field.minimum or 0
            high = field.maximum if field.maximum is not None else low + 10**6
            whole = field.kind == "integer"
            values = [
                int(v) if whole else v for v in _around(_numbers(tests, group), low, high, whole)
            ]
    for value in values:
        yield {group: value}


def _by_group(tests: Iterable[Comparison]) -> dict[str, list[Comparison]]:
    out: dict[str, list[Comparison]] = defaultdict(list)
    for t in tests:
        out[_group(t.path)].append(t)
    return out


def impossible_group(
    tests: Sequence[Comparison], bands: Mapping[Band, tuple[int, int]]
) -> list[Comparison] | None:
    """The tests of the first group that cannot all hold together, or None if all can."""
    for group, group_tests in _by_group(tests).items():
        if not any(
            all(comparison_holds(t, w) for t in group_tests)
            for w in worlds(group, group_tests, bands)
        ):
            return group_tests
    return None


def _show(test: Comparison) -> str:
    written = test.value if test.op == "eq" else f"{{{test.op}: {test.value}}}"
    return f"`{test.path}: {written}` (line {test.location.line})"


def _warn(at: Location, message: str) -> Diagnostic:
    return Diagnostic(at.file, at.line, at.col, "warning", message)


class RuleIndex:
    """What the checks ask of rules again and again, worked out once per rule: a check of
    4,000 rules compares each with the few that could shadow it, not with every other.

    Entries are keyed by the rule's identity; the index keeps the rules, so an id is never
    reused while it lives."""

    def __init__(
        self, rules: Sequence[Rule], bands: Mapping[Band, tuple[int, int]] = DEFAULT_BANDS
    ) -> None:
        self.rules = tuple(rules)
        self.bands = bands
        self._by_need: dict[str, list[Rule]] = defaultdict(list)
        for rule in self.rules:
            for need in dict.fromkeys(ref.id for ref in rule.needs):
                self._by_need[need].append(rule)
        # Rules compare by value (slow for big ones): membership goes by identity.
        self._ids_by_need = {n: {id(r) for r in rules} for n, rules in self._by_need.items()}
        self._conjunctions: dict[int, list[list[Comparison]] | None] = {}
        self._possible: dict[int, list[list[Comparison]] | None] = {}
        self._essential: dict[int, frozenset[str] | None] = {}
        self._everywhere: dict[int, frozenset[str]] = {}
        self._ages: dict[tuple[int, str | None], frozenset[int]] = {}
        self._age_tests: dict[tuple[tuple[str, str, str], ...], frozenset[int]] = {}

    def raising(self, needs: Iterable[str]) -> list[Rule]:
        """Rules that raise every one of the needs, in their order."""
        wanted = list(dict.fromkeys(needs))
        if not wanted:
            return list(self.rules)
        fewest = min((self._by_need.get(n, []) for n in wanted), key=len)
        ids = [self._ids_by_need.get(n, set()) for n in wanted]
        return [r for r in fewest if all(id(r) in these for these in ids)]

    def conjunctions(self, rule: Rule) -> list[list[Comparison]] | None:
        """The rule's condition as alternatives of all-of test lists (None: too large)."""
        key = id(rule)
        if key not in self._conjunctions:
            self._conjunctions[key] = conjunctions(rule.when)
        return self._conjunctions[key]

    def possible(self, rule: Rule) -> list[list[Comparison]] | None:
        """The alternatives that can hold (None: too large to split)."""
        key = id(rule)
        if key not in self._possible:
            options = self.conjunctions(rule)
            self._possible[key] = (
                None
                if options is None
                else [c for c in options if impossible_group(c, self.bands) is None]
            )
        return self._possible[key]

    def essential_groups(self, rule: Rule) -> frozenset[str] | None:
        """For an all-of rule, the field groups whose tests some map fails (a rule implying
        it must test each of them); None for a rule with alternatives."""
        key = id(rule)
        if key not in self._essential:
            options = self.conjunctions(rule)
            self._essential[key] = (
                None
                if options is None or len(options) != 1
                else frozenset(
                    group
                    for group, tests in _by_group(options[0]).items()
                    if not all(
                        all(comparison_holds(t, w) for t in tests)
                        for w in worlds(group, tests, self.bands)
                    )
                )
            )
        return self._essential[key]

    def groups_everywhere(self, rule: Rule) -> frozenset[str]:
        """Field groups every alternative of the rule that can hold tests."""
        key = id(rule)
        if key not in self._everywhere:
            options = self.possible(rule) or []
            groups = [frozenset(_group(t.path) for t in conj) for conj in options]
            self._everywhere[key] = frozenset.intersection(*groups) if groups else frozenset()
        return self._everywhere[key]

    def ages(self, rule: Rule, setting: str | None) -> frozenset[int]:
        """Whole ages (0-120) at which the rule can fire as far as age (and, given a
        setting, its setting tests) go."""
        key = (id(rule), setting)
        if key not in self._ages:
            ages: set[int] = set()
            for conj in self.conjunctions(rule) or [[]]:  # too large to split: any age
                if setting is not None and not all(
                    comparison_holds(t, {"setting": setting}) for t in conj if t.path == "setting"
                ):
                    continue
                ages |= self._ages_of(tuple(t for t in conj if _group(t.path) == "age"))
            self._ages[key] = frozenset(ages)
        return self._ages[key]

    def _ages_of(self, tests: tuple[Comparison, ...]) -> frozenset[int]:
        """Ages at which all these age tests hold; many rules share them."""
        key = tuple((t.path, t.op, repr(t.value)) for t in tests)
        if key not in self._age_tests:
            self._age_tests[key] = frozenset(
                a
                for a in range(121)
                if all(
                    comparison_holds(t, {"age.years": a, "age.group": age_group(a)}) for t in tests
                )
            )
        return self._age_tests[key]


def never_fires(
    rule: Rule, bands: Mapping[Band, tuple[int, int]] = DEFAULT_BANDS
) -> Diagnostic | None:
    """Warn when no brain map can satisfy a rule's condition (contradictory tests)."""
    options = conjunctions(rule.when)
    if options is None:
        return None
    clashes = [impossible_group(conj, bands) for conj in options]
    if any(c is None for c in clashes):
        return None
    if len(options) == 1 and clashes[0]:
        tests = clashes[0]
        listed = ", ".join(_show(t) for t in tests)
        return _warn(
            tests[0].location,
            f"rule {rule.id!r} can never fire: {listed} cannot all hold",
        )
    return _warn(
        rule.location,
        f"rule {rule.id!r} can never fire: no branch of its `any` can hold with its other tests",
    )


def implies(
    stronger: Rule,
    weaker: Rule,
    bands: Mapping[Band, tuple[int, int]] = DEFAULT_BANDS,
    index: RuleIndex | None = None,
) -> bool:
    """Whether every map that fires `stronger` also fires `weaker` (weaker must be an all-of)."""
    index = index or RuleIndex((stronger, weaker), bands)
    weak = index.conjunctions(weaker)
    # An alternative that never holds implies anything, so only the possible ones count.
    strong = index.possible(stronger)
    if weak is None or strong is None or len(weak) != 1:
        return False
    needed = _by_group(weak[0])
    for conj in strong:
        have = _by_group(conj)
        for group, wanted in needed.items():
            given = have.get(group, [])
            for w in worlds(group, [*given, *wanted], bands):
                if all(comparison_holds(t, w) for t in given) and not all(
                    comparison_holds(t, w) for t in wanted
                ):
                    return False
    return True


def shadowed_by(
    rule: Rule,
    others: Sequence[Rule],
    bands: Mapping[Band, tuple[int, int]] = DEFAULT_BANDS,
    index: RuleIndex | None = None,
) -> Diagnostic | None:
    """Warn when another rule always fires with this one and already says all it says.

    Rule B is shadowed by rule A when B's condition implies A's, A raises every need B
    raises, A's indicator is at least as strong and A comes first in the plan's reasons:
    B then only ever adds an "also raised by" line.
    """
    if rule.cautions or rule.holds:
        return None  # its cautions and holds are its own, whatever else fires
    index = index or RuleIndex(others, bands)
    tested = index.groups_everywhere(rule)
    for other in index.raising(ref.id for ref in rule.needs):
        if other is rule:
            continue
        if INDICATORS.index(other.indicator) > INDICATORS.index(rule.indicator):
            continue
        if (other.priority, other.qualified_id) > (rule.priority, rule.qualified_id):
            continue
        # Cheap first: a rule that implies `other` tests every field group `other` needs.
        essential = index.essential_groups(other)
        if essential is None or not essential <= tested:
            continue
        if implies(rule, other, bands, index):
            return _warn(
                rule.location,
                f"rule {rule.id!r} is shadowed by {other.qualified_id!r} ({other.location}): "
                f"whenever it fires, that rule fires too and raises every need it raises",
            )
    return None


def short_because(rule: Rule) -> Diagnostic | None:
    """Warn when a `because` is too short to tell a clinician why."""
    words = len(rule.because.split())
    if words >= MIN_BECAUSE_WORDS:
        return None
    return _warn(
        rule.location,
        f"rule {rule.id!r}: `because` has {words} word(s); say why, in a clinician's words",
    )


def missing_goals(ruleset: Ruleset) -> list[Diagnostic]:
    """Warn about interventions without a goal: every plan item to act on says what a sign
    that it is working looks like."""
    return [
        _warn(
            need.location,
            f"need {need.id!r} is an intervention without a `goal` (an observable sign that it "
            "is working, e.g. 'falls asleep within 30 minutes on 5 nights a week')",
        )
        for need in ruleset.needs.values()
        if need.kind == "intervention" and need.goal is None
    ]


def unraised_needs(ruleset: Ruleset, rules: Iterable[Rule]) -> list[Diagnostic]:
    """Warn about declared needs that no rule in play raises."""
    raised = {ref.id for rule in rules for ref in rule.needs}
    return [
        _warn(need.location, f"need {need.id!r} is declared but no rule raises it")
        for need in ruleset.needs.values()
        if need.id not in raised
    ]


def needs_without_plain(ruleset: Ruleset) -> list[Diagnostic]:
    """Warn about needs and protocol items without plain-language texts for handouts."""
    out = []
    for need in ruleset.needs.values():
        if need.plain is None:
            out.append(missing_plain(f"need {need.id!r}", need.location))
        out += [
            missing_plain(f"protocol item {item.id!r}", item.location)
            for item in need.protocol
            if item.plain is None
        ]
    return out


def ages_raised(
    need: str, rules: Sequence[Rule], setting: str | None = None, index: RuleIndex | None = None
) -> set[int]:
    """Whole ages (0-120) at which some rule raising the need can fire, as far as age (and,
    given a setting, the rules' setting tests) go."""
    index = index or RuleIndex(rules)
    ages: set[int] = set()
    for rule in index.raising([need]):
        ages |= index.ages(rule, setting)
    return ages


def undelivered_needs(
    ruleset: Ruleset,
    rules: Sequence[Rule],
    catalogues: Sequence[Catalogue],
    index: RuleIndex | None = None,
) -> list[Diagnostic]:
    """Warn about needs a setting's catalogue cannot deliver at an age the setting serves."""
    index = index or RuleIndex(rules)
    out = []
    for need in ruleset.needs.values():
        for catalogue in sorted(catalogues, key=lambda c: c.setting):
            raised = ages_raised(need.id, rules, catalogue.setting, index)
            served = {a for i in catalogue.items for a in range(i.min_age, i.max_age + 1)}
            met = {
                a
                for i in catalogue.items
                if need.id in i.meets
                for a in range(i.min_age, i.max_age + 1)
            }
            missing = (raised & served) - met
            if not missing:
                continue
            message = (
                f"need {need.id!r} can be raised at ages {age_spans(missing)}, where the "
                f"{catalogue.setting} catalogue has no item for it"
            )
            if need.kind == "safety":
                message += "; plans there fall back to the need's generic protocol"
            out.append(_warn(need.location, message))
    return out


def runs_in_every_setting(ruleset: Ruleset) -> list[Diagnostic]:
    """Warn about a plugin's rules that run in every setting's plans: its ruleset says
    `applies_to: every-setting` and the rule does not test `setting` itself."""
    if ruleset.applies_to != EVERY_SETTING:
        return []
    return [
        _warn(
            rule.location,
            f"rule {rule.id!r} does not test `setting`, and its ruleset applies to every "
            "setting: it raises items in every setting's plans, other plugins' included",
        )
        for rule in ruleset.rules
        if not any(t.path == "setting" for t in comparisons(rule.when))
    ]


def lint_ruleset(
    ruleset: Ruleset,
    rules_in_play: Sequence[Rule],
    catalogues: Sequence[Catalogue],
    bands: Mapping[Band, tuple[int, int]] | None = None,
) -> list[Diagnostic]:
    """Every warning about one ruleset, given all rules and catalogues it runs with."""
    bands = bands or DEFAULT_BANDS
    index = RuleIndex(rules_in_play, bands)
    out: list[Diagnostic] = []
    for rule in ruleset.rules:
        dead = never_fires(rule, bands)
        found = [dead, short_because(rule)]
        if dead is None:
            found.append(shadowed_by(rule, rules_in_play, bands, index))
        out += [d for d in found if d is not None]
    out += unraised_needs(ruleset, rules_in_play)
    out += needs_without_plain(ruleset)
    out += missing_goals(ruleset)
    out += undelivered_needs(ruleset, rules_in_play, catalogues, index)
    return out
