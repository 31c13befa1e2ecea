"""Combine validated rulesets into one program of durable-rules JSON, sharded and staged.

Everything that can be decided once is decided here, not per evaluation: which fact keys
each durable handle needs, which rules may run together (passes), and how rules are spread
over handles so no node of the durable network exceeds its limits. The few helpers that
read a compiled program at run time (an evaluation's result, setting derived facts, testing
an expression) live here too, so the engine, the plan and the test oracle (reference.py)
share them without depending on each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from .errors import Diagnostic, RulesetError
from .facts import DEFAULT_BANDS, FactConfig, FactField, fact_field
from .rules import AllOf, AnyOf, Comparison, Condition, Need, Rule, Ruleset, comparisons
from .vocabulary import STAGES, Stage

#: Sum of comparison counts of the rules on one durable handle. One network node may link
#: to at most 256 join nodes and hangs past ~512 children; staying under 200 keeps every node
#: of a handle well inside both limits whatever the rules share.
SHARD_CAPACITY: Final = 200


@attrs.frozen
class CompiledRule:
    """A rule with what the engine and the oracle need at run time."""

    index: int
    rule: Rule
    expression: dict[str, Any]  # durable-rules condition on the fact alias "m"
    derived: tuple[str, ...]  # derived fact paths it reads
    pass_index: int
    tests: tuple[tuple[FactField, dict[str, Any]], ...]  # each comparison's field and expression
    #: Decided once here so a plan does no per-call work for it: how fired rules are ordered,
    #: and, for a rule whose every test must hold for it to fire (no `any`), the fields it
    #: matched with their enum names (None for a rule that needs its tests re-checked).
    sort_key: tuple[int, str] = attrs.field(init=False, repr=False, eq=False)
    qualified_id: str = attrs.field(init=False, repr=False, eq=False)
    matched_fields: tuple[tuple[str, tuple[str, ...] | None], ...] | None = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "qualified_id", self.rule.qualified_id)
        object.__setattr__(self, "sort_key", (self.rule.priority, self.qualified_id))
        conjunctive = not _has_any(self.rule.when)
        fields: dict[str, tuple[str, ...] | None] = {}
        for field, _ in self.tests:
            fields[field.path] = field.values if field.kind == "enum" else None
        object.__setattr__(self, "matched_fields", tuple(fields.items()) if conjunctive else None)


def _has_any(condition: Condition) -> bool:
    if isinstance(condition, AnyOf):
        return True
    if isinstance(condition, AllOf):
        return any(_has_any(c) for c in condition.children)
    return False


@attrs.frozen
class Shard:
    """The rules of one durable handle, and the fact keys they read."""

    name: str
    rules: tuple[CompiledRule, ...]
    keys: tuple[str, ...]

    def durable_json(self) -> str:
        """The ruleset JSON `create_ruleset` accepts."""
        return json.dumps({f"r{c.index}": {"all": [{"m": c.expression}]} for c in self.rules})


@attrs.frozen
class Program:
    """Every loaded ruleset compiled: rules, needs, shards per pass, and fact settings."""

    rulesets: tuple[Ruleset, ...]
    rules: tuple[CompiledRule, ...]
    needs: Mapping[str, Need]
    passes: tuple[tuple[Shard, ...], ...]
    fact_config: FactConfig
    derived_paths: tuple[str, ...]
    need_stages: Mapping[str, Stage]  # stage of every need
    #: For each rule (by index), the derived paths that turn true when it fires.
    derived_by_rule: tuple[tuple[str, ...], ...] = attrs.field(init=False, repr=False, eq=False)
    #: Every derived path, false: the state before any rule fired.
    derived_false: Mapping[str, bool] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        derived = set(self.derived_paths)
        sets: list[tuple[str, ...]] = []
        for compiled in self.rules:
            rule = compiled.rule
            paths = [f"needs.{ref.id}" for ref in rule.needs]
            if any(self.needs[ref.id].kind == "intervention" for ref in rule.needs):
                paths.append(f"stage.{rule.stage}.unmet")
            sets.append(tuple(dict.fromkeys(p for p in paths if p in derived)))
        object.__setattr__(self, "derived_by_rule", tuple(sets))
        object.__setattr__(self, "derived_false", dict.fromkeys(self.derived_paths, False))


def compile_rulesets(rulesets: Sequence[Ruleset], shard_capacity: int = SHARD_CAPACITY) -> Program:
    """Check the rulesets fit together and compile them; raise RulesetError if not."""
    if not rulesets:
        raise RulesetError([Diagnostic("<rulesets>", 1, 1, "error", "no ruleset to compile")])
    needs = _combined_needs(rulesets)
    need_stages = {n.id: n.stage for n in needs.values()}
    rules = [rule for ruleset in rulesets for rule in ruleset.rules]
    primary = rulesets[0]
    config = _fact_config(primary)
    compiled = _assign_passes(rules, need_stages)
    n_passes = 1 + max((c.pass_index for c in compiled), default=0)
    passes = tuple(
        _shards([c for c in compiled if c.pass_index == p], p, shard_capacity, need_stages)
        for p in range(n_passes)
    )
    derived = sorted({path for c in compiled for path in c.derived})
    return Program(
        tuple(rulesets), tuple(compiled), needs, passes, config, tuple(derived), need_stages
    )


def _fact_config(primary: Ruleset) -> FactConfig:
    """The primary ruleset's cut-points and thresholds; defaults where it sets none."""
    return FactConfig(primary.bands or DEFAULT_BANDS, **primary.settings)


