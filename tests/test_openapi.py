"""/openapi.json matches what is served: schemathesis fuzzes the running server from it."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .servers import Server

#: Conformance, not heuristics: schemathesis' "positive data accepted" check would also ask
#: a 2xx for a well-formed patient-view request without its prefetch, where the CDS Hooks
#: spec asks 412.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Positive and negative examples for every operation; modest, to keep `make test` quick.
EXAMPLES = 15


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_server_does_what_its_openapi_document_says(
    open_server: Server, mode: GenerationMode
) -> None:
    """For every documented operation, requests generated from the document (valid ones,
    then invalid ones) get no 5xx, and documented status codes, content types and bodies."""
    schema = schemathesis.openapi.from_url(f"{open_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 12
    tested = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Case[Any]) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            # Only a string path parameter or no input at all: nothing schemathesis can
            # make invalid in a URL.
            assert mode is GenerationMode.NEGATIVE and not operation.body, operation.label
            continue
        tested.append(operation.label)
    assert {"POST /v1/plans", "POST /cds-services/nmt-rules-patient-view"} <= set(tested)


def test_the_docs_page_renders_the_document_from_shipped_assets(open_server: Server) -> None:
    page = open_server.client.get("/docs")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/docs/docs.js"' in page.text and "https://" not in page.text
    script = open_server.client.get("/docs/docs.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert 'fetch("/openapi.json")' in script.text
    assert open_server.client.get("/docs/docs.css").status_code == 200
    document = open_server.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/plans", "/cds-services", "/cds-services/nmt-rules-patient-view"} <= set(
        document["paths"]
    )
