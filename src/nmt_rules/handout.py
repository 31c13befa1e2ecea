"""Handouts in plain language for a caregiver, a teacher or the person themselves.

A handout is built from the plan (never from ids): what is going on, who to contact in a
crisis, what to do each day (a small timetable from the doses of the items the reader
delivers), what to avoid, and what waits and why. It uses the `plain` texts of needs and
catalogue items, falling back to their clinical titles where a plugin has none.

Adults (18 and over) are addressed as adults: the handout speaks to the person, and to the
supporters they choose to share it with, with their consent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

import attrs

from .model import Delivery, Plan, PlanItem
from .picture import Labels
from .vocabulary import DOMAINS, STAGE_DOMAIN, AgeGroup, Domain

Reader = Literal["caregiver", "teacher", "person"]
READERS: Final[tuple[Reader, ...]] = ("caregiver", "teacher", "person")

#: Delivery roles whose items a reader carries out, for minors and for adults.
_ROLES: Final[Mapping[tuple[Reader, bool], frozenset[str]]] = {
    ("caregiver", False): frozenset({"caregiver"}),
    ("caregiver", True): frozenset({"caregiver"}),
    ("teacher", False): frozenset({"teacher", "teaching-assistant", "school-counsellor", "coach"}),
    ("teacher", True): frozenset({"teacher", "coach"}),
    ("person", False): frozenset({"person"}),
    ("person", True): frozenset({"person"}),
}

PLAIN_LABELS: Final = Labels(
    domains={
        "sensory_integration": "Body and senses",
        "self_regulation": "Staying calm",
        "relational": "Getting along with people",
        "cognitive": "Thinking and learning",
    },
    bands={
        "severe": "needs the most help",
        "moderate": "needs a lot of help",
        "mild": "needs some help",
        "typical": "doing well",
    },
    changes={
        "improved": "better than last time",
        "stable": "about the same",
        "worse": "harder than last time",
    },
    numbers=False,
)

PLAIN_DISCLAIMER: Final = (
    "Made with nmt-rules, a decision-support tool for trained professionals. It is not a "
    "diagnosis. It is not linked to or approved by the Neurosequential Network or the "
    "ChildTrauma Academy. The care team makes the decisions, together with you."
)

CRISIS_LINES: Final = (
    "If anyone is in danger right now, call 911 (in the US) or your local emergency number.",
    "In a mental-health crisis, call or text 988 (in the US and Canada), or your local "
    "crisis line.",
)


@attrs.frozen
class Row:
    """One activity in the timetable: how often, how long, what to do and with whom."""

    often: str
    long: str
    title: str
    do: str


@attrs.frozen
class Handout:
    """Everything a handout says, in order, in plain words."""

    reader: Reader
    heading: str
    for_whom: str
    consent: str | None
    going_on: tuple[str, ...]
    crisis: tuple[tuple[str, str], ...]
    daily_heading: str
    daily: tuple[Row, ...]
    #: The reader's activities that come weekly, once or less often.
    planned: tuple[Row, ...]
    also: tuple[tuple[str, str], ...]
    others_heading: str
    others: tuple[str, ...]
    avoid: tuple[str, ...]
    #: Until when things wait (one sentence), then the plain titles of what waits.
    waits: tuple[str, ...]
    review: str | None
    disclaimer: str = PLAIN_DISCLAIMER
    crisis_lines: tuple[str, ...] = CRISIS_LINES


def is_adult(group: AgeGroup) -> bool:
    """Whether the person is addressed as an adult (18 and over)."""
    return group in ("young_adult", "adult")


def build_handout(plan: Plan, reader: Reader) -> Handout:
    """The handout of a plan for one reader."""
    summary = plan.brain_map
    group: AgeGroup = summary.age_group if summary is not None else "adult"
    adult = is_adult(group)
    words = _Words(reader, group, plan.subject_id)
    roles = _ROLES[(reader, adult)]
    safety = [
        i
        for i in plan.items
        if i.stage == "safety" and reader in _need_readers(i) and _may_read(reader, i)
    ]
    now = [i for i in plan.items if i.stage != "safety" and i.status == "now"]
    deferred = [i for i in plan.items if i.status == "deferred"]

    # The reader's own activities: what the roles they stand for deliver. Items that only
    # keep them informed stay with the others on the team.
    mine: dict[str, tuple[Delivery, PlanItem]] = {}
    for item in now:
        for d in item.delivery:
            if roles & set(d.delivered_by):
                mine.setdefault(d.id, (d, item))
    covered = {item.id for _, item in mine.values()}
    also = [i for i in now if i.id not in covered and reader in _need_readers(i)]
    others = [_plain(i)[0] for i in now if i.id not in covered and i not in also]
    # Every day (or whenever it is needed) goes in the timetable; what comes weekly or
    # once is listed with its timing, so that a handout stays short enough to use.
    ranked = sorted(mine.values(), key=lambda pair: _often_rank(_dose(pair[0])[0]))
    daily = [d for d, _ in ranked if _often_rank(_dose(d)[0]) <= _WHEN_NEEDED]
    planned = [d for d, _ in ranked if _often_rank(_dose(d)[0]) > _WHEN_NEEDED]
    safety_deliveries = [d for i in safety for d in i.delivery if roles & set(d.delivered_by)]
    # Safety first, then the daily activities in the order they appear; a handout that
    # lists every caution of every activity is not read, so it keeps the first few.
    avoid = list(
        dict.fromkeys(c for d in [*safety_deliveries, *daily] for c in d.contraindications)
    )[:_AVOID_LIMIT]
    review = None
    if plan.review_by is not None:
        review = f"The team will check how things are going by {_date(plan.review_by)}."
    return Handout(
        reader=reader,
        heading=words.heading,
        for_whom=words.for_whom,
        consent=words.consent,
        going_on=tuple(_going_on(plan, words, bool(safety))),
        crisis=tuple(_plain(i) for i in safety),
        daily_heading=words.daily,
        daily=tuple(_row(d) for d in daily),
        planned=tuple(_row(d) for d in planned),
        also=tuple(_plain(i) for i in also),
        others_heading=words.others,
        others=tuple(dict.fromkeys(others)),
        avoid=tuple(avoid),
        waits=tuple(_waits(plan, deferred, words)),
        review=review,
    )


#: Needs a caregiver's handout leaves out: a protection procedure is carried out by the
#: professionals, and the caregiver may be the person of concern (the clinician's report and
#: the teacher's handout keep it).
_NOT_FOR_CAREGIVERS: Final = frozenset({"safeguarding-response"})


def _may_read(reader: Reader, item: PlanItem) -> bool:
    return reader != "caregiver" or item.need not in _NOT_FOR_CAREGIVERS


#: Most cautions a handout lists under "what to avoid" (the clinician's report has them all).
_AVOID_LIMIT: Final = 8


def _need_readers(item: PlanItem) -> set[str]:
    """Which readers a need speaks to: "staff" includes teachers, and an adult's
    "supporter" is the caregiver audience."""
    readers = set(item.audience)
    if "staff" in readers:
        readers.add("teacher")
    if "supporter" in readers:
        readers.add("caregiver")
    return readers


def _plain(item: PlanItem | Delivery) -> tuple[str, str]:
    """The plain title and what to do, or the clinical texts where none were written."""
    if item.plain is not None:
        return item.plain.title, item.plain.do
    return item.title, item.description


def _dose(delivery: Delivery) -> tuple[str, str]:
    dose = delivery.dose
    return (dose.frequency, dose.duration) if dose else ("", "")


def _row(delivery: Delivery) -> Row:
    return Row(*_dose(delivery), *_plain(delivery))


#: How often a dose is, most often first, read from its first clause: several times a
#: day, daily, whenever it is needed. Anything else is weekly, once or less often.
_OFTEN: Final = (
    re.compile(
        r"times a (school )?day|many times|several (brief )?(contacts|times)|every shift"
        r"|every interaction|every \d+(-\d+)? hours",
        re.I,
    ),
    re.compile(r"\bdaily\b|^every (school )?day|^every (morning|evening|night)|^each day", re.I),
    re.compile(r"^(every time|whenever|as needed|after every|at the start of every)", re.I),
)
_WHEN_NEEDED: Final = 2


def _often_rank(often: str) -> int:
    first = often.split(";")[0]
    return next((rank for rank, p in enumerate(_OFTEN) if p.search(first)), len(_OFTEN))


class _Words:
    """How a handout names the person and its reader, by age and audience."""

    def __init__(self, reader: Reader, group: AgeGroup, subject: str) -> None:
        adult = is_adult(group)
        self.you = reader == "person"
        noun = {"early_childhood": "the child", "child": "the child", "teen": "the young person"}
        self.name = "you" if self.you else noun.get(group, "the person")
        self.whose = "your" if self.you else f"{self.name}'s"
        self.consent: str | None = None
        if reader == "person":
            self.heading = f"Your plan ({subject})"
            self.for_whom = "For you."
            if group == "teen" or adult:
                self.for_whom += (
                    " It is your plan: say what works for you and what you want to try first."
                )
            self.daily = "What you can do each day"
            self.others = (
                "What your team and the people you choose can do"
                if adult
                else "What the adults around you will do"
            )
            if adult:
                self.consent = "You decide who else sees this plan."
        elif reader == "caregiver":
            self.heading = f"Plan for {subject}: for the people at home"
            self.for_whom = (
                f"For the people {subject} chooses to support them."
                if adult
                else f"For the parents and carers of {subject}."
            )
            self.daily = "What to do each day"
            self.others = "What others on the team are doing"
        else:
            self.heading = f"Plan for {subject}: for teachers and coaches"
            self.for_whom = (
                f"For the teachers, trainers and coaches {subject} chooses to share this with."
                if adult
                else f"For {subject}'s teachers and school staff."
            )
            self.daily = "What to do each day"
            self.others = "What others on the team are doing"
        if adult and reader != "person":
            self.consent = (
                f"{subject} agreed to share this plan with you. Please keep it private "
                "and ask them before you share it."
            )


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _names(domains: Iterable[Domain]) -> list[str]:
    return [PLAIN_LABELS.domains[d].lower() for d in domains]


def _going_on(plan: Plan, words: _Words, safety: bool) -> list[str]:
    """A few sentences, no jargon: where the person is now and why the plan goes bottom-up."""
    out = []
    if safety:
        out.append("There is a safety worry. The team is acting on it today.")
    summary = plan.brain_map
    if summary is not None:
        by_band: dict[str, list[Domain]] = {}
        for d in summary.domains:
            by_band.setdefault(d.band, []).append(d.domain)
        name = words.name[0].upper() + words.name[1:]
        needs = "need" if words.you else "needs"
        for band, sentence in (
            ("severe", f"Right now, {words.name} {needs} the most help with {{}}."),
            ("moderate", f"{name} {needs} a lot of help with {{}}."),
            ("mild", f"{name} {needs} some help with {{}}."),
        ):
            if band in by_band:
                out.append(sentence.format(_join(_names(by_band[band]))))
        if "typical" in by_band:
            well = _join(_names(by_band["typical"]))
            out.append(
                f"{well[0].upper()}{well[1:]} {'are' if len(by_band['typical']) > 1 else 'is'} going well."
            )
        for change, verb in (("improved", "got better"), ("worse", "got harder")):
            moved = [p.domain for p in plan.progress if p.change == change]
            if moved:
                what = "all four areas" if len(moved) == len(DOMAINS) else _join(_names(moved))
                out.append(f"Since the last check, {what} {verb}.")
    out.append(
        "The brain grows from the bottom up. So the plan starts with the body and feeling "
        "calm, then trust with people, then thinking and talking."
    )
    return out


def _waits(plan: Plan, deferred: Sequence[PlanItem], words: _Words) -> tuple[str, ...]:
    """One sentence saying until when the waiting items wait (and that they are not
    dropped), then their plain titles."""
    if not deferred:
        return ()
    stage_of = {i.need: i.stage for i in plan.items}
    holders: set[Domain] = set()
    for item in deferred:
        for holder in item.held_by:
            stage = stage_of.get(holder)
            if stage is not None and stage != "safety":
                holders.add(STAGE_DOMAIN[stage])
            else:
                holders.update(d for d in DOMAINS if d in holder)
    needs = "need" if words.you else "needs"
    until = (
        f"{words.name} {needs} less help with {_join(_names(d for d in DOMAINS if d in holders))}"
        if holders
        else "the steps before them are done"
    )
    sentence = f"These wait until {until}. They are not dropped."
    return (sentence, *dict.fromkeys(_plain(i)[0] for i in deferred))


def _date(day: dt.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"