def _combined_needs(rulesets: Sequence[Ruleset]) -> dict[str, Need]:
    problems: list[Diagnostic] = []
    names: dict[str, str] = {}
    needs: dict[str, Need] = {}
    for ruleset in rulesets:
        if ruleset.name in names:
            problems.append(
                Diagnostic(
                    ruleset.source,
                    1,
                    1,
                    "error",
                    f"ruleset {ruleset.name!r} is also loaded from {names[ruleset.name]}",
                )
            )
        names[ruleset.name] = ruleset.source
        if ruleset is not rulesets[0] and ruleset.bands is not None:
            problems.append(
                Diagnostic(
                    ruleset.source, 1, 1, "error", "only the primary (first) ruleset may set bands"
                )
            )
        for need in ruleset.needs.values():
            if need.id in needs:
                first = needs[need.id].location
                problems.append(
                    _at(need.location, f"need {need.id!r} is already declared at {first}")
                )
            else:
                needs[need.id] = need
    for ruleset in rulesets:
        for rule in ruleset.rules:
            for ref in rule.needs:
                raised = needs.get(ref.id)
                if raised is None:
                    problems.append(
                        _at(ref.location, f"rule {rule.id!r} raises undeclared need {ref.id!r}")
                    )
                elif raised.stage != rule.stage:
                    problems.append(
                        _at(
                            ref.location,
                            f"need {ref.id!r} belongs to stage {raised.stage}, not {rule.stage}",
                        )
                    )
            for test in comparisons(rule.when):
                if test.path.startswith("needs.") and test.path[6:] not in needs:
                    problems.append(_at(test.location, f"unknown need in {test.path!r}"))
            problems += _hold_problems(rule, needs)
            for caution in rule.cautions:
                problems += [
                    _at(rule.location, f"rule {rule.id!r} cautions undeclared need {n!r}")
                    for n in caution.needs
                    if n not in needs
                ]
    if problems:
        raise RulesetError(problems)
    return needs


def _hold_problems(rule: Rule, needs: Mapping[str, Need]) -> list[Diagnostic]:
    """A rule may hold back only demands: foundations and safety never wait."""
    out = []
    for hold in rule.holds:
        for ref in (*hold.needs, *hold.by):
            if ref.id not in needs:
                out.append(_at(ref.location, f"rule {rule.id!r} names undeclared need {ref.id!r}"))
        for ref in hold.needs:
            need = needs.get(ref.id)
            if need is not None and need.sequencing != "demand":
                out.append(
                    _at(
                        ref.location,
                        f"need {ref.id!r} is a foundation: foundations never wait, so a rule may "
                        "caution it but not hold it",
                    )
                )
    return out


def _at(location: Any, message: str) -> Diagnostic:
    return Diagnostic(location.file, location.line, location.col, "error", message)


def _assign_passes(rules: Sequence[Rule], need_stages: Mapping[str, Stage]) -> list[CompiledRule]:
    """Rules that read no derived fact run in pass 0 whatever their stage; a rule that reads a
    stage's derived facts runs one pass after the last pass holding a rule of that stage.
    This gives the same firings as running stages one by one, in fewer round trips."""
    last_pass: dict[Stage, int] = {}
    compiled: list[CompiledRule] = []
    for stage in STAGES:
        stage_passes = [-1]
        for rule in (r for r in rules if r.stage == stage):
            derived = tuple(
                sorted(
                    {t.path for t in comparisons(rule.when) if _derived_stage(t.path, need_stages)}
                )
            )
            sources = {_derived_stage(p, need_stages) for p in derived}
            pass_index = 1 + max((last_pass.get(s, -1) for s in sources if s), default=-1)
            expression = _expression(rule.when, need_stages)
            tests = tuple(
                (field, _comparison(t, field))
                for t in comparisons(rule.when)
                for field in [_field(t.path, need_stages)]
            )
            compiled.append(
                CompiledRule(len(compiled), rule, expression, derived, pass_index, tests)
            )
            stage_passes.append(pass_index)
        last_pass[stage] = max(stage_passes)
    return compiled


