"""Plain-language texts: every shipped need and item has them, and they read at US grade 8.

Readability is measured with textstat's Flesch-Kincaid grade on the text as a handout shows
it (the title as a sentence, then what to do).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import textstat

from nmt_rules.catalogue import load_catalogue
from nmt_rules.lint import needs_without_plain
from nmt_rules.model import Plain
from nmt_rules.plugins import load_plugins
from nmt_rules.ruleset import core_ruleset, parse_ruleset

ROOT = Path(__file__).resolve().parent.parent
#: The highest US school grade a shipped plain text may read at.
MAX_GRADE = 8.0


def _shipped() -> dict[str, Plain | None]:
    """Every shipped need, protocol item and catalogue item, by a readable name."""
    out: dict[str, Plain | None] = {}
    for need in core_ruleset().needs.values():
        out[f"need {need.id}"] = need.plain
        out.update({f"protocol item {i.id}": i.plain for i in need.protocol})
    catalogues = [*load_plugins().catalogues]
    catalogues += [
        load_catalogue(p) for p in (ROOT / "examples" / "plugin").rglob("catalogue.yaml")
    ]
    for catalogue in catalogues:
        out.update({f"{catalogue.setting} item {i.id}": i.plain for i in catalogue.items})
    return out


SHIPPED = _shipped()


def test_every_shipped_need_and_item_has_plain_texts() -> None:
    assert len(SHIPPED) > 250  # the core needs and every setting's items are all here
    assert [name for name, plain in SHIPPED.items() if plain is None] == []


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_plain_text_reads_at_grade_8_or_below(name: str) -> None:
    plain = SHIPPED[name]
    assert plain is not None
    text = f"{plain.title}. {plain.do}"
    grade = textstat.flesch_kincaid_grade(text)
    assert grade <= MAX_GRADE, f"{name} reads at grade {grade:.1f}: {text}"


def test_readability_check_tells_plain_from_clinical_text() -> None:
    # The measure itself must separate the two registers, or the test above proves nothing.
    need = core_ruleset().needs["co-regulation-first"]
    assert need.plain is not None
    assert textstat.flesch_kincaid_grade(need.description) > MAX_GRADE
    assert textstat.flesch_kincaid_grade(f"{need.plain.title}. {need.plain.do}") <= MAX_GRADE


_RULESET = """\
ruleset: plain-test
version: "1"
needs:
  calm-first:
    stage: regulation
    kind: intervention
    sequencing: foundation
    title: Co-regulate before any demand
    plain:
      title: Calm first, then ask
      do: >-
        Get calm yourself,
        then help them settle.
  no-plain:
    stage: regulation
    kind: intervention
    sequencing: foundation
    title: Another need
stages: {}
"""


def test_plain_texts_load_and_missing_ones_are_warned_about() -> None:
    ruleset = parse_ruleset(_RULESET, "plain-test.yaml")
    assert ruleset.needs["calm-first"].plain == Plain(
        "Calm first, then ask", "Get calm yourself, then help them settle."
    )
    warnings = needs_without_plain(ruleset)
    assert [(w.line, w.level) for w in warnings] == [(14, "warning")]
    assert "need 'no-plain' has no `plain` texts" in warnings[0].message
