"""Plugins as an agency ships them: written by `new-plugin`, built into wheels, installed in
a fresh virtual environment, and broken in each way issue 14 lists, with every other
setting still planning.

The fresh venv gets only the plugin wheels installed into it; nmt-rules and its
dependencies come from the development environment through a .pth file, so no network
and no compiler are needed.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nmt_rules.cli import main

from .conftest import make_map

pytestmark = pytest.mark.slow
PIP = (sys.executable, "-m", "pip")

CLASHING_RULES = """\
ruleset: clash-rules
version: '1'
needs:
  sensory-load-reduction:
    stage: sensory
    kind: intervention
    sequencing: foundation
    title: The core's need, declared again
stages: {}
"""


def _new_plugin(folder: Path, *args: str) -> Path:
    result = CliRunner().invoke(main, ["new-plugin", *args, "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    return folder / f"nmt-rules-{args[0]}"


def _broken_plugins(folder: Path) -> list[Path]:
    """A plugin whose ruleset re-declares a core need, one that claims the school setting,
    and one whose hook returns an int."""
    clash = _new_plugin(folder, "clash", "--ages", "5-10")
    package = clash / "src" / "nmt_rules_clash"
    (package / "rules.yaml").write_text(CLASHING_RULES, encoding="utf-8")
    with (package / "__init__.py").open("a", encoding="utf-8") as hooks:
        hooks.write(
            "\n\n@hookimpl\ndef nmt_rules_rulesets() -> DataFiles:\n"
            '    return resources.files(__name__) / "rules.yaml"\n'
        )
    same = _new_plugin(folder, "second-school", "--setting", "school", "--ages", "5-18")
    bad = _new_plugin(folder, "bad-return", "--ages", "5-10")
    init = bad / "src" / "nmt_rules_bad_return" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    init.write_text(
        text.replace('return resources.files(__name__) / "catalogue.yaml"', "return 42"),
        encoding="utf-8",
    )
    return [clash, same, bad]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fresh venv with a good plugin (from new-plugin) and three broken ones installed."""
    work = tmp_path_factory.mktemp("plugins")
    good = _new_plugin(work, "residential", "--setting", "residential-treatment", "--ages", "12-17")
    sources = [good, *_broken_plugins(work)]
    dist = work / "dist"
    subprocess.run(
        [*PIP, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist)]
        + [str(s) for s in sources],
        check=True,
        capture_output=True,
    )
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    fresh_site = subprocess.run(
        [str(python), "-c", "import site; print(site.getsitepackages()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(fresh_site) / "nmt_rules_dev.pth").write_text(
        f"import site; site.addsitedir({site.getsitepackages()[0]!r})\n", encoding="utf-8"
    )
    subprocess.run(
        [*PIP, "--python", str(python), "install", "--quiet", "--no-deps", "--no-index"]
        + [str(w) for w in sorted(dist.glob("*.whl"))],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "NMT_RULES_PLUGINS"}
    yield {"python": python, "work": work, "dist": dist, "good": good, "env": env}


def _cli(installed: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed["python"]), "-m", "nmt_rules.cli", *args],
        capture_output=True,
        text=True,
        env=installed["env"],
        cwd=installed["work"],
    )


def test_the_built_wheel_ships_the_catalogue(installed: dict[str, Any]) -> None:
    (wheel,) = installed["dist"].glob("nmt_rules_residential-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nmt_rules_residential/catalogue.yaml" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[nmt_rules]" in text and "residential = nmt_rules_residential" in text


def test_broken_plugins_are_disabled_by_name_and_say_why(installed: dict[str, Any]) -> None:
    result = _cli(installed, "plugins", "--format", "json")
    assert result.returncode == 1
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["residential"]["error"] is None
    assert plugins["residential"]["settings"] == ["residential-treatment"]
    assert "clash with the core ruleset" in plugins["clash"]["error"]
    assert "need 'sensory-load-reduction' is already declared" in plugins["clash"]["error"]
    assert plugins["second-school"]["error"] == (
        "setting 'school' is also claimed by plugin school; both are disabled"
    )
    assert plugins["school"]["error"] == (
        "setting 'school' is also claimed by plugin second-school; both are disabled"
    )
    assert plugins["bad-return"]["error"] == (
        "hook nmt_rules_catalogues returned int, expected a path or a list of paths"
    )
    text = _cli(installed, "plugins")
    assert "bad-return 0.1.0  DISABLED: hook nmt_rules_catalogues returned int" in text.stdout


def test_every_other_setting_still_plans(installed: dict[str, Any]) -> None:
    map_file = installed["work"] / "map.json"
    map_file.write_text(json.dumps(make_map(age=14, sensory=25, flags=["self_harm"])))
    for setting in ("residential-treatment", "foster-care", "justice-reentry"):
        result = _cli(
            installed, "recommend", str(map_file), "--setting", setting, "--format", "json"
        )
        assert result.returncode == 0, result.stderr
        plan = json.loads(result.stdout)
        assert plan["items"][0]["need"] == "self-harm-response"
    school = _cli(installed, "recommend", str(map_file), "--setting", "school")
    assert school.returncode == 2
    assert "second-school: setting 'school' is also claimed by plugin school" in school.stderr
    assert "Traceback" not in school.stderr


def test_the_generated_plugin_checks_and_its_own_tests_pass(installed: dict[str, Any]) -> None:
    checked = _cli(installed, "check", str(installed["good"]))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "still says TODO" in checked.stdout
    tests = subprocess.run(
        [str(installed["python"]), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True,
        text=True,
        env=installed["env"],
        cwd=installed["good"],
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout


def test_check_with_no_paths_checks_the_installed_core_and_every_plugin(
    installed: dict[str, Any],
) -> None:
    result = _cli(installed, "check")
    assert result.returncode == 1
    assert "<plugin bad-return>:1:1: error: plugin bad-return: hook nmt_rules_catalogues" in (
        result.stdout
    )
    assert "need 'sensory-load-reduction' is already declared" in result.stdout
    assert "still says TODO" in result.stdout  # the installed residential plugin, linted
