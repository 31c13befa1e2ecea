"""The durable-rules Host API used the way its README shows, run in its own process.

    python bench/hostapi.py SIZE MAPS SEED [--sessions]

Builds one `durable.lang` ruleset per pass with a `when_all` rule per compiled rule (the same
conditions), asserts each map's fact with `assert_fact` (into the default session, as the README does; with --sessions, one
session per map) and counts the actions that ran
against the reference's firings. It is generous to the Host API: each pass sees the derived
facts the reference computed, not the ones its own (lossy) firings would give. The Host runs
timer threads and has crashed in delete_state, so the benchmark runs this file in a
subprocess with a timeout and reads one JSON line from stdout.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from maps import brain_maps
from rulegen import program_for

from nmt_rules import parse_brain_map
from nmt_rules.facts import to_facts
from nmt_rules.reference import evaluate_reference

_ORDERED: dict[str, Callable[[Any, Any], Any]] = {
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$neq": lambda a, b: a != b,
}


def _lang(expression: dict[str, Any], m: Any) -> Any:
    """A compiled durable expression as durable.lang operators on `m`."""
    ((op, operand),) = expression.items()
    if op in ("$and", "$or"):
        parts = [_lang(e, m) for e in operand]
        out = parts[0]
        for part in parts[1:]:
            out = (out & part) if op == "$and" else (out | part)
        return out
    if op in ("$ex", "$nex"):
        ((key, _),) = operand.items()
        return +getattr(m, key) if op == "$ex" else -getattr(m, key)
    if op in _ORDERED:
        ((key, value),) = operand.items()
        return _ORDERED[op](getattr(m, key), value)
    return getattr(m, op) == operand


def _action(fired: dict[str, set[int]], index: int) -> Callable[[Any], None]:
    # One parameter only: durable calls a two-parameter action with a completion callback.
    def action(c: Any) -> None:
        fired[str(c.m.map)].add(index)

    action.__name__ = f"r{index}"
    return action


def main(size: str, count: int, seed: int, sessions: bool) -> dict[str, Any]:
    from durable.lang import assert_fact, m, ruleset, when_all

    _, program = program_for(size)
    fired: dict[str, set[int]] = defaultdict(set)
    names = []
    for number, shards in enumerate(program.passes):
        name = f"bench_{size}_p{number}"
        names.append(name)
        with ruleset(name):
            for compiled in (c for shard in shards for c in shard.rules):
                when_all(_lang(compiled.expression, m))(_action(fired, compiled.index))
    maps = [parse_brain_map(d) for d in brain_maps(count, seed)]
    expected: dict[str, frozenset[int]] = {}
    facts_of: list[dict[str, Any]] = []
    for number, brain_map in enumerate(maps):
        reference = evaluate_reference(program, to_facts(brain_map, program.fact_config))
        expected[str(number)] = frozenset(c.index for c in reference.fired)
        facts_of.append(dict(reference.facts))
    errors = 0
    start = time.perf_counter_ns()
    for number, facts in enumerate(facts_of):
        for name in names:
            fact = {**facts, "map": number}
            if sessions:  # a session per map, as the engine keeps them apart
                fact["sid"] = str(number)
            try:
                assert_fact(name, fact)
            except Exception:  # MessageNotHandledException when no rule matches
                errors += 1
    elapsed = time.perf_counter_ns() - start
    time.sleep(1.0)  # let any queued actions run; none are expected to arrive later
    want = sum(len(v) for v in expected.values())
    lost = sum(len(v ^ fired.get(k, set())) for k, v in expected.items())
    return {
        "maps": count,
        "maps_per_s": count / (elapsed / 1e9) if elapsed else 0.0,
        "expected_firings": want,
        "actions_run": sum(len(v) for v in fired.values()),
        "lost_firings": lost,
        "lost_pct": 100.0 * lost / want if want else 0.0,
        "assert_errors": errors,
    }


if __name__ == "__main__":
    result = main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), "--sessions" in sys.argv)
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    # Timer threads of the Host may keep the process alive: leave without waiting for them.
    import os

    os._exit(0)
