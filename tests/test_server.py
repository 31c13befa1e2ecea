"""The HTTP JSON API and the CDS Hooks service, as a host application calls them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from starlette.testclient import TestClient

from nmt_rules import Planner
from nmt_rules.server import MAX_BODY_BYTES, create_app

from .conftest import make_map


@pytest.fixture(scope="module")
def client(planner: Planner) -> TestClient:
    return TestClient(create_app(planner))


def test_health_reports_the_version(client: TestClient) -> None:
    reply = client.get("/health")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"


def test_a_plan_over_http_matches_the_python_api(client: TestClient, planner: Planner) -> None:
    data = make_map(sensory=25, cognitive=85, flags=["suicidal_ideation"])
    reply = client.post("/v1/plans?setting=school", json=data)
    assert reply.status_code == 200
    plan = reply.json()
    assert plan["items"][0]["indicator"] == "critical"
    assert plan["plan_id"] == planner.plan(data, "school").plan_id
    assert any(d["catalogue"] == "school" for i in plan["items"] for d in i["delivery"])


def test_invalid_maps_get_422_with_field_paths(client: TestClient) -> None:
    reply = client.post("/v1/plans", json=make_map(sensory=140, colour="red"))
    assert reply.status_code == 422
    errors = {(e["path"], e["message"].split(" (")[0]) for e in reply.json()["errors"]}
    assert ("domains.sensory_integration", "140 is above 100") in errors
    assert ("colour", "unknown field") in errors


def test_malformed_json_gets_400_with_its_position(client: TestClient) -> None:
    reply = client.post(
        "/v1/plans", content=b'{"subject": ', headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    assert "invalid JSON at line 1" in reply.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"subject": {"id": "c", "age_years": 3, "age_years": 30}}',
            "body: invalid JSON at line 1 column 41: duplicate key 'age_years' (columns 25 and 41)",
        ),
        (
            b'{"subject": {"id": "c", "age_years": NaN}}',
            "body: invalid JSON at line 1 column 38: NaN is not a number JSON allows",
        ),
    ],
)
def test_json_that_could_mean_two_things_gets_400(
    client: TestClient, body: bytes, message: str
) -> None:
    # Python's json kept the last key and read NaN, which planned a 3-year-old as an adult.
    reply = client.post("/v1/plans", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["message"] == message


def test_bodies_over_the_limit_get_413(client: TestClient) -> None:
    body = json.dumps(make_map()).encode() + b" " * MAX_BODY_BYTES
    reply = client.post("/v1/plans", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 413


def test_an_age_durable_rules_cannot_read_still_plans(client: TestClient) -> None:
    reply = client.post("/v1/plans", json=make_map(age=1e-7, flags=["self_harm"]))
    assert reply.status_code == 200, reply.text
    assert reply.json()["items"][0]["indicator"] == "critical"


def test_unknown_setting_gets_400_listing_known_settings(client: TestClient) -> None:
    reply = client.post("/v1/plans?setting=moon", json=make_map())
    assert reply.status_code == 400
    assert "school" in reply.json()["errors"][0]["message"]


def test_plugins_and_schemas_are_published(client: TestClient) -> None:
    assert {"school", "foster-care", "justice-reentry"} <= set(
        client.get("/v1/plugins").json()["settings"]
    )
    schema = client.get("/v1/schemas/brain-map").json()
    assert "domains" in schema["properties"]
    assert client.get("/v1/schemas/nope").status_code == 404


def test_cds_hooks_discovery_and_cards(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    assert services[0]["id"] == "nmt-rules-plan"
    request = {
        "hook": "nmt-brain-map-review",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "brainMap": make_map(age=15, sensory=30, relational=40, flags=["self_harm"]),
            "setting": "school",
        },
    }
    cards = client.post("/cds-services/nmt-rules-plan", json=request).json()["cards"]
    assert cards[0]["indicator"] == "critical"
    assert all(
        len(c["summary"]) <= 140 and c["source"]["label"].startswith("nmt-rules") for c in cards
    )
    assert any(c["summary"].startswith("Waits: ") and "**Held by:**" in c["detail"] for c in cards)
    assert all("not a diagnostic tool" in c["detail"] for c in cards)
    again = client.post("/cds-services/nmt-rules-plan", json=request).json()["cards"]
    assert [c["uuid"] for c in again] == [c["uuid"] for c in cards]


def test_cds_errors_name_the_field(client: TestClient) -> None:
    reply = client.post("/cds-services/nmt-rules-plan", json={"context": {}})
    assert reply.status_code == 400
    bad = {"context": {"brainMap": make_map(cognitive=-1)}}
    reply = client.post("/cds-services/nmt-rules-plan", json=bad)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["path"] == "context.brainMap.domains.cognitive"


def test_nmt_rules_serve_answers_on_loopback() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "nmt_rules.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):  # up to 10 s for the server to start
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as reply:
                    assert json.load(reply)["status"] == "ok"
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stderr is not None
        server.stderr.close()
