"""Secrets never reach a log line, whichever logger writes it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from ssvm_operator import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    before = (root.handlers[:], root.level)
    stream = io.StringIO()
    logs.configure("DEBUG", "json")
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield stream
    root.handlers[:], root.level = before[0], before[1]
    structlog.reset_defaults()


def test_registered_secret_values_are_masked_in_our_events_and_in_foreign_loggers(
    captured: io.StringIO,
) -> None:
    logs.register_secret("s3cr3t-key-value")
    structlog.get_logger("ssvm_operator.test").warning(
        "call.failed", detail="sent s3cr3t-key-value to CloudStack"
    )
    logging.getLogger("kopf.objects").error("Handler failed: key=s3cr3t-key-value")
    output = captured.getvalue()
    assert "s3cr3t-key-value" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["detail"] == "sent *** to CloudStack"
    assert "***" in lines[1]["event"]


def test_fields_named_like_credentials_are_masked_whatever_they_hold(captured: io.StringIO) -> None:
    structlog.get_logger("t").info(
        "connect", apiKey="AKIA-unknown", nested={"secretKey": "x", "zone": "zone-1"}
    )
    line = json.loads(captured.getvalue().splitlines()[0])
    assert line["apiKey"] == "***" and line["nested"] == {"secretKey": "***", "zone": "zone-1"}
