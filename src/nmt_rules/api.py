"""The Python API: a Planner holds compiled rulesets and catalogues; recommend() uses one."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

from .brainmap import parse_brain_map
from .catalogue import Catalogue, CatalogueIndex
from .compile import Evaluation, Program, compile_rulesets
from .engine import Engine
from .errors import FieldProblem, InputError, UnknownSettingError
from .facts import to_facts
from .model import BrainMap, CatalogueRef, Plan, PluginRef, Provenance, RulesetRef
from .plan import PlanBuilder
from .plugin_calls import InputRecord, PluginFailure
from .plugins import PluginSet, load_plugins
from .rules import Need, Rule, Ruleset
from .ruleset import core_ruleset, load_ruleset

RulesetSpec = str | Path | Ruleset | Sequence[str | Path | Ruleset]


def version() -> str:
    """The installed nmt-rules version."""
    try:
        return metadata.version("nmt-rules")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@attrs.frozen
class PlannerInternals:
    """What a Planner compiled, for nmt-rules' own tools (golden cases, explain, the
    benchmark). Not part of the stable API: these types change as the engine does."""

    program: Program
    engine: Engine
    catalogue_index: CatalogueIndex


class Planner:
    """Compiled rulesets, catalogues and a durable engine, ready to make plans.

    Build one per process (or use :func:`recommend`, which keeps a default one): compiling
    and loading into durable-rules happens here, once; :meth:`plan` is then cheap and safe
    to call from many threads. :meth:`close` (or ``with Planner(...) as planner:``) frees the
    engine's handles at once instead of at garbage collection.
    """

    def __init__(
        self,
        rulesets: Sequence[Ruleset],
        catalogues: Sequence[Catalogue] = (),
        plugins: PluginSet | None = None,
    ) -> None:
        self._plugins = plugins or PluginSet()
        self._program: Program = compile_rulesets(rulesets)
        self._engine = Engine(self._program)
        self._catalogues = CatalogueIndex(tuple(catalogues))
        self._builder = PlanBuilder(self._program, self._catalogues)
        self._edges = self._plugins.edges
        shipped = {core_ruleset().sha256, *(r.sha256 for r in self._plugins.rulesets)}
        self._provenance = {
            setting: self._provenance_for(setting, shipped)
            for setting in (None, *self._catalogues.settings)
        }

    def _provenance_for(self, setting: str | None, shipped: set[str]) -> Provenance:
        """What shapes a plan for a setting: every ruleset (a draft unless shipped), that
        setting's catalogues, and the plugins that supplied them, a ruleset or annotations."""
        catalogues = [c for c in self._catalogues.catalogues if c.setting == setting]
        shaping = (
            {c.plugin for c in catalogues}
            | {r.origin for r in self._program.rulesets}
            | set(self._edges.annotators)
        )
        return Provenance(
            nmt_rules_version=version(),
            rulesets=tuple(
                RulesetRef(r.name, r.version, r.sha256, r.origin, r.sha256 not in shipped)
                for r in self._program.rulesets
            ),
            catalogues=tuple(
                CatalogueRef(c.name, c.version, c.setting, c.sha256, c.plugin) for c in catalogues
            ),
            plugins=tuple(
                PluginRef(p.name, p.version) for p in self._plugins.loaded if p.name in shaping
            ),
        )

    @classmethod
    def default(cls, plugins: PluginSet | None = None) -> Planner:
        """The core ruleset plus every loaded plugin's rulesets and catalogues."""
        plugins = load_plugins() if plugins is None else plugins
        return cls([core_ruleset(), *plugins.rulesets], plugins.catalogues, plugins)

    def __enter__(self) -> Planner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the durable-rules handles now; the Planner makes no plans after this."""
        self._engine.close()

    @property
    def settings(self) -> tuple[str, ...]:
        """Settings some loaded catalogue serves."""
        return self._catalogues.settings

    @property
    def rulesets(self) -> tuple[Ruleset, ...]:
        """The rulesets this Planner runs, primary first."""
        return self._program.rulesets

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule of every ruleset, in compile order."""
        return tuple(c.rule for c in self._program.rules)

    @property
    def needs(self) -> Mapping[str, Need]:
        """Every declared need, by id."""
        return self._program.needs

    @property
    def catalogues(self) -> tuple[Catalogue, ...]:
        """Every loaded catalogue."""
        return self._catalogues.catalogues

    @property
    def plugins(self) -> PluginSet:
        """The plugins considered (loaded and disabled) and their edge hooks."""
        return self._plugins

    @property
    def plugin_failures(self) -> tuple[PluginFailure, ...]:
        """Plugins whose edge hooks were disabled while planning, and why."""
        return self._edges.failures

    @property
    def internals(self) -> PlannerInternals:
        """The compiled program, engine and catalogue index (for nmt-rules' own tools)."""
        return PlannerInternals(self._program, self._engine, self._catalogues)

    def evaluate(
        self, brain_map: BrainMap | Mapping[str, Any], setting: str | None = None
    ) -> Evaluation:
        """Facts and fired rules of one brain map; no plan is built."""
        return self._engine.evaluate(self._facts(self._brain_map(brain_map, setting)))

    def plan(self, brain_map: BrainMap | Mapping[str, Any], setting: str | None = None) -> Plan:
        """The sequenced, explained plan for one brain map."""
        return self.plan_and_evaluation(brain_map, setting)[0]

    def plan_and_evaluation(
        self, brain_map: BrainMap | Mapping[str, Any], setting: str | None = None
    ) -> tuple[Plan, Evaluation]:
        """The plan and the evaluation it was built from (what `explain` shows)."""
        parsed = self._brain_map(brain_map, setting)
        evaluation = self._engine.evaluate(self._facts(parsed))
        plan = self._builder.build(
            parsed, evaluation, self._provenance[parsed.setting], parsed.setting
        )
        if self._edges.annotators:
            plan = self._edges.annotate(plan)
        return plan, evaluation

    def _brain_map(self, brain_map: BrainMap | Mapping[str, Any], setting: str | None) -> BrainMap:
        if not isinstance(brain_map, BrainMap):
            brain_map = parse_brain_map(brain_map)
        if setting is not None and setting != brain_map.setting:
            # Rules may test `setting`, so the requested one must reach the facts too.
            brain_map = attrs.evolve(brain_map, setting=setting)
        if brain_map.setting is not None:
            self.check_setting(brain_map.setting)
        return brain_map

    def _facts(self, brain_map: BrainMap) -> dict[str, Any]:
        return to_facts(brain_map, self._program.fact_config)

    def for_this_process(self) -> Planner:
        """This planner with a durable engine of its own, for a process forked from the one
        that built it: durable handles belong to a process, while the compiled rulesets,
        catalogues and what the plan builder has cached can be used as they are."""
        renewed = copy.copy(self)
        renewed._engine = Engine(self._program)
        return renewed

    def check_setting(self, setting: str) -> None:
        """Raise UnknownSettingError unless some loaded catalogue serves the setting."""
        if setting not in self._catalogues.settings:
            failed = [f"{p.name}: {p.error}" for p in self._plugins.failed]
            raise UnknownSettingError(setting, self._catalogues.settings, failed)

    def read_input(self, format_name: str, path: str | Path) -> list[InputRecord]:
        """Read an agency's own export with a plugin's input format (``--from NAME``): one
        record per brain map, each still to be validated. Raise PluginError for an unknown
        format or one that fails on the file, InputError for a file that cannot be read."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError([FieldProblem("", f"cannot read file: {exc}")], str(path)) from None
        return self._edges.read_input(format_name, data, str(path))

    def send_decision(self, record: Mapping[str, Any]) -> None:
        """Give one decision record to every plugin's decision sink (when the host logs
        decisions); a sink that raises is disabled and reported, never the caller's problem."""
        self._edges.send_decision(record)


