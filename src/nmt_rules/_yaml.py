"""YAML reading that keeps every node's source position, for file:line:col messages."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import attrs
import yaml

from .errors import Diagnostic, ValidationError

#: Ids of rulesets, needs, rules, catalogues, items and settings: lower-case words joined by '-'.
ID_PATTERN: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@attrs.frozen
class Located:
    """A YAML node converted to Python, with its 1-based line and column."""

    value: Any  # dict[str, Located] | list[Located] | scalar
    line: int
    col: int
    key_positions: dict[str, tuple[int, int]] = attrs.field(factory=dict, eq=False, repr=False)

    def items(self) -> Iterator[tuple[str, Located]]:
        """Iterate over a mapping node's (key, value) pairs."""
        assert isinstance(self.value, dict)
        yield from self.value.items()

    def plain(self) -> Any:
        """The node as plain Python data, positions dropped."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


@attrs.define
class Reporter:
    """Collects diagnostics for one file."""

    file: str
    diagnostics: list[Diagnostic] = attrs.Factory(list)

    def error(self, at: Located | tuple[int, int], message: str) -> None:
        """Record an error at a node or (line, col)."""
        self._add(at, "error", message)

    def warning(self, at: Located | tuple[int, int], message: str) -> None:
        """Record a warning at a node or (line, col)."""
        self._add(at, "warning", message)

    def _add(self, at: Located | tuple[int, int], level: str, message: str) -> None:
        line, col = (at.line, at.col) if isinstance(at, Located) else at
        self.diagnostics.append(Diagnostic(self.file, line, col, level, message))

    @property
    def has_errors(self) -> bool:
        """Whether any error (not warning) was recorded."""
        return any(d.level == "error" for d in self.diagnostics)


class _Constructor(yaml.constructor.SafeConstructor):
    pass


#: libyaml's parser keeps the same marks and is several times faster; fall back if absent.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_located(text: str, reporter: Reporter) -> Located | None:
    """Parse one YAML document, keeping positions; report syntax errors and duplicate keys."""
    try:
        node = yaml.compose(text, Loader=LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {exc.problem or exc}"
        opened = exc.context_mark
        if exc.context and opened is not None and opened is not mark:
            # The parser notices an unclosed bracket where it ends; say where it began.
            message += f" ({exc.context} at {opened.line + 1}:{opened.column + 1})"
        reporter.error((line, col), message)
        return None
    if node is None:
        reporter.error((1, 1), "the file is empty")
        return None
    return _convert(node, _Constructor(), reporter)


def _convert(node: yaml.Node, constructor: _Constructor, reporter: Reporter) -> Located:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Located] = {}
        positions: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node)
            key_at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, str):
                reporter.error(key_at, f"keys must be strings, got {key!r}")
                continue
            if key in mapping:
                reporter.error(key_at, f"duplicate key {key!r}")
                continue
            mapping[key] = _convert(value_node, constructor, reporter)
            positions[key] = key_at
        return Located(mapping, line, col, positions)
    if isinstance(node, yaml.SequenceNode):
        return Located([_convert(v, constructor, reporter) for v in node.value], line, col)
    return Located(constructor.construct_object(node), line, col)


class Keys(NamedTuple):
    """The keys a YAML mapping must and may have: one definition for its loader and schema."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


def check_mapping(
    node: Located,
    reporter: Reporter,
    what: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> dict[str, Located] | None:
    """Check a node is a mapping with the required keys and no unknown ones."""
    if not isinstance(node.value, dict):
        reporter.error(node, f"{what} must be a mapping, got {describe(node.value)}")
        return None
    required = tuple(required)
    known = (*required, *optional)
    for key, value in node.items():
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(known)})"
            reporter.error(
                _key_position(node, key, value), f"unknown key {key!r} in {what}{suggestion}"
            )
    for key in required:
        if key not in node.value:
            reporter.error(node, f"{what} is missing required key {key!r}")
    return dict(node.value)


def _key_position(parent: Located, key: str, value: Located) -> tuple[int, int]:
    # Point at the key itself: for a block value the value's own node starts a line later.
    return parent.key_positions.get(key, (value.line, value.col))


def describe(value: Any) -> str:
    """Name a YAML value's type the way a program designer would."""
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"{value!r}"


def require_string(node: Located | None, reporter: Reporter, what: str) -> str | None:
    """A non-empty string, or an error."""
    if node is None:
        return None
    if not isinstance(node.value, str) or not node.value.strip():
        reporter.error(node, f"{what} must be a non-empty string, got {describe(node.value)}")
        return None
    return node.value


def require_list(node: Located | None, reporter: Reporter, what: str) -> list[Located] | None:
    """A non-empty list, or an error."""
    if node is None:
        return None
    if not isinstance(node.value, list) or not node.value:
        reporter.error(node, f"{what} must be a non-empty list, got {describe(node.value)}")
        return None
    return list(node.value)


T = TypeVar("T")


def read_source(path: str | Path, error: type[ValidationError]) -> str:
    """A YAML file's text; an unreadable file is one diagnostic at 1:1."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Diagnostic(str(path), 1, 1, "error", f"cannot read file: {exc}")]) from None


def parse_clean(
    text: str,
    file: str,
    read: Callable[[str, Reporter], T | None],
    error: type[ValidationError],
) -> T:
    """Run a collecting reader; raise `error` with every error unless the result is clean."""
    reporter = Reporter(file)
    result = read(text, reporter)
    if result is None or reporter.has_errors:
        raise error([d for d in reporter.diagnostics if d.level == "error"])
    return result


C = TypeVar("C", bound=str)


def require_choice(
    node: Located | None, choices: Sequence[C], what: str, reporter: Reporter
) -> C | None:
    """One of a fixed vocabulary, or an error listing it."""
    if node is None:
        return None
    if node.value not in choices:
        listed = ", ".join(choices)
        reporter.error(node, f"{what} must be one of {listed}; got {describe(node.value)}")
        return None
    chosen: C = node.value
    return chosen
