"""`nmt-rules check`: validate ruleset and catalogue files and plugins, then lint them together.

Each file is read by its own loader (every error, with file:line:col). A plugin folder (a
folder whose pyproject.toml declares an ``nmt_rules`` entry point) is loaded through its
hooks, as nmt-rules will load it once installed. With no paths, the installed core ruleset
and every installed plugin are checked. What loads is then checked as it will run:
combined with the installed core ruleset and plugins, so a plugin ruleset may raise the
core's needs and a catalogue may meet them.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final, Literal

import attrs

from ._yaml import MAX_DOCUMENT_CHARS, Reporter, read_text, top_keys
from .catalogue import (
    Catalogue,
    CatalogueIndex,
    catalogue_diagnostics,
    read_catalogue,
    unknown_need_diagnostics,
)
from .compile import compile_rulesets
from .errors import Diagnostic, ValidationError
from .lint import lint_ruleset, runs_in_every_setting, undelivered_needs
from .plugins import ENTRY_POINT_GROUP, PluginInfo, PluginSet, PluginSource, load_plugins
from .rules import Ruleset
from .ruleset import core_ruleset, read_ruleset
from .vocabulary import Stage

SUFFIXES: Final = (".yaml", ".yml", ".json")
Kind = Literal["ruleset", "catalogue"]
_TOP_KEY: Final = re.compile(r"^\"?(ruleset|catalogue)\"?\s*:", re.MULTILINE)


@attrs.frozen
class CheckReport:
    """What `check` found: every diagnostic, sorted, and how many files were read."""

    diagnostics: tuple[Diagnostic, ...]
    files: int

    @property
    def errors(self) -> int:
        """How many errors (a failed check)."""
        return sum(d.level == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        """How many warnings (the check still passes)."""
        return sum(d.level == "warning" for d in self.diagnostics)


@attrs.frozen
class PluginFolder:
    """A plugin's source folder: its pyproject, and the entry points it declares."""

    root: Path
    version: str
    entry_points: tuple[tuple[str, str], ...]  # (plugin name, "module" or "module:attr")

    @classmethod
    def at(cls, folder: Path) -> PluginFolder | None:
        """The plugin folder at `folder`, or None if it declares no nmt_rules entry point."""
        try:
            project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
        table = project.get("project", {})
        points = table.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        if not isinstance(points, dict) or not points:
            return None
        return cls(folder, str(table.get("version", "?")), tuple(sorted(points.items())))

    @property
    def import_root(self) -> Path:
        """Where its packages import from: src/ in the src layout, else the folder."""
        return self.root / "src" if (self.root / "src").is_dir() else self.root

    def sources(self) -> list[PluginSource]:
        """Each of its plugins, imported from this folder (not from an installed copy)."""
        return [
            PluginSource(name, self.version, _importer(value), f"{value} in {self.root}")
            for name, value in self.entry_points
        ]


def _importer(value: str) -> Callable[[], object]:
    module, _, attr = value.partition(":")

    def load() -> object:
        loaded = importlib.import_module(module.strip())
        for part in filter(None, attr.strip().split(".")):
            loaded = getattr(loaded, part)
        return loaded

    return load


@contextlib.contextmanager
def _importing_from(folders: Sequence[PluginFolder]) -> Iterator[None]:
    """Import the folders' packages from the folders: put them first on sys.path and set
    aside any installed module of the same name while they load."""
    names = {v.partition(":")[0].split(".")[0].strip() for f in folders for _, v in f.entry_points}
    saved = {
        name: module
        for name, module in sys.modules.items()
        if name.split(".")[0] in names and module is not None
    }
    for name in saved:
        del sys.modules[name]
    added = [str(f.import_root) for f in folders]
    sys.path[:0] = added
    try:
        yield
    finally:
        del sys.path[: len(added)]
        for name in [n for n in sys.modules if n.split(".")[0] in names]:
            del sys.modules[name]
        sys.modules.update(saved)


