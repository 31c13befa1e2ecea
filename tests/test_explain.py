"""`nmt-rules explain`: one evaluation traced stage by stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from nmt_rules.cli import main

MAP: dict[str, Any] = {
    "subject": {"id": "x-01", "age_years": 9},
    "assessed_on": "2026-10-01",
    "domains": {
        "sensory_integration": 25,
        "self_regulation": 60,
        "relational": 60,
        "cognitive": 80,
    },
    "history": {"childhood": {"adversity": "high"}},
    "flags": ["self_harm"],
}


@pytest.fixture
def map_file(tmp_path: Path) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(MAP), encoding="utf-8")
    return path


def explain_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["explain", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def stage(trace: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in trace["stages"] if s["stage"] == name)
    return found


def test_json_trace_has_facts_then_each_stage_in_order(map_file: Path) -> None:
    trace = explain_json(str(map_file))
    assert [s["stage"] for s in trace["stages"]] == [
        "safety",
        "sensory",
        "regulation",
        "relational",
        "cognitive",
    ]
    # Facts read as a person reads them: band names, not ordinals.
    assert trace["facts"]["bands.sensory_integration"] == "severe"
    assert trace["facts"]["flags.self_harm"] is True
    assert "stage.sensory.unmet" not in trace["facts"]  # derived facts belong to their stage


def test_each_firing_shows_the_facts_it_matched_and_the_needs_it_raised(map_file: Path) -> None:
    sensory = stage(explain_json(str(map_file)), "sensory")
    fired = {f["rule"]: f for f in sensory["rules_fired"]}
    child = fired["nmt-core/sensory-severe-child"]
    assert child["matched"] == {"bands.sensory_integration": "severe", "age.group": "child"}
    assert child["needs"] == [
        "patterned-rhythmic-activity",
        "sensory-load-reduction",
        "sensory-processing-assessment",
    ]
    assert child["location"].startswith("rulesets/core.yaml:")
    assert "patterned-rhythmic-activity" in sensory["needs_raised"]
    assert sensory["derived"]["stage.sensory.unmet"] is True


def test_deferred_items_say_what_holds_them_and_what_releases_them(map_file: Path) -> None:
    cognitive = stage(explain_json(str(map_file)), "cognitive")
    therapy = next(i for i in cognitive["items"] if i["need"] == "trauma-focused-therapy")
    assert therapy["status"] == "deferred"
    assert "patterned-rhythmic-activity" in therapy["held_by"]
    assert "sensory integration rises out of the severe band" in therapy["released_when"]


def test_setting_option_is_a_fact_rules_can_see(tmp_path: Path) -> None:
    adult = {**MAP, "subject": {"id": "x-02", "age_years": 24}, "flags": []}
    path = tmp_path / "adult.yaml"
    path.write_text(yaml.safe_dump(adult), encoding="utf-8")
    without = explain_json(str(path))
    within = explain_json(str(path), "--setting", "justice-reentry")
    assert "setting" not in without["facts"]
    assert within["facts"]["setting"] == "justice-reentry"
    rules = [f["rule"] for f in stage(within, "sensory")["rules_fired"]]
    assert "nmt-core/sensory-reentry-custody-triggers" in rules


def test_text_trace_reads_stage_by_stage(map_file: Path) -> None:
    result = CliRunner().invoke(main, ["explain", str(map_file)])
    assert result.exit_code == 0
    out = result.stdout
    assert out.index("Facts asserted:") < out.index("Stage safety:") < out.index("Stage sensory:")
    assert "fired nmt-core/self-harm-same-day-response" in out
    assert "matched: bands.sensory_integration=severe, age.group=child" in out
    assert "deferred trauma-focused-therapy: held by patterned-rhythmic-activity" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--setting", "moon-base"], "unknown setting 'moon-base'"),
        ([], "cannot read file"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(
    map_file: Path, args: list[str], message: str
) -> None:
    target = str(map_file) if args else str(map_file.parent / "missing.yaml")
    result = CliRunner().invoke(main, ["explain", target, *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_why_not_names_each_failed_test_with_the_fact_it_saw(map_file: Path) -> None:
    result = CliRunner().invoke(
        main, ["explain", str(map_file), "--why-not", "sensory-severe-teen"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("nmt-core/sensory-severe-teen (rulesets/core.yaml:")
    assert lines[0].endswith("did not fire for x-01:")
    assert (
        "    held   bands.sensory_integration: severe   (bands.sensory_integration is severe)"
        in lines
    )
    assert "    FAILED age.group: teen   (age.group is child)" in lines


def test_why_not_walks_any_branches_and_absent_facts(map_file: Path) -> None:
    data = explain_json(str(map_file), "--why-not", "nmt-core/sensory-early-relational-poverty")
    assert data["fired"] is False
    first, band = data["when"]["all"]
    assert first["held"] is False and [t["present"] for t in first["any"]] == [False, False]
    assert first["any"][0] == {
        "test": "history.perinatal.relational_health: low",
        "fact": "history.perinatal.relational_health",
        "value": None,
        "present": False,
        "held": False,
    }
    assert band == {
        "test": "bands.sensory_integration: {lte: mild}",
        "fact": "bands.sensory_integration",
        "value": "severe",
        "present": True,
        "held": True,
    }


def test_why_not_of_a_rule_that_fired_says_so(map_file: Path) -> None:
    data = explain_json(str(map_file), "--why-not", "sensory-severe-child")
    assert data["fired"] is True and data["when"]["held"] is True


def test_why_not_an_unknown_rule_suggests_the_closest(map_file: Path) -> None:
    result = CliRunner().invoke(
        main, ["explain", str(map_file), "--why-not", "sensory-severe-tean"]
    )
    assert result.exit_code == 2
    assert "no single rule 'sensory-severe-tean'; did you mean sensory-severe-teen" in result.stderr
