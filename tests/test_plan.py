"""What a clinician sees in a plan: bottom-up order, deferral, safety first, explanations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt_rules import Plan, Planner, parse_ruleset, plan_to_json, plan_to_text, recommend
from nmt_rules.vocabulary import SAFETY_FLAGS

from .conftest import make_map
from .strategies import brain_maps

NO_SAFETY_RULES = """
ruleset: no-safety
version: "1"
needs:
  calm-body: {stage: sensory, kind: intervention, sequencing: foundation, title: Calm the body}
stages:
  sensory:
    - id: body
      when: [{bands.sensory_integration: severe}]
      needs: [calm-body]
      because: Severe sensory.
"""


def _non_safety(plan: Plan) -> list[Any]:
    return [i for i in plan.items if i.stage != "safety"]


def test_severe_sensory_child_gets_sensory_work_now_and_cognitive_work_deferred(
    planner: Planner,
) -> None:
    history = {"infancy": {"adversity": "high", "relational_health": "low"}}
    plan = planner.plan(make_map(age=9, sensory=25, cognitive=85, history=history))
    first = _non_safety(plan)[0]
    assert (first.stage, first.status) == ("sensory", "now")
    cognitive = [i for i in plan.items if i.stage == "cognitive"]
    assert cognitive, "the map should raise some cognitive need to defer"
    sensory_work = {i.need for i in plan.items if i.stage == "sensory" and i.kind == "intervention"}
    assert any(i.sequencing == "demand" for i in cognitive)
    for item in cognitive:
        if item.sequencing == "foundation":
            assert item.status == "now"  # foundations never wait
            continue
        assert item.status == "deferred"
        assert item.held_by and set(item.held_by) <= sensory_work
        assert "sensory integration" in (item.released_when or "")


def test_deferred_items_come_after_every_item_to_do_now(planner: Planner) -> None:
    history = {"childhood": {"adversity": "high"}}
    plan = planner.plan(
        make_map(sensory=20, regulation=30, relational=30, cognitive=30, history=history)
    )
    statuses = [i.status for i in _non_safety(plan)]
    assert "deferred" in statuses
    assert statuses == sorted(statuses, key=lambda s: s == "deferred")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=brain_maps(flags=False), flag=st.sampled_from(["suicidal_ideation"]))
def test_suicidal_ideation_always_comes_first_and_critical(
    planner: Planner, data: dict[str, Any], flag: str
) -> None:
    data["flags"] = [flag]
    plan = planner.plan(data)
    assert plan.items[0].stage == "safety"
    assert plan.items[0].indicator == "critical"
    assert plan.items[0].status == "now"


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=brain_maps())
def test_safety_items_are_never_deferred_or_moved_behind_other_work(
    planner: Planner, data: dict[str, Any]
) -> None:
    plan = planner.plan(data)
    stages = [i.stage for i in plan.items]
    n_safety = stages.count("safety")
    assert stages[:n_safety] == ["safety"] * n_safety
    assert all(i.status == "now" and i.indicator == "critical" for i in plan.items[:n_safety])
    if data.get("flags"):
        assert n_safety >= 1


@pytest.mark.parametrize("age", [1, 4, 9, 15, 21, 45, 70])
def test_typical_functioning_gives_nothing_to_do_now(planner: Planner, age: int) -> None:
    plan = planner.plan(make_map(age=age, sensory=95, regulation=95, relational=95, cognitive=95))
    assert [i for i in plan.items if i.status == "now"] == []


@pytest.mark.parametrize("flag", SAFETY_FLAGS)
def test_every_safety_flag_is_answered_by_a_critical_item(planner: Planner, flag: str) -> None:
    plan = planner.plan(make_map(age=16, flags=[flag]))
    assert plan.items[0].indicator == "critical"
    assert plan.items[0].rule.startswith("nmt-core/")


def test_a_ruleset_without_safety_rules_still_answers_safety_flags() -> None:
    plan = recommend(
        make_map(sensory=20, flags=["aggression"]),
        ruleset=parse_ruleset(NO_SAFETY_RULES, "no-safety.yaml"),
    )
    assert plan.items[0].indicator == "critical"
    assert plan.items[0].rule == "nmt-rules/safety-floor"
    assert "aggression" in plan.items[0].because
    assert plan.items[1].need == "calm-body"


def test_every_item_explains_itself(planner: Planner) -> None:
    plan = planner.plan(
        make_map(
            age=15,
            sensory=30,
            regulation=40,
            relational=30,
            cognitive=50,
            flags=["self_harm"],
            relational_health_now="low",
            history={"childhood": {"adversity": "high"}, "adolescence": {"adversity": "high"}},
        )
    )
    assert len(plan.items) >= 8
    for item in plan.items:
        assert item.because.strip() and item.rule and item.matched
        assert item.title and item.need
        for reason in item.also:
            assert reason.because and reason.rule and reason.matched


def test_matched_shows_values_a_person_can_read(planner: Planner) -> None:
    plan = planner.plan(make_map(age=9, sensory=25))
    item = next(i for i in plan.items if i.need == "patterned-rhythmic-activity")
    assert item.matched["bands.sensory_integration"] == "severe"


def test_same_input_gives_the_same_plan_every_time(planner: Planner) -> None:
    data = make_map(sensory=30, regulation=20, flags=["aggression", "self_harm"], setting="school")
    first = plan_to_json(planner.plan(data))
    assert all(plan_to_json(planner.plan(data)) == first for _ in range(5))


def test_improving_out_of_severe_releases_the_stage_above(planner: Planner) -> None:
    before = {
        "assessed_on": "2026-04-01",
        "domains": make_map(sensory=20, relational=40)["domains"],
    }
    held = planner.plan(make_map(sensory=25, relational=40))
    released = planner.plan(make_map(sensory=45, relational=40, previous=[before]))

    def relational_demands(plan: Plan) -> list[Any]:
        return [i for i in plan.items if (i.stage, i.sequencing) == ("relational", "demand")]

    relational_held = relational_demands(held)
    relational_now = relational_demands(released)
    assert relational_held and all(i.status == "deferred" for i in relational_held)
    assert relational_now and all(i.status == "now" for i in relational_now)
    assert "sensory-gains-consolidation" in {i.need for i in released.items}


def test_adults_learning_never_waits(planner: Planner) -> None:
    plan = planner.plan(make_map(age=9, sensory=20, regulation=30))
    education = [i for i in plan.items if i.need == "arousal-and-stress-response-education"]
    assert education and education[0].status == "now"


def test_provenance_names_version_rulesets_and_catalogues(planner: Planner) -> None:
    plan = planner.plan(make_map(sensory=30), setting="school")
    core = plan.provenance.rulesets[0]
    assert (core.name, len(core.sha256)) == ("nmt-core", 64)
    assert plan.provenance.nmt_rules_version
    assert "school" in {c.setting for c in plan.provenance.catalogues}
    assert "school" in {p.name for p in plan.provenance.plugins}


def test_the_disclaimer_travels_with_every_plan(planner: Planner) -> None:
    text = plan_to_json(planner.plan(make_map()))
    assert "not a diagnostic tool" in text
    assert "not affiliated" in text


def test_a_requested_setting_reaches_the_rules_that_test_it(planner: Planner) -> None:
    data = make_map(age=10, relational=40)
    assert "stable-placement-and-connections" not in {i.need for i in planner.plan(data).items}
    in_care = planner.plan(data, setting="foster-care")
    assert in_care.setting == "foster-care"
    assert "stable-placement-and-connections" in {i.need for i in in_care.items}


def test_progress_shows_every_score_over_time_and_the_change_rules_saw(planner: Planner) -> None:
    domains = make_map()["domains"]
    previous = [
        {"assessed_on": "2026-06-01", "domains": {**domains, "self_regulation": 30}},
        {"assessed_on": "2026-02-01", "domains": {**domains, "self_regulation": 20}},
    ]
    plan = planner.plan(make_map(regulation=45, previous=previous))
    regulation = next(p for p in plan.progress if p.domain == "self_regulation")
    assert [p.score for p in regulation.scores] == [20, 30, 45]
    assert (regulation.previous_band, regulation.band, regulation.change) == (
        "severe",
        "moderate",
        "improved",
    )
    assert "Self-regulation: 20 -> 30 -> 45 (severe -> moderate, improved)" in plan_to_text(plan)
    assert planner.plan(make_map()).progress == ()
