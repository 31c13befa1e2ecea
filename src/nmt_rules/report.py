"""Render plans for people (text, HTML) and for host applications (JSON).

`render(plan, fmt, audience)` is the one entry point: the clinician's full report, or a
plain-language handout for a caregiver, a teacher or the person (see handout.py).
"""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Iterable
from typing import Any, Final, Literal

import orjson

from ._convert import converter
from .errors import ReportError
from .handout import PLAIN_LABELS, READERS, Handout, Reader, build_handout, is_adult
from .model import Plan, PlanContext, PlanItem
from .picture import Labels, brain_map_lines, brain_map_svg, history_svg, progress_svg
from .vocabulary import STAGE_DOMAIN, STAGES, Domain

#: Formats and audiences `render` takes.
FORMATS: Final = ("text", "json", "html")
AUDIENCES: Final = ("clinician", *READERS)

_STAGE_TITLES = {
    "safety": "Safety",
    "sensory": "Sensory integration",
    "regulation": "Self-regulation",
    "relational": "Relational",
    "cognitive": "Cognitive",
}


_DOMAIN_TITLES = {domain: _STAGE_TITLES[stage] for stage, domain in STAGE_DOMAIN.items()}
CLINICIAN_LABELS: Final = Labels(
    domains=_DOMAIN_TITLES,
    bands={"severe": "severe", "moderate": "moderate", "mild": "mild", "typical": "typical"},
    changes={"improved": "improved", "stable": "stable", "worse": "worse"},
    numbers=True,
)


def render(plan: Plan, fmt: str, audience: str = "clinician") -> str:
    """The plan as text, JSON or HTML for an audience: the clinician's full report, or a
    plain-language handout for a caregiver, a teacher or the person (text and HTML only;
    the JSON plan is the whole contract)."""
    check_report_choice(fmt, audience)
    if fmt == "json":
        return plan_to_json(plan) + "\n"
    if audience == "clinician":
        return plan_to_html(plan) if fmt == "html" else plan_to_text(plan)
    handout = build_handout(plan, _reader(audience))
    return handout_to_html(plan, handout) if fmt == "html" else handout_to_text(plan, handout)


