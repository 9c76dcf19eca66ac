"""Structured logs: structlog for our events, kopf's stdlib logs through the same JSON renderer.

Secrets never reach a log line: values registered with `register_secret` are masked wherever they appear,
and fields named like credentials are masked whatever they hold.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

MASK = "***"
SECRET_FIELDS = frozenset({"apikey", "api_key", "secretkey", "secret_key", "signature", "password", "token"})
_secret_values: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this value in every log line from now on (API keys, secret settings)."""
    if len(value) >= 4:  # masking very short strings would mangle ordinary words
        _secret_values.add(value)


def redact(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secret_values:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in SECRET_FIELDS else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


def drop_framework_noise(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """kopf attaches its whole settings object and a posting flag to every record; keep the object ref."""
    event_dict.pop("settings", None)
    event_dict.pop("k8s_skip", None)
    return event_dict


def redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in SECRET_FIELDS:
            event_dict[key] = MASK
        else:
            event_dict[key] = redact(event_dict[key])
    return event_dict


def configure(level: str = "INFO", fmt: str = "json") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            drop_framework_noise,
            redact_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access and client logs add nothing an operator user needs.
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
