"""`nmt-rules fmt`: ruleset and catalogue YAML in one canonical key order, comments kept.

ruamel.yaml reads and writes the YAML round trip: comments, quoting, flow mappings
(`{min: 5, max: 18}`) and folded text (`>-`) come back as written, so a formatted file
differs from its source only where keys were out of order, in indentation, or where a
long plain text is folded. PyYAML, which the loaders use, drops comments, so it cannot
do this job.

The order is the one the shipped files use (a test keeps it in step with the loaders'
keys). Catalogue items may give their targeting keys (`placements`, `conditions`,
`release`, `builds_on`) either right after `meets` or after `ages`; fmt keeps each where
it is, in that slot's order.
"""

from __future__ import annotations

import io
import itertools
import textwrap
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import attrs
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString
from ruamel.yaml.tokens import CommentToken

from ._yaml import MAX_DOCUMENT_CHARS, read_text, too_costly
from .check import file_kind
from .errors import Diagnostic
from .vocabulary import BANDS, STAGES

#: Width a plain text written over several lines is folded to (`>-`).
LINE_WIDTH: Final = 88


@attrs.frozen
class Shape:
    """The canonical key order of one kind of mapping, and the shapes of its values."""

    order: tuple[str, ...]
    children: Mapping[str, Shape] = attrs.field(factory=dict)
    lists: Mapping[str, Shape] = attrs.field(factory=dict)  # key -> shape of each item
    each: Shape | None = None  # shape of every value (a mapping of ids)
    #: Keys that may also sit early, right after `early_after`, instead of in their place.
    movable: tuple[str, ...] = ()
    early_after: str | None = None


_AGES: Final = Shape(("min", "max"))
_DOSE: Final = Shape(("frequency", "duration"))
_TARGETING: Final = ("placements", "conditions", "release", "builds_on")
_ITEM_ORDER: Final = (
    "id",
    "meets",
    "title",
    "description",
    "modality",
    "delivered_by",
    "audience",
    "ages",
    *_TARGETING,
    "dose",
    "contraindications",
    "reference",
    "plain",
)
_PLAIN: Final = Shape(("title", "do"))
ITEM: Final = Shape(
    _ITEM_ORDER,
    children={"ages": _AGES, "dose": _DOSE, "plain": _PLAIN},
    movable=_TARGETING,
    early_after="meets",
)
PROTOCOL_ITEM: Final = attrs.evolve(
    ITEM, order=tuple(k for k in _ITEM_ORDER if k != "meets"), early_after="id"
)
NEED: Final = Shape(
    (
        "stage",
        "kind",
        "sequencing",
        "title",
        "description",
        "goal",
        "adult",
        "audience",
        "protocol",
        "plain",
    ),
    children={"adult": Shape(("title", "description")), "plain": _PLAIN},
    lists={"protocol": PROTOCOL_ITEM},
)
RULE: Final = Shape(
    (
        "id",
        "when",
        "needs",
        "cautions",
        "holds",
        "because",
        "priority",
        "indicator",
        "references",
    ),
    lists={
        "cautions": Shape(("text", "needs", "involves", "stages", "sequencing")),
        "holds": Shape(("needs", "by", "until")),
    },
)
RULESET: Final = Shape(
    (
        "ruleset",
        "version",
        "description",
        "applies_to",
        "bands",
        "cut_point_margin",
        "progress",
        "safety",
        "review",
        "needs",
        "stages",
    ),
    children={
        "bands": Shape(BANDS),
        "progress": Shape(("min_change", "sustained_improvements")),
        "safety": Shape(("recent_flag_months",)),
        "review": Shape(("weeks", "severe_weeks", "safety_weeks", "after_release_weeks")),
        "needs": Shape((), each=NEED),
        "stages": Shape(STAGES, lists=dict.fromkeys(STAGES, RULE)),
    },
)
CATALOGUE: Final = Shape(
    ("catalogue", "version", "setting", "description", "vocabulary", "items"),
    children={"vocabulary": Shape(("roles", "modalities"))},
    lists={"items": ITEM},
)
SHAPES: Final = {"ruleset": RULESET, "catalogue": CATALOGUE}


