"""What a plan takes from each rule and each need, looked up once per planner.

The plan builder turns every evaluation into a plan; these small records keep the per-rule
and per-need work (item ids, texts for children and for adults, ranks, protocols) out of it.
"""

from __future__ import annotations

from typing import Final

import attrs

from .compile import CompiledRule
from .model import Delivery, Plain
from .rules import Need
from .vocabulary import INDICATORS, STAGE_DOMAIN, STAGES, Domain, NeedKind, Sequencing, Stage

INDICATOR_RANK: Final = {indicator: rank for rank, indicator in enumerate(INDICATORS)}


@attrs.frozen
class RuleInfo:
    """What a plan needs of one compiled rule, looked up once."""

    compiled: CompiledRule
    rule_id: str
    because: str
    priority: int
    rank: int  # index into INDICATORS: lower is stronger
    needs: tuple[str, ...]
    #: Fields to explain with their enum names; None when the tests must be re-checked.
    fields: tuple[tuple[str, tuple[str, ...] | None], ...] | None

    @classmethod
    def of(cls, compiled: CompiledRule) -> RuleInfo:
        rule = compiled.rule
        return cls(
            compiled,
            compiled.qualified_id,
            rule.because,
            rule.priority,
            INDICATOR_RANK[rule.indicator],
            tuple(ref.id for ref in rule.needs),
            compiled.matched_fields,
        )


@attrs.frozen
class Wording:
    """A need's title, description and audience as one reader group sees them."""

    title: str
    description: str
    audience: tuple[str, ...]


#: An adult chooses the people who support them: "caregiver" reads as "supporter".
_ADULT_AUDIENCE: Final = {"caregiver": "supporter"}


@attrs.frozen
class NeedInfo:
    """What a plan item takes from its need, looked up once."""

    id: str
    item_id: str
    stage: Stage
    stage_index: int
    domain: Domain | None
    is_safety: bool
    kind: NeedKind
    sequencing: Sequencing
    child: Wording
    adult: Wording
    goal: str | None
    #: The need's own protocol as deliveries, with the ages each serves.
    protocol: tuple[tuple[int, int, Delivery], ...]
    plain: Plain | None

    @classmethod
    def of(cls, need: Need, ruleset: str) -> NeedInfo:
        index = STAGES.index(need.stage)
        child = Wording(need.title, need.description, need.audience)
        adult_audience = tuple(dict.fromkeys(_ADULT_AUDIENCE.get(a, a) for a in need.audience))
        adult = Wording(
            need.adult.title if need.adult else need.title,
            (need.adult.description if need.adult else None) or need.description,
            adult_audience,
        )
        return cls(
            need.id,
            f"{need.stage}/{need.id}",
            need.stage,
            index,
            STAGE_DOMAIN.get(need.stage),
            index == 0,
            need.kind,
            need.sequencing,
            child,
            adult,
            need.goal,
            tuple((i.min_age, i.max_age, i.delivery(ruleset)) for i in need.protocol),
            need.plain,
        )

    def protocol_for(self, age_years: float) -> tuple[Delivery, ...]:
        """The need's protocol items for an age: how it is delivered where a setting has none."""
        age = int(age_years)
        return tuple(d for low, high, d in self.protocol if low <= age <= high)
