"""Turn an evaluation into a plan: needs, bottom-up deferral, safety first, delivery, order."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

from ._cautions import NearCutPoints, RuleEffects
from ._convert import converter
from ._delivery import Delivering
from ._lookups import NeedInfo, RuleInfo
from ._sequencing import Deferral
from .catalogue import CatalogueIndex
from .compile import CompiledRule, Evaluation, Program, expression_holds
from .model import (
    BandRange,
    BrainMap,
    Caution,
    Delivery,
    DomainProgress,
    DomainScore,
    MapSummary,
    PeriodSummary,
    Plan,
    PlanItem,
    Provenance,
    Reason,
    ScorePoint,
)
from .review import next_review, plan_context
from .vocabulary import (
    AGE_GROUPS,
    BANDS,
    CHANGES,
    DISCLAIMER,
    DOMAINS,
    INDICATORS,
    PERIODS,
    STAGE_DOMAIN,
    STAGES,
)

_SEVERE: Final = BANDS.index("severe")
SAFETY_FLOOR_RULE: Final = "nmt-rules/safety-floor"
SAFETY_FLOOR_NEED: Final = "unanswered-safety-flag"

_BAND_PATHS: Final = tuple((s, f"bands.{STAGE_DOMAIN[s]}") for s in STAGES[1:])


class PlanBuilder:
    """Turns evaluations into plans for one program and its catalogues.

    Built once per Planner: everything about a rule or a need that does not depend on the
    brain map (its item id, texts, order, indicator rank, the fields it explains) is looked
    up here, so building a plan only does the per-map work."""

    def __init__(self, program: Program, catalogues: CatalogueIndex | None = None) -> None:
        self._program = program
        self._catalogues = catalogues
        ordered = sorted(program.rules, key=lambda c: c.sort_key)
        #: Position of each rule (by index) in priority order: how a need's reasons are ranked.
        self._rank_of = [0] * len(program.rules)
        for position, compiled in enumerate(ordered):
            self._rank_of[compiled.index] = position
        self._rules = [RuleInfo.of(c) for c in program.rules]
        declared_in = {n: r.name for r in program.rulesets for n in r.needs}
        self._needs = {n.id: NeedInfo.of(n, declared_in[n.id]) for n in program.needs.values()}
        self._bands = tuple(
            BandRange(band, low, high) for band, (low, high) in program.fact_config.bands.items()
        )

    def build(
        self,
        brain_map: BrainMap,
        evaluation: Evaluation,
        provenance: Provenance,
        setting: str | None = None,
    ) -> Plan:
        """The plan for one evaluated brain map."""
        facts = evaluation.facts
        groups = self._reasons_by_need(evaluation.fired, facts)
        config = self._program.fact_config
        deferral = Deferral(facts, groups.keys(), self._program, brain_map.clinician)
        effects = RuleEffects(self._rules, evaluation.fired) if self._has_effects else None
        near = NearCutPoints(facts, config)
        delivering = Delivering(brain_map, setting, self._catalogues)
        adult = delivering.adult
        keyed: list[tuple[tuple[int, int, int, str], PlanItem]] = []
        for need_id, group in groups.items():
            need = self._needs[need_id]
            held_by: tuple[str, ...] = ()
            released_when = released_by = None
            if need.sequencing == "demand":
                held_by, released_when, released_by = deferral.for_stage(need.stage)
            delivery, note, delivery_age = delivering.deliver(need)
            reasons = group.reasons
            first = reasons[0]
            cautions: list[Caution] = []
            if effects is not None:
                held_by, released_when = effects.apply(
                    need, delivery, held_by, released_when, cautions
                )
                if held_by:
                    released_by = None
            if near.any:
                near.caution(need, reasons, cautions)
            wording = need.adult if adult else need.child
            item = PlanItem(
                need.item_id,
                need.stage,
                "deferred" if held_by else "now",
                "critical" if need.is_safety else INDICATORS[group.rank],
                need_id,
                need.kind,
                need.sequencing,
                wording.title,
                wording.description,
                wording.audience,
                first.because,
                first.rule,
                first.matched,
                tuple(reasons[1:]),
                held_by,
                released_when,
                delivery,
                note,
                tuple(cautions),
                released_by,
                need.goal,
                () if need.is_safety else delivering.build_on(delivery),
                delivering.in_place_by(delivery),
                delivery_age,
                plain=need.plain,
            )
            # Safety first; then what to do now, lowest stage first; then what waits. Within
            # a stage the most urgent rule's priority decides, then the id, so the order is
            # stable.
            order = 0 if need.is_safety else 2 if held_by else 1
            keyed.append(((order, need.stage_index, group.priority, need.item_id), item))
        keyed.sort(key=_first)
        items = _safety_floor(brain_map, evaluation.fired) + [item for _, item in keyed]
        review = next_review(brain_map, facts, config)
        return Plan(
            _plan_id(brain_map, facts, setting, provenance),
            brain_map.subject.id,
            brain_map.assessed_on,
            setting,
            tuple(items),
            provenance,
            DISCLAIMER,
            _progress(brain_map, facts),
            near.plan_cautions(),
            review.date,
            review.because,
            plan_context(brain_map, config),
            brain_map=self._summary(brain_map, facts),
        )

    def _summary(self, brain_map: BrainMap, facts: Mapping[str, Any]) -> MapSummary:
        """The brain map as reports draw it: scores in the ruleset's bands, and history."""
        history = brain_map.history
        return MapSummary(
            age_group=AGE_GROUPS[facts["age.group"]],
            domains=tuple(
                DomainScore(d, getattr(brain_map.domains, d), BANDS[facts[f"bands.{d}"]])
                for d in DOMAINS
            ),
            bands=self._bands,
            history=tuple(
                PeriodSummary(period, then.adversity, then.relational_health)
                for period in PERIODS
                if (then := getattr(history, period)) is not None
                and (then.adversity or then.relational_health)
            ),
            relational_health_now=brain_map.relational_health_now,
        )

    @functools.cached_property
    def _has_effects(self) -> bool:
        """Whether any rule adds cautions or holds (most plans of most rulesets: none)."""
        return any(info.compiled.rule.cautions or info.compiled.rule.holds for info in self._rules)

    def _reasons_by_need(
        self, fired: Sequence[CompiledRule], facts: Mapping[str, Any]
    ) -> dict[str, _Group]:
        """Each raised need's reasons, most urgent rule first."""
        by_need: dict[str, _Group] = {}
        rules = self._rules
        for index in sorted([c.index for c in fired], key=self._rank_of.__getitem__):
            info = rules[index]
            if not info.needs:
                continue
            fields = info.fields
            if fields is None:
                matched = matched_facts(info.compiled, facts)
            else:
                # Every test of a rule without `any` held, or it would not have fired.
                matched = {}
                for path, values in fields:
                    value = facts.get(path)
                    matched[path] = (
                        values[value] if values is not None and value is not None else value
                    )
            reason = Reason(info.rule_id, info.because, matched)
            for need_id in info.needs:
                group = by_need.get(need_id)
                if group is None:
                    by_need[need_id] = _Group([reason], info.priority, info.rank)
                else:
                    group.reasons.append(reason)
                    if info.rank < group.rank:
                        group.rank = info.rank
        return by_need


