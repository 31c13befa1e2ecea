"""CDS Hooks 2.0: the services an EHR discovers and calls, their requests, cards and feedback.

Two services:

- ``nmt-rules-patient-view`` on the standard ``patient-view`` hook: the EHR prefetches the
  patient's latest brain-map QuestionnaireResponse (FHIR, see :mod:`nmt_rules.fhir`) with the
  template in discovery; a request without that prefetch key gets 412, as the spec says of a
  service that cannot fetch the data itself.
- ``nmt-rules-plan`` on this project's own hook, ``example.nmt-rules.brain-map-review``
  (reverse-domain notation, as the spec asks of a non-standard hook), for hosts that hold
  brain maps as project JSON: ``context.brainMap`` and optionally ``context.setting``.

A plan becomes few cards, safety first: one critical card per safety item, one card for what
to do now, one for what waits and why, each linking to the plan's full HTML report. Card
uuids derive from the hookInstance and the plan, so they are unique per invocation and the
same when an invocation is retried. The JSON Schemas below are the spec's rules for
discovery, requests, responses and feedback (required fields, no null or empty values); the
server validates requests with them and the tests validate responses.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs
import jsonschema

from ._attrs_schema import SCHEMA_BASE
from ._schema_errors import problems
from .brainmap import parse_brain_map
from .errors import FieldProblem, InputError, PrefetchMissingError
from .fhir import QUESTIONNAIRE_URL, response_to_brain_map
from .model import BrainMap, Plan, PlanItem
from .report import sections, show_value

CUSTOM_HOOK: Final = "example.nmt-rules.brain-map-review"
PATIENT_VIEW: Final = "patient-view"
PLAN_SERVICE: Final = "nmt-rules-plan"
PATIENT_VIEW_SERVICE: Final = "nmt-rules-patient-view"
#: The prefetch key (and template) of the patient's latest completed brain map.
PREFETCH_KEY: Final = "brainMap"
PREFETCH_TEMPLATE: Final = (
    "QuestionnaireResponse?subject=Patient/{{context.patientId}}"
    f"&questionnaire={QUESTIONNAIRE_URL}&status=completed&_sort=-authored&_count=1"
)
TOPIC_SYSTEM: Final = SCHEMA_BASE.replace("/schema/", "/fhir/") + "CodeSystem/card-topic"
_SUMMARY_LIMIT: Final = 139  # the spec: a "<140-character summary"
_UUID_NAMESPACE: Final = uuid.UUID("6f1c2e3a-9b4d-4f7e-8a51-3c2d1e0f9a7b")
_DESCRIPTION_TAIL: Final = (
    " Decision support for trained professionals; not a diagnostic tool; not affiliated with"
    " the Neurosequential Network."
)


@attrs.frozen
class Service:
    """One CDS service as discovery lists it."""

    id: str
    hook: str
    title: str
    description: str
    context: Mapping[str, Any]  # JSON Schema of the hook's context
    prefetch: Mapping[str, str] = attrs.field(factory=dict)


_USER_ID: Final = {"type": "string", "pattern": "^[A-Za-z]+/[^/]+$", "minLength": 1}
_ID: Final = {"type": "string", "minLength": 1}
SERVICES: Final[Mapping[str, Service]] = {
    s.id: s
    for s in (
        Service(
            id=PATIENT_VIEW_SERVICE,
            hook=PATIENT_VIEW,
            title="nmt-rules: sequenced, explained plan from the latest brain map",
            description=(
                "When a chart opens, plans from the patient's latest completed brain-map"
                " QuestionnaireResponse (prefetched): safety first, what to do now, what"
                " waits and why." + _DESCRIPTION_TAIL
            ),
            context={
                "type": "object",
                "properties": {"userId": _USER_ID, "patientId": _ID, "encounterId": _ID},
                "required": ["userId", "patientId"],
            },
            prefetch={PREFETCH_KEY: PREFETCH_TEMPLATE},
        ),
        Service(
            id=PLAN_SERVICE,
            hook=CUSTOM_HOOK,
            title="nmt-rules: sequenced, explained plan from a brain map",
            description=(
                "Plans from a brain map in nmt-rules' JSON format, sent in context.brainMap"
                " (optionally with context.setting)." + _DESCRIPTION_TAIL
            ),
            context={
                "type": "object",
                "properties": {
                    "brainMap": {"type": "object"},
                    "setting": {"type": "string", "minLength": 1},
                    "userId": _USER_ID,
                    "patientId": _ID,
                },
                "required": ["brainMap"],
            },
        ),
    )
}


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document (GET /cds-services); empty fields omitted."""
    out = []
    for s in SERVICES.values():
        entry: dict[str, Any] = {
            "hook": s.hook,
            "id": s.id,
            "title": s.title,
            "description": s.description,
        }
        if s.prefetch:
            entry["prefetch"] = dict(s.prefetch)
        out.append(entry)
    return {"services": out}


