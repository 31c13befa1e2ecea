"""Setting plugins: discovery, choice, failures reported by name, catalogue coverage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt_rules import Plan, Planner, PluginInfo, UnknownSettingError
from nmt_rules.plugins import PluginSource, load_plugins, load_sources

from .conftest import make_map
from .plugin_kit import (
    SETTINGS,
    catalogue_file,
    plans_in_every_installed_setting,
    plugin,
    ruleset_file,
    setting_plugin,
    source,
    with_installed,
)
from .strategies import brain_maps


def test_the_three_setting_plugins_load() -> None:
    found = load_plugins({})
    assert {p.name for p in found.loaded} >= set(SETTINGS)
    assert not found.failed
    for plugin_info in found.loaded:
        assert plugin_info.version == "1.0.0"
        assert plugin_info.settings == (plugin_info.name,)


def test_an_environment_variable_chooses_which_plugins_load() -> None:
    assert [p.name for p in load_plugins({"NMT_RULES_PLUGINS": "school"}).plugins] == ["school"]
    assert load_plugins({"NMT_RULES_PLUGINS": "none"}).plugins == ()
    missing = load_plugins({"NMT_RULES_PLUGINS": "school,hospital"}).failed
    assert [p.name for p in missing] == ["hospital"]
    assert "not installed" in (missing[0].error or "")


def _one(obj: object, name: str = "hospital") -> PluginInfo:
    return load_sources([source(name, obj)]).plugins[0]


def test_a_misspelt_hook_is_caught_by_name() -> None:
    info = _one(plugin(nmt_rules_catalogue=lambda: []), "typo")
    assert info.error is not None and "nmt_rules_catalogue" in info.error


def test_a_hook_that_raises_is_reported_by_name() -> None:
    def boom() -> list[Path]:
        raise RuntimeError("disk on fire")

    info = _one(plugin(nmt_rules_catalogues=boom))
    assert info.error == "hook nmt_rules_catalogues raised RuntimeError: disk on fire"


@pytest.mark.parametrize("thrown", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_a_plugin_raising_systemexit_or_keyboardinterrupt_is_reported_and_others_go_on(
    thrown: BaseException,
) -> None:
    def importing() -> object:
        raise thrown

    def hook() -> list[Path]:
        raise thrown

    at_import = PluginSource("bad-import", "0.1", importing, "bad_import:module")
    in_hook = source("bad-hook", plugin(nmt_rules_catalogues=hook))
    found = with_installed(at_import, in_hook)
    errors = {p.name: p.error for p in found.failed}
    name = type(thrown).__name__
    assert errors["bad-import"] is not None and name in errors["bad-import"]
    assert errors["bad-import"].startswith("cannot import bad_import:module")
    assert errors["bad-hook"] is not None and name in errors["bad-hook"]
    plans_in_every_installed_setting(Planner.default(found), make_map(sensory=25))


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        (lambda: 42, "hook nmt_rules_catalogues returned int, expected a path or a list of paths"),
        (
            lambda: [b"catalogue.yaml"],
            "hook nmt_rules_catalogues returned a list holding bytes, expected a path or a list of paths",
        ),
        (
            lambda: {"file": "catalogue.yaml"},
            "hook nmt_rules_catalogues returned dict, expected a path or a list of paths",
        ),
    ],
)
def test_a_hook_returning_the_wrong_type_names_plugin_hook_and_type(
    returned: Callable[[], Any], problem: str
) -> None:
    info = _one(plugin(nmt_rules_catalogues=returned))
    assert info.error == problem


def test_a_path_a_str_or_a_list_are_all_accepted(tmp_path: Path) -> None:
    first = catalogue_file(tmp_path, "ward-a")
    second = catalogue_file(tmp_path, "ward-b")
    third = catalogue_file(tmp_path, "ward-c")
    for returned, served in (
        (lambda: first, ("ward-a",)),
        (lambda: str(second), ("ward-b",)),
        (lambda: (first, str(third)), ("ward-a", "ward-c")),
    ):
        info = _one(plugin(nmt_rules_catalogues=returned))
        assert info.error is None and info.settings == served


def test_a_relative_str_path_is_taken_from_the_plugin_package(tmp_path: Path) -> None:
    catalogue_file(tmp_path, "ward")
    module = plugin(nmt_rules_catalogues=lambda: "ward-catalogue.yaml")
    module.__file__ = str(tmp_path / "__init__.py")
    assert _one(module).settings == ("ward",)


def test_a_hook_returning_none_is_a_warning_not_silence() -> None:
    info = _one(plugin(nmt_rules_catalogues=lambda: None))
    assert info.error is None
    assert info.warnings == (
        "hook nmt_rules_catalogues returned None; return a path or a list of paths ([] for none)",
    )


def test_a_path_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    info = _one(plugin(nmt_rules_catalogues=lambda: tmp_path / "missing.yaml"))
    assert info.error is not None
    assert info.error.startswith(
        f"hook nmt_rules_catalogues returned {tmp_path / 'missing.yaml'}, which cannot be read"
    )


def test_a_bad_catalogue_is_reported_with_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "catalogue: broken\nversion: '1'\nsetting: hospital\nitems:\n  - id: x\n    meets: [a]\n"
    )
    info = _one(plugin(nmt_rules_catalogues=lambda: [bad]), "broken")
    assert info.error is not None
    assert f"{bad}:5:5: error: a catalogue item is missing required key 'title'" in info.error
    assert any(d.line == 5 and d.col == 5 for d in info.diagnostics)


def test_a_broken_plugin_does_not_take_down_other_settings(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.yaml"
    bad.write_text("catalogue: hospital\nversion: 1\nsetting: hospital\nitems: []\n")
    found = with_installed(source("hospital", plugin(nmt_rules_catalogues=lambda: [bad])))
    assert [p.name for p in found.failed] == ["hospital"]
    planner = Planner.default(found)
    plans_in_every_installed_setting(planner, make_map(sensory=25))
    with pytest.raises(UnknownSettingError) as caught:
        planner.plan(make_map(sensory=25), setting="hospital")
    assert "hospital: " in str(caught.value) and "version" in str(caught.value)


NEED = """  {need}:
    stage: sensory
    kind: intervention
    sequencing: foundation
    title: A need of the plugin's own
