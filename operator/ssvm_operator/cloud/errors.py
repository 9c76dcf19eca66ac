"""Error taxonomy for CloudStack calls: what to retry, what to stop on, and what to tell the user.

CloudStack puts the HTTP status in `errorcode` (api/.../ApiErrorCode.java, ApiServlet.java); async jobs report
failures inside the job result with the same codes (cloudstack-contract.md §6).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from cs import CloudStackApiException, CloudStackException

# 530 INTERNAL_ERROR, 503 management server in maintenance, 533/534/535 capacity and resource trouble,
# 429 throttling: all may succeed later without anyone changing anything.
RETRYABLE_CODES = frozenset({429, 500, 502, 503, 504, 530, 533, 534, 535, 536})
AUTH_CODES = frozenset({401, 511, 531})


class CloudError(Exception):
    """A CloudStack call failed. `command` and `code` say where and how; the message is safe to show."""

    retryable: bool = False

    def __init__(self, command: str, message: str, code: int | None = None) -> None:
        super().__init__(f"{command}: {message}" + (f" (CloudStack error {code})" if code else ""))
        self.command = command
        self.code = code
        self.detail = message


class RetryableError(CloudError):
    """Timeouts, connection failures, 5xx and 530: back off and try again."""

    retryable = True


class PermanentError(CloudError):
    """A request CloudStack will keep refusing (431 bad parameter, 432 unknown command): fix the input."""


class AuthError(PermanentError):
    """401: wrong API key or secret key, a disabled account, or a command the role may not call."""


class JobTimeout(RetryableError):
    """The async job did not finish before the job deadline; it may still be running in CloudStack."""


def classify(command: str, exc: BaseException) -> CloudError:
    """Turn whatever the HTTP stack raised into our taxonomy, without leaking request parameters."""
    if isinstance(exc, CloudError):
        return exc
    if isinstance(exc, CloudStackApiException):
        error: Any = exc.error if isinstance(exc.error, dict) else {}
        code = _int_or_none(error.get("errorcode"))
        if code is None and exc.response is not None:
            code = _int_or_none(getattr(exc.response, "status", None))
        text = str(error.get("errortext") or exc.args[0] if exc.args else "CloudStack returned an error")
        return from_code(command, code, text)
    if isinstance(exc, CloudStackException):
        # Non-JSON answers (a proxy's 502 page, a wrong URL) and job timeouts land here.
        status = _int_or_none(getattr(exc.response, "status", None))
        message = str(exc.args[0]) if exc.args else "unexpected answer"
        if status is not None and status < 500 and status != 408:
            return PermanentError(command, f"{message}; check the endpoint URL", status)
        return RetryableError(command, message, status)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return RetryableError(command, "timed out waiting for CloudStack")
    if isinstance(exc, aiohttp.ClientSSLError):
        return PermanentError(
            command, f"TLS verification failed: {exc.__class__.__name__}; check caSecretRef"
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        # str() of aiohttp errors can carry the request URL; keep only the class and the peer.
        return RetryableError(command, f"cannot reach CloudStack ({exc.__class__.__name__})")
    return RetryableError(command, f"unexpected failure ({exc.__class__.__name__})")


def from_code(command: str, code: int | None, text: str) -> CloudError:
    if code in AUTH_CODES:
        return AuthError(command, text, code)
    if code is None or code in RETRYABLE_CODES or code >= 500:
        return RetryableError(command, text, code)
    return PermanentError(command, text, code)


def is_not_found(error: CloudError) -> bool:
    """CloudStack answers 431 'entity does not exist' for an id it does not know (ParamProcessWorker)."""
    return error.code == 431 and "does not exist" in error.detail


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
