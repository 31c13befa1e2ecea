"""Every loader reads a document one way only, at a bounded cost, and refuses the rest with
nmt-rules' own errors: file:line:col for text, a field path for data."""

from __future__ import annotations

import json
import math
import tracemalloc
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nmt_rules import (
    CatalogueError,
    InputError,
    Planner,
    RulesetError,
    load_brain_map,
    parse_brain_map,
    recommend,
)
from nmt_rules.brainmap import MAX_MAP_CHARS
from nmt_rules.catalogue import parse_catalogue
from nmt_rules.cli import main
from nmt_rules.golden import load_cases
from nmt_rules.ruleset import load_ruleset, parse_ruleset

from .conftest import make_map

#: 533 bytes that PyYAML expands to 9^9 (387 million) list items: 55 s and 1.1 GiB before.
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9) if previous else 'x, x, x, x, x, x, x, x, x'}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
MAP_YAML = """subject: {id: c-1, age_years: 9}
assessed_on: 2026-10-01
domains: {sensory_integration: 40, self_regulation: 50, relational: 60, cognitive: 70}
"""


@pytest.fixture
def bounded() -> Iterator[Callable[[], int]]:
    """Peak memory traced while the test body runs, in bytes."""
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _map_error(tmp_path: Path, text: str, name: str = "map.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_brain_map(path)
    return str(caught.value)


def test_an_alias_bomb_in_a_map_is_refused_at_its_anchor(
    tmp_path: Path, bounded: Callable[[], int]
) -> None:
    assert len(ALIAS_BOMB) < 600
    message = _map_error(tmp_path, ALIAS_BOMB)
    assert f"{tmp_path / 'map.yaml'}:4:4: aliases of the node anchored here expand" in message
    assert bounded() < 8 * 2**20


@pytest.mark.parametrize(
    ("parse", "error"),
    [(parse_ruleset, RulesetError), (parse_catalogue, CatalogueError)],
    ids=["ruleset", "catalogue"],
)
def test_an_alias_bomb_in_a_ruleset_or_catalogue_is_a_diagnostic(
    parse: Callable[[str, str], object], error: type[RulesetError], bounded: Callable[[], int]
) -> None:
    with pytest.raises(error) as caught:
        parse(ALIAS_BOMB, "bomb.yaml")
    assert "bomb.yaml:4:4: error: aliases of the node anchored here" in str(caught.value)
    assert bounded() < 8 * 2**20


def test_an_alias_bomb_in_a_golden_case_file_is_a_diagnostic(
    tmp_path: Path, bounded: Callable[[], int]
) -> None:
    (tmp_path / "cases.yaml").write_text(ALIAS_BOMB)
    cases, problems = load_cases([tmp_path])
    assert cases == []
    assert [f"{p.line}:{p.col}" for p in problems] == ["4:4"]
    assert bounded() < 8 * 2**20


def test_aliases_within_the_limit_still_share_a_mapping(tmp_path: Path) -> None:
    text = (
        MAP_YAML
        + "previous:\n  - {assessed_on: 2026-01-01, domains: &d {sensory_integration: 1, self_regulation: 2, relational: 3, cognitive: 4}}\n  - {assessed_on: 2026-02-01, domains: *d}\n"
    )
    brain_map = load_brain_map(_write(tmp_path, text))
    assert brain_map.previous[0].domains == brain_map.previous[1].domains


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [*a]\n", "1:4: a recursive alias: this node contains itself"),
        ("a: &a {b: *a}\n", "1:4: a recursive alias"),
        ("[" * 100 + "]" * 100, "1:66: nested more than 64 levels deep"),
        ("[" * 10_000 + "]" * 10_000, "invalid YAML: exceeded maximum nesting depth"),
    ],
)
def test_recursive_and_deep_yaml_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _map_error(tmp_path, text)


@pytest.mark.parametrize(
    ("value", "yaml_1_1"),
    [
        ("1:30", "the number 90"),
        ("0x50", "the number 80"),
        ("017", "the number 15"),
        ("1_0", "the number 10"),
        (".nan", "the number nan"),
        ("1e1", "'1e1'"),
        ("+.inf", "the number inf"),
    ],
)
def test_numbers_yaml_versions_read_differently_are_refused(
    tmp_path: Path, value: str, yaml_1_1: str
) -> None:
    message = _map_error(tmp_path, MAP_YAML.replace("age_years: 9", f"age_years: {value}"))
    assert f":1:31: {value!r} is not a plain decimal number, true or false" in message
    assert f"(YAML 1.1 reads it as {yaml_1_1})" in message


def test_yes_and_no_are_not_booleans_in_a_ruleset() -> None:
    text = (
        resources.files("nmt_rules")
        .joinpath("rulesets", "core.yaml")
        .read_text("utf-8")
        .replace("flags.suicidal_ideation: true", "flags.suicidal_ideation: yes", 1)
    )
    with pytest.raises(RulesetError, match=r"'yes' is not a plain decimal number, true or false"):
        parse_ruleset(text, "core.yaml")


def test_plain_decimals_are_read_and_fractions_keep_four_places(tmp_path: Path) -> None:
    text = MAP_YAML.replace("age_years: 9", "age_years: 0.0000001")
    assert load_brain_map(_write(tmp_path, text)).subject.age_years == 0.0
    text = MAP_YAML.replace("age_years: 9", "age_years: 9.123456")
    assert load_brain_map(_write(tmp_path, text)).subject.age_years == 9.1235


