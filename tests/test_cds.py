"""CDS Hooks 2.0 as an EHR calls it: discovery, patient-view with a FHIR prefetch, the
project-JSON service, cards, feedback and client JWTs, checked against the spec's rules."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from nmt_rules.cds import PREFETCH_TEMPLATE, check, empty_values
from nmt_rules.decision_log import read_decisions
from nmt_rules.fhir import brain_map_to_response

from .conftest import make_map
from .servers import Ehr, Server

PATIENT_VIEW = "/cds-services/nmt-rules-patient-view"
PLAN = "/cds-services/nmt-rules-plan"


def _spec_problems(kind: str, document: Any) -> list[str]:
    """How a document breaks the spec's JSON rules, including 'no null or empty values'."""
    found = [str(p) for p in check(kind, document)]
    empty = [path for path in empty_values(document) if path != "cards"]  # no cards is allowed
    return found + [f"{path}: null or empty" for path in empty]


def _patient_view(prefetch: Any = None, patient: str = "1288992", **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/example", "patientId": patient},
    }
    if prefetch is not None:
        request["prefetch"] = {"brainMap": prefetch}
    request.update(changes)
    return request


def _bundle(*responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in responses],
    }


CHILD = make_map(sensory=25, regulation=41, relational=40, cognitive=85, flags=["self_harm"])


def test_discovery_follows_the_spec(open_server: Server) -> None:
    reply = open_server.client.get("/cds-services")
    discovery = reply.json()
    assert _spec_problems("CdsDiscovery", discovery) == []
    services = {s["id"]: s for s in discovery["services"]}
    assert services["nmt-rules-patient-view"]["hook"] == "patient-view"
    assert services["nmt-rules-patient-view"]["prefetch"] == {"brainMap": PREFETCH_TEMPLATE}
    custom = services["nmt-rules-plan"]
    assert custom["hook"].count(".") >= 2  # reverse-domain notation for a non-standard hook
    assert "prefetch" not in custom  # optional and empty: omitted


def test_patient_view_plans_from_the_prefetched_questionnaire_response(
    open_server: Server,
) -> None:
    older = brain_map_to_response(
        make_map(sensory=90, regulation=90, relational=90, cognitive=90), "Patient/1288992"
    )
    older["authored"] = "2026-01-01"
    latest = brain_map_to_response(CHILD, "Patient/1288992")
    request = _patient_view(_bundle(older, latest))
    reply = open_server.client.post(PATIENT_VIEW, json=request)
    assert reply.status_code == 200, reply.text
    response = reply.json()
    assert _spec_problems("CdsResponse", response) == []
    cards = response["cards"]
    topics = [c["source"]["topic"]["code"] for c in cards]
    assert topics[0] == "safety" and cards[0]["indicator"] == "critical"
    assert topics.count("do-now") == 1 and topics.count("waits") == 1
    assert topics.index("do-now") < topics.index("waits")
    assert len(cards) <= 5  # few cards: the safety card is not buried
    waits = cards[topics.index("waits")]
    assert "**Held by:**" in waits["detail"] and "**Released when:**" in waits["detail"]
    assert all("not a diagnostic tool" in c["detail"] for c in cards)
    assert all(c["source"]["topic"]["system"].startswith("https://") for c in cards)
    # uuids: unique within the invocation, the same when it is retried, new for a new one.
    uuids = [c["uuid"] for c in cards]
    assert len(set(uuids)) == len(uuids)
    again = open_server.client.post(PATIENT_VIEW, json=request).json()["cards"]
    assert [c["uuid"] for c in again] == uuids
    other = open_server.client.post(
        PATIENT_VIEW, json={**request, "hookInstance": str(uuid.uuid4())}
    )
    assert not {c["uuid"] for c in other.json()["cards"]} & set(uuids)
    # Every card links to the plan's full report, which the service serves.
    link = cards[0]["links"][0]
    assert link["type"] == "absolute"
    report = open_server.client.get(link["url"])
    assert report.status_code == 200 and "Same-day" in report.text


