"""The durable engine against the plain-Python oracle, under load and from many threads."""

from __future__ import annotations

import concurrent.futures
import os
from importlib import resources
from pathlib import Path
from typing import Any

import durable_rules_engine
import pytest
from hypothesis import HealthCheck, given, settings

from nmt_rules import EngineError, Planner, core_ruleset, parse_brain_map, recommend
from nmt_rules.compile import compile_rulesets
from nmt_rules.engine import Engine
from nmt_rules.facts import to_facts
from nmt_rules.reference import evaluate_reference
from nmt_rules.ruleset import parse_ruleset

from .conftest import make_map
from .strategies import brain_maps


def _firings(engine: Engine, data: dict[str, Any]) -> tuple[list[str], list[str]]:
    program = engine.program
    facts = to_facts(parse_brain_map(data), program.fact_config)
    got = [c.rule.qualified_id for c in engine.evaluate(facts).fired]
    want = [c.rule.qualified_id for c in evaluate_reference(program, facts).fired]
    return got, want


@pytest.fixture(scope="module")
def core_engine() -> Engine:
    return Engine(compile_rulesets([core_ruleset()]))


@pytest.fixture(scope="module")
def sharded_engine() -> Engine:
    """The core ruleset spread over many small handles and several passes."""
    return Engine(compile_rulesets([core_ruleset()], shard_capacity=7))


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=brain_maps())
def test_engine_fires_exactly_what_the_oracle_fires(
    core_engine: Engine, data: dict[str, Any]
) -> None:
    got, want = _firings(core_engine, data)
    assert got == want


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=brain_maps())
def test_sharding_loses_no_firing(sharded_engine: Engine, data: dict[str, Any]) -> None:
    assert len(sharded_engine.program.passes[0]) > 10
    got, want = _firings(sharded_engine, data)
    assert got == want


def test_core_ruleset_fires_something_for_a_struggling_child(core_engine: Engine) -> None:
    # Guards the oracle test against passing because nothing ever fires.
    got, _ = _firings(core_engine, make_map(sensory=20, regulation=20, relational=20, cognitive=20))
    assert len(got) >= 5


DERIVED = """
ruleset: derived-demo
version: "1"
needs:
  calm-body: {stage: sensory, kind: intervention, sequencing: foundation, title: Calm the body}
  steady-days: {stage: regulation, kind: intervention, sequencing: foundation, title: Steady days}
  teach-adults: {stage: regulation, kind: education, sequencing: foundation, title: Teach adults}
  connect: {stage: relational, kind: intervention, sequencing: foundation, title: Connect}
  think: {stage: cognitive, kind: intervention, sequencing: foundation, title: Think}
stages:
  sensory:
    - id: body
      when: [{bands.sensory_integration: severe}]
      needs: [calm-body]
      because: Severe sensory.
  regulation:
    - id: steady-after-sensory
      when: [{stage.sensory.unmet: true}]
      needs: [steady-days]
      because: Sensory unmet.
    - id: teach-when-calm-body
      when: [{needs.calm-body: true}]
      needs: [teach-adults]
      because: Calm body raised.
  relational:
    - id: connect-when-regulation-met
      when: [{stage.regulation.unmet: false}, {bands.relational: {lte: moderate}}]
      needs: [connect]
      because: Regulation met.
  cognitive:
    - id: think-when-unrated
      when: [{functions.attention: {exists: false}}, {bands.cognitive: {lt: typical}}]
      needs: [think]
      because: Attention not rated.
"""


def test_derived_facts_flow_up_through_passes() -> None:
    program = compile_rulesets([parse_ruleset(DERIVED, "derived.yaml")])
    assert len(program.passes) == 3  # sensory -> regulation -> relational chain
    engine = Engine(program)
    got, want = _firings(engine, make_map(sensory=10, relational=40, cognitive=40))
    assert (
        got
        == want
        == [
            "derived-demo/body",
            "derived-demo/steady-after-sensory",
            "derived-demo/teach-when-calm-body",
            "derived-demo/think-when-unrated",
        ]
    )
    got, want = _firings(engine, make_map(sensory=90, relational=40, cognitive=90))
    assert got == want == ["derived-demo/connect-when-regulation-met"]


