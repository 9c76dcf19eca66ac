"""Which management servers a restart must reach: the running ones.

`listManagementServers` filters nothing by state (`QueryManagerImpl.listManagementServersInternal`), and
before 4.22 a decommissioned server cannot be removed, so it stays listed `Down` for ever. A server listed
`Down` runs no scanner and read no settings: it neither blocks nor confirms a restart; messages name it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ssvm_operator.model.snapshot import ManagementServer

DOWN = "Down"


def running(servers: Sequence[ManagementServer]) -> list[ManagementServer]:
    return [s for s in servers if s.state != DOWN]


def down_note(servers: Sequence[ManagementServer]) -> str:
    """E.g. " (ms-old is listed Down: stopped or decommissioned, it is not waited for)"; "" when none is."""
    down = sorted(s.name for s in servers if s.state == DOWN)
    if not down:
        return ""
    verb = "is" if len(down) == 1 else "are"
    return f" ({', '.join(down)} {verb} listed Down: stopped or decommissioned, not waited for)"
