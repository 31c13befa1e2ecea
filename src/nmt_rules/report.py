"""Render plans for people (text) and for host applications (JSON)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from typing import Any

from ._convert import converter
from .model import Plan, PlanItem
from .vocabulary import STAGES

_STAGE_TITLES = {
    "safety": "Safety",
    "sensory": "Sensory integration",
    "regulation": "Self-regulation",
    "relational": "Relational",
    "cognitive": "Cognitive",
}


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as the JSON contract's plain data."""
    data: dict[str, Any] = converter.unstructure(plan)
    return data


def plan_to_json(plan: Plan, indent: int | None = 2) -> str:
    """The plan as JSON text (the contract host applications depend on)."""
    return json.dumps(plan_to_dict(plan), indent=indent, ensure_ascii=False)


def plan_to_text(plan: Plan, width: int = 88) -> str:
    """The plan for a person: safety, then what to do now by stage, then what waits and why."""
    out: list[str] = []
    setting = f", setting {plan.setting}" if plan.setting else ""
    out.append(f"Plan for {plan.subject_id}, assessed {plan.assessed_on.isoformat()}{setting}")
    rulesets = ", ".join(f"{r.name} {r.version}" for r in plan.provenance.rulesets)
    out.append(
        f"plan id {plan.plan_id} · nmt-rules {plan.provenance.nmt_rules_version} · {rulesets}"
    )
    safety = [i for i in plan.items if i.stage == "safety"]
    now = [i for i in plan.items if i.stage != "safety" and i.status == "now"]
    deferred = [i for i in plan.items if i.status == "deferred"]
    if not plan.items:
        out += ["", "Nothing to add: no rule found a need in this map. Keep monitoring."]
    if safety:
        out += ["", "SAFETY: act on these today, before anything else"]
        out += _items(safety, width)
    if now:
        out += ["", "DO NOW, bottom-up (regulate, relate, reason)"]
        out += _by_stage(now, width)
    if deferred:
        out += ["", "WAITS until lower stages are ready (deferred, not dropped)"]
        out += _by_stage(deferred, width)
    learn = [i for i in plan.items if i.kind == "education"]
    if learn:
        out += ["", "WHAT CAREGIVERS, TEACHERS AND STAFF SHOULD LEARN"]
        out += [f"  - {i.title} ({', '.join(i.audience)})" for i in learn]
    out += ["", *textwrap.wrap(plan.disclaimer, width)]
    return "\n".join(out) + "\n"


def _by_stage(items: list[PlanItem], width: int) -> Iterable[str]:
    for stage in STAGES:
        in_stage = [i for i in items if i.stage == stage]
        if in_stage:
            yield f"  {_STAGE_TITLES[stage]}"
            yield from _items(in_stage, width, indent=4)


def _items(items: list[PlanItem], width: int, indent: int = 2) -> Iterable[str]:
    pad = " " * indent
    more = pad + "    "
    for item in items:
        yield f"{pad}[{item.indicator}] {item.title}  ({item.need})"
        yield from _wrap(f"why: {item.because}", width, more)
        matched = ", ".join(f"{k}={_show(v)}" for k, v in item.matched.items())
        yield from _wrap(f"rule: {item.rule}; matched {matched or 'nothing'}", width, more)
        if item.also:
            yield from _wrap("also raised by: " + ", ".join(r.rule for r in item.also), width, more)
        if item.status == "deferred":
            yield from _wrap("held by: " + ", ".join(item.held_by), width, more)
            yield from _wrap(f"released when: {item.released_when}", width, more)
        for delivery in item.delivery:
            dose = f"; {delivery.dose.frequency}, {delivery.dose.duration}" if delivery.dose else ""
            who = ", ".join(delivery.delivered_by)
            yield from _wrap(f"how: {delivery.title} ({who}{dose})", width, more)
        if item.delivery_note:
            yield from _wrap(f"how: {item.delivery_note}", width, more)


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
