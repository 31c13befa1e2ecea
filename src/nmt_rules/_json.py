"""JSON reading that can only mean one thing: no duplicate keys, no NaN or Infinity, no
numbers of thousands of digits, bounded nesting; each problem is located by line and column.

The standard library's C decoder does the work. It keeps the last of two equal keys, takes
`NaN` and `Infinity`, and spends seconds on a number of 100,000 digits, so hooks refuse those;
only then does a slower scan of the same text find where the problem is.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import attrs

from ._yaml import MAX_DEPTH
from .errors import DocumentError

#: Characters a number may have: far more than any real score or age needs.
MAX_NUMBER_CHARS: Final = 32


def _refused() -> DocumentError:
    """What the hooks raise to hand over to the slow scan (which says what and where)."""
    return DocumentError("refused")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise _refused()
    return mapping


def _constant(name: str) -> Any:
    raise _refused()


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _refused()
    return int(text)


def _fraction(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _refused()
    return float(text)


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_integer, parse_float=_fraction
)
#: Decodes the strings the slow scan meets (no hooks apply to strings).
_STRINGS: Final = json.JSONDecoder()
_SPACE: Final = re.compile(r"[ \t\n\r]*")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def loads(text: str, limit: int | None = None) -> Any:
    """One JSON document of at most `limit` characters; raise DocumentError for invalid JSON
    and for anything that could mean two things or cost more than it is worth."""
    if limit is not None and len(text) > limit:
        raise DocumentError(f"the document is larger than the limit of {limit // 2**20} MiB")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except (DocumentError, RecursionError):
        # A hook refused something, or it nests deeper than the interpreter allows: the
        # slow scan says what and where.
        raise _locate(text) from None


def _locate(text: str) -> DocumentError:
    """The first problem in a text the fast decoder refused (a hook fired or it nested too
    deep): found by a scan that knows where each value starts."""
    scan = _Scan(text)
    try:
        scan.value(scan.skip(0), 0)
    except DocumentError as found:
        return found
    # Unreachable when the fast decoder refused the text; kept so no problem goes unnamed.
    return DocumentError("invalid JSON")


@attrs.define
class _Scan:
    """A recursive-descent reader over valid JSON, raising DocumentError at the first value
    the fast decoder's hooks refuse."""

    text: str

    def _where(self, index: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, index) + 1
        return line, index - (self.text.rfind("\n", 0, index) + 1) + 1

    def _fail(self, index: int, message: str) -> DocumentError:
        return DocumentError(message, *self._where(index))

    def skip(self, index: int) -> int:
        """The index of the next character that is not white space."""
        return _SPACE.match(self.text, index).end()  # type: ignore[union-attr]

    def value(self, index: int, depth: int) -> int:
        """Scan the value starting at index; return the index after it."""
        if depth > MAX_DEPTH:
            raise self._fail(index, f"nested more than {MAX_DEPTH} levels deep")
        char = self.text[index : index + 1]
        if char == "{":
            return self._object(index, depth)
        if char == "[":
            return self._array(index, depth)
        if char == '"':
            return self._string(index)[1]
        for constant in ("NaN", "Infinity", "-Infinity"):
            if self.text.startswith(constant, index):
                raise self._fail(index, f"{constant} is not a number JSON allows")
        number = _NUMBER.match(self.text, index)
        if number is not None:
            if len(number.group()) > MAX_NUMBER_CHARS:
                raise self._fail(index, f"a number of {len(number.group())} characters is too long")
            return number.end()
        for literal in ("true", "false", "null"):
            if self.text.startswith(literal, index):
                return index + len(literal)
        raise self._fail(index, "invalid JSON: expecting a value")

    def _object(self, index: int, depth: int) -> int:
        seen: dict[str, int] = {}
        index = self.skip(index + 1)
        if self.text.startswith("}", index):
            return index + 1
        while True:
            key, after = self._string(index)
            if key in seen:
                first, again = self._where(seen[key]), self._where(index)
                where = (
                    f"columns {first[1]} and {again[1]}"
                    if first[0] == again[0]
                    else f"lines {first[0]} and {again[0]}"
                )
                raise self._fail(index, f"duplicate key {key!r} ({where})")
            seen[key] = index
            index = self.skip(self.skip(after) + 1)  # past the colon
            index = self.skip(self.value(index, depth + 1))
            if self.text.startswith("}", index):
                return index + 1
            index = self.skip(index + 1)  # past the comma

    def _string(self, index: int) -> tuple[str, int]:
        text, after = _STRINGS.raw_decode(self.text, index)
        return str(text), after

    def _array(self, index: int, depth: int) -> int:
        index = self.skip(index + 1)
        if self.text.startswith("]", index):
            return index + 1
        while True:
            index = self.skip(self.value(index, depth + 1))
            if self.text.startswith("]", index):
                return index + 1
            index = self.skip(index + 1)
