"""A management server listed Down (stopped or decommissioned) neither blocks nor confirms a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from ssvm_operator.model.snapshot import ManagementServer
from ssvm_operator.plan.running_servers import down_note, running

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_down_servers_are_left_out_and_named() -> None:
    servers = [ManagementServer("1", "ms-1", "Up", T), ManagementServer("2", "ms-old", "Down", None)]
    assert [s.name for s in running(servers)] == ["ms-1"]
    assert "ms-old is listed Down" in down_note(servers)
    assert down_note(servers[:1]) == ""
