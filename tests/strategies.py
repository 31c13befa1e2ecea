"""Hypothesis strategies for brain maps, shaped like what hosts send."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from nmt_rules.vocabulary import (
    ADVERSITY_LEVELS,
    DOMAINS,
    FUNCTIONS,
    PERIODS,
    RELATIONAL_HEALTH_LEVELS,
    RELEASABLE_STAGES,
    SAFETY_FLAGS,
)

scores = st.integers(min_value=0, max_value=100)
SETTINGS = ("school", "foster-care", "justice-reentry")


@st.composite
def brain_maps(draw: st.DrawFn, flags: bool = True, settings: bool = True) -> dict[str, Any]:
    """Any valid brain map: every optional part may or may not be present."""
    data: dict[str, Any] = {
        "subject": {"id": "h-1", "age_years": draw(st.integers(0, 80))},
        "assessed_on": "2026-10-01",
        "domains": {d: draw(scores) for d in DOMAINS},
    }
    functions = draw(st.dictionaries(st.sampled_from(sorted(FUNCTIONS)), scores, max_size=4))
    if functions:
        data["functions"] = functions
    history = draw(
        st.dictionaries(
            st.sampled_from(PERIODS),
            st.fixed_dictionaries(
                {},
                optional={
                    "adversity": st.sampled_from(ADVERSITY_LEVELS),
                    "relational_health": st.sampled_from(RELATIONAL_HEALTH_LEVELS),
                },
            ),
            max_size=4,
        )
    )
    if history:
        data["history"] = history
    if draw(st.booleans()):
        data["relational_health_now"] = draw(st.sampled_from(RELATIONAL_HEALTH_LEVELS))
    if flags:
        chosen = draw(st.lists(st.sampled_from(SAFETY_FLAGS), unique=True, max_size=2))
        if chosen:
            data["flags"] = chosen
    if settings and draw(st.booleans()):
        data["setting"] = draw(st.sampled_from(SETTINGS))
    earlier = draw(
        st.lists(_earlier_assessment(), max_size=3, unique_by=lambda p: p["assessed_on"])
    )
    if earlier:
        data["previous"] = earlier
    if draw(st.integers(0, 5)) == 0:
        data["clinician"] = {
            "ready_for": draw(
                st.lists(st.sampled_from(RELEASABLE_STAGES), unique=True, min_size=1)
            ),
            "note": "Stays regulated through a 20-minute verbal session with a familiar adult.",
        }
    return data


@st.composite
def _earlier_assessment(draw: st.DrawFn) -> dict[str, Any]:
    """An earlier assessment: 1-24 months before the map's date, maybe with flags."""
    months = draw(st.integers(1, 24))
    year, month = divmod(2026 * 12 + 9 - months, 12)
    entry: dict[str, Any] = {
        "assessed_on": f"{year}-{month + 1:02d}-01",
        "domains": {d: draw(scores) for d in DOMAINS},
    }
    flags = draw(st.lists(st.sampled_from(SAFETY_FLAGS), unique=True, max_size=2))
    if flags:
        entry["flags"] = flags
    return entry
