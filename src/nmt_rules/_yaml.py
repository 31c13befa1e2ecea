"""YAML reading that keeps every node's source position, for file:line:col messages."""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import attrs
import yaml
from yaml._yaml import CParser

from .errors import Diagnostic, DocumentError, FieldProblem, InputError, ValidationError

_PATH_PART = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")

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

    def find(self, path: str) -> Located | None:
        """The node at a field path such as `previous[0].domains.cognitive`, if present."""
        node: Located | None = self
        for key, index in _PATH_PART.findall(path):
            value = node.value if node is not None else None
            if key and isinstance(value, dict):
                node = value.get(key)
            elif index and isinstance(value, list) and int(index) < len(value):
                node = value[int(index)]
            else:
                return None
        return node

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


#: The largest YAML document any loader reads, in characters: 14 times the 4,000-rule
#: benchmark ruleset, far below what would strain memory. Brain maps have their own limit.
MAX_DOCUMENT_CHARS: Final = 16 * 2**20
#: Deeper nesting is refused: brain maps nest 4 levels, rulesets about 10.
MAX_DEPTH: Final = 64
#: Nodes that aliases may add to a document once expanded, in all: enough to share a list
#: or a mapping a few times, far too few for an alias bomb.
MAX_ALIAS_NODES: Final = 10_000
#: Numbers must be smaller than this: every integer below it is exact as a JSON double, and
#: no number below it is written with an exponent, which durable-rules refuses.
MAX_NUMBER: Final = 10**15
#: Decimal places a number keeps: durable-rules refuses the exponent form (1e-07) that
#: smaller fractions are written in.
DECIMAL_PLACES: Final = 4

_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_AMBIGUOUS = "tag:nmt-rules,2026:ambiguous"
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\.[0-9]+")
_BOOLS = re.compile(r"true|True|TRUE|false|False|FALSE")


class _Resolver(yaml.resolver.BaseResolver):
    """Plain scalars as YAML 1.2's core schema reads them, with numbers limited to plain
    decimals. A scalar that YAML 1.1 (PyYAML's default) or 1.2 would read as some other
    number or boolean (`1:30` is 90 in YAML 1.1, `0x50` is 80, `017` is 15 or 17, `no` is
    false or text, `.nan`, `1e3`) resolves to a tag every loader refuses. Dates stay text:
    the schemas say what a date is."""