def files_to_check(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """Files named, and YAML/JSON files under directories named (recursively).

    The flag says whether the file was named: a named file of unknown kind is an error, a
    file found in a directory that is neither a ruleset nor a catalogue is skipped.
    """
    out: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            out += [(p, False) for p in found]
        else:
            out.append((path, True))
    return out


def plugin_folders(paths: Iterable[Path]) -> list[PluginFolder]:
    """Plugin folders named or found under the directories named."""
    found: list[PluginFolder] = []
    for path in paths:
        if not path.is_dir():
            continue
        candidates = [path, *sorted(p.parent for p in path.rglob("pyproject.toml"))]
        for candidate in dict.fromkeys(candidates):
            folder = PluginFolder.at(candidate)
            if folder is not None:
                found.append(folder)
    return found


def file_kind(text: str) -> Kind | None:
    """A ruleset or a catalogue, by its top-level key; None if neither."""
    keys = top_keys(text)
    if keys is None:
        # Broken YAML: a top-level key at the start of a line still tells the kind.
        keys = set(_TOP_KEY.findall(text))
    if "ruleset" in keys:
        return "ruleset"
    if "catalogue" in keys:
        return "catalogue"
    return None


@attrs.define
class _Checked:
    """What a check read: diagnostics so far, and the rulesets and catalogues that loaded."""

    diagnostics: list[Diagnostic] = attrs.Factory(list)
    rulesets: list[Ruleset] = attrs.Factory(list)
    catalogues: list[Catalogue] = attrs.Factory(list)
    plugins: list[PluginInfo] = attrs.Factory(list)
    files: int = 0


def check_paths(paths: Sequence[Path] = (), plugins: PluginSet | None = None) -> CheckReport:
    """Validate and lint every ruleset, catalogue and plugin folder under the paths; with
    no paths, the installed core ruleset and every installed plugin."""
    folders = plugin_folders(paths)
    if folders:
        with _importing_from(folders):
            plugins = load_plugins(extra=[s for f in folders for s in f.sources()])
    elif plugins is None:
        plugins = load_plugins()
    checked = _Checked()
    core = core_ruleset()
    known_needs = {n.id: n.stage for r in (core, *plugins.rulesets) for n in r.needs.values()}
    if not paths:
        checked.rulesets.append(core)
        checked.files += 1
        _add_plugins(checked, plugins.plugins, {})
    for folder in folders:
        names = {name for name, _ in folder.entry_points}
        shown = {name: str(folder.root / "pyproject.toml") for name in names}
        _add_plugins(checked, [p for p in plugins.plugins if p.name in names], shown)
    inside = [f.root for f in folders]
    plain = [
        (path, named)
        for path, named in files_to_check(paths)
        if not any(path.is_relative_to(root) for root in inside)
    ]
    for path, named in plain:
        _read_file(checked, path, named, known_needs)
    checked.diagnostics += _check_together(checked, plugins, core)
    ordered = sorted(
        set(checked.diagnostics), key=lambda d: (d.file, d.line, d.col, d.level, d.message)
    )
    return CheckReport(tuple(ordered), checked.files)


def _add_plugins(checked: _Checked, plugins: Iterable[PluginInfo], shown: dict[str, str]) -> None:
    """A checked plugin's problems, warnings, rulesets and catalogues."""
    for plugin in plugins:
        where = shown.get(plugin.name, f"<plugin {plugin.name}>")
        checked.plugins.append(plugin)
        checked.diagnostics += plugin.diagnostics
        if plugin.error is not None:
            if not plugin.diagnostics:
                message = f"plugin {plugin.name}: {plugin.error}"
                checked.diagnostics.append(Diagnostic(where, 1, 1, "error", message))
            continue
        checked.diagnostics += [
            Diagnostic(where, 1, 1, "warning", f"plugin {plugin.name}: {warning}")
            for warning in plugin.warnings
        ]
        checked.rulesets += plugin.rulesets
        checked.catalogues += plugin.catalogues
        checked.diagnostics += [d for c in plugin.catalogues for d in catalogue_diagnostics(c)]
        checked.files += len(plugin.rulesets) + len(plugin.catalogues)


def _read_file(
    checked: _Checked, path: Path, named: bool, known_needs: Mapping[str, Stage]
) -> None:
    try:
        text = read_text(path, MAX_DOCUMENT_CHARS)
    except (OSError, UnicodeDecodeError) as exc:
        checked.diagnostics.append(Diagnostic(str(path), 1, 1, "error", f"cannot read file: {exc}"))
        return
    kind = file_kind(text)
    if kind is None:
        if named:
            checked.diagnostics.append(
                Diagnostic(
                    str(path),
                    1,
                    1,
                    "error",
                    "not a ruleset or a catalogue (no top-level `ruleset:` or `catalogue:` key)",
                )
            )
        return
    checked.files += 1
    reporter = Reporter(str(path))
    if kind == "ruleset":
        ruleset = read_ruleset(text, reporter, "check", known_needs)
        if ruleset is not None and not reporter.has_errors:
            checked.rulesets.append(ruleset)
    else:
        catalogue = read_catalogue(text, reporter)
        if catalogue is not None and not reporter.has_errors:
            checked.catalogues.append(catalogue)
            reporter.diagnostics += catalogue_diagnostics(catalogue)
    checked.diagnostics += reporter.diagnostics


def _in_play(checked: Sequence[Ruleset], plugins: PluginSet, core: Ruleset) -> list[Ruleset]:
    """The rulesets the checked ones run with: a checked file replaces an installed namesake,
    and one that sets bands is the primary ruleset, first."""
    replacing = [r for r in checked if r is not core]
    names = {r.name for r in replacing}
    primary = [r for r in replacing if r.bands is not None][:1]
    if not primary and core.name not in names:
        primary = [core]
    installed = [r for r in plugins.rulesets if r.name not in names]
    return [*primary, *installed, *(r for r in replacing if r not in primary)]


def _check_together(checked: _Checked, plugins: PluginSet, core: Ruleset) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    in_play = _in_play(checked.rulesets, plugins, core)
    try:
        compile_rulesets(in_play)
    except ValidationError as exc:
        out += exc.diagnostics
    rules = [rule for r in in_play for rule in r.rules]
    settings = {c.setting for c in checked.catalogues}
    all_catalogues = [
        *checked.catalogues,
        *(c for c in plugins.catalogues if c.setting not in settings),
    ]
    bands = in_play[0].bands
    from_plugins = {r.name for p in checked.plugins for r in p.rulesets}
    for ruleset in checked.rulesets:
        out += lint_ruleset(ruleset, rules, all_catalogues, bands)
        if ruleset.name in from_plugins:
            out += runs_in_every_setting(ruleset)
    plugin_catalogues = [c for p in checked.plugins for c in p.catalogues]
    if plugin_catalogues and core not in checked.rulesets:
        # A plugin's catalogue is checked for the core's needs it must deliver.
        out += undelivered_needs(core, rules, plugin_catalogues)
    needs = {need for r in in_play for need in r.needs}
    index = CatalogueIndex(tuple(checked.catalogues))
    out += unknown_need_diagnostics(index, dict.fromkeys(needs))
    return out
