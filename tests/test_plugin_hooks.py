"""Edge hooks: input formats, plan annotators and decision sinks, each guarded and checked."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from nmt_rules import Caution, Plan, Planner, PluginError, hookspecs, parse_brain_map
from nmt_rules.decision_log import DecisionLog, read_decisions
from nmt_rules.plugin_calls import Raised, annotation_problem, call_guarded

from .conftest import make_map
from .plugin_kit import plugin, source, ward_csv_format, with_installed

ROOT = Path(__file__).resolve().parent.parent
FLAGGED = make_map(sensory=25, regulation=30, cognitive=40, flags=["self_harm"])


def _planner(**plugins: object) -> Planner:
    return Planner.default(with_installed(*(source(name, obj) for name, obj in plugins.items())))


def _note(plan: Plan) -> Plan:
    """A well-behaved annotator: a caution on every item that involves a teacher, and one
    on the plan."""
    items = tuple(
        attrs.evolve(i, cautions=(*i.cautions, Caution("Tell the ward school.", "ward/notes")))
        if "teacher" in i.audience
        else i
        for i in plan.items
    )
    return attrs.evolve(
        plan, items=items, cautions=(*plan.cautions, Caution("Ward review on Mondays.", "ward"))
    )


def test_an_annotator_adds_cautions_and_is_named_in_provenance() -> None:
    planner = _planner(ward=plugin(nmt_rules_annotate_plan=_note))
    plan = planner.plan(FLAGGED, "school")
    assert any(c.text == "Tell the ward school." for i in plan.items for c in i.cautions)
    assert plan.cautions[-1].text == "Ward review on Mondays."
    assert "ward" in {p.name for p in plan.provenance.plugins}
    assert planner.plugin_failures == ()


def _remove_safety(plan: Plan) -> Plan:
    return attrs.evolve(plan, items=plan.items[1:])


def _move_safety(plan: Plan) -> Plan:
    return attrs.evolve(plan, items=(*plan.items[1:], plan.items[0]))


def _soften_safety(plan: Plan) -> Plan:
    return attrs.evolve(
        plan, items=(attrs.evolve(plan.items[0], indicator="info"), *plan.items[1:])
    )


def _defer_foundation(plan: Plan) -> Plan:
    items = list(plan.items)
    index = next(
        i
        for i, item in enumerate(items)
        if item.sequencing == "foundation" and item.stage != "safety"
    )
    items[index] = attrs.evolve(items[index], status="deferred", held_by=("x",))
    return attrs.evolve(plan, items=tuple(items))


def _retitle(plan: Plan) -> Plan:
    return attrs.evolve(plan, items=(*plan.items[:-1], attrs.evolve(plan.items[-1], title="Mine")))


@pytest.mark.parametrize(
    ("annotator", "problem"),
    [
        (_remove_safety, r"removed safety item 'safety/self-harm-response'"),
        (_move_safety, r"moved safety item 'safety/self-harm-response' from #1 to #\d+"),
        (_soften_safety, r"made safety item 'safety/self-harm-response' now and info"),
        (_defer_foundation, r"deferred foundation item '[a-z/-]+'; foundations never wait"),
        (_retitle, r"changed title of item '[a-z/-]+'; annotators may only add cautions"),
        (lambda plan: 42, r"returned int, expected a Plan or None"),
    ],
)
def test_an_annotator_that_breaks_the_plan_is_disabled_and_the_plan_goes_out_intact(
    annotator: Callable[[Plan], Any], problem: str
) -> None:
    calls: list[str] = []

    def counted(plan: Plan) -> Any:
        calls.append(plan.plan_id)
        return annotator(plan)

    planner = _planner(
        careless=plugin(nmt_rules_annotate_plan=counted), ward=plugin(nmt_rules_annotate_plan=_note)
    )
    clean = Planner.default(with_installed()).plan(FLAGGED, "school")
    plan = planner.plan(FLAGGED, "school")
    assert [i.id for i in plan.items] == [i.id for i in clean.items]
    assert plan.items[0].stage == "safety" and plan.items[0].indicator == "critical"
    assert plan.cautions[-1].text == "Ward review on Mondays."  # the other annotator still ran
    (failure,) = planner.plugin_failures
    assert failure.plugin == "careless" and failure.hook == "nmt_rules_annotate_plan"
    assert re.search(problem, failure.message), failure.message
    planner.plan(FLAGGED, "foster-care")
    assert len(calls) == 1  # disabled for the rest of the process


@pytest.mark.parametrize("thrown", [SystemExit(1), KeyboardInterrupt(), ValueError("no")])
def test_an_annotator_that_raises_is_disabled_and_plans_go_on(thrown: BaseException) -> None:
    def boom(plan: Plan) -> Plan:
        raise thrown

    planner = _planner(boom=plugin(nmt_rules_annotate_plan=boom))
    assert planner.plan(FLAGGED, "school").items[0].stage == "safety"
    (failure,) = planner.plugin_failures
    assert failure.message.startswith(type(thrown).__name__)
    assert "plugin boom: hook nmt_rules_annotate_plan" in str(failure)


def test_annotation_problem_accepts_exactly_added_cautions() -> None:
    plan = Planner.default(with_installed()).plan(FLAGGED, "school")
    assert annotation_problem(plan, plan) is None
    assert annotation_problem(plan, _note(plan)) is None
    assert annotation_problem(_note(plan), plan) == "removed or changed cautions of item " + repr(
        next(i.id for i in plan.items if "teacher" in i.audience)
    )


def test_decision_sinks_get_every_record_and_a_failing_sink_is_isolated() -> None:
    received: list[Mapping[str, Any]] = []

    def failing(record: Mapping[str, Any]) -> None:
        raise OSError("log server down")

    planner = _planner(
        audit=plugin(nmt_rules_decision=lambda record: received.append(record)),
        broken=plugin(nmt_rules_decision=failing),
    )
    for number in range(3):
        planner.send_decision({"plan_id": f"p{number}"})
    assert [r["plan_id"] for r in received] == ["p0", "p1", "p2"]
    (failure,) = planner.plugin_failures
    assert (failure.plugin, failure.hook) == ("broken", "nmt_rules_decision")
    assert failure.message == "raised OSError: log server down"


def test_the_decision_log_hands_each_record_to_the_sinks(tmp_path: Path) -> None:
    received: list[Mapping[str, Any]] = []
    planner = _planner(audit=plugin(nmt_rules_decision=lambda record: received.append(record)))
    plan = planner.plan(FLAGGED, "school")
    with DecisionLog(tmp_path / "d.sqlite", sink=planner.send_decision) as log:
        log.record(plan, parse_brain_map(FLAGGED), "cli")
    (record,) = received
    (stored,) = read_decisions(tmp_path / "d.sqlite")
    # the sink gets the decision as `nmt-rules log` exports it, without identifiers
    assert record["plan_id"] == stored["plan_id"] == plan.plan_id
    assert record["items"] == stored["items"] and record["interface"] == "cli"
    assert record["subject_id"] is None and record["brain_map"] is None


def test_an_input_format_reads_an_agency_export_into_brain_maps(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("patient,age,sensory\nw-1,9,25\nw-2,15,90\n")
    planner = _planner(ward=ward_csv_format())
    records = planner.read_input("ward-csv", export)
    assert [r.source for r in records] == [f"{export}:2", f"{export}:3"]
    plan = planner.plan(records[0].data, "school")
    assert plan.subject_id == "w-1" and plan.items


def test_an_unknown_input_format_lists_the_known_ones(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("x")
    with pytest.raises(
        PluginError, match="no loaded plugin reads input format 'ward'; known: ward-csv"
    ):
        _planner(ward=ward_csv_format()).read_input("ward", export)


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (lambda data: 1 / 0, "ZeroDivisionError: division by zero"),
        (lambda data: [{"subject": {}}], "record 1 is dict, expected a (where, brain map) pair"),
    ],
)
def test_an_input_format_that_fails_names_plugin_format_and_file(
    tmp_path: Path, rows: Callable[[bytes], Any], problem: str
) -> None:
    export = tmp_path / "export.csv"
    export.write_text("x")
    planner = _planner(ward=ward_csv_format(rows))
    with pytest.raises(PluginError) as caught:
        planner.read_input("ward-csv", export)
    assert (
        str(caught.value) == f"plugin ward: input format 'ward-csv' failed on {export}: {problem}"
    )
    assert [f.plugin for f in planner.plugin_failures] == ["ward"]


def test_an_input_format_must_be_an_inputformat() -> None:
    found = with_installed(source("ward", plugin(nmt_rules_input_formats=lambda: ["csv"])))
    assert [p.error for p in found.failed] == [
        "hook nmt_rules_input_formats returned list, expected an InputFormat or a list of them"
    ]


def test_a_real_ctrl_c_goes_through_the_boundary_and_a_plugins_does_not() -> None:
    def plugin_raises() -> None:
        raise KeyboardInterrupt

    assert isinstance(call_guarded(plugin_raises), Raised)

    def user_presses_ctrl_c() -> int:
        os.kill(os.getpid(), signal.SIGINT)
        return sum(range(1000))  # the handler runs before this returns

    with pytest.raises(KeyboardInterrupt):
        call_guarded(user_presses_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_every_hook_is_documented_with_what_it_returns() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    hooks = sorted(name for name in vars(hookspecs) if name.startswith("nmt_rules_"))
    assert len(hooks) == 5
    for hook in hooks:
        assert re.search(rf"^### `{hook}\(", docs, re.MULTILINE), f"{hook} has no section"
        section = docs.split(f"### `{hook}(", 1)[1].split("\n### ", 1)[0]
        assert "Returns" in section, f"{hook}'s section does not say what it returns"
