"""Cautions on plan items: those the fired rules add (with the demands they hold), and the
ones nmt-rules adds itself where a score sits near a band cut-point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._lookups import NeedInfo, RuleInfo
from ._sequencing import domain_words
from .compile import CompiledRule
from .facts import FactConfig
from .model import Caution, Delivery, Reason
from .rules import CautionSpec, HoldSpec
from .vocabulary import BANDS, DOMAINS, STAGE_DOMAIN, STAGES, Domain

NEAR_CUT_POINT_RULE: Final = "nmt-rules/near-cut-point"


class RuleEffects:
    """The cautions and holds of the rules that fired, applied item by item."""

    def __init__(self, rules: Sequence[RuleInfo], fired: Sequence[CompiledRule]) -> None:
        self._cautions: list[tuple[CautionSpec, str]] = []
        self._holds: dict[str, list[tuple[HoldSpec, RuleInfo]]] = {}
        for compiled in sorted(fired, key=lambda c: c.sort_key):
            rule = compiled.rule
            self._cautions += [(spec, compiled.qualified_id) for spec in rule.cautions]
            for hold in rule.holds:
                for ref in hold.needs:
                    self._holds.setdefault(ref.id, []).append((hold, rules[compiled.index]))

    def apply(
        self,
        need: NeedInfo,
        delivery: Sequence[Delivery],
        held_by: tuple[str, ...],
        released_when: str | None,
        cautions: list[Caution],
    ) -> tuple[tuple[str, ...], str | None]:
        """Add the cautions that concern the item; return its holds with the rules' added."""
        involved: set[str] | None = None
        for spec, rule in self._cautions:
            if spec.needs and need.id not in spec.needs:
                continue
            if spec.stages and need.stage not in spec.stages:
                continue
            if spec.sequencing is not None and need.sequencing != spec.sequencing:
                continue
            if spec.involves:
                if involved is None:
                    involved = {*need.child.audience}  # the ruleset's own vocabulary
                    for d in delivery:
                        involved.update(d.delivered_by, d.audience)
                if involved.isdisjoint(spec.involves):
                    continue
            cautions.append(Caution(spec.text, rule))
        until = [released_when] if released_when else []
        for hold, info in self._holds.get(need.id, ()):
            held_by = (*held_by, *(ref.id for ref in hold.by if ref.id not in held_by))
            until.append(hold.until)
            cautions.append(Caution(info.because, info.rule_id))
        return held_by, "; and ".join(until) or None


class NearCutPoints:
    """Domains whose score sits within the ruleset's margin of a band boundary: a rating one
    point away would change the band, so the items that rest on it say to judge clinically."""

    def __init__(self, facts: Mapping[str, Any], config: FactConfig) -> None:
        self._domains = {
            domain: facts[f"domains.{domain}"]
            for domain in DOMAINS
            if facts.get(f"near_cut_point.{domain}")
        }
        self.any = bool(self._domains)
        self._config = config
        self._severe_top = config.bands["severe"][1]

    def text(self, domain: Domain) -> str:
        score = self._domains[domain]
        cut = min(
            (high for band, (_, high) in self._config.bands.items() if band != BANDS[-1]),
            key=lambda high: FactConfig.cut_distance(score, high),
        )
        lower, upper = BANDS[self._config.band(cut)], BANDS[self._config.band(cut + 1)]
        return (
            f"{domain_words(domain).capitalize()} is {score}, within {self._config.cut_point_margin} "
            f"points of the cut-point between the {lower} and {upper} bands ({cut}/{cut + 1}): "
            "one rating either way changes the band, so judge this clinically."
        )

    def caution(self, need: NeedInfo, reasons: Sequence[Reason], cautions: list[Caution]) -> None:
        """Caution an item that hinges on a near score: every rule that raised it matched the
        domain, or it is a demand above a domain near the severe cut-point (so whether it
        waits hinges on that score). The plan-level caution covers the rest."""
        for domain, score in self._domains.items():
            band, value = f"bands.{domain}", f"domains.{domain}"
            rests_on = all(band in r.matched or value in r.matched for r in reasons)
            if not rests_on and need.sequencing == "demand":
                below = STAGES.index(_DOMAIN_STAGE[domain]) < need.stage_index
                distance = FactConfig.cut_distance(score, self._severe_top)
                rests_on = below and distance <= self._config.cut_point_margin
            if rests_on:
                cautions.append(Caution(self.text(domain), NEAR_CUT_POINT_RULE))

    def plan_cautions(self) -> tuple[Caution, ...]:
        """One plan-level caution per domain near a cut-point."""
        return tuple(Caution(self.text(d), NEAR_CUT_POINT_RULE) for d in self._domains)


_DOMAIN_STAGE: Final = {domain: stage for stage, domain in STAGE_DOMAIN.items()}
