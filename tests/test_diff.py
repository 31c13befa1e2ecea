"""`nmt-rules diff` and provenance of draft rulesets: what a program designer sees after
editing a rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nmt_rules import Planner, core_ruleset, load_ruleset, plan_to_html, plan_to_text
from nmt_rules.cds import cards
from nmt_rules.cli import main
from nmt_rules.diff import diff_plans, records_of

from .conftest import make_map

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "rulesets" / "core.yaml"
DROPPED = "sensory-processing-assessment"


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    """The core ruleset with one need dropped from the severe-sensory rule for children."""
    text = CORE.read_text(encoding="utf-8")
    old = f"needs: [patterned-rhythmic-activity, sensory-load-reduction, {DROPPED}]\n      because: >-\n        Sensory integration is in the severe band for a school-age child"
    assert old in text
    path = tmp_path / "drafts" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(text.replace(old, old.replace(f", {DROPPED}", "")), encoding="utf-8")
    return path


@pytest.fixture
def maps(tmp_path: Path) -> Path:
    """A folder of maps: two severe-sensory children (changed by the draft), a teen (not)."""
    folder = tmp_path / "maps"
    folder.mkdir()
    for name, age, sensory in (("c-1", 9, 25), ("c-2", 7, 20), ("t-1", 15, 25)):
        data = make_map(age=age, sensory=sensory)
        data["subject"]["id"] = name
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def test_diff_counts_changed_plans_per_need_with_example_ids(draft: Path, maps: Path) -> None:
    new = Planner([load_ruleset(draft)])
    result = diff_plans(Planner([core_ruleset()]), new, records_of([maps]))
    assert (result.maps, result.changed, result.failed) == (3, 2, ())
    (change,) = result.changes
    assert (change.need, change.change, change.maps) == (DROPPED, "removed", ("c-1", "c-2"))


def test_diff_on_the_command_line_reads_folders_files_and_json_lines(
    draft: Path, maps: Path, tmp_path: Path
) -> None:
    lines = tmp_path / "more.jsonl"
    lines.write_text(
        json.dumps(make_map(age=10, sensory=30)) + "\n" + '{"subject": 1}\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        main, ["diff", "--ruleset", str(draft), str(maps), str(lines), "--format", "json"]
    )
    assert result.exit_code == 1  # one record of more.jsonl is not a brain map
    data = json.loads(result.stdout)
    assert (data["maps"], data["changed"]) == (5, 3)
    assert data["needs"] == [
        {"need": DROPPED, "change": "removed", "plans": 3, "maps": ["c-1", "c-2", "t-001"]}
    ]
    assert f"{lines}:2: subject: " in result.stderr
    text = CliRunner().invoke(main, ["diff", "--ruleset", str(draft), str(maps)])
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0].startswith("2 of 3 plans change (base: installed rulesets")
    assert "removed" in text.stdout and "in 2 plans, e.g. c-1, c-2" in text.stdout


def test_a_status_change_is_reported_as_one(tmp_path: Path, maps: Path) -> None:
    text = CORE.read_text(encoding="utf-8")
    bands = "bands:\n  severe: [0, 34]\n"
    assert bands in text
    wider = tmp_path / "wider-severe.yaml"
    wider.write_text(
        text.replace(bands, "bands:\n  severe: [0, 40]\n").replace(
            "  moderate: [35, 54]", "  moderate: [41, 54]"
        ),
        encoding="utf-8",
    )
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump(make_map(age=9, regulation=38, cognitive=50)), encoding="utf-8")
    result = diff_plans(
        Planner([core_ruleset()]), Planner([load_ruleset(wider)]), records_of([one])
    )
    assert result.changed == 1
    changes = {(c.need, c.change) for c in result.changes}
    # Self-regulation at 38 is severe now: demands above it wait, foundations come in.
    assert ("shared-problem-solving-skills", "now -> deferred") in changes
    assert ("co-regulation-first", "added") in changes


def test_provenance_names_a_draft_ruleset_by_its_path_in_every_format(draft: Path) -> None:
    plan = Planner([load_ruleset(draft)]).plan(make_map(sensory=25))
    (ref,) = plan.provenance.rulesets
    assert (ref.origin, ref.draft) == (str(draft), True)
    shown = f"nmt-core 1.0.0 (DRAFT: {draft})"
    assert shown in plan_to_text(plan)
    assert shown in plan_to_html(plan)
    assert shown in cards(plan, "hook-1", None)["cards"][0]["source"]["label"]
    result = CliRunner().invoke(
        main,
        [
            "recommend",
            str(ROOT / "examples" / "child-school.yaml"),
            "--ruleset",
            str(draft),
            "--format",
            "json",
        ],
    )
    assert json.loads(result.stdout)["provenance"]["rulesets"][0] == {
        "name": "nmt-core",
        "version": "1.0.0",
        "sha256": ref.sha256,
        "origin": str(draft),
        "draft": True,
    }


def test_shipped_rulesets_are_not_drafts(planner: Planner) -> None:
    plan = planner.plan(make_map(sensory=25), "school")
    assert (plan.provenance.rulesets[0].origin, plan.provenance.rulesets[0].draft) == (
        "core",
        False,
    )
    assert "DRAFT" not in plan_to_text(plan)
    # The shipped core loaded from its file is still the shipped core.
    copy = Planner([load_ruleset(CORE)]).plan(make_map(sensory=25))
    assert copy.provenance.rulesets[0].draft is False
