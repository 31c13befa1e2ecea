"""`nmt-rules explain`: the trace of one evaluation, stage by stage.

The engine runs rules in passes for speed; the trace is told the way the semantics reads,
one stage at a time from the bottom up: the facts asserted, then per stage the rules that
fired with the facts each matched, the needs raised, the derived facts the next stages see,
and the stage's plan items with what holds any deferred one.
"""

from __future__ import annotations

import difflib
import json
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

from .api import Planner
from .compile import CompiledRule, expression_holds
from .facts import FactField, decode_facts
from .model import BrainMap
from .plan import matched_facts
from .report import show_value
from .rules import AllOf, Comparison, Condition
from .vocabulary import STAGES, Stage


def explain(planner: Planner, brain_map: BrainMap, setting: str | None = None) -> dict[str, Any]:
    """The trace as plain data (what `--format json` prints)."""
    plan, evaluation = planner.plan_and_evaluation(brain_map, setting)
    program = planner.internals.program
    derived = set(program.derived_paths)
    facts = decode_facts(
        {k: v for k, v in evaluation.facts.items() if k not in derived}, program.need_stages
    )
    stages = []
    for stage in STAGES:
        fired = [c for c in evaluation.fired if c.rule.stage == stage]
        raised = sorted({ref.id for c in fired for ref in c.rule.needs})
        stages.append(
            {
                "stage": stage,
                "rules_fired": [
                    {
                        "rule": c.rule.qualified_id,
                        "because": c.rule.because,
                        "matched": matched_facts(c, evaluation.facts),
                        "needs": [ref.id for ref in c.rule.needs],
                        "location": str(c.rule.location),
                    }
                    for c in sorted(fired, key=lambda c: (c.rule.priority, c.rule.qualified_id))
                ],
                "needs_raised": raised,
                "derived": {
                    path: evaluation.facts[path]
                    for path in sorted(derived)
                    if _set_by(path, program.need_stages) == stage
                },
                "items": [
                    {
                        "need": item.need,
                        "status": item.status,
                        "indicator": item.indicator,
                        "held_by": list(item.held_by),
                        "released_when": item.released_when,
                        "released_by": item.released_by,
                        "cautions": [c.rule for c in item.cautions],
                    }
                    for item in plan.items
                    if item.stage == stage
                ],
            }
        )
    return {
        "subject_id": brain_map.subject.id,
        "assessed_on": brain_map.assessed_on.isoformat(),
        "setting": plan.setting,
        "plan_id": plan.plan_id,
        "facts": facts,
        "stages": stages,
    }


def _set_by(path: str, need_stages: Mapping[str, Stage]) -> str | None:
    """The stage whose rules set a derived fact (stage.<s>.unmet or needs.<need>)."""
    kind, name = path.split(".")[:2]
    return name if kind == "stage" else need_stages.get(name)


def trace_to_json(trace: dict[str, Any]) -> str:
    """The trace as JSON text."""
    return json.dumps(trace, indent=2, ensure_ascii=False)


def trace_to_text(trace: dict[str, Any], width: int = 88) -> str:
    """The trace for a person reading a terminal."""
    setting = f", setting {trace['setting']}" if trace["setting"] else ""
    out = [
        f"Trace for {trace['subject_id']}, assessed {trace['assessed_on']}{setting}"
        f" (plan {trace['plan_id']})",
        "",
        "Facts asserted:",
    ]
    out += [f"  {path} = {show_value(value)}" for path, value in trace["facts"].items()]
    for stage in trace["stages"]:
        out += ["", f"Stage {stage['stage']}:"]
        if not stage["rules_fired"]:
            out.append("  no rule fired")
        for fired in stage["rules_fired"]:
            out.append(f"  fired {fired['rule']}  ({fired['location']})")
            matched = ", ".join(f"{k}={show_value(v)}" for k, v in fired["matched"].items())
            out.append(f"    matched: {matched or '-'}")
            out.append(f"    raises: {', '.join(fired['needs'])}")
            out += textwrap.wrap(
                fired["because"], width, initial_indent="    because: ", subsequent_indent="      "
            )
        if stage["needs_raised"]:
            out.append(f"  needs raised: {', '.join(stage['needs_raised'])}")
        if stage["derived"]:
            shown = ", ".join(f"{k}={show_value(v)}" for k, v in stage["derived"].items())
            out.append(f"  derived for later stages: {shown}")
        for item in stage["items"]:
            if item["status"] == "deferred":
                out.append(f"  deferred {item['need']}: held by {', '.join(item['held_by'])}")
                out += textwrap.wrap(
                    item["released_when"] or "",
                    width,
                    initial_indent="    released when ",
                    subsequent_indent="      ",
                )
    return "\n".join(out) + "\n"


