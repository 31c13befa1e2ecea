"""The brain map as a picture: inline SVG for HTML reports, bar lines for text.

The four domains are stacked bottom-up (sensory integration at the base, cognitive at the
top), each drawn against the ruleset's bands with its score and band written on it, so
colour is never the only signal. Colours are from the Okabe-Ito palette, which stays
distinguishable with the common forms of colour blindness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Final

import attrs

from .model import DomainProgress, MapSummary
from .vocabulary import Band, Change, Domain

#: Okabe-Ito colours per band: a strong tint for bars, a light one for backgrounds.
BAND_COLOURS: Final[Mapping[Band, tuple[str, str]]] = {
    "severe": ("#d55e00", "#f7d5bf"),
    "moderate": ("#e69f00", "#f9e6bf"),
    "mild": ("#56b4e9", "#d5ecf9"),
    "typical": ("#009e73", "#bfe7dc"),
}
#: Adversity and relational-health levels drawn as tints (worst strongest).
_LEVEL_FILLS: Final = {
    "adversity": {"none": "#ffffff", "low": "#f9e6bf", "moderate": "#f3c9a6", "high": "#e89a66"},
    "relational_health": {"low": "#e89a66", "moderate": "#f9e6bf", "high": "#bfe7dc"},
}
_INK: Final = "#1d1d1f"
_FONT: Final = "font-family:system-ui,'DejaVu Sans',sans-serif"


@attrs.frozen
class Labels:
    """The words a picture uses: a clinician's, or plain ones for a handout."""

    domains: Mapping[Domain, str]
    bands: Mapping[Band, str]
    changes: Mapping[Change, str]
    #: Whether scores and cut-points are written (clinicians) or only words (handouts).
    numbers: bool


