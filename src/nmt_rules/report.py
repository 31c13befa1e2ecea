"""Render plans for people (text, HTML) and for host applications (JSON)."""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Iterable
from typing import Any, Literal

import orjson

from ._convert import converter
from .model import Plan, PlanContext, PlanItem
from .vocabulary import STAGE_DOMAIN, STAGES, Domain

_STAGE_TITLES = {
    "safety": "Safety",
    "sensory": "Sensory integration",
    "regulation": "Self-regulation",
    "relational": "Relational",
    "cognitive": "Cognitive",
}


_DOMAIN_TITLES = {domain: _STAGE_TITLES[stage] for stage, domain in STAGE_DOMAIN.items()}


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as the JSON contract's plain data."""
    data: dict[str, Any] = converter.unstructure(plan)
    return data


def plan_to_json(plan: Plan, indent: Literal[2] | None = 2) -> str:
    """The plan as JSON text (the contract host applications depend on): indented by two
    spaces, or on one line with ``indent=None``."""
    return orjson.dumps(plan_to_dict(plan), option=orjson.OPT_INDENT_2 if indent else 0).decode()


Section = tuple[str, list[tuple[str | None, list[PlanItem]]]]


def sections(plan: Plan) -> list[Section]:
    """The plan as a person reads it: (heading, [(stage title or None, items)]), in order."""
    safety = [i for i in plan.items if i.stage == "safety"]
    now = [i for i in plan.items if i.stage != "safety" and i.status == "now"]
    deferred = [i for i in plan.items if i.status == "deferred"]
    out: list[Section] = []
    if safety:
        out.append(("SAFETY: act on these today, before anything else", [(None, safety)]))
    if now:
        out.append(("DO NOW, bottom-up (regulate, relate, reason)", _by_stage(now)))
    if deferred:
        out.append(
            ("WAITS until lower stages are ready (deferred, not dropped)", _by_stage(deferred))
        )
    return out


def _by_stage(items: list[PlanItem]) -> list[tuple[str | None, list[PlanItem]]]:
    return [
        (_STAGE_TITLES[stage], [i for i in items if i.stage == stage])
        for stage in STAGES
        if any(i.stage == stage for i in items)
    ]


def plan_to_text(plan: Plan, width: int = 88) -> str:
    """The plan for a person: safety, then what to do now by stage, then what waits and why."""
    out: list[str] = []
    setting = f", setting {plan.setting}" if plan.setting else ""
    out.append(f"Plan for {plan.subject_id}, assessed {plan.assessed_on.isoformat()}{setting}")
    rulesets = ", ".join(r.shown() for r in plan.provenance.rulesets)
    out.append(
        f"plan id {plan.plan_id} · nmt-rules {plan.provenance.nmt_rules_version} · {rulesets}"
    )
    for label, text in _plan_notes(plan):
        out += textwrap.wrap(f"{label}: {text}", width, subsequent_indent="  ")
    if not plan.items:
        out += ["", _NOTHING]
    for caution in plan.cautions:
        out += textwrap.wrap(
            f"caution: {caution.text}", width, initial_indent="", subsequent_indent="  "
        )
    for heading, groups in sections(plan):
        out += ["", heading]
        for stage_title, items in groups:
            if stage_title is None:
                out += _items(items, width)
            else:
                out.append(f"  {stage_title}")
                out += _items(items, width, indent=4)
    if plan.progress:
        out += ["", _PROGRESS.upper()]
        for p in plan.progress:
            trail = " -> ".join(str(point.score) for point in p.scores)
            out.append(
                f"  {_domain(p.domain)}: {trail} ({p.previous_band} -> {p.band}, {p.change})"
            )
    learn = [i for i in plan.items if i.kind == "education"]
    if learn:
        out += ["", _LEARN.upper()]
        out += [f"  - {i.title} ({', '.join(i.audience)})" for i in learn]
    out += ["", *textwrap.wrap(plan.disclaimer, width)]
    return "\n".join(out) + "\n"


_NOTHING = "Nothing to add: no rule found a need in this map. Keep monitoring."
_PROGRESS = "Progress across assessments"


def _domain(domain: Domain) -> str:
    return _DOMAIN_TITLES[domain]


_LEARN = "What caregivers, teachers and staff should learn"


