"""The decision log: one SQLite row per plan given, for audit ("which plan, from what, when").

Every interface (HTTP, CDS Hooks, batch, CLI) records a plan with :meth:`DecisionLog.record`.
A row holds the time, the interface, the plan id, a digest of the input, the rulesets,
catalogues and plugins with their versions and sha256, and each item's id, status and
indicator; never the subject's id, scores or free text unless the log was opened with
``log_identifiers=True``. CDS Hooks cards issued for a plan and the feedback on them are kept
beside it. SQLite in WAL mode lets several server workers write one file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import orjson

from ._convert import converter
from .errors import FieldProblem, InputError
from .model import BrainMap, Plan

Interface = Literal["http", "cds", "batch", "cli"]
ExportFormat = Literal["jsonl", "csv"]

_SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    interface TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    setting TEXT,
    nmt_rules_version TEXT NOT NULL,
    rulesets TEXT NOT NULL,
    catalogues TEXT NOT NULL,
    plugins TEXT NOT NULL,
    items TEXT NOT NULL,
    hook_instance TEXT,
    subject_id TEXT,
    brain_map TEXT
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time);
CREATE TABLE IF NOT EXISTS cards (
    uuid TEXT PRIMARY KEY,
    decision INTEGER NOT NULL REFERENCES decisions (id),
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    card TEXT NOT NULL REFERENCES cards (uuid),
    outcome TEXT NOT NULL,
    outcome_timestamp TEXT NOT NULL,
    override_reason TEXT,
    accepted_suggestions TEXT,
    user_comment TEXT
);
"""
#: Columns of an exported decision, in order (CSV header; JSON Lines keys).
EXPORT_FIELDS: Final = (
    "time",
    "interface",
    "plan_id",
    "input_sha256",
    "setting",
    "nmt_rules_version",
    "rulesets",
    "catalogues",
    "plugins",
    "items",
    "hook_instance",
    "cards",
    "feedback",
    "subject_id",
    "brain_map",
)
_JSON_FIELDS: Final = frozenset({"rulesets", "catalogues", "plugins", "items", "brain_map"})


