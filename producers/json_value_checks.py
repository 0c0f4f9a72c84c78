"""What a decoded JSON value must not hold to travel as a UTF-8 JSON message, found without
recursion, and a safe text of such a value for a dead-letter message.

``json.loads`` accepts what a Kafka message cannot carry: ``"\\ud83d"`` is a valid escape but
decodes to a lone UTF-16 surrogate that no UTF-8 encodes, ``NaN`` is no JSON number, and
nesting deep enough exhausts Python's recursion in ``json.dumps``. The walks below use an
explicit stack, so a value of any depth is checked in time linear in its size.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from heritage.record_contract import json_type_name

# Arrays and objects nested deeper than this are refused: a record of the common model nests
# three deep (the record, dcTitleLangAware, its lists), a rich Search API item a few more.
MAX_JSON_DEPTH = 32
# How much of a refused value's text a dead-letter message carries.
DEAD_LETTER_TEXT_CHARS = 64 * 1024

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLIPPED = "[nested deeper than the dead letter shows]"
# Problems named one by one; the rest are counted, so a reason stays readable.
MAX_NAMED_PROBLEMS = 20


def escape_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate written as its ``\\uXXXX`` escape, so it encodes as
    UTF-8; inside a JSON string the escape decodes back to the same character."""
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def has_lone_surrogate(text: str) -> bool:
    return _LONE_SURROGATE.search(text) is not None


def member_path(parent: str, name: object) -> str:
    """``parent.name`` (``name`` alone at the top), quoted and escaped when not plain."""
    text = str(name)
    if not _PLAIN_NAME.match(text):
        return f"{parent}[{json.dumps(text, ensure_ascii=True)}]"
    return f"{parent}.{text}" if parent else text


def unencodable_parts(value: object, limit: int = MAX_JSON_DEPTH) -> list[str]:
    """What in ``value`` no UTF-8 JSON message can carry, each with its path: lone
    surrogates in strings and member names, NaN and infinities, values of no JSON type,
    and nesting deeper than ``limit`` (reported once, not walked further); the first
    MAX_NAMED_PROBLEMS are named, the others counted."""
    problems: list[str] = []
    too_deep = False
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        current, path, depth = stack.pop()
        where = path or "the value"
        if isinstance(current, str):
            if has_lone_surrogate(current):
                problems.append(_surrogate_problem(where, current))
        elif isinstance(current, float) and not math.isfinite(current):
            problems.append(f"{where} is {current}, which JSON has no number for")
        elif isinstance(current, dict | list):
            if depth + 1 > limit:
                too_deep = True
                continue
            stack.extend(reversed(_children(current, path, depth + 1, problems)))
        elif current is not None and not isinstance(current, bool | int | float):
            problems.append(f"{where} is {json_type_name(current)}")
    named = problems[:MAX_NAMED_PROBLEMS]
    if len(problems) > MAX_NAMED_PROBLEMS:
        named.append(f"{len(problems) - MAX_NAMED_PROBLEMS} more such problems")
    if too_deep:
        named.append(f"arrays and objects nest more than {limit} levels deep")
    return named


def _children(
    container: dict[Any, Any] | list[Any], path: str, depth: int, problems: list[str]
) -> list[tuple[object, str, int]]:
    if isinstance(container, list):
        return [(child, f"{path}[{index}]", depth) for index, child in enumerate(container)]
    children: list[tuple[object, str, int]] = []
    for name, child in container.items():
        child_path = member_path(path, name)
        if not isinstance(name, str):
            problems.append(f"the name of {child_path} is {json_type_name(name)}, not a string")
        elif has_lone_surrogate(name):
            problems.append(_surrogate_problem(f"the name of {child_path}", name))
        children.append((child, child_path, depth))
    return children


def _surrogate_problem(where: str, text: str) -> str:
    found = ", ".join(sorted({escape_lone_surrogates(c) for c in _LONE_SURROGATE.findall(text)}))
    return (
        f"{where} holds a lone UTF-16 surrogate ({found}), which UTF-8 cannot encode "
        "(the dead-letter text writes it as that escape)"
    )


def _clipped(value: Any, levels_left: int) -> Any:
    # Recursion bounded by levels_left (at most MAX_JSON_DEPTH), never by the value's depth.
    if isinstance(value, dict | list) and levels_left == 0:
        return _CLIPPED
    if isinstance(value, dict):
        return {
            name if isinstance(name, str) else str(name): _clipped(child, levels_left - 1)
            for name, child in value.items()
        }
    if isinstance(value, list):
        return [_clipped(child, levels_left - 1) for child in value]
    return value


def excerpt(text: str, max_chars: int = DEAD_LETTER_TEXT_CHARS) -> tuple[str, bool]:
    """The first ``max_chars`` characters of ``text`` and whether any were cut."""
    return text[:max_chars], len(text) > max_chars


def safe_json_text(value: object) -> str:
    """A JSON text of ``value`` that encodes as UTF-8 whatever the value holds: nesting cut
    at MAX_JSON_DEPTH, lone surrogates written as escapes, other types by their repr."""
    text = json.dumps(_clipped(value, MAX_JSON_DEPTH), ensure_ascii=False, default=repr)
    return escape_lone_surrogates(text)
