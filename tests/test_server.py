"""The HTTP JSON API as a host application calls it: the real server, on loopback, over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from nmt_rules import Planner
from nmt_rules.decision_log import read_decisions

from .conftest import API_TOKEN, SANDBOX, make_map
from .servers import Server, serve, write_config

JSON = {"content-type": "application/json"}


def _log_path(server: Server) -> Path:
    """The decision log a test server writes (from its command line or configuration)."""
    args = server.process.args
    assert isinstance(args, list)
    if "--decision-log" in args:
        return Path(args[args.index("--decision-log") + 1])
    config = Path(args[args.index("--config") + 1])
    return config.parent / "decisions.sqlite"


def test_health_reports_the_version(open_server: Server) -> None:
    reply = open_server.client.get("/health")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok" and reply.json()["plans_in_progress"] == 0


def test_a_plan_over_http_matches_the_python_api_and_links_its_report(
    open_server: Server, planner: Planner
) -> None:
    data = make_map(sensory=25, cognitive=85, flags=["suicidal_ideation"])
    reply = open_server.client.post("/v1/plans?setting=school", json=data)
    assert reply.status_code == 200
    plan = reply.json()
    assert plan["items"][0]["indicator"] == "critical"
    assert plan["plan_id"] == planner.plan(data, "school").plan_id
    assert any(d["catalogue"] == "school" for i in plan["items"] for d in i["delivery"])
    report = open_server.client.get(reply.links["alternate"]["url"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert plan["plan_id"] in report.text and "not a diagnostic tool" in report.text


def test_reports_for_each_audience_over_http(open_server: Server) -> None:
    data = make_map(age=9, sensory=25, regulation=40, flags=["self_harm"])
    client = open_server.client
    html = client.post("/v1/plans?setting=school&format=html&audience=caregiver", json=data)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "nmt-core/" not in html.text  # a handout: no rule ids
    negotiated = client.post("/v1/plans?setting=school", json=data, headers={"accept": "text/html"})
    assert negotiated.headers["content-type"].startswith("text/html")
    assert "nmt-core/" in negotiated.text  # the clinician's full report
    text = client.post("/v1/plans?format=text&audience=teacher&setting=school", json=data)
    assert text.headers["content-type"].startswith("text/plain") and "nmt-core/" not in text.text
    link = client.post("/v1/plans?setting=school", json=data).links["alternate"]["url"]
    handout = client.get(link, params={"audience": "person"})
    assert handout.status_code == 200 and "nmt-core/" not in handout.text
    for bad in ("format=pdf", "audience=judge", "format=json&audience=caregiver"):
        reply = client.post(f"/v1/plans?{bad}", json=data)
        assert reply.status_code == 400, bad
        assert reply.json()["errors"][0]["message"]


def test_report_links_cannot_be_forged(open_server: Server) -> None:
    reply = open_server.client.post("/v1/plans", json=make_map())
    link = reply.links["alternate"]["url"]
    assert open_server.client.get(link[:-4] + "AAAA").status_code == 404
    assert open_server.client.get("/reports/not-a-token").status_code == 404


def test_invalid_maps_get_422_with_field_paths(open_server: Server) -> None:
    reply = open_server.client.post("/v1/plans", json=make_map(sensory=140, colour="red"))
    assert reply.status_code == 422
    errors = {(e["path"], e["message"].split(" (")[0]) for e in reply.json()["errors"]}
    assert ("domains.sensory_integration", "140 is above 100") in errors
    assert ("colour", "unknown field") in errors


def test_malformed_json_gets_400_with_its_position(open_server: Server) -> None:
    reply = open_server.client.post("/v1/plans", content=b'{"subject": ', headers=JSON)
    assert reply.status_code == 400
    assert "invalid JSON at line 1" in reply.json()["errors"][0]["message"]


def test_json_that_could_mean_two_things_gets_400(open_server: Server) -> None:
    # Python's json kept the last key and read NaN, which planned a 3-year-old as an adult.
    for body, message in (
        (
            b'{"subject": {"id": "c", "age_years": 3, "age_years": 30}}',
            "line 1 column 41: duplicate key 'age_years' (columns 25 and 41)",
        ),
        (b'{"subject": {"id": "c", "age_years": NaN}}', "line 1 column 38: NaN is not a number"),
    ):
        reply = open_server.client.post("/v1/plans", content=body, headers=JSON)
        assert reply.status_code == 400
        assert message in reply.json()["errors"][0]["message"]


def test_an_age_durable_rules_cannot_read_still_plans(open_server: Server) -> None:
    reply = open_server.client.post("/v1/plans", json=make_map(age=1e-7, flags=["self_harm"]))
    assert reply.status_code == 200, reply.text
    assert reply.json()["items"][0]["indicator"] == "critical"


def test_the_published_brain_map_schema_lists_the_served_settings(open_server: Server) -> None:
    schema = open_server.client.get("/v1/schemas/brain-map").json()
    served = open_server.client.get("/v1/plugins").json()["settings"]
    assert schema["properties"]["setting"]["anyOf"][0] == {"enum": served}
    assert "dated before assessed_on" in schema["$comment"]


def test_unknown_setting_gets_400_listing_known_settings(open_server: Server) -> None:
    reply = open_server.client.post("/v1/plans?setting=moon", json=make_map())
    assert reply.status_code == 400
    assert "school" in reply.json()["errors"][0]["message"]


def test_bodies_that_are_not_json_get_415(open_server: Server) -> None:
    reply = open_server.client.post(
        "/v1/plans", content=json.dumps(make_map()), headers={"content-type": "text/plain"}
    )
    assert reply.status_code == 415
    assert "application/json" in reply.json()["errors"][0]["message"]
    reply = open_server.client.post("/v1/plans", content=json.dumps(make_map()))
    assert reply.status_code == 415


def test_bodies_over_the_limit_get_413_before_they_are_read(open_server: Server) -> None:
    big = b'{"pad": "' + b"x" * (2**20) + b'"}'
    reply = open_server.client.post("/v1/plans", content=big, headers=JSON)
    assert reply.status_code == 413
    assert "larger than 1048576 bytes" in reply.json()["errors"][0]["message"]

    def chunks() -> Any:  # no content-length: the limit holds while streaming too
        for _ in range(20):
            yield b"x" * 65536

    reply = open_server.client.post("/v1/plans", content=chunks(), headers=JSON)
    assert reply.status_code == 413


def test_unknown_paths_and_schemas_get_404_in_json(open_server: Server) -> None:
    for path in ("/v1/schemas/nope", "/nothing-here"):
        reply = open_server.client.get(path)
        assert reply.status_code == 404
        assert reply.json()["errors"][0]["message"]


def test_plugins_schemas_and_the_questionnaire_are_published(open_server: Server) -> None:
    settings = set(open_server.client.get("/v1/plugins").json()["settings"])
    assert {"school", "foster-care", "justice-reentry"} <= settings
    schema = open_server.client.get("/v1/schemas/brain-map").json()
    assert "domains" in schema["properties"]
    reply = open_server.client.get("/v1/fhir/Questionnaire/brain-map")
    assert reply.headers["content-type"] == "application/fhir+json"
    assert reply.json()["resourceType"] == "Questionnaire"


def test_cors_preflight_allows_the_configured_origin_only(open_server: Server) -> None:
    preflight = {
        "Origin": SANDBOX,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    reply = open_server.client.options("/cds-services/nmt-rules-patient-view", headers=preflight)
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == SANDBOX
    assert "authorization" in reply.headers["access-control-allow-headers"].lower()
    reply = open_server.client.options(
        "/cds-services/nmt-rules-patient-view",
        headers={**preflight, "Origin": "https://evil.example"},
    )
    assert reply.status_code == 400
    assert "access-control-allow-origin" not in reply.headers
    reply = open_server.client.get("/cds-services", headers={"Origin": SANDBOX})
    assert reply.headers["access-control-allow-origin"] == SANDBOX


def test_the_json_api_needs_a_configured_bearer_token(secured_server: Server) -> None:
    client = secured_server.client
    before = len(list(read_decisions(_log_path(secured_server))))
    data = make_map(sensory=25)
    for headers in ({}, {"authorization": "Bearer garbage"}, {"authorization": API_TOKEN}):
        reply = client.post("/v1/plans", json=data, headers=headers)
        assert reply.status_code == 401, headers
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert "items" not in reply.text
    assert client.get("/v1/plugins").status_code == 401
    assert len(list(read_decisions(_log_path(secured_server)))) == before  # no plan given
    reply = client.post("/v1/plans", json=data, headers={"authorization": f"Bearer {API_TOKEN}"})
    assert reply.status_code == 200 and reply.json()["items"]
    assert client.get("/health").status_code == 200  # for load balancers, always open
    assert client.get("/openapi.json").status_code == 200


def test_the_decision_log_records_plans_without_identifiers(open_server: Server) -> None:
    data = make_map(sensory=25, flags=["self_harm"])
    data["subject"]["id"] = "secret-subject-42"
    reply = open_server.client.post("/v1/plans?setting=school", json=data)
    plan = reply.json()
    rows = [r for r in read_decisions(_log_path(open_server)) if r["plan_id"] == plan["plan_id"]]
    assert len(rows) == 1
    row = rows[0]
    assert row["interface"] == "http" and row["setting"] == "school"
    assert len(row["input_sha256"]) == 64
    assert row["rulesets"][0]["sha256"] == plan["provenance"]["rulesets"][0]["sha256"]
    assert {p["name"] for p in row["plugins"]} == {"school"}
    assert row["items"] == [
        {"id": i["id"], "status": i["status"], "indicator": i["indicator"]} for i in plan["items"]
    ]
    assert row["subject_id"] is None and row["brain_map"] is None
    assert "secret-subject-42" not in _log_path(open_server).read_bytes().decode("latin-1")
    assert dt.datetime.fromisoformat(row["time"]) <= dt.datetime.now(dt.UTC)


def test_recommend_and_log_export(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from nmt_rules.cli import main

    log = tmp_path / "cli.sqlite"
    example = str(Path(__file__).parent.parent / "examples" / "teen-foster-care.yaml")
    runner = CliRunner()
    assert runner.invoke(main, ["recommend", example, "--decision-log", str(log)]).exit_code == 0
    args = ["recommend", example, "--decision-log", str(log), "--log-identifiers"]
    assert runner.invoke(main, args).exit_code == 0
    out = runner.invoke(main, ["log", str(log)])
    assert out.exit_code == 0
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert [r["interface"] for r in rows] == ["cli", "cli"]
    assert rows[0]["subject_id"] is None and rows[1]["subject_id"] == "c-014"
    assert rows[1]["brain_map"]["domains"]["self_regulation"] == 30
    assert rows[0]["input_sha256"] == rows[1]["input_sha256"]
    out = runner.invoke(main, ["log", str(log), "--format", "csv", "--since", "2999-01-01"])
    assert out.output.splitlines() == [out.output.splitlines()[0]]  # the header alone
    assert out.output.startswith("time,interface,plan_id,input_sha256")
    out = runner.invoke(main, ["log", str(tmp_path / "none.sqlite")])
    assert out.exit_code == 2 and "no decision log here" in out.output


def test_health_answers_while_a_large_plan_is_made(tmp_path: Path) -> None:
    """Planning runs off the event loop: /health sees the plan in progress (with planning on
    the loop, nothing could answer until the plan was done)."""
    domains = make_map()["domains"]
    previous = [
        {
            "assessed_on": (dt.date(2026, 9, 30) - dt.timedelta(days=i)).isoformat(),
            "domains": domains,
        }
        for i in range(60_000)
    ]
    body = json.dumps(make_map(previous=previous)).encode()
    config = write_config(tmp_path / "big.toml", max_body_bytes=len(body) + 1)
    with serve(["--config", str(config)]) as server:
        result: dict[str, int] = {}

        def post() -> None:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                result["status"] = client.post("/v1/plans", content=body, headers=JSON).status_code

        poster = threading.Thread(target=post)
        poster.start()
        seen = 0
        for _ in range(5000):
            seen = max(seen, server.client.get("/health").json()["plans_in_progress"])
            if seen or "status" in result:
                break
        poster.join()
    assert seen == 1, "/health never answered while the plan was being made"
    assert result["status"] == 200


def _raw(port: int, data: bytes, read_timeout: float = 30.0) -> bytes:
    """Send bytes on a fresh connection; everything the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def test_slow_clients_and_oversized_heads_are_dropped(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "strict.toml", header_timeout_s=0.5, body_timeout_s=0.5, max_header_bytes=4096
    )
    with serve(["--config", str(config)]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        # A head that never completes: answered 408 and closed (not held for ever).
        assert _raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n").startswith(b"HTTP/1.1 408")
        # A connection that sends nothing at all is closed too.
        assert _raw(port, b"").startswith(b"HTTP/1.1 408")
        huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n"
        assert _raw(port, huge).startswith(b"HTTP/1.1 431")
        # A body that stops coming: 408.
        head = b"POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        answer = _raw(port, head + b"Content-Length: 500\r\n\r\n{")
        assert answer.startswith(b"HTTP/1.1 408")
        # Normal requests on the same server still work.
        done = _raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert done.startswith(b"HTTP/1.1 200")


def test_sigterm_ends_the_server_in_bounded_time_despite_a_stuck_client(tmp_path: Path) -> None:
    config = write_config(tmp_path / "slow.toml", body_timeout_s=600.0, shutdown_timeout_s=1)
    with serve(["--config", str(config)]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        stuck = socket.create_connection(("127.0.0.1", port))
        head = b"POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        stuck.sendall(head + b"Content-Length: 500\r\n\r\n{")
        try:
            assert server.client.get("/health").json()["status"] == "ok"  # the request is in
            # uvicorn re-raises the signal once shut down: ended by SIGTERM, not killed later.
            assert server.stop(signal.SIGTERM, timeout=60) in (0, -signal.SIGTERM)
        finally:
            stuck.close()


def test_serve_refuses_a_public_address_without_authentication() -> None:
    command = [sys.executable, "-m", "nmt_rules.cli", "serve", "--host", "0.0.0.0", "--port", "9"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in done.stderr
    assert "--insecure" in done.stderr


def test_bad_configuration_is_reported_by_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bad.toml", max_body_bytes=0, colour="red", cds_issuers=[{"iss": "x"}]
    )
    command = [sys.executable, "-m", "nmt_rules.cli", "serve", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "max_body_bytes: 0 is below 1" in done.stderr
    assert "colour: unknown field" in done.stderr
    assert "cds_issuers[0].jwks_url: required field is missing" in done.stderr
