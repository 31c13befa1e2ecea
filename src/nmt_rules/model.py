"""The data model: the brain map that comes in and the plan that goes out (attrs, frozen)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs

from .vocabulary import (
    Adversity,
    AgeGroup,
    Band,
    Change,
    Domain,
    Indicator,
    NeedKind,
    Period,
    Placement,
    RelationalHealth,
    ReleasableStage,
    SafetyFlag,
    Sequencing,
    Stage,
    Status,
    SubstanceUseLevel,
)


def _m(description: str, **schema: object) -> dict[str, object]:
    """Field metadata: the description and JSON Schema keywords the schema generator reads."""
    return {"description": description, **schema}


_SCORE: Final = {"minimum": 0, "maximum": 100}


# --- brain map (input) -----------------------------------------------------------------


@attrs.frozen
class Subject:
    """The person assessed."""

    id: str = attrs.field(metadata=_m("Identifier of the person in the host system.", minLength=1))
    age_years: float = attrs.field(
        metadata=_m("Age in years at this assessment.", minimum=0, maximum=120)
    )


@attrs.frozen
class Domains:
    """Functioning per brain domain, 0-100 relative to age-typical peers (100 = typical)."""

    sensory_integration: int = attrs.field(
        metadata=_m("Sensory integration (brainstem-level organisation).", **_SCORE)
    )
    self_regulation: int = attrs.field(
        metadata=_m("Self-regulation: arousal, sleep, appetite, motor regulation.", **_SCORE)
    )
    relational: int = attrs.field(
        metadata=_m("Relational: attachment, attunement, social reward.", **_SCORE)
    )
    cognitive: int = attrs.field(
        metadata=_m("Cognitive: attention, language, reasoning, executive function.", **_SCORE)
    )


@attrs.frozen
class Functions:
    """Optional finer ratings within a domain, 0-100 (nmt-rules' own open list)."""

    sensory_modulation: int | None = attrs.field(
        default=None, metadata=_m("Sensory modulation (sensory integration).", **_SCORE)
    )
    motor_coordination: int | None = attrs.field(
        default=None, metadata=_m("Motor coordination (sensory integration).", **_SCORE)
    )
    sleep: int | None = attrs.field(default=None, metadata=_m("Sleep (self-regulation).", **_SCORE))
    arousal: int | None = attrs.field(
        default=None, metadata=_m("Arousal regulation (self-regulation).", **_SCORE)
    )
    appetite: int | None = attrs.field(
        default=None, metadata=_m("Appetite and feeding (self-regulation).", **_SCORE)
    )
    attachment: int | None = attrs.field(
        default=None, metadata=_m("Attachment to caregivers (relational).", **_SCORE)
    )
    peer_relations: int | None = attrs.field(
        default=None, metadata=_m("Peer relations (relational).", **_SCORE)
    )
    attention: int | None = attrs.field(
        default=None, metadata=_m("Attention (cognitive).", **_SCORE)
    )
    language: int | None = attrs.field(default=None, metadata=_m("Language (cognitive).", **_SCORE))
    executive_function: int | None = attrs.field(
        default=None, metadata=_m("Executive function (cognitive).", **_SCORE)
    )


@attrs.frozen
class PeriodHistory:
    """Adversity and relational health in one developmental period."""

    adversity: Adversity | None = attrs.field(
        default=None, metadata=_m("Adversity experienced in the period.")
    )
    relational_health: RelationalHealth | None = attrs.field(
        default=None, metadata=_m("Relational health (connectedness) in the period.")
    )


@attrs.frozen
class History:
    """Developmental history by period; early and relational adversity weigh most."""

    perinatal: PeriodHistory | None = attrs.field(default=None, metadata=_m("Birth to 2 months."))
    infancy: PeriodHistory | None = attrs.field(default=None, metadata=_m("2 to 12 months."))
    early_childhood: PeriodHistory | None = attrs.field(
        default=None, metadata=_m("13 months to 4 years.")
    )
    childhood: PeriodHistory | None = attrs.field(default=None, metadata=_m("4 to 11 years."))
    adolescence: PeriodHistory | None = attrs.field(default=None, metadata=_m("12 to 17 years."))
    adulthood: PeriodHistory | None = attrs.field(default=None, metadata=_m("18 years and older."))


@attrs.frozen
class ClinicianJudgement:
    """A clinician's judgement recorded with the map: stages the person is ready for."""

    ready_for: tuple[ReleasableStage, ...] = attrs.field(
        default=(),
        metadata=_m(
            "Stages whose demands may start although a lower domain is still severe.",
            uniqueItems=True,
        ),
    )
    note: str | None = attrs.field(
        default=None,
        metadata=_m("Why, in the clinician's words (required with ready_for).", minLength=1),
    )
    by: str | None = attrs.field(
        default=None, metadata=_m("Who made the judgement (name or role).", minLength=1)
    )


@attrs.frozen
class SubstanceUse:
    """Current use of alcohol or drugs."""

    level: SubstanceUseLevel = attrs.field(
        metadata=_m("none, occasional, regular or dependent (the clinician's reading).")
    )
    substances: str | None = attrs.field(
        default=None, metadata=_m("Which substances, in the clinician's words.", maxLength=200)
    )


@attrs.frozen
class DevelopmentalAge:
    """Developmental age in years where development lags chronological age."""

    overall: float | None = attrs.field(
        default=None, metadata=_m("Overall developmental age.", minimum=0, maximum=120)
    )
    sensory_integration: float | None = attrs.field(
        default=None,
        metadata=_m("Developmental age of sensory integration.", minimum=0, maximum=120),
    )
    self_regulation: float | None = attrs.field(
        default=None, metadata=_m("Developmental age of self-regulation.", minimum=0, maximum=120)
    )
    relational: float | None = attrs.field(
        default=None,
        metadata=_m("Developmental age of relational functioning.", minimum=0, maximum=120),
    )
    cognitive: float | None = attrs.field(
        default=None,
        metadata=_m("Developmental age of cognitive functioning.", minimum=0, maximum=120),
    )

    def for_domain(self, domain: Domain) -> float | None:
        """The developmental age that applies to a domain: its own, else the overall one."""
        own: float | None = getattr(self, domain)
        return own if own is not None else self.overall


@attrs.frozen
class Dependent:
    """A child or other person the assessed person cares for."""

    age_years: float = attrs.field(metadata=_m("Age in years.", minimum=0, maximum=120))


_TEXTS: Final = {"maxItems": 20}
_TEXT: Final = {"minLength": 1, "maxLength": 80}


@attrs.frozen(kw_only=True)
class AssessmentContext:
    """What an assessment records besides the person, the date and the domain scores.

    Shared by a brain map and the earlier assessments pasted into it, so a host can send its
    stored maps as they are."""

    setting: str | None = attrs.field(
        default=None,
        metadata=_m(
            "Setting that will deliver the plan (school, foster-care, justice-reentry, ...).",
            pattern="^[a-z0-9]+(-[a-z0-9]+)*$",
        ),
    )
    functions: Functions = attrs.field(factory=Functions, metadata=_m("Optional finer ratings."))
    history: History = attrs.field(factory=History, metadata=_m("Optional developmental history."))
    relational_health_now: RelationalHealth | None = attrs.field(
        default=None, metadata=_m("Current relational health: a strong predictor of outcomes.")
    )
    flags: tuple[SafetyFlag, ...] = attrs.field(
        default=(),
        metadata=_m(
            "Safety flags; each produces critical items that come first.", uniqueItems=True
        ),
    )
    clinician: ClinicianJudgement | None = attrs.field(
        default=None,
        metadata=_m("Clinician's judgement: stages ready although a lower domain is severe."),
    )
    placement: Placement | None = attrs.field(
        default=None, metadata=_m("Where the person lives now.")
    )
    substance_use: SubstanceUse | None = attrs.field(
        default=None, metadata=_m("Current alcohol or drug use.")
    )
    conditions: tuple[str, ...] = attrs.field(
        default=(),
        metadata=_m(
            "Diagnosed conditions that change how scores are read or how work is delivered: "
            "autism, fasd, brain-injury, intellectual-disability, sensory-impairment, or "
            "another kebab-case name.",
            uniqueItems=True,
            maxItems=20,
            items={"pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 60},
        ),
    )
    developmental_age_years: DevelopmentalAge | None = attrs.field(
        default=None,
        metadata=_m(
            "Developmental age where it lags chronological age (overall or per domain); "
            "activities are matched to it."
        ),
    )
    release_on: dt.date | None = attrs.field(
        default=None, metadata=_m("Date of release from custody (justice reentry).", format="date")
    )
    strengths: tuple[str, ...] = attrs.field(
        default=(),
        metadata=_m("What the person does well, in short phrases.", **_TEXTS, items=_TEXT),
    )
    interests: tuple[str, ...] = attrs.field(
        default=(),
        metadata=_m(
            "What the person enjoys (activities are built on them).", **_TEXTS, items=_TEXT
        ),
    )
    language: str | None = attrs.field(
        default=None, metadata=_m("Preferred language of the person or family.", **_TEXT)
    )
    interpreter_needed: bool = attrs.field(
        default=False, metadata=_m("A qualified interpreter is needed for conversations.")
    )
    dependents: tuple[Dependent, ...] = attrs.field(
        default=(), metadata=_m("Children or others the person cares for.", maxItems=20)
    )


@attrs.frozen(kw_only=True)
class PreviousAssessment(AssessmentContext):
    """An earlier assessment of the same person, used for change over time.

    A whole earlier brain map is accepted as it was stored: its `subject` must be the same
    person, and its own `previous` entries join this map's list.
    """

    assessed_on: dt.date = attrs.field(
        metadata=_m("Date of that assessment (before this one).", format="date")
    )
    domains: Domains = attrs.field(metadata=_m("Domain scores at that assessment."))
    subject: Subject | None = attrs.field(
        default=None, metadata=_m("The person then (same id; age at that assessment).")
    )
    previous: tuple[PreviousAssessment, ...] = attrs.field(
        default=(), metadata=_m("Assessments before that one (they join the list).")
    )


@attrs.frozen(kw_only=True)
class BrainMap(AssessmentContext):
    """One assessment of one person: the input to a plan."""

    subject: Subject = attrs.field(metadata=_m("The person assessed."))
    assessed_on: dt.date = attrs.field(metadata=_m("Date of this assessment.", format="date"))
    domains: Domains = attrs.field(
        metadata=_m("Functioning per domain, 0-100 (100 = age-typical).")
    )
    previous: tuple[PreviousAssessment, ...] = attrs.field(
        default=(), metadata=_m("Earlier assessments of the same person, any order.")
    )


# --- plan (output) -----------------------------------------------------------------------


@attrs.frozen
class Dose:
    """How often and how long an activity is given."""

    frequency: str = attrs.field(metadata=_m("How often, e.g. '5-6 times a day'."))
    duration: str = attrs.field(metadata=_m("How long each time, e.g. '5-10 minutes'."))


@attrs.frozen
class Plain:
    """The plain-language texts of a need or a catalogue item, for handouts a caregiver,
    teacher or the person reads: no ids, no jargon, US grade 8 or below."""

    title: str = attrs.field(metadata=_m("What it is, in a few plain words.", minLength=1))
    do: str = attrs.field(metadata=_m("What to do, in one or two plain sentences.", minLength=1))


@attrs.frozen
class Delivery:
    """How a setting delivers a need: one catalogue item fitting the person's age."""

    id: str = attrs.field(metadata=_m("Catalogue item id."))
    catalogue: str = attrs.field(metadata=_m("Catalogue the item comes from."))
    title: str = attrs.field(metadata=_m("Short title."))
    description: str = attrs.field(
        metadata=_m("Plain-language description for the people who deliver it.")
    )
    modality: str = attrs.field(
        metadata=_m("talk, play, art, music, movement, routine, education, ...")
    )
    delivered_by: tuple[str, ...] = attrs.field(metadata=_m("Who delivers it."))
    audience: tuple[str, ...] = attrs.field(metadata=_m("Who the description is written for."))
    dose: Dose | None = attrs.field(default=None, metadata=_m("How often and how long."))
    contraindications: tuple[str, ...] = attrs.field(default=(), metadata=_m("Cautions."))
    reference: str | None = attrs.field(
        default=None, metadata=_m("Published source, where one exists.")
    )
    release: str | None = attrs.field(
        default=None,
        metadata=_m(
            "Reentry: in place by the day of release (before) or started after it (after)."
        ),
    )
    conditions: tuple[str, ...] = attrs.field(
        default=(), metadata=_m("Conditions this item is adapted for (empty: anyone).")
    )
    plain: Plain | None = attrs.field(
        default=None, metadata=_m("Plain-language title and what to do, for handouts.")
    )


@attrs.frozen
class Reason:
    """One rule firing that raised a need: the rule, its sentence and the facts it matched."""

    rule: str = attrs.field(metadata=_m("Qualified rule id: ruleset/rule."))
    because: str = attrs.field(metadata=_m("Why, in a clinician's words."))
    matched: dict[str, Any] = attrs.field(metadata=_m("The facts that matched, by fact path."))


@attrs.frozen
class Caution:
    """Something to weigh before acting on an item, and the rule that said so."""

    text: str = attrs.field(metadata=_m("The caution, in a clinician's words."))
    rule: str = attrs.field(metadata=_m("Qualified id of the rule (or nmt-rules check) behind it."))


@attrs.frozen
class PlanItem:
    """One need in the plan, with its explanation, status and delivery."""

    id: str = attrs.field(metadata=_m("Stable item id: stage/need."))
    stage: Stage = attrs.field(metadata=_m("Stage of the need."))
    status: Status = attrs.field(
        metadata=_m("now, or deferred while a lower stage is severely impaired.")
    )
    indicator: Indicator = attrs.field(metadata=_m("critical (safety), warning or info."))
    need: str = attrs.field(metadata=_m("Need id."))
    kind: NeedKind = attrs.field(metadata=_m("safety, intervention, education or progress."))
    sequencing: Sequencing = attrs.field(
        metadata=_m("foundation (never waits) or demand (waits while a lower domain is severe).")
    )
    title: str = attrs.field(metadata=_m("What to do."))
    description: str = attrs.field(metadata=_m("Plain-language description of the need."))
    audience: tuple[str, ...] = attrs.field(
        metadata=_m("Who acts on it: clinician, caregiver, teacher, ...")
    )
    because: str = attrs.field(metadata=_m("Why: the first rule's sentence."))
    rule: str = attrs.field(metadata=_m("The first rule that raised the need."))
    matched: dict[str, Any] = attrs.field(metadata=_m("Facts that rule matched."))
    also: tuple[Reason, ...] = attrs.field(
        default=(), metadata=_m("Other rules that raised the same need.")
    )
    held_by: tuple[str, ...] = attrs.field(
        default=(), metadata=_m("For deferred items: the lower-stage needs holding it.")
    )
    released_when: str | None = attrs.field(
        default=None, metadata=_m("For deferred items: what would release it.")
    )
    delivery: tuple[Delivery, ...] = attrs.field(
        default=(), metadata=_m("The setting's items meeting this need.")
    )
    delivery_note: str | None = attrs.field(
        default=None, metadata=_m("Why there is no delivery, when there is none.")
    )
    cautions: tuple[Caution, ...] = attrs.field(
        default=(), metadata=_m("What to weigh before acting on it, each with its rule.")
    )
    released_by: str | None = attrs.field(
        default=None,
        metadata=_m(
            "For a demand going ahead although a lower domain is severe: what released it."
        ),
    )
    goal: str | None = attrs.field(
        default=None, metadata=_m("An observable sign that it is working.")
    )
    build_on: tuple[str, ...] = attrs.field(
        default=(), metadata=_m("The person's interests the delivery can build on.")
    )
    in_place_by: dt.date | None = attrs.field(
        default=None,
        metadata=_m(
            "Reentry: the release date, for items that must be in place by then.", format="date"
        ),
    )
    delivery_age: float | None = attrs.field(
        default=None,
        metadata=_m("The developmental age deliveries were matched to, when not the person's age."),
    )
    plain: Plain | None = attrs.field(
        default=None, metadata=_m("The need's plain-language title and what to do, for handouts.")
    )


@attrs.frozen
class RulesetRef:
    """A ruleset that shaped the plan."""

    name: str
    version: str
    sha256: str
    origin: str = attrs.field(
        metadata=_m("'core', the plugin that supplied it, or the file it was loaded from.")
    )
    draft: bool = attrs.field(
        default=False,
        metadata=_m(
            "True when its sha256 is not that of a ruleset shipped with nmt-rules or an"
            " installed plugin: a ruleset being written or edited, not a released one."
        ),
    )

    def shown(self) -> str:
        """How reports name it: `name version`, and where a draft came from."""
        return f"{self.name} {self.version}" + (f" (DRAFT: {self.origin})" if self.draft else "")


@attrs.frozen
class CatalogueRef:
    """A catalogue that shaped the plan."""

    name: str
    version: str
    setting: str
    sha256: str
    plugin: str


@attrs.frozen
class PluginRef:
    """A plugin loaded when the plan was made."""

    name: str
    version: str


@attrs.frozen
class Provenance:
    """What produced a plan, so it can be reproduced and audited."""

    nmt_rules_version: str
    rulesets: tuple[RulesetRef, ...]
    catalogues: tuple[CatalogueRef, ...] = ()
    plugins: tuple[PluginRef, ...] = ()


@attrs.frozen
class ScorePoint:
    """A domain score at one assessment."""

    assessed_on: dt.date = attrs.field(metadata=_m("Date of the assessment.", format="date"))
    score: int = attrs.field(metadata=_m("Score 0-100 (100 = age-typical).", **_SCORE))


@attrs.frozen
class DomainProgress:
    """How one domain moved across assessments of the same person."""

    domain: Domain = attrs.field(metadata=_m("The domain."))
    band: Band = attrs.field(metadata=_m("Band now."))
    previous_band: Band = attrs.field(metadata=_m("Band at the latest earlier assessment."))
    change: Change = attrs.field(
        metadata=_m("worse, stable or improved since then (the ruleset's min_change applies).")
    )
    scores: tuple[ScorePoint, ...] = attrs.field(
        metadata=_m("Every assessment's score, oldest first, this one last.")
    )


@attrs.frozen
class PlanContext:
    """What the map says about the person's circumstances, as the plan used it."""

    age_years: float = attrs.field(metadata=_m("Age at this assessment."))
    adult: bool = attrs.field(
        metadata=_m("18 or over: the plan speaks to the person and the supporters they choose.")
    )
    placement: str | None = attrs.field(default=None, metadata=_m("Where the person lives."))
    substance_use: SubstanceUse | None = attrs.field(default=None, metadata=_m("Substance use."))
    conditions: tuple[str, ...] = attrs.field(default=(), metadata=_m("Conditions recorded."))
    developmental_age: DevelopmentalAge | None = attrs.field(
        default=None, metadata=_m("Developmental age used to match activities.")
    )
    release_on: dt.date | None = attrs.field(
        default=None, metadata=_m("Release date from custody.", format="date")
    )
    strengths: tuple[str, ...] = attrs.field(default=(), metadata=_m("Strengths to build on."))
    interests: tuple[str, ...] = attrs.field(default=(), metadata=_m("Interests to build on."))
    language: str | None = attrs.field(default=None, metadata=_m("Preferred language."))
    interpreter_needed: bool = attrs.field(default=False, metadata=_m("An interpreter is needed."))
    dependents: tuple[Dependent, ...] = attrs.field(
        default=(), metadata=_m("Children or others the person cares for.")
    )
    days_since_previous: int | None = attrs.field(
        default=None, metadata=_m("Days since the latest earlier assessment.")
    )
    review_overdue_days: int | None = attrs.field(
        default=None,
        metadata=_m("How many days after its review date this assessment took place, if late."),
    )


@attrs.frozen
class DomainScore:
    """One domain of the brain map as a report draws it."""

    domain: Domain = attrs.field(metadata=_m("The domain."))
    score: int = attrs.field(metadata=_m("Score 0-100 (100 = age-typical).", **_SCORE))
    band: Band = attrs.field(metadata=_m("The band the ruleset's cut-points put the score in."))


@attrs.frozen
class BandRange:
    """One band of the ruleset: the scores it covers."""

    band: Band = attrs.field(metadata=_m("The band."))
    low: int = attrs.field(metadata=_m("Lowest score in the band.", **_SCORE))
    high: int = attrs.field(metadata=_m("Highest score in the band.", **_SCORE))


@attrs.frozen
class PeriodSummary:
    """Adversity and relational health recorded for one developmental period."""

    period: Period = attrs.field(metadata=_m("The developmental period."))
    adversity: Adversity | None = attrs.field(default=None, metadata=_m("Adversity then."))
    relational_health: RelationalHealth | None = attrs.field(
        default=None, metadata=_m("Relational health then.")
    )


@attrs.frozen
class MapSummary:
    """The brain map a plan was made from, as reports draw it: scores against the ruleset's
    bands, and history by period."""

    age_group: AgeGroup = attrs.field(metadata=_m("Age group at the assessment."))
    domains: tuple[DomainScore, ...] = attrs.field(
        metadata=_m("Every domain, lowest (sensory integration) first.")
    )
    bands: tuple[BandRange, ...] = attrs.field(
        metadata=_m("The ruleset's bands, lowest scores first.")
    )
    history: tuple[PeriodSummary, ...] = attrs.field(
        default=(), metadata=_m("Recorded developmental periods, earliest first.")
    )
    relational_health_now: RelationalHealth | None = attrs.field(
        default=None, metadata=_m("Current relational health.")
    )


@attrs.frozen
class Plan:
    """A sequenced, explained plan: items in the order a clinician should act on them."""

    plan_id: str = attrs.field(
        metadata=_m(
            "Deterministic id of the content: same subject, date, facts, setting, rulesets"
            " and catalogues give the same id."
        )
    )
    subject_id: str = attrs.field(metadata=_m("The person's id from the brain map."))
    assessed_on: dt.date = attrs.field(metadata=_m("Date of the assessment.", format="date"))
    setting: str | None = attrs.field(
        metadata=_m("Setting whose catalogue delivered the items, if any.")
    )
    items: tuple[PlanItem, ...] = attrs.field(
        metadata=_m("Items in the order a clinician should act on them.")
    )
    provenance: Provenance = attrs.field(metadata=_m("What produced the plan."))
    disclaimer: str = attrs.field(
        metadata=_m("Not a diagnostic tool; not affiliated; for trained professionals.")
    )
    progress: tuple[DomainProgress, ...] = attrs.field(
        default=(),
        metadata=_m("Per domain, change across assessments; empty without earlier ones."),
    )
    cautions: tuple[Caution, ...] = attrs.field(
        default=(),
        metadata=_m("What to weigh about the whole plan (e.g. scores near a cut-point)."),
    )
    review_by: dt.date | None = attrs.field(
        default=None, metadata=_m("Date of the next assessment.", format="date")
    )
    review_because: str | None = attrs.field(
        default=None, metadata=_m("Why the review falls on that date.")
    )
    context: PlanContext | None = attrs.field(
        default=None, metadata=_m("The person's circumstances as the plan used them.")
    )
    brain_map: MapSummary | None = attrs.field(
        default=None,
        metadata=_m("The brain map as reports draw it (scores, bands, history)."),
    )