def _items(items: list[PlanItem], width: int, indent: int = 2) -> Iterable[str]:
    pad = " " * indent
    more = pad + "    "
    for item in items:
        yield f"{pad}[{item.indicator}] {item.title}  ({item.need})"
        yield from _wrap(f"why: {item.because}", width, more)
        matched = ", ".join(f"{k}={show_value(v)}" for k, v in item.matched.items())
        yield from _wrap(f"rule: {item.rule}; matched {matched or 'nothing'}", width, more)
        if item.also:
            yield from _wrap("also raised by: " + ", ".join(r.rule for r in item.also), width, more)
        if item.status == "deferred":
            yield from _wrap("held by: " + ", ".join(item.held_by), width, more)
            yield from _wrap(f"released when: {item.released_when}", width, more)
        if item.released_by:
            yield from _wrap(f"going ahead because: {item.released_by}", width, more)
        for caution in item.cautions:
            yield from _wrap(f"caution: {caution.text} ({caution.rule})", width, more)
        for label, text in _item_notes(item):
            yield from _wrap(f"{label}: {text}", width, more)
        for delivery in item.delivery:
            dose = f"; {delivery.dose.frequency}, {delivery.dose.duration}" if delivery.dose else ""
            who = ", ".join(delivery.delivered_by)
            yield from _wrap(f"how: {delivery.title} ({who}{dose})", width, more)
        if item.delivery_note:
            yield from _wrap(f"how: {item.delivery_note}", width, more)


def _item_notes(item: PlanItem) -> list[tuple[str, str]]:
    """The item's goal, timing and personal touches, as (label, text) pairs."""
    notes = []
    if item.goal:
        notes.append(("goal", item.goal))
    if item.in_place_by:
        notes.append(("in place by", f"release day, {item.in_place_by.isoformat()}"))
    if item.build_on:
        notes.append(("build on", ", ".join(item.build_on)))
    if item.delivery_age is not None:
        notes.append(("matched to", f"developmental age {item.delivery_age:g}"))
    return notes


def _plan_notes(plan: Plan) -> list[tuple[str, str]]:
    """The review date and the circumstances the plan used, as (label, text) pairs."""
    notes = []
    if plan.review_by:
        notes.append(("next review by", f"{plan.review_by.isoformat()} ({plan.review_because})"))
    context = plan.context
    if context is None:
        return notes
    if context.days_since_previous is not None:
        late = context.review_overdue_days
        overdue = f"; {late} days after the review it was due" if late else ""
        notes.append(("last assessment", f"{context.days_since_previous} days ago{overdue}"))
    facts = [
        ("placement", context.placement),
        ("substance use", _substance_use(context)),
        ("conditions", ", ".join(context.conditions)),
        ("release", context.release_on.isoformat() if context.release_on else None),
        ("strengths", ", ".join(context.strengths)),
        ("interests", ", ".join(context.interests)),
        ("language", _language(context)),
        ("cares for", ", ".join(f"a child of {d.age_years:g}" for d in context.dependents)),
    ]
    notes += [(label, text) for label, text in facts if text]
    return notes


def _substance_use(context: PlanContext) -> str | None:
    use = context.substance_use
    if use is None:
        return None
    return use.level + (f" ({use.substances})" if use.substances else "")


def _language(context: PlanContext) -> str | None:
    if not context.language and not context.interpreter_needed:
        return None
    interpreter = "interpreter needed" if context.interpreter_needed else ""
    return ", ".join(part for part in (context.language, interpreter) if part)


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ")


def show_value(value: Any) -> str:
    """A fact value as YAML would write it (true, false, null, severe, 42)."""
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def plan_to_html(plan: Plan) -> str:
    """The plan as one self-contained, printable HTML page (no scripts, no external files)."""
    e = html.escape
    setting = f" · setting {e(plan.setting)}" if plan.setting else ""
    rulesets = ", ".join(e(r.shown()) for r in plan.provenance.rulesets)
    body = [
        f"<h1>Plan for {e(plan.subject_id)}</h1>",
        f'<p class="meta">Assessed {plan.assessed_on.isoformat()}{setting} · plan id '
        f"<code>{e(plan.plan_id)}</code> · nmt-rules {e(plan.provenance.nmt_rules_version)}"
        f" · {rulesets}</p>",
        f'<p class="disclaimer">{e(plan.disclaimer)}</p>',
    ]
    notes = _plan_notes(plan)
    if notes:
        body.append(
            '<ul class="context">'
            + "".join(f"<li><b>{e(label)}:</b> {e(text)}</li>" for label, text in notes)
            + "</ul>"
        )
    if not plan.items:
        body.append(f"<p>{e(_NOTHING)}</p>")
    body += [f'<p class="caution"><b>Caution:</b> {e(c.text)}</p>' for c in plan.cautions]
    for heading, groups in sections(plan):
        body.append(f"<h2>{e(heading)}</h2>")
        for stage_title, items in groups:
            if stage_title is not None:
                body.append(f"<h3>{e(stage_title)}</h3>")
            body += [_html_item(item) for item in items]
    if plan.progress:
        dates = "".join(
            f"<th>{point.assessed_on.isoformat()}</th>" for point in plan.progress[0].scores
        )
        body.append(f"<h2>{e(_PROGRESS)}</h2><table><tr><th>domain</th>{dates}<th>change</th></tr>")
        for p in plan.progress:
            cells = "".join(f"<td>{point.score}</td>" for point in p.scores)
            body.append(
                f"<tr><td>{e(_domain(p.domain))}</td>{cells}"
                f"<td>{e(p.previous_band)} → {e(p.band)}, {e(p.change)}</td></tr>"
            )
        body.append("</table>")
    learn = [i for i in plan.items if i.kind == "education"]
    if learn:
        body.append(f"<h2>{e(_LEARN)}</h2><ul>")
        body += [
            f"<li>{e(i.title)} <small>({e(', '.join(i.audience))})</small></li>" for i in learn
        ]
        body.append("</ul>")
    return _PAGE.format(title=e(f"Plan for {plan.subject_id}"), body="\n".join(body))


