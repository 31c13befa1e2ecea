"""Reports for people: the clinician's report with the brain map, and plain handouts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import attrs
import pytest
import textstat
from click.testing import CliRunner

from nmt_rules import Plan, Planner, ReportError, load_brain_map, render
from nmt_rules.cli import main
from nmt_rules.handout import build_handout
from nmt_rules.report import AUDIENCES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {
    name: ROOT / "examples" / f"{name}.yaml"
    for name in ("child-school", "teen-foster-care", "adult-reentry")
}
HANDOUTS = [a for a in AUDIENCES if a != "clinician"]


@pytest.fixture(scope="module")
def plans(planner: Planner) -> dict[str, Plan]:
    return {name: planner.plan(load_brain_map(path)) for name, path in EXAMPLES.items()}


def test_unknown_format_or_audience_and_json_handouts_are_report_errors(
    plans: dict[str, Plan],
) -> None:
    plan = plans["child-school"]
    with pytest.raises(ReportError, match="unknown format 'pdf'"):
        render(plan, "pdf")
    with pytest.raises(ReportError, match="unknown audience 'parent'"):
        render(plan, "html", "parent")
    with pytest.raises(ReportError, match="audiences apply to text and html"):
        render(plan, "json", "caregiver")


def test_clinician_html_draws_the_brain_map_bottom_up_with_scores_and_bands(
    plans: dict[str, Plan],
) -> None:
    page = render(plans["child-school"], "html")
    svg = re.search(r'<svg class="brain-map".*?</svg>', page, re.S)
    assert svg is not None
    labels = re.findall(r'font-weight="600" fill="#1d1d1f">([A-Za-z -]+)</text>', svg.group())
    assert labels == ["Cognitive", "Relational", "Self-regulation", "Sensory integration"]
    for score, band in ((25, "severe"), (41, "moderate"), (55, "mild"), (85, "typical")):
        assert f">{score}</text>" in svg.group()
        assert f">{band} · improved" in svg.group()  # the band in words, never colour alone
    assert '<svg class="history"' in page  # history by period
    assert '<svg class="progress"' in page and ">2026-04-01</text>" in page  # dates on axis


def test_text_report_has_one_bar_line_per_domain(plans: dict[str, Plan]) -> None:
    text = render(plans["child-school"], "text")
    lines = [line for line in text.splitlines() if "█" in line]
    assert len(lines) == 4
    assert lines[0].split()[0] == "Cognitive" and lines[-1].startswith("  Sensory integration")
    assert "25  severe" in lines[-1] and "+5 since 2026-04-01, improved" in lines[-1]


def _ids(plan: Plan) -> list[str]:
    ids = [i.need for i in plan.items] + [i.rule for i in plan.items]
    ids += [d.id for i in plan.items for d in i.delivery]
    return [i for i in ids if "-" in i]  # one-word ids can be ordinary words


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("audience", HANDOUTS)
@pytest.mark.parametrize("fmt", ["text", "html"])
def test_handouts_show_no_ids_or_fact_names(
    plans: dict[str, Plan], name: str, audience: str, fmt: str
) -> None:
    plan = plans[name]
    out = render(plan, fmt, audience)
    for ident in _ids(plan):
        assert ident not in out
    for fact in ("bands.", "domains.", "age.group", "nmt-core/", "flags."):
        assert fact not in out


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("audience", HANDOUTS)
def test_handout_prose_reads_at_grade_8_or_below(
    plans: dict[str, Plan], name: str, audience: str
) -> None:
    handout = build_handout(plans[name], audience)  # type: ignore[arg-type]
    prose = " ".join([*handout.going_on, handout.waits[0] if handout.waits else ""])
    assert textstat.flesch_kincaid_grade(prose) <= 8


def test_adults_are_addressed_as_adults_with_consent(plans: dict[str, Plan]) -> None:
    adult = render(plans["adult-reentry"], "text", "caregiver")
    assert "For the people r-024 chooses to support them." in adult
    assert "r-024 agreed to share this plan with you" in adult
    person = render(plans["adult-reentry"], "text", "person")
    assert "You decide who else sees this plan." in person
    assert "WHAT YOUR TEAM AND THE PEOPLE YOU CHOOSE CAN DO" in person
    child = render(plans["child-school"], "text", "caregiver")
    assert "For the parents and carers of c-001." in child and "agreed to share" not in child
    clinician = render(plans["adult-reentry"], "text")
    assert "THE PERSON AND THE PEOPLE THEY CHOOSE CAN LEARN, WITH THEIR CONSENT" in clinician
    assert "CAREGIVERS, TEACHERS AND STAFF SHOULD LEARN" in render(plans["child-school"], "text")


def test_teen_handout_keeps_choice_and_puts_safety_first(plans: dict[str, Plan]) -> None:
    text = render(plans["teen-foster-care"], "text", "person")
    assert "It is your plan: say what works for you" in text
    caregiver = render(plans["teen-foster-care"], "text", "caregiver")
    crisis = caregiver.index("WHO TO CONTACT IN A CRISIS")
    assert crisis < caregiver.index("Take every time they hurt themselves seriously")
    assert caregiver.index("Take every time") < caregiver.index("WHAT IS GOING ON")


def test_a_caregiver_handout_leaves_out_the_protection_procedure(planner: Planner) -> None:
    data = {
        "subject": {"id": "h-abuse", "age_years": 8},
        "assessed_on": "2026-10-01",
        "domains": {
            "sensory_integration": 60,
            "self_regulation": 45,
            "relational": 50,
            "cognitive": 70,
        },
        "flags": ["abuse_or_neglect"],
    }
    plan = planner.plan(data, "school")
    procedure = next(i for i in plan.items if i.need == "safeguarding-response")
    assert procedure.plain is not None
    caregiver = render(plan, "text", "caregiver")
    teacher = render(plan, "text", "teacher")
    # the caregiver may be the person of concern; the teacher is a mandated reporter
    assert procedure.plain.title not in caregiver
    assert procedure.plain.title in teacher


def test_timetable_comes_from_the_readers_own_doses(plans: dict[str, Plan]) -> None:
    handout = build_handout(plans["child-school"], "teacher")
    movement = next(r for r in handout.daily if r.title == "Movement breaks in class")
    assert (movement.often, movement.long) == ("5-6 times a school day", "5-10 minutes")
    # Weekly or one-off activities are listed apart, not in the day's timetable.
    assert all("week" not in r.often.split(";")[0] for r in handout.daily)
    assert any("once" in r.often.lower() for r in handout.planned)
    text = render(plans["child-school"], "text", "teacher")
    assert "When: 5-6 times a school day; 5-10 minutes" in text


def test_deferred_items_wait_in_one_plain_sentence(plans: dict[str, Plan]) -> None:
    handout = build_handout(plans["child-school"], "caregiver")
    sentence, *titles = handout.waits
    assert sentence == (
        "These wait until the child needs less help with body and senses. They are not dropped."
    )
    assert "Talking therapy about what happened, when ready" in titles


def test_goals_and_review_dates_appear_when_a_plan_has_them(plans: dict[str, Plan]) -> None:
    plan = plans["child-school"]
    first = attrs.evolve(plan.items[0], goal="Settles within ten minutes after a break.")
    plan = attrs.evolve(
        plan,
        items=(first, *plan.items[1:]),
        review_by=dt.date(2027, 1, 15),
        review_because="sensory integration is severe",
    )
    for fmt in ("text", "html"):
        clinician = " ".join(render(plan, fmt).split())
        assert "Settles within ten minutes after a break." in clinician
        assert "2027-01-15 (sensory integration is severe)" in clinician
        for audience in HANDOUTS:
            assert "by January 15, 2027" in render(plan, fmt, audience)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_markup_in_texts_is_escaped_everywhere(plans: dict[str, Plan], audience: str) -> None:
    hostile = '<script>alert("x")</script></style>'
    plan = plans["child-school"]
    first = plan.items[0]
    delivery = attrs.evolve(first.delivery[0], title=hostile, description=hostile, plain=None)
    plan = attrs.evolve(
        plan, subject_id=hostile, items=(attrs.evolve(first, delivery=(delivery,)), *plan.items[1:])
    )
    page = render(plan, "html", audience)
    assert "<script" not in page and "</style></style>" not in page
    assert page.count("</style>") == 1  # the running header cannot end the stylesheet
    assert "&lt;script&gt;" in page


def test_recommend_writes_reports_atomically_for_an_audience(tmp_path: Path) -> None:
    out = tmp_path / "handout.html"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "recommend",
            str(EXAMPLES["child-school"]),
            "--format",
            "html",
            "--audience",
            "caregiver",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Plan for c-001: for the people at home" in out.read_text(encoding="utf-8")
    # A failing render leaves the file as it was and no temporary file behind.
    result = runner.invoke(
        main,
        [
            "recommend",
            str(EXAMPLES["child-school"]),
            "--format",
            "json",
            "--audience",
            "caregiver",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "audiences apply to text and html" in result.stderr
    assert "for the people at home" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["handout.html"]