def input_digest(brain_map: BrainMap) -> str:
    """sha256 of the brain map as canonical JSON: the same input always gives the same digest."""
    data = orjson.dumps(converter.unstructure(brain_map), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class DecisionLog:
    """An open decision log; safe to share between threads. Use as a context manager."""

    def __init__(
        self,
        path: str | Path,
        *,
        log_identifiers: bool = False,
        sink: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        """Open (or create) a log; `sink` receives every decision recorded, as the exported
        record (plugins' decision sinks: ``Planner.send_decision``)."""
        self.path = Path(path)
        self.log_identifiers = log_identifiers
        self._sink = sink
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, fast commits
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise InputError(
                    [FieldProblem("", f"decision log schema {version} is not {_SCHEMA_VERSION}")],
                    str(self.path),
                )
            with self._db:
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise InputError(
                [FieldProblem("", f"cannot open decision log: {exc}")], str(self.path)
            ) from None
        self._lock = threading.Lock()

    def record(
        self,
        plan: Plan,
        brain_map: BrainMap,
        interface: Interface,
        *,
        hook_instance: str | None = None,
        cards: Mapping[str, str] | None = None,
    ) -> None:
        """Record one plan given through an interface; ``cards`` maps CDS card uuids to kinds.
        The sink, if any, then receives the same decision as `nmt-rules log` exports it."""
        p = plan.provenance
        record: dict[str, Any] = {
            "time": _now(),
            "interface": interface,
            "plan_id": plan.plan_id,
            "input_sha256": input_digest(brain_map),
            "setting": plan.setting,
            "nmt_rules_version": p.nmt_rules_version,
            "rulesets": converter.unstructure(p.rulesets),
            "catalogues": converter.unstructure(p.catalogues),
            "plugins": converter.unstructure(p.plugins),
            "items": [
                {"id": i.id, "status": i.status, "indicator": i.indicator} for i in plan.items
            ],
            "hook_instance": hook_instance,
            "subject_id": plan.subject_id if self.log_identifiers else None,
            "brain_map": converter.unstructure(brain_map) if self.log_identifiers else None,
        }
        row = tuple(
            _json(value) if key in _JSON_FIELDS and value is not None else value
            for key, value in record.items()
        )
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO decisions (time, interface, plan_id, input_sha256, setting,"
                " nmt_rules_version, rulesets, catalogues, plugins, items, hook_instance,"
                " subject_id, brain_map) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO cards (uuid, decision, kind) VALUES (?, ?, ?)",
                [(uuid, cursor.lastrowid, kind) for uuid, kind in (cards or {}).items()],
            )
        if self._sink is not None:
            record["cards"] = [{"uuid": u, "kind": k} for u, k in (cards or {}).items()]
            record["feedback"] = []
            self._sink(record)

    def unknown_cards(self, uuids: Sequence[str]) -> list[str]:
        """The card uuids this log has no record of issuing."""
        with self._lock:
            known = {
                row[0]
                for row in self._db.execute(
                    f"SELECT uuid FROM cards WHERE uuid IN ({','.join('?' * len(uuids))})",
                    tuple(uuids),
                )
            }
        return [u for u in uuids if u not in known]

    def record_feedback(self, feedback: Sequence[Mapping[str, Any]]) -> None:
        """Record CDS Hooks feedback entries (already validated) on cards this log issued.
        Override reasons are codes; the clinician's free-text comment is kept only with
        ``log_identifiers``."""
        rows = [
            (
                _now(),
                f["card"],
                f["outcome"],
                f["outcomeTimestamp"],
                _json(f["overrideReason"]["reason"])
                if "reason" in f.get("overrideReason", {})
                else None,
                _json(f["acceptedSuggestions"]) if "acceptedSuggestions" in f else None,
                f.get("overrideReason", {}).get("userComment") if self.log_identifiers else None,
            )
            for f in feedback
        ]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO feedback (time, card, outcome, outcome_timestamp, override_reason,"
                " accepted_suggestions, user_comment) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_decisions(path: str | Path, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every decision in the log (from ``since``, UTC, on), oldest first, with its cards and
    the feedback on them."""
    path = Path(path)
    if not path.is_file():
        raise InputError([FieldProblem("", "no decision log here")], str(path))
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        start = since.astimezone(dt.UTC).isoformat(timespec="milliseconds") if since else ""
        start = start.replace("+00:00", "Z")
        rows = db.execute(
            "SELECT * FROM decisions WHERE time >= ? ORDER BY time, id", (start,)
        ).fetchall()
        cards = db.execute("SELECT uuid, decision, kind FROM cards").fetchall()
        feedback = db.execute("SELECT * FROM feedback ORDER BY time, id").fetchall()
        db.close()
    except sqlite3.Error as exc:
        raise InputError(
            [FieldProblem("", f"cannot read decision log: {exc}")], str(path)
        ) from None
    card_rows: dict[int, list[dict[str, str]]] = {}
    decision_of: dict[str, int] = {}
    for card in cards:
        card_rows.setdefault(card["decision"], []).append(
            {"uuid": card["uuid"], "kind": card["kind"]}
        )
        decision_of[card["uuid"]] = card["decision"]
    notes: dict[int, list[dict[str, Any]]] = {}
    for f in feedback:
        entry = {
            "card": f["card"],
            "outcome": f["outcome"],
            "outcome_timestamp": f["outcome_timestamp"],
            "received": f["time"],
            "override_reason": orjson.loads(f["override_reason"]) if f["override_reason"] else None,
            "accepted_suggestions": (
                orjson.loads(f["accepted_suggestions"]) if f["accepted_suggestions"] else None
            ),
            "user_comment": f["user_comment"],
        }
        notes.setdefault(decision_of.get(f["card"], -1), []).append(entry)
    for row in rows:
        out: dict[str, Any] = {}
        for field in EXPORT_FIELDS:
            if field == "cards":
                out[field] = card_rows.get(row["id"], [])
            elif field == "feedback":
                out[field] = notes.get(row["id"], [])
            else:
                value = row[field]
                out[field] = orjson.loads(value) if field in _JSON_FIELDS and value else value
        yield out


def export_decisions(
    path: str | Path, fmt: ExportFormat = "jsonl", since: dt.datetime | None = None
) -> Iterator[str]:
    """The log as JSON Lines (one decision a line) or CSV (nested values as JSON text)."""
    if fmt == "jsonl":
        for decision in read_decisions(path, since):
            yield _json(decision) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for decision in read_decisions(path, since):
        writer.writerow(
            {k: _json(v) if isinstance(v, list | dict) else v for k, v in decision.items()}
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
