"""The public Python API: what `__all__` promises, the Planner's surface, the errors."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nmt_rules
from nmt_rules import (
    CatalogueError,
    Planner,
    RulesetError,
    ValidationError,
    core_ruleset,
    errors,
    parse_catalogue,
    parse_ruleset,
)

from .conftest import make_map

ROOT = Path(__file__).resolve().parent.parent
PIP_WHEEL = (sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation")


def test_everything_in_all_exists_and_is_documented() -> None:
    assert list(nmt_rules.__all__) == sorted(nmt_rules.__all__)
    for name in nmt_rules.__all__:
        value = getattr(nmt_rules, name)
        if callable(value) and name != "hookimpl":
            assert inspect.getdoc(value), f"{name} has no docstring"
    assert "Only the names in ``__all__``" in (nmt_rules.__doc__ or "")
    assert (ROOT / "src" / "nmt_rules" / "py.typed").is_file()


def test_the_planners_internals_are_private() -> None:
    planner = Planner([core_ruleset()])
    public = {name for name in vars(planner) if not name.startswith("_")}
    assert public == set()
    assert {r.name for r in planner.rulesets} == {"nmt-core"}
    assert len(planner.rules) == len(core_ruleset().rules)
    assert "self-harm-response" in planner.needs
    with pytest.raises(AttributeError):
        planner.rules = ()  # type: ignore[misc]


def test_evaluate_stops_at_the_evaluation() -> None:
    planner = Planner([core_ruleset()])
    evaluation = planner.evaluate(make_map(sensory=25, flags=["self_harm"]))
    assert {r.id for r in evaluation.rules} >= {"self-harm-same-day-response"}
    assert evaluation.facts["flags.self_harm"] is True
    assert not hasattr(evaluation, "items")


def test_a_planner_closes_and_works_as_a_context_manager() -> None:
    with Planner([core_ruleset()]) as planner:
        assert planner.plan(make_map(sensory=25)).items
    planner.close()  # closing twice is harmless


def test_errors_are_drawn_in_the_module_docstring_and_every_exported_one_is_raised() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    doc = errors.__doc__ or ""
    for name in classes:
        assert name in doc, f"{name} is not in the hierarchy drawn in errors.py"
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "src" / "nmt_rules").glob("*.py")
        if path.name != "errors.py"
    )
    for name in classes - {"NmtRulesError", "ValidationError"}:
        # Raised directly, or handed to the reader that raises it (parse_clean, read_source).
        raised = f"raise {name}(" in source or f", {name})" in source
        assert raised, f"{name} is never raised"


def test_ruleset_and_catalogue_errors_are_sibling_validation_errors() -> None:
    with pytest.raises(ValidationError) as ruleset:
        parse_ruleset("ruleset: x\n", "r.yaml")
    with pytest.raises(ValidationError) as catalogue:
        parse_catalogue("catalogue: x\n", "c.yaml")
    assert isinstance(ruleset.value, RulesetError) and not isinstance(ruleset.value, CatalogueError)
    assert isinstance(catalogue.value, CatalogueError)
    assert not isinstance(catalogue.value, RulesetError)
    assert catalogue.value.diagnostics[0].file == "c.yaml"


@pytest.mark.slow
def test_plans_are_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "import nmt_rules\n"
        "from tests.conftest import make_map\n"
        "data = make_map(age=15, sensory=30, regulation=33, relational=40, cognitive=50,"
        " flags=['self_harm'], history={'infancy': {'adversity': 'high'}})\n"
        "print(nmt_rules.plan_to_json(nmt_rules.recommend(data, setting='school')))\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


@pytest.mark.slow
def test_the_wheel_ships_types_rulesets_and_the_schemas_their_headers_name(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [*PIP_WHEEL, "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("nmt_rules-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nmt_rules/py.typed" in names
    assert "nmt_rules/rulesets/core.yaml" in names
    header = zipfile.ZipFile(wheel).read("nmt_rules/rulesets/core.yaml").decode().splitlines()[0]
    schema = header.split("$schema=")[1]
    assert str(Path("nmt_rules/rulesets") / schema).replace("rulesets/../", "") in names
