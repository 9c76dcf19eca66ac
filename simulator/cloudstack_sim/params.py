"""Request parameters turned into typed arguments the way ParamProcessWorker does it, and list paging.

Sources: server/src/main/java/com/cloud/api/dispatch/ParamProcessWorker.java (required parameters,
value parsing, UUID resolution) and api/src/main/java/org/apache/cloudstack/api/BaseListCmd.java (paging).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from cloudstack_sim.errors import (
    invalid_parameter,
    missing_parameter,
    param_error,
    unknown_entity,
    unparsable_value,
)

T = TypeVar("T")

Resolver = Callable[[str, str], object | None]
"""(entity kind, uuid) -> the entity or None."""

_JAVA_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_MAP_KEY = re.compile(r"^(?P<name>[^\[]+)\[(?P<index>\d+)\]\.(?P<field>.+)$")


class Kind(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    LONG = "long"
    UUID = "uuid"
    MAP = "map"
    LIST = "list"
    """Comma-separated; with `entity`, a list of UUIDs."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind = Kind.STRING
    required: bool = False
    entity: str | None = None
    """For UUID parameters: which table the uuid must resolve in."""
    max_length: int = 255


LIST_PARAMS = (Param("keyword"), Param("page", Kind.INTEGER), Param("pagesize", Kind.INTEGER))
"""BaseListCmd's parameters, shared by every list command."""


def lower_keys(raw: Mapping[str, str]) -> dict[str, str]:
    # CloudStack's parameter names are lower case; clients such as cs keep the case they were given
    # (apiKey, signatureVersion), so match without case. The first value of a repeated name wins.
    lowered: dict[str, str] = {}
    for key, value in raw.items():
        lowered.setdefault(key.lower(), value)
    return lowered


def parse(command: str, specs: Sequence[Param], raw: Mapping[str, str], resolve: Resolver) -> dict[str, Any]:
    """Typed arguments, in declaration order; raises CloudStack's 431 for the first bad one."""
    params = lower_keys(raw)
    args: dict[str, Any] = {}
    for spec in specs:
        if spec.kind is Kind.MAP:
            value: Any = _map_value(spec.name, params)
            if value is None:
                if spec.required:
                    raise missing_parameter(command, spec.name)
                continue
            args[spec.name] = value
            continue
        text = params.get(spec.name)
        if text is None:
            if spec.required:
                raise missing_parameter(command, spec.name)
            continue
        args[spec.name] = _convert(command, spec, text, resolve)
    return args


def _convert(command: str, spec: Param, text: str, resolve: Resolver) -> Any:
    if spec.kind is Kind.BOOLEAN:
        return text.lower() == "true"  # Boolean.valueOf: anything else is false, never an error
    if spec.kind in (Kind.INTEGER, Kind.LONG):
        number = _java_integer(text, 31 if spec.kind is Kind.INTEGER else 63)
        if number is None:
            raise unparsable_value(command, spec.name, text)
        return number
    if spec.kind is Kind.UUID:
        return _entity(command, spec, text, resolve)
    if spec.kind is Kind.LIST:
        tokens = [token for token in text.split(",") if token]
        if spec.entity is None:
            return tokens
        return [_entity(command, spec, token, resolve) for token in tokens]
    if len(text) > spec.max_length:
        raise invalid_parameter(
            f"Value greater than max allowed length {spec.max_length} for param: {spec.name}"
        )
    return text


def _java_integer(text: str, bits: int) -> int | None:
    """Integer.valueOf / Long.valueOf: an optional sign and ASCII digits only, within range."""
    if _JAVA_INTEGER.match(text) is None:
        return None
    number = int(text)
    return number if -(2**bits) <= number < 2**bits else None


def _entity(command: str, spec: Param, text: str, resolve: Resolver) -> object:
    assert spec.entity is not None
    found = resolve(spec.entity, text)
    if found is None:
        raise unknown_entity(command, spec.name, text)
    return found


def _map_value(name: str, params: Mapping[str, str]) -> list[dict[str, str]] | None:
    """`details[0].key=a&details[0].value=b` -> [{"key": "a", "value": "b"}], ordered by index."""
    entries: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        match = _MAP_KEY.match(key)
        if match is None or match["name"] != name:
            continue
        entries.setdefault(int(match["index"]), {})[match["field"]] = value
    if not entries:
        return None
    return [entries[index] for index in sorted(entries)]


@dataclass(frozen=True)
class Page:
    start: int
    size: int | None
    """None: unlimited (pagesize=-1)."""

    def apply(self, items: Sequence[T]) -> list[T]:
        if self.size is None:
            return list(items[self.start :])
        return list(items[self.start : self.start + self.size])


def page_of(args: Mapping[str, Any], max_page_size: int, default_page_size: int | None = None) -> Page:
    """BaseListCmd.validateSpecificParameters, getPageSize, getPageSizeVal and getStartIndex."""
    page = args.get("page")
    page_size = args.get("pagesize")
    if page is None and page_size is not None and page_size != -1:
        raise param_error('"page" parameter is required when "pagesize" is specified')
    if page_size is None and page is not None:
        raise param_error('"pagesize" parameter is required when "page" is specified')
    if page_size is not None and max_page_size != -1 and page_size > max_page_size:
        raise invalid_parameter(f"Page size can't exceed max allowed page size value: {max_page_size}")
    if page_size == -1 and page is not None:
        raise invalid_parameter("Can't specify page parameter when pagesize is -1 (Unlimited)")
    size: int | None = page_size if page_size is not None else (default_page_size or max_page_size)
    if size == -1:
        size = None
    start = 0
    if size is not None and page is not None and page > 0:
        start = size * (page - 1)
    return Page(start=max(start, 0), size=size if size is None else max(size, 0))


def keyword_matches(keyword: str | None, *values: str | None) -> bool:
    """`%keyword%` LIKE, case-insensitive as MySQL's default collation compares."""
    if not keyword:
        return True
    needle = keyword.lower()
    return any(value is not None and needle in value.lower() for value in values)


def same_text(a: str | None, b: str | None) -> bool:
    """Equality as MySQL compares strings with its default case-insensitive collation."""
    return a is not None and b is not None and a.lower() == b.lower()