def brain_map_svg(summary: MapSummary, progress: Sequence[DomainProgress], labels: Labels) -> str:
    """The four domains stacked bottom-up, each against the bands, as one inline SVG."""
    # Plain labels are longer words and no numbers: wider margins, a shorter track.
    left, track, right = (190, 400, 250) if labels.numbers else (250, 260, 370)
    row, gap = 30, 10
    width = left + track + right
    domains = list(reversed(summary.domains))  # cognitive at the top
    changes = {p.domain: p for p in progress}
    height = len(domains) * (row + gap) + (44 if labels.numbers else 16)
    scale = track / 100
    out = [
        f'<svg class="brain-map" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" style="{_FONT}">',
        f"<title>{escape(_summary_text(summary, labels))}</title>",
    ]
    for index, domain in enumerate(domains):
        y = index * (row + gap)
        mid = y + row / 2
        out.append(
            f'<text x="{left - 10}" y="{mid + 5}" text-anchor="end" font-size="15" '
            f'font-weight="600" fill="{_INK}">{escape(labels.domains[domain.domain])}</text>'
        )
        for band in summary.bands:
            x = left + band.low * scale
            w = (band.high + 1 - band.low) * scale
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row}" '
                f'fill="{BAND_COLOURS[band.band][1]}"/>'
            )
        end = left + max(domain.score, 1) * scale
        strong = BAND_COLOURS[domain.band][0]
        out.append(
            f'<rect x="{left}" y="{mid - 6}" width="{end - left:.1f}" height="12" rx="3" '
            f'fill="{strong}" stroke="{_INK}" stroke-width="1"/>'
        )
        if labels.numbers:
            out.append(
                f'<circle cx="{end:.1f}" cy="{mid}" r="13" fill="{_INK}"/>'
                f'<text x="{end:.1f}" y="{mid + 5}" text-anchor="middle" font-size="13" '
                f'font-weight="700" fill="#fff">{domain.score}</text>'
            )
        words = labels.bands[domain.band]
        change = changes.get(domain.domain)
        if change is not None:
            words += f" · {labels.changes[change.change]}"
            if labels.numbers:
                words += f" {domain.score - change.scores[-2].score:+d}"
        out.append(
            f'<text x="{left + track + 22}" y="{mid + 5}" font-size="15" fill="{_INK}">'
            f"{escape(words)}</text>"
        )
    axis = len(domains) * (row + gap)
    for band in summary.bands if labels.numbers else ():
        centre = left + (band.low + band.high + 1) / 2 * scale
        name = escape(labels.bands[band.band] if not labels.numbers else band.band)
        out.append(
            f'<text x="{centre:.1f}" y="{axis + 6}" text-anchor="middle" font-size="11" '
            f'fill="#444">{name}</text>'
        )
        if labels.numbers:
            out.append(
                f'<text x="{centre:.1f}" y="{axis + 20}" text-anchor="middle" font-size="10" '
                f'fill="#666">{band.low}-{band.high}</text>'
            )
    out.append(
        f'<text x="{left - 10}" y="{axis + 6}" text-anchor="end" font-size="11" fill="#444">'
        "↑ work builds from the bottom up</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _summary_text(summary: MapSummary, labels: Labels) -> str:
    """What the picture shows, in words, for screen readers and as the SVG's title."""
    parts = []
    for d in summary.domains:
        score = f" {d.score}," if labels.numbers else ""
        parts.append(f"{labels.domains[d.domain]}:{score} {labels.bands[d.band]}")
    return "Brain map, bottom-up: " + "; ".join(parts)


def history_svg(summary: MapSummary) -> str:
    """Developmental history as a strip per period: adversity and relational health."""
    # A last column for "now" when current relational health is known.
    now = [None] if summary.relational_health_now is not None else []
    periods_now = [*summary.history, *now]
    if not periods_now:
        return ""
    left, cell, row = 150, 104, 26
    width = left + cell * len(periods_now)
    height = row * 2 + 26
    out = [
        f'<svg class="history" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" style="{_FONT}">',
        "<title>Developmental history by period: adversity and relational health</title>",
    ]
    for r, (key, name) in enumerate(
        (("adversity", "Adversity"), ("relational_health", "Relational health"))
    ):
        y = 22 + r * row
        out.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="12" '
            f'font-weight="600" fill="{_INK}">{name}</text>'
        )
        for c, period in enumerate(periods_now):
            x = left + c * cell
            if period is None:
                level = summary.relational_health_now if key == "relational_health" else None
            else:
                level = getattr(period, key)
            fill = _LEVEL_FILLS[key].get(level or "", "#f2f2f2")
            word = level or ("—" if period is None else "not recorded")
            out.append(
                f'<rect x="{x + 1}" y="{y}" width="{cell - 2}" height="{row - 2}" rx="3" '
                f'fill="{fill}" stroke="#bbb"/>'
                f'<text x="{x + cell / 2}" y="{y + 16}" text-anchor="middle" font-size="11" '
                f'fill="{_INK}">{escape(word)}</text>'
            )
    for c, period in enumerate(periods_now):
        name = "now" if period is None else period.period.replace("_", " ")
        out.append(
            f'<text x="{left + c * cell + cell / 2}" y="14" text-anchor="middle" font-size="11" '
            f'fill="#444">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def progress_svg(summary: MapSummary, progress: Sequence[DomainProgress], labels: Labels) -> str:
    """Each domain's scores over time: one small chart per domain, dates on the axis."""
    if not progress:
        return ""
    panel, height, pad = 200, 150, 20
    plot_w, plot_h = panel - pad - 24, height - 56
    width = panel * len(progress)
    first = progress[0].scores[0].assessed_on
    last = progress[0].scores[-1].assessed_on
    span = max((last - first).days, 1)
    out = [
        f'<svg class="progress" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" style="{_FONT}">',
        "<title>Scores over time, per domain</title>",
    ]
    for index, p in enumerate(progress):
        x0, y0 = index * panel + pad, 22
        out.append(
            f'<text x="{x0}" y="14" font-size="12" font-weight="600" fill="{_INK}">'
            f"{escape(labels.domains[p.domain])}</text>"
        )
        for band in summary.bands:
            top = y0 + plot_h * (1 - (band.high + 1) / 101)
            h = plot_h * (band.high + 1 - band.low) / 101
            out.append(
                f'<rect x="{x0}" y="{top:.1f}" width="{plot_w}" height="{h:.1f}" '
                f'fill="{BAND_COLOURS[band.band][1]}"/>'
            )

        points = [
            (
                x0 + plot_w * (s.assessed_on - first).days / span,
                y0 + plot_h * (1 - s.score / 101),
            )
            for s in p.scores
        ]
        out.append(
            '<polyline fill="none" stroke="#1d1d1f" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            + '"/>'
        )
        for (x, y), s in zip(points, p.scores, strict=True):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_INK}"/>'
                f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" font-size="10" '
                f'fill="{_INK}">{s.score}</text>'
            )
        # Dates under the points, the first and last kept inside the panel; a date too
        # close to one already written is left out (its point still shows).
        shown: list[float] = []
        last_index = len(points) - 1
        for index_point, ((x, _), s) in enumerate(zip(points, p.scores, strict=True)):
            if index_point not in (0, last_index) and any(abs(x - o) < 60 for o in shown):
                continue
            anchor = (
                "start" if index_point == 0 else "end" if index_point == last_index else "middle"
            )
            shown.append(x)
            out.append(
                f'<text x="{x:.1f}" y="{y0 + plot_h + 14}" text-anchor="{anchor}" '
                f'font-size="9" fill="#444">{s.assessed_on.isoformat()}</text>'
            )
        out.append(
            f'<text x="{x0}" y="{y0 + plot_h + 30}" font-size="10" fill="#444">'
            f"{escape(p.previous_band)} → {escape(p.band)}, "
            f"{escape(labels.changes[p.change])}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def brain_map_lines(
    summary: MapSummary, progress: Sequence[DomainProgress], labels: Labels, width: int = 20
) -> list[str]:
    """One line per domain, top (cognitive) first: a bar, the score, the band, the change."""
    changes = {p.domain: p for p in progress}
    name_width = max(len(labels.domains[d.domain]) for d in summary.domains)
    band_width = max(len(labels.bands[b.band]) for b in summary.bands)
    lines = []
    for d in reversed(summary.domains):
        filled = round(d.score / 100 * width)
        bar = "█" * filled + "░" * (width - filled)
        score = f" {d.score:>3}" if labels.numbers else ""
        line = f"{labels.domains[d.domain]:<{name_width}}  {bar}{score}  {labels.bands[d.band]}"
        change = changes.get(d.domain)
        if change is not None:
            line = f"{line:<{name_width + width + len(score) + band_width + 4}}"
            before = change.scores[-2]
            if labels.numbers:
                delta = d.score - before.score
                line += f"  {delta:+d} since {before.assessed_on.isoformat()}, {change.change}"
            else:
                line += f"  {labels.changes[change.change]}"
        lines.append(line.rstrip())
    return lines
