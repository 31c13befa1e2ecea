"""The contenders, each a callable on one map, and how to read the rule indices that fired
from what it returns (read outside the timing: checking is the benchmark's work, not theirs).

Every contender is built once per ruleset size (outside the timing) and then called per map.
Inputs are prepared once per map too, the way each contender would receive them:
- end to end: a parsed BrainMap (validation is a separate, optional measurement);
- engine core, reference, peers: the flat fact built by nmt_rules.facts.to_facts;
- durable core, no layer: the fact JSON of every handle, serialised beforehand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import durable_rules_engine as core
from rulegen import (
    peer_derived,
    peer_derived_false,
    peer_fact,
    rule_engine_texts,
    rulesets_for,
    zen_decisions,
)

from nmt_rules import Planner
from nmt_rules.compile import Evaluation, Program
from nmt_rules.model import BrainMap, Plan
from nmt_rules.plan import SAFETY_FLOOR_RULE
from nmt_rules.plugins import PluginSet
from nmt_rules.reference import evaluate_reference
from nmt_rules.rules import Ruleset

Fired = frozenset[int]


@attrs.define
class Inputs:
    """One map prepared for every contender."""

    brain_map: BrainMap
    setting: str
    facts: dict[str, Any]  # the flat fact (to_facts)
    expected: Fired  # rule indices the reference fires
    durable_payloads: list[list[str]]  # per pass, per handle: fact JSON
    peer_fact: dict[str, Any]


def _as_fired(result: Any) -> Fired:
    return frozenset(result)


@attrs.define
class Contender:
    """A name, how to run one map, and how to read the firings from what it returned."""

    name: str
    run: Callable[[Inputs], Any]
    fired: Callable[[Any], Fired] = _as_fired  # rule indices, from what run returned
    closer: Callable[[], None] | None = None
    #: The rules whose firing what `run` returns can show (None: every rule).
    visible: frozenset[int] | None = None

    def expected(self, inputs: Inputs) -> Fired:
        """The firings this contender must report for one map."""
        return inputs.expected if self.visible is None else inputs.expected & self.visible


def planner_for(size: str, plugins: PluginSet) -> Planner:
    """The Planner of a benchmark size: its rulesets, with the installed setting catalogues."""
    return Planner(rulesets_for(size), plugins.catalogues, plugins)


def prepare(planner: Planner, brain_maps: Sequence[BrainMap]) -> list[Inputs]:
    """Facts, expected firings and pre-serialised JSON for every map."""
    from nmt_rules.facts import to_facts

    program = planner.internals.program
    out = []
    for brain_map in brain_maps:
        facts = to_facts(brain_map, program.fact_config)
        reference = evaluate_reference(program, facts)
        expected = frozenset(c.index for c in reference.fired)
        final = reference.facts  # derived facts as the passes see them (they only turn true)
        payloads = []
        for shards in program.passes:
            # As the engine does: one fact JSON per pass with the keys its handles read.
            keys = sorted({k for shard in shards for k in shard.keys})
            payload = {k: final[k] for k in keys if k in final}
            payload["sid"] = "1"
            payload["id"] = "f"
            payloads.append([json.dumps(payload, separators=(",", ":"))] * len(shards))
        setting = brain_map.setting or "school"
        out.append(Inputs(brain_map, setting, facts, expected, payloads, peer_fact(facts)))
    return out


def end_to_end(planner: Planner) -> Contender:
    """nmt-rules as a host calls it: facts, every pass, plan, catalogues, explanations.

    A plan shows every rule that raised a need (as an item's rule or `also`); a rule that
    only adds cautions or holds shows only where it touches an item, so firings are compared
    on the rules that raise needs (the engine-core contender checks the others)."""
    by_id = {c.rule.qualified_id: c.index for c in planner.internals.program.rules}
    raising = frozenset(c.index for c in planner.internals.program.rules if c.rule.needs)

    def run(inputs: Inputs) -> Plan:
        return planner.plan(inputs.brain_map, inputs.setting)

    def fired(plan: Plan) -> Fired:
        out = set()
        for item in plan.items:
            if item.rule != SAFETY_FLOOR_RULE:
                out.add(by_id[item.rule])
                out.update(by_id[r.rule] for r in item.also)
        return frozenset(out)

    return Contender("nmt_rules", run, fired, visible=raising)


def engine_core(planner: Planner) -> Contender:
    """Engine.evaluate: facts to firings."""
    engine = planner.internals.engine

    def run(inputs: Inputs) -> Evaluation:
        return engine.evaluate(inputs.facts)

    return Contender("engine_core", run, _evaluation_fired)


def durable_core(program: Program) -> Contender:
    """The same compiled shards on fresh handles, driven with nothing around them: the floor.

    Like the engine, it keeps one session per handle and asserts, drains and retracts."""
    handles = [
        [core.create_ruleset(f"floor-{s.name}", s.durable_json()) for s in shards]
        for shards in program.passes
    ]
    assert_fact = core.assert_fact
    start = core.start_action_for_state
    complete = core.complete_and_start_action
    retract = core.retract_fact

    def run(inputs: Inputs) -> list[int]:
        fired = []
        for pass_handles, payloads in zip(handles, inputs.durable_payloads, strict=True):
            for handle, fact in zip(pass_handles, payloads, strict=True):
                code, state = assert_fact(handle, fact)
                if code == 0:
                    result = start(handle, state)
                    action = result[1] if result else None
                    while action:
                        if not action.endswith('"$s":1}}}'):
                            fired.append(int(action[3 : action.index('"', 3)]))
                        action = complete(handle, state)
                retract(handle, fact)
        return fired

    def close() -> None:
        for row in handles:
            for handle in row:
                core.delete_ruleset(handle)

    return Contender("durable_core", run, closer=close)


def reference(program: Program) -> Contender:
    """The plain-Python evaluator of the compiled rules."""

    def run(inputs: Inputs) -> Evaluation:
        return evaluate_reference(program, inputs.facts)

    return Contender("reference", run, _evaluation_fired)


def _evaluation_fired(evaluation: Evaluation) -> Fired:
    return frozenset(c.index for c in evaluation.fired)


def _passes(
    program: Program, evaluators: Sequence[Callable[[Mapping[str, Any]], list[int]]]
) -> Callable[[Inputs], list[int]]:
    """Run per-pass evaluators with the derived facts set between passes, as the engine does."""
    derived = peer_derived(program)
    derived_false = peer_derived_false(program)

    def run(inputs: Inputs) -> list[int]:
        fact = dict(inputs.peer_fact)
        fact.update(derived_false)
        fired: list[int] = []
        for number, evaluate in enumerate(evaluators):
            if number:
                for index in fired:
                    for name in derived[index]:
                        fact[name] = True
            fired += evaluate(fact)
        return fired

    return run


def zen(program: Program) -> Contender:
    """zen-engine (GoRules): one decision table per pass, collect hit policy."""
    import zen as zen_engine

    engine = zen_engine.ZenEngine()
    decisions = [engine.create_decision(graph) for graph in zen_decisions(program)]

    def table(decision: Any) -> Callable[[Mapping[str, Any]], list[int]]:
        def evaluate(fact: Mapping[str, Any]) -> list[int]:
            return [int(row["rule"]) for row in decision.evaluate(fact)["result"]]

        return evaluate

    return Contender("zen", _passes(program, [table(d) for d in decisions]))


def rule_engine(program: Program) -> Contender:
    """rule-engine: one Rule per rule, evaluated on the flat fact."""
    import rule_engine as re_engine

    context = re_engine.Context(default_value=None)
    compiled = [
        [(index, re_engine.Rule(text, context=context)) for index, text in texts]
        for texts in rule_engine_texts(program)
    ]

    def rules(pass_rules: list[tuple[int, Any]]) -> Callable[[Mapping[str, Any]], list[int]]:
        def evaluate(fact: Mapping[str, Any]) -> list[int]:
            return [index for index, rule in pass_rules if rule.matches(fact)]

        return evaluate

    return Contender("rule_engine", _passes(program, [rules(p) for p in compiled]))


def conjunctive(rulesets: Sequence[Ruleset]) -> bool:
    """Whether every rule is a plain conjunction (what the peers are translated from)."""
    from nmt_rules.rules import AnyOf

    def has_any(condition: Any) -> bool:
        return isinstance(condition, AnyOf) or any(
            has_any(c) for c in getattr(condition, "children", ())
        )

    return not any(has_any(r.when) for rs in rulesets for r in rs.rules)
