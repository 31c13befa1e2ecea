"""The service's routes and its OpenAPI 3.1 document, from one declaration.

Each :class:`Operation` carries the handler the router calls and what the document says
about it, so what is served and what is documented cannot drift. Bodies and replies are
described by the published JSON Schemas (brain map, plan) and the CDS Hooks rules in
:mod:`nmt_rules.cds`; OpenAPI 3.1 speaks JSON Schema 2020-12, so they go in as they are,
their ``$defs`` lifted into ``components/schemas``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from . import cds
from .api import version
from .brainmap import brain_map_schema
from .report import AUDIENCES, FORMATS
from .schemas import SCHEMAS, plan_schema
from .service_config import ServiceConfig

Handler = Callable[[Any], Awaitable[Any]]

_ERRORS_SCHEMA: Final = {
    "type": "object",
    "description": "What went wrong, one entry per problem, located by field path.",
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Field path; empty for the whole."},
                    "message": {"type": "string"},
                },
                "required": ["path", "message"],
            },
        }
    },
    "required": ["errors"],
}
_STATUS_TEXT: Final = {
    400: "The request is malformed (named by field path).",
    401: "Credentials are missing or not accepted.",
    404: "No such resource.",
    408: "The body was not sent in time.",
    412: "The prefetched data this service needs is missing.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "The brain map is invalid (each problem named by field path).",
}
_BODY_ERRORS: Final = (400, 408, 413, 415)
#: Files the docs page loads, shipped in the package (nmt_rules/static), with their types.
DOCS_ASSETS: Final = {"docs.js": "text/javascript", "docs.css": "text/css"}
_EXAMPLE_MAP: Final = {
    "subject": {"id": "c-001", "age_years": 9},
    "assessed_on": "2026-10-01",
    "setting": "school",
    "domains": {
        "sensory_integration": 32,
        "self_regulation": 41,
        "relational": 55,
        "cognitive": 70,
    },
    "flags": ["self_harm"],
}


@attrs.frozen
class Operation:
    """One method on one path: the handler and its documentation."""

    method: str
    path: str  # as documented
    route: str  # as routed (one pattern may serve several documented paths)
    handler: Handler
    tag: str
    summary: str
    description: str = ""
    auth: str | None = None  # "api" or "cds": the credentials the route requires
    body: Mapping[str, Any] | None = None  # JSON Schema of the request body
    example: Any = None
    reply: Mapping[str, Any] | None = None  # JSON Schema of the 200 body
    media: str = "application/json"
    errors: tuple[int, ...] = ()
    parameters: tuple[Mapping[str, Any], ...] = ()
    #: Other media types the 200 reply may take (as text), chosen by parameters or Accept.
    also: tuple[str, ...] = ()


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def operations(**h: Handler) -> list[Operation]:
    """Every route the server serves, with its handler."""
    setting = {
        "name": "setting",
        "in": "query",
        "required": False,
        "description": "Setting that delivers the plan (overrides the map's).",
        "schema": {"type": "string"},
    }
    report_format = {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "json (default) for hosts; html for a printable report; text. Without "
        "it, `Accept: text/html` asks for HTML.",
        "schema": {"enum": list(FORMATS)},
    }
    audience = {
        "name": "audience",
        "in": "query",
        "required": False,
        "description": "Who the html or text report is for: clinician (default, the full "
        "report), or a plain-language handout for a caregiver, a teacher or the person.",
        "schema": {"enum": list(AUDIENCES)},
    }
    ops = [
        Operation("GET", "/health", "/health", h["health"], "service", "Status and version"),
        Operation(
            "POST",
            "/v1/plans",
            "/v1/plans",
            h["plan"],
            "plans",
            "Plan for one brain map",
            "The sequenced, explained plan (JSON), or its report as HTML or text for an"
            " audience. The `Link` header points to its printable HTML report (a sealed link"
            " that expires).",
            auth="api",
            body=_ref("BrainMap"),
            example=_EXAMPLE_MAP,
            reply=_ref("Plan"),
            errors=(*_BODY_ERRORS, 422),
            parameters=(setting, report_format, audience),
            also=("text/html", "text/plain"),
        ),
        Operation(
            "GET",
            "/reports/{token}",
            "/reports/{token}",
            h["report"],
            "plans",
            "A plan's printable HTML report",
            "Follows a link from a card or a `Link` header; the link itself is the"
            " credential, so a browser can open it. `audience` gives a handout instead.",
            media="text/html",
            errors=(400, 404),
            parameters=(
                {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                audience,
            ),
        ),
        Operation(
            "GET",
            "/v1/plugins",
            "/v1/plugins",
            h["plugins"],
            "service",
            "Loaded plugins and settings",
            auth="api",
            reply={"type": "object", "required": ["plugins", "settings"]},
        ),
        Operation(
            "GET",
            "/v1/schemas/{name}",
            "/v1/schemas/{name}",
            h["schema"],
            "service",
            "A published JSON Schema",
            auth="api",
            reply={"type": "object"},
            errors=(404,),
            parameters=(
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": sorted(SCHEMAS)},
                },
            ),
        ),
        Operation(
            "GET",
            "/v1/fhir/Questionnaire/brain-map",
            "/v1/fhir/Questionnaire/brain-map",
            h["fhir_questionnaire"],
            "fhir",
            "The brain map as a FHIR R4 Questionnaire",
            auth="api",
            reply={"type": "object", "required": ["resourceType", "item"]},
            media="application/fhir+json",
        ),
        Operation(
            "GET",
            "/cds-services",
            "/cds-services",
            h["cds_discovery"],
            "cds-hooks",
            "CDS Hooks discovery",
            auth="cds",
            reply=_ref("CdsDiscovery"),
        ),
    ]
    for service in cds.SERVICES.values():
        request = {
            "allOf": [
                _ref("CdsRequest"),
                {
                    "type": "object",
                    "properties": {"hook": {"const": service.hook}, "context": service.context},
                    "required": ["hook", "context"],
                },
            ]
        }
        ops.append(
            Operation(
                "POST",
                f"/cds-services/{service.id}",
                "/cds-services/{service}",
                h["cds_service"],
                "cds-hooks",
                service.title,
                service.description,
                auth="cds",
                body=request,
                example=_example_request(service),
                reply=_ref("CdsResponse"),
                errors=(*_BODY_ERRORS, 404, 412, 422),
            )
        )
        ops.append(
            Operation(
                "POST",
                f"/cds-services/{service.id}/feedback",
                "/cds-services/{service}/feedback",
                h["cds_feedback"],
                "cds-hooks",
                f"Feedback on {service.id} cards",
                "Recorded in the decision log, when the server keeps one.",
                auth="cds",
                body=_ref("CdsFeedback"),
                reply={"type": "object", "required": ["recorded"]},
                errors=(*_BODY_ERRORS, 404),
            )
        )
    ops += [
        Operation(
            "GET", "/openapi.json", "/openapi.json", h["openapi_json"], "service", "This document"
        ),
        Operation(
            "GET",
            "/docs",
            "/docs",
            h["docs"],
            "service",
            "This document, readable",
            media="text/html",
        ),
    ]
    ops += [
        Operation(
            "GET",
            f"/docs/{name}",
            "/docs/{name}",
            h["docs_asset"],
            "service",
            f"The docs page's {'script' if name.endswith('.js') else 'style'}",
            media=media,
        )
        for name, media in DOCS_ASSETS.items()
    ]
    return ops


def _example_request(service: cds.Service) -> dict[str, Any]:
    request: dict[str, Any] = {
        "hook": service.hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    }
    if service.hook == cds.CUSTOM_HOOK:
        request["context"] = {"brainMap": _EXAMPLE_MAP, "setting": "school"}
        return request
    from .fhir import brain_map_to_response

    response = brain_map_to_response(_EXAMPLE_MAP, subject="Patient/1288992")
    request["context"] = {"userId": "Practitioner/example", "patientId": "1288992"}
    request["prefetch"] = {
        cds.PREFETCH_KEY: {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": response}],
        }
    }
    return request


def _lift(schema: Mapping[str, Any], components: dict[str, Any], name: str) -> None:
    """Put a published schema into components, its $defs beside it, refs rewritten."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {
                k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else rewrite(v))
                for k, v in node.items()
                if k not in ("$defs", "$schema", "$id")
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for def_name, definition in schema.get("$defs", {}).items():
        lifted = rewrite(definition)
        if components.setdefault(def_name, lifted) != lifted:
            raise AssertionError(f"two published schemas define {def_name} differently")
    components[name] = rewrite(schema)


