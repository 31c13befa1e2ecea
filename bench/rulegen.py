"""Generated rulesets shaped like real ones, and the same rules for the peer engines.

A generated ruleset is real ruleset YAML: it goes through the loader, the compiler and the
sharding like any program designer's file. It declares the core ruleset's needs, so the
setting catalogues resolve its items end to end. Rules look like the core ruleset's: band
thresholds on the rule's own domain and lower ones, age groups, developmental history,
current relational health, settings, change since the last assessment, safety flags, and
derived facts of lower stages (so the program runs in several passes). Many rules start
with the same few tests, as real rulesets do, which is what strains durable-rules' per-node
limits.

The peers get the compiled rules translated one to one: a zen-engine decision table (collect
hit policy) and one rule-engine Rule per rule, per pass, evaluated on the same flat fact
with the same derived facts between passes. Both must produce the reference's firings.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from nmt_rules.catalogue import CatalogueItem
from nmt_rules.compile import CompiledRule, Program, compile_rulesets
from nmt_rules.facts import fact_field
from nmt_rules.rules import AllOf, Comparison, Condition, Ruleset
from nmt_rules.ruleset import core_ruleset, parse_ruleset
from nmt_rules.vocabulary import (
    AGE_GROUPS,
    BANDS,
    DOMAINS,
    FUNCTIONS,
    PERIODS,
    SAFETY_FLAGS,
    STAGE_DOMAIN,
    STAGES,
    Stage,
)

Test = dict[str, Any]  # one YAML test: {path: value} or {path: {op: value}}

_STAGE_WEIGHTS = {"safety": 4, "sensory": 24, "regulation": 26, "relational": 26, "cognitive": 20}
_SETTINGS = ("school", "foster-care", "justice-reentry")


def _band_test(rng: random.Random, domain: str) -> Test:
    choice = rng.random()
    if choice < 0.5:
        return {f"bands.{domain}": {"lte": rng.choice(BANDS[:2])}}
    if choice < 0.8:
        return {f"bands.{domain}": rng.choice(BANDS[:3])}
    return {f"domains.{domain}": {"lt": rng.randrange(25, 60, 5)}}


def _context_test(rng: random.Random, stage: Stage) -> Test:
    kind = rng.randrange(9)
    if kind == 0:
        low = rng.randrange(len(AGE_GROUPS) - 1)
        return {"age.group": {"in": list(AGE_GROUPS[low : low + rng.randint(1, 3)])}}
    if kind == 1:
        return {"age.group": {"gte": rng.choice(AGE_GROUPS[1:4])}}
    if kind == 2:
        return {"history.early_adversity": {"gte": rng.choice(("moderate", "high"))}}
    if kind == 3:
        return {f"history.{rng.choice(PERIODS)}.adversity": "high"}
    if kind == 4:
        return {"relational_health_now": {"lte": rng.choice(("low", "moderate"))}}
    if kind == 5:
        return {"setting": {"in": rng.sample(_SETTINGS, rng.randint(1, 2))}}
    if kind == 6:
        return {f"change.{rng.choice(DOMAINS)}": rng.choice(("worse", "improved"))}
    if kind == 7:
        own = [f for f, d in FUNCTIONS.items() if stage == "safety" or d == STAGE_DOMAIN[stage]]
        return {f"function_bands.{rng.choice(own)}": {"lte": "moderate"}}
    return {"history.high_adversity_periods": {"gte": rng.randint(1, 3)}}


def _rule(
    rng: random.Random, number: int, stage: Stage, needs_of: Mapping[Stage, list[str]]
) -> dict[str, Any]:
    when: list[Test] = []
    if stage == "safety":
        when.append({f"flags.{rng.choice(SAFETY_FLAGS)}": True})
    else:
        domain = STAGE_DOMAIN[stage]
        lower = STAGES[1 : STAGES.index(stage)]
        # Shared conditions: most rules of a stage open with one of a few band tests.
        opener = rng.choice(
            ({f"bands.{domain}": {"lte": "moderate"}}, {f"bands.{domain}": "severe"}, None)
        )
        when.append(opener or _band_test(rng, domain))
        if lower and rng.random() < 0.25:
            low = rng.choice(lower)
            if rng.random() < 0.5:
                when.append({f"stage.{low}.unmet": rng.random() < 0.6})
            else:
                when.append({f"needs.{rng.choice(needs_of[low])}": True})
    for _ in range(rng.randint(1, 2)):
        test = _context_test(rng, stage)
        if all(next(iter(t)) != next(iter(test)) for t in when):
            when.append(test)
    count = 1 if rng.random() < 0.85 else 2
    return {
        "id": f"gen-{stage}-{number}",
        "when": when,
        "needs": rng.sample(needs_of[stage], min(count, len(needs_of[stage]))),
        "because": f"Generated rule {number} of the benchmark ({stage}).",
        "priority": rng.randint(1, 200),
    }


def _protocol_item(item: CatalogueItem) -> dict[str, Any]:
    """A core need's protocol item as YAML data (generated rulesets declare the core needs)."""
    entry: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "description": item.description,
        "modality": item.modality,
        "delivered_by": list(item.delivered_by),
        "audience": list(item.audience),
        "ages": {"min": item.min_age, "max": item.max_age},
    }
    if item.dose is not None:
        entry["dose"] = {"frequency": item.dose.frequency, "duration": item.dose.duration}
    return entry


