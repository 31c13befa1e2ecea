"""Turn an evaluation into a plan: needs, bottom-up deferral, safety first, delivery, order."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

from ._convert import converter
from .catalogue import CatalogueIndex
from .compile import CompiledRule, Program
from .engine import Evaluation
from .facts import FactConfig
from .model import (
    BandRange,
    BrainMap,
    Caution,
    ClinicianJudgement,
    Delivery,
    DomainProgress,
    DomainScore,
    MapSummary,
    PeriodSummary,
    Plain,
    Plan,
    PlanItem,
    Provenance,
    Reason,
    ScorePoint,
)
from .reference import holds
from .ruleset import CautionSpec, HoldSpec, Need
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
    Domain,
    NeedKind,
    Sequencing,
    Stage,
)

_SEVERE: Final = BANDS.index("severe")
SAFETY_FLOOR_RULE: Final = "nmt-rules/safety-floor"
SAFETY_FLOOR_NEED: Final = "unanswered-safety-flag"
NEAR_CUT_POINT_RULE: Final = "nmt-rules/near-cut-point"

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
        self._rules = [_RuleInfo.of(c) for c in program.rules]
        declared_in = {n: r.name for r in program.rulesets for n in r.needs}
        self._needs = {n.id: _NeedInfo.of(n, declared_in[n.id]) for n in program.needs.values()}
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
        deferral = _Deferral(facts, groups, self._program, brain_map.clinician)
        effects = _RuleEffects(self._rules, evaluation.fired) if self._has_effects else None
        near = _NearCutPoints(facts, config)
        age = brain_map.subject.age_years
        catalogues = self._catalogues
        resolve = catalogues.resolve if setting is not None and catalogues is not None else None
        keyed: list[tuple[tuple[int, int, int, str], PlanItem]] = []
        for need_id, group in groups.items():
            need = self._needs[need_id]
            held_by: tuple[str, ...] = ()
            released_when = released_by = None
            if need.sequencing == "demand":
                held_by, released_when, released_by = deferral.holds(need.stage)
            delivery: tuple[Delivery, ...] = ()
            note = None
            if resolve is not None:
                delivery = resolve(setting, need_id, age)  # type: ignore[arg-type]
            if not delivery:
                delivery = need.protocol_for(age)
            if not delivery and setting is not None:
                note = f"the {setting} setting has no item for this need at age {int(age)}"
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
                near.caution(need, first.matched, held_by, cautions)
            item = PlanItem(
                need.item_id,
                need.stage,
                "deferred" if held_by else "now",
                "critical" if need.is_safety else INDICATORS[group.rank],
                need_id,
                need.kind,
                need.sequencing,
                need.title,
                need.description,
                need.audience,
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
                plain=need.plain,
            )
            # Safety first; then what to do now, lowest stage first; then what waits. Within
            # a stage the most urgent rule's priority decides, then the id, so the order is
            # stable.
            order = 0 if need.is_safety else 2 if held_by else 1
            keyed.append(((order, need.stage_index, group.priority, need.item_id), item))
        keyed.sort(key=_first)
        items = _safety_floor(brain_map, evaluation.fired) + [item for _, item in keyed]
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
            brain_map=self._summary(brain_map, facts),
        )

    def _summary(self, brain_map: BrainMap, facts: Mapping[str, Any]) -> MapSummary:
        """The brain map as reports draw it: scores in the ruleset's bands, and history."""
        history = brain_map.history
        return MapSummary(
            age_years=brain_map.subject.age_years,
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


@attrs.frozen
class _RuleInfo:
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
    def of(cls, compiled: CompiledRule) -> _RuleInfo:
        rule = compiled.rule
        return cls(
            compiled,
            compiled.qualified_id,
            rule.because,
            rule.priority,
            _INDICATOR_RANK[rule.indicator],
            tuple(ref.id for ref in rule.needs),
            compiled.matched_fields,
        )


@attrs.frozen
class _NeedInfo:
    """What a plan item takes from its need, looked up once."""

    id: str
    item_id: str
    stage: Stage
    stage_index: int
    is_safety: bool
    kind: NeedKind
    sequencing: Sequencing
    title: str
    description: str
    audience: tuple[str, ...]
    #: The need's own protocol as deliveries, with the ages each serves.
    protocol: tuple[tuple[int, int, Delivery], ...]
    plain: Plain | None

    @classmethod
    def of(cls, need: Need, ruleset: str) -> _NeedInfo:
        index = STAGES.index(need.stage)
        return cls(
            need.id,
            f"{need.stage}/{need.id}",
            need.stage,
            index,
            index == 0,
            need.kind,
            need.sequencing,
            need.title,
            need.description,
            need.audience,
            tuple((i.min_age, i.max_age, i.delivery(ruleset)) for i in need.protocol),
            need.plain,
        )

    def protocol_for(self, age_years: float) -> tuple[Delivery, ...]:
        """The need's protocol items for an age: how it is delivered where a setting has none."""
        age = int(age_years)
        return tuple(d for low, high, d in self.protocol if low <= age <= high)


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
        if holds(expression, facts):
            value = facts.get(field.path)
            out[field.path] = None if value is None else field.decode(value)
    return out


@attrs.define
class _Group:
    """The reasons one need was raised, most urgent first, with its strongest indicator."""

    reasons: list[Reason]
    priority: int
    rank: int  # index into INDICATORS: lower is stronger


_Holds = tuple[tuple[str, ...], str | None, str | None]  # held_by, released_when, released_by


class _Deferral:
    """Which severe lower domains hold the demands of each stage, and what released the
    rest, worked out once per plan.

    A severe domain holds the demands above it unless it improved on enough consecutive
    assessments; a clinician's recorded judgement releases a whole stage."""

    def __init__(
        self,
        facts: Mapping[str, Any],
        reasons: Mapping[str, _Group],
        program: Program,
        clinician: ClinicianJudgement | None,
    ) -> None:
        self._facts = facts
        self._reasons = reasons
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

    def holds(self, stage: Stage) -> _Holds:
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
                for n in self._reasons
                if (need := self._program.needs[n]).stage == low and need.kind == "intervention"
            )
            held_by += gates or [f"bands.{domain}: severe"]
            score = self._facts[f"domains.{domain}"]
            releases.append(
                f"{_words(domain)} rises out of the severe band (above {severe_top}; now {score})"
                f" or improves on {config.sustained_improvements} assessments in a row"
            )
        releases.append(f"or a clinician records the person as ready for {stage} work")
        return tuple(dict.fromkeys(held_by)), "; ".join(releases[:-1]) + ", " + releases[-1], None

    def _improved_text(self, stage: Stage) -> str:
        domain = STAGE_DOMAIN[stage]
        streak = self._facts[f"improvements.{domain}"]
        return (
            f"{_words(domain)} improved on {streak} assessments in a row, although still in"
            " the severe band"
        )


