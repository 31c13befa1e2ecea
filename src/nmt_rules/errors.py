"""Every exception nmt-rules raises on purpose, in one place.

The hierarchy (catch ``NmtRulesError`` for all of them)::

    NmtRulesError
    ├── InputError            a brain map or other input document: field-path problems
    ├── ValidationError       a YAML file nmt-rules validates: file:line:col diagnostics
    │   ├── RulesetError      ... a ruleset, or rulesets that do not fit together
    │   └── CatalogueError    ... a setting catalogue
    ├── EngineError           the durable-rules core answered something unsafe to go on from
    ├── PluginError           a plugin's input format is unknown or failed on a file
    ├── UnknownSettingError   no loaded plugin serves the requested setting
    ├── AuthError             an HTTP request's credentials were missing or refused (401)
    ├── PrefetchMissingError  a CDS Hooks request lacks data the service needs (412)
    └── ReportError           a report format or audience nmt-rules does not render
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs


@attrs.frozen
class Diagnostic:
    """One problem found in a YAML file, located by 1-based line and column."""

    file: str
    line: int
    col: int
    level: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.level}: {self.message}"


@attrs.frozen
class Location:
    """Where something was written: file and 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@attrs.frozen
class FieldProblem:
    """One problem in a JSON/YAML input document, located by a dotted field path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class NmtRulesError(Exception):
    """Base class of every error nmt-rules raises on purpose."""


class InputError(NmtRulesError):
    """A brain map (or other input document) is invalid; lists each field problem."""

    def __init__(self, problems: Sequence[FieldProblem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + str(p) for p in self.problems))


class ValidationError(NmtRulesError):
    """A YAML file failed validation; carries each diagnostic with file:line:col."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class RulesetError(ValidationError):
    """A ruleset failed validation, or rulesets do not fit together."""


class CatalogueError(ValidationError):
    """A setting catalogue failed validation."""


class EngineError(NmtRulesError):
    """The durable-rules core returned a result the engine cannot safely continue from."""


class PluginError(NmtRulesError):
    """A plugin's input format is unknown or failed on a file; names the plugin."""


class UnknownSettingError(NmtRulesError):
    """A plan was requested for a setting no loaded plugin provides."""

    def __init__(self, setting: str, known: Sequence[str], failed: Sequence[str] = ()) -> None:
        self.setting = setting
        self.known = tuple(sorted(known))
        listed = ", ".join(self.known) if self.known else "none installed"
        message = f"unknown setting {setting!r}; known settings: {listed}"
        if failed:
            message += "\nthese plugins failed to load and may provide it:\n  " + "\n  ".join(
                failed
            )
        super().__init__(message)


class AuthError(NmtRulesError):
    """A request's credentials were missing or not accepted (HTTP 401); says why."""


class PrefetchMissingError(NmtRulesError):
    """A CDS Hooks request lacks prefetched data the service needs and cannot fetch (HTTP 412)."""


class ReportError(NmtRulesError):
    """A report was asked for in a format or for an audience nmt-rules does not render."""
