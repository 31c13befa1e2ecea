"""Calling plugin code at the boundary: guarded, results checked, failures named.

Nothing a plugin does may take a plan down: whatever its code raises (``SystemExit`` and
``KeyboardInterrupt`` included; only a real Ctrl-C from the user goes through) comes back
as a :class:`Raised`, and what it returns is checked before it is used. The edge hooks of
a plugin that fails (an annotator that breaks a plan's guarantees, a sink that raises, an
input format that crashes) are disabled for the rest of the process; each failure is kept
in :attr:`EdgeHooks.failures` and logged on the ``nmt_rules.plugins`` logger.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import Any, Final

import attrs
import pluggy

from .errors import PluginError
from .hookspecs import InputFormat
from .model import Plan, PlanItem

LOG: Final = logging.getLogger("nmt_rules.plugins")


@attrs.frozen
class Raised:
    """What plugin code raised instead of returning."""

    exception: BaseException

    def __str__(self) -> str:
        text = str(self.exception)
        name = type(self.exception).__name__
        return f"{name}: {text}" if text else name


class _SigintWatch:
    """Tells a Ctrl-C the user pressed from a KeyboardInterrupt plugin code raised."""

    def __init__(self) -> None:
        self.pressed = False

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        raise KeyboardInterrupt


@contextlib.contextmanager
def _watch_sigint() -> Iterator[_SigintWatch | None]:
    """In the main thread with Python's own SIGINT handler, note real Ctrl-Cs; None where a
    real Ctrl-C cannot be told apart (the host installed its own handler)."""
    if threading.current_thread() is not threading.main_thread():
        # Signal handlers run in the main thread only: an interrupt here came from code.
        yield _SigintWatch()
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield None
        return
    watch = _SigintWatch()
    signal.signal(signal.SIGINT, watch.handler)
    try:
        yield watch
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def call_guarded(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call plugin code; return what it returns, or a Raised for whatever it raised.

    A KeyboardInterrupt goes through only when the user pressed Ctrl-C (or when that cannot
    be told, because the host handles SIGINT itself)."""
    with _watch_sigint() as watch:
        try:
            return function(*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) and (watch is None or watch.pressed):
                raise
            return Raised(exc)


def call_impl(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one plugin's implementation of a hook, guarded, with the arguments it takes."""
    return call_guarded(impl.function, **{name: kwargs[name] for name in impl.argnames})


def implementations(manager: pluggy.PluginManager, hook: str) -> dict[str, pluggy.HookImpl]:
    """Each plugin's implementation of a hook, by plugin name."""
    caller = getattr(manager.hook, hook, None)
    if caller is None:
        return {}
    return {impl.plugin_name: impl for impl in caller.get_hookimpls()}


@attrs.frozen
class PluginFailure:
    """A plugin whose edge hooks were disabled while the process ran, and why."""

    plugin: str
    hook: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin}: hook {self.hook} {self.message}; its edge hooks are disabled"