# --- the spec's JSON rules -------------------------------------------------------------

_TEXT: Final = {"type": "string", "minLength": 1}
_CODING: Final = {
    "type": "object",
    "properties": {"code": _TEXT, "system": _TEXT, "display": _TEXT},
    "required": ["code", "system"],
}


@functools.cache
def cds_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of CDS Hooks 2.0 documents, by name (also published in /openapi.json)."""
    link = {
        "type": "object",
        "properties": {
            "label": _TEXT,
            "url": {**_TEXT, "format": "uri"},
            "type": {"enum": ["absolute", "smart"]},
            "appContext": _TEXT,
            "autolaunchable": {"type": "boolean"},
        },
        "required": ["label", "url", "type"],
    }
    card = {
        "type": "object",
        "properties": {
            "uuid": {**_TEXT, "format": "uuid"},
            "summary": {**_TEXT, "maxLength": _SUMMARY_LIMIT},
            "detail": _TEXT,
            "indicator": {"enum": ["info", "warning", "critical"]},
            "source": {
                "type": "object",
                "properties": {
                    "label": _TEXT,
                    "url": {**_TEXT, "format": "uri"},
                    "icon": {**_TEXT, "format": "uri"},
                    "topic": _CODING,
                },
                "required": ["label"],
            },
            "suggestions": {"type": "array", "minItems": 1},
            "selectionBehavior": {"enum": ["at-most-one", "any"]},
            "overrideReasons": {
                "type": "array",
                "items": {**_CODING, "required": ["code", "system", "display"]},
                "minItems": 1,
            },
            "links": {"type": "array", "items": link, "minItems": 1},
        },
        "required": ["summary", "indicator", "source"],
        "dependentRequired": {"suggestions": ["selectionBehavior"]},
    }
    return {
        "CdsDiscovery": {
            "type": "object",
            "properties": {
                "services": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "hook": _TEXT,
                            "title": _TEXT,
                            "description": _TEXT,
                            "id": _TEXT,
                            "prefetch": {
                                "type": "object",
                                "additionalProperties": _TEXT,
                                "minProperties": 1,
                            },
                            "usageRequirements": _TEXT,
                        },
                        "required": ["hook", "description", "id"],
                    },
                }
            },
            "required": ["services"],
        },
        "CdsRequest": {
            "type": "object",
            "properties": {
                "hook": _TEXT,
                "hookInstance": {**_TEXT, "format": "uuid"},
                "fhirServer": {**_TEXT, "format": "uri"},
                "fhirAuthorization": {
                    "type": "object",
                    "properties": {
                        "access_token": _TEXT,
                        "token_type": {"const": "Bearer"},
                        "expires_in": {"type": "integer", "minimum": 0},
                        "scope": _TEXT,
                        "subject": _TEXT,
                        "patient": _TEXT,
                    },
                    "required": ["access_token", "token_type", "expires_in", "scope", "subject"],
                },
                "context": {"type": "object"},
                "prefetch": {"type": "object"},
                "extension": {"type": "object"},
            },
            "required": ["hook", "hookInstance", "context"],
            "dependentRequired": {"fhirAuthorization": ["fhirServer"]},
        },
        "CdsResponse": {
            "type": "object",
            "properties": {
                "cards": {"type": "array", "items": card},
                "systemActions": {"type": "array", "minItems": 1},
            },
            "required": ["cards"],
        },
        "CdsFeedback": {
            "type": "object",
            "properties": {
                "feedback": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "card": {**_TEXT, "format": "uuid"},
                            "outcome": {"enum": ["accepted", "overridden"]},
                            "acceptedSuggestions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"id": _TEXT},
                                    "required": ["id"],
                                },
                                "minItems": 1,
                            },
                            "overrideReason": {
                                "type": "object",
                                "properties": {"reason": _CODING, "userComment": _TEXT},
                                "minProperties": 1,
                            },
                            "outcomeTimestamp": {**_TEXT, "format": "date-time"},
                        },
                        "required": ["card", "outcome", "outcomeTimestamp"],
                        "if": {"properties": {"outcome": {"const": "accepted"}}},
                        "then": {"required": ["acceptedSuggestions"]},
                    },
                }
            },
            "required": ["feedback"],
        },
    }


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        cds_schemas()[name], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def empty_values(document: Any, path: str = "") -> list[str]:
    """Paths of null or empty values (the spec forbids them unless it says otherwise)."""
    if document is None or document in ("", [], {}):
        return [path]
    if isinstance(document, Mapping):
        return [p for k, v in document.items() for p in empty_values(v, f"{path}.{k}".lstrip("."))]
    if isinstance(document, list):
        return [p for i, v in enumerate(document) for p in empty_values(v, f"{path}[{i}]")]
    return []


def check(name: str, document: Any) -> list[FieldProblem]:
    """Every way a document breaks the spec's rules for its kind (``CdsRequest``, ...)."""
    return problems(_validator(name), document)


