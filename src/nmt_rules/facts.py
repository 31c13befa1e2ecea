"""Turn a brain map into the one flat fact the engine evaluates, and describe its fields.

One wide fact per evaluation is much faster on durable-rules than joins over small facts
(about 2.5x at 200 rules, and joins failed to compile at 1,000), so every fact field lives
in one dict keyed by its dotted path. Ordered enumerations are stored as their ordinal, so `lte: moderate` is a
plain numeric comparison in the C core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from .model import BrainMap, Domains, Functions, PreviousAssessment
from .vocabulary import (
    ADVERSITY_LEVELS,
    AGE_GROUPS,
    BANDS,
    CHANGES,
    CONDITIONS,
    DOMAINS,
    EARLY_PERIODS,
    FUNCTIONS,
    PERIODS,
    PLACEMENTS,
    RELATIONAL_HEALTH_LEVELS,
    RELEASABLE_STAGES,
    SAFETY_FLAGS,
    STAGES,
    SUBSTANCE_USE_LEVELS,
    Band,
    Stage,
    age_group,
)

FieldKind = Literal["integer", "number", "boolean", "enum", "string"]


@attrs.frozen
class FactField:
    """One field of the fact: its dotted path, type and, for enums, values in order."""

    path: str
    kind: FieldKind
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    derived_from: Stage | None = None  # for stage.* and needs.*: the stage that sets it
    ordered: bool = True  # an enum whose values have no order (placement) takes no lt/gt

    @property
    def comparable(self) -> bool:
        """Whether lt, lte, gt and gte apply (numbers and ordered enums)."""
        return self.kind in ("integer", "number") or (self.kind == "enum" and self.ordered)

    def encode(self, value: Any) -> Any:
        """Rule value to fact value (enum names become ordinals)."""
        return self.values.index(value) if self.kind == "enum" else value

    def decode(self, value: Any) -> Any:
        """Fact value to the value a person reads."""
        return self.values[value] if self.kind == "enum" else value


def _static_fields() -> dict[str, FactField]:
    fields: list[FactField] = []
    for d in DOMAINS:
        fields += [
            FactField(f"domains.{d}", "integer", minimum=0, maximum=100),
            FactField(f"bands.{d}", "enum", BANDS),
            FactField(f"change.{d}", "enum", CHANGES),
            FactField(f"previous_bands.{d}", "enum", BANDS),
            FactField(f"improvements.{d}", "integer", minimum=0),
            FactField(f"near_cut_point.{d}", "boolean"),
        ]
    for f in FUNCTIONS:
        fields += [
            FactField(f"functions.{f}", "integer", minimum=0, maximum=100),
            FactField(f"function_bands.{f}", "enum", BANDS),
        ]
    fields += [
        FactField("age.years", "number", minimum=0, maximum=120),
        FactField("age.group", "enum", AGE_GROUPS),
    ]
    for p in PERIODS:
        fields += [
            FactField(f"history.{p}.adversity", "enum", ADVERSITY_LEVELS),
            FactField(f"history.{p}.relational_health", "enum", RELATIONAL_HEALTH_LEVELS),
        ]
    fields += [
        FactField("history.early_adversity", "enum", ADVERSITY_LEVELS),
        FactField("history.max_adversity", "enum", ADVERSITY_LEVELS),
        FactField("history.high_adversity_periods", "integer", minimum=0, maximum=len(PERIODS)),
        FactField("history.lowest_relational_health", "enum", RELATIONAL_HEALTH_LEVELS),
        FactField("relational_health_now", "enum", RELATIONAL_HEALTH_LEVELS),
        *(FactField(f"flags.{f}", "boolean") for f in SAFETY_FLAGS),
        FactField("flags.any", "boolean"),
        *(FactField(f"earlier_flags.{f}.months_ago", "integer", minimum=0) for f in SAFETY_FLAGS),
        *(FactField(f"recent_flags.{f}", "boolean") for f in SAFETY_FLAGS),
        FactField("recent_flags.any", "boolean"),
        *(FactField(f"clinician.ready_for.{s}", "boolean") for s in RELEASABLE_STAGES),
        FactField("setting", "string"),
        FactField("placement", "enum", PLACEMENTS, ordered=False),
        FactField("substance_use.level", "enum", SUBSTANCE_USE_LEVELS),
        *(FactField(f"conditions.{c}", "boolean") for c in CONDITIONS),
        FactField("conditions.count", "integer", minimum=0),
        FactField("interpreter_needed", "boolean"),
        FactField("dependents.count", "integer", minimum=0),
        FactField("dependents.youngest_age", "number", minimum=0, maximum=120),
        FactField("release.days_until", "integer"),
        FactField("developmental_age.gap_years", "number", minimum=0),
        FactField("assessments.count", "integer", minimum=1),
        FactField("assessments.months_since_previous", "integer", minimum=0),
    ]
    return {f.path: f for f in fields}


#: Every fact field that does not depend on the ruleset, by path.
STATIC_FIELDS: Final[dict[str, FactField]] = _static_fields()


def fact_field(path: str, need_stages: Mapping[str, Stage]) -> FactField | None:
    """Look up a fact field by path; `need_stages` gives the stage of every declared need."""
    found = STATIC_FIELDS.get(path)
    if found is not None:
        return found
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "stage" and parts[2] == "unmet" and parts[1] in STAGES:
        return FactField(path, "boolean", derived_from=parts[1])
    if len(parts) == 2 and parts[0] == "needs" and parts[1] in need_stages:
        return FactField(path, "boolean", derived_from=need_stages[parts[1]])
    return None


def all_paths(need_stages: Mapping[str, Stage]) -> list[str]:
    """Every path a rule may name (for suggestions and documentation)."""
    derived = [f"stage.{s}.unmet" for s in STAGES] + [f"needs.{n}" for n in need_stages]
    return [*STATIC_FIELDS, *derived]


@attrs.frozen
class FactConfig:
    """What the primary ruleset decides about facts: cut-points and thresholds."""

    bands: Mapping[Band, tuple[int, int]]
    #: Smallest score change that counts as improved or worse.
    min_change: int = 5
    #: Consecutive improvements that release what a still-severe domain holds.
    sustained_improvements: int = 2
    #: A score this close to a band boundary is near a cut-point (0: never).
    cut_point_margin: int = 3
    #: A flag on an earlier assessment this many months back or fewer is recent.
    recent_flag_months: int = 3
    #: Weeks to the next assessment: usually, with a severe domain, with a safety flag
    #: (now or recent), and at most this long after a release from custody.
    weeks: int = 12
    severe_weeks: int = 6
    safety_weeks: int = 4
    after_release_weeks: int = 2
    _band_of_score: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)
    _near_cut: tuple[bool, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        table = [0] * 101
        for band, (low, high) in self.bands.items():
            for score in range(low, high + 1):
                table[score] = BANDS.index(band)
        object.__setattr__(self, "_band_of_score", tuple(table))
        cuts = [high for band, (_, high) in self.bands.items() if band != BANDS[-1]]
        object.__setattr__(
            self,
            "_near_cut",
            tuple(
                any(self.cut_distance(score, cut) <= self.cut_point_margin for cut in cuts)
                for score in range(101)
            ),
        )

    def band(self, score: int) -> int:
        """Ordinal band of a 0-100 score."""
        return self._band_of_score[score]

    def near_cut_point(self, score: int) -> bool:
        """Whether a score is within the margin of a band boundary."""
        return self._near_cut[score]

    @staticmethod
    def cut_distance(score: int, cut: int) -> int:
        """Points from a score to the boundary above `cut` (the top score of a band): 1 for
        the scores either side of it."""
        return cut + 1 - score if score <= cut else score - cut


DEFAULT_BANDS: Final[dict[Band, tuple[int, int]]] = {
    "severe": (0, 34),
    "moderate": (35, 54),
    "mild": (55, 74),
    "typical": (75, 100),
}

_ADVERSITY = {v: i for i, v in enumerate(ADVERSITY_LEVELS)}
_RELATIONAL = {v: i for i, v in enumerate(RELATIONAL_HEALTH_LEVELS)}
_HIGH = ADVERSITY_LEVELS.index("high")
_AGE_GROUP = {group: i for i, group in enumerate(AGE_GROUPS)}
# Fact keys spelt once here rather than formatted again for every map.
_DOMAIN_KEYS: Final = tuple(
    (d, f"domains.{d}", f"bands.{d}", f"change.{d}", f"previous_bands.{d}") for d in DOMAINS
)
_NEAR_KEYS: Final = tuple((d, f"near_cut_point.{d}") for d in DOMAINS)
_IMPROVEMENT_KEYS: Final = tuple((d, f"improvements.{d}") for d in DOMAINS)
_EARLIER_FLAG_KEYS: Final = tuple(
    (flag, f"earlier_flags.{flag}.months_ago", f"recent_flags.{flag}") for flag in SAFETY_FLAGS
)
_READY_KEYS: Final = tuple((stage, f"clinician.ready_for.{stage}") for stage in RELEASABLE_STAGES)
_FUNCTION_KEYS: Final = tuple((f, f"functions.{f}", f"function_bands.{f}") for f in FUNCTIONS)
_PERIOD_KEYS: Final = tuple(
    (p, f"history.{p}.adversity", f"history.{p}.relational_health") for p in PERIODS
)
_FLAG_KEYS: Final = tuple((flag, f"flags.{flag}") for flag in SAFETY_FLAGS)
_IMPROVED, _WORSE, _STABLE = (CHANGES.index(c) for c in ("improved", "worse", "stable"))


def to_facts(brain_map: BrainMap, config: FactConfig) -> dict[str, Any]:
    """The flat fact of one brain map. Fields with no data are absent, not guessed."""
    facts: dict[str, Any] = {}
    _add_scores(facts, brain_map.domains, brain_map.functions, config)
    age = brain_map.subject.age_years
    facts["age.years"] = _years(age)
    facts["age.group"] = _AGE_GROUP[age_group(age)]
    _add_history(facts, brain_map)
    if brain_map.relational_health_now is not None:
        facts["relational_health_now"] = _RELATIONAL[brain_map.relational_health_now]
    flags = brain_map.flags
    for flag, key in _FLAG_KEYS:
        facts[key] = flag in flags
    facts["flags.any"] = bool(flags)
    if brain_map.setting is not None:
        facts["setting"] = brain_map.setting
    ready = brain_map.clinician.ready_for if brain_map.clinician is not None else ()
    for stage, key in _READY_KEYS:
        facts[key] = stage in ready
    _add_change(facts, brain_map, config)
    _add_earlier_flags(facts, brain_map, config)
    _add_context(facts, brain_map)
    return facts


_PLACEMENT = {p: i for i, p in enumerate(PLACEMENTS)}
_SUBSTANCE_USE = {level: i for i, level in enumerate(SUBSTANCE_USE_LEVELS)}
_CONDITION_KEYS: Final = tuple((c, f"conditions.{c}") for c in CONDITIONS)


def _add_context(facts: dict[str, Any], brain_map: BrainMap) -> None:
    """Where the person lives, substance use, conditions, dependents, release, development."""
    if brain_map.placement is not None:
        facts["placement"] = _PLACEMENT[brain_map.placement]
    if brain_map.substance_use is not None:
        facts["substance_use.level"] = _SUBSTANCE_USE[brain_map.substance_use.level]
    conditions = brain_map.conditions
    for condition, key in _CONDITION_KEYS:
        facts[key] = condition in conditions
    facts["conditions.count"] = len(conditions)
    facts["interpreter_needed"] = brain_map.interpreter_needed
    dependents = brain_map.dependents
    facts["dependents.count"] = len(dependents)
    if dependents:
        facts["dependents.youngest_age"] = _years(min(d.age_years for d in dependents))
    if brain_map.release_on is not None:
        facts["release.days_until"] = (brain_map.release_on - brain_map.assessed_on).days
    development = brain_map.developmental_age_years
    if development is not None:
        age = brain_map.subject.age_years
        ages = [development.for_domain(d) for d in DOMAINS]
        gaps = [age - dev for dev in ages if dev is not None]
        if gaps:
            facts["developmental_age.gap_years"] = _years(max(0.0, max(gaps)))


def _years(value: float) -> float:
    """Years to a ten-thousandth (under an hour): durable-rules' JSON reader refuses a
    number written with an exponent (1e-07), which tiny floats are written with."""
    return round(value, 4)


def _add_scores(
    facts: dict[str, Any], domains: Domains, functions: Functions, config: FactConfig
) -> None:
    band = config.band
    for d, score_key, band_key, _, _ in _DOMAIN_KEYS:
        score = getattr(domains, d)
        facts[score_key] = score
        facts[band_key] = band(score)
    for d, near_key in _NEAR_KEYS:
        facts[near_key] = config.near_cut_point(getattr(domains, d))
    for f, score_key, band_key in _FUNCTION_KEYS:
        score = getattr(functions, f)
        if score is not None:
            facts[score_key] = score
            facts[band_key] = band(score)


def _add_history(facts: dict[str, Any], brain_map: BrainMap) -> None:
    adversity: dict[str, int] = {}
    relational: list[int] = []
    history = brain_map.history
    for period, adversity_key, relational_key in _PERIOD_KEYS:
        entry = getattr(history, period)
        if entry is None:
            continue
        if entry.adversity is not None:
            adversity[period] = facts[adversity_key] = _ADVERSITY[entry.adversity]
        if entry.relational_health is not None:
            relational.append(_RELATIONAL[entry.relational_health])
            facts[relational_key] = relational[-1]
    early = [adversity[p] for p in EARLY_PERIODS if p in adversity]
    if early:
        facts["history.early_adversity"] = max(early)
    if adversity:
        facts["history.max_adversity"] = max(adversity.values())
    facts["history.high_adversity_periods"] = sum(v == _HIGH for v in adversity.values())
    if relational:
        facts["history.lowest_relational_health"] = min(relational)


def _add_change(facts: dict[str, Any], brain_map: BrainMap, config: FactConfig) -> None:
    facts["assessments.count"] = 1 + len(brain_map.previous)
    latest = _latest(brain_map.previous)
    if latest is None:
        for _, key in _IMPROVEMENT_KEYS:
            facts[key] = 0
        return
    history = sorted(brain_map.previous, key=lambda p: p.assessed_on)
    for d, key in _IMPROVEMENT_KEYS:
        facts[key] = improvements(
            [getattr(p.domains, d) for p in history] + [getattr(brain_map.domains, d)],
            config.min_change,
        )
    facts["assessments.months_since_previous"] = _months_between(
        latest.assessed_on, brain_map.assessed_on
    )
    for d, _, _, change_key, previous_key in _DOMAIN_KEYS:
        before = getattr(latest.domains, d)
        delta = getattr(brain_map.domains, d) - before
        facts[change_key] = (
            _IMPROVED
            if delta >= config.min_change
            else _WORSE
            if -delta >= config.min_change
            else _STABLE
        )
        facts[previous_key] = config.band(before)


def improvements(scores: Sequence[int], min_change: int) -> int:
    """How many assessments in a row, ending with the last, improved by at least min_change."""
    count = 0
    for before, after in zip(reversed(scores[:-1]), reversed(scores[1:]), strict=True):
        if after - before < min_change:
            break
        count += 1
    return count


def _add_earlier_flags(facts: dict[str, Any], brain_map: BrainMap, config: FactConfig) -> None:
    """Safety flags of earlier assessments: how many months ago each was last raised, and
    whether that is recent (the weeks after a crisis are the highest-risk window)."""
    latest: dict[str, dt.date] = {}
    for earlier in brain_map.previous:
        for flag in earlier.flags:
            if flag not in latest or earlier.assessed_on > latest[flag]:
                latest[flag] = earlier.assessed_on
    recent_any = False
    for flag, months_key, recent_key in _EARLIER_FLAG_KEYS:
        when = latest.get(flag)
        recent = False
        if when is not None:
            months = facts[months_key] = _months_between(when, brain_map.assessed_on)
            recent = months <= config.recent_flag_months
        facts[recent_key] = recent
        recent_any = recent_any or recent
    facts["recent_flags.any"] = recent_any


def _latest(previous: Sequence[PreviousAssessment]) -> PreviousAssessment | None:
    return max(previous, key=lambda p: p.assessed_on, default=None)


def _months_between(earlier: dt.date, later: dt.date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (later.day < earlier.day)


def decode_facts(facts: Mapping[str, Any], need_stages: Mapping[str, Stage]) -> dict[str, Any]:
    """Facts as a person reads them (enum ordinals back to names), sorted by path."""
    out: dict[str, Any] = {}
    for path in sorted(facts):
        field = fact_field(path, need_stages)
        out[path] = field.decode(facts[path]) if field else facts[path]
    return out
