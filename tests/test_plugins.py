"""Setting plugins: discovery, choice, failures reported by name, catalogue coverage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt_rules import Planner, UnknownSettingError, hookimpl
from nmt_rules.plugins import PluginSet, load_plugin_module, load_plugins

from .conftest import make_map
from .strategies import brain_maps

SETTINGS = ("school", "foster-care", "justice-reentry")


def test_the_three_setting_plugins_load() -> None:
    found = load_plugins({})
    assert {p.name for p in found.loaded} >= set(SETTINGS)
    assert not found.failed
    for plugin in found.loaded:
        assert plugin.version == "1.0.0"
        assert plugin.settings == (plugin.name,)


def test_an_environment_variable_chooses_which_plugins_load() -> None:
    assert [p.name for p in load_plugins({"NMT_RULES_PLUGINS": "school"}).plugins] == ["school"]
    assert load_plugins({"NMT_RULES_PLUGINS": "none"}).plugins == ()
    missing = load_plugins({"NMT_RULES_PLUGINS": "school,hospital"}).failed
    assert [p.name for p in missing] == ["hospital"]
    assert "not installed" in (missing[0].error or "")


def _plugin(**hooks: Any) -> SimpleNamespace:
    return SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def test_a_misspelt_hook_is_caught_by_name() -> None:
    info = load_plugin_module("typo", "0.1", _plugin(nmt_rules_catalogue=lambda: []))
    assert info.error is not None and "nmt_rules_catalogue" in info.error


def test_a_hook_that_raises_is_reported_by_name() -> None:
    def boom() -> list[Path]:
        raise RuntimeError("disk on fire")

    info = load_plugin_module("hot", "0.1", _plugin(nmt_rules_catalogues=boom))
    assert info.error == "a hook raised RuntimeError: disk on fire"


def test_a_bad_catalogue_is_reported_with_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "catalogue: broken\nversion: '1'\nsetting: hospital\nitems:\n  - id: x\n    meets: [a]\n"
    )
    info = load_plugin_module("broken", "0.1", _plugin(nmt_rules_catalogues=lambda: [bad]))
    assert info.error is not None
    assert f"{bad}:5:5: error: a catalogue item is missing required key 'title'" in info.error


def test_a_broken_plugin_does_not_take_down_other_settings(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text("catalogue: hospital\nversion: 1\nsetting: hospital\nitems: []\n")
    broken = load_plugin_module("hospital", "0.1", _plugin(nmt_rules_catalogues=lambda: [bad]))
    assert broken.error
    good = load_plugins({"NMT_RULES_PLUGINS": "school"}).plugins
    planner = Planner.default(PluginSet((*good, broken)))
    plan = planner.plan(make_map(sensory=25), setting="school")
    assert any(i.delivery for i in plan.items)
    with pytest.raises(UnknownSettingError) as caught:
        planner.plan(make_map(sensory=25), setting="hospital")
    assert "hospital: " in str(caught.value) and "version" in str(caught.value)


def test_the_same_map_gets_setting_appropriate_items(planner: Planner) -> None:
    data = make_map(age=17, sensory=25, regulation=30, relational=40, cognitive=50)
    delivered = {}
    for setting in SETTINGS:
        plan = planner.plan(data, setting=setting)
        delivered[setting] = {(d.catalogue, d.title) for i in plan.items for d in i.delivery}
        assert len(delivered[setting]) >= 10
        assert {catalogue for catalogue, _ in delivered[setting]} == {setting}
    titles = {s: {t for _, t in d} for s, d in delivered.items()}
    assert len(titles["school"] & titles["foster-care"]) < 3
    assert len(titles["school"] & titles["justice-reentry"]) < 3


def _served_ages(planner: Planner, setting: str) -> range:
    items = [i for c in planner.catalogues.catalogues if c.setting == setting for i in c.items]
    return range(min(i.min_age for i in items), max(i.max_age for i in items) + 1)


@pytest.mark.parametrize("setting", SETTINGS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=brain_maps(settings=False), pick=st.integers(min_value=0))
def test_every_need_raised_at_a_served_age_has_an_item_in_the_setting(
    planner: Planner, setting: str, data: dict[str, Any], pick: int
) -> None:
    ages = _served_ages(planner, setting)
    data["subject"]["age_years"] = ages[pick % len(ages)]
    plan = planner.plan(data, setting=setting)
    assert [i.need for i in plan.items if not i.delivery] == []


EXAMPLE_PLUGIN = Path(__file__).parent.parent / "examples" / "plugin" / "nmt-rules-hospital"


def test_a_throwaway_plugin_installed_from_a_temporary_directory_shows_in_plans(
    tmp_path: Path,
) -> None:
    # The documented example plugin, copied as an agency developer would copy it.
    source = tmp_path / "nmt-rules-hospital"
    shutil.copytree(EXAMPLE_PLUGIN, source)
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    map_file = tmp_path / "map.json"
    map_file.write_text(json.dumps(make_map(age=9, sensory=60)))
    env = {**os.environ, "PYTHONPATH": str(site)}
    cli = [sys.executable, "-m", "nmt_rules.cli"]
    listed = subprocess.run(
        [*cli, "plugins", "--format", "json"], env=env, capture_output=True, text=True, check=True
    )
    assert "hospital" in {p["name"] for p in json.loads(listed.stdout)["plugins"]}
    planned = subprocess.run(
        [*cli, "recommend", str(map_file), "--setting", "hospital", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    plan = json.loads(planned.stdout)
    quiet = next(i for i in plan["items"] if i["need"] == "sensory-load-reduction")
    assert quiet["rule"] == "hospital-ward/ward-noise-with-mild-sensory-difficulty"
    assert [d["id"] for d in quiet["delivery"]] == ["ward-quiet-bay"]
    assert "hospital-ward" in {r["name"] for r in plan["provenance"]["rulesets"]}
    assert {"name": "hospital", "version": "0.3.0"} in plan["provenance"]["plugins"]
    without_item = [i for i in plan["items"] if not i["delivery"]]
    assert all(i["delivery_note"] for i in without_item)
