"""The command line as a person uses it: output, messages and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nmt_rules.cli import main

from .conftest import make_map

ROOT = Path(__file__).parent.parent
CHILD = str(ROOT / "examples" / "child-school.yaml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_map(tmp_path: Path, **change: object) -> str:
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(make_map(**change)))  # type: ignore[arg-type]
    return str(path)


def test_recommend_prints_a_plan_a_person_can_read() -> None:
    code, out, _ = run("recommend", CHILD)
    assert code == 0
    assert out.index("DO NOW") < out.index("WAITS")
    assert "why:" in out and "held by:" in out and "released when:" in out
    assert "not a diagnostic tool" in out and "not affiliated" in out


def test_recommend_json_follows_the_contract() -> None:
    code, out, _ = run("recommend", CHILD, "--format", "json")
    assert code == 0
    plan = json.loads(out)
    assert plan["provenance"]["rulesets"][0]["name"] == "nmt-core"
    for item in plan["items"]:
        assert {
            "id",
            "stage",
            "status",
            "indicator",
            "need",
            "title",
            "because",
            "rule",
            "matched",
        } <= set(item)
        if item["status"] == "deferred":
            assert item["held_by"]


def test_a_severe_sensory_child_in_text(tmp_path: Path) -> None:
    code, out, _ = run("recommend", write_map(tmp_path, sensory=25, cognitive=85))
    assert code == 0
    assert "Sensory integration" in out.split("DO NOW")[1]


def test_invalid_map_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = write_map(tmp_path, sensory=140)
    code, out, err = run("recommend", path)
    assert code == 2
    assert "domains.sensory_integration: 140 is above 100" in err
    assert "Traceback" not in out + err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run("recommend", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "cannot read file" in err


def test_unknown_setting_exits_2_listing_the_known_ones() -> None:
    code, _, err = run("recommend", CHILD, "--setting", "hospital")
    assert code == 2
    assert "unknown setting 'hospital'" in err
    assert "foster-care, justice-reentry, school" in err


def test_invalid_ruleset_exits_2_with_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ruleset: bad\nversion: '1'\nneeds: {}\nstages:\n  sensory:\n"
        "    - id: r1\n      when: [{domains.sensory_integration: {less: 3}}]\n"
        "      needs: [x]\n      because: y\n"
    )
    code, _, err = run("recommend", CHILD, "--ruleset", str(bad))
    assert code == 2
    assert f"{bad}:7:" in err and "unknown operator 'less'" in err


@pytest.mark.parametrize("setting", ["school", "foster-care", "justice-reentry"])
def test_settings_change_how_needs_are_delivered(tmp_path: Path, setting: str) -> None:
    code, out, _ = run(
        "recommend",
        write_map(tmp_path, age=17, sensory=25),
        "--setting",
        setting,
        "--format",
        "json",
    )
    assert code == 0
    plan = json.loads(out)
    catalogues = {d["catalogue"] for i in plan["items"] for d in i["delivery"]}
    assert catalogues == {setting}


def test_plugins_lists_the_three_settings() -> None:
    code, out, _ = run("plugins", "--format", "json")
    assert code == 0
    listed = {p["name"]: p for p in json.loads(out)["plugins"]}
    assert {"school", "foster-care", "justice-reentry"} <= set(listed)
    assert all(
        p["catalogues"][0]["items"] > 40
        for p in listed.values()
        if p["name"] in ("school", "foster-care", "justice-reentry")
    )
    code, text, _ = run("plugins")
    assert "school 1.0.0" in text


def test_html_report_is_printable_escaped_and_carries_the_disclaimer(tmp_path: Path) -> None:
    path = write_map(tmp_path, sensory=25, relational=40, flags=["self_harm"])
    Path(path).write_text(Path(path).read_text().replace("t-001", "<b>x&y</b>"))
    code, out, _ = run("recommend", path, "--format", "html", "--setting", "school")
    assert code == 0
    assert out.startswith("<!doctype html>") and out.rstrip().endswith("</html>")
    assert "&lt;b&gt;x&amp;y&lt;/b&gt;" in out and "<b>x&y</b>" not in out
    assert "not a diagnostic tool" in out and "<script" not in out
    assert out.index("SAFETY") < out.index("DO NOW") < out.index("WAITS")
    assert "Held by:" in out and "Released when:" in out