# --- requests ----------------------------------------------------------------------------


@attrs.frozen
class HookRequest:
    """A valid call of one service: what to plan from and the invocation it answers."""

    service: Service
    hook_instance: str
    brain_map: BrainMap | None  # None: the patient has no completed brain map
    setting: str | None = None


def parse_request(service: Service, body: Any) -> HookRequest:
    """Check a request against the spec and the service's hook; find the brain map.

    Raises InputError (400: the request breaks the spec; 422: the brain map is invalid, with
    the error paths under ``context.brainMap`` or ``prefetch.brainMap``) or
    PrefetchMissingError (412)."""
    found = check("CdsRequest", body)
    if not found and body["hook"] != service.hook:
        found = [
            FieldProblem(
                "hook",
                f"{body['hook']!r} is not the hook of service {service.id!r} ({service.hook})",
            )
        ]
    if not found:
        found = [
            attrs.evolve(p, path=f"context.{p.path}" if p.path else "context")
            for p in problems(jsonschema.Draft202012Validator(service.context), body["context"])
        ]
    if found:
        raise _RequestError(found)
    context = body["context"]
    if service.hook == CUSTOM_HOOK:
        brain_map = _nested(lambda: parse_brain_map(context["brainMap"]), "context.brainMap")
        return HookRequest(service, body["hookInstance"], brain_map, context.get("setting"))
    prefetch = body.get("prefetch") or {}
    if PREFETCH_KEY not in prefetch:
        raise PrefetchMissingError(
            f"prefetch.{PREFETCH_KEY} is missing and this service does not fetch from the FHIR"
            f" server; prefetch {PREFETCH_TEMPLATE}"
        )
    response = _latest_response(prefetch[PREFETCH_KEY], context["patientId"])
    if response is None:
        return HookRequest(service, body["hookInstance"], None)
    where, resource = response
    brain_map = _nested(lambda: response_to_brain_map(resource), f"prefetch.{PREFETCH_KEY}{where}")
    return HookRequest(service, body["hookInstance"], brain_map)


class _RequestError(InputError):
    """The request itself breaks the CDS Hooks rules (400, not 422)."""


def is_request_error(exc: InputError) -> bool:
    """Whether the problem is the request's form (400) rather than the brain map in it (422)."""
    return isinstance(exc, _RequestError)


def _nested(parse: Callable[[], BrainMap], prefix: str) -> BrainMap:
    try:
        return parse()
    except InputError as exc:
        raise InputError(
            [attrs.evolve(p, path=f"{prefix}.{p.path}" if p.path else prefix) for p in exc.problems]
        ) from None


def _latest_response(prefetched: Any, patient_id: str) -> tuple[str, Mapping[str, Any]] | None:
    """The latest completed brain-map QuestionnaireResponse in the prefetched data (a
    searchset Bundle or the resource), with its path; None when the client has none."""
    at = f"prefetch.{PREFETCH_KEY}"
    if prefetched is None:  # the spec's "no data for this template"
        return None
    if not isinstance(prefetched, Mapping):
        raise _RequestError([FieldProblem(at, "expected a FHIR resource or Bundle")])
    kind = prefetched.get("resourceType")
    if kind == "OperationOutcome":
        raise PrefetchMissingError(f"{at}: the client could not prefetch the brain map")
    if kind == "QuestionnaireResponse":
        candidates = [("", prefetched)]
    elif kind == "Bundle":
        candidates = [
            (f".entry[{i}].resource", e["resource"])
            for i, e in enumerate(prefetched.get("entry") or ())
            if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)
        ]
        if any(r.get("resourceType") == "OperationOutcome" for _, r in candidates):
            raise PrefetchMissingError(f"{at}: the client could not prefetch the brain map")
    else:
        raise _RequestError([FieldProblem(f"{at}.resourceType", f"{kind!r} is not a Bundle")])
    completed = [
        (where, r)
        for where, r in candidates
        if r.get("resourceType") == "QuestionnaireResponse"
        and r.get("status") in ("completed", "amended")
    ]
    for where, r in completed:
        subject = (r.get("subject") or {}).get("reference")
        if subject is not None and subject.removeprefix("Patient/") != patient_id:
            raise _RequestError(
                [
                    FieldProblem(
                        f"{at}{where}.subject.reference",
                        f"{subject!r} is not the patient in context (Patient/{patient_id})",
                    )
                ]
            )
    if not completed:
        return None
    return max(completed, key=lambda c: str(c[1].get("authored", "")))


def parse_feedback(body: Any) -> list[Mapping[str, Any]]:
    """The feedback entries of a valid feedback request; InputError otherwise."""
    found = check("CdsFeedback", body)
    if found:
        raise _RequestError(found)
    entries: list[Mapping[str, Any]] = body["feedback"]
    return entries