def document(
    ops: list[Operation], config: ServiceConfig, settings: Sequence[str]
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of these operations under this configuration, with the
    settings the loaded plugins serve."""
    components: dict[str, Any] = {"Errors": _ERRORS_SCHEMA}
    _lift(brain_map_schema(), components, "BrainMap")
    _lift(plan_schema(), components, "Plan")
    components.update(cds.cds_schemas())
    # What this server accepts: the settings its plugins serve, not any well-formed name.
    served = {"enum": list(settings)}
    components["BrainMap"]["properties"]["setting"]["anyOf"][0] = served
    paths: dict[str, Any] = {}
    for op in ops:
        required = {"api": config.api_auth, "cds": config.cds_auth}.get(op.auth or "", False)
        entry = _operation(op, required)
        for parameter in entry.get("parameters", ()):
            if parameter["name"] == "setting":
                parameter["schema"] = served
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    security_schemes = {
        "apiToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token whose sha256 is in the server's api_tokens_sha256.",
        },
        "cdsClientJwt": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A CDS Hooks client JWT from an allow-listed issuer (asymmetric"
            " signature, aud = the URL called, exp, iat, jti).",
        },
    }
    info = {
        "title": "nmt-rules",
        "version": version(),
        "description": (
            "Sequenced, explained plans from brain maps, over JSON and CDS Hooks 2.0. Decision"
            " support for trained professionals; not a diagnostic tool; not affiliated with the"
            " Neurosequential Network."
        ),
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    }
    out: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": security_schemes},
    }
    if config.public_url:
        out["servers"] = [{"url": config.public_url}]
    return out


def _operation(op: Operation, authenticated: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": f"{op.method.lower()}{op.path}".replace("/", "_")
        .replace("{", "")
        .replace("}", ""),
    }
    if op.description:
        out["description"] = op.description
    if op.parameters:
        out["parameters"] = [dict(p) for p in op.parameters]
    if op.body is not None:
        media: dict[str, Any] = {"schema": op.body}
        if op.example is not None:
            media["example"] = op.example
        out["requestBody"] = {"required": True, "content": {"application/json": media}}
    ok: dict[str, Any] = {"description": "OK"}
    if op.media.startswith("text/"):
        ok["content"] = {op.media: {"schema": {"type": "string"}}}
    else:
        ok["content"] = {op.media: {"schema": op.reply or {"type": "object"}}}
    for media_type in op.also:
        ok["content"][media_type] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {"200": ok}
    errors = sorted({*op.errors, *((401,) if authenticated else ())})
    for status in errors:
        responses[str(status)] = {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"schema": _ref("Errors")}},
        }
    out["responses"] = responses
    if authenticated:
        out["security"] = [{"apiToken" if op.auth == "api" else "cdsClientJwt": []}]
    return out
