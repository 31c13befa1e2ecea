"""Brain maps for the benchmark: seeded, varied and shaped like what hosts send."""

from __future__ import annotations

import random
from typing import Any

from nmt_rules.vocabulary import (
    ADVERSITY_LEVELS,
    DOMAINS,
    FUNCTIONS,
    PERIODS,
    RELATIONAL_HEALTH_LEVELS,
    SAFETY_FLAGS,
)

SETTINGS = ("school", "foster-care", "justice-reentry")


def _score(rng: random.Random) -> int:
    # Most people score in the middle bands; a fair share are severe or typical.
    return max(0, min(100, int(rng.gauss(55, 22))))


def brain_map(rng: random.Random, number: int) -> dict[str, Any]:
    """One brain map as plain data (what a host would post)."""
    age = rng.choice((rng.randint(2, 12), rng.randint(13, 17), rng.randint(18, 60)))
    data: dict[str, Any] = {
        "subject": {"id": f"bench-{number}", "age_years": age},
        "assessed_on": "2026-10-01",
        "domains": {d: _score(rng) for d in DOMAINS},
    }
    functions = {f: _score(rng) for f in FUNCTIONS if rng.random() < 0.3}
    if functions:
        data["functions"] = functions
    history: dict[str, Any] = {}
    for period in PERIODS:
        if rng.random() < 0.5:
            entry: dict[str, str] = {}
            if rng.random() < 0.8:
                entry["adversity"] = rng.choice(ADVERSITY_LEVELS)
            if rng.random() < 0.7:
                entry["relational_health"] = rng.choice(RELATIONAL_HEALTH_LEVELS)
            history[period] = entry
    if history:
        data["history"] = history
    if rng.random() < 0.7:
        data["relational_health_now"] = rng.choice(RELATIONAL_HEALTH_LEVELS)
    if rng.random() < 0.15:
        data["flags"] = rng.sample(SAFETY_FLAGS, rng.randint(1, 2))
    data["setting"] = rng.choice(SETTINGS)
    if rng.random() < 0.5:
        data["previous"] = [
            {
                "assessed_on": f"2026-0{rng.randint(1, 8)}-15",
                "domains": {d: _score(rng) for d in DOMAINS},
            }
        ]
    return data


def brain_maps(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` maps from a fixed seed: the same maps for every contender and every run."""
    rng = random.Random(seed)
    return [brain_map(rng, i) for i in range(count)]
