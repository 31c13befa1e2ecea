"""`nmt-rules check`: every broken file gets its error at the right line and column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nmt_rules.check import check_paths, file_kind
from nmt_rules.cli import main
from nmt_rules.plugins import PluginSet, load_plugins

ROOT = Path(__file__).resolve().parent.parent
BROKEN = sorted((ROOT / "tests" / "rulesets" / "broken").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\d+):(\d+) (error|warning): (.+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def plugins() -> PluginSet:
    return load_plugins()


def test_the_broken_corpus_is_big_enough() -> None:
    assert len(BROKEN) >= 15


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_file_is_reported_at_its_expected_location(path: Path, plugins: PluginSet) -> None:
    expected = _EXPECT.findall(path.read_text(encoding="utf-8"))
    assert expected, f"{path.name} has no '# expect: line:col level: message' header"
    report = check_paths([path], plugins)
    found = [(d.line, d.col, d.level, d.message) for d in report.diagnostics]
    for line, col, level, fragment in expected:
        assert any(
            (d_line, d_col, d_level) == (int(line), int(col), level) and fragment in message
            for d_line, d_col, d_level, message in found
        ), f"expected {line}:{col} {level}: {fragment!r}; got {found}"


def test_cli_prints_file_line_col_and_exits_1_on_errors() -> None:
    path = next(p for p in BROKEN if p.stem == "unknown-operator")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:14:31: error: unknown operator 'below'" in result.stdout
    assert "1 error(s)" in result.stderr


def test_cli_json_format_lists_diagnostics() -> None:
    path = next(p for p in BROKEN if p.stem == "duplicate-rule-id")
    result = CliRunner().invoke(main, ["check", "--format", "json", str(path)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["files"] == 1
    assert {"line": 17, "col": 11, "level": "error"}.items() <= data["diagnostics"][0].items()


def test_shipped_rulesets_and_catalogues_check_clean() -> None:
    result = CliRunner().invoke(main, ["check", str(ROOT / "rulesets"), str(ROOT / "plugins")])
    assert result.exit_code == 0, result.output
    assert "error" not in result.stdout
    assert "checked 4 file(s): 0 error(s)" in result.stderr


def test_directories_are_searched_recursively(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    source = next(p for p in BROKEN if p.stem == "unknown-enum-value")
    (nested / "rules.yml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "a" / "map.yaml").write_text("subject: {id: x, age_years: 3}\n", encoding="utf-8")
    report = check_paths([tmp_path])
    assert report.files == 1  # the brain map is neither kind and is skipped
    assert [(d.line, d.col) for d in report.diagnostics if d.level == "error"] == [(14, 28)]


def test_a_named_file_of_unknown_kind_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("subject: {id: x, age_years: 3}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "not a ruleset or a catalogue" in result.stdout


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_a_plugin_ruleset_may_raise_needs_of_the_core_ruleset(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(
        "ruleset: extra\nversion: '1'\nneeds: {}\nstages:\n  sensory:\n"
        "    - id: rhythm-for-drummers\n      when:\n        - bands.sensory_integration: mild\n"
        "      needs: [patterned-rhythmic-activity]\n"
        "      because: Mild sensory difficulties still benefit from daily rhythm.\n",
        encoding="utf-8",
    )
    report = check_paths([path])
    assert report.errors == 0, report.diagnostics


def test_kind_is_found_by_top_level_key_even_in_broken_yaml() -> None:
    assert file_kind("catalogue: x\nitems: [\n") == "catalogue"
    assert file_kind("ruleset: x\n") == "ruleset"
    assert file_kind('{"ruleset": "x"}') == "ruleset"
    assert file_kind("subject: {}\n") is None


def _plugin_folder(root: Path, name: str, rules: str | None) -> Path:
    folder = root / f"nmt-rules-{name}"
    package = folder / "src" / f"nmt_rules_{name}"
    package.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "nmt-rules-{name}"\nversion = "0.2.0"\n'
        f'[project.entry-points.nmt_rules]\n{name} = "nmt_rules_{name}"\n',
        encoding="utf-8",
    )
    hooks = "from nmt_rules import hookimpl\n\n"
    if rules is not None:
        (package / "rules.yaml").write_text(rules, encoding="utf-8")
        hooks += "@hookimpl\ndef nmt_rules_rulesets():\n    return 'rules.yaml'\n"
    (package / "__init__.py").write_text(hooks, encoding="utf-8")
    return folder


def test_check_of_a_plugin_folder_loads_it_through_its_hooks(tmp_path: Path) -> None:
    clash = (
        "ruleset: clashing\nversion: '1'\nneeds:\n  sensory-load-reduction:\n"
        "    stage: sensory\n    kind: intervention\n    sequencing: foundation\n"
        "    title: Declared again\nstages: {}\n"
    )
    folder = _plugin_folder(tmp_path, "clashcheck", clash)
    report = check_paths([folder])
    assert report.errors == 1
    (error,) = [d for d in report.diagnostics if d.level == "error"]
    assert error.message.startswith("need 'sensory-load-reduction' is already declared at")
    assert error.file.endswith("rules.yaml") and (error.line, error.col) == (4, 3)
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 1


def test_check_of_the_example_plugin_folder_passes_with_coverage_warnings() -> None:
    report = check_paths([ROOT / "examples" / "plugin" / "nmt-rules-hospital"])
    assert report.errors == 0, report.diagnostics
    assert report.files == 2  # its catalogue and ruleset, read through its hooks
    assert any(
        "where the hospital catalogue has no item for it" in d.message for d in report.diagnostics
    )


def test_a_plugin_ruleset_that_runs_in_every_setting_warns_per_unscoped_rule(
    tmp_path: Path,
) -> None:
    rules = (
        "ruleset: everywhere\nversion: '1'\napplies_to: every-setting\nneeds: {}\nstages:\n"
        "  sensory:\n    - id: loud-places\n      when:\n        - bands.sensory_integration: mild\n"
        "      needs: [sensory-load-reduction]\n"
        "      because: Loud places overwhelm people with mild sensory difficulties.\n"
    )
    report = check_paths([_plugin_folder(tmp_path, "everywhere", rules)])
    assert report.errors == 0
    assert any(
        "rule 'loud-places' does not test `setting`, and its ruleset applies to every setting"
        in d.message
        for d in report.diagnostics
    )
