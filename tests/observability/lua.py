"""Runs an Argo CD health script with a real Lua interpreter, the way Argo CD does: `obj` is a global
holding the live object, and the script returns a table with `status` and `message`."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import REPOSITORY

HEALTH_SCRIPT = REPOSITORY / "docs" / "argocd-health.lua"


@dataclass(frozen=True)
class Health:
    status: str
    message: str


def lua_literal(value: Any) -> str:
    """A Lua table constructor for JSON-like data, as Argo CD hands objects to health scripts."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _lua_string(value)
    if isinstance(value, Mapping):
        fields = (f"[{_lua_string(str(k))}]={lua_literal(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(fields) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    raise TypeError(f"no Lua form for {type(value).__name__}")


def _lua_string(text: str) -> str:
    # Decimal escapes for everything outside printable ASCII: safe whatever the message holds.
    out = []
    for byte in text.encode():
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def run_health(lua: Path, obj: Mapping[str, Any], script: Path = HEALTH_SCRIPT) -> Health:
    program = (
        f"obj = {lua_literal(obj)}\n"
        f"local check = assert(loadfile({_lua_string(str(script))}))\n"
        "local hs = check()\n"
        'io.write(hs.status, "\\0", hs.message or "")\n'
    )
    result = subprocess.run([str(lua), "-"], input=program, capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise AssertionError(f"lua failed ({result.returncode}): {result.stderr}")
    status, _, message = result.stdout.partition("\0")
    return Health(status, message)
