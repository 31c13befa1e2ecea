"""When to assess again, and what the plan records of the person's circumstances.

The next assessment comes sooner when a domain is severe or a safety flag is present (now or
at a recent assessment), and never later than a few weeks after a release from custody: the
ruleset's `review` settings give the weeks. An assessment that took place after its own
review date was due is overdue, and the plan says by how much.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._sequencing import domain_words
from .facts import FactConfig
from .model import AssessmentContext, BrainMap, Domains, PlanContext
from .vocabulary import ADULT_AGE, BANDS, DOMAINS

_SEVERE: Final = BANDS.index("severe")


@attrs.frozen
class Review:
    """The date of the next assessment and why it falls then."""

    date: dt.date
    because: str


def next_review(brain_map: BrainMap, facts: Mapping[str, Any], config: FactConfig) -> Review:
    """When to assess this person again, and why."""
    review = _due(brain_map, brain_map.domains, brain_map.assessed_on, config, facts)
    release = brain_map.release_on
    if release is not None and release >= brain_map.assessed_on:
        after = release + dt.timedelta(weeks=config.after_release_weeks)
        if after < review.date:
            return Review(
                after,
                f"release from custody on {release.isoformat()}: the first weeks after release "
                f"carry the highest risk, so review within {_weeks(config.after_release_weeks)} "
                "of it",
            )
    return review


def _due(
    assessment: AssessmentContext,
    domains: Domains,
    on: dt.date,
    config: FactConfig,
    facts: Mapping[str, Any] | None = None,
) -> Review:
    """The review an assessment sets: the facts add flags from recent earlier assessments."""
    recent = bool(facts and facts.get("recent_flags.any"))
    if assessment.flags or recent:
        weeks = config.safety_weeks
        why = (
            "a safety flag is present" if assessment.flags else "a safety flag was raised recently"
        )
    else:
        severe = [d for d in DOMAINS if config.band(getattr(domains, d)) == _SEVERE]
        if severe:
            weeks = config.severe_weeks
            names = " and ".join(domain_words(d) for d in severe)
            why = f"{names} {'is' if len(severe) == 1 else 'are'} in the severe band"
        else:
            weeks = config.weeks
            why = "no domain is severe and no safety flag is present"
    return Review(on + dt.timedelta(weeks=weeks), f"{why}, so review in {_weeks(weeks)}")


def _weeks(weeks: int) -> str:
    return "1 week" if weeks == 1 else f"{weeks} weeks"


def plan_context(brain_map: BrainMap, config: FactConfig) -> PlanContext:
    """The circumstances the plan used, with days since the last assessment and how late
    this one came after the review the last one set."""
    days_since = overdue = None
    if brain_map.previous:
        latest = max(brain_map.previous, key=lambda p: p.assessed_on)
        days_since = (brain_map.assessed_on - latest.assessed_on).days
        due = _due(latest, latest.domains, latest.assessed_on, config).date
        late = (brain_map.assessed_on - due).days
        overdue = late if late > 0 else None
    age = brain_map.subject.age_years
    return PlanContext(
        age_years=age,
        adult=age >= ADULT_AGE,
        placement=brain_map.placement,
        substance_use=brain_map.substance_use,
        conditions=brain_map.conditions,
        developmental_age=brain_map.developmental_age_years,
        release_on=brain_map.release_on,
        strengths=brain_map.strengths,
        interests=brain_map.interests,
        language=brain_map.language,
        interpreter_needed=brain_map.interpreter_needed,
        dependents=brain_map.dependents,
        days_since_previous=days_since,
        review_overdue_days=overdue,
    )
