"""Brain maps: valid ones parse, invalid ones are explained by field path, never a traceback."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import pytest
from hypothesis import given, settings

from nmt_rules import InputError, brain_map_schema, load_brain_map, parse_brain_map
from nmt_rules.brainmap import _fast_check, _validator

from .conftest import make_map
from .strategies import brain_maps

EXAMPLES = sorted(Path(__file__).parent.parent.joinpath("examples").glob("*.yaml"))


def _problems(data: Any) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_brain_map(data)
    return [str(p) for p in caught.value.problems]


def test_dates_as_yaml_gives_them_parse_and_the_input_is_left_as_it_was() -> None:
    data = make_map(
        previous=[{"assessed_on": dt.date(2026, 1, 15), "domains": make_map()["domains"]}]
    )
    data["assessed_on"] = dt.date(2026, 10, 1)
    before = copy.deepcopy(data)
    bm = parse_brain_map(data)
    assert bm.assessed_on == dt.date(2026, 10, 1)
    assert bm.previous[0].assessed_on == dt.date(2026, 1, 15)
    assert data == before
    data["assessed_on"] = dt.date(2026, 10, 1)
    data["domains"]["cognitive"] = 140
    assert _problems(data) == ["domains.cognitive: 140 is above 100"]


def test_a_full_map_parses_into_the_model() -> None:
    bm = parse_brain_map(
        make_map(
            age=9.5,
            functions={"sleep": 30},
            history={"infancy": {"adversity": "high", "relational_health": "low"}},
            relational_health_now="moderate",
            flags=["self_harm"],
            setting="school",
            previous=[{"assessed_on": "2026-01-01", "domains": make_map()["domains"]}],
        )
    )
    assert bm.functions.sleep == 30
    assert bm.history.infancy is not None and bm.history.infancy.adversity == "high"
    assert bm.flags == ("self_harm",)
    assert str(bm.previous[0].assessed_on) == "2026-01-01"


INVALID: list[tuple[dict[str, Any], str]] = [
    (
        {"domains": {**make_map()["domains"], "sensory_integration": 140}},
        "domains.sensory_integration: 140 is above 100",
    ),
    (
        {"domains": {**make_map()["domains"], "cognitive": -3}},
        "domains.cognitive: -3 is below 0",
    ),
    (
        {"domains": {**make_map()["domains"], "relational": "55"}},
        "domains.relational: expected a whole number, got '55'",
    ),
    ({"colour": "red"}, "colour: unknown field"),
    (
        {"domains": {"sensory_integration": 10}},
        "domains.self_regulation: required field is missing",
    ),
    ({"flags": ["sadness"]}, "flags[0]: 'sadness' is not one of: suicidal_ideation"),
    ({"assessed_on": "2026-02-30"}, "assessed_on: '2026-02-30' is not a date"),
    (
        {"history": {"infancy": {"adversity": "extreme"}}},
        "history.infancy.adversity: 'extreme' is not one of",
    ),
    ({"history": {"teenage": {}}}, "history.teenage: unknown field"),
    ({"functions": {"sleep": 101}}, "functions.sleep: 101 is above 100"),
    ({"setting": "Foster Care"}, "setting: 'Foster Care' must be lower-case words"),
    (
        {"previous": [{"assessed_on": "2027-01-01", "domains": make_map()["domains"]}]},
        "previous[0].assessed_on: 2027-01-01 is not before",
    ),
    ({"subject": {"id": "x"}}, "subject.age_years: required field is missing"),
]


@pytest.mark.parametrize(("change", "expected"), INVALID)
def test_invalid_maps_name_the_field_and_the_problem(change: dict[str, Any], expected: str) -> None:
    problems = _problems({**make_map(), **change})
    assert any(p.startswith(expected) for p in problems), problems


@settings(max_examples=200)
@given(data=brain_maps())
def test_the_fast_validator_accepts_every_valid_map(data: dict[str, Any]) -> None:
    _fast_check()(data)
    assert not list(_validator().iter_errors(data))


def test_the_fast_validator_rejects_what_the_full_one_rejects() -> None:
    for change, _ in INVALID:
        data = {**make_map(), **change}
        if list(_validator().iter_errors(data)):
            with pytest.raises(fastjsonschema.JsonSchemaException):
                _fast_check()(data)


def test_whole_numbers_written_as_decimals_are_accepted() -> None:
    data = make_map()
    data["domains"]["cognitive"] = 85.0
    assert parse_brain_map(data).domains.cognitive == 85


def test_every_problem_is_reported_at_once() -> None:
    data = make_map(colour="red", flags=["nope"])
    data["domains"]["cognitive"] = 300
    assert len(_problems(data)) == 3


def test_not_a_mapping_is_a_clear_error() -> None:
    assert _problems(["a", "list"]) == ["expected a mapping, got ['a', 'list']"]


def test_yaml_syntax_errors_point_at_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("subject: {id: a\nassessed_on: 2026-01-01\n")
    with pytest.raises(InputError) as caught:
        load_brain_map(bad)
    assert str(caught.value).startswith(f"{bad}:2:")


def test_json_maps_load_and_errors_point_at_line_and_column(tmp_path: Path) -> None:
    good = tmp_path / "map.json"
    good.write_text(json.dumps(make_map()))
    assert load_brain_map(good).subject.id == "t-001"
    bad = tmp_path / "bad.json"
    bad.write_text('{"subject": {"id": "a",}}')
    with pytest.raises(InputError, match=r"bad\.json:1:\d+: invalid JSON"):
        load_brain_map(bad)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_shipped_examples_are_valid(example: Path) -> None:
    load_brain_map(example)


def test_the_published_schema_accepts_valid_maps_and_rejects_unknown_fields() -> None:
    schema = brain_map_schema()
    jsonschema.validate(make_map(flags=["aggression"]), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(make_map(extra=1), schema)
