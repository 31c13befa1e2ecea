"""`nmt-rules fmt`: canonical key order, comments kept, the meaning unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nmt_rules.catalogue import CATALOGUE_KEYS, ITEM_KEYS, parse_catalogue
from nmt_rules.cli import main
from nmt_rules.fmt import CATALOGUE, ITEM, NEED, RULE, RULESET, format_text
from nmt_rules.ruleset import NEED_KEYS, RULE_KEYS, RULESET_KEYS, parse_ruleset

ROOT = Path(__file__).resolve().parent.parent

MESSY = """\
# yaml-language-server: $schema=../schema/ruleset.schema.json
version: '1'   # quoted on purpose
ruleset: messy
stages:
  cognitive:
    - because: Cognitive functioning is low, so learning needs extra, patient support.
      needs: [learning-help]
      # the rule that matters
      id: low-cognition
      priority: 20
      when:
        - bands.cognitive: {lte: moderate}
needs:
  learning-help:
    title: Help with learning
    sequencing: foundation
    kind: intervention
    stage: cognitive
    goal: Finishes the day's work
"""


def test_keys_come_in_canonical_order_with_comments_and_quotes_kept() -> None:
    formatted = format_text(MESSY)
    assert formatted is not None
    lines = formatted.splitlines()
    assert lines[:3] == [
        "# yaml-language-server: $schema=../schema/ruleset.schema.json",
        "ruleset: messy",
        "version: '1'   # quoted on purpose",
    ]
    assert lines.index("needs:") < lines.index("stages:")
    rule = formatted[formatted.index("    - id: low-cognition") :]
    assert (
        rule.index("when:")
        < rule.index("needs:")
        < rule.index("because:")
        < rule.index("priority:")
    )
    # A comment above the key that now opens the rule goes above the rule.
    assert "    # the rule that matters\n    - id: low-cognition\n" in formatted
    need = formatted[formatted.index("  learning-help:") : formatted.index("stages:")]
    assert [line.split(":")[0].strip() for line in need.splitlines()[1:]] == [
        "stage",
        "kind",
        "sequencing",
        "title",
        "goal",
    ]
    # Formatting changes the layout, never the meaning; formatting twice changes nothing.
    assert yaml.safe_load(formatted) == yaml.safe_load(MESSY)
    assert [r.id for r in parse_ruleset(formatted, "m.yaml").rules] == ["low-cognition"]
    assert format_text(formatted) == formatted


def test_a_comment_moves_with_the_key_it_stands_above() -> None:
    text = MESSY.replace(
        "      needs: [learning-help]\n      # the rule that matters\n      id: low-cognition\n",
        "      # what it raises\n      needs: [learning-help]\n      id: low-cognition  # the rule\n",
    )
    formatted = format_text(text)
    assert formatted is not None
    assert "    - id: low-cognition  # the rule\n" in formatted
    assert "      # what it raises\n      needs: [learning-help]\n" in formatted


def test_a_text_written_over_several_lines_stays_on_several() -> None:
    text = (
        "catalogue: ward\nversion: '1'\nsetting: ward\nitems:\n  - id: walks\n"
        "    meets: [patterned-rhythmic-activity]\n    title: Walks\n"
        "    description: Short walks around the ward with a nurse at a steady, matched pace,\n"
        "      with a counting rhythm the child chooses, several times a day.\n"
        "    modality: movement\n    delivered_by: [nurse]\n    audience: [nurse]\n"
        "    ages: {min: 5, max: 18}\n"
    )
    formatted = format_text(text)
    assert formatted is not None and "    description: >-\n      Short walks" in formatted
    assert max(len(line) for line in formatted.splitlines()) <= 88
    assert parse_catalogue(formatted, "c.yaml").items == parse_catalogue(text, "c.yaml").items


ITEM_TEXT = """\
catalogue: ward
version: '1'
setting: ward
items:
  - id: early
    meets: [sensory-load-reduction]
    placements: [residential]
    title: Quiet room
    description: A calm room.
    modality: environment
    delivered_by: [nurse]
    audience: [nurse]
    ages: {min: 5, max: 18}
  - id: late
    meets: [sensory-load-reduction]
    title: Quiet room
    description: A calm room.
    modality: environment
    delivered_by: [nurse]
    audience: [nurse]
    ages: {min: 5, max: 18}
    dose: {frequency: daily, duration: 10 minutes}
    placements: [residential]
"""


def test_targeting_keys_may_sit_after_meets_or_after_ages() -> None:
    formatted = format_text(ITEM_TEXT)
    assert formatted is not None
    early, late = formatted.split("  - id: late")
    assert early.index("placements") < early.index("title")
    assert late.index("ages") < late.index("placements") < late.index("dose")


def test_the_canonical_orders_name_every_key_the_loaders_take() -> None:
    for shape, keys in (
        (RULESET, RULESET_KEYS),
        (NEED, NEED_KEYS),
        (RULE, RULE_KEYS),
        (CATALOGUE, CATALOGUE_KEYS),
        (ITEM, ITEM_KEYS),
    ):
        assert sorted(shape.order) == sorted({*keys.required, *keys.optional})


def test_the_shipped_rulesets_and_catalogues_are_formatted() -> None:
    paths = [ROOT / "rulesets", ROOT / "plugins", ROOT / "examples" / "plugin"]
    result = CliRunner().invoke(main, ["fmt", "--check", *map(str, paths)])
    assert result.exit_code == 0, result.output


def test_check_reports_and_leaves_files_alone_then_fmt_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "messy.yaml"
    path.write_text(MESSY, encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("just: a note\n", encoding="utf-8")
    checked = CliRunner().invoke(main, ["fmt", "--check", str(tmp_path)])
    assert checked.exit_code == 1
    assert checked.stdout == f"would reformat {path}\n"
    assert path.read_text(encoding="utf-8") == MESSY
    written = CliRunner().invoke(main, ["fmt", str(tmp_path)])
    assert written.exit_code == 0 and written.stdout == f"reformatted {path}\n"
    assert path.read_text(encoding="utf-8") == format_text(MESSY)
    assert CliRunner().invoke(main, ["fmt", "--check", str(path)]).exit_code == 0


@pytest.mark.parametrize("text", ["ruleset: x\nneeds: [\n", "ruleset: x\nruleset: y\n"])
def test_yaml_it_cannot_read_is_an_input_error_at_its_place(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:") and "invalid YAML" in result.stderr
    assert "Traceback" not in result.output
