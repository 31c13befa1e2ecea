"""CDS Hooks 2.0 cards from a plan, for host applications (EHRs) that already show cards.

nmt-rules offers one service on a custom hook, ``nmt-brain-map-review``: the host sends the
brain map in ``context.brainMap`` (and optionally ``context.setting``) and gets one card per
plan item, safety first, in plan order.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from .model import Plan, PlanItem

HOOK: Final = "nmt-brain-map-review"
SERVICE_ID: Final = "nmt-rules-plan"
_SUMMARY_LIMIT: Final = 140  # CDS Hooks: summary "SHOULD be under a 140-character limit"
_UUID_NAMESPACE: Final = uuid.UUID("6f1c2e3a-9b4d-4f7e-8a51-3c2d1e0f9a7b")


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document (GET /cds-services)."""
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "nmt-rules: sequenced, explained plan from a brain map",
                "description": (
                    "Decision support for trained professionals; not a diagnostic tool; not "
                    "affiliated with the Neurosequential Network. Send the brain map in "
                    "context.brainMap and optionally the setting in context.setting."
                ),
                "prefetch": {},
            }
        ]
    }


def cards(plan: Plan) -> dict[str, Any]:
    """The CDS Hooks response: one card per item, in the order to act on them."""
    source = {
        "label": f"nmt-rules {plan.provenance.nmt_rules_version}",
        "topic": {"code": plan.plan_id, "display": "plan id"},
    }
    return {"cards": [_card(plan, item, source) for item in plan.items]}


def _card(plan: Plan, item: PlanItem, source: dict[str, Any]) -> dict[str, Any]:
    prefix = "Waits: " if item.status == "deferred" else ""
    summary = prefix + item.title
    if len(summary) > _SUMMARY_LIMIT:
        summary = summary[: _SUMMARY_LIMIT - 1] + "…"
    lines = [item.description, "", f"**Why:** {item.because}", f"**Rule:** `{item.rule}`"]
    if item.matched:
        matched = ", ".join(f"`{k}` = {v}" for k, v in item.matched.items())
        lines.append(f"**Matched:** {matched}")
    if item.status == "deferred":
        lines.append(f"**Held by:** {', '.join(item.held_by)}")
        lines.append(f"**Released when:** {item.released_when}")
    if item.released_by:
        lines.append(f"**Going ahead because:** {item.released_by}")
    lines += [f"**Caution:** {caution.text}" for caution in item.cautions]
    if item.goal:
        lines.append(f"**Goal:** {item.goal}")
    for delivery in item.delivery:
        dose = f" ({delivery.dose.frequency}, {delivery.dose.duration})" if delivery.dose else ""
        lines.append(f"- {delivery.title}{dose}")
    lines += ["", f"_{plan.disclaimer}_"]
    return {
        "uuid": str(uuid.uuid5(_UUID_NAMESPACE, f"{plan.plan_id}/{item.id}")),
        "summary": summary,
        "indicator": item.indicator,
        "detail": "\n".join(lines),
        "source": source,
    }
