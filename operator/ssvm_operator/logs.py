"""Structured logs: structlog for our events, kopf's stdlib logs through the same JSON renderer.

Secrets never reach a log line: values registered with `register_secret` are masked wherever they appear,
and fields named like credentials are masked whatever they hold.

Every line about an object carries the same `kind`, `namespace` and `name` fields, whether kopf or the
operator wrote it, so one query finds both. Nothing is logged per tick at INFO: kopf's "Timer 'poll'
succeeded." goes to DEBUG, and a reconcile logs at INFO only when it changed something.
"""

from __future__ import annotations

import logging
import re
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


def object_identity(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """kopf's `k8s_ref` becomes the `kind`/`namespace`/`name` fields the operator's own lines carry."""
    ref = event_dict.pop("k8s_ref", None)
    if isinstance(ref, dict):
        for field in ("kind", "namespace", "name"):
            if ref.get(field) is not None:
                event_dict.setdefault(field, ref[field])
    return event_dict


_EVERY_TICK = re.compile(r"Timer '[^']*' succeeded\.")


class TimerSuccessAtDebug(logging.Filter):
    """kopf logs "Timer 'poll' succeeded." at INFO for every object on every tick: that is DEBUG noise.

    Installed on kopf's object logger, before its handlers, so the record is neither printed at INFO nor
    posted as an Event.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and _EVERY_TICK.fullmatch(str(record.msg)):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


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
            object_identity,
            redact_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    kopf_objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, TimerSuccessAtDebug) for f in kopf_objects.filters):
        kopf_objects.addFilter(TimerSuccessAtDebug())
    # aiohttp's access and client logs add nothing an operator user needs.
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