# --- cards -------------------------------------------------------------------------------


def _facts(item: PlanItem) -> list[tuple[str, str | None]]:
    """What a card says about an item, label and text, in order; None leaves a line out.
    A new item field is one more line here."""
    matched = ", ".join(f"`{k}` = {show_value(v)}" for k, v in item.matched.items())
    return [
        ("Why", item.because),
        ("Rule", f"`{item.rule}`" + (f" (matched {matched})" if matched else "")),
        ("Also raised by", ", ".join(f"`{r.rule}`" for r in item.also) or None),
        ("Goal", item.goal),
        ("Caution", "; ".join(c.text for c in item.cautions) or None),
        ("Held by", ", ".join(item.held_by) or None),
        ("Released when", item.released_when),
        ("Going ahead because", item.released_by),
        ("Builds on", ", ".join(item.build_on) or None),
        ("In place by", item.in_place_by.isoformat() if item.in_place_by else None),
        ("How", _how(item)),
        ("Note", item.delivery_note),
    ]


def _how(item: PlanItem) -> str | None:
    if not item.delivery:
        return None
    ways = []
    for d in item.delivery:
        dose = f"; {d.dose.frequency}, {d.dose.duration}" if d.dose else ""
        ways.append(f"{d.title} ({', '.join(d.delivered_by)}{dose})")
    return "; ".join(ways)


def _item_markdown(item: PlanItem, heading: str, keep: Sequence[str] | None = None) -> list[str]:
    lines = ["", heading]
    lines += [
        f"- **{label}:** {text}"
        for label, text in _facts(item)
        if text and (keep is None or label in keep)
    ]
    return lines


def _summary(text: str) -> str:
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 1] + "…"


def cards(plan: Plan, hook_instance: str, report_url: str | None) -> dict[str, Any]:
    """The CDS Hooks response for a plan: safety cards, then do-now, then what waits."""
    out = []
    version = plan.provenance.nmt_rules_version
    drafts = "".join(f" · {r.shown()}" for r in plan.provenance.rulesets if r.draft)
    footer = [
        "",
        f"Plan `{plan.plan_id}`, assessed {plan.assessed_on.isoformat()}"
        + (f", setting {plan.setting}" if plan.setting else "")
        + f", nmt-rules {version}.",
        "",
        f"_{plan.disclaimer}_",
    ]

    def card(key: str, topic: str, indicator: str, summary: str, body: list[str]) -> None:
        entry: dict[str, Any] = {
            "uuid": str(uuid.uuid5(_UUID_NAMESPACE, f"{hook_instance}/{plan.plan_id}/{key}")),
            "summary": _summary(summary),
            "indicator": indicator,
            "detail": "\n".join([*body, *footer]),
            "source": {
                "label": f"nmt-rules {version}{drafts}",
                "topic": {"system": TOPIC_SYSTEM, "code": topic, "display": _TOPICS[topic]},
            },
        }
        if report_url:
            entry["links"] = [
                {"label": "Full plan report (printable)", "url": report_url, "type": "absolute"}
            ]
        out.append(entry)

    for heading, groups in sections(plan):
        items = [i for _, group in groups for i in group]
        if items[0].stage == "safety":
            for item in items:
                body = [item.description, *_item_markdown(item, "")[2:]]
                card(item.id, "safety", "critical", f"Safety: {item.title}", body)
        elif items[0].status == "now":
            body = [f"**{heading}**"]
            for title, group in groups:
                body += ["", f"### {title}"]
                for item in group:
                    body += _item_markdown(
                        item,
                        f"**{item.title}** ({item.indicator})",
                        ("Why", "Goal", "Caution", "Going ahead because", "How", "Note"),
                    )
            indicator = "warning" if any(i.indicator != "info" for i in items) else "info"
            first = ", ".join(i.title for i in items[:2])
            card("now", "do-now", indicator, f"Do now ({len(items)}): {first}", body)
        else:
            body = [f"**{heading}**"]
            for title, group in groups:
                body += ["", f"### {title}"]
                for item in group:
                    body += _item_markdown(item, f"**{item.title}**", ("Held by", "Released when"))
            card(
                "waits",
                "waits",
                "info",
                f"Waits until lower stages are ready ({len(items)}): deferred, not dropped",
                body,
            )
    return {"cards": out}


_TOPICS: Final = {
    "safety": "Safety: act today, before anything else",
    "do-now": "What to do now, bottom-up",
    "waits": "What waits, and what releases it",
}


def card_kinds(response: Mapping[str, Any]) -> dict[str, str]:
    """Each card's uuid and topic code, for the decision log."""
    return {c["uuid"]: c["source"]["topic"]["code"] for c in response["cards"]}