"""
RULESET = """ruleset: {name}
version: '1'
{extra}needs:
{needs}stages:
  sensory:
    - id: residential-rule
      when:
        - bands.sensory_integration: {{lte: moderate}}
      needs: [{raises}]
      because: Residential life is loud, so sensory load is lowered early.
"""


def _ruleset(
    folder: Path,
    name: str = "residential",
    extra: str = "",
    own_need: str | None = None,
    raises: str = "sensory-load-reduction",
    file: str = "rules",
) -> Path:
    needs = NEED.format(need=own_need) if own_need else "  {}\n"
    text = RULESET.format(name=name, extra=extra, needs=needs, raises=raises)
    if not own_need:
        text = text.replace("needs:\n  {}\n", "needs: {}\n")
    return ruleset_file(folder, text, file)


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("redeclares a core need", "need 'sensory-load-reduction' is already declared at"),
        ("names itself nmt-core", "ruleset 'nmt-core' is also loaded from rulesets/core.yaml"),
        ("sets bands", "only the primary (first) ruleset may set bands"),
    ],
)
def test_a_plugin_ruleset_that_clashes_with_the_core_disables_only_that_plugin(
    tmp_path: Path, how: str, problem: str
) -> None:
    if how == "redeclares a core need":
        rules = _ruleset(tmp_path, own_need="sensory-load-reduction")
    elif how == "names itself nmt-core":
        rules = _ruleset(tmp_path, name="nmt-core")
    else:
        bands = "bands:\n  severe: [0, 30]\n  moderate: [31, 50]\n  mild: [51, 70]\n  typical: [71, 100]\n"
        rules = _ruleset(tmp_path, extra=bands)
    found = with_installed(source("residential", setting_plugin(tmp_path, "residential", rules)))
    (failed,) = found.failed
    assert failed.name == "residential"
    assert failed.error is not None and "clash with the core ruleset" in failed.error
    assert problem in failed.error
    assert any(d.file == str(rules) for d in failed.diagnostics)
    plans_in_every_installed_setting(Planner.default(found), make_map(sensory=25))


def test_two_plugins_sharing_a_ruleset_name_are_both_disabled_each_naming_the_other(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = setting_plugin(tmp_path / "a", "ward-a", _ruleset(tmp_path / "a", name="ward-rules"))
    second = setting_plugin(tmp_path / "b", "ward-b", _ruleset(tmp_path / "b", name="ward-rules"))
    found = with_installed(source("ward-a", first), source("ward-b", second))
    errors = {p.name: p.error for p in found.failed}
    assert errors == {
        "ward-a": "ruleset 'ward-rules' is also claimed by plugin ward-b; both are disabled",
        "ward-b": "ruleset 'ward-rules' is also claimed by plugin ward-a; both are disabled",
    }
    plans_in_every_installed_setting(Planner.default(found), make_map(sensory=25))


def test_two_plugins_claiming_the_same_setting_is_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    found = with_installed(
        source("ward", setting_plugin(tmp_path / "a", "hospital")),
        source("hospital", setting_plugin(tmp_path / "b", "hospital")),
    )
    errors = {p.name: p.error for p in found.failed}
    assert errors["ward"] == (
        "setting 'hospital' is also claimed by plugin hospital; both are disabled"
    )
    assert errors["hospital"] == (
        "setting 'hospital' is also claimed by plugin ward; both are disabled"
    )
    planner = Planner.default(found)
    plans_in_every_installed_setting(planner, make_map(sensory=25))
    with pytest.raises(UnknownSettingError, match="ward: setting 'hospital'"):
        planner.plan(make_map(), "hospital")


def test_two_plugins_declaring_the_same_need_are_both_disabled(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _ruleset(tmp_path / "a", name="a-rules", own_need="quiet-ward", raises="quiet-ward")
    second = _ruleset(tmp_path / "b", name="b-rules", own_need="quiet-ward", raises="quiet-ward")
    found = with_installed(
        source("ward-a", setting_plugin(tmp_path / "a", "ward-a", first)),
        source("ward-b", setting_plugin(tmp_path / "b", "ward-b", second)),
    )
    assert {p.name for p in found.failed} == {"ward-a", "ward-b"}
    assert all("need 'quiet-ward'" in (p.error or "") for p in found.failed)


def test_a_plugin_ruleset_can_test_a_core_need(tmp_path: Path) -> None:
    rules = ruleset_file(
        tmp_path,
        """\
