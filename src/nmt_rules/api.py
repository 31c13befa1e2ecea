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
from .compile import Program, compile_rulesets
from .engine import Engine, Evaluation
from .errors import UnknownSettingError
from .facts import to_facts
from .model import BrainMap, CatalogueRef, Plan, PluginRef, Provenance, RulesetRef
from .plan import PlanBuilder
from .plugins import PluginSet, load_plugins
from .ruleset import Ruleset, core_ruleset, load_ruleset

RulesetSpec = str | Path | Ruleset | Sequence[str | Path | Ruleset]


def version() -> str:
    """The installed nmt-rules version."""
    try:
        return metadata.version("nmt-rules")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class Planner:
    """Compiled rulesets, catalogues and a durable engine, ready to make plans.

    Build one per process (or use :func:`recommend`, which keeps a default one): compiling
    and loading into durable-rules happens here, once; :meth:`plan` is then cheap and safe
    to call from many threads.
    """

    def __init__(
        self,
        rulesets: Sequence[Ruleset],
        catalogues: Sequence[Catalogue] = (),
        plugins: PluginSet | None = None,
    ) -> None:
        self.plugins = plugins or PluginSet(())
        self.program: Program = compile_rulesets(rulesets)
        self.engine = Engine(self.program)
        self.catalogues = CatalogueIndex(tuple(catalogues))
        self._builder = PlanBuilder(self.program, self.catalogues)
        self._provenance = {
            setting: self._provenance_for(setting) for setting in (None, *self.catalogues.settings)
        }

    def _provenance_for(self, setting: str | None) -> Provenance:
        """What shapes a plan for a setting: every ruleset, and that setting's catalogues and
        the plugins that supplied them or a ruleset."""
        catalogues = [c for c in self.catalogues.catalogues if c.setting == setting]
        shaping = {c.plugin for c in catalogues} | {r.origin for r in self.program.rulesets}
        return Provenance(
            nmt_rules_version=version(),
            rulesets=tuple(
                RulesetRef(r.name, r.version, r.sha256, r.origin) for r in self.program.rulesets
            ),
            catalogues=tuple(
                CatalogueRef(c.name, c.version, c.setting, c.sha256, c.plugin) for c in catalogues
            ),
            plugins=tuple(
                PluginRef(p.name, p.version) for p in self.plugins.loaded if p.name in shaping
            ),
        )

    @classmethod
    def default(cls, plugins: PluginSet | None = None) -> Planner:
        """The core ruleset plus every loaded plugin's rulesets and catalogues."""
        plugins = load_plugins() if plugins is None else plugins
        return cls([core_ruleset(), *plugins.rulesets], plugins.catalogues, plugins)

    @property
    def settings(self) -> tuple[str, ...]:
        """Settings some loaded catalogue serves."""
        return self.catalogues.settings

    def evaluate(
        self, brain_map: BrainMap | Mapping[str, Any], setting: str | None = None
    ) -> Evaluation:
        """Facts and fired rules of one brain map, before any plan is built."""
        return self.plan_and_evaluation(brain_map, setting)[1]

    def plan(self, brain_map: BrainMap | Mapping[str, Any], setting: str | None = None) -> Plan:
        """The sequenced, explained plan for one brain map."""
        return self.plan_and_evaluation(brain_map, setting)[0]

    def plan_and_evaluation(
        self, brain_map: BrainMap | Mapping[str, Any], setting: str | None = None
    ) -> tuple[Plan, Evaluation]:
        """The plan and the evaluation it was built from (what `explain` shows)."""
        if not isinstance(brain_map, BrainMap):
            brain_map = parse_brain_map(brain_map)
        if setting is not None and setting != brain_map.setting:
            # Rules may test `setting`, so the requested one must reach the facts too.
            brain_map = attrs.evolve(brain_map, setting=setting)
        if brain_map.setting is not None:
            self.check_setting(brain_map.setting)
        evaluation = self.engine.evaluate(to_facts(brain_map, self.program.fact_config))
        plan = self._builder.build(
            brain_map, evaluation, self._provenance[brain_map.setting], brain_map.setting
        )
        return plan, evaluation

    def close(self) -> None:
        """Free the planner's durable-rules handles and sessions now, not at garbage
        collection; it cannot plan afterwards."""
        self.engine.close()

    def for_this_process(self) -> Planner:
        """This planner with a durable engine of its own, for a process forked from the one
        that built it: durable handles belong to a process, while the compiled rulesets,
        catalogues and what the plan builder has cached can be used as they are."""
        renewed = copy.copy(self)
        renewed.engine = Engine(self.program)
        return renewed

    def check_setting(self, setting: str) -> None:
        """Raise UnknownSettingError unless some loaded catalogue serves the setting."""
        if setting not in self.catalogues.settings:
            failed = [f"{p.name}: {p.error}" for p in self.plugins.failed]
            raise UnknownSettingError(setting, self.catalogues.settings, failed)


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


_custom: dict[tuple[tuple[str, str], ...], Planner] = {}
_CUSTOM_LIMIT = 8


def planner_for(rulesets: tuple[Ruleset, ...]) -> Planner:
    """A Planner running these rulesets with the installed catalogues; kept (a few at a
    time) so repeated calls do not recompile."""
    key = tuple((r.name, r.sha256) for r in rulesets)
    with _default_lock:
        planner = _custom.pop(key, None)
        if planner is not None:  # most recently used last: the first is evicted
            _custom[key] = planner
    if planner is None:
        base = default_planner()
        planner = Planner(rulesets, base.catalogues.catalogues, base.plugins)
        with _default_lock:
            if len(_custom) >= _CUSTOM_LIMIT:
                _custom.pop(next(iter(_custom)))
            _custom[key] = planner
    return planner
