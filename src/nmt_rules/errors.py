"""Every exception nmt-rules raises on purpose, in one place.

The hierarchy (catch ``NmtRulesError`` for all of them)::

    NmtRulesError
    ├── InputError            a brain map or other input document: field-path problems
    ├── DocumentError         YAML or JSON text refused at a line and column (loaders turn
    │                         it into an InputError or a diagnostic)
    ├── ValidationError       a YAML file nmt-rules validates: file:line:col diagnostics
    │   ├── RulesetError      ... a ruleset, or rulesets that do not fit together
    │   └── CatalogueError    ... a setting catalogue
    ├── EngineError           the durable-rules core answered something unsafe to go on from
    ├── BatchError            a batch run cannot start or go on without losing data
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
    """One problem in a JSON/YAML input document, located by a dotted field path, and by
    line and column where the text itself is at fault (a syntax error, a duplicate key)."""

    path: str
    message: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class NmtRulesError(Exception):
    """Base class of every error nmt-rules raises on purpose."""


class DocumentError(NmtRulesError):
    """A YAML or JSON text was refused at a 1-based line and column (loaders report it as an
    InputError or a Diagnostic under their own file name)."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        self.message = message
        self.line = line
        self.col = col
        super().__init__(f"{line}:{col}: {message}")


class InputError(NmtRulesError):
    """A brain map (or other input document) is invalid; lists each field problem."""

    def __init__(self, problems: Sequence[FieldProblem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__("\n".join(_where(source, p) + str(p) for p in self.problems))


def _where(source: str | None, problem: FieldProblem) -> str:
    if problem.line is None:
        return f"{source}: " if source else ""
    return f"{source or '<input>'}:{problem.line}:{problem.col}: "


class ValidationError(NmtRulesError):
    """A YAML file failed validation; carries each diagnostic with file:line:col."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class RulesetError(ValidationError):
    """A ruleset failed validation, or rulesets do not fit together."""


class CatalogueError(ValidationError):
    """A setting catalogue failed validation."""


class BatchError(NmtRulesError):
    """A batch run cannot start or go on without losing data (its output is its input, a
    partial output is in the way, the output folder is missing or not writable)."""


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