def generated_yaml(rule_count: int, seed: int = 1) -> str:
    """Ruleset YAML with `rule_count` rules, declaring the core ruleset's needs."""
    rng = random.Random(seed * 1_000_003 + rule_count)
    core = core_ruleset()
    needs: dict[str, Any] = {}
    needs_of: dict[Stage, list[str]] = {s: [] for s in STAGES}
    for need in core.needs.values():
        entry: dict[str, Any] = {
            "stage": need.stage,
            "kind": need.kind,
            "sequencing": need.sequencing,
            "title": need.title,
            "description": need.description,
            "audience": list(need.audience),
        }
        if need.protocol:
            entry["protocol"] = [_protocol_item(item) for item in need.protocol]
        needs[need.id] = entry
        needs_of[need.stage].append(need.id)
    stages: dict[str, list[dict[str, Any]]] = {s: [] for s in STAGES}
    population = list(_STAGE_WEIGHTS)
    weights = list(_STAGE_WEIGHTS.values())
    for number in range(rule_count):
        stage: Stage = rng.choices(population, weights)[0]  # type: ignore[assignment]
        stages[stage].append(_rule(rng, number, stage, needs_of))
    document = {
        "ruleset": f"bench-generated-{rule_count}",
        "version": "1.0.0",
        "description": "Generated by bench/rulegen.py.",
        "bands": {band: list(span) for band, span in (core.bands or {}).items()},
        "needs": needs,
        "stages": {s: rules for s, rules in stages.items() if rules},
    }
    return yaml.safe_dump(document, sort_keys=False, width=100)


def generated_ruleset(rule_count: int, seed: int = 1) -> Ruleset:
    """The generated ruleset, loaded through the real loader."""
    return parse_ruleset(generated_yaml(rule_count, seed), f"<generated-{rule_count}>", "bench")


def rulesets_for(size: str) -> list[Ruleset]:
    """The rulesets of a benchmark size: 'core' or a rule count."""
    return [core_ruleset()] if size == "core" else [generated_ruleset(int(size))]


def program_for(size: str) -> tuple[Sequence[Ruleset], Program]:
    """Rulesets and compiled program of a benchmark size: 'core' or a rule count."""
    rulesets = rulesets_for(size)
    return rulesets, compile_rulesets(rulesets)


# --- peers ---------------------------------------------------------------------------------

_NAME = re.compile(r"[^a-z0-9_]")


def peer_name(path: str) -> str:
    """A fact path as an identifier both peers accept (a.b-c -> a__b_c)."""
    return _NAME.sub("_", path.replace(".", "__"))