def test_patient_view_without_the_prefetch_answers_412(open_server: Server) -> None:
    reply = open_server.client.post(PATIENT_VIEW, json=_patient_view())
    assert reply.status_code == 412
    assert "prefetch.brainMap" in reply.json()["errors"][0]["message"]
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    assert open_server.client.post(PATIENT_VIEW, json=_patient_view(outcome)).status_code == 412


def test_patient_view_with_no_brain_map_on_file_gives_no_cards(open_server: Server) -> None:
    request = _patient_view(None)
    request["prefetch"] = {"brainMap": None}  # the spec's "no data for this template"
    reply = open_server.client.post(PATIENT_VIEW, json=request)
    assert reply.status_code == 200 and reply.json() == {"cards": []}
    empty = open_server.client.post(PATIENT_VIEW, json=_patient_view(_bundle()))
    assert empty.json() == {"cards": []}


def test_a_brain_map_of_another_patient_is_refused(open_server: Server) -> None:
    response = brain_map_to_response(CHILD, "Patient/someone-else")
    reply = open_server.client.post(PATIENT_VIEW, json=_patient_view(_bundle(response)))
    assert reply.status_code == 400
    error = reply.json()["errors"][0]
    assert error["path"] == "prefetch.brainMap.entry[0].resource.subject.reference"
    assert "not the patient in context" in error["message"]


def test_an_invalid_prefetched_response_is_422_by_its_path(open_server: Server) -> None:
    response = brain_map_to_response(CHILD, "Patient/1288992")
    domains = next(i for i in response["item"] if i["linkId"] == "domains")
    domains["item"][0]["answer"] = [{"valueInteger": 140}]
    index = response["item"].index(domains)
    reply = open_server.client.post(PATIENT_VIEW, json=_patient_view(_bundle(response)))
    assert reply.status_code == 422
    assert reply.json()["errors"][0] == {
        "path": f"prefetch.brainMap.entry[0].resource.item[{index}].item[0].answer[0].valueInteger",
        "message": "140 is above 100 (domains.sensory_integration)",
    }


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"hook": None}, "hook", "required field is missing"),
        ({"hookInstance": None}, "hookInstance", "required field is missing"),
        ({"hookInstance": "42"}, "hookInstance", "is not a UUID"),
        ({"hook": "order-sign"}, "hook", "is not the hook of service"),
        ({"context": {"patientId": "1"}}, "context.userId", "required field is missing"),
        ({"fhirAuthorization": {"access_token": "x"}}, "fhirAuthorization", ""),
    ],
)
def test_requests_that_break_the_spec_get_400(
    open_server: Server, change: dict[str, Any], path: str, words: str
) -> None:
    request = _patient_view(_bundle())
    request.update(change)
    request = {k: v for k, v in request.items() if v is not None}
    reply = open_server.client.post(PATIENT_VIEW, json=request)
    assert reply.status_code == 400
    errors = reply.json()["errors"]
    assert any(e["path"].startswith(path) and words in e["message"] for e in errors), errors


def test_unknown_services_get_404(open_server: Server) -> None:
    reply = open_server.client.post("/cds-services/nope", json=_patient_view(_bundle()))
    assert reply.status_code == 404


def test_the_project_json_service_plans_from_context(open_server: Server) -> None:
    request: dict[str, Any] = {
        "hook": "example.nmt-rules.brain-map-review",
        "hookInstance": str(uuid.uuid4()),
        "context": {"brainMap": CHILD, "setting": "school"},
    }
    reply = open_server.client.post(PLAN, json=request)
    assert reply.status_code == 200
    assert _spec_problems("CdsResponse", reply.json()) == []
    assert reply.json()["cards"][0]["indicator"] == "critical"
    request["context"]["brainMap"] = make_map(cognitive=-1)
    reply = open_server.client.post(PLAN, json=request)
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["path"] == "context.brainMap.domains.cognitive"


def _log(server: Server) -> Path:
    args = server.process.args
    assert isinstance(args, list)
    if "--decision-log" in args:
        return Path(args[args.index("--decision-log") + 1])
    return Path(args[args.index("--config") + 1]).parent / "decisions.sqlite"


