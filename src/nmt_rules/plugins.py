"""Find, load and check setting plugins (pluggy, entry-point group ``nmt_rules``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import attrs
import pluggy

from . import hookspecs
from .catalogue import Catalogue, parse_catalogue
from .errors import NmtRulesError
from .ruleset import Ruleset, parse_ruleset

ENTRY_POINT_GROUP: Final = "nmt_rules"
#: Comma-separated plugin names to load; unset loads all, empty or "none" loads none.
PLUGINS_ENV: Final = "NMT_RULES_PLUGINS"


@attrs.frozen
class PluginInfo:
    """One plugin: what it provides, or why it failed."""

    name: str
    version: str
    catalogues: tuple[Catalogue, ...] = ()
    rulesets: tuple[Ruleset, ...] = ()
    error: str | None = None

    @property
    def settings(self) -> tuple[str, ...]:
        """Settings this plugin's catalogues serve."""
        return tuple(sorted({c.setting for c in self.catalogues}))

    def summary(self) -> dict[str, Any]:
        """What `nmt-rules plugins --format json` and the HTTP API report for this plugin."""
        return {
            "name": self.name,
            "version": self.version,
            "settings": list(self.settings),
            "catalogues": [
                {"name": c.name, "version": c.version, "setting": c.setting, "items": len(c.items)}
                for c in self.catalogues
            ],
            "rulesets": [
                {"name": r.name, "version": r.version, "rules": len(r.rules)} for r in self.rulesets
            ],
            "error": self.error,
        }


@attrs.frozen
class PluginSet:
    """Every plugin considered, loaded or failed."""

    plugins: tuple[PluginInfo, ...]

    @property
    def loaded(self) -> tuple[PluginInfo, ...]:
        """Plugins that loaded cleanly."""
        return tuple(p for p in self.plugins if p.error is None)

    @property
    def failed(self) -> tuple[PluginInfo, ...]:
        """Plugins that failed, with their errors."""
        return tuple(p for p in self.plugins if p.error is not None)

    @property
    def catalogues(self) -> tuple[Catalogue, ...]:
        """Catalogues of every loaded plugin."""
        return tuple(c for p in self.loaded for c in p.catalogues)

    @property
    def rulesets(self) -> tuple[Ruleset, ...]:
        """Extra rulesets of every loaded plugin."""
        return tuple(r for p in self.loaded for r in p.rulesets)


def plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows nmt-rules' hook specifications."""
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    return manager


def load_plugins(environ: Mapping[str, str] | None = None) -> PluginSet:
    """Load installed plugins chosen by NMT_RULES_PLUGINS; failures are recorded, not raised."""
    environ = os.environ if environ is None else environ
    wanted = _wanted(environ.get(PLUGINS_ENV))
    found = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    plugins = []
    for entry in found:
        if wanted is not None and entry.name not in wanted:
            continue
        plugins.append(_load_entry_point(entry))
    for missing in sorted((wanted or set()) - {e.name for e in found}):
        plugins.append(
            PluginInfo(
                missing, "?", error=f"{PLUGINS_ENV} names {missing!r}, which is not installed"
            )
        )
    return PluginSet(tuple(plugins))


def _wanted(value: str | None) -> set[str] | None:
    if value is None:
        return None
    names = {n.strip() for n in value.split(",") if n.strip()}
    return set() if names <= {"none"} else names


def _load_entry_point(entry: metadata.EntryPoint) -> PluginInfo:
    version = entry.dist.version if entry.dist else "?"
    try:
        module = entry.load()
    except Exception as exc:  # a plugin's import may fail any way; report it by name
        return PluginInfo(
            entry.name, version, error=f"cannot import {entry.value}: {type(exc).__name__}: {exc}"
        )
    return load_plugin_module(entry.name, version, module)


def load_plugin_module(name: str, version: str, module: ModuleType | object) -> PluginInfo:
    """Register one plugin object, call its hooks and validate what they return."""
    manager = plugin_manager()
    try:
        manager.register(module, name=name)
        manager.check_pending()
    except (ValueError, pluggy.PluginValidationError) as exc:
        return PluginInfo(name, version, error=f"invalid plugin: {exc}")
    try:
        catalogues = tuple(
            parse_catalogue(text, source, name)
            for text, source in _files(manager.hook.nmt_rules_catalogues)
        )
        rulesets = tuple(
            parse_ruleset(text, source, origin=name)
            for text, source in _files(manager.hook.nmt_rules_rulesets)
        )
    except NmtRulesError as exc:
        return PluginInfo(name, version, error=str(exc))
    except Exception as exc:  # a hook may raise anything; report it by name
        return PluginInfo(name, version, error=f"a hook raised {type(exc).__name__}: {exc}")
    return PluginInfo(name, version, catalogues, rulesets)


def _files(hook: Callable[..., list[Iterable[Any]]]) -> list[tuple[str, str]]:
    out = []
    for result in hook():
        for file in result:
            out.append((file.read_text(encoding="utf-8"), _display(file)))
    return out


def _display(file: Any) -> str:
    path = Path(str(file))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
