"""Bottom-up sequencing: which severe lower domains hold the demands of each stage, and
what released the rest (sustained improvement, a clinician's judgement)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from .compile import Program
from .model import ClinicianJudgement
from .vocabulary import BANDS, STAGE_DOMAIN, STAGES, Stage

_SEVERE: Final = BANDS.index("severe")
_BAND_PATHS: Final = tuple((s, f"bands.{STAGE_DOMAIN[s]}") for s in STAGES[1:])

_Holds = tuple[tuple[str, ...], str | None, str | None]  # held_by, released_when, released_by


class Deferral:
    """Which severe lower domains hold the demands of each stage, and what released the
    rest, worked out once per plan.

    A severe domain holds the demands above it unless it improved on enough consecutive
    assessments; a clinician's recorded judgement releases a whole stage."""

    def __init__(
        self,
        facts: Mapping[str, Any],
        raised: Collection[str],
        program: Program,
        clinician: ClinicianJudgement | None,
    ) -> None:
        self._facts = facts
        self._raised = raised
        self._program = program
        self._clinician = clinician
        config = program.fact_config
        self._holding: list[Stage] = []
        self._improved: list[Stage] = []
        for stage, band_path in _BAND_PATHS:
            if facts[band_path] == _SEVERE:
                streak = facts.get(f"improvements.{STAGE_DOMAIN[stage]}", 0)
                sustained = streak >= config.sustained_improvements
                (self._improved if sustained else self._holding).append(stage)
        self._cache: dict[Stage, _Holds] = {}

    def for_stage(self, stage: Stage) -> _Holds:
        """(held_by, released_when, released_by) for a stage's demands."""
        if stage == "safety" or not (self._holding or self._improved):
            return (), None, None
        if stage not in self._cache:
            self._cache[stage] = self._work_out(stage)
        return self._cache[stage]

    def _work_out(self, stage: Stage) -> _Holds:
        rank = STAGES.index(stage)
        holding = [s for s in self._holding if STAGES.index(s) < rank]
        released = [self._improved_text(s) for s in self._improved if STAGES.index(s) < rank]
        judgement = self._clinician
        if holding and judgement is not None and stage in judgement.ready_for:
            who = f" ({judgement.by})" if judgement.by else ""
            released.append(
                f"a clinician{who} judged the person ready for {stage} work: {judgement.note}"
            )
            holding = []
        if not holding:
            return (), None, "; ".join(released) or None
        held_by: list[str] = []
        releases: list[str] = []
        config = self._program.fact_config
        severe_top = config.bands["severe"][1]
        for low in holding:
            domain = STAGE_DOMAIN[low]
            # What gates a demand is the work on the severe domain itself: its interventions,
            # never the teaching of the adults around the person.
            gates = sorted(
                n
                for n in self._raised
                if (need := self._program.needs[n]).stage == low and need.kind == "intervention"
            )
            held_by += gates or [f"bands.{domain}: severe"]
            score = self._facts[f"domains.{domain}"]
            releases.append(
                f"{domain_words(domain)} rises out of the severe band (above {severe_top}; now {score})"
                f" or improves on {config.sustained_improvements} assessments in a row"
            )
        releases.append(f"or a clinician records the person as ready for {stage} work")
        return tuple(dict.fromkeys(held_by)), "; ".join(releases[:-1]) + ", " + releases[-1], None

    def _improved_text(self, stage: Stage) -> str:
        domain = STAGE_DOMAIN[stage]
        streak = self._facts[f"improvements.{domain}"]
        return (
            f"{domain_words(domain)} improved on {streak} assessments in a row, although still in"
            " the severe band"
        )


#: How plan texts name each domain.
_DOMAIN_WORDS: Final[dict[str, str]] = {
    "sensory_integration": "sensory integration",
    "self_regulation": "self-regulation",
    "relational": "relational functioning",
    "cognitive": "cognitive functioning",
}


def domain_words(domain: str) -> str:
    """How plan texts name a domain."""
    return _DOMAIN_WORDS[domain]
