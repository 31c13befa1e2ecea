"""Find, load and check plugins (pluggy, entry-point group ``nmt_rules``), each in isolation.

One PluginManager holds every plugin. Each plugin is imported, registered and its data
hooks called under a guard (plugin_calls.py); what the hooks return is checked (paths),
validated (YAML) and compiled with the core ruleset on its own, then compared with the other
plugins (settings, ruleset and need names, input formats). A plugin that fails any step is
disabled and reported by name, with why; the others and their settings go on.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import pluggy

from . import hookspecs
from ._files import shown_path
from ._yaml import ID_PATTERN, Reporter
from .catalogue import Catalogue, read_catalogue
from .compile import compile_rulesets
from .errors import Diagnostic, Location, ValidationError
from .hookspecs import InputFormat
from .plugin_calls import EdgeHooks, Raised, call_guarded, call_impl, implementations
from .rules import Ruleset
from .ruleset import EVERY_SETTING, core_ruleset, read_ruleset
from .vocabulary import Stage

ENTRY_POINT_GROUP: Final = "nmt_rules"
#: Comma-separated plugin names to load; unset loads all, empty or "none" loads none.
PLUGINS_ENV: Final = "NMT_RULES_PLUGINS"
#: Hooks that return data files, called once when plugins load.
DATA_HOOKS: Final = ("nmt_rules_catalogues", "nmt_rules_rulesets")


@attrs.frozen
class PluginSource:
    """A plugin to load: its name, version, how to import it, and what that is (for
    messages: an entry point's `module:attr`, a folder)."""

    name: str
    version: str
    load: Callable[[], object]
    where: str


@attrs.frozen
class PluginInfo:
    """One plugin: what it provides, or why it was disabled."""

    name: str
    version: str
    catalogues: tuple[Catalogue, ...] = ()
    rulesets: tuple[Ruleset, ...] = ()
    input_formats: tuple[InputFormat, ...] = ()
    hooks: tuple[str, ...] = ()
    error: str | None = None
    #: The file:line:col diagnostics of its YAML: the errors behind `error`, and warnings.
    diagnostics: tuple[Diagnostic, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def settings(self) -> tuple[str, ...]:
        """Settings this plugin's catalogues serve."""
        return tuple(sorted({c.setting for c in self.catalogues}))

    def failed(self, error: str, diagnostics: Sequence[Diagnostic] = ()) -> PluginInfo:
        """This plugin, disabled for this reason."""
        return attrs.evolve(self, error=error, diagnostics=tuple(diagnostics))

    def summary(self) -> dict[str, Any]:
        """What `nmt-rules plugins --format json` and the HTTP API report for this plugin."""
        return {
            "name": self.name,
            "version": self.version,
            "settings": list(self.settings),
            "hooks": list(self.hooks),
            "catalogues": [
                {"name": c.name, "version": c.version, "setting": c.setting, "items": len(c.items)}
                for c in self.catalogues
            ],
            "rulesets": [
                {"name": r.name, "version": r.version, "rules": len(r.rules)} for r in self.rulesets
            ],
            "input_formats": [f.name for f in self.input_formats],
            "error": self.error,
            "warnings": list(self.warnings),
        }


def _no_edges() -> EdgeHooks:
    return EdgeHooks(plugin_manager(), ())


@attrs.frozen
class PluginSet:
    """Every plugin considered, loaded or disabled, and the edge hooks of those loaded."""

    plugins: tuple[PluginInfo, ...] = ()
    edges: EdgeHooks = attrs.field(factory=_no_edges, eq=False, repr=False)

    @property
    def loaded(self) -> tuple[PluginInfo, ...]:
        """Plugins that loaded cleanly."""
        return tuple(p for p in self.plugins if p.error is None)

    @property
    def failed(self) -> tuple[PluginInfo, ...]:
        """Plugins that were disabled, with their errors."""
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


def installed_sources(environ: Mapping[str, str] | None = None) -> list[PluginSource]:
    """Installed plugins chosen by NMT_RULES_PLUGINS (all when it is unset)."""
    environ = os.environ if environ is None else environ
    wanted = _wanted(environ.get(PLUGINS_ENV))
    found = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    return [
        PluginSource(e.name, e.dist.version if e.dist else "?", e.load, e.value)
        for e in found
        if wanted is None or e.name in wanted
    ]


def load_plugins(
    environ: Mapping[str, str] | None = None,
    extra: Sequence[PluginSource] = (),
    core: Ruleset | None = None,
) -> PluginSet:
    """Load installed plugins chosen by NMT_RULES_PLUGINS, plus `extra` ones (which replace
    an installed plugin of the same name); failures are recorded, never raised.

    Plugins' rulesets are checked against `core` (default: the shipped core ruleset)."""
    environ = os.environ if environ is None else environ
    installed = installed_sources(environ)
    replaced = {s.name for s in extra}
    sources = [s for s in installed if s.name not in replaced] + list(extra)
    wanted = _wanted(environ.get(PLUGINS_ENV)) or set()
    missing = [
        PluginInfo(name, "?", error=f"{PLUGINS_ENV} names {name!r}, which is not installed")
        for name in sorted(wanted - {s.name for s in sources} - {"none"})
    ]
    plugin_set = load_sources(sorted(sources, key=lambda s: s.name), core)
    return attrs.evolve(plugin_set, plugins=(*plugin_set.plugins, *missing))


def load_sources(sources: Sequence[PluginSource], core: Ruleset | None = None) -> PluginSet:
    """Load these plugins into one plugin manager, each checked on its own and then against
    the others."""
    core = core_ruleset() if core is None else core
    manager = plugin_manager()
    known_needs = {n.id: n.stage for n in core.needs.values()}
    plugins = [_load(manager, source, known_needs) for source in sources]
    plugins = [_fits_core(p, core) if p.error is None else p for p in plugins]
    plugins = _without_clashes(plugins)
    loaded = [p for p in plugins if p.error is None]
    formats = {f.name: (p.name, f) for p in loaded for f in p.input_formats}
    return PluginSet(tuple(plugins), EdgeHooks(manager, [p.name for p in loaded], formats))


def _wanted(value: str | None) -> set[str] | None:
    if value is None:
        return None
    names = {n.strip() for n in value.split(",") if n.strip()}
    return set() if names <= {"none"} else names


def _load(
    manager: pluggy.PluginManager, source: PluginSource, needs: Mapping[str, Stage]
) -> PluginInfo:
    """Import and register one plugin, call its data hooks and validate their files."""
    info = PluginInfo(source.name, source.version)
    module = call_guarded(source.load)
    if isinstance(module, Raised):
        return info.failed(f"cannot import {source.where}: {module}")
    try:
        manager.register(module, name=source.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        return info.failed(f"invalid plugin: {exc}")
    try:
        # A misspelt hook (nmt_rules_catalogue) is an error, not a function never called.
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        manager.unregister(name=source.name)
        return info.failed(f"invalid plugin: {exc}")
    hooks = tuple(sorted(h for h in _hook_names() if source.name in implementations(manager, h)))
    info = attrs.evolve(info, hooks=hooks)
    files: dict[str, list[tuple[str, str]]] = {}
    warnings: list[str] = []
    for hook in DATA_HOOKS:
        impl = implementations(manager, hook).get(source.name)
        if impl is None:
            continue
        found = _data_files(call_impl(impl), hook, module)
        if isinstance(found, str):
            return info.failed(found)
        if found is None:
            warnings.append(
                f"hook {hook} returned None; return a path or a list of paths ([] for none)"
            )
            continue
        read = [_read(file, hook) for file in found]
        failed = next((r for r in read if isinstance(r, str)), None)
        if failed is not None:
            return info.failed(failed)
        files[hook] = [r for r in read if not isinstance(r, str)]
    formats = _input_formats(manager, source.name)
    if isinstance(formats, str):
        return info.failed(formats)
    reporters: list[Reporter] = []
    catalogues = tuple(
        _read_yaml(read_catalogue, text, shown, reporters, plugin=source.name)
        for text, shown in files.get("nmt_rules_catalogues", ())
    )
    rulesets = tuple(
        _read_yaml(read_ruleset, text, shown, reporters, origin=source.name, known_needs=needs)
        for text, shown in files.get("nmt_rules_rulesets", ())
    )
    diagnostics = tuple(d for r in reporters for d in r.diagnostics)
    if any(r.has_errors for r in reporters) or None in catalogues or None in rulesets:
        return info.failed(f"invalid YAML:\n  {_lines(diagnostics)}", diagnostics)
    return attrs.evolve(
        info,
        catalogues=tuple(c for c in catalogues if c is not None),
        rulesets=tuple(r for r in rulesets if r is not None),
        input_formats=formats,
        warnings=tuple(warnings),
        diagnostics=diagnostics,
    )


T = TypeVar("T")


def _read_yaml(
    read: Callable[..., T | None], text: str, shown: str, reporters: list[Reporter], **options: Any
) -> T | None:
    """Read one file with a collecting reader, keeping its warnings as well as its errors."""
    reporter = Reporter(shown)
    reporters.append(reporter)
    return read(text, reporter, **options)


def _hook_names() -> list[str]:
    return sorted(name for name in vars(hookspecs) if name.startswith("nmt_rules_"))


def _data_files(result: object, hook: str, module: object) -> list[Path | Traversable] | str | None:
    """The files a data hook returned, an error message, or None for a hook that returned
    None (a warning: most likely a forgotten `return`)."""
    if isinstance(result, Raised):
        return f"hook {hook} raised {result}"
    if result is None:
        return None
    items = [result] if isinstance(result, str | Path | Traversable) else result
    if not isinstance(items, list | tuple):
        return f"hook {hook} returned {type(result).__name__}, expected a path or a list of paths"
    files: list[Path | Traversable] = []
    for item in items:
        if isinstance(item, str):
            files.append(_from_package(item, module))
        elif isinstance(item, Path | Traversable):
            files.append(item)
        else:
            return (
                f"hook {hook} returned a list holding {type(item).__name__}, "
                "expected a path or a list of paths"
            )
    return files


def _from_package(path: str, module: object) -> Path:
    """A str path; a relative one is taken from the plugin's package folder."""
    given = Path(path)
    folder = getattr(module, "__file__", None)
    if given.is_absolute() or folder is None:
        return given
    return Path(folder).parent / given


def _read(file: Path | Traversable, hook: str) -> tuple[str, str] | str:
    """(text, name to show) of a returned file, or an error message."""
    shown = shown_path(file)
    text = call_guarded(file.read_text, encoding="utf-8")
    if isinstance(text, Raised):
        return f"hook {hook} returned {shown}, which cannot be read: {text}"
    return text, shown


def _input_formats(manager: pluggy.PluginManager, name: str) -> tuple[InputFormat, ...] | str:
    impl = implementations(manager, "nmt_rules_input_formats").get(name)
    if impl is None:
        return ()
    hook = "hook nmt_rules_input_formats"
    result = call_impl(impl)
    if isinstance(result, Raised):
        return f"{hook} raised {result}"
    items = [result] if isinstance(result, InputFormat) else result
    if not isinstance(items, list | tuple) or not all(isinstance(f, InputFormat) for f in items):
        return f"{hook} returned {type(result).__name__}, expected an InputFormat or a list of them"
    for item in items:
        if not ID_PATTERN.match(item.name):
            return f"{hook}: format name {item.name!r} must be lower-case words joined by '-'"
    return tuple(items)


def _fits_core(plugin: PluginInfo, core: Ruleset) -> PluginInfo:
    """Compile the plugin's rulesets with the core ruleset alone (one that clashes with it
    disables this plugin only), then limit them to the plugin's own settings."""
    if not plugin.rulesets:
        return plugin
    try:
        compile_rulesets([core, *plugin.rulesets])
    except ValidationError as exc:
        return plugin.failed(
            f"its rulesets clash with the core ruleset:\n  {_lines(exc.diagnostics)}",
            exc.diagnostics,
        )
    settings = plugin.settings
    rulesets: list[Ruleset] = []
    warnings = list(plugin.warnings)
    for ruleset in plugin.rulesets:
        if ruleset.applies_to is not None:
            rulesets.append(ruleset)
        elif settings:
            rulesets.append(ruleset.scoped_to(settings, Location(ruleset.source, 1, 1)))
        else:
            warnings.append(
                f"ruleset {ruleset.name!r} is not loaded: this plugin serves no setting, so its "
                f"rules would never run; declare `applies_to: {EVERY_SETTING}` or the settings"
            )
    return attrs.evolve(plugin, rulesets=tuple(rulesets), warnings=tuple(warnings))


def _without_clashes(plugins: list[PluginInfo]) -> list[PluginInfo]:
    """Disable every plugin that claims what another loaded plugin claims: a setting, a
    ruleset name, a need, an input format. Neither can be trusted to be the right one, so
    both go, each naming the other."""
    claims: dict[tuple[str, str], list[str]] = defaultdict(list)
    for plugin in plugins:
        if plugin.error is not None:
            continue
        claimed = [
            *(("setting", s) for s in plugin.settings),
            *(("ruleset", r.name) for r in plugin.rulesets),
            *(("need", n) for r in plugin.rulesets for n in r.needs),
            *(("input format", f.name) for f in plugin.input_formats),
        ]
        for claim in dict.fromkeys(claimed):
            claims[claim].append(plugin.name)
    clashes: dict[str, list[str]] = defaultdict(list)
    for (kind, value), owners in claims.items():
        for owner in owners if len(owners) > 1 else ():
            others = ", ".join(o for o in owners if o != owner)
            clashes[owner].append(f"{kind} {value!r} is also claimed by plugin {others}")
    return [
        p.failed("; ".join(clashes[p.name]) + "; both are disabled") if p.name in clashes else p
        for p in plugins
    ]


def _lines(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n  ".join(str(d) for d in diagnostics if d.level == "error")