def test_feedback_is_recorded_with_the_plan_it_concerns(open_server: Server) -> None:
    request = _patient_view(_bundle(brain_map_to_response(CHILD, "Patient/1288992")))
    cards = open_server.client.post(PATIENT_VIEW, json=request).json()["cards"]
    feedback = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"code": "already-done", "system": "https://ehr.example.org/r"},
                    "userComment": "Safety plan made this morning",
                },
                "outcomeTimestamp": "2026-10-01T09:30:00Z",
            }
        ]
    }
    reply = open_server.client.post(f"{PATIENT_VIEW}/feedback", json=feedback)
    assert reply.status_code == 200 and reply.json() == {"recorded": 1}
    decision = next(
        d
        for d in read_decisions(_log(open_server))
        if d["hook_instance"] == request["hookInstance"]
    )
    assert decision["interface"] == "cds"
    assert {c["uuid"] for c in decision["cards"]} == {c["uuid"] for c in cards}
    (note,) = decision["feedback"]
    assert note["card"] == cards[0]["uuid"] and note["outcome"] == "overridden"
    assert note["override_reason"]["code"] == "already-done"
    assert note["user_comment"] is None  # free text only with --log-identifiers
    unknown = {"feedback": [{**feedback["feedback"][0], "card": str(uuid.uuid4())}]}
    assert open_server.client.post(f"{PATIENT_VIEW}/feedback", json=unknown).status_code == 404
    accepted = {"feedback": [{**feedback["feedback"][0], "outcome": "accepted"}]}
    reply = open_server.client.post(f"{PATIENT_VIEW}/feedback", json=accepted)
    assert reply.status_code == 400  # accepted needs acceptedSuggestions


def _call(server: Server, token: str | None, path: str = PATIENT_VIEW) -> int:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    request = _patient_view(_bundle(brain_map_to_response(CHILD, "Patient/1288992")))
    status: int = server.client.post(path, json=request, headers=headers).status_code
    return status


def test_cds_calls_need_a_jwt_from_an_allow_listed_ehr(
    secured_server: Server, the_ehr: Ehr
) -> None:
    audience = secured_server.url + PATIENT_VIEW
    assert _call(secured_server, the_ehr.token(audience)) == 200
    token = the_ehr.token(audience)
    assert _call(secured_server, token) == 200
    assert _call(secured_server, token) == 401  # the same jti again: a replay
    assert _call(secured_server, None) == 401
    assert _call(secured_server, "garbage") == 401
    assert _call(secured_server, the_ehr.token(audience, exp=1_600_000_000)) == 401
    assert _call(secured_server, the_ehr.token(secured_server.url + PLAN)) == 401  # audience
    assert _call(secured_server, the_ehr.token(audience, iss="https://other.example")) == 401
    assert _call(secured_server, the_ehr.token(audience, jti=None)) == 401
    jwks = the_ehr.jwks_url.replace("jwks.json", "other.json")
    assert _call(secured_server, the_ehr.token(audience, headers={"jku": jwks})) == 401
    # Unsigned (alg=none) and symmetric (HS256) tokens are refused, whatever they claim.
    assert _call(secured_server, the_ehr.token(audience, key=None, algorithm="none")) == 401
    shared = "a-shared-secret-of-thirty-two-bytes!"
    assert _call(secured_server, the_ehr.token(audience, key=shared, algorithm="HS256")) == 401
    discovery = secured_server.client.get("/cds-services")
    assert discovery.status_code == 401
    assert "Bearer" in discovery.headers["www-authenticate"]
    token = the_ehr.token(secured_server.url + "/cds-services")
    reply = secured_server.client.get("/cds-services", headers={"authorization": f"Bearer {token}"})
    assert reply.status_code == 200


def test_refused_cds_calls_give_no_plan(secured_server: Server, the_ehr: Ehr) -> None:
    before = len(list(read_decisions(_log(secured_server))))
    reply = secured_server.client.post(PATIENT_VIEW, json=_patient_view(_bundle()))
    assert reply.status_code == 401 and "cards" not in reply.text
    assert len(list(read_decisions(_log(secured_server)))) == before
