"""`nmt-rules new-plugin`: write a complete, installable setting plugin to start from.

The distribution it writes builds a wheel that ships its YAML (package data), declares the
entry point nmt-rules looks for, holds a catalogue with a TODO item for every need of the
installed core ruleset at the ages the setting serves, the JSON Schemas its YAML headers
point to (inside the plugin folder, so the headers work wherever it is copied), a golden
case and a pytest test that runs it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Final

import attrs

from ._yaml import ID_PATTERN
from .errors import FieldProblem, InputError
from .rules import Need, Ruleset
from .schemas import write_schemas

#: Modality of a TODO item, by the kind of need it meets.
_MODALITY: Final = {
    "safety": "safety-protocol",
    "education": "education",
    "progress": "routine",
    "intervention": "routine",
}


@attrs.frozen
class PluginSpec:
    """What `new-plugin` was asked for."""

    name: str
    setting: str
    min_age: int
    max_age: int

    @property
    def distribution(self) -> str:
        """The distribution's name: nmt-rules-<name>."""
        return f"nmt-rules-{self.name}"

    @property
    def package(self) -> str:
        """The import package: nmt_rules_<name>."""
        return f"nmt_rules_{self.name.replace('-', '_')}"


def parse_ages(text: str) -> tuple[int, int]:
    """`A-B` whole years 0-120, A <= B; InputError otherwise."""
    low, dash, high = text.partition("-")
    if dash and low.strip().isdigit() and high.strip().isdigit():
        pair = int(low), int(high)
        if 0 <= pair[0] <= pair[1] <= 120:
            return pair
    problem = f"{text!r} is not an age range: write A-B, whole years 0-120 (e.g. 5-18)"
    raise InputError([FieldProblem("--ages", problem)])


def plugin_spec(name: str, setting: str | None, ages: str) -> PluginSpec:
    """Check the names and ages; InputError naming each bad option."""
    problems = [
        FieldProblem(option, f"{value!r} must be lower-case words joined by '-' (e.g. ward-7)")
        for option, value in (("NAME", name), ("--setting", setting or name))
        if not ID_PATTERN.match(value)
    ]
    if problems:
        raise InputError(problems)
    low, high = parse_ages(ages)
    return PluginSpec(name, setting or name, low, high)


