"""The domain vocabulary: domains, stages, periods and the enumerations the map and rules use.

These are nmt-rules' own open definitions, not items or scales of any proprietary instrument.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Domain = Literal["sensory_integration", "self_regulation", "relational", "cognitive"]
Stage = Literal["safety", "sensory", "regulation", "relational", "cognitive"]
Band = Literal["severe", "moderate", "mild", "typical"]
AgeGroup = Literal["early_childhood", "child", "teen", "young_adult", "adult"]
Period = Literal["perinatal", "infancy", "early_childhood", "childhood", "adolescence", "adulthood"]
Adversity = Literal["none", "low", "moderate", "high"]
RelationalHealth = Literal["low", "moderate", "high"]
Change = Literal["worse", "stable", "improved"]
SafetyFlag = Literal[
    "suicidal_ideation",
    "self_harm",
    "aggression",
    "abuse_or_neglect",
    "overdose_risk",
    "missing_or_exploitation",
]
Status = Literal["now", "deferred"]
Placement = Literal[
    "family",
    "kinship",
    "foster",
    "residential",
    "custody",
    "supported-living",
    "independent",
    "homeless",
]
SubstanceUseLevel = Literal["none", "occasional", "regular", "dependent"]
Indicator = Literal["critical", "warning", "info"]
NeedKind = Literal["safety", "intervention", "education", "progress"]
#: foundation: never waits (co-regulation, rhythm, sleep, safe adults, stability, safety);
#: demand: asks the person to think, talk or perform, and waits while a lower domain is severe.
Sequencing = Literal["foundation", "demand"]
#: Stages a clinician can judge ready although a lower domain is still severe.
ReleasableStage = Literal["regulation", "relational", "cognitive"]

#: Domains, lowest (brainstem) first.
DOMAINS: Final[tuple[Domain, ...]] = get_args(Domain)
#: Stages in the order the engine runs them; safety is a screen, not a domain.
STAGES: Final[tuple[Stage, ...]] = get_args(Stage)
STAGE_DOMAIN: Final[dict[Stage, Domain]] = {
    "sensory": "sensory_integration",
    "regulation": "self_regulation",
    "relational": "relational",
    "cognitive": "cognitive",
}
BANDS: Final[tuple[Band, ...]] = get_args(Band)
AGE_GROUPS: Final[tuple[AgeGroup, ...]] = get_args(AgeGroup)
#: From this age the plan speaks to the person and the supporters they choose.
ADULT_AGE: Final = 18
#: Upper age (exclusive, years) of each age group but the last.
AGE_GROUP_LIMITS: Final[tuple[tuple[float, AgeGroup], ...]] = (
    (5, "early_childhood"),
    (13, "child"),
    (18, "teen"),
    (26, "young_adult"),
)
PERIODS: Final[tuple[Period, ...]] = get_args(Period)
EARLY_PERIODS: Final[tuple[Period, ...]] = ("perinatal", "infancy", "early_childhood")
ADVERSITY_LEVELS: Final[tuple[Adversity, ...]] = get_args(Adversity)
RELATIONAL_HEALTH_LEVELS: Final[tuple[RelationalHealth, ...]] = get_args(RelationalHealth)
CHANGES: Final[tuple[Change, ...]] = get_args(Change)
SAFETY_FLAGS: Final[tuple[SafetyFlag, ...]] = get_args(SafetyFlag)
#: Optional finer ratings and the domain each belongs to.
FUNCTIONS: Final[dict[str, Domain]] = {
    "sensory_modulation": "sensory_integration",
    "motor_coordination": "sensory_integration",
    "sleep": "self_regulation",
    "arousal": "self_regulation",
    "appetite": "self_regulation",
    "attachment": "relational",
    "peer_relations": "relational",
    "attention": "cognitive",
    "language": "cognitive",
    "executive_function": "cognitive",
}
NEED_KINDS: Final[tuple[NeedKind, ...]] = get_args(NeedKind)
INDICATORS: Final[tuple[Indicator, ...]] = get_args(Indicator)
SEQUENCINGS: Final[tuple[Sequencing, ...]] = get_args(Sequencing)
PLACEMENTS: Final[tuple[Placement, ...]] = get_args(Placement)
SUBSTANCE_USE_LEVELS: Final[tuple[SubstanceUseLevel, ...]] = get_args(SubstanceUseLevel)
#: Conditions the core ruleset knows; a map may name others (kebab-case).
CONDITIONS: Final = (
    "autism",
    "fasd",
    "brain-injury",
    "intellectual-disability",
    "sensory-impairment",
)
RELEASABLE_STAGES: Final[tuple[ReleasableStage, ...]] = get_args(ReleasableStage)

#: Comparison operators of rule conditions.
Operator = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists"]
OPERATORS: Final[tuple[Operator, ...]] = get_args(Operator)
#: Who a need is written for.
AUDIENCES: Final = ("clinician", "caregiver", "teacher", "staff", "person")
#: How catalogue items are delivered, and the people who deliver them (catalogues may
#: declare more of their own under `vocabulary`).
MODALITIES: Final = (
    "talk",
    "play",
    "art",
    "music",
    "movement",
    "routine",
    "education",
    "environment",
    "referral",
    "safety-protocol",
    "mentoring",
    "practical",
)
ROLES: Final = (
    "clinician",
    "caregiver",
    "teacher",
    "teaching-assistant",
    "school-counsellor",
    "occupational-therapist",
    "caseworker",
    "mentor",
    "peer-support",
    "reentry-staff",
    "probation-officer",
    "residential-staff",
    "coach",
    "nurse",
    "person",
)
#: Who a caution may concern: a need's audiences and the roles catalogues deliver with.
INVOLVED: Final = tuple(dict.fromkeys((*AUDIENCES, *ROLES)))

DISCLAIMER: Final[str] = (
    "nmt-rules is decision support for trained professionals. It is not a diagnostic tool, "
    "and it is not affiliated with or endorsed by the Neurosequential Network or the "
    "ChildTrauma Academy. Clinical judgement decides."
)


def age_group(age_years: float) -> AgeGroup:
    """Return the age group of an age in years."""
    for limit, group in AGE_GROUP_LIMITS:
        if age_years < limit:
            return group
    return "adult"
