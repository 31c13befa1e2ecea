"""Where one plan's time goes: `python bench/breakdown.py [core|200|1000|4000] [maps]`.

Interleaved rounds on the same maps, best round per step (the machines are shared and
noisy), all in microseconds per map:
- floor: the durable C core alone on the same shards (`contenders.durable_core`),
- facts: `to_facts`, the flat fact of a parsed map,
- engine layer: `Engine.evaluate` minus the floor (pass facts, derived facts, firings),
- plan: `Planner.plan` minus facts and `Engine.evaluate` (explanations, order, deferral,
  catalogue delivery, progress, plan id),
and what constructing one `PlanItem` and one `Reason` costs, with the counts per plan.
"""

from __future__ import annotations

import statistics
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from typing import Any

import contenders as c
from maps import brain_maps

from nmt_rules import PlanItem, Reason
from nmt_rules.brainmap import parse_brain_map
from nmt_rules.facts import to_facts
from nmt_rules.plugins import load_plugins


def _best(
    steps: dict[str, Callable[[c.Inputs], Any]], inputs: Sequence[c.Inputs]
) -> dict[str, float]:
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(5):
        for name, step in steps.items():
            started = time.perf_counter()
            for item in inputs:
                step(item)
            best[name] = min(best[name], (time.perf_counter() - started) / len(inputs) * 1e6)
    return best


def _construction_us(make: Callable[[], object]) -> float:
    return min(timeit.repeat(make, number=20_000, repeat=5)) / 20_000 * 1e6


def main(argv: Sequence[str]) -> int:
    size = argv[0] if argv else "core"
    count = int(argv[1]) if len(argv) > 1 else 1000
    planner = c.planner_for(size, load_plugins())
    inputs = c.prepare(planner, [parse_brain_map(d) for d in brain_maps(count)])
    config = planner.internals.program.fact_config
    floor = c.durable_core(planner.internals.program)
    steps: dict[str, Callable[[c.Inputs], Any]] = {
        "floor": floor.run,
        "facts": lambda i: to_facts(i.brain_map, config),
        "evaluate": lambda i: planner.internals.engine.evaluate(i.facts),
        "end to end": lambda i: planner.plan(i.brain_map, i.setting),
    }
    for step in steps.values():  # warm up, as the benchmark does
        for item in inputs:
            step(item)
    t = _best(steps, inputs)
    assert floor.closer is not None
    floor.closer()
    plans = [planner.plan(i.brain_map, i.setting) for i in inputs]
    items = statistics.mean(len(p.items) for p in plans)
    reasons = statistics.mean(sum(1 + len(i.also) for i in p.items) for p in plans)
    sample = next(item for plan in plans for item in plan.items)  # some maps raise no need
    fields = tuple(getattr(sample, a.name) for a in PlanItem.__attrs_attrs__)
    item_us = _construction_us(lambda: PlanItem(*fields))
    reason_us = _construction_us(lambda: Reason(sample.rule, sample.because, sample.matched))
    rows = [
        ("floor (durable C core)", t["floor"]),
        ("facts", t["facts"]),
        ("engine layer", t["evaluate"] - t["floor"]),
        ("plan", t["end to end"] - t["evaluate"] - t["facts"]),
        ("end to end", t["end to end"]),
    ]
    print(f"ruleset {size}: {len(planner.internals.program.rules)} rules, {count} maps, us per map")
    for name, us in rows:
        print(f"  {name:24s} {us:8.1f}")
    print(f"  end to end / floor       {t['floor'] / t['end to end']:8.2f}x")
    print(f"  Python beyond the floor  {t['end to end'] - t['floor']:8.1f}")
    print(f"  0.6x would allow         {t['floor'] / 0.6 - t['floor']:8.1f}")
    print(
        f"per plan: {items:.1f} items x {item_us:.2f} us and {reasons:.1f} reasons x "
        f"{reason_us:.2f} us = {items * item_us + reasons * reason_us:.1f} us of construction"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
