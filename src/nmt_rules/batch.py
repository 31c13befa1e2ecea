"""Plan many brain maps at once: bad records are reported and the rest go on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from .api import Planner
from .brainmap import load_brain_map
from .errors import FieldProblem, InputError, NmtRulesError
from .model import BrainMap
from .report import plan_to_dict


@attrs.frozen
class Record:
    """One input record: where it came from and its data, or why it could not be read."""

    source: str
    data: BrainMap | dict[str, Any] | None = None
    error: InputError | None = None


def read_records(path: str | Path) -> tuple[int, Iterator[Record]]:
    """How many records a JSON Lines file (one map per line) or a folder of YAML/JSON map
    files holds, and the records themselves, parsed one at a time as they are iterated."""
    path = Path(path)
    if path.is_dir():
        files = _map_files(path)
        return len(files), (_load(file) for file in files)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([FieldProblem("", f"cannot read file: {exc}")], str(path)) from None
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    return len(numbered), (_parse_line(f"{path}:{n}", line) for n, line in numbered)


def _load(file: Path) -> Record:
    try:
        return Record(str(file), load_brain_map(file))
    except InputError as exc:
        return Record(str(file), error=exc)


def _parse_line(source: str, line: str) -> Record:
    try:
        return Record(source, json.loads(line))
    except json.JSONDecodeError as exc:
        problem = FieldProblem("", f"invalid JSON at column {exc.colno}: {exc.msg}")
        return Record(source, error=InputError([problem], source))


def _map_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml", ".json"))


def plan_record(planner: Planner, record: Record, setting: str | None) -> dict[str, Any]:
    """The output line for one record: its plan, or its errors by field path."""
    if record.error is not None:
        return {"source": record.source, "errors": _errors(record.error)}
    assert record.data is not None
    try:
        plan = planner.plan(record.data, setting)
    except InputError as exc:
        return {"source": record.source, "errors": _errors(exc)}
    except NmtRulesError as exc:
        return {"source": record.source, "errors": [{"path": "", "message": str(exc)}]}
    return {"source": record.source, "plan": plan_to_dict(plan)}


def _errors(error: InputError) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message} for p in error.problems]