def check_report_choice(fmt: str, audience: str) -> None:
    """Raise ReportError unless the format and audience make a report together."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if audience not in AUDIENCES:
        raise ReportError(f"unknown audience {audience!r}; choose one of {', '.join(AUDIENCES)}")
    if fmt == "json" and audience != "clinician":
        raise ReportError("audiences apply to text and html; the JSON plan is for hosts")


def _reader(audience: str) -> Reader:
    return next(r for r in READERS if r == audience)


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
    if plan.brain_map is not None:
        out += ["", "BRAIN MAP, bottom-up (work starts at the bottom)"]
        out += [
            "  " + line for line in brain_map_lines(plan.brain_map, plan.progress, CLINICIAN_LABELS)
        ]
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
        out += ["", _learn(plan).upper()]
        out += [f"  - {i.title} ({', '.join(i.audience)})" for i in learn]
    out += ["", *textwrap.wrap(plan.disclaimer, width)]
    return "\n".join(out) + "\n"


_NOTHING = "Nothing to add: no rule found a need in this map. Keep monitoring."
_PROGRESS = "Progress across assessments"


def _domain(domain: Domain) -> str:
    return _DOMAIN_TITLES[domain]


def _learn(plan: Plan) -> str:
    """Adults choose who learns about them; for minors the adults around them should."""
    if plan.brain_map is not None and is_adult(plan.brain_map.age_group):
        return "What the person and the people they choose can learn, with their consent"
    return "What caregivers, teachers and staff should learn"


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
            for contraindication in delivery.contraindications:
                yield from _wrap(f"caution: {contraindication}", width, more + "  ")
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
    """The clinician's report as one self-contained, printable HTML page (no scripts, no
    external files): the brain map as a picture, then every item with its explanation."""
    e = html.escape
    setting = f" · setting {e(plan.setting)}" if plan.setting else ""
    rulesets = ", ".join(e(r.shown()) for r in plan.provenance.rulesets)
    body = [
        f"<header><h1>Plan for {e(plan.subject_id)}</h1>",
        f'<p class="meta">Assessed {plan.assessed_on.isoformat()}{setting} · plan id '
        f"<code>{e(plan.plan_id)}</code> · nmt-rules {e(plan.provenance.nmt_rules_version)}"
        f" · {rulesets}</p>",
    ]
    body.append(f'<p class="disclaimer">{e(plan.disclaimer)}</p></header>')
    notes = _plan_notes(plan)
    if notes:
        body.append(
            '<ul class="context">'
            + "".join(f"<li><b>{e(label)}:</b> {e(text)}</li>" for label, text in notes)
            + "</ul>"
        )
    summary = plan.brain_map
    if summary is not None:
        body.append('<section class="picture"><h2>Brain map, bottom-up</h2>')
        body.append(brain_map_svg(summary, plan.progress, CLINICIAN_LABELS))
        history = history_svg(summary)
        if history:
            body.append(f"<h3>Developmental history</h3>{history}")
        if plan.progress:
            body.append("<h3>Scores over time</h3>")
            body.append(progress_svg(summary, plan.progress, CLINICIAN_LABELS))
        body.append("</section>")
    if not plan.items:
        body.append(f"<p>{e(_NOTHING)}</p>")
    body += [f'<p class="caution"><b>Caution:</b> {e(c.text)}</p>' for c in plan.cautions]
    described: dict[str, str] = {}  # delivery id -> the item it was first described under
    for heading, groups in sections(plan):
        body.append(f"<h2>{e(heading)}</h2>")
        for stage_title, items in groups:
            if stage_title is not None:
                body.append(f"<h3>{e(stage_title)}</h3>")
            body += [_html_item(item, described) for item in items]
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
        body.append(f"<h2>{e(_learn(plan))}</h2><ul>")
        body += [
            f"<li>{e(i.title)} <small>({e(', '.join(i.audience))})</small></li>" for i in learn
        ]
        body.append("</ul>")
    return _page(plan, f"Plan for {plan.subject_id}", body, plan.disclaimer, "clinician")


def _html_item(item: PlanItem, described: dict[str, str]) -> str:
    """One item; a delivery already described under an earlier item is named, not repeated
    (one catalogue item often meets several needs, and the report prints every detail)."""
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
            if d.id in described:
                rows.append(
                    f"<li>{e(d.title)} <small>({e(', '.join(d.delivered_by))}{dose}; "
                    f"described above, under “{e(described[d.id])}”)</small></li>"
                )
                continue
            described[d.id] = item.title
            cautions = "".join(f"<li>{e(c)}</li>" for c in d.contraindications)
            # Collapsed on screen; the print stylesheet prints every detail and caution.
            rows.append(
                f"<li><details><summary>{e(d.title)} <small>({e(', '.join(d.delivered_by))}"
                f"{dose})</small></summary><p>{e(d.description)}</p>"
                + (f'<p><b>Cautions</b></p><ul class="contra">{cautions}</ul>' if cautions else "")
                + (f"<p><small>{e(d.reference)}</small></p>" if d.reference else "")
                + "</details></li>"
            )
        rows.append("</ul>")
    if item.delivery_note:
        rows.append(f"<p><i>{e(item.delivery_note)}</i></p>")
    rows.append("</article>")
    return "\n".join(r for r in rows if r)


def handout_to_text(plan: Plan, handout: Handout, width: int = 72) -> str:
    """A handout as plain text, wrapped for a narrow screen or a plain printout."""
    out = [handout.heading, handout.for_whom]
    if handout.consent:
        out.append(handout.consent)
    out.append(f"Assessed {plan.assessed_on.isoformat()} · plan id {plan.plan_id}")

    def section(title: str) -> None:
        out.extend(["", title.upper()])

    def para(text: str, indent: str = "", more: str = "") -> None:
        out.extend(
            textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + more)
        )

    section("Who to contact in a crisis")
    for line in handout.crisis_lines:
        para("- " + line, more="  ")
    para("- Your care team: ______________________  phone: ______________")
    for title, do in handout.crisis:
        para(f"{title}. {do}", "  ")
    section("What is going on")
    para(" ".join(handout.going_on))
    if plan.brain_map is not None:
        out += [
            "  " + line for line in brain_map_lines(plan.brain_map, plan.progress, PLAIN_LABELS)
        ]
    section(handout.daily_heading)
    for row in handout.daily:
        para(f"- {row.title}. {row.do}", more="  ")
        when = "; ".join(part for part in (row.often, row.long) if part)
        if when:
            para(f"When: {when}", "  ", "  ")
    for title, do in handout.also:
        para(f"- {title}. {do}", more="  ")
    if handout.planned:
        section("Also planned")
        for row in handout.planned:
            para(f"- {row.title}: {row.often}", more="  ")
    if not handout.daily and not handout.also:
        para("Nothing in this plan is for you to do each day. Ask the team what helps.")
    if handout.others:
        section(handout.others_heading)
        for title in handout.others:
            para("- " + title, more="  ")
    if handout.avoid:
        section("What to avoid")
        for caution in handout.avoid:
            para("- " + caution, more="  ")
    if handout.waits:
        section("What waits, and why")
        sentence, *titles = handout.waits
        para(sentence)
        for title in titles:
            para("- " + title, more="  ")
    if handout.review:
        out += ["", handout.review]
    out.append("")
    para(handout.disclaimer)
    return "\n".join(out) + "\n"


def handout_to_html(plan: Plan, handout: Handout) -> str:
    """A handout as one self-contained page in large type, for at most two printed pages."""
    e = html.escape
    body = [f"<header><h1>{e(handout.heading)}</h1>", f'<p class="for">{e(handout.for_whom)}']
    if handout.consent:
        body.append(f" {e(handout.consent)}")
    body.append(
        f'</p><p class="meta">Assessed {plan.assessed_on.isoformat()} · plan id '
        f"{e(plan.plan_id)}</p></header>"
    )
    crisis = "".join(f"<li>{e(line)}</li>" for line in handout.crisis_lines)
    body.append(
        '<section class="crisis"><h2>Who to contact in a crisis</h2>'
        f'<ul>{crisis}<li>Your care team: <span class="blank"></span> phone: '
        '<span class="blank short"></span></li></ul>'
    )
    body += [f"<p><b>{e(title)}.</b> {e(do)}</p>" for title, do in handout.crisis]
    body.append("</section>")
    body.append(f"<section><h2>What is going on</h2><p>{e(' '.join(handout.going_on))}</p>")
    if plan.brain_map is not None:
        body.append(brain_map_svg(plan.brain_map, plan.progress, PLAIN_LABELS))
    body.append("</section>")
    body.append(f"<section><h2>{e(handout.daily_heading)}</h2>")
    body.append('<ul class="daily">')
    for row in handout.daily:
        when = " · ".join(
            f"{label}: {e(text)}"
            for label, text in (("How often", row.often), ("How long", row.long))
            if text
        )
        body.append(
            f"<li><b>{e(row.title)}.</b> {e(row.do)}"
            + (f'<br><span class="when">{when}</span>' if when else "")
            + "</li>"
        )
    body += [f"<li><b>{e(title)}.</b> {e(do)}</li>" for title, do in handout.also]
    body.append("</ul>")
    if not handout.daily and not handout.also:
        body.append(
            "<p>Nothing in this plan is for you to do each day. Ask the team what helps.</p>"
        )
    body.append("</section>")
    if handout.others:
        items = "".join(f"<li>{e(t)}</li>" for t in handout.others)
        body.append(
            f'<section><h2>{e(handout.others_heading)}</h2><ul class="others">{items}</ul></section>'
        )
    if handout.avoid:
        items = "".join(f"<li>{e(c)}</li>" for c in handout.avoid)
        body.append(f'<section class="avoid"><h2>What to avoid</h2><ul>{items}</ul></section>')
    if handout.waits:
        body.append("<section><h2>What waits, and why</h2>")
        sentence, *titles = handout.waits
        items = "".join(f"<li>{e(t)}</li>" for t in titles)
        body.append(f'<p>{e(sentence)}</p><ul class="waits">{items}</ul>')
        body.append("</section>")
    if handout.review:
        body.append(f'<p class="review"><b>{e(handout.review)}</b></p>')
    body.append(f'<p class="disclaimer">{e(handout.disclaimer)}</p>')
    return _page(plan, handout.heading, body, handout.disclaimer, "handout")


def _css_string(text: str) -> str:
    """Text as a CSS string literal that cannot end the string or the style element."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return '"' + out.replace("<", "\\3c ").replace(">", "\\3e ") + '"'


