"""The JSONPath subset that printer columns use (k8s.io/client-go/util/jsonpath, without `{}` templating).

Supported: `.field`, `['field']`, `[n]` (negative too), `[*]`, `[a:b]`, `..field` (recursive descent), and
filters `[?(@.a.b == "x")]` with `== != < <= > >=` or a bare `[?(@.a)]` existence test, e.g.
`.status.conditions[?(@.type=="Ready")].status`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class JsonPathError(ValueError):
    pass


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Recursive:
    name: str


@dataclass(frozen=True)
class _Index:
    position: int


@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Filter:
    left: tuple[Any, ...]
    op: str | None
    right: Any  # a literal, or a tuple of steps for `@.x`


_NAME = re.compile(r"[A-Za-z0-9_\-/$]+")
_FILTER = re.compile(r"\?\(\s*@((?:\.[A-Za-z0-9_\-/]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


def parse(expression: str) -> tuple[Any, ...]:
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Any] = []
    position = 0
    while position < len(text):
        if text.startswith("..", position):
            match = _NAME.match(text, position + 2)
            if not match:
                raise JsonPathError(f"expected a field name after '..' in {expression!r}")
            steps.append(_Recursive(match.group()))
            position = match.end()
        elif text[position] == ".":
            match = _NAME.match(text, position + 1)
            if not match:
                if position + 1 == len(text):  # a lone "." selects the object itself
                    break
                raise JsonPathError(f"expected a field name at {position + 1} in {expression!r}")
            steps.append(_Wildcard() if match.group() == "*" else _Field(match.group()))
            position = match.end()
        elif text[position] == "[":
            end = _closing_bracket(text, position, expression)
            steps.append(_bracket(text[position + 1 : end].strip(), expression))
            position = end + 1
        else:
            match = _NAME.match(text, position)
            if not match or position != 0:
                raise JsonPathError(f"unexpected {text[position]!r} at {position} in {expression!r}")
            steps.append(_Field(match.group()))
            position = match.end()
    return tuple(steps)


def _closing_bracket(text: str, start: int, expression: str) -> int:
    depth = 0
    quote: str | None = None
    for position in range(start, len(text)):
        char = text[position]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return position
    raise JsonPathError(f"unclosed '[' in {expression!r}")


def _bracket(inner: str, expression: str) -> Any:
    if inner == "*":
        return _Wildcard()
    if inner[:1] in "'\"" and inner[-1:] == inner[:1]:
        return _Field(inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return _Index(int(inner))
    if re.fullmatch(r"-?\d*:-?\d*", inner):
        start, stop = inner.split(":")
        return _Slice(int(start) if start else None, int(stop) if stop else None)
    match = _FILTER.match(inner)
    if match:
        left = tuple(_Field(name) for name in match.group(1).split(".") if name)
        op = match.group(2)
        right = _literal(match.group(3)) if op else None
        return _Filter(left, op, right)
    raise JsonPathError(f"unsupported bracket expression [{inner}] in {expression!r}")


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("@"):
        return parse(text[1:])
    if text[:1] in "'\"" and text[-1:] == text[:1]:
        return text[1:-1]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonPathError(f"unsupported literal {text!r} in a filter") from exc


def find(expression: str | tuple[Any, ...], data: Any) -> list[Any]:
    """All values the expression selects in `data` (an empty list when nothing matches)."""
    steps = parse(expression) if isinstance(expression, str) else expression
    current = [data]
    for step in steps:
        current = [found for value in current for found in _apply(step, value)]
    return current


def _apply(step: Any, value: Any) -> Iterator[Any]:
    if isinstance(step, _Field):
        if isinstance(value, dict) and step.name in value:
            yield value[step.name]
    elif isinstance(step, _Index):
        if isinstance(value, list) and -len(value) <= step.position < len(value):
            yield value[step.position]
    elif isinstance(step, _Slice):
        if isinstance(value, list):
            yield from value[step.start : step.stop]
    elif isinstance(step, _Wildcard):
        if isinstance(value, list):
            yield from value
        elif isinstance(value, dict):
            yield from value.values()
    elif isinstance(step, _Recursive):
        yield from _descend(step.name, value)
    elif isinstance(step, _Filter):
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for item in items:
            if _matches(step, item):
                yield item


def _descend(name: str, value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        if name in value:
            yield value[name]
        for child in value.values():
            yield from _descend(name, child)
    elif isinstance(value, list):
        for child in value:
            yield from _descend(name, child)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _matches(step: _Filter, item: Any) -> bool:
    lefts = find(step.left, item)
    if step.op is None:
        return bool(lefts)
    rights = find(step.right, item) if isinstance(step.right, tuple) else [step.right]
    for left in lefts:
        for right in rights:
            try:
                if _COMPARE[step.op](left, right):
                    return True
            except TypeError:
                continue
    return False