def _html_item(item: PlanItem) -> str:
    e = html.escape
    rows = [
        f'<article class="item {e(item.indicator)} {e(item.status)}">',
        f'<h4><span class="badge">{e(item.indicator)}</span> {e(item.title)} '
        f"<code>{e(item.need)}</code></h4>",
        f"<p>{e(item.description)}</p>" if item.description else "",
        f"<p><b>Why:</b> {e(item.because)}</p>",
        f"<p><b>Rule:</b> <code>{e(item.rule)}</code>; matched "
        + (
            ", ".join(f"<code>{e(k)}</code> = {e(show_value(v))}" for k, v in item.matched.items())
            or "nothing"
        )
        + "</p>",
    ]
    if item.also:
        rows.append(f"<p><b>Also raised by:</b> {e(', '.join(r.rule for r in item.also))}</p>")
    if item.status == "deferred":
        rows.append(f"<p><b>Held by:</b> {e(', '.join(item.held_by))}</p>")
        rows.append(f"<p><b>Released when:</b> {e(item.released_when or '')}</p>")
    if item.released_by:
        rows.append(f"<p><b>Going ahead because:</b> {e(item.released_by)}</p>")
    if item.cautions:
        rows.append(
            '<ul class="cautions">'
            + "".join(
                f"<li><b>Caution:</b> {e(c.text)} <small><code>{e(c.rule)}</code></small></li>"
                for c in item.cautions
            )
            + "</ul>"
        )
    rows += [
        f"<p><b>{e(label.capitalize())}:</b> {e(text)}</p>" for label, text in _item_notes(item)
    ]
    if item.delivery:
        rows.append('<ul class="delivery">')
        for d in item.delivery:
            dose = f" · {e(d.dose.frequency)}, {e(d.dose.duration)}" if d.dose else ""
            cautions = "".join(f"<li>{e(c)}</li>" for c in d.contraindications)
            rows.append(
                f"<li><details><summary>{e(d.title)} <small>({e(', '.join(d.delivered_by))}"
                f"{dose})</small></summary><p>{e(d.description)}</p>"
                + (f"<p><b>Cautions</b></p><ul>{cautions}</ul>" if cautions else "")
                + (f"<p><small>{e(d.reference)}</small></p>" if d.reference else "")
                + "</details></li>"
            )
        rows.append("</ul>")
    if item.delivery_note:
        rows.append(f"<p><i>{e(item.delivery_note)}</i></p>")
    rows.append("</article>")
    return "\n".join(r for r in rows if r)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }}
.meta {{ color: #555; }} .disclaimer {{ background: #f4f4f6; padding: .6rem .8rem; border-radius: 6px; }}
.item {{ border-left: 5px solid #8a8f98; padding: .2rem .9rem; margin: .8rem 0; break-inside: avoid; }}
.item.critical {{ border-color: #b3261e; }} .item.warning {{ border-color: #c77700; }}
.item.deferred {{ opacity: .85; border-left-style: dashed; }}
.badge {{ font-size: .75em; text-transform: uppercase; background: #eee; padding: .1rem .4rem; border-radius: 4px; }}
.critical .badge {{ background: #b3261e; color: #fff; }} .warning .badge {{ background: #c77700; color: #fff; }}
code {{ font-size: .9em; }} details p {{ margin: .3rem 0 .3rem 1rem; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd; padding: .2rem .6rem; text-align: left; }}
</style></head>
<body>
{body}
</body></html>
"""