ruleset: residential
version: '1'
needs: {}
stages:
  regulation:
    - id: rhythm-after-sensory-work
      when:
        - needs.sensory-load-reduction: true
      needs: [predictable-daily-rhythm]
      because: A lowered sensory load holds best inside a predictable day on the unit.
""",
    )
    found = with_installed(source("residential", setting_plugin(tmp_path, "residential", rules)))
    assert not found.failed
    plan = Planner.default(found).plan(make_map(sensory=25), "residential")
    rhythm = next(i for i in plan.items if i.need == "predictable-daily-rhythm")
    assert "residential/rhythm-after-sensory-work" in {rhythm.rule, *(r.rule for r in rhythm.also)}


def _raised_by(plan: Plan, rule: str) -> bool:
    return any(rule in {i.rule, *(r.rule for r in i.also)} for i in plan.items)


def test_a_plugin_ruleset_raises_items_only_in_its_own_settings(tmp_path: Path) -> None:
    rules = _ruleset(tmp_path)
    found = with_installed(source("residential", setting_plugin(tmp_path, "residential", rules)))
    planner = Planner.default(found)
    data = make_map(sensory=50)
    assert _raised_by(planner.plan(data, "residential"), "residential/residential-rule")
    for setting in (*SETTINGS, None):
        assert not _raised_by(planner.plan(data, setting), "residential/residential-rule")


def test_a_plugin_ruleset_that_declares_every_setting_runs_everywhere(tmp_path: Path) -> None:
    rules = _ruleset(tmp_path, extra="applies_to: every-setting\n")
    found = with_installed(source("residential", setting_plugin(tmp_path, "residential", rules)))
    planner = Planner.default(found)
    for setting in ("residential", *SETTINGS, None):
        assert _raised_by(
            planner.plan(make_map(sensory=50), setting), "residential/residential-rule"
        )


def test_a_plugin_ruleset_that_names_its_settings_runs_in_those(tmp_path: Path) -> None:
    rules = _ruleset(tmp_path, extra="applies_to: [residential, school]\n")
    found = with_installed(source("residential", setting_plugin(tmp_path, "residential", rules)))
    planner = Planner.default(found)
    data = make_map(sensory=50)
    assert _raised_by(planner.plan(data, "school"), "residential/residential-rule")
    assert not _raised_by(planner.plan(data, "foster-care"), "residential/residential-rule")


def test_a_plugin_with_rulesets_and_no_setting_warns_they_never_run(tmp_path: Path) -> None:
    rules = _ruleset(tmp_path)
    info = _one(plugin(nmt_rules_rulesets=lambda: [rules]), "rules-only")
    assert info.error is None and info.rulesets == ()
    assert "serves no setting, so its rules would never run" in info.warnings[0]


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
    items = [i for c in planner.catalogues if c.setting == setting for i in c.items]
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


@pytest.mark.slow
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
    assert {"name": "hospital", "version": "0.4.0"} in plan["provenance"]["plugins"]
    without_item = [i for i in plan["items"] if not i["delivery"]]
    assert all(i["delivery_note"] for i in without_item)
    # The ward's CSV export, read by the plugin's input format.
    export = tmp_path / "ward.csv"
    export.write_text(
        "patient,age,assessed,sensory_integration,self_regulation,relational,cognitive,flags\n"
        "w-17,9,2026-10-01,60,80,80,90,self_harm\n",
        encoding="utf-8",
    )
    from_csv = subprocess.run(
        [*cli, "recommend", str(export), "--from", "hospital-csv", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert from_csv.returncode == 0, from_csv.stderr
    csv_plan = json.loads(from_csv.stdout)
    assert csv_plan["subject_id"] == "w-17" and csv_plan["setting"] == "hospital"
    assert csv_plan["items"][0]["need"] == "self-harm-response"
    export.write_text(
        "patient,age,assessed,sensory_integration,self_regulation,relational,cognitive,flags\n"
        "w-18,9,2026-10-01,sixty,80,80,90,\n",
        encoding="utf-8",
    )
    bad = subprocess.run(
        [*cli, "recommend", str(export), "--from", "hospital-csv"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert f"{export}:2: domains.sensory_integration:" in bad.stderr
