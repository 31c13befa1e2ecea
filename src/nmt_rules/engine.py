"""Evaluate facts on the durable-rules C core, pass by pass, losing no firing.

The Host API of durable-rules drops firings and runs timer threads (see the durable notes),
so this module drives `durable_rules_engine` directly, with calls serialised per engine
since the C core has no locks of its own.

Each handle keeps one long-lived session and every evaluation asserts its fact, drains the
actions and retracts the fact again. A session per evaluation would be simpler, but
durable-rules 2.0.28 never initialises a new session's action context, so deleting a session
that ran no action frees a garbage pointer and crashes the process at random (seen here
under load). Retracting is also twice as fast as creating and deleting a session.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Final

import attrs
import durable_rules_engine as _core

from .compile import CompiledRule, Program, Shard
from .errors import EngineError
from .vocabulary import Stage

_OK: Final = 0
_NOT_HANDLED: Final = 1  # no rule matched the fact: nothing to run
_RESULTS: Final = {2: "observed (duplicate fact)", 3: "queued"}
#: Actions on the session state object (e.g. of an `exists: false` rule) carry this marker.
_STATE_MARKER: Final = '"$s":1'


@attrs.frozen
class Evaluation:
    """What one evaluation produced: the fired rules in compile order, and the final facts."""

    fired: tuple[CompiledRule, ...]
    facts: Mapping[str, Any]


class Engine:
    """A compiled program loaded into durable-rules handles. Safe to share between threads."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._handles: list[int] = []
        try:
            for shard in (s for shards in program.passes for s in shards):
                self._handles.append(
                    _core.create_ruleset(f"nmt-{shard.name}", shard.durable_json())
                )
        except Exception as exc:  # the C core raises its own bare error type
            _delete_handles(self._handles)
            raise EngineError(f"durable-rules refused the compiled ruleset: {exc}") from exc
        shards = iter(self._handles)
        self._by_pass = [
            [_Session(next(shards), shard, self._new_sid()) for shard in pass_shards]
            for pass_shards in program.passes
        ]
        self._finalizer = weakref.finalize(self, _delete_handles, list(self._handles))

    def close(self) -> None:
        """Free the durable handles now instead of at garbage collection."""
        self._finalizer()

    def evaluate(self, facts: Mapping[str, Any]) -> Evaluation:
        """Run every pass on the facts; derived facts are added between passes."""
        current = dict(facts)
        for path in self.program.derived_paths:
            current[path] = False
        fired: set[int] = set()
        with self._lock:
            for pass_index, sessions in enumerate(self._by_pass):
                if pass_index:
                    update_derived(current, self.program, fired)
                for session in sessions:
                    self._run(session, current, fired)
        update_derived(current, self.program, fired)
        rules = self.program.rules
        return Evaluation(tuple(rules[i] for i in sorted(fired)), current)

    def _new_sid(self) -> str:
        return str(next(self._sessions))

    def _run(self, session: _Session, facts: Mapping[str, Any], fired: set[int]) -> None:
        payload = {k: facts[k] for k in session.shard.keys if k in facts}
        payload["sid"] = session.sid
        payload["id"] = "f"
        fact = json.dumps(payload)
        asserted = False
        try:
            code, state = _core.assert_fact(session.handle, fact)
            asserted = True
            if code not in (_OK, _NOT_HANDLED):
                raise EngineError(
                    f"durable-rules answered {code} ({_RESULTS.get(code, 'unknown')}) on {session.shard.name}"
                )
            if code == _OK:
                result = _core.start_action_for_state(session.handle, state)
                action = result[1] if result else None
                while action:
                    if _STATE_MARKER not in action:
                        # action is '{"r<index>":{...}}': read the index without parsing JSON.
                        fired.add(int(action[3 : action.index('"', 3)]))
                    action = _core.complete_and_start_action(session.handle, state)
            _core.retract_fact(session.handle, fact)
        except Exception as exc:
            # The session may hold a half-evaluated fact: never reuse it.
            session.sid = self._new_sid()
            if isinstance(exc, EngineError):
                raise
            stage = "assert" if not asserted else "drain"
            raise EngineError(
                f"durable-rules failed ({stage}) on {session.shard.name}: {exc}"
            ) from exc


@attrs.define
class _Session:
    """One durable handle, the shard it holds and the session id its facts use."""

    handle: int
    shard: Shard
    sid: str


def update_derived(facts: dict[str, Any], program: Program, fired: set[int]) -> None:
    """Set stage.*.unmet and needs.* from the rules fired so far."""
    raised: set[str] = set()
    unmet: set[Stage] = set()
    for index in fired:
        rule = program.rules[index].rule
        for ref in rule.needs:
            raised.add(ref.id)
            if program.needs[ref.id].kind == "intervention":
                unmet.add(rule.stage)
    for path in program.derived_paths:
        parts = path.split(".")
        facts[path] = parts[1] in unmet if parts[0] == "stage" else parts[1] in raised


def _delete_handles(handles: list[int]) -> None:
    while handles:
        _core.delete_ruleset(handles.pop())