def _derived_stage(path: str, need_stages: Mapping[str, Stage]) -> Stage | None:
    field = fact_field(path, need_stages)
    return field.derived_from if field else None


def _field(path: str, need_stages: Mapping[str, Stage]) -> FactField:
    field = fact_field(path, need_stages)
    assert field is not None, path  # the loader checked every path
    return field


def _expression(condition: Condition, need_stages: Mapping[str, Stage]) -> dict[str, Any]:
    if isinstance(condition, AllOf | AnyOf):
        parts = [_expression(c, need_stages) for c in condition.children]
        if len(parts) == 1:
            return parts[0]
        return {"$and" if isinstance(condition, AllOf) else "$or": parts}
    return _comparison(condition, _field(condition.path, need_stages))


def _comparison(test: Comparison, field: FactField) -> dict[str, Any]:
    key = test.path
    match test.op:
        case "eq":
            return {key: field.encode(test.value)}
        case "ne":
            return {"$neq": {key: field.encode(test.value)}}
        case "lt" | "lte" | "gt" | "gte":
            return {f"${test.op}": {key: field.encode(test.value)}}
        case "in":
            options = [{key: field.encode(v)} for v in test.value]
            return options[0] if len(options) == 1 else {"$or": options}
        case "not_in":
            excluded = [{"$neq": {key: field.encode(v)}} for v in test.value]
            return excluded[0] if len(excluded) == 1 else {"$and": excluded}
        case "exists":
            return {"$ex" if test.value else "$nex": {key: 1}}
    raise AssertionError(test.op)


def _shards(
    rules: Sequence[CompiledRule], pass_index: int, capacity: int, need_stages: Mapping[str, Stage]
) -> tuple[Shard, ...]:
    shards: list[Shard] = []
    current: list[CompiledRule] = []
    weight = 0
    for rule in rules:
        cost = max(1, sum(_cost(t) for t in comparisons(rule.rule.when)))
        if current and weight + cost > capacity:
            shards.append(_shard(current, pass_index, len(shards)))
            current, weight = [], 0
        current.append(rule)
        weight += cost
    if current:
        shards.append(_shard(current, pass_index, len(shards)))
    return tuple(shards)


def _cost(test: Comparison) -> int:
    return len(test.value) if test.op in ("in", "not_in") else 1


def _shard(rules: list[CompiledRule], pass_index: int, number: int) -> Shard:
    keys = sorted({t.path for c in rules for t in comparisons(c.rule.when)})
    return Shard(f"p{pass_index}s{number}", tuple(rules), tuple(keys))


# --- shared by the engine, the plan and the oracle (reference.py) ------------------------


@attrs.frozen
class Evaluation:
    """What one evaluation produced: the fired rules in compile order, and the final facts.

    `facts` are as the engine sees them (ordered enums as ordinals, derived facts included);
    `fired` holds each rule with its compiled form (`.rule` is the Rule)."""

    fired: tuple[CompiledRule, ...]
    facts: Mapping[str, Any]

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules that fired, in compile order."""
        return tuple(c.rule for c in self.fired)


def set_derived(facts: dict[str, Any], program: Program, fired: Iterable[int]) -> None:
    """Turn true the derived facts (stage.*.unmet, needs.*) that fired rules set."""
    derived_by_rule = program.derived_by_rule
    for index in fired:
        for path in derived_by_rule[index]:
            facts[path] = True


_ORDERED_OPS: Final = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def expression_holds(expression: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether a durable-rules expression holds for the facts (absent fields never match)."""
    ((op, operand),) = expression.items()
    if op == "$and":
        return all(expression_holds(e, facts) for e in operand)
    if op == "$or":
        return any(expression_holds(e, facts) for e in operand)
    if op in ("$ex", "$nex"):
        ((key, _),) = operand.items()
        return (key in facts) == (op == "$ex")
    if op == "$neq":
        ((key, value),) = operand.items()
        return key in facts and facts[key] != value
    if op in _ORDERED_OPS:
        ((key, value),) = operand.items()
        return key in facts and _ORDERED_OPS[op](facts[key], value)
    # Equality: a boolean never equals a number, as in the C core's typed comparison.
    return (
        op in facts
        and facts[op] == operand
        and isinstance(facts[op], bool) == isinstance(operand, bool)
    )