@attrs.frozen
class Formatted:
    """One file's text before and after formatting (None: not a ruleset or catalogue)."""

    path: Path
    before: str
    after: str | None

    @property
    def changed(self) -> bool:
        """Whether formatting changes the file."""
        return self.after is not None and self.after != self.before


def _yaml() -> YAML:
    round_trip = YAML()  # comments, quotes and styles kept
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap: texts written over several lines are folded below
    round_trip.indent(mapping=2, sequence=4, offset=2)
    return round_trip


def format_text(text: str) -> str | None:
    """The text in canonical order, or None when it is not a ruleset or a catalogue.
    Raises ruamel's YAMLError for YAML it cannot read."""
    kind = file_kind(text)
    if kind is None:
        return None
    round_trip = _yaml()
    document = round_trip.load(text)
    if not isinstance(document, CommentedMap):
        return None
    _arrange(document, SHAPES[kind], 0, text.splitlines())
    out = io.StringIO()
    round_trip.dump(document, out)
    return out.getvalue()


def format_file(path: Path) -> Formatted | Diagnostic:
    """Format one file's text (nothing is written), or a diagnostic saying why not."""
    try:
        before = read_text(path, MAX_DOCUMENT_CHARS)
        refused = too_costly(before, str(path))  # ruamel has no limits of its own
        if refused is not None:
            return refused
        after = format_text(before)
        if after is not None and after != before and not _faithful(before, after):
            return Diagnostic(
                str(path),
                1,
                1,
                "error",
                "fmt cannot put these keys in order without moving a comment between them; "
                "order them by hand (docs/golden-cases.md lists the order)",
            )
        return Formatted(path, before, after)
    except (OSError, UnicodeDecodeError) as exc:
        return Diagnostic(str(path), 1, 1, "error", f"cannot read file: {exc}")
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(exc, "problem", None) or exc
        return Diagnostic(str(path), line, col, "error", f"invalid YAML: {problem}")


def _hang_comments_on_the_next_key(node: CommentedMap) -> None:
    """ruamel hangs the comment lines written above a key on the key before it (after its
    end-of-line comment); hang them on the key they stand above, so they move with it."""
    keys = list(node)
    for previous, key in itertools.pairwise(keys):
        entry = node.ca.items.get(previous)
        token = entry[2] if entry else None
        if token is None or "\n" not in token.value:
            continue
        head, rest = token.value.split("\n", 1)
        if not rest:
            continue
        entry[2] = CommentToken(head + "\n", token.start_mark, None) if head.strip() else None
        column = node.lc.key(key)[1]
        above = [
            CommentToken(f"{line.strip()}\n", CommentMark(column if line.strip() else 0), None)
            for line in rest.splitlines()
        ]
        target = node.ca.items.setdefault(key, [None, None, None, None])
        target[1] = above + (target[1] or [])


def _keep_trailing_comments_last(node: CommentedMap, was_last: str, now_last: str) -> None:
    """Comment lines after a mapping's last key belong after the mapping, whichever key
    ends it now."""
    entry = node.ca.items.get(was_last)
    token = entry[2] if entry else None
    if was_last == now_last or token is None or "\n" not in token.value.rstrip("\n"):
        return
    head, rest = token.value.split("\n", 1)
    entry[2] = CommentToken(head + "\n", token.start_mark, None) if head.strip() else None
    target = node.ca.items.setdefault(now_last, [None, None, None, None])
    kept = target[2].value if target[2] is not None else "\n"
    target[2] = CommentToken(kept + rest, token.start_mark, None)


