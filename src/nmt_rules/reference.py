"""A plain-Python evaluator of the compiled rules: the oracle the engine is tested against.

It reads the same durable JSON expressions but runs stage by stage, the simplest reading of
the semantics, so a difference from the engine exposes a fault in passes, sharding,
session handling or the C core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .compile import Program
from .engine import Evaluation, set_derived
from .vocabulary import STAGES

_ORDERED = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}


def evaluate_reference(program: Program, facts: Mapping[str, Any]) -> Evaluation:
    """Evaluate every rule in plain Python, one stage at a time."""
    current = {**facts, **program.derived_false}
    fired: set[int] = set()
    for stage in STAGES:
        # Each stage sees the derived facts of the stages below it.
        stage_fired = [
            c.index for c in program.rules if c.rule.stage == stage and holds(c.expression, current)
        ]
        set_derived(current, program, stage_fired)
        fired.update(stage_fired)
    return Evaluation(tuple(program.rules[i] for i in sorted(fired)), current)


def holds(expression: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether a durable-rules expression holds for the facts (absent fields never match)."""
    ((op, operand),) = expression.items()
    if op == "$and":
        return all(holds(e, facts) for e in operand)
    if op == "$or":
        return any(holds(e, facts) for e in operand)
    if op in ("$ex", "$nex"):
        ((key, _),) = operand.items()
        return (key in facts) == (op == "$ex")
    if op == "$neq":
        ((key, value),) = operand.items()
        return key in facts and facts[key] != value
    if op in _ORDERED:
        ((key, value),) = operand.items()
        return key in facts and _ORDERED[op](facts[key], value)
    # Equality: a boolean never equals a number, as in the C core's typed comparison.
    return (
        op in facts
        and facts[op] == operand
        and isinstance(facts[op], bool) == isinstance(operand, bool)
    )
