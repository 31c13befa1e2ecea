"""Shared fixtures: brain maps built the way hosts send them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from nmt_rules import Planner

from .golden_items import GoldenFile, collect_golden
from .servers import Ehr, Server, ehr, free_port, serve, write_config

MapFactory = Callable[..., dict[str, Any]]


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> GoldenFile | None:
    """Golden YAML cases are pytest items (tests/golden_items.py)."""
    return collect_golden(parent, file_path)


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


SANDBOX: Final = "https://sandbox.cds-hooks.org"
API_TOKEN: Final = "test-token-0123456789abcdef"


@pytest.fixture(scope="session")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`nmt-rules serve` as a developer starts it on loopback: no authentication; with a
    decision log and the CDS Hooks sandbox's origin allowed."""
    log = tmp_path_factory.mktemp("open") / "decisions.sqlite"
    with serve(["--decision-log", str(log)], env={"NMT_RULES_CORS_ORIGINS": SANDBOX}) as server:
        yield server


@pytest.fixture(scope="session")
def the_ehr() -> Iterator[Ehr]:
    """A CDS client with its own signing key, its JWK Set served on loopback."""
    with ehr() as client:
        yield client


@pytest.fixture(scope="session")
def secured_server(tmp_path_factory: pytest.TempPathFactory, the_ehr: Ehr) -> Iterator[Server]:
    """`nmt-rules serve` configured as for production: API tokens, an allow-listed EHR."""
    folder = tmp_path_factory.mktemp("secured")
    port = free_port()
    config = write_config(
        folder / "serve.toml",
        public_url=f"http://127.0.0.1:{port}",
        decision_log=str(folder / "decisions.sqlite"),
        cds_issuers=[{"iss": the_ehr.issuer, "jwks_url": the_ehr.jwks_url}],
    )
    env = {"NMT_RULES_API_TOKENS": f"other-token,{API_TOKEN}"}
    with serve(["--config", str(config)], env=env, port=port) as server:
        yield server
