"""The brain map in FHIR R4: the Questionnaire, and QuestionnaireResponses to maps and back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nmt_rules import (
    InputError,
    Planner,
    brain_map_schema,
    load_brain_map,
    parse_brain_map,
    plan_to_dict,
)
from nmt_rules.brainmap import brain_map_data
from nmt_rules.cli import main
from nmt_rules.fhir import (
    QUESTIONNAIRE_URL,
    brain_map_to_response,
    questionnaire,
    response_to_brain_map,
)

from .conftest import make_map
from .strategies import SETTINGS, from_schema

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))


def _link_ids(items: list[dict[str, Any]]) -> set[str]:
    out = set()
    for item in items:
        out.add(item["linkId"])
        out |= _link_ids(item.get("item", []))
    return out


def _schema_paths(
    node: dict[str, Any], root: dict[str, Any], prefix: str = "", refs: tuple[str, ...] = ()
) -> set[str]:
    """Every field path of the brain map schema, followed through $ref, X-or-null and lists;
    a list of the very group it is in (earlier assessments' own) joins the outer list."""
    while True:
        if "$ref" in node:
            name = node["$ref"].removeprefix("#/$defs/")
            refs = (*refs, name)
            node = root["$defs"][name]
        elif "anyOf" in node:
            node = next(n for n in node["anyOf"] if n.get("type") != "null")
        elif node.get("type") == "array":
            node = node["items"]
        else:
            break
    out = set()
    for key, prop in node.get("properties", {}).items():
        items = prop.get("items", {}).get("$ref", "").removeprefix("#/$defs/")
        if items not in refs:
            out |= {prefix + key, *_schema_paths(prop, root, f"{prefix}{key}.", refs)}
    return out


def test_the_questionnaire_is_valid_fhir_and_asks_every_brain_map_field() -> None:
    resource = questionnaire()
    Questionnaire.model_validate(resource)  # raises on any structural problem
    assert resource["url"] == QUESTIONNAIRE_URL
    schema = brain_map_schema()
    assert _link_ids(resource["item"]) == _schema_paths(schema, schema)
    by_link = {i["linkId"]: i for i in resource["item"]}
    assert by_link["flags"]["type"] == "choice" and by_link["flags"]["repeats"] is True
    assert by_link["previous"]["type"] == "group" and by_link["previous"]["repeats"] is True
    assert by_link["domains"]["required"] is True
    cognitive = next(i for i in by_link["domains"]["item"] if i["linkId"] == "domains.cognitive")
    assert {e["valueInteger"] for e in cognitive["extension"]} == {0, 100}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_round_trip_through_a_questionnaire_response(
    example: Path, planner: Planner
) -> None:
    original = load_brain_map(example)
    response = brain_map_to_response(original, subject="Patient/1288992")
    QuestionnaireResponse.model_validate(response)
    assert response["subject"] == {"reference": "Patient/1288992"}
    back = response_to_brain_map(json.loads(json.dumps(response)))
    assert back == original
    assert plan_to_dict(planner.plan(back)) == plan_to_dict(planner.plan(original))


_DATES_BEFORE = st.dates(max_value=dt.date(2026, 9, 30))
# Ages to the hundredth: durable-rules cannot read a denormal float such as 5e-324.
_AGES = st.floats(0, 120).map(lambda age: round(age, 2))


@settings(max_examples=60, deadline=None)
@given(
    data=from_schema(
        brain_map_schema(),
        {
            "assessed_on": st.just("2026-10-01"),
            "previous.assessed_on": _DATES_BEFORE.map(lambda d: d.isoformat()),
            "previous.previous.assessed_on": _DATES_BEFORE.map(lambda d: d.isoformat()),
            "setting": st.sampled_from(SETTINGS),
            "subject.id": st.just("p-1"),
            "subject.age_years": _AGES,
            "previous.subject.age_years": _AGES,
            "previous.subject.id": st.just("p-1"),
            "previous.previous.subject.id": st.just("p-1"),
        },
    )
)
def test_any_brain_map_round_trips_to_the_same_map_and_plan(
    data: dict[str, Any], planner: Planner
) -> None:
    try:
        original = parse_brain_map(data)
    except InputError:  # what the schema cannot say (two assessments on one date, ...)
        assume(False)
    response = brain_map_to_response(original)
    back = response_to_brain_map(json.loads(json.dumps(response)))
    assert brain_map_data(back) == brain_map_data(original)
    assert plan_to_dict(planner.plan(back)) == plan_to_dict(planner.plan(original))


def _response(**changes: Any) -> dict[str, Any]:
    response = brain_map_to_response(make_map(sensory=30, flags=["self_harm"]))
    response.update(changes)
    return response


def _problems(response: object) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        response_to_brain_map(response)
    return [(p.path, p.message) for p in caught.value.problems]


def test_bad_answers_are_reported_at_their_place_in_the_resource() -> None:
    response = _response()
    domains = next(i for i in response["item"] if i["linkId"] == "domains")
    index = response["item"].index(domains)
    domains["item"][0]["answer"] = [{"valueInteger": 140}]
    domains["item"][1]["answer"] = [{"valueString": "low"}]
    del domains["item"][3]
    response["item"].append({"linkId": "colour", "answer": [{"valueString": "red"}]})
    problems = _problems(response)
    at = f"item[{index}]"
    assert (
        f"{at}.item[0].answer[0].valueInteger",
        "140 is above 100 (domains.sensory_integration)",
    ) in problems
    assert (
        f"{at}.item[1].answer[0]",
        "domains.self_regulation takes valueInteger, got valueString",
    ) in problems
    assert (f"{at}.item", "required question 'domains.cognitive' is not answered") in problems
    assert any(
        path.endswith(".linkId") and "unknown question 'colour'" in m for path, m in problems
    )


def test_resources_that_are_not_brain_map_responses_are_refused() -> None:
    assert _problems([1]) == [("", "expected a FHIR resource (a JSON object)")]
    assert _problems({"resourceType": "Patient"})[0][0] == "resourceType"
    assert _problems(_response(questionnaire="https://example.org/Questionnaire/phq-9")) == [
        (
            "questionnaire",
            f"'https://example.org/Questionnaire/phq-9' is not the brain map Questionnaire"
            f" ({QUESTIONNAIRE_URL})",
        )
    ]
    invalid = _response(status=3, colour="red")
    assert {path for path, _ in _problems(invalid)} == {"status", "colour"}


def test_fhir_commands_convert_both_ways(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["fhir", "questionnaire"])
    assert out.exit_code == 0 and json.loads(out.output)["url"] == QUESTIONNAIRE_URL
    out = runner.invoke(
        main, ["fhir", "from-brain-map", str(EXAMPLES[0]), "--subject", "Patient/7"]
    )
    assert out.exit_code == 0, out.output
    response = tmp_path / "qr.json"
    response.write_text(out.output)
    out = runner.invoke(main, ["fhir", "to-brain-map", str(response)])
    assert out.exit_code == 0, out.output
    assert parse_brain_map(json.loads(out.output)) == load_brain_map(EXAMPLES[0])
    broken = json.loads(response.read_text())
    broken["item"][0]["item"][0]["answer"] = [{"valueInteger": 3}]
    response.write_text(json.dumps(broken))
    out = runner.invoke(main, ["fhir", "to-brain-map", str(response)])
    assert out.exit_code == 2
    assert "item[0].item[0].answer[0]: subject.id takes valueString, got valueInteger" in out.output
    response.write_text("{")
    out = runner.invoke(main, ["fhir", "to-brain-map", str(response)])
    assert out.exit_code == 2 and "qr.json:1:2: invalid JSON" in out.output