def write_plugin(spec: PluginSpec, core: Ruleset, parent: Path) -> Path:
    """Write the plugin distribution under `parent`; return its folder. Refuses to write
    over an existing folder (InputError)."""
    root = parent / spec.distribution
    if root.exists():
        raise InputError([FieldProblem("", f"{root} already exists; choose another name")])
    package = root / "src" / spec.package
    package.mkdir(parents=True)
    (root / "tests" / "golden").mkdir(parents=True)
    write_schemas(root / "schema")
    files = {
        root / "pyproject.toml": _pyproject(spec),
        root / "README.md": _readme(spec),
        package / "__init__.py": _init(spec),
        package / "catalogue.yaml": _catalogue(spec, core),
        root / "tests" / "golden" / f"{spec.setting}.yaml": _golden(spec, core),
        root / "tests" / f"test_{spec.package}.py": _test(spec),
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return root


def _pyproject(spec: PluginSpec) -> str:
    return f"""\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{spec.distribution}"
version = "0.1.0"
description = "nmt-rules setting plugin: how the {spec.setting} setting delivers the core needs."
requires-python = ">=3.11,<3.13"
dependencies = ["nmt-rules"]

# How nmt-rules finds the plugin: entry-point group "nmt_rules", name = the plugin's name.
[project.entry-points.nmt_rules]
{spec.name} = "{spec.package}"

# The wheel must carry the YAML next to the code: the catalogue is package data.
[tool.hatch.build.targets.wheel]
packages = ["src/{spec.package}"]
artifacts = ["src/{spec.package}/*.yaml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""


def _readme(spec: PluginSpec) -> str:
    return f"""\
# {spec.distribution}

nmt-rules setting plugin for **{spec.setting}** (ages {spec.min_age}-{spec.max_age}).
Written by `nmt-rules new-plugin`; see nmt-rules' docs/plugins.md.

```sh
pip install -e .                   # next to nmt-rules
nmt-rules check .                  # TODO items and coverage gaps are warnings
pytest                             # runs tests/golden with `nmt-rules test`
nmt-rules recommend MAP.yaml --setting {spec.setting}
```

Replace every TODO item in `src/{spec.package}/catalogue.yaml` with how your staff
deliver that need, then update `tests/golden/{spec.setting}.yaml`. nmt-rules is decision
support for trained professionals, not a diagnostic tool, and is not affiliated with the
Neurosequential Network.
"""


def _init(spec: PluginSpec) -> str:
    return f'''\
"""nmt-rules setting plugin: how the {spec.setting} setting delivers the core needs."""

from __future__ import annotations

from importlib import resources

from nmt_rules import DataFiles, hookimpl


@hookimpl
def nmt_rules_catalogues() -> DataFiles:
    """The {spec.setting} catalogue shipped in this package."""
    return resources.files(__name__) / "catalogue.yaml"
'''


def _catalogue(spec: PluginSpec, core: Ruleset) -> str:
    lines = [
        "# yaml-language-server: $schema=../../schema/catalogue.schema.json",
        f"catalogue: {spec.setting}",
        "version: 0.1.0",
        f"setting: {spec.setting}",
        "description: >-",
        f"  How the {spec.setting} setting delivers the needs nmt-rules' core ruleset finds,",
        f"  for ages {spec.min_age}-{spec.max_age}. Replace each TODO item with what your staff do.",
        "items:",
    ]
    for need in core.needs.values():
        lines += _todo_item(need, spec)
    return "\n".join(lines) + "\n"


def _todo_item(need: Need, spec: PluginSpec) -> list[str]:
    return [
        f"  - id: todo-{need.id}",
        f"    meets: [{need.id}]",
        f"    title: {_quoted('TODO: ' + need.title)}",
        "    description: "
        + _quoted(f"TODO: how {spec.setting} staff meet this need ({need.stage} stage)."),
        f"    modality: {_MODALITY[need.kind]}",
        "    delivered_by: [clinician]",
        "    audience: [clinician]",
        f"    ages: {{min: {spec.min_age}, max: {spec.max_age}}}",
    ]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _golden(spec: PluginSpec, core: Ruleset) -> str:
    age = (spec.min_age + spec.max_age) // 2
    sensory = "sensory-load-reduction" if "sensory-load-reduction" in core.needs else None
    item = (
        f"\n        - {{need: {sensory}, status: now, delivery_includes: [todo-{sensory}]}}"
        if sensory
        else ""
    )
    return textwrap.dedent(f"""\
        # Golden cases for the {spec.setting} setting: what its plans must say.
        # Run them with `nmt-rules test tests/golden` (pytest does, in tests/).
        cases:
          - name: a {age}-year-old who self-harms, severe sensory integration, in {spec.setting}
            setting: {spec.setting}
            map:
              subject: {{id: {spec.setting}-01, age_years: {age}}}
              assessed_on: 2026-10-01
              domains: {{sensory_integration: 25, self_regulation: 41, relational: 55, cognitive: 85}}
              flags: [self_harm]
            expect:
              first: {{need: self-harm-response, indicator: critical}}
              items:
                - {{need: self-harm-response, delivery_includes: [todo-self-harm-response]}}""") + (
        item + "\n"
    )


def _test(spec: PluginSpec) -> str:
    return f'''\
"""The {spec.setting} plugin as nmt-rules sees it once installed (`pip install -e .`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
NMT_RULES = [sys.executable, "-m", "nmt_rules.cli"]


def test_the_plugin_loads_and_serves_its_setting() -> None:
    listed = subprocess.run(
        [*NMT_RULES, "plugins", "--format", "json"], capture_output=True, text=True
    )
    plugins = {{p["name"]: p for p in json.loads(listed.stdout)["plugins"]}}
    assert plugins["{spec.name}"]["error"] is None, plugins["{spec.name}"]["error"]
    assert plugins["{spec.name}"]["settings"] == ["{spec.setting}"]


def test_golden_cases_pass() -> None:
    result = subprocess.run(
        [*NMT_RULES, "test", str(HERE / "golden")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
'''
