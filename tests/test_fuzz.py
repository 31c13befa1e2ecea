"""Fuzzing every loader: whatever it is given, it answers with a result or nmt-rules' own
errors, within bounded memory; and the published brain-map schema agrees with the planner.

`make test` runs a modest, fixed-seed budget; `make fuzz` runs many more examples, seeded
afresh (NMT_FUZZ_EXAMPLES sets how many per test).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import random
import tracemalloc
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt_rules import InputError, Planner, UnknownSettingError, parse_brain_map
from nmt_rules.batch import Record, plan_record
from nmt_rules.brainmap import CROSS_FIELD_RULES, brain_map_schema, read_map_text
from nmt_rules.catalogue import parse_catalogue
from nmt_rules.errors import CatalogueError, RulesetError
from nmt_rules.golden import load_cases
from nmt_rules.report import plan_to_dict
from nmt_rules.ruleset import parse_ruleset

from .strategies import brain_maps

ROOT = Path(__file__).resolve().parent.parent
LONG = int(os.environ.get("NMT_FUZZ_EXAMPLES", "0"))
#: What a loader may hold at its peak while reading one fuzzed document.
MEMORY_BOUND = 64 * 2**20


def fuzz(examples: int) -> Callable[[Any], Any]:
    """A modest fixed-seed budget in `make test`; NMT_FUZZ_EXAMPLES random ones in `make fuzz`."""
    return settings(
        max_examples=LONG or examples,
        derandomize=not LONG,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


# --- what goes in ----------------------------------------------------------------------


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


NASTY: list[Any] = [
    None,
    True,
    0,
    -1,
    101,
    10**15,
    10**5000,
    -(10**30),
    1e-7,
    5e-324,
    -0.0,
    1e300,
    math.nan,
    math.inf,
    "",
    " ",
    "2026-W40-1",
    "2026-02-30",
    "20261001",
    "2026-10-01T00:00",
    "1:30",
    "0x50",
    "\ud800",
    "t\u2028-1",
    "a" * 1000,
    [],
    {},
    _nested(70),
]


def _nasty(index: int) -> Any:
    return copy.deepcopy(NASTY[index])  # mutated_maps changes what it draws


scalars = st.one_of(
    # By index: hypothesis describes its strategies, and 10**5000 has no decimal repr.
    st.sampled_from(range(len(NASTY))).map(_nasty),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=12) | st.sampled_from(["id", "setting"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


def _paths(data: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*here, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*here, index))


@st.composite
def mutated_maps(draw: st.DrawFn, json_only: bool = False) -> Any:
    """Valid maps with a few parts replaced, removed or added: mostly nearly valid, so the
    checks behind the first problem are reached too."""
    data = draw(brain_maps())
    new_values = values.filter(lambda v: not json_only or _is_json(v))
    for _ in range(draw(st.integers(0, 3))):
        paths = list(_paths(data))[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(new_values)
        elif action == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(new_values)
    if draw(st.integers(0, 4)) == 0:
        data["setting"] = draw(
            st.sampled_from(["school", "moon", "Foster Care", "justice-reentry"])
        )
    earlier = data.get("previous")
    if (
        draw(st.integers(0, 4)) == 0
        and earlier
        and isinstance(earlier, list)
        and isinstance(earlier[0], dict)
    ):
        earlier[0]["assessed_on"] = draw(st.sampled_from(["2026-10-01", "2027-01-01"]))
    return data


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, UnicodeEncodeError):
        return False
    return True


def _soup(tokens: list[str], size: int) -> st.SearchStrategy[str]:
    """Text made of tokens that mean something to the parser."""
    return st.lists(st.sampled_from(tokens), max_size=size).map("".join)


YAML_TOKENS = [
    "&a ",
    "*a",
    "!!",
    "!!python/object:os.system ",
    "<<: ",
    "? ",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "#",
    "|",
    ">",
    "'",
    '"',
    "\n",
    "\t",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    ".nan",
    "1:30",
    "0x50",
    "017",
    "yes",
    "~",
    "2026-02-30",
    "\u2028",
    "\x85",
    "\x00",
    "\ufeff",
    "1e400",
    "9" * 400,
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    """YAML a host or an editor might write, then damaged at a few places."""
    data = draw(mutated_maps().filter(_is_json))
    style = draw(st.sampled_from([None, True, False]))
    text = yaml.safe_dump(data, default_flow_style=style, allow_unicode=draw(st.booleans()))
    return _damage(draw, text)


def _damage(draw: Callable[[st.SearchStrategy[Any]], Any], text: str) -> str:
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        token = draw(st.sampled_from(YAML_TOKENS) | st.text(max_size=3))
        cut = draw(st.integers(0, 3))
        text = text[:at] + token + text[at + cut :]
    return text


def _bounded(read: Callable[[], object]) -> object:
    """Run a loader, failing the test when its memory peak passes MEMORY_BOUND."""
    tracemalloc.start()
    try:
        return read()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MEMORY_BOUND, f"the loader held {peak / 2**20:.0f} MiB"


# --- brain maps ------------------------------------------------------------------------


@fuzz(300)
@given(data=mutated_maps() | values)
def test_api_maps_give_plans_or_input_errors(planner: Planner, data: Any) -> None:
    try:
        plan = planner.plan(data)
    except (InputError, UnknownSettingError):
        return
    orjson.dumps(plan_to_dict(plan))  # a plan that came out can always be written


@pytest.fixture(scope="module")
def published(planner: Planner) -> jsonschema.Draft202012Validator:
    """The brain-map schema this planner's server publishes."""
    return jsonschema.Draft202012Validator(
        brain_map_schema(planner.settings),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


#: How the planner words each rule of CROSS_FIELD_RULES, in the same order.
CROSS_FIELD_WORDS = (
    "is not before assessed_on",
    "with other scores",
    "is another person",
    "say why",
)


@fuzz(400)
@given(data=mutated_maps(json_only=True))
def test_the_published_schema_and_the_planner_agree(
    planner: Planner, published: jsonschema.Draft202012Validator, data: Any
) -> None:
    """A map the schema accepts is planned unless it breaks a cross-field rule the schema
    names; a map the schema refuses is refused."""
    assert len(CROSS_FIELD_WORDS) == len(CROSS_FIELD_RULES)
    accepted = published.is_valid(data)
    try:
        planner.plan(data)
    except UnknownSettingError:
        assert not accepted, "the schema takes a setting the planner does not serve"
        return
    except InputError as exc:
        if accepted:
            unexplained = [
                p for p in exc.problems if not any(w in p.message for w in CROSS_FIELD_WORDS)
            ]
            assert not unexplained, f"the schema accepts what the planner refuses: {unexplained}"
        return
    assert accepted, (
        f"the planner takes what the schema refuses: {list(published.iter_errors(data))[:1]}"
    )


@fuzz(200)
@given(text=yaml_texts() | _soup([*YAML_TOKENS, *"ab:1 \n-"], 60))
def test_yaml_map_text_gives_a_map_or_an_input_error(text: str) -> None:
    try:
        _bounded(lambda: parse_brain_map(read_map_text(text, "fuzz.yaml", json_text=False)))
    except InputError as exc:
        assert all(p.message for p in exc.problems)


JSON_TOKENS = [
    "NaN",
    "-Infinity",
    '"a":1,',
    '"a":2,',
    "[" * 70,
    "]" * 70,
    "9" * 400,
    "\\ud800",
    "\u2028",
    ",",
    ":",
    "{",
    "}",
    '"',
    "\\",
    "null",
    "1e-7",
    "\x00",
]


@fuzz(200)
@given(data=mutated_maps(json_only=True), data2=st.data())
def test_json_map_text_gives_a_map_or_an_input_error(data: Any, data2: st.DataObject) -> None:
    text = json.dumps(data, ensure_ascii=data2.draw(st.booleans()), default=str)
    for _ in range(data2.draw(st.integers(0, 3))):
        at = data2.draw(st.integers(0, len(text)))
        text = text[:at] + data2.draw(st.sampled_from(JSON_TOKENS)) + text[at:]
    try:
        _bounded(lambda: parse_brain_map(read_map_text(text, "fuzz.json", json_text=True)))
    except InputError as exc:
        assert all(p.message for p in exc.problems)


# --- rulesets, catalogues, golden cases --------------------------------------------------

CORE = resources.files("nmt_rules").joinpath("rulesets", "core.yaml").read_text("utf-8")
SCHOOL = (ROOT / "plugins/nmt-rules-school/src/nmt_rules_school/catalogue.yaml").read_text("utf-8")


def _damage_lines(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines))
        what = rng.choice(["drop", "copy", "token", "bomb"])
        if what == "drop":
            del lines[at]
        elif what == "copy":
            lines.insert(at, lines[rng.randrange(len(lines))])
        elif what == "token":
            line = lines[at]
            cut = rng.randint(0, len(line))
            lines[at] = line[:cut] + rng.choice(YAML_TOKENS) + line[cut:]
        else:
            lines[at:at] = ["x0: &x0 [a, a, a, a, a, a, a, a]"] + [
                f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 8)}]" for i in range(1, 8)
            ]
    return "\n".join(lines)


