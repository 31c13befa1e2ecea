"""The HTTP JSON API and the CDS Hooks services (Starlette, served by uvicorn).

Every route is declared once, in :func:`_operations`, with what /openapi.json says about it.
Requests are bounded before any work: content type (415), body size (413) and the time a
client takes to send it (408); the request head is bounded by :mod:`nmt_rules._http`. Work
(parsing, authentication with key-set fetches, planning, rendering, the decision log) runs
in worker threads, at most ``max_concurrent_plans`` at a time, so the event loop stays free
and /health answers while a large request is planned.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any, Final

import anyio
import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import _http, cds, openapi
from ._json import loads as json_loads
from .api import Planner, default_planner, planner_for, version
from .brainmap import brain_map_schema, parse_brain_map
from .decision_log import DecisionLog, Interface
from .errors import (
    AuthError,
    DocumentError,
    InputError,
    NmtRulesError,
    PrefetchMissingError,
    ReportError,
    UnknownSettingError,
)
from .fhir import questionnaire
from .model import BrainMap, Plan
from .report import check_report_choice, plan_to_dict, render
from .report_links import ReportSeal
from .ruleset import load_ruleset
from .schemas import SCHEMAS
from .service_config import RESOLVED_ENV, ServiceConfig, from_resolved_text, load_service_config

_JSON_MEDIA: Final = "application/json"
_MAX_TOKEN: Final = 4096  # report link tokens; 20 earlier assessments take about 900
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="nmt-rules"'}


class _Json(JSONResponse):
    """A JSONResponse encoded with orjson: a plan is about 20 kB of JSON, which the standard
    encoder took longer to write than the plan took to make."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _errors(status: int, problems: list[tuple[str, str]], **headers: str) -> Response:
    body = {"errors": [{"path": path, "message": message} for path, message in problems]}
    return _Json(body, status_code=status, headers=headers or None)


def _error(status: int, message: str, **headers: str) -> Response:
    return _errors(status, [("", message)], **headers)


def _problem(exc: NmtRulesError) -> Response:
    """An error of ours as its HTTP answer."""
    if isinstance(exc, AuthError):
        return _error(401, str(exc), **_CHALLENGE)
    if isinstance(exc, PrefetchMissingError):
        return _error(412, str(exc))
    if isinstance(exc, InputError):
        status = 400 if cds.is_request_error(exc) else 422
        return _errors(status, [(p.path, p.message) for p in exc.problems])
    return _error(400 if isinstance(exc, UnknownSettingError) else 500, str(exc))


