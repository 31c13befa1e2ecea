"""Turn an evaluation into a plan: needs, bottom-up deferral, safety first, delivery, order."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

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
from .vocabulary import BANDS, CHANGES, DISCLAIMER, DOMAINS, INDICATORS, STAGE_DOMAIN, STAGES, Stage

_SEVERE: Final = BANDS.index("severe")
SAFETY_FLOOR_RULE: Final = "nmt-rules/safety-floor"
SAFETY_FLOOR_NEED: Final = "unanswered-safety-flag"

_BAND_PATHS: Final = tuple((s, f"bands.{STAGE_DOMAIN[s]}") for s in STAGES[1:])


def build_plan(
    brain_map: BrainMap,
    evaluation: Evaluation,
    program: Program,
    provenance: Provenance,
    setting: str | None = None,
    catalogues: CatalogueIndex | None = None,
) -> Plan:
    """The plan for one evaluated brain map."""
    facts = evaluation.facts
    groups = _reasons_by_need(evaluation.fired, facts)
    deferral = _Deferral(facts, groups, program)
    age = brain_map.subject.age_years
    resolve = catalogues.resolve if setting is not None and catalogues is not None else None
    keyed: list[tuple[tuple[int, int, int, str], PlanItem]] = []
    for need_id, group in groups.items():
        need = program.needs[need_id]
        item_id, stage_index = program.need_items[need_id]
        held_by, released_when = deferral.holds(need.stage) if need.deferrable else _NOT_HELD
        delivery: tuple[Delivery, ...] = ()
        note = None
        if resolve is not None:
            delivery = resolve(setting, need_id, age)  # type: ignore[arg-type]
            if not delivery:
                note = f"the {setting} setting has no item for this need at age {int(age)}"
        first = group.reasons[0]
        item = PlanItem(
            id=item_id,
            stage=need.stage,
            status="deferred" if held_by else "now",
            indicator="critical" if stage_index == 0 else INDICATORS[group.rank],
            need=need_id,
            kind=need.kind,
            title=need.title,
            description=need.description,
            audience=need.audience,
            because=first.because,
            rule=first.rule,
            matched=first.matched,
            also=tuple(group.reasons[1:]),
            held_by=held_by,
            released_when=released_when,
            delivery=delivery,
            delivery_note=note,
        )
        # Safety first; then what to do now, lowest stage first; then what waits. Within a
        # stage the most urgent rule's priority decides, then the id, so the order is stable.
        order = 0 if stage_index == 0 else 2 if held_by else 1
        keyed.append(((order, stage_index, group.priority, item_id), item))
    keyed.sort(key=_first)
    items = _safety_floor(brain_map, evaluation.fired) + [item for _, item in keyed]
    return Plan(
        plan_id=_plan_id(brain_map, facts, setting, provenance),
        subject_id=brain_map.subject.id,
        assessed_on=brain_map.assessed_on,
        setting=setting,
        items=tuple(items),
        provenance=provenance,
        disclaimer=DISCLAIMER,
        progress=_progress(brain_map, facts),
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


def _reasons_by_need(fired: Sequence[CompiledRule], facts: Mapping[str, Any]) -> dict[str, _Group]:
    by_need: dict[str, _Group] = {}
    for compiled in sorted(fired, key=_sort_key):
        rule = compiled.rule
        fields = compiled.matched_fields
        if fields is None:
            matched = matched_facts(compiled, facts)
        else:
            # Every test of a rule without `any` held, or it would not have fired.
            matched = {}
            for path, values in fields:
                value = facts.get(path)
                matched[path] = values[value] if values is not None and value is not None else value
        reason = Reason(compiled.qualified_id, rule.because, matched)
        rank = _INDICATOR_RANK[rule.indicator]
        for ref in rule.needs:
            group = by_need.get(ref.id)
            if group is None:
                by_need[ref.id] = _Group([reason], rule.priority, rank)
            else:
                group.reasons.append(reason)
                group.rank = min(group.rank, rank)
    return by_need


def _sort_key(compiled: CompiledRule) -> tuple[int, str]:
    return compiled.sort_key


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
    payload = (
        f"{brain_map.subject.id}|{brain_map.assessed_on}|{setting}|"
        f"{sorted(facts.items())!r}|{_provenance_digest(provenance)}"
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=16)
def _provenance_digest(provenance: Provenance) -> str:
    text = json.dumps(converter.unstructure(provenance), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