@fuzz(20)
@given(seed=st.integers(0, 2**32))
def test_damaged_rulesets_give_a_ruleset_or_diagnostics(seed: int) -> None:
    text = _damage_lines(random.Random(seed), CORE)
    try:
        _bounded(lambda: parse_ruleset(text, "core.yaml"))
    except RulesetError as exc:
        assert all(d.file == "core.yaml" and d.line >= 1 for d in exc.diagnostics)


@fuzz(20)
@given(seed=st.integers(0, 2**32))
def test_damaged_catalogues_give_a_catalogue_or_diagnostics(seed: int) -> None:
    text = _damage_lines(random.Random(seed), SCHOOL)
    try:
        _bounded(lambda: parse_catalogue(text, "school.yaml"))
    except CatalogueError as exc:
        assert all(d.line >= 1 for d in exc.diagnostics)


@fuzz(60)
@given(text=_soup([*YAML_TOKENS, *"abc:1 \n-", "ruleset: r", "catalogue: c"], 80))
def test_any_text_as_a_ruleset_or_catalogue_gives_diagnostics(text: str) -> None:
    for parse, error in ((parse_ruleset, RulesetError), (parse_catalogue, CatalogueError)):
        with contextlib.suppress(error):
            _bounded(lambda parse=parse: parse(text, "any.yaml"))  # type: ignore[misc]


