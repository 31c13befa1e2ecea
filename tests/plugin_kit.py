"""In-process plugins for tests: hook implementations on an object, loaded as a plugin is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nmt_rules import InputFormat, Planner, PluginSet, hookimpl
from nmt_rules.plugins import PluginSource, load_plugins

from .conftest import make_map

#: The setting plugins this repository installs.
SETTINGS = ("school", "foster-care", "justice-reentry")


def plugin(**hooks: Callable[..., Any]) -> SimpleNamespace:
    """A plugin object implementing the given hooks."""
    return SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def source(name: str, obj: object, version: str = "0.1") -> PluginSource:
    """A plugin source that imports to `obj`."""
    return PluginSource(name, version, lambda: obj, f"test plugin {name}")


def with_installed(*extra: PluginSource) -> PluginSet:
    """The installed setting plugins plus these."""
    return load_plugins({}, extra)


def ward_rows(data: bytes) -> Iterable[tuple[str, dict[str, Any]]]:
    """A ward's CSV export (patient,age,sensory) as (line, brain map) pairs."""
    for line, text in enumerate(data.decode().splitlines()[1:], start=2):
        patient, age, sensory = text.split(",")
        yield (
            str(line),
            make_map(age=int(age), sensory=int(sensory))
            | {"subject": {"id": patient, "age_years": int(age)}},
        )


def ward_csv_format(rows: Callable[[bytes], Iterable[Any]] = ward_rows) -> SimpleNamespace:
    """A plugin with the input format `ward-csv`, reading an export with `rows`."""
    return plugin(
        nmt_rules_input_formats=lambda: InputFormat("ward-csv", "The ward's export.", rows)
    )


CATALOGUE = """\
catalogue: {name}
version: '1'
setting: {setting}
items:
  - id: {setting}-quiet-room
    meets: [sensory-load-reduction]
    title: A quiet room
    description: A calm, dim room the person can go to with a trusted adult.
    modality: environment
    delivered_by: [residential-staff]
    audience: [residential-staff]
    ages: {{min: 5, max: 25}}
"""


def catalogue_file(folder: Path, setting: str, name: str | None = None) -> Path:
    """A small valid catalogue for a setting."""
    path = folder / f"{name or setting}-catalogue.yaml"
    path.write_text(CATALOGUE.format(name=name or setting, setting=setting), encoding="utf-8")
    return path


def ruleset_file(folder: Path, text: str, name: str = "rules") -> Path:
    """A ruleset file with this text."""
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def setting_plugin(folder: Path, setting: str, *rulesets: Path) -> SimpleNamespace:
    """A plugin serving one setting, with optional extra rulesets."""
    catalogue = catalogue_file(folder, setting)
    hooks: dict[str, Callable[..., Any]] = {"nmt_rules_catalogues": lambda: [catalogue]}
    if rulesets:
        hooks["nmt_rules_rulesets"] = lambda: list(rulesets)
    return plugin(**hooks)


def plans_in_every_installed_setting(planner: Planner, data: dict[str, Any]) -> None:
    """Every installed setting still plans (the point of isolating plugins)."""
    for setting in SETTINGS:
        assert planner.plan(data, setting).items, setting
