"""Golden cases: the shipped ones pass and cover every core rule; the runner catches mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nmt_rules import Planner, core_ruleset
from nmt_rules.cli import main
from nmt_rules.golden import GoldenCase, coverage, load_cases, run_case

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="module")
def shipped(planner: Planner) -> list[GoldenCase]:
    cases, problems = load_cases([GOLDEN], planner)
    assert problems == []
    return cases


@pytest.mark.slow
def test_every_shipped_case_is_a_pytest_item() -> None:
    # The cases run as items collected from tests/golden (tests/golden_items.py).
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/golden"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    items = [line for line in collected.stdout.splitlines() if "::" in line]
    cases, _ = load_cases([GOLDEN])
    assert len(items) == len(cases) >= 40
    assert "tests/golden/core/safety.yaml::" in collected.stdout


def test_core_cases_fire_every_core_rule(planner: Planner) -> None:
    cases, _ = load_cases([GOLDEN / "core"], planner)
    report = coverage(planner, [run_case(planner, c) for c in cases])
    assert report.missed == ()
    assert report.percent == 100.0
    assert len(report.fired) == len(planner.rules)


def test_every_installed_setting_has_golden_cases(
    planner: Planner, shipped: list[GoldenCase]
) -> None:
    assert {c.setting for c in shipped if c.setting} >= set(planner.settings)
    assert {Path(c.file).parent.name for c in shipped} >= {"core", *planner.settings}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MAP = (
    "{subject: {id: t, age_years: 9}, assessed_on: 2026-10-01, domains: "
    "{sensory_integration: 25, self_regulation: 60, relational: 60, cognitive: 80}, "
    "history: {childhood: {adversity: high}}}"
)


def test_a_failing_case_exits_1_with_expected_got_and_the_plan(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"cases:\n  - name: wrong on purpose\n    map: {MAP}\n    expect:\n"
        "      absent: [patterned-rhythmic-activity]\n"
        "      items: [{need: trauma-focused-therapy, status: now}]\n"
        "      order: [trauma-focused-therapy, patterned-rhythmic-activity]\n",
    )
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 1
    out = result.stdout
    assert f"FAIL {path}:2:5: wrong on purpose" in out
    assert "absent: expected 'patterned-rhythmic-activity' not to be in the plan" in out
    assert "item 'trauma-focused-therapy': status: expected 'now', got 'deferred'" in out
    assert "order: expected 'trauma-focused-therapy' before 'patterned-rhythmic-activity'" in out
    assert "plan, in order:" in out and "sensory/patterned-rhythmic-activity [now, warning]" in out
    assert "0 passed, 1 failed" in out


def test_a_passing_case_exits_0(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"cases:\n  - name: right\n    map: {MAP}\n    expect:\n"
        "      needs: [patterned-rhythmic-activity]\n"
        "      items: [{need: trauma-focused-therapy, status: deferred, "
        "held_by_includes: [sensory-load-reduction]}]\n",
    )
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.stdout


def test_mistakes_in_a_case_file_are_input_errors_with_locations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cases:\n  - name: typos\n"
        "    map: {subject: {id: t, age_years: 9}, assessed_on: 2026-10-01}\n"
        "    expect:\n      needs: [patterned-rhythm]\n      colour: blue\n"
        "      rules_not_fired: [sensory-severe-kid]\n"
        "      first: {need: self-harm-response, shade: red}\n",
    )
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}:3:10: error: invalid brain map: domains: required field is missing"
        in result.stderr
    )
    assert f"{path}:5:15: error: unknown need 'patterned-rhythm' in needs" in result.stderr
    assert f"{path}:6:7: error: unknown key 'colour' in expect" in result.stderr
    assert (
        f"{path}:7:25: error: unknown rule 'sensory-severe-kid' in rules_not_fired; "
        "did you mean 'sensory-severe-child'?" in result.stderr
    )
    assert f"{path}:8:41: error: unknown key 'shade' in first" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_setting_fails_the_case_not_the_run(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"cases:\n  - name: hospital\n    setting: hospital-ward\n    map: {MAP}\n"
        "    expect: {now_count: 0}\n",
    )
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 1
    assert "could not make a plan: unknown setting 'hospital-ward'" in result.stdout


def test_min_coverage_fails_when_cases_miss_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"cases:\n  - name: one map\n    map: {MAP}\n    expect: {{needs: [patterned-rhythmic-activity]}}\n",
    )
    result = CliRunner().invoke(main, ["test", str(path), "--min-coverage", "100"])
    assert result.exit_code == 1
    assert (
        "never fired: nmt-core/suicidal-ideation-same-day-response  (rulesets/core.yaml:"
        in result.stdout
    )
    assert "is below --min-coverage 100" in result.stdout
    passing = CliRunner().invoke(main, ["test", str(path), "--min-coverage", "1"])
    assert passing.exit_code == 0


def test_map_file_is_relative_to_the_case_file(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "m.yaml").write_text(
        "subject: {id: t, age_years: 30}\nassessed_on: 2026-10-01\n"
        "domains: {sensory_integration: 80, self_regulation: 80, relational: 80, cognitive: 80}\n"
        "flags: [self_harm]\n",
        encoding="utf-8",
    )
    path = write(
        tmp_path,
        "cases:\n  - name: from a file\n    map_file: maps/m.yaml\n"
        "    expect: {first: {need: self-harm-response}, now_count: 1}\n",
    )
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exit_code == 0, result.output


def test_without_paths_the_shipped_cases_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["test", "--coverage", "--min-coverage", "100"])
    assert result.exit_code == 0, result.output
    rules = len(core_ruleset().rules)
    assert f"coverage: {rules}/{rules} rules fired (100.0%)" in result.stdout


def test_without_paths_and_no_tests_golden_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["test"])
    assert result.exit_code == 2
    assert "tests/golden does not exist" in result.output


EXTRA = """\
ruleset: extra
version: '1'
needs: {}
stages:
  sensory:
    - id: drumming-circle
      when:
        - bands.sensory_integration: mild
        - age.years: {gte: 100}
      needs: [patterned-rhythmic-activity]
      because: A drumming circle suits centenarians with mild sensory difficulties.
"""


def test_coverage_of_one_ruleset_with_paths_relative_to_where_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "extra.yaml").write_text(EXTRA, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["test", str(GOLDEN / "core"), "--ruleset", str(ROOT / "rulesets" / "core.yaml")]
    result = CliRunner().invoke(
        main, [*args, "--ruleset", "drafts/extra.yaml", "--coverage-of", "extra"]
    )
    assert result.exit_code == 0, result.output
    assert "coverage of extra: 0/1 rules fired (0.0%)" in result.stdout
    assert "never fired: extra/drumming-circle  (drafts/extra.yaml:6:7)" in result.stdout
    assert "nmt-core/" not in result.stdout
    core = CliRunner().invoke(main, [*args, "--coverage-of", "nmt-core", "--min-coverage", "100"])
    assert core.exit_code == 0, core.output
    assert "coverage of nmt-core: " in core.stdout and "(100.0%)" in core.stdout


def test_coverage_of_an_unknown_ruleset_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["test", str(GOLDEN / "core"), "--coverage-of", "nmt-cor"])
    assert result.exit_code == 2
    assert "no ruleset 'nmt-cor' is loaded; loaded: nmt-core" in result.stderr
