"""Split the text of a JSON object into its members, and one array member into the texts of
its elements, in one linear pass and without recursion.

A page of search results is one JSON object whose ``items`` array holds the records. Decoding
the page in one ``json.loads`` lets one hostile record fail all of them: 100,000 nested
``[`` exhaust Python's recursion (RecursionError) and the page, its cursor and every other
record on it are lost. Splitting first lets each record be decoded, and refused, on its own.

The scanner only finds where values begin and end: strings (with their escapes) are skipped
whole, brackets are matched with an explicit stack, and each value's nesting depth is
measured, so a caller can refuse a deep value before decoding it. It does not check what it
skips (numbers, literals, escapes): ``json.loads`` on each piece does that.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from heritage.source_rejections import SourceRejection

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# The rest of a string after its opening quote, up to (not including) the closing quote:
# every character but a quote or a backslash, and any backslash pair. Always matches; the
# possessive quantifiers keep no backtracking state, so a string costs one pass.
_STRING_BODY = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)
# What ends or nests a value inside an array or object (string contents are skipped whole).
_STRUCTURE = re.compile(r'["\[\]{}]')
# A number or a literal (true, false, null); json.loads checks its spelling later.
_SCALAR = re.compile(r'[^\s,:\[\]{}"]+')
_CLOSER = {"[": "]", "{": "}"}


class JsonSyntaxError(SourceRejection):
    """The text is not a JSON object whose values can be delimited; ``offset`` is where."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"not JSON at character {offset}: {reason}")
        self.reason = reason
        self.offset = offset


@dataclass(frozen=True)
class JsonElement:
    """The text of one JSON value and how deeply arrays and objects nest in it."""

    text: str
    # 0 for a string, number or literal; 1 for a flat array or object; and so on.
    depth: int


@dataclass(frozen=True)
class SplitObject:
    """A JSON object's members as texts, one array member split into its elements."""

    # Every member but the split one, by name (a repeated name keeps its last value).
    members: dict[str, JsonElement]
    # The split member's elements in order; None when it is absent or not an array (its
    # value is then in ``members``).
    elements: list[JsonElement] | None


def _skip_whitespace(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position


def _string_end(text: str, quote_at: int) -> int:
    """The offset after the closing quote of the string opened at ``quote_at``."""
    body = _STRING_BODY.match(text, quote_at + 1)
    end = body.end() if body else quote_at + 1
    if end >= len(text):
        raise JsonSyntaxError("a string is never closed (truncated text?)", quote_at)
    return end + 1


def _value_end(text: str, start: int) -> tuple[int, int]:
    """The end offset and nesting depth of the JSON value that begins at ``start``."""
    first = text[start : start + 1]
    if first == '"':
        return _string_end(text, start), 0
    if first not in _CLOSER:
        scalar = _SCALAR.match(text, start)
        if scalar is None:
            found = repr(first) if first else "the end of the text"
            raise JsonSyntaxError(f"expected a value, found {found}", start)
        return scalar.end(), 0
    expected_closers: list[str] = []
    depth = 0
    position = start
    while True:
        mark = _STRUCTURE.search(text, position)
        if mark is None:
            raise JsonSyntaxError(
                f"{len(expected_closers)} arrays or objects are never closed (truncated text?)",
                start,
            )
        char, position = mark.group(), mark.end()
        if char == '"':
            position = _string_end(text, mark.start())
        elif char in _CLOSER:
            expected_closers.append(_CLOSER[char])
            depth = max(depth, len(expected_closers))
        else:
            if not expected_closers or expected_closers.pop() != char:
                raise JsonSyntaxError(f"{char!r} closes nothing that is open here", mark.start())
            if not expected_closers:
                return position, depth


def _expect(text: str, position: int, wanted: str, what: str) -> int:
    if text[position : position + 1] != wanted:
        found = repr(text[position]) if position < len(text) else "the end of the text"
        raise JsonSyntaxError(f"expected {what}, found {found}", position)
    return _skip_whitespace(text, position + 1)


def _array_elements(text: str, start: int) -> tuple[list[JsonElement], int]:
    """The elements of the array opening at ``start`` and the offset after it."""
    elements: list[JsonElement] = []
    position = _skip_whitespace(text, start + 1)
    if text[position : position + 1] == "]":
        return elements, position + 1
    while True:
        end, depth = _value_end(text, position)
        elements.append(JsonElement(text[position:end], depth))
        position = _skip_whitespace(text, end)
        if text[position : position + 1] == "]":
            return elements, position + 1
        position = _expect(text, position, ",", "',' or ']' after an array element")


def _member_name(text: str, position: int) -> tuple[str, int]:
    if text[position : position + 1] != '"':
        _expect(text, position, '"', "a member name")
    end = _string_end(text, position)
    try:
        return json.loads(text[position:end]), end
    except ValueError as error:
        raise JsonSyntaxError(f"a member name is not a valid string ({error})", position) from None


def split_json_object(text: str, array_member: str) -> SplitObject:
    """The members of the JSON object ``text``, with ``array_member`` split into elements.

    Raises :class:`JsonSyntaxError` when the text is not one JSON object whose values can be
    delimited (truncated, brackets that do not match, text after the object)."""
    members: dict[str, JsonElement] = {}
    elements: list[JsonElement] | None = None
    position = _expect(text, _skip_whitespace(text, 0), "{", "a JSON object")
    if text[position : position + 1] == "}":
        position += 1
    else:
        while True:
            name, position = _member_name(text, position)
            position = _expect(text, _skip_whitespace(text, position), ":", "':'")
            if name == array_member and text[position : position + 1] == "[":
                elements, position = _array_elements(text, position)
                members.pop(name, None)
            else:
                end, depth = _value_end(text, position)
                members[name] = JsonElement(text[position:end], depth)
                if name == array_member:
                    elements = None
                position = end
            position = _skip_whitespace(text, position)
            if text[position : position + 1] == "}":
                position += 1
                break
            position = _expect(text, position, ",", "',' or '}' after a member")
    position = _skip_whitespace(text, position)
    if position != len(text):
        raise JsonSyntaxError("text follows the end of the object", position)
    return SplitObject(members, elements)
