"""A plain-Python evaluator of the compiled rules: the oracle the engine is tested against.

It reads the same durable JSON expressions but runs stage by stage, the simplest reading of
the semantics, so a difference from the engine exposes a fault in passes, sharding,
session handling or the C core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .compile import Evaluation, Program, expression_holds, set_derived
from .vocabulary import STAGES


def evaluate_reference(program: Program, facts: Mapping[str, Any]) -> Evaluation:
    """Evaluate every rule in plain Python, one stage at a time."""
    current = {**facts, **program.derived_false}
    fired: set[int] = set()
    for stage in STAGES:
        # Each stage sees the derived facts of the stages below it.
        stage_fired = [
            c.index
            for c in program.rules
            if c.rule.stage == stage and expression_holds(c.expression, current)
        ]
        set_derived(current, program, stage_fired)
        fired.update(stage_fired)
    return Evaluation(tuple(program.rules[i] for i in sorted(fired)), current)