@fuzz(40)
@given(data=st.data())
def test_damaged_golden_cases_give_cases_or_diagnostics(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("cases")
    case = {
        "cases": [
            {
                "name": "fuzzed",
                "map": data.draw(mutated_maps().filter(_is_json)),
                "expect": {"needs": ["co-regulation"], "now_count": 2},
            }
        ]
    }
    text = _damage(data.draw, yaml.safe_dump(case))
    (folder / "case.yaml").write_text(text, encoding="utf-8", errors="replace")
    loaded = _bounded(lambda: load_cases([folder]))
    assert isinstance(loaded, tuple)
    assert all(p.line >= 1 for p in loaded[1])


# --- batch lines -----------------------------------------------------------------------


@fuzz(200)
@given(data=mutated_maps(json_only=True), data2=st.data())
def test_batch_lines_always_give_one_output_line(
    planner: Planner, data: Any, data2: st.DataObject
) -> None:
    text = json.dumps(data, default=str)
    for _ in range(data2.draw(st.integers(0, 2))):
        at = data2.draw(st.integers(0, len(text)))
        text = text[:at] + data2.draw(st.sampled_from(JSON_TOKENS)) + text[at:]
    outcome = plan_record(planner, Record("fuzz.jsonl", 7, text=text), None)
    assert outcome.line.endswith(b"\n") and outcome.line.count(b"\n") == 1
    line = json.loads(outcome.line)
    assert line["source"] == "fuzz.jsonl:7"
    assert ("plan" in line) != bool(outcome.problems)
    assert all(not p.startswith("fuzz.jsonl:7: internal error") for p in outcome.problems)
