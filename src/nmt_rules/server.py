"""The HTTP JSON API and CDS Hooks service (Starlette, served by uvicorn).

Plans are CPU-bound and take well under a millisecond, so handlers plan inline on the event
loop rather than paying a thread hop; the Planner is safe to share either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import cds
from ._json import loads as json_loads
from .api import Planner, version
from .brainmap import MAX_MAP_CHARS
from .errors import DocumentError, InputError, NmtRulesError, UnknownSettingError
from .report import plan_to_dict
from .schemas import SCHEMAS

#: The largest request body read: a map of MAX_MAP_CHARS and a CDS Hooks envelope around it.
MAX_BODY_BYTES: Final = 2 * MAX_MAP_CHARS


def create_app(planner: Planner | None = None) -> Starlette:
    """The ASGI application; builds the default Planner on first use if none is given."""
    state: dict[str, Planner] = {}

    def get_planner() -> Planner:
        if "planner" not in state:
            state["planner"] = planner or Planner.default()
        return state["planner"]

    async def health(request: Request) -> JSONResponse:
        return _Json({"status": "ok", "version": version()})

    async def plugins(request: Request) -> JSONResponse:
        current = get_planner()
        return _Json(
            {
                "plugins": [p.summary() for p in current.plugins.plugins],
                "settings": list(current.settings),
            }
        )

    async def schema(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        if name not in SCHEMAS:
            return _error(404, f"unknown schema {name!r}; known: {', '.join(SCHEMAS)}")
        return _Json(SCHEMAS[name]())

    async def plan(request: Request) -> JSONResponse:
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        setting = request.query_params.get("setting")
        try:
            result = get_planner().plan(body, setting)
        except NmtRulesError as exc:
            return _problem(exc)
        return _Json(plan_to_dict(result))

    async def cds_discovery(request: Request) -> JSONResponse:
        return _Json(cds.discovery())

    async def cds_service(request: Request) -> JSONResponse:
        if request.path_params["service"] != cds.SERVICE_ID:
            return _error(404, f"unknown CDS service; this server offers {cds.SERVICE_ID!r}")
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        context = body.get("context") if isinstance(body, dict) else None
        if not isinstance(context, dict) or "brainMap" not in context:
            return _error(400, "context.brainMap: required field is missing")
        try:
            result = get_planner().plan(context["brainMap"], context.get("setting"))
        except NmtRulesError as exc:
            return _problem(exc, prefix="context.brainMap")
        return _Json(cds.cards(result))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        get_planner()  # compile rulesets and load plugins before the first request, not during it
        yield

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/health", health),
            Route("/v1/plugins", plugins),
            Route("/v1/schemas/{name}", schema),
            Route("/v1/plans", plan, methods=["POST"]),
            Route("/cds-services", cds_discovery),
            Route("/cds-services/{service}", cds_service, methods=["POST"]),
        ],
    )


class _Json(JSONResponse):
    """A JSONResponse encoded with orjson: a plan is about 20 kB of JSON, which the standard
    encoder took longer to write than the plan took to make."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def _json_body(request: Request) -> Any:
    """The request's JSON, read as map files are (no duplicate keys, NaN or endless numbers),
    or the error reply; bodies past MAX_BODY_BYTES are refused before they are read whole."""
    too_large = _error(413, f"body: larger than the limit of {MAX_BODY_BYTES // 2**20} MiB")
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        return too_large
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return too_large
    try:
        return json_loads(raw.decode("utf-8"))
    except DocumentError as exc:
        reason = exc.message.removeprefix("invalid JSON: ")
        return _error(400, f"body: invalid JSON at line {exc.line} column {exc.col}: {reason}")
    except UnicodeDecodeError:
        return _error(400, "body: not UTF-8 text")


def _problem(exc: NmtRulesError, prefix: str = "") -> JSONResponse:
    """Input problems as 422 with one entry per field path; others as 400."""
    if isinstance(exc, InputError):
        errors = [
            {"path": ".".join(p for p in (prefix, problem.path) if p), "message": problem.message}
            for problem in exc.problems
        ]
        return _Json({"errors": errors}, status_code=422)
    status = 400 if isinstance(exc, UnknownSettingError) else 500
    return _error(status, str(exc))


def _error(status: int, message: str) -> JSONResponse:
    return _Json({"errors": [{"path": "", "message": message}]}, status_code=status)