@pytest.mark.parametrize("age", [1e-7, 1e-300, 5e-324, 119.99999999999, 2.0000001])
def test_any_age_plans_instead_of_failing_in_durable_rules(age: float, planner: Planner) -> None:
    # orjson writes 1e-7 as "1e-7", which durable-rules refused (HTTP 500, exit 1). Ages of
    # dependents and developmental ages reach the engine too, and so do their differences.
    data = make_map(
        age=age,
        flags=["suicidal_ideation"],
        dependents=[{"age_years": age / 3}],
        developmental_age_years={"overall": age - 1e-6 if age > 1 else age / 2},
    )
    assert planner.plan(data).items[0].indicator == "critical"


def test_duplicate_yaml_keys_name_the_key_and_both_lines(tmp_path: Path) -> None:
    text = MAP_YAML + "subject: {id: c-2, age_years: 40}\n"
    assert "map.yaml:4:1: duplicate key 'subject' (first at line 1, column 1)" in _map_error(
        tmp_path, text
    )


def test_duplicate_json_keys_name_the_key_and_both_lines(tmp_path: Path) -> None:
    text = json.dumps(make_map(), indent=1).replace(
        '"age_years": 9', '"age_years": 9,\n  "age_years": 40'
    )
    message = _map_error(tmp_path, text, "map.json")
    assert "map.json:5:3: duplicate key 'age_years' (lines 4 and 5)" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": NaN}', "1:7: NaN is not a number JSON allows"),
        ('{"a": -Infinity}', "1:7: -Infinity is not a number JSON allows"),
        ('{"a": ' + "9" * 5000 + "}", "1:7: a number of 5000 characters is too long"),
        ('{"a": 1.' + "5" * 40 + "}", "1:7: a number of 42 characters is too long"),
        ("[" * 10_000 + "]" * 10_000, "1:66: nested more than 64 levels deep"),
        ('{"a": 1', "1:8: invalid JSON: Expecting ',' delimiter"),
    ],
)
def test_json_that_could_mean_two_things_or_cost_too_much_is_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert f"map.json:{expected}" in _map_error(tmp_path, text, "map.json")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"age_years": math.nan}, "subject.age_years: NaN is not a number a map may hold"),
        ({"age_years": math.inf}, "subject.age_years: infinity is not a number a map may hold"),
        ({"age_years": 10**5000}, "subject.age_years: is too large (numbers must be below 10^15)"),
        ({"id": "c\ud800"}, "subject.id: text that is not valid Unicode (a lone surrogate)"),
        ({1: "x"}, "subject: keys must be text, got int"),
    ],
)
def test_values_no_map_may_hold_are_field_errors(change: dict[Any, Any], expected: str) -> None:
    data = make_map()
    data["subject"] = {**data["subject"], **change}
    with pytest.raises(InputError) as caught:
        recommend(data)
    assert expected in [str(p) for p in caught.value.problems]


def test_a_map_that_contains_itself_is_an_input_error() -> None:
    data = make_map()
    data["history"] = {"infancy": data}
    with pytest.raises(InputError, match="nested more than 64 levels deep"):
        parse_brain_map(data)


def test_deep_nesting_from_the_api_is_an_input_error() -> None:
    deep: Any = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(InputError, match="nested more than 64 levels deep"):
        recommend({**make_map(), "flags": deep})


@pytest.mark.parametrize("date", ["2026-W40-1", "20261001", "2026-02-30", "2026-10-01T00:00"])
def test_only_calendar_dates_are_dates(tmp_path: Path, date: str) -> None:
    with pytest.raises(InputError, match=r"assessed_on: .* is not a date \(use YYYY-MM-DD\)"):
        parse_brain_map(make_map(assessed_on=date))
    text = MAP_YAML.replace("2026-10-01", date)
    problem = "is not a date (use YYYY-MM-DD)" if "-" in date else "expected a string, got"
    assert problem in _map_error(tmp_path, text)


def test_maps_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    padding = "#" + "x" * MAX_MAP_CHARS + "\n"
    assert "larger than the limit of 1 MiB" in _map_error(tmp_path, padding + MAP_YAML)
    assert "larger than the limit of 1 MiB" in _map_error(
        tmp_path, json.dumps(make_map()) + " " * MAX_MAP_CHARS, "map.json"
    )


def test_rulesets_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (16 * 2**20) + "\nruleset: big\n")
    with pytest.raises(RulesetError, match=r"big.yaml:1:1: error: the document is larger"):
        load_ruleset(path)


def test_unsupported_tags_are_refused(tmp_path: Path) -> None:
    text = MAP_YAML + "flags: !!set {self_harm}\nnote: !!python/object:os.system echo\n"
    message = _map_error(tmp_path, text)
    assert "4:8: unsupported tag 'tag:yaml.org,2002:set'" in message


def test_the_cli_reports_a_poisoned_map_with_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, ALIAS_BOMB)
    result = CliRunner().invoke(main, ["recommend", str(path)])
    assert result.exit_code == 2
    assert f"error: {path}:4:4: aliases of the node anchored here" in result.stderr
    assert "Traceback" not in result.output


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ruleset: x\nstages: " + "[" * 5000 + "]" * 5000 + "\n", "exceeded maximum nesting depth"),
        ("ruleset: x\n" + ALIAS_BOMB, "aliases of the node anchored here expand"),
        ("ruleset: x\na: &a [*a]\n", "a recursive alias"),
    ],
)
def test_fmt_refuses_what_no_loader_reads_instead_of_a_traceback(
    tmp_path: Path, text: str, expected: str
) -> None:
    # fmt reads YAML with ruamel, which has no limits: the same checks come first.
    path = tmp_path / "ruleset.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["fmt", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and expected in result.output
    assert path.read_text() == text
