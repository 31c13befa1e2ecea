"""The clinical principles a plan must keep, whatever the map and the setting.

Foundations never wait; every safety item is deliverable at every age in every setting; a
protection concern cautions every item that involves carers or family; no cliff at a
cut-point: a one-point move never fires a "fell into" rule unless the change is worse.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt_rules import Plan, Planner, core_ruleset
from nmt_rules.vocabulary import CHANGES, DOMAINS, SAFETY_FLAGS

from .conftest import make_map
from .strategies import SETTINGS, brain_maps

EVERY_SETTING = (None, *SETTINGS)
_FAST = settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _involves_carers(item: Any) -> bool:
    people = set(item.audience)
    for delivery in item.delivery:
        people.update(delivery.delivered_by, delivery.audience)
    return "caregiver" in people


@_FAST
@given(data=brain_maps(settings=False), setting=st.sampled_from(EVERY_SETTING))
def test_no_foundation_is_ever_deferred(
    planner: Planner, data: dict[str, Any], setting: str | None
) -> None:
    plan = planner.plan(data, setting)
    for item in plan.items:
        if item.sequencing == "foundation":
            assert item.status == "now", f"{item.need} deferred: {item.held_by}"


@_FAST
@given(data=brain_maps(settings=False), setting=st.sampled_from(EVERY_SETTING))
def test_a_demand_is_held_only_by_work_on_a_lower_domain(
    planner: Planner, data: dict[str, Any], setting: str | None
) -> None:
    plan = planner.plan(data, setting)
    kinds = {item.need: item.kind for item in plan.items}
    for item in plan.items:
        for holder in item.held_by:
            # teaching the adults is never a prerequisite
            assert kinds.get(holder) != "education", f"{item.need} held by {holder}"
        if item.status == "deferred":
            assert item.released_when and item.held_by


@pytest.mark.parametrize("setting", EVERY_SETTING)
def test_every_safety_item_is_delivered_at_every_age(planner: Planner, setting: str | None) -> None:
    earlier = {
        "assessed_on": "2026-08-15",
        "domains": make_map()["domains"],
        "flags": ["self_harm"],
    }
    for age in range(100):
        plan = planner.plan(
            make_map(age=age, flags=list(SAFETY_FLAGS), previous=[earlier]), setting
        )
        safety = [i for i in plan.items if i.stage == "safety"]
        assert len(safety) >= 6
        for item in safety:
            assert item.delivery, f"{item.need} has no delivery at age {age} in {setting}"
            assert item.delivery_note is None


@_FAST
@given(data=brain_maps(settings=False), setting=st.sampled_from(EVERY_SETTING))
def test_with_a_protection_concern_every_carer_item_done_now_has_a_caution(
    planner: Planner, data: dict[str, Any], setting: str | None
) -> None:
    data["flags"] = sorted({*data.get("flags", ()), "abuse_or_neglect"})
    plan = planner.plan(data, setting)
    for item in plan.items:
        if item.status == "now" and _involves_carers(item):
            assert item.cautions, f"{item.need} involves carers but carries no caution"
    therapy = [i for i in plan.items if i.need == "trauma-focused-therapy"]
    assert all(i.status == "deferred" for i in therapy)


_CUTS = (34, 54, 74)


@given(
    domain=st.sampled_from(DOMAINS),
    cut=st.sampled_from(_CUTS),
    down=st.booleans(),
    age=st.integers(0, 80),
)
@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_one_point_move_across_a_cut_point_fires_no_fell_rule(
    planner: Planner, domain: str, cut: int, down: bool, age: int
) -> None:
    before, now = (cut + 1, cut) if down else (cut, cut + 1)
    earlier = make_map(**{_ARG[domain]: before})["domains"]
    data = make_map(age=age, **{_ARG[domain]: now})
    data["previous"] = [{"assessed_on": "2026-05-01", "domains": earlier}]
    evaluation = planner.evaluate(data)
    fired = {c.rule.id for c in evaluation.fired}
    assert not {r for r in fired if "fell" in r}


@_FAST
@given(data=brain_maps(settings=False))
def test_fell_rules_fire_only_on_a_worse_change(planner: Planner, data: dict[str, Any]) -> None:
    evaluation = planner.evaluate(data)
    for compiled in evaluation.fired:
        if "fell" in compiled.rule.id:
            (domain,) = {
                field.path.split(".")[1]
                for field, _ in compiled.tests
                if field.path.startswith("previous_bands.")
            }
            assert evaluation.facts[f"change.{domain}"] == CHANGES.index("worse")


_ARG = {
    "sensory_integration": "sensory",
    "self_regulation": "regulation",
    "relational": "relational",
    "cognitive": "cognitive",
}


def _items(plan: Plan) -> dict[str, Any]:
    return {item.need: item for item in plan.items}


def test_improving_twice_releases_a_still_severe_domain(planner: Planner) -> None:
    history = {"childhood": {"adversity": "high"}}
    steady = make_map(sensory=30, relational=45, history=history)
    steady["previous"] = [
        {"assessed_on": "2026-02-01", "domains": make_map(sensory=30, relational=45)["domains"]}
    ]
    rising = make_map(sensory=30, relational=45, history=history)
    rising["previous"] = [
        {"assessed_on": "2026-02-01", "domains": make_map(sensory=18, relational=45)["domains"]},
        {"assessed_on": "2026-06-01", "domains": make_map(sensory=24, relational=45)["domains"]},
    ]
    held = _items(planner.plan(steady))["trauma-focused-therapy"]
    released = _items(planner.plan(rising))["trauma-focused-therapy"]
    assert held.status == "deferred"
    assert released.status == "now"
    assert "2 assessments in a row" in (released.released_by or "")


def test_a_clinicians_judgement_releases_the_stages_it_names(planner: Planner) -> None:
    history = {"childhood": {"adversity": "high"}}
    note = "Stays regulated through a 20-minute verbal session."
    judged = make_map(
        sensory=25,
        history=history,
        clinician={"ready_for": ["cognitive"], "note": note, "by": "Dr Osei"},
    )
    item = _items(planner.plan(judged))["trauma-focused-therapy"]
    assert item.status == "now"
    assert "Dr Osei" in (item.released_by or "") and note in (item.released_by or "")


_SAYS_NOW = re.compile(r"can (now|begin|start)|without waiting|go ahead now|can likely carry")


def test_demand_rules_say_nothing_that_a_deferred_item_would_contradict() -> None:
    ruleset = core_ruleset()
    for rule in ruleset.rules:
        raises_demand = any(ruleset.needs[r.id].sequencing == "demand" for r in rule.needs)
        if raises_demand:
            assert not _SAYS_NOW.search(rule.because), rule.id
