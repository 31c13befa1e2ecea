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
from .model import (
    BrainMap,
    Delivery,
    DomainProgress,
    Plan,
    PlanItem,
    Provenance,
    Reason,
    ScorePoint,
)
from .reference import holds
from .ruleset import Need
from .vocabulary import (
    BANDS,
    CHANGES,
    DISCLAIMER,
    DOMAINS,
    INDICATORS,
    STAGE_DOMAIN,
    STAGES,
    NeedKind,
    Stage,
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
        self._rules = [_RuleInfo.of(c) for c in program.rules]
        self._needs = {n.id: _NeedInfo.of(n) for n in program.needs.values()}

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
        deferral = _Deferral(facts, groups, self._program)
        age = brain_map.subject.age_years
        catalogues = self._catalogues
        resolve = catalogues.resolve if setting is not None and catalogues is not None else None
        keyed: list[tuple[tuple[int, int, int, str], PlanItem]] = []
        for need_id, group in groups.items():
            need = self._needs[need_id]
            held_by, released_when = deferral.holds(need.stage) if need.deferrable else _NOT_HELD
            delivery: tuple[Delivery, ...] = ()
            note = None
            if resolve is not None:
                delivery = resolve(setting, need_id, age)  # type: ignore[arg-type]
                if not delivery:
                    note = f"the {setting} setting has no item for this need at age {int(age)}"
            reasons = group.reasons
            first = reasons[0]
            item = PlanItem(
                need.item_id,
                need.stage,
                "deferred" if held_by else "now",
                "critical" if need.is_safety else INDICATORS[group.rank],
                need_id,
                need.kind,
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
        )

    def _reasons_by_need(
        self, fired: Sequence[CompiledRule], facts: Mapping[str, Any]
    ) -> dict[str, _Group]:
        """Each raised need's reasons, most urgent rule first."""
        by_need: dict[str, _Group] = {}
        rules = self._rules
        for index in sorted([c.index for c in fired], key=self._rank_of.__getitem__):
            info = rules[index]
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

    item_id: str
    stage: Stage
    stage_index: int
    is_safety: bool
    deferrable: bool
    kind: NeedKind
    title: str
    description: str
    audience: tuple[str, ...]

    @classmethod
    def of(cls, need: Need) -> _NeedInfo:
        index = STAGES.index(need.stage)
        return cls(
            f"{need.stage}/{need.id}",
            need.stage,
            index,
            index == 0,
            need.deferrable,
            need.kind,
            need.title,
            need.description,
            need.audience,
        )


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


_NOT_HELD: Final[tuple[tuple[str, ...], None]] = ((), None)


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


class _Deferral:
    """Which lower stages hold each stage, worked out once per plan."""

    def __init__(
        self, facts: Mapping[str, Any], reasons: Mapping[str, _Group], program: Program
    ) -> None:
        self._facts = facts
        self._reasons = reasons
        self._program = program
        self._severe = [s for s, path in _BAND_PATHS if facts[path] == _SEVERE]
        self._cache: dict[Stage, tuple[tuple[str, ...], str | None]] = {}

    def holds(self, stage: Stage) -> tuple[tuple[str, ...], str | None]:
        """(held_by, released_when) for a stage's needs; empty when nothing holds them."""
        if stage == "safety" or not self._severe:
            return (), None
        if stage not in self._cache:
            self._cache[stage] = self._work_out(stage)
        return self._cache[stage]

    def _work_out(self, stage: Stage) -> tuple[tuple[str, ...], str | None]:
        lower = [s for s in self._severe if STAGES.index(s) < STAGES.index(stage)]
        if not lower:
            return (), None
        needs = self._program.needs
        severe_top = self._program.fact_config.bands["severe"][1]
        held_by: list[str] = []
        releases: list[str] = []
        for low in lower:
            domain = STAGE_DOMAIN[low]
            raised = sorted(
                (n for n in self._reasons if needs[n].stage == low),
                key=lambda n: (needs[n].kind != "intervention", n),
            )
            held_by += raised or [f"bands.{domain}: severe"]
            score = self._facts[f"domains.{domain}"]
            releases.append(
                f"{domain.replace('_', ' ')} rises out of the severe band (above {severe_top}; now {score})"
            )
        return tuple(held_by), " and ".join(releases)


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
            title="Respond to the safety flag today under your agency's safety protocol",
            description="A safety flag was raised that no loaded rule answers. Act on it now; "
            "do not wait for the rest of the plan.",
            audience=("clinician",),
            because=f"The map is flagged {names}, and nmt-rules never lets a safety flag pass "
            "without a critical item, whatever the loaded rules say.",
            rule=SAFETY_FLOOR_RULE,
            matched={f"flags.{f}": True for f in missing},
        )
    ]


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