for _tag, _pattern, _first in (
    (_BOOL, _BOOLS.pattern, "tTfF"),
    (_NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    (_INT, _PLAIN_INT.pattern, "-+0123456789"),
    (_FLOAT, _PLAIN_FLOAT.pattern, "-+0123456789"),
    (
        _AMBIGUOUS,
        # Every other number or boolean of YAML 1.1 (PyYAML's resolver) or the 1.2 core schema.
        r"yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
        r"|[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?0x[0-9a-fA-F_]+"
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
        r"|[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "yYnNoO-+0123456789.",
    ),
):
    _Resolver.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


class _Loader(CParser, _Resolver):
    """libyaml's parser (tens of times faster than PyYAML's own, which nmt-rules never uses)
    with nmt-rules' resolver; it only composes nodes, which `_Converter` turns into values."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _Resolver.__init__(self)


def compose(text: str, limit: int = MAX_DOCUMENT_CHARS) -> yaml.Node | None:
    """One YAML document's node graph (aliases shared, not expanded); None when empty.
    Raises DocumentError for syntax errors and documents too large or too deep to read."""
    if len(text) > limit:
        raise DocumentError(f"the document is larger than the limit of {_size(limit)}")
    unclear = _UNCLEAR.search(text)
    if unclear is not None:
        surrogate = unclear.group() >= "\ud800"
        message = (
            "text that is not valid Unicode (a lone surrogate)" if surrogate else _UNCLEAR_BREAK
        )
        raise DocumentError(message, *_line_col(text, unclear.start()))
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {exc.problem or exc}"
        opened = exc.context_mark
        if exc.context and opened is not None and opened is not mark:
            # The parser notices an unclosed bracket where it ends; say where it began.
            message += f" ({exc.context} at {opened.line + 1}:{opened.column + 1})"
        raise DocumentError(message, line, col) from None
    except yaml.reader.ReaderError as exc:
        message = f"invalid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise DocumentError(message, *_line_col(text, exc.position)) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}") from None


#: Characters a YAML document may not hold raw: U+0085, U+2028 and U+2029 break lines in
#: YAML 1.1 (and in libyaml) but are text in YAML 1.2, and a lone surrogate is no text at all.
_UNCLEAR: Final = re.compile("[\x85\u2028\u2029\ud800-\udfff]")
_UNCLEAR_BREAK: Final = (
    "a raw U+0085, U+2028 or U+2029 is a line break to some YAML readers and text to "
    "others: write it as an escape (\\N, \\L, \\P) in a double-quoted string"
)


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 2**10} KiB"


def load_located(text: str, reporter: Reporter, limit: int = MAX_DOCUMENT_CHARS) -> Located | None:
    """Parse one YAML document, keeping positions. Reports syntax errors, duplicate keys,
    ambiguous or oversized scalars, and refuses documents too large, too deep, recursive or
    expanding too far through aliases, each in milliseconds."""
    try:
        node = compose(text, limit)
        if node is None:
            reporter.error((1, 1), "the file is empty")
            return None
        return _Converter(reporter).convert(node, 0)
    except DocumentError as exc:
        reporter.error((exc.line, exc.col), exc.message)
        return None


def too_costly(text: str, file: str) -> Diagnostic | None:
    """Why a YAML text cannot be read at a bounded cost (too large, too deep, recursive or
    expanding too far through aliases, or not YAML), for a tool that reads it with another
    YAML library; None when it can be."""
    try:
        node = compose(text)
        if node is not None:
            _Converter(Reporter(file)).convert(node, 0)
    except DocumentError as exc:
        return Diagnostic(file, exc.line, exc.col, "error", exc.message)
    return None


def _yaml_1_1(value: str) -> str:
    """What PyYAML's default (YAML 1.1) resolver makes of a plain scalar, for messages."""
    try:
        read = yaml.load(value, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError):
        return "an error"
    return describe(read)


def load_plain(text: str, source: str, limit: int = MAX_DOCUMENT_CHARS) -> Any:
    """One YAML document as plain data, checked as :func:`load_located` checks it; raise
    InputError naming source:line:col of each problem."""
    reporter = Reporter(source)
    located = load_located(text, reporter, limit)
    if reporter.has_errors or located is None:
        raise InputError(
            [FieldProblem("", d.message, d.line, d.col) for d in reporter.diagnostics], source
        )
    return located.plain()


@attrs.define
class _Converter:
    """Nodes to Located values. Aliases are expanded within MAX_ALIAS_NODES; a node met
    again while inside itself is a recursive alias."""

    reporter: Reporter
    _inside: set[int] = attrs.Factory(set)
    _sizes: dict[int, int] = attrs.Factory(dict)  # nodes each node expands to
    _made: int = 0
    _aliased: int = 0
    _expanding: bool = False

    def convert(self, node: yaml.Node, depth: int) -> Located:
        """The node as a Located value, aliases expanded."""
        key = id(node)
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if key in self._inside:
            raise DocumentError("a recursive alias: this node contains itself", line, col)
        if depth > MAX_DEPTH:
            raise DocumentError(f"nested more than {MAX_DEPTH} levels deep", line, col)
        # A node met before is an alias, expanded again: charged once, whole, where the
        # expansion starts (the aliases inside it are part of that charge).
        charged = key in self._sizes and not self._expanding
        if charged:
            self._aliased += self._sizes[key]
            if self._aliased > MAX_ALIAS_NODES:
                raise DocumentError(
                    "aliases of the node anchored here expand the document by more than "
                    f"{MAX_ALIAS_NODES:,} nodes",
                    line,
                    col,
                )
            self._expanding = True
        made = self._made
        self._inside.add(key)
        try:
            located = self._value(node, line, col, depth)
        finally:
            self._inside.discard(key)
            if charged:
                self._expanding = False
        self._made += 1
        self._sizes.setdefault(key, self._made - made)
        return located

    def _value(self, node: yaml.Node, line: int, col: int, depth: int) -> Located:
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                raise DocumentError(
                    f"unsupported tag {node.tag!r} (use a plain mapping)", line, col
                )
            mapping: dict[str, Located] = {}
            positions: dict[str, tuple[int, int]] = {}
            for key_node, value_node in node.value:
                key_at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if not isinstance(key_node, yaml.ScalarNode):
                    self.reporter.error(key_at, "keys must be strings, not mappings or lists")
                    continue
                key = self._scalar(key_node, key_at)
                if not isinstance(key, str):
                    self.reporter.error(key_at, f"keys must be strings, got {describe(key)}")
                    continue
                if key in mapping:
                    first = positions[key]
                    self.reporter.error(
                        key_at,
                        f"duplicate key {key!r} (first at line {first[0]}, column {first[1]})",
                    )
                    continue
                mapping[key] = self.convert(value_node, depth + 1)
                positions[key] = key_at
            return Located(mapping, line, col, positions)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                raise DocumentError(f"unsupported tag {node.tag!r} (use a plain list)", line, col)
            return Located([self.convert(v, depth + 1) for v in node.value], line, col)
        return Located(self._scalar(node, (line, col)), line, col)

    def _scalar(self, node: yaml.Node, at: tuple[int, int]) -> Any:
        """A scalar's value; an error (and None) for anything that is not plain."""
        value: str = node.value
        tag = node.tag
        if tag == _STR:
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    self.reporter.error(at, "text that is not valid Unicode (a lone surrogate)")
                    return None
            return value
        if tag == _NULL and value in ("~", "null", "Null", "NULL", ""):
            return None
        if tag == _BOOL and _BOOLS.fullmatch(value):
            return value in ("true", "True", "TRUE")
        if tag in (_INT, _FLOAT) and (_PLAIN_INT.fullmatch(value) or _PLAIN_FLOAT.fullmatch(value)):
            return self._number(value, tag, at)
        if tag == _AMBIGUOUS or tag in (_INT, _FLOAT, _BOOL, _NULL):
            self.reporter.error(
                at,
                f"{value!r} is not a plain decimal number, true or false (YAML 1.1 reads it as "
                f"{_yaml_1_1(value)}); write a number like 90 or 1.5, or quote text",
            )
            return None
        self.reporter.error(at, f"unsupported tag {tag!r}")
        return None

    def _number(self, text: str, tag: str, at: tuple[int, int]) -> int | float | None:
        if len(text) > 32:
            self.reporter.error(at, f"a number of {len(text)} characters is too long")
            return None
        number: int | float = float(text) if tag == _FLOAT or "." in text else int(text)
        if abs(number) >= MAX_NUMBER:
            self.reporter.error(at, f"{text} is too large (numbers must be below 10^15)")
            return None
        if isinstance(number, float):
            return round(number, DECIMAL_PLACES) + 0.0  # + 0.0 turns -0.0 into 0.0
        return number


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
    """A YAML file's text (past MAX_DOCUMENT_CHARS, only enough to refuse it); an unreadable
    file is one diagnostic at 1:1."""
    try:
        return read_text(path, MAX_DOCUMENT_CHARS)
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Diagnostic(str(path), 1, 1, "error", f"cannot read file: {exc}")]) from None


def read_text(path: str | Path, limit: int) -> str:
    """A UTF-8 file's text, read no further than one character past `limit`: enough for
    the parser to refuse a file that is too large without holding all of it."""
    with open(path, encoding="utf-8") as handle:
        status = os.fstat(handle.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size <= limit:
            return handle.read()  # read(n) would set aside room for n characters
        return handle.read(limit + 1)


def top_keys(text: str) -> set[str] | None:
    """The top-level keys of a YAML mapping, None if the text is not one (or not YAML)."""
    try:
        node = compose(text)
    except DocumentError:
        return None
    if not isinstance(node, yaml.MappingNode):
        return set()
    return {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


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


def require_choices(
    node: Located | None, choices: Sequence[str], what: str, reporter: Reporter
) -> list[str]:
    """A list of values from a fixed vocabulary (none when absent); each stray an error."""
    if node is None:
        return []
    return [
        value
        for item in require_list(node, reporter, what) or ()
        if (value := require_choice(item, choices, what, reporter)) is not None
    ]