def peer_fact(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The flat fact with peer-friendly names (done once per map, outside the timing)."""
    return {peer_name(k): v for k, v in facts.items()}


def _leaves(condition: Condition) -> list[Comparison]:
    if isinstance(condition, Comparison):
        return [condition]
    if not isinstance(condition, AllOf):
        raise ValueError("peers are translated from rules without `any`")
    return [leaf for child in condition.children for leaf in _leaves(child)]


def _literal(value: Any) -> str:
    return json.dumps(value)


def _encoded(program: Program, test: Comparison) -> Any:
    field = fact_field(test.path, program.need_stages)
    assert field is not None
    if test.op in ("in", "not_in"):
        return [field.encode(v) for v in test.value]
    return field.encode(test.value)


_OPS = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def _test_text(program: Program, test: Comparison, name: str) -> str:
    """One test as an expression both peers read (`name` is `$` in a zen cell)."""
    value = _encoded(program, test)
    guard = f"{name} != null and "
    if test.op == "exists":
        return f"{name} {'!=' if value else '=='} null"
    if test.op == "in":
        return f"{guard}{name} in [{', '.join(_literal(v) for v in value)}]"
    if test.op == "not_in":
        return f"{guard}not ({name} in [{', '.join(_literal(v) for v in value)}])"
    return f"{guard}{name} {_OPS[test.op]} {_literal(value)}"


def zen_decisions(program: Program) -> list[str]:
    """One JDM decision graph per pass: a decision table, collect hit policy."""
    graphs = []
    for shards in program.passes:
        rules = [c for shard in shards for c in shard.rules]
        columns: dict[str, str] = {}
        rows = []
        for compiled in rules:
            cells: dict[str, list[str]] = {}
            for test in _leaves(compiled.rule.when):
                column = columns.setdefault(test.path, f"i{len(columns)}")
                cells.setdefault(column, []).append(_test_text(program, test, "$"))
            row = {"_id": f"r{compiled.index}", "o": str(compiled.index)}
            row.update({column: " and ".join(texts) for column, texts in cells.items()})
            rows.append(row)
        for row in rows:
            for column in columns.values():
                row.setdefault(column, "")
        table = {
            "hitPolicy": "collect",
            "inputs": [{"id": c, "name": p, "field": peer_name(p)} for p, c in columns.items()],
            "outputs": [{"id": "o", "name": "rule", "field": "rule"}],
            "rules": rows,
        }
        at = {"x": 0, "y": 0}
        graphs.append(
            json.dumps(
                {
                    "nodes": [
                        {"id": "in", "type": "inputNode", "name": "request", "position": at},
                        {
                            "id": "table",
                            "type": "decisionTableNode",
                            "name": "rules",
                            "position": at,
                            "content": table,
                        },
                        {"id": "out", "type": "outputNode", "name": "response", "position": at},
                    ],
                    "edges": [
                        {"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
                        {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"},
                    ],
                }
            )
        )
    return graphs


def rule_engine_texts(program: Program) -> list[list[tuple[int, str]]]:
    """Per pass, (rule index, rule-engine expression) for every rule."""
    out = []
    for shards in program.passes:
        texts = []
        for compiled in (c for shard in shards for c in shard.rules):
            parts = [
                f"({_test_text(program, t, peer_name(t.path))})"
                for t in _leaves(compiled.rule.when)
            ]
            texts.append((compiled.index, " and ".join(parts)))
        out.append(texts)
    return out


def peer_derived(program: Program) -> list[tuple[str, ...]]:
    """Per rule, the peer names of the derived facts it sets when it fires."""
    return [tuple(peer_name(p) for p in paths) for paths in program.derived_by_rule]


def peer_derived_false(program: Program) -> dict[str, bool]:
    """Every derived fact false, by peer name."""
    return {peer_name(p): False for p in program.derived_paths}


def by_pass(program: Program) -> list[list[CompiledRule]]:
    """The compiled rules of each pass."""
    return [[c for shard in shards for c in shard.rules] for shards in program.passes]


Evaluator = Callable[[Mapping[str, Any]], frozenset[int]]