def _words(domain: str) -> str:
    return domain.replace("_", " ")


class _RuleEffects:
    """The cautions and holds of the rules that fired, applied item by item."""

    def __init__(self, rules: Sequence[_RuleInfo], fired: Sequence[CompiledRule]) -> None:
        self._cautions: list[tuple[CautionSpec, str]] = []
        self._holds: dict[str, list[tuple[HoldSpec, _RuleInfo]]] = {}
        for compiled in sorted(fired, key=lambda c: c.sort_key):
            rule = compiled.rule
            self._cautions += [(spec, compiled.qualified_id) for spec in rule.cautions]
            for hold in rule.holds:
                for ref in hold.needs:
                    self._holds.setdefault(ref.id, []).append((hold, rules[compiled.index]))

    def apply(
        self,
        need: _NeedInfo,
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
                    involved = {*need.audience}
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


class _NearCutPoints:
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
            f"{_words(domain).capitalize()} is {score}, within {self._config.cut_point_margin} "
            f"points of the cut-point between the {lower} and {upper} bands ({cut}/{cut + 1}): "
            "one rating either way changes the band, so judge this clinically."
        )

    def caution(
        self,
        need: _NeedInfo,
        matched: Mapping[str, Any],
        held_by: tuple[str, ...],
        cautions: list[Caution],
    ) -> None:
        """Caution an item that rests on a near score: its rule matched the domain, or it is
        a demand above a domain near the severe cut-point (held, or going ahead)."""
        for domain, score in self._domains.items():
            rests_on = f"bands.{domain}" in matched or f"domains.{domain}" in matched
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


_INDICATOR_RANK: Final = {indicator: rank for rank, indicator in enumerate(INDICATORS)}


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