# --- why a rule did not fire ------------------------------------------------------------


def find_rule(planner: Planner, rule_id: str) -> CompiledRule | list[str]:
    """The compiled rule named `ruleset/rule` or, when unambiguous, `rule`; otherwise the
    qualified ids that come closest (for the error)."""
    rules = planner.internals.program.rules
    found = [c for c in rules if rule_id in (c.qualified_id, c.rule.id)]
    if len(found) == 1:
        return found[0]
    if found:
        return [c.qualified_id for c in found]
    known = [c.qualified_id for c in rules] + [c.rule.id for c in rules]
    return difflib.get_close_matches(rule_id, known, n=3)


def why_not(
    planner: Planner, brain_map: BrainMap, compiled: CompiledRule, setting: str | None = None
) -> dict[str, Any]:
    """Whether the rule fired for the map and, test by test, which held and which failed,
    with the fact values it saw (what `explain --why-not` prints)."""
    evaluation = planner.evaluate(brain_map, setting)
    expressions = iter(compiled.tests)
    rule = compiled.rule
    return {
        "rule": compiled.qualified_id,
        "location": str(rule.location),
        "subject_id": brain_map.subject.id,
        "fired": any(c.index == compiled.index for c in evaluation.fired),
        "when": _tested(rule.when, expressions, evaluation.facts),
    }


def _tested(
    condition: Condition,
    expressions: Iterator[tuple[FactField, dict[str, Any]]],
    facts: Mapping[str, Any],
) -> dict[str, Any]:
    """The condition tree with each test's outcome; tests come in compile order."""
    if isinstance(condition, Comparison):
        field, expression = next(expressions)
        value = facts.get(field.path)
        return {
            "test": _written(condition),
            "fact": field.path,
            "value": None if value is None else field.decode(value),
            "present": field.path in facts,
            "held": expression_holds(expression, facts),
        }
    children = [_tested(child, expressions, facts) for child in condition.children]
    group = "all" if isinstance(condition, AllOf) else "any"
    held = all if group == "all" else any
    return {group: children, "held": held(c["held"] for c in children)}


def _written(test: Comparison) -> str:
    """A test as the ruleset writes it."""
    value = json.dumps(test.value) if isinstance(test.value, bool) else test.value
    return f"{test.path}: {value}" if test.op == "eq" else f"{test.path}: {{{test.op}: {value}}}"


def why_not_to_text(result: dict[str, Any]) -> str:
    """Why a rule did (not) fire, for a person: each test, held or failed, with its fact."""
    verdict = "fired" if result["fired"] else "did not fire"
    out = [f"{result['rule']} ({result['location']}) {verdict} for {result['subject_id']}:"]
    out += _tree_lines(result["when"], 1)
    return "\n".join(out) + "\n"


def _tree_lines(node: dict[str, Any], depth: int) -> list[str]:
    pad = "  " * depth
    mark = "held  " if node["held"] else "FAILED"
    if "test" in node:
        seen = show_value(node["value"]) if node["present"] else "absent"
        return [f"{pad}{mark} {node['test']}   ({node['fact']} is {seen})"]
    group = "all" if "all" in node else "any"
    lines = [f"{pad}{mark} {group} of:"]
    for child in node[group]:
        lines += _tree_lines(child, depth + 1)
    return lines
