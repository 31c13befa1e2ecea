"""Shared fixtures: brain maps built the way hosts send them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nmt_rules import Planner

MapFactory = Callable[..., dict[str, Any]]


def make_map(
    age: float = 9,
    sensory: int = 95,
    regulation: int = 95,
    relational: int = 95,
    cognitive: int = 95,
    **extra: Any,
) -> dict[str, Any]:
    """A brain map as a host would send it (plain data), typical unless told otherwise."""
    data: dict[str, Any] = {
        "subject": {"id": "t-001", "age_years": age},
        "assessed_on": "2026-10-01",
        "domains": {
            "sensory_integration": sensory,
            "self_regulation": regulation,
            "relational": relational,
            "cognitive": cognitive,
        },
    }
    data.update(extra)
    return data


@pytest.fixture
def brain_map() -> MapFactory:
    """Build brain maps: brain_map(sensory=25, flags=["self_harm"])."""
    return make_map


@pytest.fixture(scope="session")
def planner() -> Planner:
    """The default planner: core ruleset and every installed plugin."""
    return Planner.default()