class EdgeHooks:
    """The edge hooks (annotators, decision sinks, input formats) of the loaded plugins.

    Shared by every Planner built from the same plugins and safe to use from many threads.
    """

    def __init__(
        self,
        manager: pluggy.PluginManager,
        plugins: Sequence[str],
        input_formats: Mapping[str, tuple[str, InputFormat]] | None = None,
    ) -> None:
        loaded = set(plugins)
        self._annotators = _impls(manager, "nmt_rules_annotate_plan", loaded)
        self._sinks = _impls(manager, "nmt_rules_decision", loaded)
        #: Input formats by name, with the plugin that reads each.
        self.input_formats: Mapping[str, tuple[str, InputFormat]] = dict(input_formats or {})
        self._lock = threading.Lock()
        self._disabled: set[str] = set()
        self._failures: list[PluginFailure] = []

    @property
    def annotators(self) -> tuple[str, ...]:
        """Plugins that annotate plans."""
        return tuple(name for name, _ in self._annotators)

    @property
    def failures(self) -> tuple[PluginFailure, ...]:
        """Every plugin disabled so far, and why."""
        with self._lock:
            return tuple(self._failures)

    def disable(self, plugin: str, hook: str, message: str) -> None:
        """Stop calling the plugin's edge hooks; record and log why."""
        failure = PluginFailure(plugin, hook, message)
        with self._lock:
            if plugin in self._disabled:
                return
            self._disabled.add(plugin)
            self._failures.append(failure)
        LOG.error("%s", failure)

    def _enabled(self, plugin: str) -> bool:
        return plugin not in self._disabled

    def annotate(self, plan: Plan) -> Plan:
        """The plan with each annotator's cautions added, in plugin-name order; an annotator
        that returns anything but the plan with cautions added is disabled, and the plan goes
        on without its annotations."""
        for name, impl in self._annotators:
            if not self._enabled(name):
                continue
            result = call_impl(impl, plan=plan)
            if result is None:
                continue
            problem = (
                str(result) if isinstance(result, Raised) else annotation_problem(plan, result)
            )
            if problem is not None:
                self.disable(name, "nmt_rules_annotate_plan", problem)
                continue
            plan = result
        return plan

    def send_decision(self, record: Mapping[str, Any]) -> None:
        """Give a decision record to every plugin's decision sink; a sink that raises is
        disabled and reported, and the others still get the record."""
        for name, impl in self._sinks:
            if self._enabled(name):
                outcome = call_impl(impl, record=record)
                if isinstance(outcome, Raised):
                    self.disable(name, "nmt_rules_decision", f"raised {outcome}")

    def read_input(self, format_name: str, data: bytes, source: str) -> list[InputRecord]:
        """Read a file's bytes with an input format: one record per brain map in it.

        Raise PluginError when no loaded plugin reads the format, or when the format fails
        on the file (the plugin's edge hooks are then disabled)."""
        found = self.input_formats.get(format_name)
        if found is None or not self._enabled(found[0]):
            known = ", ".join(sorted(self.input_formats)) or "none installed"
            raise PluginError(
                f"no loaded plugin reads input format {format_name!r}; known: {known}"
            )
        plugin, input_format = found
        read = call_guarded(lambda: list(input_format.read(data)))
        problem = str(read) if isinstance(read, Raised) else _records_problem(read)
        if problem is not None:
            message = f"input format {format_name!r} failed on {source}: {problem}"
            self.disable(plugin, "nmt_rules_input_formats", message)
            raise PluginError(f"plugin {plugin}: {message}")
        return [InputRecord(f"{source}:{where}", dict(data)) for where, data in read]


@attrs.frozen
class InputRecord:
    """One brain map an input format read: where it came from (file:label) and its data,
    still to be validated as a brain map."""

    source: str
    data: dict[str, Any]


def _impls(
    manager: pluggy.PluginManager, hook: str, loaded: set[str]
) -> tuple[tuple[str, pluggy.HookImpl], ...]:
    found = implementations(manager, hook)
    return tuple((name, found[name]) for name in sorted(found) if name in loaded)


def _records_problem(records: list[Any]) -> str | None:
    for number, record in enumerate(records, 1):
        if (
            not isinstance(record, tuple)
            or len(record) != 2
            or not isinstance(record[0], str)
            or not isinstance(record[1], Mapping)
        ):
            return f"record {number} is {type(record).__name__}, expected a (where, brain map) pair"
    return None


def annotation_problem(before: Plan, after: object) -> str | None:
    """What an annotator changed beyond adding cautions, or None: safety items stay first,
    critical, `now` and present; no foundation waits; nothing is removed or reordered."""
    if not isinstance(after, Plan):
        return f"returned {type(after).__name__}, expected a Plan or None"
    ids = [item.id for item in after.items]
    for position, item in enumerate(before.items):
        if item.stage != "safety":
            break
        if item.id not in ids:
            return f"removed safety item {item.id!r}"
        if ids.index(item.id) != position:
            return (
                f"moved safety item {item.id!r} from #{position + 1} to #{ids.index(item.id) + 1}"
            )
    if ids != [item.id for item in before.items]:
        return "removed, added or reordered plan items; annotators may only add cautions"
    for old, new in zip(before.items, after.items, strict=True):
        problem = _item_problem(old, new)
        if problem is not None:
            return problem
    if (
        not _adds_only(before.cautions, after.cautions)
        or attrs.evolve(after, items=before.items, cautions=before.cautions) != before
    ):
        return "changed the plan beyond adding cautions"
    return None


def _item_problem(old: PlanItem, new: PlanItem) -> str | None:
    if old.stage == "safety" and (new.status, new.indicator) != ("now", "critical"):
        return f"made safety item {old.id!r} {new.status} and {new.indicator}"
    if new.sequencing == "foundation" and new.status == "deferred" and old.status != "deferred":
        return f"deferred foundation item {old.id!r}; foundations never wait"
    if not _adds_only(old.cautions, new.cautions):
        return f"removed or changed cautions of item {old.id!r}"
    if attrs.evolve(new, cautions=old.cautions) != old:
        changed = [
            a.name
            for a in attrs.fields(PlanItem)
            if a.name != "cautions" and getattr(old, a.name) != getattr(new, a.name)
        ]
        return f"changed {', '.join(changed)} of item {old.id!r}; annotators may only add cautions"
    return None


def _adds_only(before: Sequence[Any], after: Sequence[Any]) -> bool:
    return tuple(after[: len(before)]) == tuple(before)