def _progress(brain_map: BrainMap, facts: Mapping[str, Any]) -> tuple[DomainProgress, ...]:
    """Per domain: the change facts the rules saw, and every score over time."""
    if not brain_map.previous:
        return ()
    earlier = sorted(brain_map.previous, key=lambda p: p.assessed_on)
    return tuple(
        DomainProgress(
            domain=domain,
            band=BANDS[facts[f"bands.{domain}"]],
            previous_band=BANDS[facts[f"previous_bands.{domain}"]],
            change=CHANGES[facts[f"change.{domain}"]],
            scores=(
                *(ScorePoint(p.assessed_on, getattr(p.domains, domain)) for p in earlier),
                ScorePoint(brain_map.assessed_on, getattr(brain_map.domains, domain)),
            ),
        )
        for domain in DOMAINS
    )


def _first(pair: tuple[tuple[int, int, int, str], PlanItem]) -> tuple[int, int, int, str]:
    return pair[0]


def matched_facts(compiled: CompiledRule, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a fired rule's comparisons that hold, as a person reads them."""
    out: dict[str, Any] = {}
    for field, expression in compiled.tests:
        if expression_holds(expression, facts):
            value = facts.get(field.path)
            out[field.path] = None if value is None else field.decode(value)
    return out


@attrs.define
class _Group:
    """The reasons one need was raised, most urgent first, with its strongest indicator."""

    reasons: list[Reason]
    priority: int
    rank: int  # index into INDICATORS: lower is stronger


def _safety_floor(brain_map: BrainMap, fired: Sequence[CompiledRule]) -> list[PlanItem]:
    """Every safety flag gets a critical item, even if no loaded rule answers it."""
    if not brain_map.flags:
        return []
    answered = {
        field.path.removeprefix("flags.")
        for c in fired
        if c.rule.stage == "safety"
        for field, _ in c.tests
        if field.path.startswith("flags.")
    }
    missing = [f for f in brain_map.flags if f not in answered]
    if not missing or "any" in answered:
        return []
    names = ", ".join(f.replace("_", " ") for f in missing)
    return [
        PlanItem(
            id=f"safety/{SAFETY_FLOOR_NEED}",
            stage="safety",
            status="now",
            indicator="critical",
            need=SAFETY_FLOOR_NEED,
            kind="safety",
            sequencing="foundation",
            title="Respond to the safety flag today under your agency's safety protocol",
            description="A safety flag was raised that no loaded rule answers. Act on it now; "
            "do not wait for the rest of the plan.",
            audience=("clinician",),
            because=f"The map is flagged {names}, and nmt-rules never lets a safety flag pass "
            "without a critical item, whatever the loaded rules say.",
            rule=SAFETY_FLOOR_RULE,
            matched={f"flags.{f}": True for f in missing},
            delivery=(_SAFETY_FLOOR_DELIVERY,),
        )
    ]


_SAFETY_FLOOR_DELIVERY: Final = Delivery(
    id="agency-safety-protocol",
    catalogue="nmt-rules",
    title="The agency's own safety protocol, today",
    description=(
        "The person is not left alone while risk is unclear. The responsible clinician or "
        "safeguarding lead is told now and follows the agency's protocol for this flag; a "
        "qualified professional assesses risk today. Call the local emergency number if "
        "anyone is in immediate danger (911 in the US), and give crisis-line details (988 in "
        "the US and Canada, or the local line)."
    ),
    modality="safety-protocol",
    delivered_by=("clinician",),
    audience=("clinician", "staff"),
)


def _plan_id(
    brain_map: BrainMap, facts: Mapping[str, Any], setting: str | None, provenance: Provenance
) -> str:
    """An id for the plan's content: the facts decide every item, so the same subject, date,
    facts, setting, rulesets and catalogues give the same id. A hash, so no data leaks out."""
    digest = hashlib.sha256(f"{brain_map.subject.id}|{brain_map.assessed_on}|{setting}|".encode())
    digest.update(orjson.dumps(facts, option=orjson.OPT_SORT_KEYS))
    digest.update(_provenance_digest(provenance).encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=16)
def _provenance_digest(provenance: Provenance) -> str:
    text = json.dumps(converter.unstructure(provenance), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
