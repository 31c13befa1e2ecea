"""`nmt-rules check`: validate ruleset and catalogue files, then lint them together.

Each file is read by its own loader (every error, with file:line:col). Files that load are
then checked as they will run: combined with the installed core ruleset and plugins, so a
plugin ruleset may raise the core's needs and a catalogue may meet them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, Literal

import attrs
import yaml

from ._yaml import LOADER, Reporter
from .catalogue import (
    Catalogue,
    CatalogueIndex,
    catalogue_diagnostics,
    read_catalogue,
    unknown_need_diagnostics,
)
from .compile import compile_rulesets
from .errors import Diagnostic, RulesetError
from .lint import lint_ruleset
from .plugins import PluginSet, load_plugins
from .ruleset import Ruleset, core_ruleset, read_ruleset

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


def file_kind(text: str) -> Kind | None:
    """A ruleset or a catalogue, by its top-level key; None if neither."""
    try:
        node = yaml.compose(text, Loader=LOADER)
    except yaml.YAMLError:
        # Broken YAML: a top-level key at the start of a line still tells the kind.
        keys = set(_TOP_KEY.findall(text))
    else:
        pairs = node.value if isinstance(node, yaml.MappingNode) else []
        keys = {k.value for k, _ in pairs if isinstance(k, yaml.ScalarNode)}
    if "ruleset" in keys:
        return "ruleset"
    if "catalogue" in keys:
        return "catalogue"
    return None


def check_paths(paths: Sequence[Path], plugins: PluginSet | None = None) -> CheckReport:
    """Validate and lint every ruleset and catalogue under the paths."""
    plugins = load_plugins() if plugins is None else plugins
    diagnostics: list[Diagnostic] = []
    rulesets: list[Ruleset] = []
    catalogues: list[Catalogue] = []
    files = 0
    for path, named in files_to_check(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diagnostics.append(Diagnostic(str(path), 1, 1, "error", f"cannot read file: {exc}"))
            continue
        kind = file_kind(text)
        if kind is None:
            if named:
                diagnostics.append(
                    Diagnostic(
                        str(path),
                        1,
                        1,
                        "error",
                        "not a ruleset or a catalogue (no top-level `ruleset:` or `catalogue:` key)",
                    )
                )
            continue
        files += 1
        reporter = Reporter(str(path))
        if kind == "ruleset":
            ruleset = read_ruleset(text, reporter, origin="check")
            if ruleset is not None and not reporter.has_errors:
                rulesets.append(ruleset)
        else:
            catalogue = read_catalogue(text, reporter)
            if catalogue is not None and not reporter.has_errors:
                catalogues.append(catalogue)
                reporter.diagnostics += catalogue_diagnostics(catalogue)
        diagnostics += reporter.diagnostics
    diagnostics += _check_together(rulesets, catalogues, plugins)
    ordered = sorted(set(diagnostics), key=lambda d: (d.file, d.line, d.col, d.level, d.message))
    return CheckReport(tuple(ordered), files)


@functools.cache
def _installed_core() -> Ruleset:
    # Parsing the core ruleset costs more than checking most files: do it once per process.
    return core_ruleset()


def _in_play(checked: Sequence[Ruleset], plugins: PluginSet) -> list[Ruleset]:
    """The rulesets the checked ones run with: a checked file replaces an installed namesake."""
    names = {r.name for r in checked}
    installed = [_installed_core(), *plugins.rulesets]
    primary = [r for r in checked if r.bands is not None]
    others = [r for r in checked if r.bands is None]
    kept = [r for r in installed if r.name not in names]
    # The ruleset that sets bands is the primary one and must come first.
    if primary:
        return [*primary, *[r for r in kept if r.bands is None], *others]
    return [*kept, *others]


def _check_together(
    checked: Sequence[Ruleset], catalogues: Sequence[Catalogue], plugins: PluginSet
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    in_play = _in_play(checked, plugins)
    try:
        compile_rulesets(in_play)
    except RulesetError as exc:
        out += exc.diagnostics
    rules = [rule for r in in_play for rule in r.rules]
    settings = {c.setting for c in catalogues}
    all_catalogues = [*catalogues, *(c for c in plugins.catalogues if c.setting not in settings)]
    bands = in_play[0].bands
    for ruleset in checked:
        out += lint_ruleset(ruleset, rules, all_catalogues, bands)
    needs = {need for r in in_play for need in r.needs}
    index = CatalogueIndex(tuple(catalogues))
    out += unknown_need_diagnostics(index, dict.fromkeys(needs))
    return out
