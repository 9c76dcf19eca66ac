"""Request signatures, checked the way `ApiServer.verifyRequest` checks them.

Source: server/src/main/java/com/cloud/api/ApiServer.java L951-1115. The server rebuilds the signed
string from the *decoded* parameter values, so a client that encodes differently from Java fails here
exactly as it would against CloudStack (for example Python's `quote` leaves `~` alone, Java's
`URLEncoder` writes `%7E`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from cloudstack_sim.clock import parse_expires

SIGNATURE = "signature"


@dataclass(frozen=True)
class Credentials:
    """The one API key pair the simulated admin user owns."""

    api_key: str
    secret_key: str


def java_url_encode(value: str) -> str:
    """`URLEncoder.encode(value, "UTF-8").replaceAll("\\\\+", "%20")`.

    URLEncoder keeps only `A-Za-z0-9 . - * _`; Python's `quote` also keeps `~`, hence the extra step.
    """
    return quote(value, safe="*").replace("~", "%7E")


def string_to_sign(params: Mapping[str, str]) -> str:
    """Every parameter but `signature`, names sorted case-sensitively (Collections.sort), lower-cased."""
    names = sorted(name for name in params if name.lower() != SIGNATURE)
    return "&".join(f"{name}={java_url_encode(params[name])}" for name in names).lower()


def sign(params: Mapping[str, str], secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), string_to_sign(params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _lookup(params: Mapping[str, str], name: str) -> str | None:
    # ApiServer compares these names with equalsIgnoreCase.
    for key, value in params.items():
        if key.lower() == name:
            return value
    return None


def rejection(params: Mapping[str, str], credentials: Credentials, now: datetime) -> str | None:
    """Why CloudStack would refuse this request's credentials, or None when it is properly signed.

    The reason is for the simulator's log only: CloudStack answers every case with the same 401 text.
    """
    api_key = _lookup(params, "apikey")
    signature = _lookup(params, SIGNATURE)
    if api_key is None or signature is None:
        return "apiKey or signature missing"
    if api_key != credentials.api_key:
        return "unknown apiKey"
    version = _lookup(params, "signatureversion")
    expires = _lookup(params, "expires")
    if version == "3":
        if expires is None:
            return "signatureVersion=3 without expires"
        deadline = parse_expires(expires)
        if deadline is None:
            return f"unparsable expires {expires!r}"
        if deadline < now:
            return f"request expired at {expires}"
    expected = sign(params, credentials.secret_key)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "signature mismatch"
    return None