_default: Planner | None = None
_default_lock = threading.Lock()


def default_planner() -> Planner:
    """The process-wide default Planner, built on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Planner.default()
        return _default


def recommend(
    brain_map: BrainMap | Mapping[str, Any],
    setting: str | None = None,
    ruleset: RulesetSpec | None = None,
) -> Plan:
    """Plan for one brain map (a parsed YAML/JSON mapping or a BrainMap).

    ``setting`` overrides the map's own; ``ruleset`` (paths or Ruleset objects) replaces the
    core ruleset and plugins' rulesets for this call, keeping the plugins' catalogues.
    """
    return planner_with(ruleset).plan(brain_map, setting)


def planner_with(ruleset: RulesetSpec | None = None) -> Planner:
    """The default planner, or one running these rulesets (paths or Ruleset objects; none
    means the default) with the installed catalogues."""
    specs = [ruleset] if isinstance(ruleset, str | Path | Ruleset) else list(ruleset or ())
    if not specs:
        return default_planner()
    return planner_for(tuple(r if isinstance(r, Ruleset) else load_ruleset(r) for r in specs))


_custom: dict[tuple[tuple[str, str, str], ...], Planner] = {}
_CUSTOM_LIMIT = 8


def planner_for(rulesets: tuple[Ruleset, ...]) -> Planner:
    """A Planner running these rulesets with the installed catalogues; kept (a few at a
    time) so repeated calls do not recompile."""
    key = tuple((r.name, r.sha256, r.origin) for r in rulesets)
    with _default_lock:
        planner = _custom.pop(key, None)
        if planner is not None:  # most recently used last: the first is evicted
            _custom[key] = planner
    if planner is None:
        base = default_planner()
        planner = Planner(rulesets, base.catalogues, base.plugins)
        with _default_lock:
            if len(_custom) >= _CUSTOM_LIMIT:
                _custom.pop(next(iter(_custom)))
            _custom[key] = planner
    return planner