class _Service:
    """What every request shares: planner, authenticator, decision log, limits."""

    def __init__(self, config: ServiceConfig, planner: Planner | None) -> None:
        from .auth import Authenticator  # PyJWT and its crypto load only with the server

        self.config = config
        self._planner = planner
        self.auth = Authenticator(config)
        self.seal = ReportSeal(config.report_key or "", config.report_ttl_s)
        self.limiter = anyio.CapacityLimiter(config.max_concurrent_plans)
        self.in_progress = 0
        self.log: DecisionLog | None = None

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            rulesets = tuple(load_ruleset(r) for r in self.config.rulesets)
            self._planner = planner_for(rulesets) if rulesets else default_planner()
        return self._planner

    def open(self) -> None:
        """Build the planner and open the log before the first request, not during it."""
        _ = self.planner
        if self.config.decision_log:
            self.log = DecisionLog(
                self.config.decision_log,
                log_identifiers=self.config.log_identifiers,
                sink=self.planner.send_decision,
            )

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    async def work(self, job: Callable[..., Response], *args: Any) -> Response:
        """Run a job in a worker thread (bounded); errors of ours become their answers."""
        self.in_progress += 1
        try:
            return await anyio.to_thread.run_sync(self._guarded, job, *args, limiter=self.limiter)
        finally:
            self.in_progress -= 1

    async def authenticate(self, request: Request, *, feedback: bool = False) -> None:
        """Refuse (401) a request without the credentials its route needs, if configured."""
        authorization = request.headers.get("authorization")
        try:
            if request.url.path.startswith("/cds-services"):
                if self.config.cds_auth:
                    url = f"{self.base_url(request)}{request.url.path}"
                    audiences = [url, url.removesuffix("/feedback")] if feedback else [url]
                    # Fetching an issuer's key set blocks: off the event loop.
                    await anyio.to_thread.run_sync(
                        self.auth.check_cds, authorization, audiences, limiter=self.limiter
                    )
            else:
                self.auth.check_api(authorization)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers=_CHALLENGE) from None

    @staticmethod
    def _guarded(job: Callable[..., Response], *args: Any) -> Response:
        try:
            return job(*args)
        except NmtRulesError as exc:
            return _problem(exc)

    async def body(self, request: Request) -> bytes:
        """The request body, if it is JSON, small enough and sent in time."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != _JSON_MEDIA and not media.endswith("+json"):
            raise HTTPException(
                415, f"send JSON (content-type: {_JSON_MEDIA}), not {media or 'nothing'}"
            )
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit():
            raise HTTPException(400, f"content-length: {declared!r} is not a number")
        if int(declared) > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.config.body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"the body is larger than {limit} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            raise HTTPException(408, "the body was not sent in time") from None
        return b"".join(chunks)

    def base_url(self, request: Request) -> str:
        return self.config.public_url or str(request.base_url).rstrip("/")

    def record(self, plan: Plan, brain_map: BrainMap, interface: Interface, **extra: Any) -> None:
        if self.log is not None:
            self.log.record(plan, brain_map, interface, **extra)

    def report_url(
        self, base: str, plan: Plan, brain_map: BrainMap, setting: str | None
    ) -> str | None:
        """The link to the plan's report; None when the sealed input would make it longer
        than links travel safely (a map with hundreds of earlier assessments)."""
        token = self.seal.seal(brain_map, setting, plan.plan_id)
        return f"{base}/reports/{token}" if len(token) <= _MAX_TOKEN else None


def _report_choice(request: Request, default_format: str | None = None) -> tuple[str, str]:
    """The format and audience a request asks for (`format` and `audience` parameters, or
    `Accept: text/html`); a 400 for anything else, before the body is read."""
    params = request.query_params
    accept = request.headers.get("accept", "")
    fmt = params.get("format") or default_format
    if fmt is None:
        fmt = "html" if "text/html" in accept and "application/json" not in accept else "json"
    audience = params.get("audience") or "clinician"
    try:
        check_report_choice(fmt, audience)
    except ReportError as exc:
        raise HTTPException(400, str(exc)) from None
    return fmt, audience


def _loads(raw: bytes) -> Any:
    """The body's JSON, read as map files are: a duplicate key, NaN or a number of thousands
    of digits is a 400 at its line and column, not a map that means something else."""
    try:
        return json_loads(raw.decode("utf-8"))
    except DocumentError as exc:
        reason = exc.message.removeprefix("invalid JSON: ")
        raise HTTPException(
            400, f"body: invalid JSON at line {exc.line} column {exc.col}: {reason}"
        ) from None
    except UnicodeDecodeError:
        raise HTTPException(400, "body: not UTF-8 text") from None


def _operations(s: _Service) -> list[openapi.Operation]:
    """Every route: its handler and what the OpenAPI document says of it."""

    async def health(request: Request) -> Response:
        return _Json({"status": "ok", "version": version(), "plans_in_progress": s.in_progress})

    async def plugins(request: Request) -> Response:
        await s.authenticate(request)
        planner = s.planner
        return _Json(
            {
                "plugins": [p.summary() for p in planner.plugins.plugins],
                "settings": list(planner.settings),
            }
        )

    async def schema(request: Request) -> Response:
        await s.authenticate(request)
        name = request.path_params["name"]
        if name not in SCHEMAS:
            raise HTTPException(404, f"unknown schema {name!r}; known: {', '.join(SCHEMAS)}")
        if name == "brain-map":  # the settings this server's planner serves
            return _Json(brain_map_schema(s.planner.settings))
        return _Json(SCHEMAS[name]())

    async def fhir_questionnaire(request: Request) -> Response:
        await s.authenticate(request)
        return _Json(questionnaire(), media_type="application/fhir+json")

    async def plan(request: Request) -> Response:
        await s.authenticate(request)
        fmt, audience = _report_choice(request)
        raw = await s.body(request)
        setting = request.query_params.get("setting")
        return await s.work(_plan_reply, raw, setting, s.base_url(request), fmt, audience)

    def _plan_reply(
        raw: bytes, setting: str | None, base: str, fmt: str, audience: str
    ) -> Response:
        brain_map = parse_brain_map(_loads(raw))
        result = s.planner.plan(brain_map, setting)
        s.record(result, brain_map, "http")
        link = s.report_url(base, result, brain_map, setting)
        headers = {"Link": f'<{link}>; rel="alternate"; type="text/html"'} if link else None
        if fmt == "json":
            return Response(
                orjson.dumps(plan_to_dict(result)), media_type=_JSON_MEDIA, headers=headers
            )
        body = render(result, fmt, audience)
        if fmt == "html":
            return HTMLResponse(body, headers=headers)
        return PlainTextResponse(body, headers=headers)

    async def report(request: Request) -> Response:
        _, audience = _report_choice(request, default_format="html")
        return await s.work(_report_html, request.path_params["token"], audience)

    def _report_html(token: str, audience: str) -> Response:
        sealed = s.seal.open(token)
        if sealed is None:
            raise HTTPException(404, "no such report, or the link has expired")
        result = s.planner.plan(sealed["map"], sealed["setting"])
        if result.plan_id != sealed["plan"]:
            raise HTTPException(
                404, "the rules or catalogues changed since this link was made; plan again"
            )
        return HTMLResponse(render(result, "html", audience))

    async def cds_discovery(request: Request) -> Response:
        await s.authenticate(request)
        return _Json(cds.discovery())

    async def cds_service(request: Request) -> Response:
        service = _service(request)
        await s.authenticate(request)
        raw = await s.body(request)
        return await s.work(_cards, service, raw, s.base_url(request))

    def _cards(service: cds.Service, raw: bytes, base: str) -> Response:
        call = cds.parse_request(service, _loads(raw))
        if call.brain_map is None:
            return _Json({"cards": []})
        result = s.planner.plan(call.brain_map, call.setting)
        link = s.report_url(base, result, call.brain_map, call.setting)
        response = cds.cards(result, call.hook_instance, link)
        s.record(
            result,
            call.brain_map,
            "cds",
            hook_instance=call.hook_instance,
            cards=cds.card_kinds(response),
        )
        return _Json(response)

    async def cds_feedback(request: Request) -> Response:
        _service(request)
        await s.authenticate(request, feedback=True)
        raw = await s.body(request)
        return await s.work(_feedback, raw)

    def _feedback(raw: bytes) -> Response:
        entries = cds.parse_feedback(_loads(raw))
        if s.log is not None:
            unknown = s.log.unknown_cards([e["card"] for e in entries])
            if unknown:
                raise HTTPException(404, f"no card {', '.join(unknown)} was issued by this service")
            s.log.record_feedback(entries)
        return _Json({"recorded": len(entries) if s.log is not None else 0})

    def _service(request: Request) -> cds.Service:
        service = cds.SERVICES.get(request.path_params["service"])
        if service is None:
            known = ", ".join(cds.SERVICES)
            raise HTTPException(404, f"unknown CDS service; this server offers {known}")
        return service

    async def openapi_json(request: Request) -> Response:
        if not document:  # built once the planner (and so the settings served) is known
            document.update(openapi.document(operations, s.config, s.planner.settings))
        return _Json(document)

    async def docs(request: Request) -> Response:
        return HTMLResponse(_asset("docs.html"), headers=_DOCS_HEADERS)

    async def docs_asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in openapi.DOCS_ASSETS:
            raise HTTPException(404, f"no docs asset {name!r}")
        return Response(_asset(name), media_type=openapi.DOCS_ASSETS[name], headers=_DOCS_HEADERS)

    operations = openapi.operations(
        health=health,
        plugins=plugins,
        schema=schema,
        fhir_questionnaire=fhir_questionnaire,
        plan=plan,
        report=report,
        cds_discovery=cds_discovery,
        cds_service=cds_service,
        cds_feedback=cds_feedback,
        openapi_json=openapi_json,
        docs=docs,
        docs_asset=docs_asset,
    )
    document: dict[str, Any] = {}
    return operations


# The page and its script come from this server only: no CDN, no inline script.
_DOCS_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
}


def _asset(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, **(exc.headers or {}))


def create_app(config: ServiceConfig | None = None, planner: Planner | None = None) -> Starlette:
    """The ASGI application. Without a config it takes the one `nmt-rules serve` handed its
    workers, or else the file and environment (see :mod:`nmt_rules.service_config`)."""
    if config is None:
        resolved = os.environ.get(RESOLVED_ENV)
        config = from_resolved_text(resolved) if resolved else load_service_config()
    config = config.with_report_key()
    _http.configure(_http.HeadLimits(config.header_timeout_s, config.max_header_bytes))
    service = _Service(config, planner)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.open()
        try:
            yield
        finally:
            service.close()

    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                expose_headers=["link"],
                max_age=600,
            )
        )
    routes = [Route(op.route, op.handler, methods=[op.method]) for op in _operations(service)]
    return Starlette(
        routes=_unique(routes),
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )


def _unique(routes: list[Route]) -> list[Route]:
    """One route per path and method (the OpenAPI document lists each CDS service's path,
    the router serves them with one pattern)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    out = []
    for route in routes:
        key = (route.path, frozenset(route.methods or ()))
        if key not in seen:
            seen.add(key)
            out.append(route)
    return out
