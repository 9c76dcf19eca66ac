"""Label and field selectors for list and watch (k8s.io/apimachinery/pkg/labels and pkg/fields).

Labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated (ANDed).
Fields: `path=value`, `path==value`, `path!=value`; only the fields a resource declares are allowed,
anything else is a 400 like on a real apiserver ("field label not supported").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kube_emulator import errors

_SET_OP = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./\-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_OP = re.compile(r"^\s*([A-Za-z0-9_./\-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.\-]*)\s*$")

Predicate = Callable[[Mapping[str, str]], bool]


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside of parentheses (`a in (x,y),b` is two requirements)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in (p.strip() for p in parts) if part]


@dataclass(frozen=True)
class Selector:
    text: str
    requirements: tuple[Predicate, ...]

    def matches(self, values: Mapping[str, str]) -> bool:
        return all(requirement(values) for requirement in self.requirements)


EVERYTHING = Selector("", ())


def _equals(key: str, value: str, negate: bool) -> Predicate:
    return lambda labels: (labels.get(key) == value) != negate if key in labels else negate


def _within(key: str, values: frozenset[str], negate: bool) -> Predicate:
    return lambda labels: (labels.get(key) in values) != negate if key in labels else negate


def _exists(key: str, negate: bool) -> Predicate:
    return lambda labels: (key in labels) != negate


def parse_labels(text: str | None) -> Selector:
    if not text:
        return EVERYTHING
    requirements: list[Predicate] = []
    for part in _split_top_level(text):
        equality = _EQ_OP.match(part)
        if equality:
            key, op, value = equality.groups()
            requirements.append(_equals(key, value, op == "!="))
            continue
        set_based = _SET_OP.match(part)
        if not set_based:
            raise errors.bad_request(f"unable to parse requirement: found '{part}', expected: selector")
        bang, key, op, values = set_based.groups()
        if op:
            if bang:
                raise errors.bad_request(
                    f"unable to parse requirement: found '!' with an operator in '{part}'"
                )
            choices = frozenset(v.strip() for v in values.split(",") if v.strip())
            requirements.append(_within(key, choices, op == "notin"))
        else:
            requirements.append(_exists(key, bool(bang)))
    return Selector(text, tuple(requirements))


def _field_equals(key: str, value: str, negate: bool) -> Predicate:
    return lambda fields: (fields.get(key, "") == value) != negate


def parse_fields(text: str | None, allowed: Callable[[str], bool]) -> Selector:
    """Parse a field selector; `allowed(field)` says which field labels the resource supports."""
    if not text:
        return EVERYTHING
    requirements: list[Predicate] = []
    for part in _split_top_level(text):
        match = re.match(r"^\s*([^=!]+?)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not match:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        key, op, value = match.groups()
        if not allowed(key):
            raise errors.bad_request(f"field label not supported: {key}")
        requirements.append(_field_equals(key, value, op == "!="))
    return Selector(text, tuple(requirements))
