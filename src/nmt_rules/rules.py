"""The rule types: conditions, needs, rules and rulesets, as the loader (ruleset.py) builds
them and the compiler, lint and plan read them. Immutable (attrs, frozen)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from .catalogue import CatalogueItem
from .errors import Location
from .model import Plain
from .vocabulary import Band, Indicator, NeedKind, Operator, Sequencing, Stage


@attrs.frozen
class Comparison:
    """A leaf condition: one operator comparing one fact field with a value."""

    path: str
    op: Operator
    value: Any
    location: Location


@attrs.frozen
class AllOf:
    """All child conditions hold."""

    children: tuple[Condition, ...]


@attrs.frozen
class AnyOf:
    """At least one child condition holds."""

    children: tuple[Condition, ...]


Condition = Comparison | AllOf | AnyOf


def comparisons(condition: Condition) -> Iterable[Comparison]:
    """Every leaf test of a condition, in order."""
    if isinstance(condition, Comparison):
        yield condition
    else:
        for child in condition.children:
            yield from comparisons(child)


@attrs.frozen
class NeedRef:
    """A need named by a rule, with where it was named."""

    id: str
    location: Location


@attrs.frozen
class Need:
    """What the brain needs, declared once per ruleset; catalogues say how it is delivered.

    `sequencing` says whether it may wait: a foundation (co-regulation, rhythm, sleep, safe
    adults, stability, safety, teaching the adults) never does; a demand (talk, insight,
    trauma processing, skills programmes, raised expectations) waits while a lower domain is
    severe. `protocol` holds the generic way to deliver it when a setting has none.
    """

    id: str
    stage: Stage
    kind: NeedKind
    sequencing: Sequencing
    title: str
    description: str
    audience: tuple[str, ...]
    location: Location
    protocol: tuple[CatalogueItem, ...] = ()
    #: An observable sign that the work is helping (interventions).
    goal: str | None = None
    #: How the need reads to an adult; None where the wording fits every age.
    adult: AdultWording | None = None
    #: Plain-language title and what to do, for handouts.
    plain: Plain | None = None


@attrs.frozen
class AdultWording:
    """A need's title (and description) as an adult reads it."""

    title: str
    description: str | None = None


@attrs.frozen
class CautionSpec:
    """A caution a rule attaches to the plan's items that match every selector it gives."""

    text: str
    needs: tuple[str, ...] = ()
    involves: tuple[str, ...] = ()  # audiences or delivery roles
    stages: tuple[Stage, ...] = ()
    sequencing: Sequencing | None = None


@attrs.frozen
class HoldSpec:
    """Demand needs a rule holds back, the needs that hold them and what releases them."""

    needs: tuple[NeedRef, ...]
    by: tuple[NeedRef, ...]
    until: str


@attrs.frozen
class Rule:
    """A rule: when its condition holds, it raises its needs, because of its sentence."""

    id: str
    ruleset: str
    stage: Stage
    when: Condition
    needs: tuple[NeedRef, ...]
    because: str
    priority: int
    indicator: Indicator
    references: tuple[str, ...]
    location: Location
    cautions: tuple[CautionSpec, ...] = ()
    holds: tuple[HoldSpec, ...] = ()

    @property
    def qualified_id(self) -> str:
        """ruleset/rule: unique across every loaded ruleset."""
        return f"{self.ruleset}/{self.id}"


@attrs.frozen
class Ruleset:
    """A validated ruleset."""

    name: str
    version: str
    description: str
    bands: Mapping[Band, tuple[int, int]] | None
    needs: Mapping[str, Need]
    rules: tuple[Rule, ...]
    source: str
    sha256: str
    origin: str = "core"
    #: Whole-number settings by name (min_change, review weeks, ...); only the primary
    #: ruleset's count, and a setting it leaves out takes its default.
    settings: Mapping[str, int] = attrs.field(factory=dict)
    #: Settings whose plans its rules run in: None when not declared (a plugin's ruleset
    #: then runs in the plugin's own settings, any other in every setting), or
    #: EVERY_SETTING. A declared list is already part of every rule's condition.
    applies_to: tuple[str, ...] | Literal["every-setting"] | None = None

    def scoped_to(self, settings: tuple[str, ...], at: Location) -> Ruleset:
        """This ruleset with every rule limited to plans for these settings (`at`: where
        the limit comes from, for explanations)."""
        limit = Comparison("setting", "in", list(settings), at)
        rules = tuple(attrs.evolve(r, when=AllOf((limit, r.when))) for r in self.rules)
        return attrs.evolve(self, rules=rules, applies_to=settings)
