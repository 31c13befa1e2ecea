"""The committed JSON Schemas are current, and every shipped YAML file validates against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from nmt_rules.cli import main
from nmt_rules.schemas import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schema"
SHIPPED = [
    *((p, "ruleset") for p in sorted((ROOT / "rulesets").glob("*.yaml"))),
    *((p, "catalogue") for p in sorted((ROOT / "plugins").glob("*/src/*/catalogue.yaml"))),
    *((p, "brain-map") for p in sorted((ROOT / "examples").glob("*.yaml"))),
]
_LINE_PREFIX = "# yaml-language-server: $schema="


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schema_text(name)))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_the_generated_one(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(name), (
        f"schema/{name}.schema.json is stale: run `nmt-rules schema --write schema`"
    )


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_cli_prints_the_committed_schema(name: str) -> None:
    result = CliRunner().invoke(main, ["schema", name])
    assert result.exit_code == 0
    assert result.stdout == (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMAS[name]())


def test_schema_command_needs_a_name_or_a_directory() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["schema", "bogus"])
    assert result.exit_code == 2


def test_schema_write_writes_all_four(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "--write", str(tmp_path)])
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.schema.json" for n in SCHEMAS)


def test_shipped_yaml_is_present() -> None:
    kinds = {kind for _, kind in SHIPPED}
    assert kinds == {"ruleset", "catalogue", "brain-map"}
    assert sum(kind == "catalogue" for _, kind in SHIPPED) >= 3


@pytest.mark.parametrize(
    ("path", "name"), SHIPPED, ids=[str(p.relative_to(ROOT)) for p, _ in SHIPPED]
)
def test_shipped_yaml_validates_against_its_schema(path: Path, name: str) -> None:
    # JSON has no dates: YAML's dates become the ISO strings the schema describes.
    data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "name"), SHIPPED, ids=[str(p.relative_to(ROOT)) for p, _ in SHIPPED]
)
def test_shipped_yaml_points_editors_at_its_schema(path: Path, name: str) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(_LINE_PREFIX), f"{path} should start with {_LINE_PREFIX}..."
    target = (path.parent / first.removeprefix(_LINE_PREFIX)).resolve()
    assert target == (SCHEMA_DIR / f"{name}.schema.json").resolve()


def _ruleset_with(when: Any) -> dict[str, Any]:
    return {
        "ruleset": "x",
        "version": "1",
        "needs": {},
        "stages": {"cognitive": [{"id": "r", "when": when, "needs": ["n"], "because": "why"}]},
    }


@pytest.mark.parametrize(
    "when",
    [
        [{"domains.cognitive": {"below": 30}}],  # unknown operator
        [{"domain.cognitive": 30}],  # unknown fact path
        [{"bands.cognitive": "severest"}],  # unknown band
        [{"age.group": {"in": "child"}}],  # `in` takes a list
        [{"flags.self_harm": {"gt": False}}],  # ordering a boolean
        [{"bands.cognitive": "severe", "age.group": "child"}],  # two tests in one mapping
        {"any": []},  # empty group
    ],
)
def test_ruleset_schema_rejects_what_the_loader_rejects(when: Any) -> None:
    assert not validator("ruleset").is_valid(_ruleset_with(when))


@pytest.mark.parametrize(
    "when",
    [
        [{"domains.cognitive": {"lt": 30, "gte": 10}}],
        {"all": [{"bands.cognitive": "severe"}, {"any": [{"age.group": "child"}]}]},
        [{"needs.patterned-rhythmic-activity": True}, {"stage.sensory.unmet": False}],
        [{"functions.sleep": {"exists": False}}],
    ],
)
def test_ruleset_schema_accepts_every_condition_form(when: Any) -> None:
    assert validator("ruleset").is_valid(_ruleset_with(when))


def test_critical_is_only_for_safety_rules() -> None:
    data = _ruleset_with([{"bands.cognitive": "severe"}])
    data["stages"]["cognitive"][0]["indicator"] = "critical"
    assert not validator("ruleset").is_valid(data)
    data["stages"] = {"safety": data["stages"]["cognitive"]}
    assert validator("ruleset").is_valid(data)