def _page(plan: Plan, title: str, body: list[str], disclaimer: str, kind: str) -> str:
    """One self-contained page; printed, every page carries a running header (subject id,
    date, plan id) and the disclaimer."""
    header = f"{plan.subject_id} · assessed {plan.assessed_on.isoformat()} · plan {plan.plan_id}"
    return _PAGE.format(
        title=html.escape(title),
        kind=kind,
        style=_STYLE,
        header=_css_string(header),
        footer=_css_string(disclaimer),
        body="\n".join(body),
    )


_STYLE = """
body { font: 15px/1.45 system-ui, 'DejaVu Sans', sans-serif; max-width: 60rem; margin: 2rem auto;
  padding: 0 1rem; color: #1d1d1f; }
.meta { color: #555; } .disclaimer { background: #f4f4f6; padding: .6rem .8rem; border-radius: 6px; }
.review { background: #eef6ff; padding: .4rem .8rem; border-radius: 6px; }
.picture svg { max-width: 100%; height: auto; display: block; margin: .4rem 0 .8rem; }
.item { border-left: 5px solid #8a8f98; padding: .2rem .9rem; margin: .8rem 0; }
.item.critical { border-color: #b3261e; } .item.warning { border-color: #c77700; }
.item.deferred { border-left-style: dashed; }
.badge { font-size: .75em; text-transform: uppercase; background: #eee; padding: .1rem .4rem;
  border-radius: 4px; }
.critical .badge { background: #b3261e; color: #fff; } .warning .badge { background: #8a5300; color: #fff; }
.caution, .cautions li { color: #7a2a00; }
code { font-size: .9em; } details p { margin: .3rem 0 .3rem 1rem; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: .2rem .6rem;
  text-align: left; vertical-align: top; }
body.handout { font-size: 19px; line-height: 1.4; max-width: 46rem; }
.handout h1 { font-size: 1.6em; margin-bottom: .2rem; } .handout h2 { font-size: 1.15em;
  margin: 1rem 0 .3rem; border-bottom: 2px solid #1d1d1f; }
.handout svg { max-width: 100%; height: auto; display: block; margin: .4rem 0; }
.handout .crisis { border: 3px solid #b3261e; border-radius: 8px; padding: 0 .8rem .2rem; }
.handout .crisis h2 { border: 0; color: #b3261e; }
.handout .blank { display: inline-block; width: 12em; border-bottom: 1px solid #1d1d1f; }
.handout .blank.short { width: 7em; }
.handout .when { font-size: .82em; color: #444; }
.handout .daily li { margin-bottom: .25rem; }
.handout ul { padding-left: 1.2em; margin: .3rem 0; } .handout p { margin: .3rem 0; }
.handout .others { columns: 2; }
@page { margin: 14mm 12mm 15mm;
  @top-right { content: "page " counter(page) " of " counter(pages); font: 8pt sans-serif;
    color: #555; }
}
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  body.handout { font-size: 11.5pt; line-height: 1.22; }
  .handout h2 { margin-top: .45rem; } .handout p { margin: .2rem 0; }
  .handout .daily li { margin-bottom: .15rem; }
  details::details-content { content-visibility: visible; display: contents; }
  details > summary { list-style: none; }
  /* An item may run on to the next page (keeping it whole left half-empty pages); its
     heading stays with its text, and a delivery or a caution is never split. */
  tr, li, .picture, .crisis { break-inside: avoid; }
  .item p { orphans: 3; widows: 3; }
  h2, h3, h4 { break-after: avoid; }
  .picture svg { max-height: 9cm; width: auto; }
  /* Dense but readable: every detail prints, so the report spends no space twice. */
  .item { margin: .35rem 0; padding-top: 0; padding-bottom: 0; }
  .item p, .item ul { margin-top: .12rem; margin-bottom: .12rem; }
  .item h4 { margin: .2rem 0; }
  .delivery { font-size: 9pt; line-height: 1.3; }
  .delivery details p { margin: .1rem 0 .1rem .8rem; }
  .handout svg { max-height: 3cm; width: auto; }
  .handout .avoid ul, .handout .planned, .handout .waits { columns: 2; column-gap: 1.2em; font-size: .9em; }
  .disclaimer { display: none; }
}
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>{style}
@page {{ @top-left {{ content: {header}; font: 8pt sans-serif; color: #555; }}
  @bottom-center {{ content: {footer}; font: 7pt sans-serif; color: #555; }} }}
</style></head>
<body class="{kind}">
{body}
</body></html>
"""