def _lift_first_comment(seq: CommentedSeq, index: int, item: CommentedMap, column: int) -> None:
    """Comment lines above the key that now opens a list item go above the item's `-`."""
    first = next(iter(item), None)
    entry = item.ca.items.get(first) if first is not None else None
    if not entry or not entry[1]:
        return
    above = [
        CommentToken(t.value, CommentMark(column if t.value.strip() else 0), None) for t in entry[1]
    ]
    entry[1] = None
    target = seq.ca.items.setdefault(index, [None, None, None, None])
    target[1] = (target[1] or []) + above


def _faithful(before: str, after: str) -> bool:
    """Whether the formatted text means the same, keeps every comment and is stable (the
    round trip can misplace a comment that sat between keys that moved)."""
    return (
        yaml.safe_load(after) == yaml.safe_load(before)
        and _comments(after) == _comments(before)
        and format_text(after) == after
    )


def _comments(text: str) -> Counter[str]:
    """Every comment of the text (whole-line and end-of-line), as a multiset."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            found[stripped] += 1
        elif " #" in line:
            found[line[line.index(" #") :].strip()] += 1
    return found


def _arrange(node: CommentedMap, shape: Shape, indent: int, source: list[str]) -> None:
    """Put the mapping's keys in the shape's order, recursively; keep texts written over
    several lines on several lines."""
    written = list(node)
    ordered = _ordered(written, shape)
    if ordered != written:
        _hang_comments_on_the_next_key(node)
        for key in ordered:
            node.move_to_end(key)
        _keep_trailing_comments_last(node, written[-1], ordered[-1])
    for key, value in node.items():
        if isinstance(value, CommentedMap):
            child = shape.each if shape.each is not None else shape.children.get(key)
            if child is not None:
                _arrange(value, child, indent + 2, source)
        elif isinstance(value, CommentedSeq) and key in shape.lists:
            for index, item in enumerate(value):
                if isinstance(item, CommentedMap):
                    _arrange(item, shape.lists[key], indent + 4, source)
                    _lift_first_comment(value, index, item, indent + 2)
        elif type(value) is str and _spans_lines(node, key, value, source):
            node[key] = _folded(value, indent + 2)


def _ordered(keys: list[str], shape: Shape) -> list[str]:
    """Keys in canonical order; unknown keys (the loader reports them) keep their place
    at the end; a movable key stays in the slot it is in."""
    rank = {key: float(i) for i, key in enumerate(shape.order)}
    if shape.early_after is not None:
        start = shape.order.index(shape.early_after)
        later = {k for k in shape.order[start + 1 :] if k not in shape.movable}
        for position, key in enumerate(keys):
            # Early when no key that follows `early_after` comes before it in the file.
            if key in shape.movable and later.isdisjoint(keys[:position]):
                rank[key] = start + 0.5 + shape.movable.index(key) / 100
    known = [k for k in keys if k in rank]
    return sorted(known, key=rank.__getitem__) + [k for k in keys if k not in rank]


def _spans_lines(node: CommentedMap, key: str, text: str, source: list[str]) -> bool:
    """Whether a plain text was written over several lines: ruamel reads it as one line
    and would write it back as one, however long."""
    line, col = node.lc.value(key)
    return line < len(source) and len(source[line][col:].split(" #")[0].rstrip()) < len(text)


def _folded(text: str, indent: int) -> str:
    """A plain text folded (`>-`) at word breaks to the line width."""
    if "\n" in text or text != text.strip():
        return text
    lines = textwrap.wrap(text, LINE_WIDTH - indent, break_long_words=False, break_on_hyphens=False)
    if " ".join(lines) != text:  # runs of spaces would not survive folding
        return text
    folded = FoldedScalarString(text)
    positions, offset = [], 0
    for line in lines[:-1]:
        offset += len(line)
        positions.append(offset)
        offset += 1
    folded.fold_pos = positions  # where the emitter breaks the lines
    shown: str = folded  # a str subclass that ruamel writes as `>-`
    return shown
