"""`nmt-rules diff`: how plans change when a ruleset changes, over a set of brain maps.

The first question after editing a rule: which plans change, and how? Every map is planned
with the base rulesets (the installed ones unless `--base` names others) and with the new
ones; per need, the plans where it was added, removed or changed status are counted, with
example map ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from .api import Planner
from .batch import Record, Source, problem_texts, read_record
from .errors import NmtRulesError
from .model import Plan

#: Example map ids shown per change.
EXAMPLES: Final = 3


@attrs.frozen
class NeedChange:
    """One way one need changed, and in which plans."""

    need: str
    change: str  # "added", "removed" or "<status> -> <status>"
    maps: tuple[str, ...]  # subject ids of the maps whose plans changed so


@attrs.frozen
class PlanDiff:
    """What changing the rulesets does to the plans of a set of maps."""

    maps: int
    changed: int
    changes: tuple[NeedChange, ...]
    failed: tuple[str, ...]  # "source: problem" for maps either side could not plan


def records_of(paths: Iterable[Path]) -> Iterator[Record]:
    """Brain maps from map files, folders of them, or JSON Lines files, read as `batch`
    reads them."""
    for path in paths:
        yield from Source.open(str(path)).records()


def diff_plans(
    base: Planner, new: Planner, records: Iterable[Record], setting: str | None = None
) -> PlanDiff:
    """Plan every record on both sides and collect the changes need by need."""
    changes: dict[tuple[str, str], list[str]] = defaultdict(list)
    failed: list[str] = []
    maps = changed = 0
    for record in records:
        maps += 1
        try:
            data = read_record(record)
            before, after = base.plan(data, setting), new.plan(data, setting)
        except NmtRulesError as exc:
            failed += problem_texts(record, exc)
            continue
        found = plan_changes(before, after)
        changed += bool(found)
        for key in found:
            changes[key].append(before.subject_id)
    listed = tuple(
        NeedChange(need, change, tuple(ids))
        for (need, change), ids in sorted(changes.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    return PlanDiff(maps, changed, listed, tuple(failed))


def plan_changes(before: Plan, after: Plan) -> list[tuple[str, str]]:
    """(need, change) for every need added, removed or with another status."""
    old = {item.need: item.status for item in before.items}
    new = {item.need: item.status for item in after.items}
    out = [(need, "added") for need in new if need not in old]
    out += [(need, "removed") for need in old if need not in new]
    out += [
        (need, f"{old[need]} -> {new[need]}")
        for need in new
        if need in old and old[need] != new[need]
    ]
    return out


def diff_to_dict(diff: PlanDiff, base: Sequence[str], new: Sequence[str]) -> dict[str, Any]:
    """The diff as plain data (what `--format json` prints)."""
    return {
        "base": list(base),
        "new": list(new),
        "maps": diff.maps,
        "changed": diff.changed,
        "needs": [
            {"need": c.need, "change": c.change, "plans": len(c.maps), "maps": list(c.maps)}
            for c in diff.changes
        ],
        "failed": list(diff.failed),
    }


def diff_to_text(diff: PlanDiff, base: Sequence[str], new: Sequence[str]) -> str:
    """The diff for a person: how many plans change, then each change, most frequent first."""
    planned = diff.maps - len({f.split(": ", 1)[0] for f in diff.failed})
    lines = [
        f"{diff.changed} of {planned} plans change (base: {', '.join(base)}; new: {', '.join(new)})"
    ]
    width = max((len(c.need) for c in diff.changes), default=0)
    for change in diff.changes:
        shown = ", ".join(change.maps[:EXAMPLES]) + (", ..." if len(change.maps) > EXAMPLES else "")
        count = f"{len(change.maps)} plan{'s' if len(change.maps) != 1 else ''}"
        lines.append(f"  {change.change:<20} {change.need:<{width}}  in {count}, e.g. {shown}")
    return "\n".join(lines) + "\n"
