"""Evaluate facts on the durable-rules C core, pass by pass, losing no firing.

The Host API of durable-rules was reported to drop firings (one action run where eleven
rules matched; our benchmark's maps lost none), runs timer threads and is several times
slower, so this module drives `durable_rules_engine` directly, with calls serialised per engine since the C core has no
locks of its own. docs/engine.md has the whole picture.

Each handle keeps one long-lived session and every evaluation asserts its fact, drains the
actions and retracts the fact again. A session per evaluation would be simpler, but
durable-rules 2.0.28 never initialises a new session's action context, so deleting a session
that ran no action frees a garbage pointer and crashes the process at random (seen here
under load). Retracting is also twice as fast as creating and deleting a session.

`delete_ruleset` does not free a handle's sessions (about 1.6 MiB each on the core ruleset),
so closing an engine must delete them first, which is only safe once each has run an action.
Every handle therefore carries one more rule, on the state object durable-rules asserts when
a session is created, and the engine opens each session by draining that rule's action.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Final

import durable_rules_engine as _core
import orjson

from .compile import Evaluation, Program, set_derived
from .errors import EngineError

_OK: Final = 0
_NOT_HANDLED: Final = 1  # no rule matched the fact: nothing to run
_RESULTS: Final = {2: "observed (duplicate fact)", 3: "queued"}
#: Actions on the session state object (e.g. of an `exists: false` rule) end with this; a
#: fact's action ends with the fact's "id" instead. Checking the end spares a scan of the fact.
_STATE_END: Final = '"$s":1}}}'
#: Fires once per session, on the state object that creating the session asserts: running
#: an action initialises the session's action context, which delete_state frees.
_OPEN_RULE: Final = {"nmt-open": {"all": [{"m": {"$s": 1}}]}}


class Engine:
    """A compiled program loaded into durable-rules handles. Safe to share between threads."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        handles: list[int] = []
        #: Every session opened, as (handle, session id): only these are ever deleted, since
        #: deleting a session durable never opened (or never ran an action in) crashes it.
        opened: list[tuple[int, str]] = []
        try:
            for shard in (s for shards in program.passes for s in shards):
                rules = {**json.loads(shard.durable_json()), **_OPEN_RULE}
                handles.append(_core.create_ruleset(f"nmt-{shard.name}", json.dumps(rules)))
        except Exception as exc:  # the C core raises its own bare error type
            _delete(handles, opened)
            raise EngineError(f"durable-rules refused the compiled ruleset: {exc}") from exc
        numbered = iter(handles)
        # Per pass: the fact keys its handles read, and each handle with its shard's name.
        self._passes = [
            (
                tuple(sorted({k for shard in shards for k in shard.keys})),
                [(next(numbered), shard.name) for shard in shards],
            )
            for shards in program.passes
        ]
        self._handles = handles
        self._opened = opened
        self._finalizer = weakref.finalize(self, _delete, handles, opened)
        #: Set when an evaluation failed midway: its session may hold a half-evaluated fact,
        #: so the next evaluation starts on a new one.
        self._renew = False
        self._sid = self._open_session()

    def _open_session(self) -> str:
        """A new session id, created on every handle and its opening action drained."""
        sid = str(next(self._sessions))
        fact = orjson.dumps({"sid": sid, "id": "open"}).decode()
        try:
            for handle in self._handles:
                code, state = _core.assert_fact(handle, fact)
                if code not in (_OK, _NOT_HANDLED):
                    raise EngineError(f"durable-rules answered {code} to a new session")
                # Whatever fires on the bare fact (rules testing only `exists: false`) and the
                # opening rule itself: drained and ignored.
                result = _core.start_action_for_state(handle, state)
                while result:
                    result = _core.complete_and_start_action(handle, state)
                self._opened.append((handle, sid))
                _core.retract_fact(handle, fact)
        except Exception as exc:
            if isinstance(exc, EngineError):
                raise
            raise EngineError(f"durable-rules failed to open a session: {exc}") from exc
        return sid

    def _renew_session(self) -> None:
        """Move to a new session and free the old one (durable keeps at most about 1,024
        sessions per handle)."""
        old, self._sid = self._sid, self._open_session()
        self._renew = False
        closing = [pair for pair in self._opened if pair[1] == old]
        self._opened[:] = [pair for pair in self._opened if pair[1] != old]
        _delete_sessions(closing)

    def close(self) -> None:
        """Free the durable handles and their sessions now instead of at garbage collection."""
        self._finalizer()

    def evaluate(self, facts: Mapping[str, Any]) -> Evaluation:
        """Run every pass on the facts; derived facts are added between passes."""
        program = self.program
        # Derived facts start false (overriding any the caller passed) and turn true as
        # the rules that set them fire.
        current = {**facts, **program.derived_false}
        fired: list[int] = []
        done = 0
        with self._lock:
            if self._renew:
                self._renew_session()
            for keys, handles in self._passes:
                set_derived(current, program, fired[done:])
                done = len(fired)
                # One fact JSON per pass, holding the keys its handles read, encoded once
                # (orjson: a tenth of the time of the standard library's encoder here). The
                # session id and a fixed "id" keep durable from calling it a duplicate.
                fact = {k: current[k] for k in keys if k in current}
                fact["sid"] = self._sid
                fact["id"] = "f"
                fact_json = orjson.dumps(fact).decode()
                for handle, name in handles:
                    self._run(handle, name, fact_json, fired)
        set_derived(current, program, fired[done:])
        rules = program.rules
        # A rule whose condition has alternatives may fire once per alternative that holds.
        return Evaluation(tuple([rules[i] for i in sorted(set(fired))]), current)

    def _run(self, handle: int, name: str, fact: str, fired: list[int]) -> None:
        """Assert the fact on one handle, collect what fires, and retract it again."""
        asserted = False
        try:
            code, state = _core.assert_fact(handle, fact)
            asserted = True
            if code == _OK:
                result = _core.start_action_for_state(handle, state)
                action = result[1] if result else None
                while action:
                    if not action.endswith(_STATE_END):
                        # action is '{"r<index>":{...}}': read the index without parsing JSON.
                        fired.append(int(action[3 : action.index('"', 3)]))
                    action = _core.complete_and_start_action(handle, state)
            elif code != _NOT_HANDLED:
                raise EngineError(
                    f"durable-rules answered {code} ({_RESULTS.get(code, 'unknown')}) on {name}"
                )
            retracted, _ = _core.retract_fact(handle, fact)
            if retracted not in (_OK, _NOT_HANDLED):
                # A fact left behind would match again in the next evaluation.
                raise EngineError(f"durable-rules answered {retracted} to a retraction on {name}")
        except Exception as exc:
            # A session may hold a half-evaluated fact: never reuse it. Every handle moves to
            # a new session id at the next evaluation (failures are rare; one id for all
            # keeps one JSON per pass).
            self._renew = True
            if isinstance(exc, EngineError):
                raise
            stage = "assert" if not asserted else "drain"
            raise EngineError(f"durable-rules failed ({stage}) on {name}: {exc}") from exc


def _delete(handles: list[int], opened: list[tuple[int, str]]) -> None:
    """Delete every session opened, then the handles."""
    _delete_sessions(opened)
    opened.clear()
    while handles:
        _core.delete_ruleset(handles.pop())


def _delete_sessions(opened: list[tuple[int, str]]) -> None:
    for handle, sid in opened:
        with contextlib.suppress(Exception):  # the C core's own error type
            _core.delete_state(handle, sid)