def test_exists_false_rules_fire_on_the_map_not_on_the_session_state() -> None:
    engine = Engine(compile_rulesets([parse_ruleset(DERIVED, "derived.yaml")]))
    for _ in range(3):  # the long-lived session must not replay earlier firings
        got, _ = _firings(engine, make_map(cognitive=40))
        assert got == ["derived-demo/think-when-unrated"]
        got, _ = _firings(engine, make_map(cognitive=40, functions={"attention": 50}))
        assert got == []


def test_plans_from_many_threads_match_serial_plans(planner: Planner) -> None:
    maps = [
        make_map(age=age, sensory=s, regulation=(s * 7) % 100, flags=["self_harm"] if s % 3 else [])
        for age in (3, 9, 15, 22, 40)
        for s in range(0, 100, 9)
    ]
    serial = [planner.plan(m) for m in maps]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(4):
            threaded = list(pool.map(planner.plan, maps))
            assert threaded == serial


def test_many_engines_can_live_and_die_side_by_side() -> None:
    # durable-rules crashed the process when sessions were created and deleted per
    # evaluation across many handles; this is the load that exposed it.
    program = compile_rulesets([core_ruleset()])
    keep = [Engine(program) for _ in range(4)]
    data = make_map(sensory=20, regulation=30, flags=["aggression"])
    expected, _ = _firings(keep[0], data)
    for _ in range(30):
        for engine in keep:
            assert _firings(engine, data)[0] == expected
        temporary = Engine(program)
        assert _firings(temporary, data)[0] == expected
        temporary.close()


def test_an_unexpected_durable_answer_is_an_error_and_the_session_is_renewed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = Engine(compile_rulesets([core_ruleset()]))
    data = make_map(sensory=20)
    expected, _ = _firings(engine, data)
    real_assert = durable_rules_engine.assert_fact
    monkeypatch.setattr(durable_rules_engine, "assert_fact", lambda handle, fact: (2, 1))
    with pytest.raises(EngineError, match=r"answered 2 \(observed"):
        _firings(engine, data)
    monkeypatch.setattr(durable_rules_engine, "assert_fact", real_assert)
    assert _firings(engine, data)[0] == expected


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_thousand_planners_made_used_and_closed_keep_memory_bounded(planner: Planner) -> None:
    # durable-rules' delete_ruleset keeps every session: 1.6 MiB per planner that planned.
    data = make_map(sensory=20, flags=["self_harm"])

    def churn(count: int) -> None:
        for _ in range(count):
            made = Planner(planner.rulesets, planner.catalogues, planner.plugins)
            assert made.plan(data).items[0].indicator == "critical"
            made.close()

    churn(50)
    before = _rss_mib()
    churn(1000)
    assert _rss_mib() - before < 64


def test_recommend_over_many_ruleset_files_keeps_memory_bounded(tmp_path: Path) -> None:
    # Ten files cycle through the cache of eight planners, so every call builds one and
    # drops another, whose handles go when it is collected.
    core = resources.files("nmt_rules").joinpath("rulesets", "core.yaml").read_text("utf-8")
    files = []
    for number in range(10):
        path = tmp_path / f"r{number}.yaml"
        path.write_text(core.replace("ruleset: nmt-core", f"ruleset: copy-{number}", 1))
        files.append(path)
    data = make_map(sensory=20)
    for path in files:
        recommend(data, ruleset=path)
    before = _rss_mib()
    for number in range(100):
        assert recommend(data, ruleset=files[number % 10]).items
    assert _rss_mib() - before < 40


@pytest.mark.parametrize("age", [5e-324, 1e-7, 1e-300])
def test_tiny_ages_reach_the_engine_as_numbers_it_reads(age: float) -> None:
    # durable-rules refuses numbers written with an exponent, such as 1e-07.
    data = make_map(age=age, sensory=25)
    data["dependents"] = [{"age_years": age}]
    plan = recommend(data)
    assert plan.items
